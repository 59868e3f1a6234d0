"""Demand language about something no rule knows: the cue for ops to write a rule.

A sentence where a tracked actor is tied to a strong demand cue ("Moscow insists", "the
Kremlin's conditions", "Russia calls for") but which yielded no finding is an *unrecognized
condition*. Its content words (the terms after the cue, without actors, cues and function
words) describe it, so that similar sentences group into one open item.

Built on the rule set's compiled matcher (``rules.matcher.scan``), like :mod:`monitor.match`.
"""

from __future__ import annotations

__all__ = ["GROUP_SIMILARITY", "Unknown", "resembles", "unrecognized"]

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.model import Finding
from monitor.rulebook import RuleSet
from monitor.rulebook.compile import Cue, Scan
from monitor.rulebook.text import phrase_terms

# Most words between the actor and its cue: "Russia's conditions", "Moscow has long
# insisted". Wider windows mostly catch nouns ("Russian researchers ... living conditions").
WINDOW = 2
WORDS = 8  # content words kept to describe a condition
# Fewer content words than this say what is asked too vaguely to write a rule for
# ("reiterated Russia's demands made earlier").
MIN_WORDS = 3
# Two unknown conditions of one actor are one item when their words overlap this much
# (Jaccard): "insists on guarantees for Russian speakers" and "demands guarantees for the
# Russian-speaking population" share three of five.
GROUP_SIMILARITY = 0.4

# Only the cues that mean a condition: "support", "offer" or "expect" say too little.
_STRONG = frozenset(
    phrase_terms(p)
    for p in (
        "demand",
        "insist",
        "insistence",
        "condition",
        "precondition",
        "call for",
        "require",
        "requirement",
        "ultimatum",
        "red line",
        "non-negotiable",
    )
)
_FUNCTION_WORDS = (
    "a an the of to for in on at by with from and or but that this these those its their "
    "his her our we they it he she is are was were be been being has have had will would "
    "shall should can could may might must not no also as such than then there which who "
    "whom whose what when where why how all any both each more most other some own same "
    "so very just into over under about against between through during before after "
    "above below up down out off again further once said says say told according "
    "mr ms president minister foreign"
)
_FUNCTION = frozenset(t for w in _FUNCTION_WORDS.split() for t in phrase_terms(w))


@dataclass(frozen=True)
class Unknown:
    """An actor's demand that no rule knows: the sentence and the words that describe it."""

    actor: str
    sentence: str
    start: int
    end: int
    words: tuple[str, ...]  # in the order the sentence has them


def _strong(cue: Cue, scan: Scan) -> bool:
    return cue.kind == "demand" and tuple(scan.tokens.terms[cue.start : cue.stop]) in _STRONG


# Where a strong cue may be, found without tokenizing: only the text around these is scanned.
# Generous on purpose (the scan decides); it must never miss a form the stemmer would fold.
_CUE_HINT = re.compile(
    r"\b(?:demand|insist|precondition|condition|call(?:s|ed|ing)?\s+for|requir|ultimat|"
    r"red\s+lines?\b|non-negotiable)",
    re.IGNORECASE,
)
_LOWER_HINT = re.compile(_CUE_HINT.pattern)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+")
_REACH = 600  # characters looked at on each side of a hint, at most


def _windows(text: str) -> list[tuple[int, int, bool]]:
    """Stretches of ``text`` around each cue hint: the sentence it is in, with one more on
    each side where there is one, so that the matcher's own sentence split inside the stretch
    is right. The flag says whether a stretch was cut short (a sentence longer than the reach):
    its edge sentences are then partial and ignored."""
    spans: list[tuple[int, int, bool]] = []
    folded = text.lower()
    # Matching lower-case text without IGNORECASE is twice as fast; a few characters change
    # length when lowered ("İ"), and then the offsets would not be the text's.
    same = len(folded) == len(text)
    for hint in _LOWER_HINT.finditer(folded) if same else _CUE_HINT.finditer(text):
        low = max(0, hint.start() - _REACH)
        ends = [m.end() for m in _SENTENCE_END.finditer(text, low, hint.start())]
        start = ends[-min(2, len(ends))] if ends else low
        high = min(len(text), hint.end() + _REACH)
        after = [m.start() + 1 for m in _SENTENCE_END.finditer(text, hint.end(), high)]
        stop = after[min(1, len(after) - 1)] if after else high
        cut = (not ends and low > 0) or (not after and high < len(text))
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], stop), spans[-1][2] or cut)
        else:
            spans.append((start, stop, cut))
    return spans


def unrecognized(text: str, rules: RuleSet, findings: Sequence[Finding]) -> list[Unknown]:
    """The unrecognized conditions in ``text``: at most one per sentence, in text order.

    ``findings`` are the text's findings: a sentence that gave one is recognized. Pure.
    Only the stretches around a possible cue are scanned: the article was scanned whole by
    :func:`monitor.match.match` already, and most of it has no demand language.
    """
    known = [(f.start, f.end) for f in findings]
    found: list[Unknown] = []
    for start, stop, cut in _windows(text):
        for unknown in _in(text[start:stop], rules):
            if cut and (unknown.start == 0 or unknown.end >= stop - start):
                continue
            moved = Unknown(
                unknown.actor,
                unknown.sentence,
                unknown.start + start,
                unknown.end + start,
                unknown.words,
            )
            if not any(s < moved.end and moved.start < e for s, e in known):
                found.append(moved)
    return found


def _in(text: str, rules: RuleSet) -> list[Unknown]:
    scan = rules.matcher.scan(text)
    terms = scan.tokens.terms
    found = []
    for sentence in scan.sentences:
        span = sentence.sentence
        cue = next(
            (
                c
                for c in sentence.cues
                if _strong(c, scan)
                and any(0 <= c.start - m.stop <= WINDOW for m in sentence.mentions)
            ),
            None,
        )
        if cue is None:
            continue
        actor = max(
            (m for m in sentence.mentions if 0 <= cue.start - m.stop <= WINDOW),
            key=lambda m: m.stop,
        ).actor
        named = {i for m in sentence.mentions for i in range(m.start, m.stop)}
        named |= {i for c in sentence.cues for i in range(c.start, c.stop)}
        words: list[str] = []
        for i in range(cue.stop, span.stop):
            term = terms[i]
            if i in named or term in _FUNCTION or len(term) < 3 or term.isdigit():
                continue
            if term not in words:
                words.append(term)
            if len(words) == WORDS:
                break
        if len(words) >= MIN_WORDS:
            found.append(
                Unknown(actor, text[span.start : span.end], span.start, span.end, tuple(words))
            )
    return found


def resembles(words: Iterable[str], other: Iterable[str]) -> float:
    """Jaccard similarity of two conditions' words."""
    a, b = set(words), set(other)
    return len(a & b) / len(a | b) if a | b else 0.0
