"""The two orchestrators, each reading top to bottom: refresh a feed, process an item.

They call the stages in order (fetch → parse, fetch → extract → match → diff → store) and
handle the project's own errors; stages never call each other. The daemon, ``--once`` and
``newsmon replay`` all go through here.
"""

from __future__ import annotations

__all__ = ["Pipeline", "ReadItem", "item_key"]

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

from monitor.deltas import Judging
from monitor.errors import ExtractError, FeedError, FetchError, NewsmonError
from monitor.extract import extract_text
from monitor.match import findings_in
from monitor.metrics import Metrics
from monitor.model import Article, Delta, Finding
from monitor.pool import CpuPool
from monitor.rulebook import RuleSet
from monitor.sources.feeds import FeedRead, FeedState, ParsedFeed, PollResult, poll_feed, read_feed
from monitor.sources.http import HttpClient
from monitor.sources.pages import fetch_page_text
from monitor.sources.schedule import (
    PollPolicy,
    backoff_delay,
    entry_cadence,
    format_duration,
    next_poll_delay,
    poll_interval,
    quiet_threshold,
)
from monitor.store import FeedRow, ItemRow, NewItem, Store
from monitor.unknown import Unknown, unrecognized

log = structlog.get_logger("newsmon.pipeline")

MAX_ITEM_ATTEMPTS = 5
# Feeds up to this size are read in batches (one worker trip for several); a larger one takes
# long enough alone that it would hold up the small ones batched with it, and its trip's cost
# is small beside its own.
BATCH_MAX_BYTES = 256 * 1024


def item_key(url: str, title: str = "") -> str:
    """An item's identity when no GUID is known: its URL, else a hash of its title."""
    return url or "sha256:" + hashlib.sha256(title.encode()).hexdigest()


def _source_name(feed: FeedRow, parsed: ParsedFeed | None) -> str:
    if feed.name:
        return feed.name
    if parsed is not None and parsed.title:
        return parsed.title
    return urlsplit(feed.url).hostname or Path(urlsplit(feed.url).path).name


@dataclass(frozen=True)
class ReadItem:
    """An item read and matched, ready to be recorded, or the failure that stopped it."""

    article: Article | None
    published: datetime
    findings: list[Finding]
    unknowns: list[Unknown]
    failure: Exception | None = None


@dataclass
class Pipeline:
    """What the orchestrators need: the store, the rules in force, and the workers."""

    store: Store
    rules: RuleSet
    pool: CpuPool
    http: HttpClient | None
    # The channels a delta goes to: names, or Deliveries that also say how (digest, grouping).
    route: Callable[[Delta], Sequence[Any]]
    metrics: Metrics = field(default_factory=Metrics)
    polling: PollPolicy = field(default_factory=PollPolicy)
    judging: Judging = field(default_factory=Judging)

    def _names(self, delta: Delta) -> Delta:
        actor = self.rules.actors.get(delta.actor)
        demand = self.rules.demands.get(delta.demand)
        return replace(
            delta,
            actor_name=actor.name if actor else delta.actor,
            demand_title=demand.title if demand else delta.demand,
            severity=demand.severity if demand else "",
        )

    async def _read(
        self, body: bytes, url: str, content_type: str | None, known: frozenset[str]
    ) -> FeedRead:
        if len(body) > BATCH_MAX_BYTES:  # a trip of its own, not a batch waiting on it
            return await self.pool.run(read_feed, body, url, content_type, known)
        return await self.pool.run_batched(read_feed, body, url, content_type, known)

    async def refresh_feed(self, feed: FeedRow) -> int:
        """Poll one feed and enqueue its new entries; returns how many items are new.

        The next poll is scheduled from the feed's cadence and the server's hints. Errors are
        recorded on the feed (its health) and push its next poll back exponentially; they
        never stop the feed from being polled again. Ops hear when a feed keeps failing, when
        it recovers, and when it goes quiet.
        """
        assert self.http is not None, "polling needs an HTTP client"
        now = time.time()
        state = FeedState(feed.url, feed.etag, feed.last_modified, feed.body_hash, feed.entry_ids)
        try:
            result = await poll_feed(self.http, state, read=self._read)
        except NewsmonError as exc:  # FetchError, FeedError, a dead worker process
            await self._record_failure(feed, exc, now)
            return 0
        except Exception as exc:
            # A bug, not bad input: keep the traceback, and back off like any failure so that
            # one poisonous feed is neither retried every tick nor able to stop the others.
            log.exception("feed.crashed", feed=feed.url)
            await self._record_failure(feed, exc, now)
            return 0
        parsed = result.feed
        cadence, ttl, next_poll = self._schedule(feed, result, now)
        notices = []
        if feed.consecutive_errors >= self.polling.failures_before_alert:
            message = f"polled fine again after {feed.consecutive_errors} failures"
            notices.append(("feed_recovered", feed.url, message))
        items = self._items(feed, parsed)
        new = await self.store.record_poll(
            feed.id,
            now=now,
            next_poll_at=next_poll,
            status=result.http_status,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=result.body_hash,
            title=parsed.title if parsed else None,
            warning=parsed.warning if parsed else None,
            items=items,
            cadence_s=cadence,
            ttl_s=ttl,
            entry_ids=result.entry_ids,
            notices=notices,
        )
        self.metrics.polls.labels(outcome=result.status).inc()
        if result.http_status is not None:
            self.metrics.http_responses.labels(status=str(result.http_status)).inc()
        # A poll that brought nothing is the common case: at debug, or thousands of feeds
        # would fill the log (and cost a tenth of the poll path) with "nothing new".
        report = log.info if parsed is not None else log.debug
        report(
            "feed.polled",
            feed=feed.url,
            outcome=result.status,
            status=result.http_status,
            entries=len(items),
            new=new,
            next_in_s=round(next_poll - now),
        )
        if parsed is not None and parsed.warning:
            log.warning("feed.malformed", feed=feed.url, warning=parsed.warning)
        if new == 0:
            await self._flag_if_quiet(feed, cadence, now)
        return new

    def _schedule(
        self, feed: FeedRow, result: PollResult, now: float
    ) -> tuple[float | None, float | None, float]:
        """The feed's cadence, its ttl (0: none) and when to poll it next."""
        parsed = result.feed
        # The pre-pass dates every entry, even those it spared the parser.
        dates = result.entry_dates or ([e.published for e in parsed.entries] if parsed else [])
        cadence = entry_cadence(dates, now=datetime.fromtimestamp(now, UTC)) or feed.cadence_s
        ttl = (parsed.ttl or 0.0) if parsed is not None else feed.ttl_s
        hints = [h for h in (ttl, result.fresh_for) if h]
        interval = poll_interval(feed.interval_s, cadence, self.polling)
        return cadence, ttl, now + next_poll_delay(interval, not_before=max(hints, default=None))

    def _items(self, feed: FeedRow, parsed: ParsedFeed | None) -> list[NewItem]:
        """The entries as items; a new feed's backlog is marked to be recorded, not alerted."""
        if parsed is None:
            return []
        source = _source_name(feed, parsed)
        local = feed.url.startswith("file://")
        first = feed.first_polled_at

        def backlog(published: datetime | None) -> bool:
            if self.polling.backfill:
                return False
            if first is None:  # the first poll: everything already in the feed is history
                return True
            return published is not None and published.timestamp() < first

        return [
            NewItem(
                e.key,
                e.url,
                e.title,
                e.published,
                source=source,
                trusted_local=local,
                backfill=backlog(e.published),
            )
            for e in parsed.entries
        ]

    async def _record_failure(self, feed: FeedRow, exc: Exception, now: float) -> None:
        errors = feed.consecutive_errors + 1
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        interval = poll_interval(feed.interval_s, feed.cadence_s, self.polling)
        delay = backoff_delay(interval, errors, retry_after=retry_after)
        status = exc.status if isinstance(exc, FetchError | FeedError) else None
        reason = getattr(exc, "reason", None) or str(exc)
        if not isinstance(exc, NewsmonError):
            reason = f"internal error: {type(exc).__name__}: {exc}"
        notices = []
        if errors == self.polling.failures_before_alert:
            notices.append(
                (
                    "feed_failing",
                    feed.url,
                    f"{errors} polls in a row failed, the last with: {reason}; "
                    f"retrying with backoff, next in {format_duration(delay)}",
                )
            )
        await self.store.record_poll_error(
            feed.id, now=now, next_poll_at=now + delay, status=status, error=reason, notices=notices
        )
        self.metrics.polls.labels(outcome="error").inc()
        if status is not None:
            self.metrics.http_responses.labels(status=str(status)).inc()
        log.warning(
            "feed.failed", feed=feed.url, reason=reason, errors=errors, retry_in_s=round(delay)
        )

    async def _flag_if_quiet(self, feed: FeedRow, cadence: float | None, now: float) -> None:
        threshold = quiet_threshold(cadence, self.polling)
        since = feed.last_new_at
        if threshold is None or since is None or cadence is None or feed.quiet_since is not None:
            return
        if now - since <= threshold:
            return
        message = (
            f"no new entry for {format_duration(now - since)}; "
            f"it usually brings one every {format_duration(cadence)}"
        )
        if await self.store.mark_quiet(feed.id, now=now, notice=("feed_quiet", feed.url, message)):
            log.warning("feed.quiet", feed=feed.url, silent_s=round(now - since))

    async def _article(self, item: ItemRow) -> Article:
        if item.content is not None and item.content_type == "text":
            text = item.content
        else:
            if item.content is not None:
                html: bytes | str = item.content
            else:
                if self.http is None:
                    raise FetchError(item.url, "no HTTP client to fetch the page with")
                html = await fetch_page_text(self.http, item.url, trusted_local=item.trusted_local)
            with self.metrics.extraction_seconds.time():
                text = await self.pool.run(extract_text, html, item.url)
        return Article(item.url, item.title, text, item.published, item.source)

    async def _fail(self, item: ItemRow, reason: str, *, permanent: bool) -> None:
        attempts = item.attempts + 1
        retry_at = None
        if not permanent and attempts < MAX_ITEM_ATTEMPTS:
            retry_at = time.time() + min(3600.0, 30.0 * 2 ** (attempts - 1))
        await self.store.fail_item(item.id, reason, retry_at=retry_at)
        log.warning(
            "item.failed",
            item=item.id,
            url=item.url,
            reason=reason,
            attempts=attempts,
            retry=retry_at is not None,
        )

    async def process_item(self, item: ItemRow) -> list[Delta]:
        """Fetch, extract, match and record one claimed item; returns the deltas it made.

        A failure is recorded on the item: retried with backoff when it may pass, marked failed
        with its reason when it cannot (or after the last attempt).
        """
        return await self.record_item(item, await self.read_item(item))

    async def read_item(self, item: ItemRow) -> ReadItem:
        """Fetch, extract and match one claimed item, touching no database: a replay reads the
        next item while this one is recorded. A failure is kept for :meth:`record_item`."""
        published = item.published or item.seen_at
        try:
            article = await self._article(item)
            # The date lets the matcher tell a past year ("in 2021 Moscow insisted") from now,
            # and an official in office from one who has left it.
            scan = self.rules.matcher.scan(article.text, published.date())
            findings = findings_in(scan, self.rules, year=published.year, voice=item.voice)
            unknowns = unrecognized(scan, findings)
        except Exception as exc:  # recorded on the item by record_item, in order
            return ReadItem(None, published, [], [], exc)
        return ReadItem(article, published, findings, unknowns)

    async def record_item(self, item: ItemRow, read: ReadItem) -> list[Delta]:
        """Record what :meth:`read_item` found (or its failure); returns the deltas made."""
        bound = log.bind(item=item.id, url=item.url)
        try:
            if read.failure is not None:
                raise read.failure
            assert read.article is not None
            deltas = await self.store.record_article(
                item.id,
                read.article,
                read.findings,
                published=read.published,
                routes=self.route,
                names=self._names,
                now=time.time(),
                judging=self.judging,
                unknowns=read.unknowns,
            )
        except NewsmonError as exc:
            permanent = isinstance(exc, ExtractError) or getattr(exc, "permanent", False)
            await self._fail(item, getattr(exc, "reason", None) or str(exc), permanent=permanent)
            return []
        except Exception as exc:
            # A bug, not bad input: keep the traceback, and retry a bounded number of times
            # so that one poisonous item cannot stop the queue or crash-loop the daemon.
            bound.exception("item.crashed")
            await self._fail(item, f"internal error: {type(exc).__name__}: {exc}", permanent=False)
            return []
        bound.info("item.processed", findings=len(read.findings), deltas=len(deltas))
        return deltas
