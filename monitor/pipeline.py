"""The two orchestrators, each reading top to bottom: refresh a feed, process an item.

They call the stages in order (fetch → parse, fetch → extract → match → diff → store) and
handle the project's own errors; stages never call each other. The daemon, ``--once`` and
``newsmon replay`` all go through here.
"""

from __future__ import annotations

__all__ = ["Pipeline", "ReadItem", "item_key"]

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from monitor.deltas import Judging
from monitor.errors import ExtractError, FetchError, NewsmonError
from monitor.extract import extract_text
from monitor.match import match
from monitor.metrics import Metrics
from monitor.model import Article, Delta, Finding
from monitor.pool import CpuPool
from monitor.rulebook import RuleSet
from monitor.sources.feeds import FeedState, ParsedFeed, parse_feed, poll_feed
from monitor.sources.http import HttpClient
from monitor.sources.pages import fetch_page
from monitor.store import FeedRow, ItemRow, NewItem, Store
from monitor.unknown import Unknown, unrecognized

log = structlog.get_logger("newsmon.pipeline")

MAX_ITEM_ATTEMPTS = 5
MAX_FEED_BACKOFF = 6 * 3600.0


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
    route: Callable[[Delta], list[str]]
    metrics: Metrics = field(default_factory=Metrics)
    judging: Judging = field(default_factory=Judging)

    def _names(self, delta: Delta) -> Delta:
        actor = self.rules.actors.get(delta.actor)
        demand = self.rules.demands.get(delta.demand)
        return replace(
            delta,
            actor_name=actor.name if actor else delta.actor,
            demand_title=demand.title if demand else delta.demand,
        )

    async def _parse(self, body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        return await self.pool.run(parse_feed, body, url, content_type)

    async def refresh_feed(self, feed: FeedRow) -> int:
        """Poll one feed and enqueue its new entries; returns how many items are new.

        Errors are recorded on the feed (its health) and push its next poll back exponentially;
        they never stop the feed from being polled again.
        """
        assert self.http is not None, "polling needs an HTTP client"
        bound = log.bind(feed=feed.url)
        now = time.time()
        state = FeedState(feed.url, feed.etag, feed.last_modified, feed.body_hash)
        try:
            result = await poll_feed(self.http, state, parse=self._parse)
        except NewsmonError as exc:  # FetchError, FeedError, a dead worker process
            delay = min(MAX_FEED_BACKOFF, feed.interval_s * 2**feed.consecutive_errors)
            if isinstance(exc, FetchError) and exc.retry_after:
                # Honour the server's pause, within the same cap as our own backoff.
                delay = min(MAX_FEED_BACKOFF, max(delay, exc.retry_after))
            status = exc.status if isinstance(exc, FetchError) else None
            reason = getattr(exc, "reason", None) or str(exc)
            errors = await self.store.record_poll_error(
                feed.id, now=now, next_poll_at=now + delay, status=status, error=reason
            )
            self.metrics.polls.labels(outcome="error").inc()
            if status is not None:
                self.metrics.http_responses.labels(status=str(status)).inc()
            bound.warning("feed.failed", reason=reason, errors=errors, retry_in_s=round(delay))
            return 0
        # Jitter spreads feeds that share a host and an interval over time.
        next_poll = now + feed.interval_s * random.uniform(0.9, 1.1)
        parsed = result.feed
        local = feed.url.startswith("file://")
        items = []
        if parsed is not None:
            source = _source_name(feed, parsed)
            items = [
                NewItem(e.key, e.url, e.title, e.published, source=source, trusted_local=local)
                for e in parsed.entries
            ]
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
        )
        self.metrics.polls.labels(outcome=result.status).inc()
        if result.http_status is not None:
            self.metrics.http_responses.labels(status=str(result.http_status)).inc()
        bound.info(
            "feed.polled",
            outcome=result.status,
            status=result.http_status,
            entries=len(items),
            new=new,
        )
        if parsed is not None and parsed.warning:
            bound.warning("feed.malformed", warning=parsed.warning)
        return new

    async def _article(self, item: ItemRow) -> Article:
        if item.content is not None and item.content_type == "text":
            text = item.content
        else:
            if item.content is not None:
                html: bytes | str = item.content
            else:
                if self.http is None:
                    raise FetchError(item.url, "no HTTP client to fetch the page with")
                html = await fetch_page(self.http, item.url, trusted_local=item.trusted_local)
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
            # The year lets the matcher tell a past year ("in 2021 Moscow insisted") from now.
            findings = match(article.text, self.rules, year=published.year)
            unknowns = unrecognized(article.text, self.rules, findings)
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
