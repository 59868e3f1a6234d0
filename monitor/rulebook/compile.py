"""Compile a validated rule set into one automaton, and scan a text with it.

Every phrase of every demand pattern, actor alias and cue is normalized into a sequence of
terms and added once to a single Aho-Corasick automaton over the space-joined terms of the
text, so one pass finds all of them, overlapping ones included, on word boundaries. A scan
then groups the hits by sentence, ready for :mod:`monitor.match` to weigh.
"""

from __future__ import annotations

__all__ = [
    "AGAINST",
    "CUE_KINDS",
    "Cue",
    "Matcher",
    "Mention",
    "Scan",
    "SentenceScan",
    "Window",
    "build_matcher",
]

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add
from typing import Any

import ahocorasick

from monitor.rulebook.patterns import (
    AllOf,
    AnyOf,
    Node,
    Phrase,
    positive_terms,
    required_terms,
)
from monitor.rulebook.schema import AllPattern, AnyPattern, NotPattern, Pattern
from monitor.rulebook.text import Sentence, Tokens, phrase_terms, split_sentences, tokenize

CUE_KINDS = ("demand", "obligation", "reject", "drop", "warn", "speech", "historical")
Window = tuple[dt.date | None, dt.date | None]  # from, until (inclusive; None is open)
# Key suffix of a demand's ``against`` pattern; no id can contain a space.
AGAINST = " against"


@dataclass(frozen=True)
class Mention:
    """An actor named in a sentence, by token range."""

    start: int
    stop: int
    actor: str


@dataclass(frozen=True)
class Cue:
    """A cue word in a sentence ("insists", "rejected", "said", "in prior talks")."""

    start: int
    stop: int
    kind: str


@dataclass(frozen=True)
class SentenceScan:
    """What the automaton found in one sentence."""

    sentence: Sentence
    hits: dict[int, list[tuple[int, int]]]
    mentions: list[Mention]
    cues: list[Cue]
    demands: list[str]  # demands that may match here (each needed phrase occurs), in rule order


@dataclass(frozen=True)
class Scan:
    """A text cut into tokens and sentences, with every phrase hit."""

    text: str
    tokens: Tokens
    sentences: list[SentenceScan]


@dataclass(frozen=True)
class Matcher:
    """The compiled rule set: the automaton and what each of its terms means."""

    automaton: Any  # ahocorasick.Automaton, or None when there is nothing to find
    sizes: tuple[int, ...]  # words per term
    actor_of: Mapping[int, str]
    cues_of: Mapping[int, tuple[str, ...]]
    demands_of: Mapping[int, tuple[str, ...]]
    patterns: Mapping[str, Node]
    order: Mapping[str, int]
    required: Mapping[str, tuple[frozenset[int], ...]]
    windows_of: Mapping[int, tuple[Window, ...]] = field(default_factory=dict)
    # What each term is, read once per hit: its actor (or None), that alias's windows (or
    # None when it always counts), its cue kinds and the demands it can trigger.
    roles: Sequence[_Role] = ()

    def scan(self, text: str, on: dt.date | None = None) -> Scan:
        """Tokenize ``text``, cut it into sentences and find every phrase in each.

        ``on`` is the date the text was written: an alias valid only at other dates (an
        official out of office) names nobody then. Without it, every alias counts.
        """
        tokens = tokenize(text)
        sentences = split_sentences(text, tokens)
        found: dict[int, list[tuple[int, int, int]]] = {}  # sentence -> its hits, if any
        terms = tokens.terms
        if self.automaton is not None and terms:
            # Each key is " t1 t2 ", so a hit ends on the space after its last token: the
            # space after token i is at the sum of the lengths of terms 0..i, plus i + 1. Hits
            # are few, tokens many, so each hit is placed by bisection rather than every token
            # by a loop.
            marks = list(accumulate(map(add, map(len, terms), repeat(1))))
            stops = [sentence.stop for sentence in sentences]
            sizes = self.sizes
            for end, term in self.automaton.iter(" " + " ".join(terms) + " "):
                last = bisect_left(marks, end)
                first = last - sizes[term] + 1
                where = bisect_right(stops, first)
                if stops[where] > last:
                    # Stored as (start, -stop) so plain sorting puts the longest first.
                    hit = (first, -(last + 1), term)
                    if where in found:
                        found[where].append(hit)
                    else:
                        found[where] = [hit]
        return Scan(
            text,
            tokens,
            [
                self._sentence(s, found[i], on) if i in found else _nothing(s)
                for i, s in enumerate(sentences)
            ],
        )

    def _sentence(
        self, sentence: Sentence, found: list[tuple[int, int, int]], on: dt.date | None
    ) -> SentenceScan:
        hits: dict[int, list[tuple[int, int]]] = {}
        mentions: list[Mention] = []
        cues: list[Cue] = []
        demands: set[str] = set()
        roles = self.roles
        # Hits come sorted by start, longest first, so a hit inside an earlier one of the same
        # actor ends no later than it: "Vladimir Putin" holds "Putin". The longest cue wins
        # whatever its kind: "need to" (obligation) holds "need", "no longer demand" (drop)
        # holds "demand".
        actor_reach: dict[str, int] = {}
        cue_reach = -1
        found.sort()
        for start, minus_stop, term in found:
            stop = -minus_stop
            if term in hits:
                hits[term].append((start, stop))
            else:
                hits[term] = [(start, stop)]
            actor, windows, kinds, triggered = roles[term]
            if (
                actor is not None
                and actor_reach.get(actor, -1) < stop
                and (windows is None or on is None or _valid(windows, on))
            ):
                mentions.append(Mention(start, stop, actor))
                actor_reach[actor] = stop
            if kinds and cue_reach < stop:
                cues.extend(Cue(start, stop, kind) for kind in kinds)
                cue_reach = stop
            if triggered:
                demands.update(triggered)
        required = self.required
        possible = [
            demand
            for demand in sorted(demands, key=self.order.__getitem__)
            if not any(map(frozenset.isdisjoint, required[demand], repeat(hits)))
        ]
        return SentenceScan(sentence, hits, mentions, cues, possible)


def _nothing(sentence: Sentence) -> SentenceScan:
    return SentenceScan(sentence, {}, [], [], [])


_Role = tuple[str | None, tuple[Window, ...] | None, tuple[str, ...], tuple[str, ...]]


def _valid(windows: tuple[Window, ...], on: dt.date) -> bool:
    return any(
        (start is None or start <= on) and (end is None or on <= end) for start, end in windows
    )


class _Terms:
    """Interns phrases: one automaton key per distinct sequence of terms."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, ...], int] = {}

    def add(self, phrase: str) -> int:
        key = phrase_terms(phrase)
        return self.index.setdefault(key, len(self.index))

    def compile(self, pattern: Pattern) -> Node:
        if isinstance(pattern, str):
            return Phrase(frozenset({self.add(pattern)}))
        if isinstance(pattern, AnyPattern):
            # Plain phrases side by side become one node: one lookup instead of one each.
            compiled = [self.compile(p) for p in pattern.any]
            phrases = [p for p in compiled if isinstance(p, Phrase)]
            others: list[Node] = [p for p in compiled if not isinstance(p, Phrase)]
            if phrases:
                others.insert(0, Phrase(frozenset().union(*(p.terms for p in phrases))))
            return others[0] if len(others) == 1 else AnyOf(tuple(others))
        if isinstance(pattern, AllPattern):
            parts = tuple(self.compile(p) for p in pattern.all if not isinstance(p, NotPattern))
            return AllOf(
                parts,
                tuple(self.compile(p.not_) for p in pattern.all if isinstance(p, NotPattern)),
                pattern.near,
                tuple(required_terms(AllOf(parts))),
            )
        raise ValueError("'not' stands only inside 'all'")  # the loader reports it first


def build_matcher(
    actors: Mapping[str, Sequence[str]],
    patterns: Mapping[str, Pattern],
    cues: Mapping[str, Sequence[str]],
    *,
    windows: Mapping[str, Sequence[Window]] | None = None,
) -> Matcher:
    """Compile actor aliases, demand patterns and cue phrases into one :class:`Matcher`.

    ``windows`` gives the dates between which an alias names its actor (absent: always).
    """
    terms = _Terms()
    actor_of = {terms.add(alias): actor for actor, aliases in actors.items() for alias in aliases}
    windows_of: dict[int, tuple[Window, ...]] = {}
    for alias, spans in (windows or {}).items():
        if (None, None) not in spans:
            term = terms.add(alias)
            windows_of[term] = (*windows_of.get(term, ()), *spans)
    cues_of: dict[int, tuple[str, ...]] = {}
    for kind, phrases in cues.items():
        for phrase in phrases:
            term = terms.add(phrase)
            if kind not in cues_of.get(term, ()):
                cues_of[term] = (*cues_of.get(term, ()), kind)
    nodes = {demand: terms.compile(pattern) for demand, pattern in patterns.items()}
    demands_of: dict[int, tuple[str, ...]] = {}
    for demand, node in nodes.items():
        for term in positive_terms(node):
            demands_of[term] = (*demands_of.get(term, ()), demand)
    automaton = None
    if terms.index:
        automaton = ahocorasick.Automaton()
        for key, term in terms.index.items():
            automaton.add_word(" " + " ".join(key) + " ", term)
        automaton.make_automaton()
    sizes = [0] * len(terms.index)
    for key, term in terms.index.items():
        sizes[term] = len(key)
    roles = [
        (actor_of.get(term), windows_of.get(term), cues_of.get(term, ()), demands_of.get(term, ()))
        for term in range(len(terms.index))
    ]
    return Matcher(
        automaton,
        tuple(sizes),
        actor_of,
        cues_of,
        demands_of,
        nodes,
        {demand: index for index, demand in enumerate(nodes)},
        {demand: tuple(required_terms(node)) for demand, node in nodes.items()},
        windows_of,
        tuple(roles),
    )
