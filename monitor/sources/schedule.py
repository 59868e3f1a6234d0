"""When to poll a feed next: adaptive interval, server hints, jitter, backoff. Pure arithmetic.

The schedule itself lives in the database (each feed's ``next_poll_at``); these functions only
compute it, from the feed's observed cadence, its own ``<ttl>``, the response's caching headers
and its error count.
"""

from __future__ import annotations

__all__ = [
    "PollPolicy",
    "backoff_delay",
    "entry_cadence",
    "format_duration",
    "freshness",
    "next_poll_delay",
    "poll_interval",
    "quiet_threshold",
]

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The adaptive interval stays within these bounds whatever the feed's cadence.
ADAPTIVE_MIN = 120.0
ADAPTIVE_MAX = 2 * 3600.0
# Our own backoff never waits longer than this between attempts.
BACKOFF_MAX = 6 * 3600.0
# A server hint (ttl, max-age, Expires, Retry-After) is honoured up to this: a hostile or
# mistaken "come back in a year" must not silence a feed for good.
SERVER_PAUSE_MAX = 24 * 3600.0
# How many of the newest dated entries describe a feed's current cadence.
CADENCE_ENTRIES = 20
# A feed is "quiet" only after at least this long, however busy it usually is.
QUIET_MIN = 6 * 3600.0

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PollPolicy:
    """The knobs of the schedule and of feed health, from the config's ``polling`` section."""

    min_interval: float = 60.0
    adaptive: bool = True
    failures_before_alert: int = 5
    quiet_factor: float = 10.0
    backfill: bool = False


def entry_cadence(published: Iterable[datetime | None], *, now: datetime) -> float | None:
    """Mean seconds between the feed's newest dated entries, or None when it cannot be told.

    Dates in the future (clock skew, scheduled posts) are ignored; fewer than two distinct
    dates say nothing about a cadence.
    """
    dates = sorted({d for d in published if d is not None and d <= now}, reverse=True)
    dates = dates[:CADENCE_ENTRIES]
    if len(dates) < 2:
        return None
    return (dates[0] - dates[-1]).total_seconds() / (len(dates) - 1)


def poll_interval(base: float, cadence: float | None, policy: PollPolicy) -> float:
    """The interval between polls: the cadence clamped to [2 min, 2 h] when known, else
    ``base`` (the configured interval); never below the configured floor."""
    interval = base
    if policy.adaptive and cadence is not None:
        interval = min(ADAPTIVE_MAX, max(ADAPTIVE_MIN, cadence))
    return max(policy.min_interval, interval)


def next_poll_delay(
    interval: float, *, not_before: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds until the next poll: ``interval`` ±10% jitter, never before the server's hint.

    The jitter spreads feeds that share a host and an interval over time.
    """
    delay = interval * (rng or random).uniform(0.9, 1.1)
    if not_before is not None:
        delay = max(delay, min(not_before, SERVER_PAUSE_MAX))
    return delay


def backoff_delay(interval: float, errors: int, *, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after ``errors`` consecutive failures (1 = the first).

    One interval after the first failure, doubling after each further one, capped at
    6 hours; a server's Retry-After is honoured even past the cap (up to a day).
    """
    delay = min(BACKOFF_MAX, interval * 2.0 ** max(0, min(errors - 1, 32)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, SERVER_PAUSE_MAX))
    return delay


def freshness(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """How many seconds the response says it stays fresh (Cache-Control max-age, else
    Expires against Date), or None when it says nothing usable."""
    cache_control = headers.get("Cache-Control", "")
    if _NO_CACHE.search(cache_control):
        return None
    found = _MAX_AGE.search(cache_control)
    if found:
        age = _number(headers.get("Age")) or 0.0
        return max(0.0, float(found.group(1)) - age)
    expires = _http_date(headers.get("Expires"))
    if expires is None:
        return None
    date = _http_date(headers.get("Date")) or now or datetime.now(UTC)
    return max(0.0, (expires - date).total_seconds())


def quiet_threshold(cadence: float | None, policy: PollPolicy) -> float | None:
    """How long without a new entry makes this feed "quiet", or None when its cadence is
    unknown (nothing is usual for it yet)."""
    if cadence is None:
        return None
    return max(QUIET_MIN, policy.quiet_factor * cadence)


def _number(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # "Expires: 0" and "-1" mean "already expired": no hint
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """``90`` → ``"1m30s"``, ``7200`` → ``"2h"``: a short duration for people."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])
