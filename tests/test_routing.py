"""Routing and silences are pure decisions over a delta: tested with plain values."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from monitor.alerts.routing import Delivery, Route, Router, plan
from monitor.alerts.silences import Silence, silencing
from monitor.config import AlertsConfig, RouteConfig
from tests.alerting import make_delta

DELTA = make_delta(
    url="https://www.bbc.co.uk/news/1",
    source="BBC World",
    severity="high",
    actor_name="",
    demand_title="",
    phrases=(),
    first_seen=None,
    articles=1,
)
DEFAULTS = AlertsConfig(group_wait=30.0, realert=3600.0, digest="daily")


def routes(*entries: dict[str, object]) -> list[Route]:
    return [Route.from_config(RouteConfig.model_validate(e)) for e in entries]


def channels(deliveries: list[Delivery]) -> list[str]:
    return [d.channel for d in deliveries]


class TestPlan:
    def test_first_match_decides(self) -> None:
        """Without continue, the first matching route is the only one used."""
        table = routes({"actors": ["russia"], "channels": ["a"]}, {"channels": ["b"]})
        assert channels(plan(DELTA, table, DEFAULTS)) == ["a"]

    def test_continue_goes_on_to_later_routes(self) -> None:
        """continue: true adds the next matching routes' channels, each channel once."""
        table = routes(
            {"severities": ["high"], "channels": ["a", "b"], "continue": True},
            {"kinds": ["demand_dropped"], "channels": ["c"]},
            {"channels": ["b", "d"]},
        )
        assert channels(plan(DELTA, table, DEFAULTS)) == ["a", "b", "d"]

    def test_every_matcher_must_hold(self) -> None:
        """A route matches only when kind, actor, demand, severity and source all match."""
        table = routes(
            {"kinds": ["new_condition"], "actors": ["ukraine"], "channels": ["a"]},
            {"demands": ["ceasefire"], "channels": ["b"]},
            {"severities": ["low"], "channels": ["c"]},
            {"sources": ["Reuters"], "channels": ["d"]},
            {"sources": ["bbc.co.uk"], "demands": ["ukraine-nato-ban"], "channels": ["e"]},
        )
        assert channels(plan(DELTA, table, DEFAULTS)) == ["e"]

    def test_source_matches_feed_name_case_insensitively(self) -> None:
        """A source is the feed's name, whatever the case."""
        table = routes({"sources": ["bbc world"], "channels": ["a"]})
        assert channels(plan(DELTA, table, DEFAULTS)) == ["a"]

    def test_no_match_goes_nowhere(self) -> None:
        """A delta no route matches is recorded but goes to no channel."""
        assert plan(DELTA, routes({"actors": ["nato"], "channels": ["a"]}), DEFAULTS) == []

    def test_defaults_send_repeats_to_the_digest(self) -> None:
        """With digest auto, demand_repeated goes to the default digest, other kinds at once,
        both with the default group wait and re-alert interval."""
        table = routes({"channels": ["a"]})
        assert plan(DELTA, table, DEFAULTS) == [Delivery("a", None, 30.0, 3600.0)]
        repeated = replace(DELTA, kind="demand_repeated")
        assert plan(repeated, table, DEFAULTS) == [Delivery("a", "daily", 30.0, 3600.0)]
        for kind in ("demand_resurfaced", "demand_dropped", "demand_rejected"):
            assert plan(replace(DELTA, kind=kind), table, DEFAULTS)[0].digest is None

    def test_route_overrides_digest_and_timing(self) -> None:
        """A route may force a digest, send repeats at once, and set its own windows."""
        table = routes(
            {"kinds": ["new_condition"], "channels": ["a"], "digest": "hourly"},
            {"channels": ["b"], "digest": "never", "group_wait": "0s", "realert": "10m"},
        )
        assert plan(DELTA, table, DEFAULTS) == [Delivery("a", "hourly", 30.0, 3600.0)]
        repeated = replace(DELTA, kind="demand_repeated")
        assert plan(repeated, table, DEFAULTS) == [Delivery("b", None, 0.0, 600.0)]

    def test_router_uses_config_defaults(self) -> None:
        """The Router is plan() over the configured routes and alert defaults."""
        router = Router([RouteConfig(channels=["x"])], DEFAULTS)
        assert router(DELTA) == [Delivery("x", None, 30.0, 3600.0)]


class TestSilencing:
    def silence(self, **fields: str | None) -> Silence:
        values = {"actor": None, "demand": None, "kind": None, "source": None} | fields
        return Silence(7, comment="", created_at=0.0, ends_at=1.0, **values)  # type: ignore[arg-type]

    def test_matches_every_given_field(self) -> None:
        """A silence mutes a delta when each field it gives matches."""
        assert silencing(DELTA, [self.silence(actor="russia", demand="ukraine-nato-ban")])
        assert silencing(DELTA, [self.silence(source="bbc WORLD")])
        # By the article's host too, as a route's sources are.
        host = urlsplit(DELTA.url).hostname
        assert host and silencing(DELTA, [self.silence(source=host.removeprefix("www."))])
        assert silencing(DELTA, [self.silence(source="other.example")]) is None
        assert silencing(DELTA, [self.silence(actor="russia", kind="demand_dropped")]) is None

    def test_first_matching_silence_is_named(self) -> None:
        """The silence reported is the first that matches, so `suppressed` names it."""
        first, second = self.silence(demand="x"), replace(self.silence(actor="russia"), id=9)
        assert silencing(DELTA, [first, second]) == second
