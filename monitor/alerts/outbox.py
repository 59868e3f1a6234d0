"""The outbox sender: claim due groups of alerts, send each as one message, record the outcome.

Delivery is at least once: a group is marked sent only after its channel confirmed it, so a
crash between the two sends it again on restart, with the same idempotency key. Each channel
is served by its own task, one message at a time, so at most one message per channel is in
flight when the process dies. Transient failures are retried with exponential backoff and
jitter, or after the channel's Retry-After, and hold the channel's other due alerts until
then; permanent ones are parked as failed with the reason, never dropped, and reported to ops
through another channel.
"""

from __future__ import annotations

__all__ = ["RateLimit", "RetryPolicy", "Sender", "backoff"]

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from monitor.alerts.channels import Channel
from monitor.alerts.notice import Notice, digest_notice, ops_notice
from monitor.errors import ChannelError
from monitor.store import OpsEvent, Store
from monitor.store.outbox import AlertGroup, digest_due

log = structlog.get_logger("newsmon.alerts")

MAX_BACKOFF = 3600.0
# A channel that fails for good fails every alert: ops hear of it once per this interval.
OPS_REPORT_INTERVAL = 3600.0
_PERIOD_SECONDS = {"hourly": 3600.0, "daily": 86400.0}


def backoff(attempts: int, *, base: float = 5.0, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, with full jitter
    on its upper half so that many alerts failing together do not retry together."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return float(delay / 2 + random.uniform(0, delay / 2))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``base`` seconds, capped at ``cap``."""

    base: float = 5.0
    cap: float = MAX_BACKOFF

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        return backoff(attempts, base=self.base, cap=self.cap)


class RateLimit:
    """At most ``per_second`` messages per second: sends are spaced ``1 / per_second`` apart."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next message may go."""
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class Sender:
    """Sends what the outbox holds on the configured channels, and ops notices on ``ops``."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        ops: Sequence[str] = (),
        rate_limits: Mapping[str, float] | None = None,
        retry: RetryPolicy | None = None,
        batch: int = 100,
    ) -> None:
        self.store = store
        self.channels = channels
        self.ops = tuple(ops)
        self.retry = retry or RetryPolicy()
        self._limits = {name: RateLimit(rate) for name, rate in (rate_limits or {}).items()}
        self._batch = batch
        self._reported: dict[str, float] = {}
        # Channels that failed for a passing reason, and until when they are left alone.
        self._held: dict[str, float] = {}

    async def deliver_due(self, *, flush: bool = False, now: float | None = None) -> int:
        """Send every group that is due now (``flush``: also those still gathering; ``now``:
        as if it were that time), then the ops notices; returns how many messages the
        channels confirmed."""
        sent = 0
        while True:
            when = time.time() if now is None else now
            held = [name for name, until in self._held.items() if until > time.time()]
            groups = await self.store.due_groups(
                now=when, flush=flush, limit=self._batch, skip=held
            )
            by_channel: dict[str, list[AlertGroup]] = {}
            for group in groups:
                by_channel.setdefault(group.channel, []).append(group)
            counts = await asyncio.gather(
                *(self._deliver_channel(name, todo) for name, todo in by_channel.items())
            )
            sent += sum(counts)
            if len(groups) < self._batch:
                break
        await self.deliver_ops()
        return sent

    async def _deliver_channel(self, name: str, groups: Sequence[AlertGroup]) -> int:
        """Send ``groups`` in order on one channel; stop at the first failure that may pass."""
        channel = self.channels.get(name)
        sent = 0
        for group in groups:
            bound = log.bind(
                alert=group.id,
                channel=name,
                deltas=len(group.deltas),
                kind=group.deltas[0].kind,
                actor=group.deltas[0].actor,
                demand=group.deltas[0].demand,
            )
            if channel is None:
                await self._park(group, f"no channel named {name!r} in the config", bound)
                continue
            limit = self._limits.get(name)
            if limit is not None:
                await limit.wait()
            try:
                if group.digest is not None:
                    await channel.send_notice(await self._digest(group), key=group.key)
                else:
                    await channel.send(group.deltas, key=group.key)
            except ChannelError as exc:
                if exc.permanent:
                    await self._park(group, exc.reason, bound)
                    continue
                await self._hold(group, exc.reason, exc.retry_after, bound)
                break
            except Exception as exc:
                # A bug in a channel or a template: keep the traceback and retry later, so
                # that it can neither lose the alert nor spin on it.
                bound.exception("alert.crashed")
                await self._hold(group, f"internal error: {type(exc).__name__}", None, bound)
                break
            await self.store.mark_group_sent(group.row_ids, now=time.time())
            bound.info("alert.sent", digest=group.digest)
            sent += 1
        return sent

    async def _hold(
        self,
        group: AlertGroup,
        reason: str,
        retry_after: float | None,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        """Retry ``group`` later, and hold the channel's other due alerts until then."""
        wait = retry_after if retry_after is not None else self.retry.delay(group.attempts + 1)
        retry_at = time.time() + wait
        self._held[group.channel] = retry_at
        await self.store.mark_group_retry(group.row_ids, reason, retry_at=retry_at)
        held = await self.store.postpone_channel(group.channel, until=retry_at, now=time.time())
        bound.warning("alert.retry_scheduled", reason=reason, in_s=round(wait, 1), held=held)

    async def _park(
        self, group: AlertGroup, reason: str, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        """Park ``group`` as failed and tell ops (once an hour per channel, not per alert)."""
        await self.store.mark_group_failed(group.row_ids, reason)
        bound.error("alert.failed", reason=reason)
        now = time.time()
        if now - self._reported.get(group.channel, -OPS_REPORT_INTERVAL) < OPS_REPORT_INTERVAL:
            return
        self._reported[group.channel] = now
        await self.store.add_ops_event(
            "alert_failed",
            group.channel,
            f"alert {group.id} ({len(group.deltas)} delta(s)) parked as failed: {reason}. "
            "`newsmon alerts --failed` lists every parked alert. After fixing the cause: "
            f"newsmon alerts retry {group.id} (or --all)",
            now=now,
        )

    async def _digest(self, group: AlertGroup) -> Notice:
        period = group.digest or "hourly"
        end = digest_due(period, group.created_at)
        start = end - _PERIOD_SECONDS.get(period, 3600.0)
        counts = await self.store.delta_counts(since=start, until=end)
        return digest_notice(group.deltas, counts, period=period, start=start, end=end)

    # -- notices for ops ----------------------------------------------------------------------

    async def deliver_ops(self) -> None:
        """Send the pending ops notices on the ops channels (never on the channel a notice is
        about); without one, a notice is logged, which is where ops look then."""
        now = time.time()
        for event in await self.store.ops_events(due_before=now):
            targets = [c for c in self.ops if c in self.channels and c != event.subject]
            if not targets:
                log.warning(
                    "ops.notice", kind=event.kind, subject=event.subject, note=event.message
                )
                await self.store.mark_ops_event(
                    event.id, state="sent", now=now, error="no ops channel: logged only"
                )
                continue
            await self._send_ops(event, targets)

    async def _send_ops(self, event: OpsEvent, targets: Sequence[str]) -> None:
        notice = ops_notice(event.kind, event.subject, event.message)
        errors: list[ChannelError] = []
        for name in targets:
            limit = self._limits.get(name)
            if limit is not None:
                await limit.wait()
            try:
                await self.channels[name].send_notice(notice, key=f"newsmon-ops-{event.id}")
            except ChannelError as exc:
                errors.append(exc)
            except Exception as exc:  # a bug: keep the traceback, retry like a passing failure
                log.exception("ops.notice_crashed", channel=name, kind=event.kind)
                errors.append(ChannelError(name, f"internal error: {type(exc).__name__}"))
        now = time.time()
        if len(errors) < len(targets):
            await self.store.mark_ops_event(event.id, state="sent", now=now)
            return
        reason = "; ".join(str(e) for e in errors)
        if all(e.permanent for e in errors):
            log.error("ops.notice_failed", kind=event.kind, subject=event.subject, reason=reason)
            await self.store.mark_ops_event(event.id, state="failed", now=now, error=reason)
        else:
            retry_at = now + self.retry.delay(event.attempts + 1)
            await self.store.mark_ops_event(
                event.id, state="pending", now=now, error=reason, retry_at=retry_at
            )
