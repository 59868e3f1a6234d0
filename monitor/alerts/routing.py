"""Which channels a delta goes to, and how: routes as in Alertmanager, decided by pure functions.

Routes are tried in order; the first that matches decides, unless it says ``continue``. The
defaults send ``demand_repeated`` into a digest and every other kind at once.
"""

from __future__ import annotations

__all__ = ["IMMEDIATE_KINDS", "Delivery", "Route", "Router", "build_channels", "plan"]

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.alerts.build import build_channels
from monitor.alerts.silences import source_matches
from monitor.config import AlertsConfig, RouteConfig
from monitor.model import Delta

# Kinds the desk wants at once; anything else (demand_repeated) goes into the digest.
IMMEDIATE_KINDS = frozenset(
    {
        "new_condition",
        "demand_resurfaced",
        "demand_dropped",
        "demand_rejected",
        "unrecognized_condition",
    }
)


@dataclass(frozen=True)
class Delivery:
    """Where one delta goes and how: at once (gathered for ``group_wait`` seconds with the
    other deltas of its pair) or into the ``digest`` of that period ("hourly", "daily"); not
    sent again within ``realert`` seconds for the same (actor, demand, kind) on the channel."""

    channel: str
    digest: str | None = None
    group_wait: float = 0.0
    realert: float = 0.0


@dataclass(frozen=True)
class Route:
    """A route from the config, with its matchers as sets (empty: matches anything)."""

    channels: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    demands: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    continue_: bool = False
    digest: str = "auto"
    group_wait: float | None = None
    realert: float | None = None

    @classmethod
    def from_config(cls, route: RouteConfig) -> Route:
        """The route a config entry describes."""
        return cls(
            channels=tuple(route.channels),
            kinds=frozenset(route.kinds),
            actors=frozenset(route.actors),
            demands=frozenset(route.demands),
            severities=frozenset(route.severities),
            sources=frozenset(s.casefold() for s in route.sources),
            continue_=route.continue_,
            digest=route.digest,
            group_wait=route.group_wait,
            realert=route.realert,
        )

    def matches(self, delta: Delta) -> bool:
        """Whether every matcher of the route accepts ``delta``."""
        return (
            (not self.kinds or delta.kind in self.kinds)
            and (not self.actors or delta.actor in self.actors)
            and (not self.demands or delta.demand in self.demands)
            and (not self.severities or delta.severity in self.severities)
            and (not self.sources or source_matches(delta, self.sources))
        )


def plan(delta: Delta, routes: Sequence[Route], defaults: AlertsConfig) -> list[Delivery]:
    """The deliveries for ``delta``: each channel once, from the first matching route and the
    ones after it while they say ``continue``."""
    deliveries: dict[str, Delivery] = {}
    for route in routes:
        if not route.matches(delta):
            continue
        digest: str | None
        if route.digest == "auto":
            digest = None if delta.kind in IMMEDIATE_KINDS else defaults.digest
        else:
            digest = None if route.digest == "never" else route.digest
        for channel in route.channels:
            deliveries.setdefault(
                channel,
                Delivery(
                    channel,
                    digest=digest,
                    group_wait=defaults.group_wait
                    if route.group_wait is None
                    else route.group_wait,
                    realert=defaults.realert if route.realert is None else route.realert,
                ),
            )
        if not route.continue_:
            break
    return list(deliveries.values())


class Router:
    """The routes of a config as a callable: ``router(delta)`` gives its deliveries."""

    def __init__(self, routes: Sequence[RouteConfig], alerts: AlertsConfig | None = None) -> None:
        self._routes = tuple(Route.from_config(r) for r in routes)
        self._defaults = alerts or AlertsConfig()

    def __call__(self, delta: Delta) -> list[Delivery]:
        """Where ``delta`` goes, and how."""
        return plan(delta, self._routes, self._defaults)
