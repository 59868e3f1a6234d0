"""Replaying the same articles gives the same history: whatever the batch size, the order they
arrive in, or a SIGKILL in the middle of the run."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.replay import read_articles, replay
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.store import NewItem

NEWSMON = str(Path(sys.executable).parent / "newsmon")
T0 = datetime(2025, 1, 6, tzinfo=UTC)
FILLER = (
    "Officials met for several hours behind closed doors.",
    "Markets were calm on the news and the rouble barely moved.",
    "Negotiators are expected to meet again next week.",
    "Aid agencies warned of shortages in the east as winter approaches.",
)
UNKNOWN = (
    "Russia insists on guarantees for Russian-speaking residents of the Donbas.",
    "The Kremlin demands guarantees for the Russian-speaking population of Donbas.",
    "Moscow calls for an international inquiry into the pipeline explosions.",
)
PAST = "In late 2021 Moscow insisted that Ukraine never join NATO, a demand the West rejected."


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


def articles(rules: RuleSet, count: int) -> list[dict[str, str]]:
    """``count`` text articles over four months: statements from the rules' own examples,
    unknown demands, sentences about the past, filler, wire copies, and equal timestamps."""
    rng = random.Random(5)
    statements = [e.text for e in rules.examples if e.should_match]
    made: list[dict[str, str]] = []
    for n in range(count):
        if made and rng.random() < 0.1:  # a copy of a recent story, in another outlet
            original = rng.choice(made[-5:])
            made.append(
                {
                    **original,
                    "url": f"https://copy.example/{n}",
                    "title": "Wire: " + original["title"],
                    "source": f"Outlet {n % 7}",
                    "text": "(Wire) " + original["text"],
                }
            )
            continue
        parts = rng.sample(FILLER, 2) + rng.sample(statements, rng.randint(0, 2))
        if rng.random() < 0.1:
            parts.append(rng.choice(UNKNOWN))
        if rng.random() < 0.05:
            parts.append(PAST)
        rng.shuffle(parts)
        # Whole hours only, so that many articles share a publication time.
        published = T0 + timedelta(hours=rng.randrange(120 * 24 // 6) * 6)
        made.append(
            {
                "url": f"https://news.example/{n}",
                "title": f"Story {n}",
                "published": published.isoformat(),
                "source": f"Outlet {n % 7}",
                "text": " ".join(parts),
            }
        )
    return made


def write(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def items(path: Path) -> list[NewItem]:
    found, problems = read_articles(path)
    assert problems == []
    return found


def history(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Everything an article's processing writes, with items named by key (not row id, which
    depends on the order they were enqueued) and without wall-clock times."""
    with sqlite3.connect(db) as conn:
        return {
            "deltas": conn.execute(
                "SELECT d.id, i.key, d.kind, d.actor, d.demand, d.stance, d.sentence, d.url, "
                "d.published, d.first_seen, d.articles, d.corroborations FROM deltas d "
                "JOIN items i ON i.id = d.item_id ORDER BY d.id"
            ).fetchall(),
            "positions": conn.execute("SELECT * FROM positions ORDER BY actor, demand").fetchall(),
            "sources": conn.execute("SELECT * FROM position_sources ORDER BY 1, 2, 3").fetchall(),
            "findings": conn.execute(
                "SELECT i.key, f.actor, f.demand, f.stance, f.start, f.historical FROM findings f "
                "JOIN items i ON i.id = f.item_id ORDER BY i.key, f.start, f.actor, f.demand"
            ).fetchall(),
            "corroborations": conn.execute(
                "SELECT c.delta_id, i.key, c.similarity FROM corroborations c "
                "JOIN items i ON i.id = c.item_id ORDER BY 1, 2"
            ).fetchall(),
            "unknown": conn.execute(
                "SELECT id, actor, words, first_seen, last_seen, articles, delta_id "
                "FROM unknown_conditions ORDER BY id"
            ).fetchall(),
            "fingerprints": conn.execute(
                "SELECT i.key, f.published, f.sketch FROM fingerprints f "
                "JOIN items i ON i.id = f.item_id ORDER BY i.key"
            ).fetchall(),
            "items": conn.execute("SELECT key, state FROM items ORDER BY key").fetchall(),
        }


async def test_corpus_exercises_every_path(tmp_path: Path, rules: RuleSet) -> None:
    """The generated replay has new, repeated and resurfaced demands, copies, unknown items and
    the past, so the proofs below are about all of them."""
    path = write(tmp_path / "a.jsonl", articles(rules, 500))
    await replay(items(path), tmp_path / "n.db", rules)
    seen = history(tmp_path / "n.db")
    kinds = {row[2] for row in seen["deltas"]}
    assert {"new_condition", "demand_repeated", "demand_resurfaced"} <= kinds
    assert "unrecognized_condition" in kinds
    assert seen["corroborations"] and any(row[5] for row in seen["findings"])


async def test_order_within_a_replay_does_not_matter(tmp_path: Path, rules: RuleSet) -> None:
    """The same articles in another order in the file: the same deltas and positions."""
    records = articles(rules, 300)
    await replay(items(write(tmp_path / "a.jsonl", records)), tmp_path / "a.db", rules)
    random.Random(1).shuffle(records)
    await replay(items(write(tmp_path / "b.jsonl", records)), tmp_path / "b.db", rules)
    assert history(tmp_path / "a.db") == history(tmp_path / "b.db")


@pytest.mark.parametrize("size", [1, 37, 300])
async def test_batch_size_does_not_matter(tmp_path: Path, rules: RuleSet, size: int) -> None:
    """Articles replayed in batches of any size, in the order replay itself takes them (time,
    then key): the same history as in one go."""
    records = articles(rules, 300)
    records.sort(key=lambda r: (r["published"], r["url"]))
    await replay(items(write(tmp_path / "all.jsonl", records)), tmp_path / "one.db", rules)
    for start in range(0, len(records), size):
        batch = write(tmp_path / f"b{start}.jsonl", records[start : start + size])
        await replay(items(batch), tmp_path / "batches.db", rules)
    assert history(tmp_path / "one.db") == history(tmp_path / "batches.db")


def test_sigkill_mid_replay_then_restart_gives_the_same_history(
    tmp_path: Path, rules: RuleSet
) -> None:
    """`newsmon replay` of 500 articles killed with SIGKILL half-way and run again ends with
    exactly the history of an uninterrupted run: nothing lost, nothing twice."""
    path = write(tmp_path / "a.jsonl", articles(rules, 500))
    whole = subprocess.run(
        [NEWSMON, "replay", str(path), "--db", str(tmp_path / "whole.db")],
        capture_output=True,
        check=True,
        timeout=300,
    )
    assert whole.returncode == 0

    db = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [NEWSMON, "replay", str(path), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done = 0
    deadline = time.monotonic() + 120
    while done < 100 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    done = conn.execute(
                        "SELECT count(*) FROM items WHERE state = 'done'"
                    ).fetchone()[0]
            except sqlite3.OperationalError:  # the schema is not there yet
                continue
    proc.kill()
    proc.wait()
    with sqlite3.connect(db) as conn:
        at_kill = conn.execute("SELECT count(*) FROM items WHERE state = 'done'").fetchone()[0]
    assert 0 < at_kill < 500, f"the kill came at {at_kill} of 500 articles done"

    again = subprocess.run(
        [NEWSMON, "replay", str(path), "--db", str(db)], capture_output=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert history(db) == history(tmp_path / "whole.db")
