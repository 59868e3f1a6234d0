"""Prometheus metrics: what the process counts as it works, and what the database holds.

One registry per daemon (no global state). Counters of work done in this process (polls by
outcome, HTTP statuses, extraction time) are updated where the work happens; the rest (items,
deltas, findings, alerts, outbox age) is read from the database at each scrape, so it is right
across restarts and never drifts from the truth.
"""

from __future__ import annotations

__all__ = ["Metrics"]

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.store import Stats


class _StoreCollector(Collector):
    """Exposes the last :class:`Stats` read from the database."""

    def __init__(self) -> None:
        self.stats: Stats | None = None

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        if stats is None:
            return
        items = GaugeMetricFamily("newsmon_items", "Items by state", labels=["state"])
        for state in ("pending", "claimed", "done", "failed", "backlog"):
            items.add_metric([state], stats.items.get(state, 0))
        yield items
        deltas = CounterMetricFamily("newsmon_deltas", "Deltas recorded, by kind", labels=["kind"])
        for kind, count in sorted(stats.deltas.items()):
            deltas.add_metric([kind], count)
        yield deltas
        yield CounterMetricFamily("newsmon_findings", "Findings recorded", value=stats.findings)
        alerts = GaugeMetricFamily("newsmon_alerts", "Alerts by state", labels=["state"])
        for state in ("pending", "sent", "failed"):
            alerts.add_metric([state], stats.alerts.get(state, 0))
        yield alerts
        oldest = stats.oldest_pending_alert_at
        yield GaugeMetricFamily(
            "newsmon_outbox_oldest_pending_age_seconds",
            "How long the oldest alert that is due has waited to be sent (0 when none); "
            "alerts gathering into a group or a digest are not due yet",
            value=max(0.0, time.time() - oldest) if oldest else 0.0,
        )
        feeds = GaugeMetricFamily("newsmon_feeds", "Active feeds by health", labels=["health"])
        feeds.add_metric(["ok"], stats.feeds_ok)
        feeds.add_metric(["erring"], stats.feeds_erring)
        feeds.add_metric(["failing"], stats.feeds_failing)
        yield feeds


class Metrics:
    """The daemon's metrics and their registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("newsmon_polls", "Feed polls by outcome", ["outcome"], registry=r)
        self.http_responses = Counter(
            "newsmon_feed_http_responses", "Feed poll HTTP statuses", ["status"], registry=r
        )
        self.extraction_seconds = Histogram(
            "newsmon_extraction_seconds",
            "Time to extract an article page's text",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.rules = Gauge("newsmon_rules_info", "The rule set in force", ["version"], registry=r)
        self.rules_loaded_at = Gauge(
            "newsmon_rules_loaded_timestamp_seconds", "When the rule set was loaded", registry=r
        )
        self.reload_success = Gauge(
            "newsmon_last_reload_success", "1 if the last reload succeeded, else 0", registry=r
        )
        self.reload_at = Gauge(
            "newsmon_last_reload_timestamp_seconds", "When the last reload was tried", registry=r
        )
        self.last_poll_at = Gauge(
            "newsmon_last_poll_cycle_timestamp_seconds",
            "When a poll cycle last finished",
            registry=r,
        )
        self._store = _StoreCollector()
        r.register(self._store)

    def rules_loaded(self, version: str) -> None:
        """A rule set came into force."""
        self.rules.clear()
        self.rules.labels(version=version).set(1)
        self.rules_loaded_at.set(time.time())

    def reloaded(self, ok: bool) -> None:
        """A reload was tried."""
        self.reload_success.set(1 if ok else 0)
        self.reload_at.set(time.time())

    def render(self, stats: Stats) -> bytes:
        """The text exposition format, with the database's counts as of ``stats``."""
        self._store.stats = stats
        return generate_latest(self.registry)
