"""Articles per second through match and deltas, and what the history costs on disk.

Replays N text articles (no extraction) through the daemon's own pipeline into a fresh SQLite
file (``newsmon replay``'s path: enqueue, claim, match, unrecognized conditions, fingerprint,
deltas, positions, one transaction per article), and in the same run times bare matching of
the same texts as the baseline. Prints both rates, their ratio (target: 0.5 or more, i.e.
deltas and storage cost no more than matching itself) and the database size per 10,000
articles.

The articles are the news texts of ../shared/corpora (press releases, RSS items, the labelled
sample), cycled with a new URL and dates moved on by a year per pass; without the corpus, the
rule pack's own examples among filler sentences.

    python bench/replay.py [--articles 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.logs import configure_logging
from monitor.match import match
from monitor.replay import replay
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.store import NewItem

NEWS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "news"


def corpus() -> list[tuple[datetime, str, str]]:
    found = []
    for path in sorted(NEWS.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            record = json.loads(line)
            if record.get("text") and record.get("date"):
                when = datetime.fromisoformat(record["date"]).replace(tzinfo=UTC)
                found.append((when, record.get("title") or "", record["text"]))
    return found


def synthetic(rules: RuleSet, count: int) -> list[tuple[datetime, str, str]]:
    rng = random.Random(10)
    statements = [e.text for e in rules.examples]
    filler = "Officials met behind closed doors for several hours. " * 20
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        (
            start + timedelta(hours=n),
            f"Story {n}",
            filler + " ".join(rng.sample(statements, 3)),
        )
        for n in range(count)
    ]


def articles(rules: RuleSet, count: int) -> tuple[str, list[NewItem]]:
    texts = corpus() if NEWS.is_dir() else []
    name = f"{len(texts)} corpus texts, cycled" if texts else "synthetic texts"
    texts = texts or synthetic(rules, count)
    items = []
    for n in range(count):
        when, title, text = texts[n % len(texts)]
        when += timedelta(days=366 * (n // len(texts)))
        url = f"https://bench.example/{n}"
        items.append(NewItem(url, url, title, when, "bench", text, "text"))
    return name, items


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    configure_logging(level="warning")  # as `newsmon replay` runs: no line per item
    rules = load_rules([bundled_rules_dir()])
    name, items = articles(rules, args.articles)
    chars = sum(len(i.content or "") for i in items)
    print(f"{len(items)} articles ({name}), {chars / len(items):,.0f} characters on average")

    started = time.perf_counter()
    findings = 0
    for item in items:
        assert item.content is not None and item.published is not None
        findings += len(match(item.content, rules, year=item.published.year))
    bare = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as where:
        db = Path(where) / "bench.db"
        started = time.perf_counter()
        deltas = asyncio.run(replay(items, db, rules))
        full = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(where).iterdir())
        with sqlite3.connect(db) as conn:
            (text,) = conn.execute("SELECT sum(length(content)) FROM items").fetchone()

    bare_rate, full_rate = len(items) / bare, len(items) / full
    print(f"bare matching      {bare_rate:8,.0f} articles/s  ({findings:,} findings)")
    print(f"match + deltas     {full_rate:8,.0f} articles/s  ({len(deltas):,} deltas, stored)")
    print(f"ratio              {full_rate / bare_rate:8.2f}  (target: 0.5 or more)")
    print(
        f"database           {size / 2**20:8.1f} MiB for {len(items):,} articles "
        f"({size / 2**20 * 10_000 / len(items):.1f} MiB per 10,000), of which "
        f"{text / 2**20:.1f} MiB the replayed texts themselves (items.content)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
