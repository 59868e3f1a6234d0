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
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import watchfiles
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.alerts.build import rate_limits
from monitor.alerts.channels import Channel
from monitor.alerts.outbox import RetryPolicy, Sender
from monitor.alerts.routing import Router, build_channels
from monitor.config import Config
from monitor.endpoint import serve_endpoint
from monitor.errors import ConfigError, RuleError
from monitor.pipeline import Pipeline
from monitor.pool import CpuPool
from monitor.reload import Changes, Reloaded, check_references, load_everything, rule_dirs
from monitor.rulebook import load_rules
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.schedule import PollPolicy
from monitor.store import Store
from monitor.systemd import Notifier

log = structlog.get_logger("newsmon.service")

DEFAULTS = "(defaults)"  # Config.source when no file was given

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
        hurry: asyncio.Event | None = None,
        notifier: Notifier | None = None,
        loaded: Reloaded | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.channels = channels
        self.sender = sender or Sender(pipeline.store, channels)
        self.stop = stop
        # Set by a second SIGTERM: stop now, without waiting for items in flight.
        self.hurry = hurry or asyncio.Event()
        self.notifier = notifier or Notifier("")
        self.metrics = pipeline.metrics
        self.loaded = loaded or Reloaded(config, pipeline.rules)
        self.started_config = config  # what database, http and workers are until a restart
        self.last_poll_cycle: float | None = None
        self.reload_requested = asyncio.Event()
        self.reload_triggers: set[str] = set()  # what asked for the reload: for its log lines
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
                    self.last_poll_cycle = time.time()
                    self.metrics.last_poll_at.set(self.last_poll_cycle)
                    self.notifier.status(await self.status_line())

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
            # Cleared before looking, so that an item enqueued while this worker is busy
            # wakes it at once instead of waiting out the timeout.
            self._items_ready.clear()
            async with _survive("worker"):
                if await self._process_claimed():
                    continue
            due = await store.next_item_due()
            timeout = 5.0 if due is None else max(0.05, min(5.0, due - time.time()))
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
            # Cleared before looking, so that an alert recorded while the sender is busy
            # wakes it at once instead of waiting out the timeout.
            self._alerts_ready.clear()
            async with _survive("sender"):
                await self.sender.deliver_due()
            due = await store.next_alert_due()
            timeout = 5.0 if due is None else max(0.05, min(5.0, due - time.time()))
            if self.stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._alerts_ready.wait(), timeout)

    async def drain_alerts(self, *, bound: float = ONCE_DELIVERY_BOUND) -> None:
        """Send what is due, groups still gathering included (digests wait for their time),
        retrying passing failures for at most ``bound`` seconds."""
        store = self.pipeline.store
        deadline = time.monotonic() + bound
        await self.sender.deliver_due(flush=True)
        while not self.stop.is_set():
            due = await store.next_alert_due(alerts_only=True)
            if due is None:
                return
            wait = max(0.0, due - time.time())
            if time.monotonic() + wait > deadline:
                log.warning("alerts.left_pending", reason="still failing; sent on the next run")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)
            await self.sender.deliver_due(flush=True)

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
                for event in (
                    self._items_ready,
                    self._alerts_ready,
                    self._poll_tick,
                    self.reload_requested,
                ):
                    event.set()
                hurry = asyncio.ensure_future(self.hurry.wait())
                await asyncio.wait(
                    {task, hurry},
                    timeout=self.config.stop_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                hurry.cancel()
                if not task.done():
                    log.warning(
                        "daemon.stop_now",
                        bound_s=self.config.stop_timeout,
                        reason="second signal" if self.hurry.is_set() else "bound",
                    )
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
        self.tick_s = tick
        async with AsyncExitStack() as stack:
            if self.config.endpoint is not None:
                address = await stack.enter_async_context(
                    serve_endpoint(self, self.config.endpoint)
                )
                log.info("endpoint.listening", address=address)
            log.info(
                "daemon.started",
                feeds=len(await self.pipeline.store.feeds()),
                workers=self.config.workers,
                tick_s=tick,
            )
            self.notifier.ready(await self.status_line())

            async def loops() -> None:
                sender = asyncio.ensure_future(self._sender())
                await asyncio.gather(
                    self._poller(),
                    self._reloader(),
                    self._watchdog(),
                    self._watcher(),
                    *(self._worker() for _ in range(self.config.workers)),
                )
                await sender
                # Items that finished during the stop made alerts: send what can be sent
                # within the same bound (the rest waits in the outbox for the next start).
                await self.sender.deliver_due(flush=True)

            try:
                await self._until_stopped(loops())
            finally:
                scheduler.shutdown(wait=False)
                log.info("daemon.stopped")

    # -- health ---------------------------------------------------------------------------------

    async def status_line(self) -> str:
        """One line for ``systemctl status``: feeds, queues, alerts."""
        stats = await self.pipeline.store.stats(
            failing_after=self.pipeline.polling.failures_before_alert
        )
        return (
            f"{stats.feeds_ok} feeds ok, {stats.feeds_erring} erring, "
            f"{stats.feeds_failing} failing; "
            f"{stats.items.get('pending', 0) + stats.items.get('claimed', 0)} items queued; "
            f"{stats.alerts.get('pending', 0)} alerts pending, "
            f"{stats.alerts.get('failed', 0)} failed"
        )

    async def health(self) -> list[str]:
        """What is wrong, for /healthz: the database, the loop, the polls (empty: healthy)."""
        problems = []
        started = time.monotonic()
        try:
            await asyncio.wait_for(self.pipeline.store.ping(), 5.0)
        except Exception as exc:  # any failure to write is unhealthy, whatever its type
            problems.append(f"database not writable: {type(exc).__name__}: {exc}")
        lag = time.monotonic() - started
        if lag > 2.0:
            problems.append(f"event loop or database slow: {lag:.1f}s to answer")
        limit = max(120.0, 4 * getattr(self, "tick_s", 30.0))
        if self.last_poll_cycle is None or time.time() - self.last_poll_cycle > limit:
            problems.append(f"no poll cycle finished in the last {limit:.0f}s")
        return problems

    async def _watchdog(self) -> None:
        """Ping systemd's watchdog only while the loop and the database respond."""
        interval = self.notifier.watchdog_s
        if interval is None:
            return
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.pipeline.store.ping(), interval / 2)
            except Exception:
                log.exception("watchdog.database_unresponsive")
            else:
                self.notifier.watchdog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), interval / 2)

    # -- reload ---------------------------------------------------------------------------------

    async def _reloader(self) -> None:
        while not self.stop.is_set():
            await self.reload_requested.wait()
            self.reload_requested.clear()
            triggers, self.reload_triggers = self.reload_triggers, set()
            if not self.stop.is_set():
                async with _survive("reload"):
                    await self.reload(trigger=", ".join(sorted(triggers)) or "request")

    async def _watcher(self) -> None:
        """Request a reload when a rule file or the config file changes."""
        if not self.config.watch:
            return
        paths = [str(p) for p in rule_dirs(self.config)]
        if self.config.source != DEFAULTS:
            paths.append(self.config.source)
        async for _changes in watchfiles.awatch(
            *paths, stop_event=self.stop, debounce=500, step=100, recursive=False
        ):
            log.info("reload.files_changed")
            self.reload_triggers.add("files changed")
            self.reload_requested.set()

    async def _refused(self, at_fault: str, problems: list[str]) -> None:
        """A reload refused: ops are told (a notice, status, the metric), the last good
        config and rules stay."""
        await self.pipeline.store.add_ops_event(
            "reload_failed",
            at_fault,
            "reload refused, previous config and rules kept: " + "; ".join(problems),
            now=time.time(),
        )
        self.metrics.reloaded(False)
        await self.pipeline.store.set_meta(
            {
                "reload_refused_at": str(time.time()),
                "reload_problem": problems[0]
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            },
            now=time.time(),
        )
        self.notifier.ready(await self.status_line())

    async def reload(self, trigger: str = "request") -> bool:
        """Load config and rules again; swap them in only if all of it is valid.

        ``trigger`` says what asked for it (SIGHUP, files changed), for the log.
        """
        self.notifier.reloading()
        path = None if self.config.source == DEFAULTS else self.config.source
        try:
            new = load_everything(path, database=self.config.database)
            channels = build_channels(new.config, self.pipeline.store)
        except (ConfigError, RuleError) as exc:
            problems = [str(p) for p in exc.problems]
            at_fault = exc.problems[0].file if exc.problems else path or "rules"
            log.error(
                "reload.failed", trigger=trigger, problems=problems, kept=self.loaded.rules.version
            )
            await self._refused(at_fault, problems)
            return False
        except Exception as exc:
            # A bug of ours met on the way, not a bad file: refused all the same, and said, so
            # that ops are not left believing the edit is in force.
            problems = [f"internal error while loading: {type(exc).__name__}: {exc}"]
            log.exception("reload.failed", trigger=trigger, kept=self.loaded.rules.version)
            await self._refused(path or "rules", problems)
            return False
        changes = Changes.between(self.loaded, new, self.started_config)
        old_channels = self.channels
        self.loaded, self.config = new, new.config
        self.pipeline.rules = new.rules
        self.pipeline.route = Router(new.config.route_list(), new.config.alerts)
        self.pipeline.judging = new.config.judging()
        self.pipeline.polling = poll_policy(new.config)
        self.channels = channels
        self.sender = alert_sender(new.config, self.pipeline.store, channels)
        for channel in old_channels.values():
            await channel.aclose()
        await sync_configured_feeds(self.pipeline.store, new.config)
        await self.pipeline.store.set_meta(
            {
                "rules_version": new.rules.version,
                "rules_loaded_at": str(time.time()),
                "reload_refused_at": "",
                "reload_problem": "",
                "restart_needed": ",".join(changes.restart_needed),
            },
            now=time.time(),
        )
        self.metrics.rules_loaded(new.rules.version)
        self.metrics.reloaded(True)
        log.info(
            "reload.done",
            trigger=trigger,
            version=new.rules.version,
            **{k: v for k, v in asdict(changes).items() if v},
        )
        if changes.restart_needed:
            log.warning("reload.restart_needed", keys=changes.restart_needed)
        self.notifier.ready(await self.status_line())
        self._poll_tick.set()
        return True


async def sync_configured_feeds(store: Store, config: Config) -> None:
    """Make the config's feeds the active ones in the store.

    Feeds imported from OPML replace the default public feeds, as configured ones do.
    """
    configured = config.feeds or (
        [] if await store.imported_feed_count() else config.feed_locations()
    )
    await store.sync_feeds(
        (feed_url(f.location), f.name or "", f.interval or config.poll_interval, f.voice)
        for f in configured
    )


def alert_sender(config: Config, store: Store, channels: dict[str, Channel]) -> Sender:
    """The outbox sender the config asks for: ops channels, rate limits, retry policy."""
    return Sender(
        store,
        channels,
        ops=config.ops_channels(),
        rate_limits=rate_limits(config),
        retry=RetryPolicy(config.alerts.retry_base, config.alerts.retry_max),
    )


async def run_daemon(
    config: Config,
    *,
    once: bool,
    stop: asyncio.Event | None = None,
    notifier: Notifier | None = None,
) -> int:
    """Open what the daemon needs, run it, close it all in order; returns the exit code.

    SIGTERM or SIGINT stops it (a second one stops it at once); SIGHUP reloads the config
    and the rules.
    """
    stop = stop or asyncio.Event()
    hurry = asyncio.Event()
    notifier = notifier or Notifier()
    loop = asyncio.get_running_loop()
    rules = load_rules(rule_dirs(config))
    check_references(config, rules)
    service: Service | None = None

    def on_stop_signal() -> None:
        if stop.is_set():
            hurry.set()
        else:
            notifier.stopping()
            log.info("daemon.stopping")
            stop.set()

    def on_reload_signal() -> None:
        if service is not None:
            service.reload_triggers.add("SIGHUP")
            service.reload_requested.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_stop_signal)
    loop.add_signal_handler(signal.SIGHUP, on_reload_signal)
    try:
        async with AsyncExitStack() as stack:
            store = await Store.open(config.database_path())
            stack.push_async_callback(store.close)
            # Channels close before the store: a Slack bot channel keeps its threads there.
            channels = build_channels(config, store)
            pool = CpuPool()
            stack.callback(pool.close)
            http = await stack.enter_async_context(
                HttpClient(http_limits(config), allow_networks=config.http.allow_networks)
            )
            await sync_configured_feeds(store, config)
            returned = await store.release_claims()
            if returned:
                log.info("items.returned", count=returned, reason="claimed by a stopped run")
            await store.set_meta(
                {
                    "rules_version": rules.version,
                    "rules_loaded_at": str(time.time()),
                    "reload_refused_at": "",
                    "reload_problem": "",
                    "restart_needed": "",
                },
                now=time.time(),
            )
            pipeline = Pipeline(
                store,
                rules,
                pool,
                http,
                Router(config.route_list(), config.alerts),
                polling=poll_policy(config),
            )
            pipeline.judging = config.judging()
            pipeline.metrics.rules_loaded(rules.version)
            service = Service(
                config,
                pipeline,
                channels,
                stop=stop,
                hurry=hurry,
                notifier=notifier,
                sender=alert_sender(config, store, channels),
            )
            log.info(
                "rules.loaded",
                actors=len(rules.actors),
                demands=len(rules.demands),
                version=rules.version,
                database=str(store.path),
            )
            try:
                if once:
                    await service.run_once()
                else:
                    await service.run_forever()
            finally:
                # A reload may have replaced the channels: close the ones in force.
                for channel in service.channels.values():
                    await channel.aclose()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    return 0
