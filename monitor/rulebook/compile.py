"""Compile a validated rule set into two tries of terms, and scan a text with them.

Every phrase of every demand pattern, actor alias and cue is normalized into a sequence of
terms (one number per distinct sequence) and put in a trie keyed by whole terms (nested
dicts): the actors' names and the cues in one, the demands' phrases in the other. Matching
is on word boundaries by construction, overlapping phrases included.

A scan tokenizes the text, cuts it into sentences and looks every word up in the first level
of the actors-and-cues trie, in C; Python walks on only from the words that begin a name or
a cue, and never past the sentence. The demands' phrases of a sentence are looked up the same
way, but only when :mod:`monitor.match` weighs that sentence: one with a stance cue, or within
two sentences after one that voiced a demand, a few of a page's fifty.

(This replaced an Aho-Corasick automaton over the space-joined terms: rules use few of a
text's words, so most words cost one dict look-up here, where the automaton stepped through
every character and each hit then had to be mapped back to its words.)
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
    "Trie",
    "Window",
    "build_matcher",
]

import datetime as dt
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress, count, repeat
from typing import Any, TypeAlias

from monitor.rulebook.patterns import (
    AllOf,
    AnyOf,
    Node,
    Phrase,
    alternatives,
    pattern_terms,
    positive_terms,
    required_terms,
)
from monitor.rulebook.schema import AllPattern, AnyPattern, NotPattern, Pattern
from monitor.rulebook.text import Sentence, Tokens, phrase_terms, split_sentences, tokenize

CUE_KINDS = ("demand", "obligation", "reject", "drop", "warn", "speech", "historical")
Window = tuple[dt.date | None, dt.date | None]  # from, until (inclusive; None is open)
# Key suffix of a demand's ``against`` pattern; no id can contain a space.
AGAINST = " against"


# Not frozen: built by the hundred per page, and a frozen dataclass costs three times as much.
@dataclass(slots=True)
class Mention:
    """An actor named in a sentence, by token range."""

    start: int
    stop: int
    actor: str


# Not frozen: built by the hundred per page, and a frozen dataclass costs three times as much.
@dataclass(slots=True)
class Cue:
    """A cue word in a sentence ("insists", "rejected", "said", "in prior talks")."""

    start: int
    stop: int
    kind: str


class SentenceScan:
    """What the scan found in one sentence: the actors it names and its cues at once, and its
    phrase hits and the demands they may make when first asked.

    Most sentences are never asked: only one with a stance cue, or one within two sentences
    after one that voiced a demand, is weighed (:func:`monitor.match.findings_in`). So the
    phrase hits of a sentence where nobody wants anything cost nothing beyond the one look-up
    per word that found the actors and cues.
    """

    __slots__ = (
        "_demands",
        "_hits",
        "_matcher",
        "_terms",
        "cues",
        "kinds",
        "mentions",
        "sentence",
    )

    def __init__(
        self,
        sentence: Sentence,
        mentions: list[Mention],
        cues: list[Cue],
        matcher: Matcher,
        terms: list[str],
        kinds: frozenset[str],
    ) -> None:
        self.sentence = sentence
        self.mentions = mentions
        self.cues = cues
        self.kinds = kinds  # the kinds of its cues
        self._matcher = matcher
        self._terms = terms
        self._hits: dict[int, list[tuple[int, int]]] | None = None
        self._demands: list[str] = []

    @property
    def hits(self) -> dict[int, list[tuple[int, int]]]:
        """Where each demand phrase (by term number) occurs in the sentence, as token spans in
        order."""
        if self._hits is None:
            self._hits, self._demands = self._matcher.phrases_in(self._terms, self.sentence)
        return self._hits

    @property
    def demands(self) -> list[str]:
        """The demands that may match here (one of their ways to match has all its phrases),
        in rule order."""
        if self._hits is None:
            self._hits, self._demands = self._matcher.phrases_in(self._terms, self.sentence)
        return self._demands


@dataclass(frozen=True)
class Scan:
    """A text cut into tokens and sentences, with the actors and cues of each."""

    text: str
    tokens: Tokens
    sentences: list[SentenceScan]


@dataclass(frozen=True)
class Matcher:
    """The compiled rule set: the tries of phrases and what each of their terms means."""

    # The phrases of the demands' patterns, one word or more, as a trie of whole terms: first
    # word -> the phrases that start with it. Every word of a weighed sentence is looked up
    # in its first level in C; Python walks on only from the words that begin a phrase.
    trie: Mapping[str, Trie]
    sizes: tuple[int, ...]  # words per term
    patterns: Mapping[str, Node]
    # What each term is to the scan, read once per hit: its actor (or None), that alias's
    # windows (or None when it always counts) and its cue kinds.
    roles: Sequence[_Role]
    # The demands in rule order, and the ways each can match (see ``alternatives``) that
    # take more than one phrase; by term, the demands it can trigger (by number), and those
    # it completes a way to match alone.
    demand_ids: Sequence[str]
    joint_ways: Sequence[tuple[tuple[frozenset[int], ...], ...]]
    triggers: Sequence[tuple[int, ...]]
    completes: Sequence[tuple[int, ...]]
    # The phrases that name an actor or are a cue, one word or more, as one trie: a whole
    # text is looked up in it, since every sentence needs its actors and cues.
    signal_trie: Mapping[str, Trie]
    # Aliases that name their actor only where the text capitalizes them ("Turkey", not the
    # bird): their term numbers.
    capitalized: frozenset[int] = frozenset()

    def scan(self, text: str, on: dt.date | None = None) -> Scan:
        """Tokenize ``text``, cut it into sentences and find the actors and cues in each.

        A sentence's other phrases are found when :attr:`SentenceScan.hits` is first read.
        ``on`` is the date the text was written: an alias valid only at other dates (an
        official out of office) names nobody then. Without it, every alias counts.
        """
        tokens = tokenize(text)
        sentences = split_sentences(text, tokens)
        terms = tokens.terms
        mentions: list[list[Mention]] = [[] for _ in sentences]
        cues: list[list[Cue]] = [[] for _ in sentences]
        kinds_in: dict[int, set[str]] = {}
        stops = [sentence.stop for sentence in sentences]
        trie, roles, capital = self.signal_trie, self.roles, self.capitalized
        here, stop = -1, -1  # the sentence of the word at hand, and where it ends
        actor_reach: dict[str, int] = {}
        cue_reach = -1
        # Each word is looked up in the trie's first level in C; Python goes on only from the
        # words that begin an actor's name or a cue.
        for first in compress(count(), map(trie.__contains__, terms)):
            if first >= stop:
                here = bisect_right(stops, first, here + 1)
                stop = stops[here]  # a phrase ends in the sentence it starts in
                actor_reach, cue_reach = {}, -1
            children, single = trie[terms[first]]
            after = first + 1
            if children is not None and after < stop and terms[after] in children:
                found = [] if single is None else [(after, single)]
                while children and after < stop:
                    node = children.get(terms[after])
                    if node is None:
                        break
                    children, term = node
                    after += 1
                    if term is not None:
                        found.append((after, term))
                found.reverse()
            elif single is None:
                continue  # "in", "have": the start of a longer phrase that is not here
            else:
                found = [(after, single)]
            # The longest first, so that a name inside a longer one of the same actor ends no
            # later than it: "Vladimir Putin" holds "Putin". The longest cue wins whatever its
            # kind: "need to" (obligation) holds "need", "no longer demand" (drop) "demand".
            for end, term in found:
                actor, windows, kinds = roles[term]
                if (
                    actor is not None
                    and actor_reach.get(actor, -1) < end
                    and (windows is None or on is None or _valid(windows, on))
                    and (term not in capital or text[tokens.starts[first]].isupper())
                ):
                    mentions[here].append(Mention(first, end, actor))
                    actor_reach[actor] = end
                if kinds and cue_reach < end:
                    cues[here].extend(Cue(first, end, kind) for kind in kinds)
                    kinds_in.setdefault(here, set()).update(kinds)
                    cue_reach = end
        return Scan(
            text,
            tokens,
            [
                SentenceScan(sentence, named, cued, self, terms, kinds)
                for sentence, named, cued, kinds in zip(
                    sentences, mentions, cues, _kinds(kinds_in, len(sentences)), strict=True
                )
            ],
        )

    def phrases_in(
        self, terms: list[str], sentence: Sentence
    ) -> tuple[dict[int, list[tuple[int, int]]], list[str]]:
        """Where each demand phrase occurs in one sentence of a scanned text (``terms`` are
        the text's), and the demands that may match there: those with a way to match whose
        phrases all occur, in rule order."""
        first, stop = sentence.first, sentence.stop
        hits: dict[int, list[tuple[int, int]]] = {}
        trie = self.trie
        # As the scan does for actors and cues. Each term's spans come in order: a term is of
        # one length, so they need no sorting.
        for i in compress(count(first), map(trie.__contains__, terms[first:stop])):
            children, term = trie[terms[i]]
            after = i + 1
            while True:
                if term is not None:
                    if term in hits:
                        hits[term].append((i, after))
                    else:
                        hits[term] = [(i, after)]
                if not children or after >= stop:
                    break
                node = children.get(terms[after])
                if node is None:
                    break
                children, term = node
                after += 1
        # A phrase that completes a way alone makes its demands possible at once; the others
        # it triggers are possible where every part of one of their joint ways has a hit.
        possible = set(chain.from_iterable(map(self.completes.__getitem__, hits)))
        joint = self.joint_ways
        for demand in set(chain.from_iterable(map(self.triggers.__getitem__, hits))) - possible:
            for way in joint[demand]:
                if not any(map(frozenset.isdisjoint, way, repeat(hits))):
                    possible.add(demand)
                    break
        names = self.demand_ids
        return hits, [names[demand] for demand in sorted(possible)]


_NO_KINDS: frozenset[str] = frozenset()


def _kinds(found: Mapping[int, set[str]], count: int) -> list[frozenset[str]]:
    """The cue kinds of each of ``count`` sentences, from those of the sentences that have any."""
    kinds = [_NO_KINDS] * count
    for index, found_kinds in found.items():
        kinds[index] = frozenset(found_kinds)
    return kinds


_Role = tuple[str | None, tuple[Window, ...] | None, tuple[str, ...]]
# A trie node: the phrases that go on by one more word (None: none do), and the phrase that
# ends here, if one does.
Trie: TypeAlias = tuple["dict[str, Trie] | None", int | None]


def _trie(phrases: Mapping[tuple[str, ...], int]) -> dict[str, Trie]:
    """The phrases (term sequences, each with its number) as a trie of whole terms."""
    root: dict[str, Any] = {}
    for key, term in phrases.items():
        level = root
        for depth, word in enumerate(key, 1):
            node = level.setdefault(word, [{}, None])
            if depth == len(key):
                node[1] = term
            level = node[0]

    def freeze(level: dict[str, Any]) -> dict[str, Trie]:
        return {word: (freeze(below) or None, term) for word, (below, term) in level.items()}

    return freeze(root)


def _valid(windows: tuple[Window, ...], on: dt.date) -> bool:
    return any(
        (start is None or start <= on) and (end is None or on <= end) for start, end in windows
    )


class _Terms:
    """Interns phrases: one term number per distinct sequence of terms."""

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
    capitalized: Collection[str] = (),
) -> Matcher:
    """Compile actor aliases, demand patterns and cue phrases into one :class:`Matcher`.

    ``windows`` gives the dates between which an alias names its actor (absent: always);
    a ``capitalized`` alias names it only where the text capitalizes its first letter.
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
    sizes = [0] * len(terms.index)
    for key, term in terms.index.items():
        sizes[term] = len(key)
    number = {demand: index for index, demand in enumerate(nodes)}
    roles = [
        (actor_of.get(term), windows_of.get(term), cues_of.get(term, ()))
        for term in range(len(terms.index))
    ]
    ways = [alternatives(node) for node in nodes.values()]
    completes: list[set[int]] = [set() for _ in range(len(terms.index))]
    for index, found in enumerate(ways):
        for way in found:
            if len(way) == 1:
                for term in way[0]:
                    completes[term].add(index)
    signals = {key: term for key, term in terms.index.items() if roles[term][0] or roles[term][2]}
    # Every phrase of the demands' patterns: those of their 'not' parts trigger nothing, but
    # are looked for all the same, even where an actor or a cue is named so.
    used = set().union(*(pattern_terms(node) for node in nodes.values()))
    demand_phrases = {key: term for key, term in terms.index.items() if term in used}
    return Matcher(
        trie=_trie(demand_phrases),
        sizes=tuple(sizes),
        patterns=nodes,
        roles=tuple(roles),
        demand_ids=tuple(nodes),
        joint_ways=tuple(tuple(way for way in found if len(way) > 1) for found in ways),
        triggers=tuple(
            tuple(number[demand] for demand in demands_of.get(term, ()))
            for term in range(len(terms.index))
        ),
        completes=tuple(tuple(sorted(demands)) for demands in completes),
        signal_trie=_trie(signals),
        capitalized=frozenset(terms.add(alias) for alias in capitalized),
    )
