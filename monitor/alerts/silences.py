"""Silences: ops mute deltas for a while (``newsmon silence add``); silenced deltas are
recorded but not sent. Pure matching here; the store keeps them."""

from __future__ import annotations

__all__ = ["Silence", "silencing", "source_matches"]

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

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
            and (self.source is None or source_matches(delta, {self.source.casefold()}))
        )


def source_matches(delta: Delta, sources: set[str] | frozenset[str]) -> bool:
    """A source (casefolded) is named by its feed's name or title, or by the host of the
    article's URL (``bbc.co.uk`` matches ``www.bbc.co.uk``): routes and silences alike."""
    if delta.source.casefold() in sources:
        return True
    host = (urlsplit(delta.url).hostname or "").casefold()
    return any(host == s or host.endswith("." + s) for s in sources)


def silencing(delta: Delta, silences: Sequence[Silence]) -> Silence | None:
    """The first of the silences in force that mutes ``delta``, or None."""
    return next((s for s in silences if s.matches(delta)), None)
