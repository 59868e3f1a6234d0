"""The schedule's arithmetic: cadence, interval, server hints, jitter, backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.sources.schedule import (
    PollPolicy,
    backoff_delay,
    entry_cadence,
    format_duration,
    freshness,
    next_poll_delay,
    poll_interval,
    quiet_threshold,
)

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC)


class TestCadence:
    def test_mean_gap_of_newest_entries(self) -> None:
        """Entries every 15 minutes: a cadence of 900 s, whatever their order."""
        dates = [NOW - timedelta(minutes=15 * i) for i in (3, 0, 2, 1)]
        assert entry_cadence(dates, now=NOW) == 900

    def test_future_and_missing_dates_are_ignored(self) -> None:
        """Undated and future-dated entries say nothing about the cadence."""
        dates = [None, NOW + timedelta(days=1), NOW, NOW - timedelta(hours=1)]
        assert entry_cadence(dates, now=NOW) == 3600

    def test_one_date_is_no_cadence(self) -> None:
        """A single distinct date (or none) gives None."""
        assert entry_cadence([NOW, NOW, None], now=NOW) is None


class TestInterval:
    def test_base_without_cadence(self) -> None:
        """Unknown cadence: the configured interval."""
        assert poll_interval(300, None, PollPolicy()) == 300

    def test_adaptive_off_keeps_base(self) -> None:
        """adaptive: false ignores the cadence."""
        assert poll_interval(300, 30, PollPolicy(adaptive=False)) == 300

    def test_floor_applies_to_base_too(self) -> None:
        """A configured interval below the floor is raised to it."""
        assert poll_interval(10, None, PollPolicy(min_interval=60)) == 60


class TestHints:
    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"Cache-Control": "public, max-age=600"}, 600),
            ({"Cache-Control": "max-age=600", "Age": "100"}, 500),
            ({"Cache-Control": "no-cache, max-age=600"}, None),
            (
                {
                    "Expires": "Mon, 03 Mar 2025 13:00:00 GMT",
                    "Date": "Mon, 03 Mar 2025 12:00:00 GMT",
                },
                3600,
            ),
            ({"Expires": "0"}, None),
            ({}, None),
        ],
    )
    def test_freshness(self, headers: dict[str, str], expected: float | None) -> None:
        """max-age (less Age) first, then Expires against Date; no-cache means no hint."""
        assert freshness(headers, now=NOW) == expected

    def test_hint_wins_over_a_shorter_interval(self) -> None:
        """The next poll is never sooner than the server's hint."""
        assert next_poll_delay(300, not_before=3600, rng=random.Random(1)) == 3600

    def test_absurd_hint_is_bounded(self) -> None:
        """A hint of a year is honoured for a day at most."""
        assert next_poll_delay(300, not_before=365 * 86400) == 86400

    def test_jitter_spreads_within_ten_percent(self) -> None:
        """Jittered delays differ and stay within ±10%."""
        rng = random.Random(7)
        delays = {round(next_poll_delay(600, rng=rng)) for _ in range(50)}
        assert len(delays) > 10 and min(delays) >= 540 and max(delays) <= 660


class TestBackoff:
    def test_doubles_then_caps(self) -> None:
        """1, 2, 4 ... intervals, capped at six hours."""
        assert [backoff_delay(300, n) for n in (1, 2, 3, 10, 1000)] == [
            300,
            600,
            1200,
            21600,
            21600,
        ]

    def test_retry_after_can_exceed_the_cap(self) -> None:
        """A server's Retry-After longer than our cap is honoured (up to a day)."""
        assert backoff_delay(300, 1, retry_after=8 * 3600) == 8 * 3600
        assert backoff_delay(300, 1, retry_after=9 * 86400) == 86400


def test_quiet_threshold() -> None:
    """Ten cadences, at least six hours; unknown cadence: never quiet."""
    policy = PollPolicy()
    assert quiet_threshold(3600, policy) == 36000
    assert quiet_threshold(60, policy) == 6 * 3600
    assert quiet_threshold(None, policy) is None


def test_format_duration() -> None:
    """Short human durations, two units at most."""
    assert [format_duration(s) for s in (42, 90, 7200, 93784)] == ["42s", "1m30s", "2h", "1d2h"]
