"""The outbox sender: claim due alerts, send each on its channel, record the outcome.

Delivery is at least once: an alert is marked sent only after its channel confirmed it, so a
crash between the two sends it again on restart (with the same idempotency key). Transient
failures are retried with exponential backoff and jitter, or after the channel's Retry-After;
permanent ones are parked as failed with the reason, never dropped.
"""

from __future__ import annotations

__all__ = ["backoff", "deliver_due"]

import random
import time
from collections.abc import Mapping

import structlog

from monitor.alerts.channels import Channel
from monitor.errors import ChannelError
from monitor.store import Store

log = structlog.get_logger("newsmon.alerts")

MAX_BACKOFF = 3600.0


def backoff(attempts: int, *, base: float = 5.0, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, with full jitter
    on its upper half so that many alerts failing together do not retry together."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return float(delay / 2 + random.uniform(0, delay / 2))


async def deliver_due(
    store: Store, channels: Mapping[str, Channel], *, base_backoff: float = 5.0
) -> int:
    """Send every alert that is due now; returns how many the channels confirmed."""
    sent = 0
    for row in await store.due_alerts(now=time.time()):
        channel = channels.get(row.channel)
        bound = log.bind(
            alert=row.id,
            channel=row.channel,
            kind=row.delta.kind,
            actor=row.delta.actor,
            demand=row.delta.demand,
        )
        if channel is None:
            await store.mark_failed(row.id, f"no channel named {row.channel!r} in the config")
            bound.error("alert.failed", reason="channel not configured")
            continue
        try:
            await channel.send([row.delta], key=f"newsmon-alert-{row.id}")
        except ChannelError as exc:
            if exc.permanent:
                await store.mark_failed(row.id, exc.reason)
                bound.error("alert.failed", reason=exc.reason)
            else:
                wait = exc.retry_after or backoff(row.attempts + 1, base=base_backoff)
                await store.mark_retry(row.id, exc.reason, retry_at=time.time() + wait)
                bound.warning("alert.retry_scheduled", reason=exc.reason, in_s=round(wait, 1))
            continue
        await store.mark_sent(row.id, now=time.time())
        bound.info("alert.sent")
        sent += 1
    return sent
