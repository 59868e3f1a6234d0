"""The SQLite store on a real file: queues, one transaction per article, the outbox."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.model import Article, Delta, Finding
from monitor.store import NewItem, Store

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state" / "newsmon.db")
    yield opened
    await opened.close()


def item(n: int, published: datetime | None) -> NewItem:
    return NewItem(
        f"key-{n}",
        f"https://news.example/{n}",
        f"Story {n}",
        published,
        source="Example",
        content="text",
        content_type="text",
    )


def finding(demand: str = "ceasefire") -> Finding:
    return Finding("russia", demand, "demands", "Russia demands it.", 0, 18)


def named(delta: Delta) -> Delta:
    return delta


async def record(
    store: Store,
    item_id: int,
    findings: list[Finding],
    *,
    published: datetime,
    channels: tuple[str, ...] = ("terminal",),
) -> list[Delta]:
    # Each item its own words: the same text twice would be one story syndicated.
    text = f"Story {item_id} reports that Russia demands it."
    article = Article(f"https://news.example/{item_id}", "X", text, published, "Example")
    return await store.record_article(
        item_id,
        article,
        findings,
        published=published,
        routes=lambda d: list(channels),
        names=named,
        now=published.timestamp(),
    )


class TestItems:
    async def test_items_are_claimed_in_publication_order(self, store: Store) -> None:
        """The queue hands out the earliest-published item first, undated ones last."""
        await store.add_items([item(1, T0 + timedelta(hours=2)), item(2, None), item(3, T0)], now=0)
        order = []
        while (claimed := await store.claim_item(now=1)) is not None:
            order.append(claimed.key)
        assert order == ["key-3", "key-1", "key-2"]

    async def test_batch_claim_keeps_the_order(self, store: Store) -> None:
        """claim_items hands out the same order as claim_item, ties by key, and claims them."""
        items = [item(n, T0 + timedelta(hours=n % 2)) for n in (5, 2, 4, 1, 3)] + [item(9, None)]
        await store.add_items(items, now=0)
        batch = await store.claim_items(now=1, limit=4)
        assert [c.key for c in batch] == ["key-2", "key-4", "key-1", "key-3"]
        rest = await store.claim_items(now=1, limit=10)
        assert [c.key for c in rest] == ["key-5", "key-9"]
        assert await store.claim_item(now=1) is None

    async def test_same_key_is_enqueued_once(self, store: Store) -> None:
        """An entry seen again (or in another feed) is not a new item."""
        assert await store.add_items([item(1, T0)], now=0) == 1
        assert await store.add_items([item(1, T0), item(2, T0)], now=0) == 1

    async def test_claims_of_a_dead_process_return_to_the_queue(self, tmp_path: Path) -> None:
        """An item claimed when the process died is pending again after a restart."""
        path = tmp_path / "n.db"
        first = await Store.open(path)
        await first.add_items([item(1, T0)], now=0)
        assert await first.claim_item(now=1) is not None
        await first.close()  # as good as a crash: the claim is all that was committed
        second = await Store.open(path)
        try:
            assert await second.claim_item(now=1) is None
            assert await second.release_claims() == 1
            claimed = await second.claim_item(now=1)
            assert claimed is not None and claimed.key == "key-1"
        finally:
            await second.close()

    async def test_failed_item_waits_for_its_retry(self, store: Store) -> None:
        """A failure with a retry time keeps the item out of the queue until then."""
        await store.add_items([item(1, T0)], now=0)
        claimed = await store.claim_item(now=1)
        assert claimed is not None
        await store.fail_item(claimed.id, "timed out", retry_at=100)
        assert await store.claim_item(now=50) is None
        again = await store.claim_item(now=100)
        assert again is not None and again.attempts == 1


class TestRecordArticle:
    async def test_everything_in_one_transaction(self, store: Store) -> None:
        """Findings, delta, position and outbox row are written together; the item is done."""
        await store.add_items([item(1, T0)], now=0)
        claimed = await store.claim_item(now=1)
        assert claimed is not None
        (delta,) = await record(
            store, claimed.id, [finding()], published=T0, channels=("terminal", "slack")
        )
        assert delta.kind == "new_condition" and delta.id is not None
        due = await store.due_alerts(now=T0.timestamp() + 1)
        assert [(a.channel, a.delta.id) for a in due] == [
            ("terminal", delta.id),
            ("slack", delta.id),
        ]
        with sqlite3.connect(store.path) as db:
            assert db.execute("SELECT state FROM items").fetchall() == [("done",)]
            assert db.execute("SELECT count(*) FROM findings").fetchone() == (1,)
            assert db.execute("SELECT articles, last_stance FROM positions").fetchall() == [
                (1, "demands")
            ]

    async def test_failure_midway_leaves_nothing(self, store: Store) -> None:
        """If routing fails half-way, nothing is kept and the item is not done."""
        await store.add_items([item(1, T0)], now=0)
        claimed = await store.claim_item(now=1)
        assert claimed is not None

        def broken_routes(delta: Delta) -> list[str]:
            raise RuntimeError("routing blew up")

        article = Article("https://news.example/x", "X", "text", T0, "Example")
        with pytest.raises(RuntimeError):
            await store.record_article(
                claimed.id,
                article,
                [finding()],
                published=T0,
                routes=broken_routes,
                names=named,
                now=0,
            )
        with sqlite3.connect(store.path) as db:
            for table in ("findings", "deltas", "positions", "outbox"):
                assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
            assert db.execute("SELECT state FROM items").fetchall() == [("claimed",)]

    async def test_second_article_repeats(self, store: Store) -> None:
        """The same pair in a later article is a repeat, and the position counts both."""
        await store.add_items([item(1, T0), item(2, T0 + timedelta(days=1))], now=0)
        kinds = []
        for _ in range(2):
            claimed = await store.claim_item(now=1)
            assert claimed is not None and claimed.published is not None
            (delta,) = await record(store, claimed.id, [finding()], published=claimed.published)
            kinds.append(delta.kind)
        assert kinds == ["new_condition", "demand_repeated"]
        events = await store.events()
        assert [e.kind for e in events] == kinds
        assert events[1].articles == 2


class TestOutbox:
    async def test_retry_then_sent(self, store: Store) -> None:
        """A retried alert is due again at its retry time and leaves the queue once sent."""
        await store.add_items([item(1, T0)], now=0)
        claimed = await store.claim_item(now=1)
        assert claimed is not None
        await record(store, claimed.id, [finding()], published=T0)
        (alert,) = await store.due_alerts(now=T0.timestamp())
        await store.mark_retry(alert.id, "HTTP 500", retry_at=T0.timestamp() + 60)
        assert await store.due_alerts(now=T0.timestamp() + 30) == []
        assert await store.next_alert_due() == T0.timestamp() + 60
        (again,) = await store.due_alerts(now=T0.timestamp() + 60)
        assert again.attempts == 1
        await store.mark_sent(again.id, now=T0.timestamp() + 61)
        assert await store.next_alert_due() is None

    async def test_failed_alert_is_parked_with_reason(self, store: Store) -> None:
        """A permanent failure leaves the queue but keeps its reason."""
        await store.add_items([item(1, T0)], now=0)
        claimed = await store.claim_item(now=1)
        assert claimed is not None
        await record(store, claimed.id, [finding()], published=T0)
        (alert,) = await store.due_alerts(now=T0.timestamp())
        await store.mark_failed(alert.id, "HTTP 404: no_service")
        assert await store.due_alerts(now=T0.timestamp() + 10**6) == []
        with sqlite3.connect(store.path) as db:
            assert db.execute("SELECT state, last_error FROM outbox").fetchall() == [
                ("failed", "HTTP 404: no_service")
            ]


class TestOpsEvents:
    async def test_queued_until_sent(self, store: Store) -> None:
        """An ops notice waits in the queue, is retried when asked, and leaves once sent."""
        event_id = await store.add_ops_event(
            "feed_failing", "https://news.example/feed", "failing 5 times", now=10
        )
        (event,) = await store.ops_events(due_before=10)
        assert (event.id, event.kind, event.attempts) == (event_id, "feed_failing", 0)
        await store.mark_ops_event(event_id, state="pending", now=11, error="down", retry_at=50)
        assert await store.ops_events(due_before=20) == []
        await store.mark_ops_event(event_id, state="sent", now=51)
        assert await store.ops_events() == []


class TestRecordPoll:
    """Concurrent polls share one transaction; each still gets its own outcome."""

    async def poll(
        self, store: Store, feed_id: int, keys: list[str], *, title: str | None = "Feed"
    ) -> int:
        items = [NewItem(k, f"https://news.example/{k}", f"Story {k}", T0) for k in keys]
        return await store.record_poll(
            feed_id,
            now=T0.timestamp(),
            next_poll_at=T0.timestamp() + 300,
            status=200 if title is not None else 304,
            etag=f'"{feed_id}"',
            last_modified=None,
            body_hash=None,
            title=title,
            warning=None,
            items=items,
            entry_ids=" ".join(keys) or None,
        )

    async def feeds(self, store: Store, count: int) -> list[int]:
        await store.sync_feeds(
            (f"https://feeds.example/{n}", "", 300.0, None) for n in range(count)
        )
        return [feed.id for feed in await store.feeds()]

    async def test_each_poll_counts_its_own_new_items(self, store: Store) -> None:
        """Polls committed together: new items per feed, a key two feeds share counted once,
        a tombstoned key not enqueued, and every feed's validators stored."""
        a, b, c, d = await self.feeds(store, 4)
        await self.poll(store, d, ["gone"])
        await store.fail_item(1, "given up", retry_at=None)
        assert await store.purge_items(seen_before=T0.timestamp() + 1, now=0) == 1
        new = await asyncio.gather(
            self.poll(store, a, ["a1", "a2", "shared"]),
            self.poll(store, b, ["shared", "b1"]),
            self.poll(store, c, [], title=None),
            self.poll(store, d, ["gone", "d1"]),
        )
        assert new == [3, 1, 0, 1]
        stored = {f.id: f for f in await store.feeds()}
        assert [stored[f].etag for f in (a, b, c, d)] == [f'"{f}"' for f in (a, b, c, d)]
        assert stored[a].entry_ids == "a1 a2 shared" and stored[c].last_status == 304
        assert await store.item_counts() == {"pending": 5}

    async def test_one_bad_poll_fails_alone(self, store: Store) -> None:
        """A value SQLite cannot store (a lone surrogate) fails its own poll, not the batch."""
        good, bad = await self.feeds(store, 2)
        outcomes = await asyncio.gather(
            self.poll(store, good, ["fine"]),
            self.poll(store, bad, ["broken\ud800"]),
            return_exceptions=True,
        )
        assert outcomes[0] == 1
        assert isinstance(outcomes[1], UnicodeEncodeError)
        stored = {f.id: f for f in await store.feeds()}
        assert stored[good].etag == f'"{good}"' and stored[bad].etag is None
        assert await store.item_counts() == {"pending": 1}

    async def test_a_cancelled_poll_does_not_cancel_the_others(self, store: Store) -> None:
        """Polls share one commit; a poll cancelled while waiting for it (shutdown, a
        timeout) leaves the others to be stored and answered."""
        a, b = await self.feeds(store, 2)
        first = asyncio.ensure_future(self.poll(store, a, ["a1"]))
        second = asyncio.ensure_future(self.poll(store, b, ["b1", "b2"]))
        await asyncio.sleep(0)  # both have joined the batch
        first.cancel()
        assert await second == 2
        assert first.cancelled()
        assert {f.id: f.entry_ids for f in await store.feeds()}[b] == "b1 b2"

    async def test_a_commit_cancelled_before_it_began_leaves_no_batch_behind(
        self, store: Store
    ) -> None:
        """Polls joining a batch whose commit was cancelled before it took the lock would
        wait forever; the next poll starts a batch of its own."""
        a, b = await self.feeds(store, 2)
        async with store._lock:  # the commit cannot begin
            first = asyncio.ensure_future(self.poll(store, a, ["a1"]))
            await asyncio.sleep(0)
            batch = store._polls
            assert batch is not None and batch.task is not None
            batch.task.cancel()
            await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(self.poll(store, b, ["b1"]), 10) == 1

    async def test_the_same_feed_twice_is_recorded_in_turn(self, store: Store) -> None:
        """Two polls of one feed never share a batch: both are stored, the later one last."""
        (feed,) = await self.feeds(store, 1)
        new = await asyncio.gather(
            self.poll(store, feed, ["x"]), self.poll(store, feed, ["x", "y"])
        )
        assert new == [1, 1]
        (stored,) = await store.feeds()
        assert stored.entry_ids == "x y"
