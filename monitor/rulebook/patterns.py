"""Compiled patterns and where they occur in one sentence.

The scan has already found every phrase (a *term*) of the sentence with its token span; a
pattern is then a small tree over those hits: ``Phrase`` (any of a set of terms: a list of
plain phrases is one node), ``AnyOf``, and ``AllOf`` with optional ``near`` and the
``absent`` parts that must not occur in the sentence.
"""

from __future__ import annotations

__all__ = [
    "WAYS",
    "AllOf",
    "AnyOf",
    "Hits",
    "Node",
    "Occurrence",
    "Phrase",
    "alternatives",
    "find",
    "pattern_terms",
    "positive_terms",
    "required_terms",
]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter

Span = tuple[int, int]  # a token range [start, stop)
Hits = Mapping[int, list[Span]]  # term -> where it occurs in the sentence


@dataclass(frozen=True)
class Phrase:
    """Any one of some phrases, by their term numbers in the matcher."""

    terms: frozenset[int]


@dataclass(frozen=True)
class AnyOf:
    """At least one part."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AllOf:
    """Every part (with all first words within ``near`` words), and none of ``absent``."""

    parts: tuple[Node, ...]
    absent: tuple[Node, ...] = ()
    near: int | None = None
    needs: tuple[frozenset[int], ...] = ()  # required_terms(self), kept to fail fast


Node = Phrase | AnyOf | AllOf


# Not frozen: built by the hundred per page, and a frozen dataclass costs three times as much.
@dataclass(slots=True)
class Occurrence:
    """One way a pattern matched: its phrases (``leaves``) and the tokens it covers.

    ``cover`` is what an actor mention must lie outside of to be the voicer: the whole window
    of a ``near`` match ("bar Ukraine from NATO"), or the phrases themselves otherwise.
    """

    start: int
    stop: int
    leaves: tuple[Span, ...]
    cover: tuple[Span, ...]


def positive_terms(node: Node) -> set[int]:
    """The terms whose presence can make ``node`` match: what triggers its evaluation."""
    if isinstance(node, Phrase):
        return set(node.terms)
    found: set[int] = set()
    for part in node.parts:
        found |= positive_terms(part)
    return found


def pattern_terms(node: Node) -> set[int]:
    """Every term of ``node``: those that can make it match and those that must not occur."""
    if isinstance(node, Phrase):
        return set(node.terms)
    found: set[int] = set()
    for part in (*node.parts, *node.absent) if isinstance(node, AllOf) else node.parts:
        found |= pattern_terms(part)
    return found


def required_terms(node: Node) -> list[frozenset[int]]:
    """Term sets that must each have a hit for ``node`` to match: a cheap test before ``find``."""
    if isinstance(node, Phrase):
        return [node.terms]
    if isinstance(node, AnyOf):
        return [frozenset(positive_terms(node))]
    return [terms for part in node.parts for terms in required_terms(part)]


# Most ways a pattern's alternatives are listed: an ``all`` of several ``any`` multiplies them.
WAYS = 16


def alternatives(node: Node) -> tuple[tuple[frozenset[int], ...], ...]:
    """The ways ``node`` can match, each as term sets that must all have a hit: a sentence
    where no way is complete cannot match, which is cheaper to tell than :func:`find`.

    ``any: [a, b, {all: [c, d]}]`` can match by a, by b, or by c and d together, where
    :func:`required_terms` only knows that one of a, b, c, d must occur. Past ``WAYS`` ways,
    the ``all`` falls back to what it requires of every way.
    """
    if isinstance(node, Phrase):
        return ((node.terms,),)
    if isinstance(node, AnyOf):
        return tuple(way for part in node.parts for way in alternatives(part))
    ways: tuple[tuple[frozenset[int], ...], ...] = ((),)
    for part in node.parts:
        choices = alternatives(part)
        if len(ways) * len(choices) > WAYS:
            return (tuple(required_terms(node)),)
        ways = tuple(way + choice for way in ways for choice in choices)
    return ways


_START = attrgetter("start")


def find(node: Node, hits: Hits) -> list[Occurrence]:
    """Every occurrence of ``node`` in a sentence whose phrase hits are ``hits``."""
    if isinstance(node, Phrase):
        matched = node.terms.intersection(hits)
        if not matched:
            return []
        if len(matched) == 1:
            spans = hits[next(iter(matched))]  # already in order
        else:
            spans = sorted(span for term in matched for span in hits[term])
        return [Occurrence(s, e, ((s, e),), ((s, e),)) for s, e in spans]
    if isinstance(node, AnyOf):
        found = [occ for part in node.parts for occ in find(part, hits)]
        return sorted(found, key=_START) if len(found) > 1 else found
    if any(map(frozenset.isdisjoint, node.needs, repeat(hits))):
        return []
    if node.absent and any(find(part, hits) for part in node.absent):
        return []
    groups = [find(part, hits) for part in node.parts]
    if not all(groups):
        return []
    if node.near is None:
        return [_combine([group[0] for group in groups], window=False)]
    return _within(groups, node.near)


def _combine(parts: Iterable[Occurrence], *, window: bool) -> Occurrence:
    chosen = list(parts)
    start = min(occ.start for occ in chosen)
    stop = max(occ.stop for occ in chosen)
    leaves = tuple(sorted({leaf for occ in chosen for leaf in occ.leaves}))
    cover = ((start, stop),) if window else tuple(sorted({c for occ in chosen for c in occ.cover}))
    return Occurrence(start, stop, leaves, cover)


def _within(groups: list[list[Occurrence]], near: int) -> list[Occurrence]:
    """The tightest windows holding one occurrence of every group, first words ``near`` apart."""
    items = sorted(
        ((occ.start, index, occ) for index, group in enumerate(groups) for occ in group),
        key=lambda item: (item[0], item[1]),
    )
    counts = [0] * len(groups)
    covered = 0
    left = 0
    found: list[Occurrence] = []
    for right, (start, index, _) in enumerate(items):
        counts[index] += 1
        covered += counts[index] == 1
        if covered < len(groups):
            continue
        while counts[items[left][1]] > 1:  # drop what the window holds twice, from the left
            counts[items[left][1]] -= 1
            left += 1
        if start - items[left][0] <= near:
            last = {group: occ for _, group, occ in items[left : right + 1]}
            found.append(_combine(last.values(), window=True))
    return found
