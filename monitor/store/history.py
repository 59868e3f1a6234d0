"""One article's effect on the history: findings, copies, deltas, positions, unknown items.

Called by :meth:`Store.record_article` inside its transaction, so all of it commits (or not)
with the article's outbox rows and its item marked done. It reads the history the article
meets, lets the pure :func:`monitor.deltas.diff` judge, and writes the outcome:

1. every finding, historical ones included (evidence of the past, never a delta);
2. when the article is a near-duplicate of an earlier one (syndication, a new headline), the
   pairs that earlier article already reported are *corroborated*: the earlier delta's count
   and the position's sources go up, and no new delta (no alert) is made;
3. the other pairs' deltas and their advanced positions, each position pointing at the
   deltas that set its first and last sighting;
4. unrecognized conditions, grouped per actor into open items: only a new item is a delta.
"""

from __future__ import annotations

__all__ = ["record_history"]

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import aiosqlite

from monitor.deltas import Judging, Position, advance, diff
from monitor.fingerprint import KEYS, Sketch, similarity, sketch
from monitor.model import Article, Delta, Finding
from monitor.unknown import GROUP_SIMILARITY, Unknown, resembles

_HASH_BYTES = 7


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


async def record_history(
    db: aiosqlite.Connection,
    item_id: int,
    article: Article,
    findings: Sequence[Finding],
    *,
    published: datetime,
    names: Callable[[Delta], Delta],
    now: float,
    judging: Judging,
    unknowns: Sequence[Unknown] = (),
) -> list[Delta]:
    """Record what ``article`` changes; returns its new deltas (with ids), to be routed."""
    if findings:
        await db.executemany(
            "INSERT INTO findings (item_id, actor, demand, stance, sentence, start, end, "
            "historical) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    item_id,
                    f.actor,
                    f.demand,
                    f.stance,
                    f.sentence,
                    f.start,
                    f.end,
                    int(f.historical),
                )
                for f in findings
            ],
        )
    current = [f for f in findings if not f.historical]
    source = article.source or article.url
    if current:
        fingerprint = sketch(article.text)
        original = await _original(db, fingerprint, published, judging)
        if original is None:
            await _remember(db, item_id, fingerprint, published)
        else:
            copied = await _corroborate(db, original, item_id, article, current, published)
            current = [f for f in current if (f.actor, f.demand) not in copied]
    recorded = [
        await _record_delta(db, item_id, delta, source, now)
        for delta in await _judge(db, article, current, published, names, judging)
    ]
    for unknown in unknowns:
        delta = await _unknown(db, item_id, article, unknown, published, names, now)
        if delta is not None:
            recorded.append(delta)
    return recorded


async def _original(
    db: aiosqlite.Connection, fingerprint: Sketch, published: datetime, judging: Judging
) -> tuple[int, float] | None:
    """The earlier article this one copies (its item id and the similarity), if any."""
    keys = fingerprint[:KEYS]
    if not keys:
        return None
    when = published.timestamp()
    reach = judging.copy_within.total_seconds()
    rows = await db.execute_fetchall(
        "SELECT DISTINCT f.item_id, f.published, f.sketch FROM fingerprint_keys k "
        "JOIN fingerprints f ON f.item_id = k.item_id "
        f"WHERE k.hash IN ({', '.join('?' * len(keys))}) AND f.published BETWEEN ? AND ?",
        (*keys, when - reach, when + reach),
    )
    best: tuple[float, float, int] | None = None
    for item, at, blob in rows:
        theirs = tuple(
            int.from_bytes(blob[i : i + _HASH_BYTES]) for i in range(0, len(blob), _HASH_BYTES)
        )
        score = similarity(fingerprint, theirs)
        # The most similar; among equals the earliest, so the choice never depends on order.
        rank = (-score, at, item)
        if score >= judging.near_duplicate and (best is None or rank < best):
            best = rank
    return None if best is None else (best[2], -best[0])


async def _remember(
    db: aiosqlite.Connection, item_id: int, fingerprint: Sketch, published: datetime
) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO fingerprints (item_id, published, sketch) VALUES (?, ?, ?)",
        (item_id, published.timestamp(), b"".join(h.to_bytes(_HASH_BYTES) for h in fingerprint)),
    )
    await db.executemany(
        "INSERT OR IGNORE INTO fingerprint_keys (hash, item_id) VALUES (?, ?)",
        [(h, item_id) for h in fingerprint[:KEYS]],
    )


async def _corroborate(
    db: aiosqlite.Connection,
    original: tuple[int, float],
    item_id: int,
    article: Article,
    findings: Sequence[Finding],
    published: datetime,
) -> set[tuple[str, str]]:
    """Count a copy's findings as corroboration of the original's deltas; returns their pairs."""
    original_item, score = original
    pairs = {(f.actor, f.demand) for f in findings}
    source = article.source or article.url
    copied = set()
    for delta_id, actor, demand in await db.execute_fetchall(
        "SELECT id, actor, demand FROM deltas WHERE item_id = ? ORDER BY id", (original_item,)
    ):
        if (actor, demand) not in pairs:
            continue
        copied.add((actor, demand))
        await db.execute(
            "INSERT OR IGNORE INTO corroborations (delta_id, item_id, source, url, published, "
            "similarity) VALUES (?, ?, ?, ?, ?, ?)",
            (delta_id, item_id, source, article.url, published.timestamp(), round(score, 3)),
        )
        await db.execute(
            "UPDATE deltas SET corroborations = corroborations + 1 WHERE id = ?", (delta_id,)
        )
        cur = await db.execute(
            "INSERT OR IGNORE INTO position_sources (actor, demand, source) VALUES (?, ?, ?)",
            (actor, demand, source),
        )
        if cur.rowcount > 0:
            await db.execute(
                "UPDATE positions SET sources = sources + 1 WHERE actor = ? AND demand = ?",
                (actor, demand),
            )
    return copied


async def _judge(
    db: aiosqlite.Connection,
    article: Article,
    findings: Sequence[Finding],
    published: datetime,
    names: Callable[[Delta], Delta],
    judging: Judging,
) -> list[tuple[Delta, Position | None]]:
    """The deltas of ``findings`` against the positions they meet, each with that position."""
    positions: dict[tuple[str, str], Position] = {}
    for actor, demand in sorted({(f.actor, f.demand) for f in findings}):
        rows = await db.execute_fetchall(
            "SELECT first_seen, last_seen, last_demanded, articles, sources, last_stance, "
            "first_delta, last_delta FROM positions WHERE actor = ? AND demand = ?",
            (actor, demand),
        )
        for row in rows:
            positions[(actor, demand)] = Position(
                actor,
                demand,
                datetime.fromtimestamp(row[0], UTC),
                datetime.fromtimestamp(row[1], UTC),
                _dt(row[2]),
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
            )
    deltas = diff(
        findings,
        positions,
        article,
        published,
        window=judging.window,
        windows=judging.windows,
    )
    return [(names(d), positions.get((d.actor, d.demand))) for d in deltas]


async def _record_delta(
    db: aiosqlite.Connection,
    item_id: int,
    judged: tuple[Delta, Position | None],
    source: str,
    now: float,
) -> Delta:
    delta, before = judged
    cur = await db.execute(
        "INSERT OR IGNORE INTO position_sources (actor, demand, source) VALUES (?, ?, ?)",
        (delta.actor, delta.demand, source),
    )
    new_source = cur.rowcount > 0
    position = advance(before, delta, new_source=new_source)
    delta_id = await _insert_delta(
        db, item_id, delta, position.first_seen, position.articles, now, sources=position.sources
    )
    delta = replace(delta, id=delta_id, sources=position.sources)
    position = advance(before, delta, new_source=new_source)
    await db.execute(
        "INSERT INTO positions (actor, demand, first_seen, last_seen, last_demanded, "
        "articles, sources, last_stance, first_delta, last_delta) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (actor, demand) DO UPDATE SET first_seen = excluded.first_seen, "
        "last_seen = excluded.last_seen, last_demanded = excluded.last_demanded, "
        "articles = excluded.articles, sources = excluded.sources, "
        "last_stance = excluded.last_stance, first_delta = excluded.first_delta, "
        "last_delta = excluded.last_delta",
        (
            position.actor,
            position.demand,
            position.first_seen.timestamp(),
            position.last_seen.timestamp(),
            None if position.last_demanded is None else position.last_demanded.timestamp(),
            position.articles,
            position.sources,
            position.last_stance,
            position.first_delta,
            position.last_delta,
        ),
    )
    return delta


async def _insert_delta(
    db: aiosqlite.Connection,
    item_id: int,
    delta: Delta,
    first_seen: datetime,
    articles: int,
    now: float,
    *,
    sources: int = 1,
) -> int:
    cur = await db.execute(
        "INSERT INTO deltas (item_id, kind, actor, demand, actor_name, demand_title, "
        "stance, sentence, phrases, url, title, source, published, historical, "
        "first_seen, articles, created_at, severity, sources) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item_id,
            delta.kind,
            delta.actor,
            delta.demand,
            delta.actor_name,
            delta.demand_title,
            delta.stance,
            delta.sentence,
            json.dumps(list(delta.phrases)),
            delta.url,
            delta.title,
            delta.source,
            delta.published.timestamp(),
            int(delta.historical),
            first_seen.timestamp(),
            articles,
            now,
            delta.severity,
            sources,
        ),
    )
    return int(cur.lastrowid or 0)


async def _unknown(
    db: aiosqlite.Connection,
    item_id: int,
    article: Article,
    unknown: Unknown,
    published: datetime,
    names: Callable[[Delta], Delta],
    now: float,
) -> Delta | None:
    """Group an unknown condition into its actor's open items; a new item is a new delta."""
    when = published.timestamp()
    best: tuple[float, int] | None = None
    # A dismissed item still absorbs its kind silently; a closed one is done with, so the same
    # language unmatched again (the rule written for it misses it) is news again.
    for group, words in await db.execute_fetchall(
        "SELECT id, words FROM unknown_conditions WHERE actor = ? "
        "AND state IN ('open', 'dismissed') ORDER BY id",
        (unknown.actor,),
    ):
        score = resembles(unknown.words, json.loads(words))
        if score >= GROUP_SIMILARITY and (best is None or score > best[0]):
            best = (score, group)
    if best is not None:
        await db.execute(
            "UPDATE unknown_conditions SET articles = articles + 1, "
            "first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE id = ?",
            (when, when, best[1]),
        )
        return None
    shown = unknown.shown or unknown.words  # as written; stems only where none were kept
    cur = await db.execute(
        "INSERT INTO unknown_conditions (actor, words, shown, first_seen, last_seen, articles) "
        "VALUES (?, ?, ?, ?, ?, 1)",
        (
            unknown.actor,
            json.dumps(list(unknown.words)),
            json.dumps(list(shown)),
            when,
            when,
        ),
    )
    group = int(cur.lastrowid or 0)
    delta = names(
        Delta(
            kind="unrecognized_condition",
            actor=unknown.actor,
            demand=f"unknown-{group}",
            stance="demands",
            sentence=unknown.sentence,
            url=article.url,
            title=article.title,
            published=published,
            source=article.source,
            first_seen=published,
        )
    )
    delta = replace(delta, demand_title="unrecognized: " + " ".join(shown))
    delta_id = await _insert_delta(db, item_id, delta, published, 1, now)
    await db.execute("UPDATE unknown_conditions SET delta_id = ? WHERE id = ?", (delta_id, group))
    return replace(delta, id=delta_id)
