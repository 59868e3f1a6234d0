"""The outbox as the sender sees it: alerts gathered into groups (one message each), digests,
silences, re-alert suppression, parked alerts and Slack threads.

``enqueue_alerts`` runs inside the transaction that records an article, so an alert row exists
if and only if its delta does. Every other function here is one short transaction of its own.
"""

from __future__ import annotations

__all__ = [
    "AlertGroup",
    "FailedAlert",
    "OutboxQueries",
    "delivery_of",
    "digest_due",
    "enqueue_alerts",
]

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from monitor.alerts.routing import Delivery
from monitor.alerts.silences import Silence, silencing
from monitor.model import Delta


def delivery_of(value: Delivery | str) -> Delivery:
    """A route's answer as a Delivery: a bare channel name means at once, no grouping."""
    return value if isinstance(value, Delivery) else Delivery(value)


@dataclass(frozen=True)
class AlertGroup:
    """Outbox rows sent as ONE message on one channel: an alert group or a digest."""

    id: int  # the group's first outbox row: the idempotency key is derived from it
    channel: str
    digest: str | None
    attempts: int
    created_at: float
    due_at: float
    row_ids: tuple[int, ...]
    deltas: tuple[Delta, ...]

    @property
    def key(self) -> str:
        """The idempotency key, stable across retries and restarts."""
        return f"newsmon-alert-{self.id}"


@dataclass(frozen=True)
class FailedAlert:
    """A group parked as failed, for ``newsmon alerts --failed``."""

    id: int
    channel: str
    attempts: int
    reason: str
    deltas: tuple[Delta, ...]


def digest_due(period: str, now: float) -> float:
    """When the digest that ``now`` falls in goes out: the next full hour, or midnight, UTC."""
    moment = datetime.fromtimestamp(now, UTC)
    if period == "daily":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return (start + timedelta(days=1)).timestamp()
    start = moment.replace(minute=0, second=0, microsecond=0)
    return (start + timedelta(hours=1)).timestamp()


async def _one(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cur:
        return await cur.fetchone()


async def _active_silences(db: aiosqlite.Connection, now: float) -> list[Silence]:
    async with db.execute(
        "SELECT id, actor, demand, kind, source, comment, created_at, ends_at FROM silences "
        "WHERE removed_at IS NULL AND ends_at > ? ORDER BY id",
        (now,),
    ) as cur:
        return [Silence(*row) for row in await cur.fetchall()]


async def enqueue_alerts(
    db: aiosqlite.Connection,
    deltas: Sequence[Delta],
    routes: Callable[[Delta], Sequence[Delivery | str]],
    *,
    now: float,
) -> None:
    """Write the outbox rows of one article's recorded deltas (each with its id).

    Silenced deltas, and those a channel already carried within their re-alert interval, are
    written to ``suppressed`` instead. The rest join a group: every row of this article on a
    channel is one message, and it joins a group of the same (actor, demand) that is still
    gathering (not due yet, never attempted); a digest row joins its channel's digest.
    """
    silences = await _active_silences(db, now)
    wanted: dict[tuple[str, str | None], list[tuple[Delta, Delivery]]] = {}
    for delta in deltas:
        assert delta.id is not None
        silence = silencing(delta, silences)
        for delivery in map(delivery_of, routes(delta)):
            if silence is not None:
                await db.execute(
                    "INSERT OR IGNORE INTO suppressed (delta_id, channel, reason, silence_id, "
                    "created_at) VALUES (?, ?, 'silenced', ?, ?)",
                    (delta.id, delivery.channel, silence.id, now),
                )
                continue
            if delivery.digest is None and delivery.realert > 0:
                recent = await _one(
                    db,
                    "SELECT 1 FROM outbox o JOIN deltas d ON d.id = o.delta_id "
                    "WHERE o.channel = ? AND o.digest IS NULL AND o.state != 'failed' "
                    "AND o.created_at > ? AND d.actor = ? AND d.demand = ? AND d.kind = ? "
                    "AND d.id != ? LIMIT 1",
                    (
                        delivery.channel,
                        now - delivery.realert,
                        delta.actor,
                        delta.demand,
                        delta.kind,
                        delta.id,
                    ),
                )
                if recent is not None:
                    await db.execute(
                        "INSERT OR IGNORE INTO suppressed (delta_id, channel, reason, "
                        "created_at) VALUES (?, ?, 'realert', ?)",
                        (delta.id, delivery.channel, now),
                    )
                    continue
            wanted.setdefault((delivery.channel, delivery.digest), []).append((delta, delivery))
    for (channel, digest), rows in wanted.items():
        group_id, due = await _open_group(db, channel, digest, rows, now)
        for delta, _ in rows:
            cur = await db.execute(
                "INSERT OR IGNORE INTO outbox (delta_id, channel, created_at, next_attempt_at, "
                "group_id, digest) VALUES (?, ?, ?, ?, ?, ?)",
                (delta.id, channel, now, due, group_id, digest),
            )
            if group_id is None and cur.lastrowid:
                group_id = cur.lastrowid
                await db.execute("UPDATE outbox SET group_id = id WHERE id = ?", (group_id,))


async def _open_group(
    db: aiosqlite.Connection,
    channel: str,
    digest: str | None,
    rows: Sequence[tuple[Delta, Delivery]],
    now: float,
) -> tuple[int | None, float]:
    """The group these rows join (None: a new one) and when it is due.

    Only a group that is still gathering may be joined: due later than now (so the sender has
    not taken it) and never attempted (so a retry sends exactly what the first try sent).
    """
    if digest is not None:
        due = digest_due(digest, now)
        row = await _one(
            db,
            "SELECT group_id FROM outbox WHERE channel = ? AND digest = ? AND state = 'pending' "
            "AND attempts = 0 AND next_attempt_at = ? LIMIT 1",
            (channel, digest, due),
        )
        return (int(row[0]) if row else None), due
    wait = max(delivery.group_wait for _, delivery in rows)
    if wait <= 0:
        return None, now
    pairs = sorted({(delta.actor, delta.demand) for delta, _ in rows})
    values = ", ".join("(?, ?)" for _ in pairs)
    row = await _one(
        db,
        "SELECT o.group_id, o.next_attempt_at FROM outbox o JOIN deltas d ON d.id = o.delta_id "
        "WHERE o.channel = ? AND o.digest IS NULL AND o.state = 'pending' AND o.attempts = 0 "
        f"AND o.next_attempt_at > ? AND (d.actor, d.demand) IN (VALUES {values}) "
        "ORDER BY o.group_id LIMIT 1",
        (channel, now, *(part for pair in pairs for part in pair)),
    )
    if row is not None:
        return int(row[0]), float(row[1])
    return None, now + wait


class OutboxQueries:
    """The Store's queries for the alert sender and the ``alerts``/``silence`` commands."""

    _conn: aiosqlite.Connection
    _lock: asyncio.Lock
    _transaction: Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]]
    _fetchall: Callable[..., Any]
    _delta_columns: str
    _delta_of: Callable[[Sequence[Any]], Delta]

    async def due_groups(
        self,
        *,
        now: float,
        flush: bool = False,
        limit: int = 100,
        skip: Sequence[str] = (),
    ) -> list[AlertGroup]:
        """Groups due now, oldest first, except on the channels in ``skip``. ``flush`` also
        takes alert groups that are still gathering (``run --once``); digests always wait for
        their time."""
        due = "(o.next_attempt_at <= ? OR (? AND o.attempts = 0 AND o.digest IS NULL))"
        if skip:
            due += f" AND o.channel NOT IN ({', '.join('?' for _ in skip)})"
        rows = await self._fetchall(
            "SELECT o.id, o.group_id, o.channel, o.digest, o.attempts, o.created_at, "
            f"o.next_attempt_at, {self._delta_columns} FROM outbox o "
            "JOIN deltas d ON d.id = o.delta_id "
            "WHERE o.state = 'pending' AND o.group_id IN (SELECT DISTINCT o.group_id "
            f"FROM outbox o WHERE o.state = 'pending' AND {due} ORDER BY o.group_id LIMIT ?) "
            "ORDER BY o.group_id, o.id",
            (now, int(flush), *skip, limit),
        )
        groups: dict[int, list[Any]] = {}
        for row in rows:
            groups.setdefault(int(row[1]), []).append(row)
        result = []
        for group_id, members in groups.items():
            first = members[0]
            result.append(
                AlertGroup(
                    id=group_id,
                    channel=first[2],
                    digest=first[3],
                    attempts=max(int(m[4]) for m in members),
                    created_at=float(first[5]),
                    due_at=float(first[6]),
                    row_ids=tuple(int(m[0]) for m in members),
                    deltas=tuple(self._delta_of(m[7:]) for m in members),
                )
            )
        return result

    async def _update_rows(self, sql: str, params: Sequence[Any], row_ids: Sequence[int]) -> None:
        # One statement is atomic on its own: no BEGIN/COMMIT round trips on the hot path.
        marks = ", ".join("?" for _ in row_ids)
        async with self._lock:
            await self._conn.execute(f"{sql} WHERE id IN ({marks})", (*params, *row_ids))

    async def mark_group_sent(self, row_ids: Sequence[int], *, now: float) -> None:
        """The channel confirmed the message that carried these rows."""
        await self._update_rows(
            "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL",
            (now,),
            row_ids,
        )

    async def mark_group_retry(
        self, row_ids: Sequence[int], reason: str, *, retry_at: float
    ) -> None:
        """The message failed for now; try again at ``retry_at``."""
        await self._update_rows(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?",
            (reason, retry_at),
            row_ids,
        )

    async def mark_group_failed(self, row_ids: Sequence[int], reason: str) -> None:
        """The message cannot succeed without a fix: park its rows as failed with the reason."""
        await self._update_rows(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?",
            (reason,),
            row_ids,
        )

    async def postpone_channel(self, channel: str, *, until: float, now: float) -> int:
        """Hold every due alert of ``channel`` until ``until`` (it asked for a pause, or is
        down), without counting an attempt; returns how many rows were held."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE channel = ? AND state = 'pending' "
                "AND next_attempt_at <= ?",
                (until, channel, now),
            )
            return int(cur.rowcount)

    async def failed_alerts(self) -> list[FailedAlert]:
        """Groups parked as failed, oldest first."""
        rows = await self._fetchall(
            f"SELECT o.group_id, o.channel, o.attempts, o.last_error, {self._delta_columns} "
            "FROM outbox o JOIN deltas d ON d.id = o.delta_id WHERE o.state = 'failed' "
            "ORDER BY o.group_id, o.id"
        )
        groups: dict[int, list[Any]] = {}
        for row in rows:
            groups.setdefault(int(row[0]), []).append(row)
        return [
            FailedAlert(
                id=group_id,
                channel=members[0][1],
                attempts=max(int(m[2]) for m in members),
                reason=members[0][3] or "",
                deltas=tuple(self._delta_of(m[4:]) for m in members),
            )
            for group_id, members in groups.items()
        ]

    async def retry_failed(self, group_id: int | None, *, now: float) -> int:
        """Queue parked alerts again (one group, or all when None) with the same key; returns
        how many rows were queued."""
        where, params = ("", ()) if group_id is None else (" AND group_id = ?", (group_id,))
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ? "
                f"WHERE state = 'failed'{where}",
                (now, *params),
            )
            return int(cur.rowcount)

    async def delta_counts(self, *, since: float, until: float) -> dict[str, int]:
        """How many deltas of each kind were recorded between ``since`` and ``until``."""
        rows = await self._fetchall(
            "SELECT kind, count(*) FROM deltas WHERE created_at >= ? AND created_at < ? "
            "GROUP BY kind",
            (since, until),
        )
        return {str(kind): int(n) for kind, n in rows}

    async def outbox_counts(self) -> list[tuple[str, str, int]]:
        """(channel, state, rows) for every channel and state in the outbox."""
        rows = await self._fetchall(
            "SELECT channel, state, count(*) FROM outbox GROUP BY channel, state "
            "ORDER BY channel, state"
        )
        return [(str(c), str(s), int(n)) for c, s, n in rows]

    async def suppressed_count(self, reason: str | None = None) -> int:
        """Deltas recorded but not sent on some channel (silenced, or within re-alert)."""
        sql, params = "SELECT count(*) FROM suppressed", tuple[str, ...]()
        if reason is not None:
            sql, params = sql + " WHERE reason = ?", (reason,)
        rows = await self._fetchall(sql, params)
        return int(rows[0][0])

    # -- silences ---------------------------------------------------------------------------

    async def add_silence(
        self,
        *,
        actor: str | None,
        demand: str | None,
        kind: str | None,
        source: str | None,
        ends_at: float,
        comment: str,
        now: float,
    ) -> int:
        """Mute matching deltas until ``ends_at``; returns the silence's id."""
        async with self._transaction() as db:
            cur = await db.execute(
                "INSERT INTO silences (actor, demand, kind, source, comment, created_at, ends_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (actor, demand, kind, source, comment, now, ends_at),
            )
            return int(cur.lastrowid or 0)

    async def silences(self, *, now: float) -> list[Silence]:
        """The silences in force, oldest first."""
        rows = await self._fetchall(
            "SELECT id, actor, demand, kind, source, comment, created_at, ends_at FROM silences "
            "WHERE removed_at IS NULL AND ends_at > ? ORDER BY id",
            (now,),
        )
        return [Silence(*row) for row in rows]

    async def remove_silence(self, silence_id: int, *, now: float) -> bool:
        """End a silence now; False when no silence in force has that id."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE silences SET removed_at = ? WHERE id = ? AND removed_at IS NULL "
                "AND ends_at > ?",
                (now, silence_id, now),
            )
            return cur.rowcount > 0

    # -- Slack threads ----------------------------------------------------------------------

    async def slack_thread(self, channel: str, actor: str, demand: str) -> str | None:
        """The ts of the first Slack message about (actor, demand) on ``channel``, if any."""
        rows = await self._fetchall(
            "SELECT ts FROM slack_threads WHERE channel = ? AND actor = ? AND demand = ?",
            (channel, actor, demand),
        )
        return str(rows[0][0]) if rows else None

    async def set_slack_thread(
        self, channel: str, actor: str, demand: str, ts: str, *, now: float
    ) -> None:
        """Remember the first message of (actor, demand) on ``channel``; the first one wins."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO slack_threads (channel, actor, demand, ts, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel, actor, demand, ts, now),
            )
