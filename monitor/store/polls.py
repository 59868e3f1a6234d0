"""Recording successful polls: many feeds' validators, schedules and new items at once.

Called by :meth:`Store.record_poll` inside one transaction for a whole batch of polls (group
commit), so each poll's validators commit together with its items, and nothing acts on them
before the commit. A batch costs a fixed handful of statements, however many polls it holds.
Why: while the event loop is busy polling, aiosqlite's thread waits for the GIL after every
step of a statement (bench/poll.py, 2,000 feeds: 0.4-5 ms a round trip, and an ``executemany``
of 843 rows, one step per row, held the database for 0.48 s). With a transaction per changed
feed and ``executemany`` for the rest, the polls spent most of a round queueing for the store.
Rows travel as ``VALUES`` lists of bound parameters (exactly what ``executemany`` would bind),
padded to a power of two so that the connection's statement cache keeps a few statements.
"""

from __future__ import annotations

__all__ = ["PollRecord", "write_polls"]

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from monitor.store.sqlite import NewItem

# Rows per statement: far below SQLite's 32,766 bound parameters (14 columns a feed row).
_CHUNK = 256

_UPDATE_FEEDS = (
    "UPDATE feeds SET etag = v.column2, last_modified = v.column3, body_hash = v.column4, "
    "title = COALESCE(v.column5, title), "
    # A poll that parsed nothing (304, same bytes, same ids) leaves the last parse's warning.
    "warning = CASE WHEN v.column5 IS NULL THEN warning ELSE v.column6 END, "
    "next_poll_at = v.column7, last_polled_at = v.column8, "
    "first_polled_at = COALESCE(first_polled_at, v.column8), last_success_at = v.column8, "
    "last_status = v.column9, last_error = NULL, consecutive_errors = 0, "
    "cadence_s = COALESCE(v.column10, cadence_s), ttl_s = COALESCE(v.column11, ttl_s), "
    "entry_ids = COALESCE(v.column12, entry_ids), "
    # Activity for the "quiet feed" check: a new entry, or the first poll.
    "last_new_at = CASE WHEN v.column13 > 0 THEN v.column8 "
    "ELSE COALESCE(last_new_at, v.column8) END, "
    "quiet_since = CASE WHEN v.column13 > 0 THEN NULL ELSE quiet_since END "
    "FROM (VALUES {rows}) AS v WHERE feeds.id = v.column1"
)
_UPDATE_WIDTH = 13

_INSERT_ITEMS = (
    "INSERT OR IGNORE INTO items (key, feed_id, url, title, source, published, seen_at, "
    "trusted_local, backfill, state, done_at) "
    "SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9, "
    "column10, column11 FROM (VALUES {rows}) "
    # Padding rows are all NULL; a key with a tombstone is never enqueued again.
    "WHERE column1 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tombstones WHERE key = column1)"
)
_INSERT_WIDTH = 11


@dataclass(frozen=True)
class PollRecord:
    """One successful poll, as :meth:`Store.record_poll` was given it.

    ``title`` is None when nothing was parsed; ``cadence_s``, ``ttl_s`` and ``entry_ids`` keep
    their stored value when None.
    """

    feed_id: int
    now: float
    next_poll_at: float
    status: int | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    title: str | None
    warning: str | None
    items: Sequence[NewItem]
    cadence_s: float | None
    ttl_s: float | None
    entry_ids: str | None
    notices: Sequence[tuple[str, str, str]]


async def write_polls(db: aiosqlite.Connection, polls: Sequence[PollRecord]) -> list[int]:
    """Store ``polls`` (each feed at most once) inside the caller's transaction; returns, for
    each poll, how many of its entries became new items (backfill included)."""
    notices = [(k, s, m, p.now) for p in polls for k, s, m in p.notices]
    if notices:
        await db.executemany(
            "INSERT INTO ops_events (kind, subject, message, created_at) VALUES (?, ?, ?, ?)",
            notices,
        )
    new: dict[int, int] = {}
    items = [_item_row(p, i) for p in polls for i in p.items]
    if items:
        rows = await db.execute_fetchall("SELECT COALESCE(max(id), 0) FROM items", ())
        before = next(iter(rows))[0]
        for sql, params in _chunks(_INSERT_ITEMS, _INSERT_WIDTH, items):
            await db.execute(sql, params)
        # One row back (each row fetched is another step, another wait for the GIL).
        rows = await db.execute_fetchall(
            "SELECT json_group_object(feed_id, n) FROM "
            "(SELECT feed_id, count(*) AS n FROM items WHERE id > ? GROUP BY feed_id)",
            (before,),
        )
        new = {int(feed): n for feed, n in json.loads(next(iter(rows))[0]).items()}
    feeds = [
        (
            p.feed_id,
            p.etag,
            p.last_modified,
            p.body_hash,
            p.title,
            p.warning,
            p.next_poll_at,
            p.now,
            p.status,
            p.cadence_s,
            p.ttl_s,
            p.entry_ids,
            new.get(p.feed_id, 0),
        )
        for p in polls
    ]
    for sql, params in _chunks(_UPDATE_FEEDS, _UPDATE_WIDTH, feeds):
        await db.execute(sql, params)
    return [new.get(p.feed_id, 0) for p in polls]


def _item_row(poll: PollRecord, item: NewItem) -> tuple[Any, ...]:
    return (
        item.key,
        poll.feed_id,
        item.url,
        item.title,
        item.source,
        None if item.published is None else item.published.timestamp(),
        poll.now,
        int(item.trusted_local),
        int(item.backfill),
        "done" if item.backfill else "pending",
        poll.now if item.backfill else None,
    )


def _chunks(
    template: str, width: int, rows: Sequence[tuple[Any, ...]]
) -> Iterator[tuple[str, list[Any]]]:
    """``template`` filled with up to ``_CHUNK`` rows at a time, and their parameters; the
    last chunk is padded with rows of NULLs to a power of two."""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        size = 1 << (len(chunk) - 1).bit_length()
        row = "(" + ", ".join("?" * width) + ")"
        params = [value for r in chunk for value in r]
        params.extend([None] * (width * (size - len(chunk))))
        yield template.format(rows=", ".join([row] * size)), params
