"""The SQLite store: every queue and every piece of history newsmon keeps.

One aiosqlite connection in WAL mode; each unit of work is one ``BEGIN IMMEDIATE`` transaction
under a lock, so a ``kill -9`` at any point leaves either all of a unit's effects or none.
"""

from __future__ import annotations

__all__ = ["FailedItem", "FeedRow", "ItemRow", "OutboxRow", "PositionRow", "Store", "UnknownItem"]

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from monitor.deltas import Judging
from monitor.model import Article, Delta, Finding
from monitor.store.history import record_history
from monitor.store.outbox import OutboxQueries, enqueue_alerts
from monitor.store.polls import PollRecord, write_polls
from monitor.store.schema import MIGRATIONS
from monitor.unknown import Unknown


def _ts(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class FeedRow:
    """A feed as the store knows it: validators and health."""

    id: int
    url: str
    name: str
    interval_s: float
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_poll_at: float
    consecutive_errors: int
    last_error: str | None
    last_success_at: float | None
    first_polled_at: float | None = None
    last_polled_at: float | None = None
    last_status: int | None = None
    warning: str | None = None
    title: str = ""
    cadence_s: float | None = None
    ttl_s: float | None = None
    entry_ids: str | None = None
    last_new_at: float | None = None
    quiet_since: float | None = None
    imported: bool = False


@dataclass(frozen=True)
class ItemRow:
    """A claimed item: what to fetch (or the content given for it) and where it came from."""

    id: int
    key: str
    url: str
    title: str
    source: str
    published: datetime | None
    seen_at: datetime
    trusted_local: bool
    content: str | None
    content_type: str | None
    attempts: int
    voice: str | None = None  # the actor whose own statements the text is, if known


@dataclass(frozen=True)
class FailedItem:
    """An item given up on, with the reason (``newsmon items --failed``)."""

    id: int
    url: str
    title: str
    source: str
    attempts: int
    error: str
    feed_url: str | None


@dataclass(frozen=True)
class OutboxRow:
    """An alert waiting for its channel."""

    id: int
    channel: str
    attempts: int
    delta: Delta


@dataclass(frozen=True)
class Stats:
    """Counts across the database, for metrics and ``newsmon status``."""

    feeds_ok: int
    feeds_erring: int  # failed lately, fewer times in a row than count as failing
    feeds_failing: int  # ``failing_after`` failures in a row or more
    last_poll_at: float | None
    items: dict[str, int]
    deltas: dict[str, int]
    findings: int
    alerts: dict[str, int]
    oldest_pending_alert_at: float | None  # since when the oldest due alert has waited
    ops_pending: int


@dataclass(frozen=True)
class OpsEvent:
    """A notice for ops (not the desk): a feed failing or recovering, an alert parked, ..."""

    id: int
    kind: str
    subject: str
    message: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class NewItem:
    """An item to enqueue: from a feed entry, or given with its content (replay)."""

    key: str
    url: str
    title: str
    published: datetime | None
    source: str = ""
    content: str | None = None
    content_type: str | None = None
    trusted_local: bool = False
    # Recorded as done without being fetched or alerted (a new feed's backlog).
    backfill: bool = False
    voice: str | None = None  # the actor whose own statements the text is (replay)


def _feed_row(row: Sequence[Any]) -> FeedRow:
    """A FeedRow from the 22 feed columns that ``Store.feeds`` selects (in field order)."""
    values = list(row[:22])
    values[21] = bool(values[21])  # dataclasses.replace would cost ten times as much
    return FeedRow(*values)


@dataclass(frozen=True)
class PositionRow:
    """A position as ``newsmon positions`` shows it: the counts and the evidence behind them.

    A pair known only from sentences about the past has no first or last sighting, only a
    ``recalled`` count (historical findings are evidence of the past, never news).
    """

    actor: str
    demand: str
    first_seen: datetime | None
    last_seen: datetime | None
    articles: int
    sources: int
    last_stance: str
    demand_title: str
    actor_name: str
    first_sentence: str
    first_url: str
    last_sentence: str
    last_url: str
    recalled: int


@dataclass(frozen=True)
class UnknownItem:
    """An open item of demand language no rule knows, with how many articles used it."""

    id: int
    actor: str
    words: tuple[str, ...]  # as the article wrote them (stems in rows from before 2026-11)
    first_seen: datetime
    last_seen: datetime
    articles: int
    sentence: str
    url: str
    state: str = "open"  # open, closed (done with), dismissed (counted silently)


def _pair_filter(actor: str | None, demand: str | None, table: str) -> tuple[str, list[Any]]:
    conditions, params = [], []
    for column, value in (("actor", actor), ("demand", demand)):
        if value is not None:
            conditions.append(f"{table}.{column} = ?")
            params.append(value)
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


_ITEM_DONE = (
    "UPDATE items SET state = 'done', done_at = ?, error = NULL, "
    "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?"
)

_DELTA_COLUMNS = (
    "d.id, d.kind, d.actor, d.demand, d.stance, d.sentence, d.phrases, d.url, d.title, "
    "d.source, d.published, d.historical, d.first_seen, d.articles, d.actor_name, d.demand_title, "
    "d.severity, d.sources, d.corroborations"
)


def _delta(row: Sequence[Any]) -> Delta:
    return Delta(
        id=row[0],
        kind=row[1],
        actor=row[2],
        demand=row[3],
        stance=row[4],
        sentence=row[5],
        phrases=tuple(json.loads(row[6])),
        url=row[7],
        title=row[8],
        source=row[9],
        published=datetime.fromtimestamp(row[10], UTC),
        historical=bool(row[11]),
        first_seen=_dt(row[12]),
        articles=row[13],
        actor_name=row[14],
        demand_title=row[15],
        severity=row[16],
        sources=row[17],
        corroborations=row[18],
    )


@dataclass
class _PollBatch:
    """Polls committed together by one task, and what became of each (new items, or the
    error that kept it from being stored)."""

    polls: list[PollRecord] = field(default_factory=list)
    feeds: set[int] = field(default_factory=set)
    # One future per poll (awaiting one shared future would let a cancelled poll cancel it).
    waiters: list[asyncio.Future[int]] = field(default_factory=list)
    task: asyncio.Future[None] | None = None


# Errors that one poll's values can cause (a string SQLite cannot store, a number too large).
_DATA_ERRORS = (
    ValueError,
    OverflowError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
)


class Store(OutboxQueries):
    """The SQLite database behind the daemon and the CLI."""

    _delta_columns = _DELTA_COLUMNS
    _delta_of = staticmethod(_delta)

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self._polls: _PollBatch | None = None
        self._committing: set[asyncio.Future[None]] = set()  # strong references to the tasks

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating and migrating as needed) the database at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, a process crash never.
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        store = cls(conn, path)
        await store._migrate()
        return store

    @classmethod
    @asynccontextmanager
    async def opened(cls, path: Path) -> AsyncIterator[Store]:
        """The store at ``path``, open for the duration of an ``async with`` block."""
        store = await cls.open(path)
        try:
            yield store
        finally:
            await store.close()

    async def close(self) -> None:
        """Close the connection."""
        await self._conn.close()

    async def _migrate(self) -> None:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = row[0] if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock, self._unlocked_transaction() as db:
            yield db

    @asynccontextmanager
    async def _unlocked_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction, for a caller that already holds the lock."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            # If COMMIT already went through (cancelled while awaiting it) there is
            # nothing to roll back; the database is consistent either way.
            with contextlib.suppress(sqlite3.OperationalError):
                await self._conn.execute("ROLLBACK")
            raise
        else:
            await self._conn.execute("COMMIT")

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    # -- feeds ------------------------------------------------------------------------------

    async def sync_feeds(self, feeds: Iterable[tuple[str, str, float, str | None]]) -> None:
        """Make the configured feeds (url, name, interval, voice) the active ones.

        Feeds no longer configured are deactivated, not deleted: their items and history stay.
        """
        wanted = list(feeds)
        async with self._transaction() as db:
            # Feeds imported from OPML are not in the config: they stay until removed.
            await db.execute("UPDATE feeds SET active = 0 WHERE imported = 0")
            await db.executemany(
                "INSERT INTO feeds (url, name, interval_s, voice) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET active = 1, name = excluded.name, "
                "interval_s = excluded.interval_s, voice = excluded.voice",
                wanted,
            )

    async def feeds(self, *, due_before: float | None = None) -> list[FeedRow]:
        """Active feeds, or only those due to be polled before ``due_before``."""
        sql = (
            "SELECT id, url, name, interval_s, etag, last_modified, body_hash, next_poll_at, "
            "consecutive_errors, last_error, last_success_at, first_polled_at, last_polled_at, "
            "last_status, warning, title, cadence_s, ttl_s, entry_ids, last_new_at, quiet_since, "
            "imported FROM feeds WHERE active = 1"
        )
        params: list[Any] = []
        if due_before is not None:
            sql += " AND next_poll_at <= ?"
            params.append(due_before)
        rows = await self._fetchall(sql + " ORDER BY next_poll_at, id", params)
        return [_feed_row(row) for row in rows]

    async def record_poll(
        self,
        feed_id: int,
        *,
        now: float,
        next_poll_at: float,
        status: int | None,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        title: str | None,
        warning: str | None,
        items: Sequence[NewItem],
        cadence_s: float | None = None,
        ttl_s: float | None = None,
        entry_ids: str | None = None,
        notices: Sequence[tuple[str, str, str]] = (),
    ) -> int:
        """Store a successful poll and enqueue its entries in one transaction.

        Returns how many of the entries are new items (backfill included). Entries whose key
        has a tombstone are not enqueued again. ``cadence_s``, ``ttl_s`` and ``entry_ids`` keep
        their stored value when None; ``notices`` (kind, subject, message) go to ops in the
        same transaction.

        Concurrent polls share one transaction (group commit) of a few statements, whatever
        their number; each caller still returns only once its poll is committed, validators
        and items together. Should the shared transaction fail on one poll's data, each poll
        of the batch is written again in its own, so that one bad feed fails alone.
        """
        poll = PollRecord(
            feed_id,
            now,
            next_poll_at,
            status,
            etag,
            last_modified,
            body_hash,
            title,
            warning,
            items,
            cadence_s,
            ttl_s,
            entry_ids,
            notices,
        )
        batch = self._polls
        while batch is not None and feed_id in batch.feeds:
            # The same feed twice in one batch: its rows would clash; wait for the next one.
            assert batch.task is not None
            await asyncio.shield(batch.task)
            batch = self._polls
        if batch is None:
            batch = self._polls = _PollBatch()
            batch.task = asyncio.ensure_future(self._commit_polls(batch))
            self._committing.add(batch.task)
            batch.task.add_done_callback(partial(self._batch_ended, batch))
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        batch.polls.append(poll)
        batch.feeds.add(feed_id)
        batch.waiters.append(waiter)
        return await waiter

    def _batch_ended(self, batch: _PollBatch, task: asyncio.Future[None]) -> None:
        """However the commit ended (cancelled before it even began, at shutdown), its batch
        takes no more polls and none of its polls waits for ever."""
        self._committing.discard(task)
        if self._polls is batch:
            self._polls = None
        for waiter in batch.waiters:
            if not waiter.done():
                waiter.cancel()

    async def _commit_polls(self, batch: _PollBatch) -> None:
        try:
            outcomes = await self._write_batch(batch)
        except Exception as exc:  # the database failed them all (disk full...)
            outcomes = [exc] * len(batch.waiters)
        for waiter, outcome in zip(batch.waiters, outcomes, strict=True):
            if waiter.done():  # that poll was cancelled meanwhile; its record stands
                continue
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)

    async def _write_batch(self, batch: _PollBatch) -> list[int | BaseException]:
        await asyncio.sleep(0)  # one loop turn, so polls finishing together share the commit
        async with self._lock:
            if self._polls is batch:
                self._polls = None  # polls from now on start the next batch
            polls = list(batch.polls)
            try:
                async with self._unlocked_transaction() as db:
                    return list(await write_polls(db, polls))
            except _DATA_ERRORS:
                if len(polls) == 1:
                    raise
            # A value SQLite refuses (a lone surrogate in a title...) is one poll's fault.
            outcomes: list[int | BaseException] = []
            for poll in polls:
                try:
                    async with self._unlocked_transaction() as db:
                        outcomes.extend(await write_polls(db, [poll]))
                except _DATA_ERRORS as exc:
                    outcomes.append(exc)
            return outcomes

    async def _notify(
        self, db: aiosqlite.Connection, notices: Sequence[tuple[str, str, str]], now: float
    ) -> None:
        await db.executemany(
            "INSERT INTO ops_events (kind, subject, message, created_at) VALUES (?, ?, ?, ?)",
            [(kind, subject, message, now) for kind, subject, message in notices],
        )

    async def mark_quiet(self, feed_id: int, *, now: float, notice: tuple[str, str, str]) -> bool:
        """Flag a feed as quiet and tell ops, once until it brings a new entry again.

        Returns whether it was newly flagged.
        """
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE feeds SET quiet_since = ? WHERE id = ? AND quiet_since IS NULL",
                (now, feed_id),
            )
            if cur.rowcount == 0:
                return False
            await self._notify(db, [notice], now)
            return True

    async def record_poll_error(
        self,
        feed_id: int,
        *,
        now: float,
        next_poll_at: float,
        status: int | None,
        error: str,
        notices: Sequence[tuple[str, str, str]] = (),
    ) -> int:
        """Record a failed poll (and ``notices`` for ops, in the same transaction); returns
        the feed's count of consecutive errors."""
        async with self._transaction() as db:
            await self._notify(db, notices, now)
            await db.execute(
                "UPDATE feeds SET next_poll_at = ?, last_polled_at = ?, last_status = ?, "
                "last_error = ?, consecutive_errors = consecutive_errors + 1 WHERE id = ?",
                (next_poll_at, now, status, error, feed_id),
            )
            async with db.execute(
                "SELECT consecutive_errors FROM feeds WHERE id = ?", (feed_id,)
            ) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def all_feeds(self) -> list[FeedRow]:
        """Every feed, active or not, by URL (for ``newsmon feeds``)."""
        rows = await self._fetchall(
            "SELECT id, url, name, interval_s, etag, last_modified, body_hash, next_poll_at, "
            "consecutive_errors, last_error, last_success_at, first_polled_at, last_polled_at, "
            "last_status, warning, title, cadence_s, ttl_s, entry_ids, last_new_at, quiet_since, "
            "imported, active FROM feeds ORDER BY url"
        )
        return [_feed_row(row) for row in rows if row[-1]]

    async def import_feeds(self, feeds: Iterable[tuple[str, str]], *, interval_s: float) -> int:
        """Add feeds (url, name) from an OPML file; returns how many were not known yet.

        Imported feeds stay active whatever the config lists; a known feed is reactivated.
        """
        wanted = list(feeds)
        async with self._transaction() as db:
            known = {
                row[0]
                for row in await db.execute_fetchall("SELECT url FROM feeds WHERE active = 1", ())
            }
            await db.executemany(
                "INSERT INTO feeds (url, name, interval_s, imported) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (url) DO UPDATE SET active = 1, imported = 1",
                [(url, name, interval_s) for url, name in wanted],
            )
        return len({url for url, _ in wanted} - known)

    async def imported_feed_count(self) -> int:
        """How many active feeds came from an OPML import."""
        rows = await self._fetchall("SELECT count(*) FROM feeds WHERE active = 1 AND imported = 1")
        return int(rows[0][0])

    # -- items ------------------------------------------------------------------------------

    async def failed_items(self) -> list[FailedItem]:
        """Items given up on, most recent first."""
        rows = await self._fetchall(
            "SELECT i.id, i.url, i.title, i.source, i.attempts, COALESCE(i.error, ''), f.url "
            "FROM items i LEFT JOIN feeds f ON f.id = i.feed_id WHERE i.state = 'failed' "
            "ORDER BY i.id DESC"
        )
        return [FailedItem(*row) for row in rows]

    async def item_counts(self) -> dict[str, int]:
        """How many items are in each state (backfill counted apart from done)."""
        rows = await self._fetchall(
            "SELECT CASE WHEN backfill THEN 'backlog' ELSE state END, count(*) FROM items "
            "GROUP BY 1"
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def purge_items(self, *, seen_before: float, now: float) -> int:
        """Delete finished items seen before ``seen_before`` that made no delta, leaving a
        tombstone for each key so that a feed still listing it cannot bring it back.

        Returns how many were purged.
        """
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                "SELECT id, key FROM items WHERE state IN ('done', 'failed') AND seen_at < ? "
                "AND NOT EXISTS (SELECT 1 FROM deltas d WHERE d.item_id = items.id)",
                (seen_before,),
            )
            ids = [(row[0],) for row in rows]
            await db.executemany(
                "INSERT OR IGNORE INTO tombstones (key, purged_at) VALUES (?, ?)",
                [(row[1], now) for row in rows],
            )
            await db.executemany("DELETE FROM findings WHERE item_id = ?", ids)
            await db.executemany("DELETE FROM items WHERE id = ?", ids)
        return len(ids)

    async def add_items(self, items: Sequence[NewItem], *, now: float) -> int:
        """Enqueue items that come with their content (replay); returns how many are new."""
        async with self._transaction() as db:
            before = db.total_changes
            await db.executemany(
                "INSERT OR IGNORE INTO items (key, url, title, source, published, seen_at, "
                "content, content_type, trusted_local, voice) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        i.key,
                        i.url,
                        i.title,
                        i.source,
                        _ts(i.published),
                        now,
                        i.content,
                        i.content_type,
                        int(i.trusted_local),
                        i.voice,
                    )
                    for i in items
                ],
            )
            return db.total_changes - before

    async def release_claims(self) -> int:
        """Return items claimed by a process that is gone to the queue; returns how many."""
        async with self._transaction() as db:
            cur = await db.execute("UPDATE items SET state = 'pending' WHERE state = 'claimed'")
            return cur.rowcount

    async def claim_item(self, *, now: float) -> ItemRow | None:
        """Claim the earliest-published pending item that is due, or None."""
        items = await self.claim_items(now=now, limit=1)
        return items[0] if items else None

    async def claim_items(self, *, now: float, limit: int) -> list[ItemRow]:
        """Claim up to ``limit`` due pending items at once, in the order :meth:`claim_item`
        would hand them out (a replay: one transaction for many claims)."""
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                # The planner would sort every pending item for each batch without the hint.
                "UPDATE items SET state = 'claimed' WHERE id IN (SELECT id FROM items "
                "INDEXED BY items_claim_order WHERE state = 'pending' AND next_attempt_at <= ? "
                "ORDER BY published IS NULL, published, key LIMIT ?) "
                "RETURNING id, key, url, title, source, published, seen_at, trusted_local, "
                "content, content_type, attempts, "
                # The feed's voice as it is now, so a config change applies to the queue too.
                "COALESCE(voice, (SELECT voice FROM feeds WHERE feeds.id = items.feed_id))",
                (now, limit),
            )
        # RETURNING gives no order: sort as the query did.
        ordered = sorted(rows, key=lambda r: (r[5] is None, r[5] or 0.0, r[1]))
        return [
            ItemRow(
                id=row[0],
                key=row[1],
                url=row[2],
                title=row[3],
                source=row[4],
                published=_dt(row[5]),
                seen_at=datetime.fromtimestamp(row[6], UTC),
                trusted_local=bool(row[7]),
                content=row[8],
                content_type=row[9],
                attempts=row[10],
                voice=row[11],
            )
            for row in ordered
        ]

    async def mark_done(self, done: Sequence[tuple[int, str]], *, now: float) -> None:
        """Mark items (id, title) done in one statement: for articles that changed nothing, so
        that doing one again after a crash changes nothing either."""
        async with self._lock:
            await self._conn.executemany(_ITEM_DONE, [(now, title, i) for i, title in done])

    async def release_item(self, item_id: int) -> None:
        """Give a claimed item back to the queue untouched (shutdown)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE items SET state = 'pending' WHERE id = ? AND state = 'claimed'", (item_id,)
            )

    async def fail_item(self, item_id: int, reason: str, *, retry_at: float | None) -> None:
        """Record a failed attempt: retry at ``retry_at``, or give up when it is None."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE items SET attempts = attempts + 1, error = ?, "
                "state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, "
                "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (reason, retry_at, retry_at, item_id),
            )

    async def pending_count(self) -> int:
        """Items waiting to be processed (including those waiting for a retry)."""
        rows = await self._fetchall(
            "SELECT count(*) FROM items WHERE state IN ('pending', 'claimed')"
        )
        return int(rows[0][0])

    async def next_item_due(self) -> float | None:
        """When the next pending item is due, or None when none is pending."""
        rows = await self._fetchall(
            "SELECT min(next_attempt_at) FROM items WHERE state = 'pending'"
        )
        due = rows[0][0]
        return None if due is None else float(due)

    # -- findings, deltas, positions, outbox: one transaction per article ----------------------

    async def record_article(
        self,
        item_id: int,
        article: Article,
        findings: Sequence[Finding],
        *,
        published: datetime,
        routes: Any,
        names: Any,
        now: float,
        judging: Judging | None = None,
        unknowns: Sequence[Unknown] = (),
    ) -> list[Delta]:
        """Record an article's findings, its deltas, the new positions and the alerts to send.

        All in one transaction, together with marking the item done: after a crash the article
        is either fully recorded or still pending, never half. ``routes(delta)`` names the
        channels a delta goes to; ``names(delta)`` fills in display names. What the findings
        change is :func:`monitor.store.history.record_history`'s business; ``judging`` says
        how to judge them, ``unknowns`` are the article's unrecognized conditions.
        """
        if not findings and not unknowns:
            # Nothing found (most articles): marking the item done is one statement, atomic
            # on its own, and one round trip instead of four.
            async with self._lock:
                await self._conn.execute(_ITEM_DONE, (now, article.title, item_id))
            return []
        async with self._transaction() as db:
            deltas = await record_history(
                db,
                item_id,
                article,
                findings,
                published=published,
                names=names,
                now=now,
                judging=judging or Judging(),
                unknowns=unknowns,
            )
            # The alerts, in this same transaction: grouped, silenced, throttled (issue 6).
            await enqueue_alerts(db, deltas, routes, now=now)
            await db.execute(_ITEM_DONE, (now, article.title, item_id))
        return deltas

    async def events(
        self,
        *,
        since: datetime | None = None,
        actor: str | None = None,
        demand: str | None = None,
        kind: str | None = None,
    ) -> list[Delta]:
        """The recorded deltas, oldest first, published at or after ``since``, of ``actor``,
        ``demand`` and ``kind`` when given."""
        sql = f"SELECT {_DELTA_COLUMNS} FROM deltas d WHERE d.published >= ?"
        params: list[Any] = [_ts(since) or 0.0]
        for column, value in (("actor", actor), ("demand", demand), ("kind", kind)):
            if value is not None:
                sql += f" AND d.{column} = ?"
                params.append(value)
        rows = await self._fetchall(sql + " ORDER BY d.published, d.id", params)
        return [_delta(row) for row in rows]

    async def positions(
        self, *, actor: str | None = None, demand: str | None = None
    ) -> list[PositionRow]:
        """Who demands what: each (actor, demand) position with its evidence, by actor and
        first sighting; then the pairs known only from sentences about the past."""
        where, params = _pair_filter(actor, demand, "p")
        rows = await self._fetchall(
            "SELECT p.actor, p.demand, p.first_seen, p.last_seen, p.articles, p.sources, "
            "p.last_stance, coalesce(f.demand_title, p.demand), coalesce(f.actor_name, p.actor), "
            "f.sentence, f.url, l.sentence, l.url, "
            "(SELECT count(*) FROM findings h WHERE h.historical = 1 AND h.actor = p.actor "
            "AND h.demand = p.demand) "
            "FROM positions p LEFT JOIN deltas f ON f.id = p.first_delta "
            f"LEFT JOIN deltas l ON l.id = p.last_delta {where} "
            "ORDER BY p.actor, p.first_seen, p.demand",
            params,
        )
        found = [
            PositionRow(
                actor=r[0],
                demand=r[1],
                first_seen=_dt(r[2]),
                last_seen=_dt(r[3]),
                articles=r[4],
                sources=r[5],
                last_stance=r[6],
                demand_title=r[7],
                actor_name=r[8],
                first_sentence=r[9] or "",
                first_url=r[10] or "",
                last_sentence=r[11] or "",
                last_url=r[12] or "",
                recalled=r[13],
            )
            for r in rows
        ]
        where, params = _pair_filter(actor, demand, "h")
        past = await self._fetchall(
            "SELECT h.actor, h.demand, count(*), min(h.sentence) FROM findings h "
            f"{where} {'AND' if where else 'WHERE'} h.historical = 1 AND NOT EXISTS "
            "(SELECT 1 FROM positions p WHERE p.actor = h.actor AND p.demand = h.demand) "
            "GROUP BY h.actor, h.demand ORDER BY h.actor, h.demand",
            params,
        )
        found += [
            PositionRow(
                actor=r[0],
                demand=r[1],
                first_seen=None,
                last_seen=None,
                articles=0,
                sources=0,
                last_stance="",
                demand_title=r[1],
                actor_name=r[0],
                first_sentence=r[3],
                first_url="",
                last_sentence="",
                last_url="",
                recalled=r[2],
            )
            for r in past
        ]
        return found

    async def unknown_conditions(
        self, *, actor: str | None = None, states: tuple[str, ...] = ("open",)
    ) -> list[UnknownItem]:
        """The items of demand language no rule knows in these states, most seen first."""
        sql = (
            "SELECT u.id, u.actor, coalesce(u.shown, u.words), u.first_seen, u.last_seen, "
            "u.articles, d.sentence, d.url, u.state "
            "FROM unknown_conditions u LEFT JOIN deltas d ON d.id = u.delta_id "
            f"WHERE u.state IN ({', '.join('?' * len(states))})"
        )
        params: list[Any] = list(states)
        if actor is not None:
            sql += " AND u.actor = ?"
            params.append(actor)
        rows = await self._fetchall(sql + " ORDER BY u.articles DESC, u.id", params)
        return [
            UnknownItem(
                id=r[0],
                actor=r[1],
                words=tuple(json.loads(r[2])),
                first_seen=datetime.fromtimestamp(r[3], UTC),
                last_seen=datetime.fromtimestamp(r[4], UTC),
                articles=r[5],
                sentence=r[6] or "",
                url=r[7] or "",
                state=r[8],
            )
            for r in rows
        ]

    async def set_unknown_state(self, ids: list[int], state: str) -> list[int]:
        """Close or dismiss unknown-condition items; returns the ids that exist."""
        if state not in ("open", "closed", "dismissed"):
            raise ValueError(f"no unknown-condition state {state!r}")
        found = []
        async with self._transaction() as db:
            for item in ids:
                cur = await db.execute(
                    "UPDATE unknown_conditions SET state = ? WHERE id = ?", (state, item)
                )
                if cur.rowcount:
                    found.append(item)
        return found

    # -- outbox -----------------------------------------------------------------------------

    async def due_alerts(self, *, now: float, limit: int = 100) -> list[OutboxRow]:
        """Pending alerts whose next attempt is due, oldest first."""
        rows = await self._fetchall(
            f"SELECT o.id, o.channel, o.attempts, {_DELTA_COLUMNS} FROM outbox o "
            "JOIN deltas d ON d.id = o.delta_id "
            "WHERE o.state = 'pending' AND o.next_attempt_at <= ? ORDER BY o.id LIMIT ?",
            (now, limit),
        )
        return [OutboxRow(row[0], row[1], row[2], _delta(row[3:])) for row in rows]

    async def next_alert_due(self, *, alerts_only: bool = False) -> float | None:
        """When the next pending alert or ops notice is due, or None when none is pending.

        ``alerts_only`` leaves out digests (which wait for their hour) and ops notices.
        """
        digests = " AND digest IS NULL" if alerts_only else ""
        ops = (
            ""
            if alerts_only
            else " UNION ALL SELECT next_attempt_at FROM ops_events WHERE state = 'pending'"
        )
        rows = await self._fetchall(
            "SELECT min(next_attempt_at) FROM (SELECT next_attempt_at FROM outbox "
            f"WHERE state = 'pending'{digests}{ops})"
        )
        due = rows[0][0]
        return None if due is None else float(due)

    async def mark_sent(self, outbox_id: int, *, now: float) -> None:
        """The channel confirmed delivery."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ?",
                (now, outbox_id),
            )

    async def mark_retry(self, outbox_id: int, reason: str, *, retry_at: float) -> None:
        """Delivery failed for now; try again at ``retry_at``."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE id = ?",
                (reason, retry_at, outbox_id),
            )

    async def mark_failed(self, outbox_id: int, reason: str) -> None:
        """Delivery cannot succeed without a fix; park the alert with the reason."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                (reason, outbox_id),
            )

    # -- notices for ops ------------------------------------------------------------------------

    async def add_ops_event(self, kind: str, subject: str, message: str, *, now: float) -> int:
        """Queue a notice for ops; returns its id."""
        async with self._transaction() as db:
            cur = await db.execute(
                "INSERT INTO ops_events (kind, subject, message, created_at) VALUES (?, ?, ?, ?)",
                (kind, subject, message, now),
            )
            return int(cur.lastrowid or 0)

    async def ops_events(self, *, due_before: float | None = None) -> list[OpsEvent]:
        """Pending ops notices (only those due before ``due_before`` when given), oldest first."""
        sql = (
            "SELECT id, kind, subject, message, created_at, attempts FROM ops_events "
            "WHERE state = 'pending'"
        )
        params: list[Any] = []
        if due_before is not None:
            sql += " AND next_attempt_at <= ?"
            params.append(due_before)
        rows = await self._fetchall(sql + " ORDER BY id", params)
        return [
            OpsEvent(r[0], r[1], r[2], r[3], datetime.fromtimestamp(r[4], UTC), r[5]) for r in rows
        ]

    async def mark_ops_event(
        self,
        event_id: int,
        *,
        state: str,
        now: float,
        error: str | None = None,
        retry_at: float | None = None,
    ) -> None:
        """Record the outcome of sending an ops notice: 'sent', 'failed', or 'pending' again."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE ops_events SET state = ?, attempts = attempts + 1, last_error = ?, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, "
                "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (state, error, state, now, retry_at, event_id),
            )

    # -- health and counts ------------------------------------------------------------------------

    async def ping(self) -> None:
        """Prove the database answers and takes a write lock (raises if it cannot)."""
        async with self._transaction() as db:
            await db.execute("SELECT 1")

    async def set_meta(self, values: dict[str, str], *, now: float) -> None:
        """Record facts about the running daemon (rule-set version, when loaded)."""
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [(k, v, now) for k, v in values.items()],
            )

    async def meta(self) -> dict[str, str]:
        """The facts recorded by :meth:`set_meta`."""
        return {k: v for k, v in await self._fetchall("SELECT key, value FROM meta")}

    async def stats(self, *, failing_after: int, now: float | None = None) -> Stats:
        """Counts of feeds, items, deltas, findings and alerts, in one read transaction.

        A feed is failing after ``failing_after`` failed polls in a row (the config's
        ``polling.failures_before_alert``, as ``newsmon feeds`` counts), erring before that.
        """

        def counts(rows: Iterable[Sequence[Any]]) -> dict[str, int]:
            return {str(r[0]): int(r[1]) for r in rows}

        async with self._lock:
            db = self._conn
            feeds = await db.execute_fetchall(
                "SELECT coalesce(sum(consecutive_errors = 0), 0), "
                "coalesce(sum(consecutive_errors > 0 AND consecutive_errors < ?), 0), "
                "coalesce(sum(consecutive_errors >= ?), 0), max(last_polled_at) "
                "FROM feeds WHERE active = 1",
                (failing_after, failing_after),
            )
            items = await db.execute_fetchall(
                "SELECT CASE WHEN backfill THEN 'backlog' ELSE state END, count(*) FROM items "
                "GROUP BY 1"
            )
            deltas = await db.execute_fetchall("SELECT kind, count(*) FROM deltas GROUP BY kind")
            findings = await db.execute_fetchall("SELECT count(*) FROM findings")
            alerts = await db.execute_fetchall("SELECT state, count(*) FROM outbox GROUP BY state")
            # The oldest alert that should have gone: one still gathering (its group's window
            # open, its digest's hour not come) is waiting by design, not stuck. A row never
            # tried waits since it was due; one being retried, since it was recorded.
            oldest = await db.execute_fetchall(
                "SELECT min(CASE WHEN attempts = 0 THEN next_attempt_at ELSE created_at END) "
                "FROM outbox WHERE state = 'pending' AND (attempts > 0 OR next_attempt_at <= ?)",
                (time.time() if now is None else now,),
            )
            ops = await db.execute_fetchall(
                "SELECT count(*) FROM ops_events WHERE state = 'pending'"
            )
        ((ok, erring, failing, last_poll),) = feeds
        return Stats(
            feeds_ok=int(ok),
            feeds_erring=int(erring),
            feeds_failing=int(failing),
            last_poll_at=last_poll,
            items=counts(items),
            deltas=counts(deltas),
            findings=int(next(iter(findings))[0]),
            alerts=counts(alerts),
            oldest_pending_alert_at=next(iter(oldest))[0],
            ops_pending=int(next(iter(ops))[0]),
        )

    async def feeds_in_error(self, limit: int = 10) -> list[FeedRow]:
        """Active feeds whose last poll failed, most failures in a row first."""
        rows = await self._fetchall(
            "SELECT id, url, name, interval_s, etag, last_modified, body_hash, next_poll_at, "
            "consecutive_errors, last_error, last_success_at FROM feeds "
            "WHERE active = 1 AND consecutive_errors > 0 "
            "ORDER BY consecutive_errors DESC, id LIMIT ?",
            (limit,),
        )
        return [FeedRow(*row) for row in rows]

    async def latest_deltas(self, limit: int = 5) -> list[Delta]:
        """The most recently recorded deltas, newest first."""
        rows = await self._fetchall(
            f"SELECT {_DELTA_COLUMNS} FROM deltas d ORDER BY d.id DESC LIMIT ?", (limit,)
        )
        return [_delta(row) for row in rows]
