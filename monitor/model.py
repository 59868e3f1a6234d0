"""The nouns of newsmon as frozen dataclasses: plain data passed between the stages."""

from __future__ import annotations

__all__ = [
    "DELTA_KINDS",
    "STANCES",
    "Article",
    "Delta",
    "DeltaKind",
    "Entry",
    "Finding",
    "Message",
]

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

STANCES = ("demands", "rejects", "drops")

DeltaKind = Literal[
    "new_condition",
    "demand_repeated",
    "demand_resurfaced",
    "demand_dropped",
    "demand_rejected",
    "unrecognized_condition",
]
DELTA_KINDS: tuple[str, ...] = get_args(DeltaKind)


@dataclass(frozen=True)
class Entry:
    """One entry of a feed, as the parser saw it.

    ``key`` is the entry's stable identity: its GUID, else its link, else a hash of title and link.
    ``published`` is timezone-aware UTC, or None when the feed gave no usable date.
    """

    key: str
    url: str
    title: str
    published: datetime | None
    summary: str = ""


@dataclass(frozen=True)
class Article:
    """The readable text of one item, with what is known about where it came from."""

    url: str
    title: str
    text: str
    published: datetime | None = None
    source: str = ""


@dataclass(frozen=True)
class Finding:
    """In one article, one actor's stance on one demand, with the sentence that shows it.

    ``start`` and ``end`` are character offsets of ``sentence`` in the article text.
    ``historical`` marks a sentence about the past ("in late 2021 Moscow insisted ...").
    """

    actor: str
    demand: str
    stance: str
    sentence: str
    start: int
    end: int
    historical: bool = False
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delta:
    """What changed in the history of one (actor, demand) pair, and the finding that changed it."""

    kind: str
    actor: str
    demand: str
    stance: str
    sentence: str
    url: str
    title: str
    published: datetime
    source: str = ""
    historical: bool = False
    actor_name: str = ""
    demand_title: str = ""
    phrases: tuple[str, ...] = ()
    id: int | None = None
    # History of the pair after this delta, for the reader of an alert.
    first_seen: datetime | None = None
    articles: int = 1
    # Distinct sources that voiced the pair so far (0: not known, e.g. before issue 6).
    sources: int = 0
    # The demand's severity in the rules when recorded ("low", "medium", "high"; "" unknown).
    severity: str = ""
    # Articles carrying this same statement: the first, and its near-duplicate copies.
    corroborations: int = 1


@dataclass(frozen=True)
class Message:
    """A delta (or a group of deltas) rendered for people: a one-line headline and a body."""

    headline: str
    text: str
    html: str
    deltas: tuple[Delta, ...] = field(default=())
