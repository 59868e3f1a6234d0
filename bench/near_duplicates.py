"""Where to put the near-duplicate threshold: similarities of real article pairs.

Reads the news texts of ../shared/corpora (RSS items of BBC, CNN, Guardian, NYT, Reuters and
the two presidents' press releases), compares every pair published within three days of each
other, and prints how the sketch similarities spread: copies of one story (the same wire item
in several feeds, re-headlined) sit high, distinct stories low, and the threshold goes in the
gap. With --show LOW HIGH it prints the pairs in that band to read them.

    python bench/near_duplicates.py [--show 0.3 0.8]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from monitor.fingerprint import similarity, sketch

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "news"
FILES = (
    "rss_items_2021-11_2022-08_bbc_cnn_guardian_etc.jsonl",
    "official_press_releases_putin_2021-10_2022-06.jsonl",
    "official_press_releases_zelenskyy_2021-10_2022-06.jsonl",
)
DAYS = 3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", nargs=2, type=float, metavar=("LOW", "HIGH"))
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    records = []
    for name in FILES:
        for line in (CORPUS / name).read_text("utf-8").splitlines():
            r = json.loads(line)
            if r.get("date") and r.get("text"):
                records.append((date.fromisoformat(r["date"]), r["title"], r["text"], r["url"]))
    records.sort(key=lambda r: r[0])
    sketches = [sketch(r[2]) for r in records]
    bins: Counter[int] = Counter()
    shown = []
    pairs = 0
    for i, (day, *_rest) in enumerate(records):
        for j in range(i + 1, len(records)):
            if (records[j][0] - day).days > DAYS:
                break
            pairs += 1
            score = similarity(sketches[i], sketches[j])
            bins[min(9, int(score * 10))] += 1
            if args.show and args.show[0] <= score <= args.show[1]:
                shown.append((score, records[i], records[j]))
    print(f"{len(records)} texts, {pairs} pairs published within {DAYS} days of each other")
    for b in range(10):
        print(f"  {b / 10:.1f}-{(b + 1) / 10:.1f}  {bins[b]:>9}")
    for score, a, b in sorted(shown, key=lambda s: s[0]):
        print(f"\n{score:.2f}  {a[0]} {a[1]!r} ({a[3]})\n      {b[0]} {b[1]!r} ({b[3]})")
        print(f"      A: {a[2][:300]!r}\n      B: {b[2][:300]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
