"""The daemon: wires the pipeline to the scheduler, the workers, the sender and the signals.

The database holds the schedule and the queues; APScheduler only ticks, the in-memory events
only wake workers up. SIGTERM or SIGINT sets the stop event: nothing new is claimed, items in
flight get ``stop_timeout`` seconds to finish and are then returned to the queue.
"""

from __future__ import annotations

__all__ = ["Service", "run_daemon"]

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.alerts.channels import Channel
from monitor.alerts.outbox import deliver_due
from monitor.alerts.routing import Router, build_channels
from monitor.config import Config
from monitor.pipeline import Pipeline
from monitor.pool import CpuPool
from monitor.rulebook import bundled_rules_dir, load_rules
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.schedule import PollPolicy
from monitor.store import Store

log = structlog.get_logger("newsmon.service")

# How long `--once` keeps retrying alerts that failed for a passing reason.
ONCE_DELIVERY_BOUND = 30.0


def feed_url(location: str) -> str:
    """The URL stored for a feed: http(s) as given, a local path as a file:// URL."""
    if location.startswith(("http://", "https://", "file://")):
        return location
    return Path(location).resolve().as_uri()


def http_limits(config: Config) -> HttpLimits:
    """The HTTP bounds the config asks for."""
    h = config.http
    return HttpLimits(
        connect_timeout=h.connect_timeout,
        total_timeout=h.total_timeout,
        max_feed_bytes=h.max_feed_bytes,
        max_page_bytes=h.max_page_bytes,
        max_redirects=h.max_redirects,
        per_host=h.per_host,
        total=h.total,
    )


def poll_policy(config: Config) -> PollPolicy:
    """The schedule and feed-health settings the config asks for."""
    p = config.polling
    return PollPolicy(
        min_interval=p.min_interval,
        adaptive=p.adaptive,
        failures_before_alert=p.failures_before_alert,
        quiet_factor=p.quiet_factor,
        backfill=p.backfill,
    )


@contextlib.asynccontextmanager
async def _survive(loop_name: str) -> AsyncIterator[None]:
    """Keep a daemon loop alive through an unexpected error (a bug, a locked database):
    log it with its traceback and pause briefly, rather than take the whole daemon down."""
    try:
        yield
    except Exception:
        log.exception("daemon.loop_error", loop=loop_name)
        await asyncio.sleep(1.0)


class Service:
    """One running newsmon: the pipeline, its workers and its sender."""

    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        channels: dict[str, Channel],
        *,
        stop: asyncio.Event,
        stop_timeout: float = 8.0,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.channels = channels
        self.stop = stop
        self.stop_timeout = stop_timeout
        self._items_ready = asyncio.Event()
        self._alerts_ready = asyncio.Event()
        self._poll_tick = asyncio.Event()

    # -- polling ------------------------------------------------------------------------------

    async def poll(self, *, all_feeds: bool = False) -> int:
        """Poll every feed that is due (or every feed); returns how many items are new."""
        store = self.pipeline.store
        feeds = await store.feeds(due_before=None if all_feeds else time.time())
        results = await asyncio.gather(
            *(self.pipeline.refresh_feed(f) for f in feeds if not self.stop.is_set())
        )
        new = sum(results)
        if new:
            self._items_ready.set()
        return new

    async def _poller(self) -> None:
        while not self.stop.is_set():
            await self._poll_tick.wait()
            self._poll_tick.clear()
            if not self.stop.is_set():
                async with _survive("poll"):
                    await self.poll()

    # -- items --------------------------------------------------------------------------------

    async def _process_claimed(self) -> bool:
        """Claim and process one item; returns False when none was due."""
        store = self.pipeline.store
        item = await store.claim_item(now=time.time())
        if item is None:
            return False
        try:
            deltas = await self.pipeline.process_item(item)
        except asyncio.CancelledError:
            # Stopped past the bound: the item goes back to the queue untouched (its
            # transaction, if it had begun, was rolled back).
            await asyncio.shield(store.release_item(item.id))
            raise
        if deltas:
            self._alerts_ready.set()
        return True

    async def _worker(self) -> None:
        store = self.pipeline.store
        while not self.stop.is_set():
            async with _survive("worker"):
                if await self._process_claimed():
                    continue
            due = await store.next_item_due()
            timeout = 5.0 if due is None else max(0.05, min(5.0, due - time.time()))
            self._items_ready.clear()
            if self.stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._items_ready.wait(), timeout)

    async def drain_items(self) -> None:
        """Process every item that is due now, with the configured number of workers."""

        async def worker() -> None:
            while not self.stop.is_set() and await self._process_claimed():
                pass

        await asyncio.gather(*(worker() for _ in range(self.config.workers)))

    # -- alerts -------------------------------------------------------------------------------

    async def _sender(self) -> None:
        store = self.pipeline.store
        while not self.stop.is_set():
            async with _survive("sender"):
                await deliver_due(store, self.channels)
            due = await store.next_alert_due()
            timeout = 5.0 if due is None else max(0.05, min(5.0, due - time.time()))
            self._alerts_ready.clear()
            if self.stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._alerts_ready.wait(), timeout)

    async def drain_alerts(self, *, bound: float = ONCE_DELIVERY_BOUND) -> None:
        """Send what is due, retrying passing failures for at most ``bound`` seconds."""
        store = self.pipeline.store
        deadline = time.monotonic() + bound
        await deliver_due(store, self.channels, base_backoff=1.0)
        while not self.stop.is_set():
            due = await store.next_alert_due()
            if due is None:
                return
            wait = max(0.0, due - time.time())
            if time.monotonic() + wait > deadline:
                log.warning("alerts.left_pending", reason="still failing; sent on the next run")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)
            await deliver_due(store, self.channels, base_backoff=1.0)

    # -- the two ways to run ---------------------------------------------------------------------

    async def _until_stopped(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work``; once the stop event is set, give it ``stop_timeout`` seconds to wind
        down (loops claim nothing new), then cancel what is left."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                # Wake the loops that sleep so that they see the stop at once.
                for event in (self._items_ready, self._alerts_ready, self._poll_tick):
                    event.set()
                await asyncio.wait({task}, timeout=self.stop_timeout)
                if not task.done():
                    log.warning("daemon.stop_timeout", bound_s=self.stop_timeout)
                    task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        finally:
            stopping.cancel()

    async def run_once(self) -> None:
        """Poll every feed once, process what came in, send the alerts, return."""

        async def once() -> None:
            new = await self.poll(all_feeds=True)
            await self.drain_items()
            await self.drain_alerts()
            log.info(
                "run.once_done", new_items=new, items_left=await self.pipeline.store.pending_count()
            )

        await self._until_stopped(once())

    async def run_forever(self) -> None:
        """Run until the stop event is set."""
        tick = max(1.0, min(30.0, self.config.poll_interval / 4))
        scheduler = AsyncIOScheduler()
        # The schedule itself lives in the database (each feed's next_poll_at): the scheduler
        # only ticks, and the poller loop polls the feeds that are due.
        scheduler.add_job(
            self._poll_tick.set,
            "interval",
            seconds=tick,
            next_run_time=datetime.now(UTC),
            id="tick",
        )
        scheduler.start()
        log.info(
            "daemon.started",
            feeds=len(await self.pipeline.store.feeds()),
            workers=self.config.workers,
            tick_s=tick,
        )

        async def loops() -> None:
            await asyncio.gather(
                self._poller(),
                self._sender(),
                *(self._worker() for _ in range(self.config.workers)),
            )

        try:
            await self._until_stopped(loops())
        finally:
            scheduler.shutdown(wait=False)
            log.info("daemon.stopped")


async def run_daemon(config: Config, *, once: bool, stop: asyncio.Event | None = None) -> int:
    """Open what the daemon needs, run it, close it all in order; returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with AsyncExitStack() as stack:
            rule_dirs = [Path(r) for r in config.rules] or [bundled_rules_dir()]
            rules = load_rules(rule_dirs)
            channels = build_channels(config)
            for channel in channels.values():
                stack.push_async_callback(channel.aclose)
            store = await Store.open(config.database_path())
            stack.push_async_callback(store.close)
            pool = CpuPool()
            stack.callback(pool.close)
            http = await stack.enter_async_context(
                HttpClient(http_limits(config), allow_networks=config.http.allow_networks)
            )
            # Feeds imported from OPML replace the default public feeds, as configured ones do.
            configured = config.feeds or (
                [] if await store.imported_feed_count() else config.feed_locations()
            )
            await store.sync_feeds(
                (feed_url(f.location), f.name or "", f.interval or config.poll_interval)
                for f in configured
            )
            returned = await store.release_claims()
            if returned:
                log.info("items.returned", count=returned, reason="claimed by a stopped run")
            pipeline = Pipeline(
                store, rules, pool, http, Router(config.route_list()), polling=poll_policy(config)
            )
            service = Service(config, pipeline, channels, stop=stop)
            log.info(
                "rules.loaded",
                actors=len(rules.actors),
                demands=len(rules.demands),
                version=rules.version,
                database=str(store.path),
            )
            if once:
                await service.run_once()
            else:
                await service.run_forever()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0
