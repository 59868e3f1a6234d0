"""Precision and recall of the matcher on the labelled evaluation set.

    python bench/evaluate.py [--shared ../shared] [--rules DIR] [--misses]

Reads tests/eval/passages.jsonl (references with labels) and the texts in
../shared/corpora/news; prints one row per demand and the total.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.evaluation import SOURCE_VOICES, evaluate, format_report, load_passages
from monitor.rulebook import bundled_rules_dir, load_rules

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--rules", type=Path, action="append")
    parser.add_argument("--labels", type=Path, default=ROOT / "tests" / "eval" / "passages.jsonl")
    parser.add_argument("--misses", action="store_true", help="print every disagreement")
    parser.add_argument(
        "--no-voice",
        action="store_true",
        help="match press releases without telling the matcher whose statements they are",
    )
    args = parser.parse_args()
    corpora = args.shared / "corpora" / "news"
    if not corpora.is_dir():
        print(f"no corpora at {corpora}", file=sys.stderr)
        return 2
    rules = load_rules(args.rules or [bundled_rules_dir()])
    voices = {} if args.no_voice else SOURCE_VOICES
    report = evaluate(load_passages(args.labels, corpora, voices), rules)
    print(format_report(report, sorted(rules.demands), misses=args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
