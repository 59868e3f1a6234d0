"""Silences: ops mute deltas for a while (``newsmon silence add``); silenced deltas are
recorded but not sent. Pure matching here; the store keeps them."""

from __future__ import annotations

__all__ = ["Silence", "silencing"]

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.model import Delta


@dataclass(frozen=True)
class Silence:
    """Mutes deltas that match every field given (None matches anything) until ``ends_at``."""

    id: int
    actor: str | None
    demand: str | None
    kind: str | None
    source: str | None
    comment: str
    created_at: float
    ends_at: float

    def matches(self, delta: Delta) -> bool:
        """Whether this silence mutes ``delta`` (times are checked by whoever lists silences)."""
        return (
            self.actor in (None, delta.actor)
            and self.demand in (None, delta.demand)
            and self.kind in (None, delta.kind)
            and (self.source is None or self.source.casefold() == delta.source.casefold())
        )


def silencing(delta: Delta, silences: Sequence[Silence]) -> Silence | None:
    """The first of the silences in force that mutes ``delta``, or None."""
    return next((s for s in silences if s.matches(delta)), None)
