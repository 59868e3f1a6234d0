"""The loaded rule set: actors, demands, their examples and the compiled matcher."""

from __future__ import annotations

__all__ = ["Actor", "Demand", "Example", "RuleSet"]

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.rulebook.compile import Matcher


@dataclass(frozen=True)
class Actor:
    """Someone whose demands are tracked, and the names the press uses for them."""

    id: str
    name: str
    aliases: tuple[str, ...]
    # Aliases valid only between two dates (either may be open): (alias, from, until).
    terms: tuple[tuple[str, dt.date | None, dt.date | None], ...] = ()


@dataclass(frozen=True)
class Demand:
    """A condition an actor can set; ``severity`` is "low", "medium" or "high"."""

    id: str
    title: str
    description: str
    severity: str
    targets: frozenset[str] = frozenset()  # actors it is made of, who never voice it


@dataclass(frozen=True)
class Example:
    """A sentence a rule file says must (or must not) yield a finding for ``demand``."""

    demand: str
    text: str
    should_match: bool
    file: str
    line: int | None
    field: str


@dataclass(frozen=True)
class RuleSet:
    """Everything the rule files say, compiled once for :func:`monitor.match.match`.

    ``version`` is a short hash of the files' contents: it changes when any rule changes;
    ``digests`` hashes each actor and demand, so two versions can be compared rule by rule.
    """

    actors: Mapping[str, Actor]
    demands: Mapping[str, Demand]
    version: str
    files: tuple[str, ...]
    matcher: Matcher = field(repr=False, compare=False)
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    digests: Mapping[str, str] = field(default_factory=dict)  # "actor:russia" -> its hash
