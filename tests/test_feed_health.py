"""Pipeline.refresh_feed against a real server on 127.0.0.1 and a real SQLite file: the
schedule, backoff, feed health, ops notices, backlog and tombstones."""

from __future__ import annotations

import gzip
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitor.pipeline import Pipeline
from monitor.pool import CpuPool
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.schedule import BACKOFF_MAX, PollPolicy
from monitor.store import FeedRow, Store
from tests.servers import LocalSite, stream_body

INTERVAL = 300.0


def rss(entries: list[tuple[str, datetime]], *, extra: str = "") -> str:
    """An RSS document of (guid, published) entries, written for these tests."""
    items = "".join(
        f"<item><title>Story {guid}</title><link>https://wire.example/{guid}?utm_source=rss"
        f"</link><guid>urn:wire:{guid}</guid><pubDate>{format_datetime(when)}</pubDate></item>"
        for guid, when in entries
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour wire</title>'
        f"<link>https://wire.example/</link><description>d</description>{extra}{items}"
        "</channel></rss>"
    )


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


class Farm:
    """One feed path whose answers the test scripts: a queue of (status, body, headers)."""

    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.body = rss([])
        self.headers: dict[str, str] = {}
        self.script: list[tuple[int, dict[str, str]]] = []
        site.route("/feed.xml", self.feed)

    async def feed(self, request: web.Request) -> web.Response:
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(status=status, text="scripted", headers=headers)
        return web.Response(
            text=self.body, content_type="application/rss+xml", headers=self.headers
        )


@pytest.fixture(scope="module")
def pool() -> Iterator[CpuPool]:
    cpu = CpuPool(workers=1)
    yield cpu
    cpu.close()


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    async with HttpClient(HttpLimits(total_timeout=5.0)) as client:
        yield client


@pytest.fixture
async def farm(site: LocalSite) -> Farm:
    made = Farm(site)
    await site.start()
    return made


def pipeline(
    store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, **policy: Any
) -> Pipeline:
    return Pipeline(store, rules, pool, http, lambda d: ["ops"], polling=PollPolicy(**policy))


async def only_feed(store: Store, url: str) -> FeedRow:
    """The one feed of the test, added on first use."""
    if not await store.feeds():
        await store.sync_feeds([(url, "", INTERVAL, None)])
    (feed,) = await store.feeds()
    return feed


def ops_events(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, subject FROM ops_events ORDER BY id").fetchall()


def items(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, state, backfill FROM items ORDER BY key").fetchall()


class TestFailuresAndRecovery:
    async def test_500_five_times_then_200(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """Five 500s back off 1, 2, 4, 8, 16 intervals, ops hear once; the 200 recovers it."""
        farm.script = [(500, {})] * 5
        farm.body = rss([("a1", ago(hours=1)), ("a2", ago(minutes=30))])
        refresh = pipeline(store, pool, rules, http).refresh_feed
        url = farm.site.url("/feed.xml")
        delays = []
        for _ in range(5):
            feed = await only_feed(store, url)
            await refresh(feed)
            (after,) = await store.feeds()
            assert after.last_polled_at is not None
            delays.append(round(after.next_poll_at - after.last_polled_at))
        (failing,) = await store.feeds()
        assert delays == [300, 600, 1200, 2400, 4800]
        assert (failing.consecutive_errors, failing.last_status) == (5, 500)
        assert failing.last_error == "HTTP 500 Internal Server Error"
        assert failing.last_success_at is None
        assert ops_events(store.path) == [("feed_failing", url)]

        assert await refresh(failing) == 2
        (healed,) = await store.feeds()
        assert (healed.consecutive_errors, healed.last_status, healed.last_error) == (0, 200, None)
        assert healed.last_success_at == healed.last_polled_at
        assert ops_events(store.path) == [("feed_failing", url), ("feed_recovered", url)]

    async def test_backoff_is_capped_at_six_hours(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """However many failures, the next attempt is at most six hours away, never dropped."""
        farm.script = [(503, {})]
        feed = replace(await only_feed(store, farm.site.url("/feed.xml")), consecutive_errors=40)
        await pipeline(store, pool, rules, http).refresh_feed(feed)
        (after,) = await store.feeds()
        assert after.last_polled_at is not None
        assert after.next_poll_at - after.last_polled_at == BACKOFF_MAX

    async def test_429_retry_after_is_honoured(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """A 429 with Retry-After: 7200 puts the next poll two hours away, not one interval."""
        farm.script = [(429, {"Retry-After": "7200"})]
        await pipeline(store, pool, rules, http).refresh_feed(
            await only_feed(store, farm.site.url("/feed.xml"))
        )
        (after,) = await store.feeds()
        assert after.last_polled_at is not None
        assert after.next_poll_at - after.last_polled_at == 7200
        assert after.last_status == 429

    async def test_no_alert_below_threshold(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """Fewer failures than failures_before_alert, then success: ops hear nothing."""
        farm.script = [(500, {})] * 2
        refresh = pipeline(store, pool, rules, http, failures_before_alert=3).refresh_feed
        for _ in range(3):
            await refresh(await only_feed(store, farm.site.url("/feed.xml")))
        (feed,) = await store.feeds()
        assert feed.consecutive_errors == 0
        assert ops_events(store.path) == []


class TestSchedule:
    @pytest.mark.parametrize(
        ("gap", "low", "high"),
        [
            (timedelta(minutes=10), 540, 660),  # its own cadence, with jitter
            (timedelta(seconds=20), 108, 132),  # clamped up to 2 minutes
            (timedelta(days=1), 6480, 7920),  # clamped down to 2 hours
        ],
    )
    async def test_interval_follows_entry_cadence(
        self,
        store: Store,
        pool: CpuPool,
        rules: RuleSet,
        http: HttpClient,
        farm: Farm,
        gap: timedelta,
        low: float,
        high: float,
    ) -> None:
        """The next poll follows the gap between entries, clamped to [2 min, 2 h] ±10%."""
        newest = ago(minutes=1)
        farm.body = rss([(f"g{i}", newest - i * gap) for i in range(6)])
        await pipeline(store, pool, rules, http).refresh_feed(
            await only_feed(store, farm.site.url("/feed.xml"))
        )
        (feed,) = await store.feeds()
        assert feed.last_polled_at is not None
        assert feed.cadence_s == pytest.approx(gap.total_seconds())
        assert low <= feed.next_poll_at - feed.last_polled_at <= high

    async def test_floor_wins_over_cadence(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """A configured min_interval is never undercut by a busy feed."""
        farm.body = rss([(f"g{i}", ago(minutes=1 + i)) for i in range(6)])
        await pipeline(store, pool, rules, http, min_interval=900.0).refresh_feed(
            await only_feed(store, farm.site.url("/feed.xml"))
        )
        (feed,) = await store.feeds()
        assert feed.last_polled_at is not None
        assert 810 <= feed.next_poll_at - feed.last_polled_at <= 990

    @pytest.mark.parametrize(
        ("headers", "extra", "at_least"),
        [
            ({"Cache-Control": "public, max-age=5400"}, "", 5400),
            ({"Expires": "in 3 hours"}, "", 3 * 3600 - 5),
            ({}, "<ttl>120</ttl>", 7200),
        ],
        ids=["max-age", "expires", "ttl"],
    )
    async def test_server_hints_delay_the_next_poll(
        self,
        store: Store,
        pool: CpuPool,
        rules: RuleSet,
        http: HttpClient,
        farm: Farm,
        headers: dict[str, str],
        extra: str,
        at_least: float,
    ) -> None:
        """Cache-Control max-age, Expires and the feed's <ttl> each put the next poll later."""
        farm.body = rss([("x", ago(hours=2))], extra=extra)
        if headers.get("Expires") == "in 3 hours":  # made now, not when tests were collected
            headers = {"Expires": format_datetime(ago(hours=-3), usegmt=True)}
        farm.headers = headers
        await pipeline(store, pool, rules, http).refresh_feed(
            await only_feed(store, farm.site.url("/feed.xml"))
        )
        (feed,) = await store.feeds()
        assert feed.last_polled_at is not None
        assert feed.next_poll_at - feed.last_polled_at >= at_least


class TestEntries:
    async def test_backlog_is_recorded_not_alerted(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """The first poll records the backlog as done; an entry after it is pending work."""
        refresh = pipeline(store, pool, rules, http).refresh_feed
        farm.body = rss([("old1", ago(days=2)), ("old2", ago(days=1))])
        await refresh(await only_feed(store, farm.site.url("/feed.xml")))
        farm.body = rss([("old1", ago(days=2)), ("old2", ago(days=1)), ("fresh", ago(minutes=10))])
        # As if the first poll had been an hour ago: the new entry came after it.
        feed = await only_feed(store, farm.site.url("/feed.xml"))
        await refresh(replace(feed, first_polled_at=time.time() - 3600))
        assert items(store.path) == [
            ("urn:wire:fresh", "pending", 0),
            ("urn:wire:old1", "done", 1),
            ("urn:wire:old2", "done", 1),
        ]
        assert await store.pending_count() == 1

    async def test_backfill_true_alerts_the_backlog(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """With backfill on, the first poll's entries are all work to do."""
        farm.body = rss([("old1", ago(days=2)), ("old2", ago(days=1))])
        await pipeline(store, pool, rules, http, backfill=True).refresh_feed(
            await only_feed(store, farm.site.url("/feed.xml"))
        )
        assert items(store.path) == [
            ("urn:wire:old1", "pending", 0),
            ("urn:wire:old2", "pending", 0),
        ]

    async def test_same_story_in_two_feeds_is_one_item(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, site: LocalSite
    ) -> None:
        """Two feeds linking one story (different tracking params, no GUID) give one item."""
        for name, tag in (("a", "rss"), ("b", "mail")):
            body = (
                '<rss version="2.0"><channel><title>t</title><item><title>Quay</title>'
                f"<link>https://wire.example/quay?id=4&amp;utm_medium={tag}</link></item>"
                "</channel></rss>"
            )
            site.route(f"/{name}.xml", lambda r, b=body: _xml(b))
        await site.start()
        urls = [site.url("/a.xml"), site.url("/b.xml")]
        await store.sync_feeds([(u, "", INTERVAL, None) for u in urls])
        refresh = pipeline(store, pool, rules, http, backfill=True).refresh_feed
        counts = [await refresh(feed) for feed in await store.feeds()]
        assert counts == [1, 0]
        assert items(store.path) == [("https://wire.example/quay?id=4", "pending", 0)]

    async def test_tombstones_keep_purged_items_out(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """A purged item still listed by its feed is not enqueued again."""
        farm.body = rss([("old1", ago(days=2))])
        refresh = pipeline(store, pool, rules, http).refresh_feed
        await refresh(await only_feed(store, farm.site.url("/feed.xml")))
        assert await store.purge_items(seen_before=time.time() + 1, now=time.time()) == 1
        farm.body = rss([("old1", ago(days=2)), ("new1", ago(minutes=10))])
        # As if the first poll had been an hour ago: the new entry came after it.
        feed = await only_feed(store, farm.site.url("/feed.xml"))
        await refresh(replace(feed, first_polled_at=time.time() - 3600))
        assert items(store.path) == [("urn:wire:new1", "pending", 0)]


class TestQuiet:
    async def test_quiet_feed_is_flagged_once(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """Silent for ten times its cadence (and at least 6 h): one feed_quiet notice."""
        farm.body = rss([("x1", ago(days=3, minutes=10)), ("x2", ago(days=3))])
        refresh = pipeline(store, pool, rules, http).refresh_feed
        await refresh(await only_feed(store, farm.site.url("/feed.xml")))
        feed = await only_feed(store, farm.site.url("/feed.xml"))
        assert feed.cadence_s == 600
        # The last new entry arrived three days ago, as far as the feed's row knows.
        await refresh(replace(feed, last_new_at=time.time() - 3 * 86400))
        assert ops_events(store.path) == [("feed_quiet", feed.url)]
        flagged = await only_feed(store, farm.site.url("/feed.xml"))
        assert flagged.quiet_since is not None
        await refresh(replace(flagged, last_new_at=time.time() - 3 * 86400))
        assert len(ops_events(store.path)) == 1

    async def test_busy_feed_is_not_quiet(
        self, store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
    ) -> None:
        """Under six hours of silence is never "quiet", however fast the cadence."""
        farm.body = rss([("x1", ago(minutes=20)), ("x2", ago(minutes=10))])
        refresh = pipeline(store, pool, rules, http).refresh_feed
        await refresh(await only_feed(store, farm.site.url("/feed.xml")))
        feed = await only_feed(store, farm.site.url("/feed.xml"))
        await refresh(replace(feed, last_new_at=time.time() - 5 * 3600))
        assert ops_events(store.path) == []


async def _xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/rss+xml")


async def _drip(request: web.Request) -> web.StreamResponse:
    return await stream_body(
        request, content_type="application/rss+xml", chunk=b" ", times=40, pause=0.1
    )


async def _endless(request: web.Request) -> web.StreamResponse:
    return await stream_body(
        request, content_type="application/rss+xml", chunk=b"<item>" * 1000, times=10_000
    )


async def _bomb(request: web.Request) -> web.Response:
    body = gzip.compress(bytes(8 * 2**20), 9)
    return web.Response(body=body, headers={"Content-Encoding": "gzip"})


async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/hostile.xml")


async def _reset(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    response.content_length = 100_000
    await response.prepare(request)
    await response.write(b"<rss>" * 100)
    assert request.transport is not None
    request.transport.abort()  # the connection dies mid-body
    return response


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Not a feed</body></html>", content_type="text/html")


async def _empty(request: web.Request) -> web.Response:
    return web.Response(body=b"", content_type="application/rss+xml")


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (_drip, "no complete response within 1s"),
        (_endless, "body larger than 100000 bytes"),
        (_bomb, "body larger than 100000 bytes"),
        (_loop, "more than 3 redirects"),
        (_reset, "connection lost"),
        (_html, "not an RSS, Atom, RDF or JSON feed"),
        (_empty, "the response body is empty"),
    ],
    ids=["drip", "endless", "gzip-bomb", "redirect-loop", "reset", "html", "empty"],
)
async def test_hostile_feed_is_recorded_with_its_reason(
    store: Store, pool: CpuPool, rules: RuleSet, site: LocalSite, handler: Any, reason: str
) -> None:
    """Each hostile server ends the poll within its bounds; the feed records why, and its
    next poll is scheduled (backoff), not dropped."""
    site.route("/hostile.xml", handler)
    await site.start()
    limits = HttpLimits(total_timeout=1.0, max_feed_bytes=100_000, max_redirects=3)
    async with HttpClient(limits) as http:
        feed = await only_feed(store, site.url("/hostile.xml"))
        assert await pipeline(store, pool, rules, http).refresh_feed(feed) == 0
    (after,) = await store.feeds()
    assert after.last_error is not None and reason in after.last_error
    assert after.consecutive_errors == 1
    assert after.last_polled_at is not None and after.next_poll_at > after.last_polled_at
    if handler in (_html, _empty):  # an answer, just not a feed: its status is kept
        assert after.last_status == 200


class CrashingParser(Pipeline):
    """A pipeline whose read stage has a bug (a fake at our own seam, the read call)."""

    async def _read(
        self, body: bytes, url: str, content_type: str | None, known: frozenset[str]
    ) -> Any:
        raise RuntimeError("parser bug")


async def test_a_bug_in_the_poll_path_is_recorded_and_backed_off(
    store: Store, pool: CpuPool, rules: RuleSet, http: HttpClient, farm: Farm
) -> None:
    """An unexpected exception is recorded on the feed like a failure, not raised."""
    farm.body = rss([("a1", ago(hours=1))])
    crashing = CrashingParser(store, rules, pool, http, lambda d: [], polling=PollPolicy())
    assert await crashing.refresh_feed(await only_feed(store, farm.site.url("/feed.xml"))) == 0
    (after,) = await store.feeds()
    assert after.last_error == "internal error: RuntimeError: parser bug"
    assert after.last_polled_at is not None
    assert after.next_poll_at - after.last_polled_at == INTERVAL
