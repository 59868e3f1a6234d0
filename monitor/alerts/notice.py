"""Notices: messages that are not one alert: the hourly or daily digest, and notices for ops.

Pure functions that build them; each channel renders a ``Notice`` in its own format.
"""

from __future__ import annotations

__all__ = ["KIND_WORDS", "Notice", "NoticeLine", "digest_notice", "ops_notice"]

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.model import Delta

# The kinds a digest counts, in the order the desk reads them.
_COUNTED = (
    ("new_condition", "new"),
    ("demand_resurfaced", "resurfaced"),
    ("demand_dropped", "dropped"),
    ("demand_rejected", "rejected"),
    ("demand_repeated", "repeated"),
)
# Each delta kind in one word, for counts: "2 new, 1 dropped".
KIND_WORDS = {
    "new_condition": "new",
    "demand_repeated": "repeated",
    "demand_resurfaced": "resurfaced",
    "demand_dropped": "dropped",
    "demand_rejected": "rejected",
    "unrecognized_condition": "unrecognized",
}


@dataclass(frozen=True)
class NoticeLine:
    """One line of a notice, with a link when there is one."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class Notice:
    """A titled list of lines: ``kind`` is "digest" or the ops event's kind."""

    kind: str
    title: str
    summary: str = ""
    lines: tuple[NoticeLine, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()


def digest_notice(
    deltas: Sequence[Delta], counts: Mapping[str, int], *, period: str, start: float, end: float
) -> Notice:
    """The digest of a period: what moved (counts by kind) and one line per (actor, demand),
    with how often and a link to the latest article."""
    begin, finish = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    span = (
        f"{begin:%Y-%m-%d}" if period == "daily" else f"{begin:%Y-%m-%d %H:%M}-{finish:%H:%M} UTC"
    )
    moved = ", ".join(f"{counts.get(kind, 0)} {word}" for kind, word in _COUNTED)
    pairs: dict[tuple[str, str], list[Delta]] = {}
    for delta in sorted(deltas, key=lambda d: d.published):
        pairs.setdefault((delta.actor, delta.demand), []).append(delta)
    lines = []
    for group in pairs.values():
        latest = group[-1]
        kinds = ", ".join(
            f"{KIND_WORDS.get(k, k)} {n} times" if n > 1 else KIND_WORDS.get(k, k)
            for k, n in _tally(d.kind for d in group).items()
        )
        name = f"{latest.actor_name or latest.actor} → {latest.demand_title or latest.demand}"
        where = latest.source or latest.title
        lines.append(NoticeLine(f"{name}: {kinds} (latest in {where})", latest.url))
    return Notice(
        kind="digest",
        title=f"{period.capitalize()} digest {span}",
        summary=f"What moved on every route in the period: {moved}.",
        lines=tuple(lines),
        counts=tuple((kind, counts.get(kind, 0)) for kind, _ in _COUNTED),
    )


def ops_notice(kind: str, subject: str, message: str) -> Notice:
    """A notice for ops, e.g. ("alert_failed", "desk-slack", "parked: HTTP 404 ...")."""
    return Notice(
        kind=kind,
        title=f"newsmon ops: {kind.replace('_', ' ')}: {subject}",
        summary=message,
    )


def _tally(kinds: Iterable[str]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for kind in kinds:
        tally[kind] = tally.get(kind, 0) + 1
    return tally
