"""Demand language about something no rule knows: the cue for ops to write a rule.

A sentence where a tracked actor is tied to a strong demand cue ("Moscow insists", "the
Kremlin's conditions", "Russia calls for") but which yielded no finding is an *unrecognized
condition*. Its content words (the terms after the cue, without actors, cues and function
words) describe it, so that similar sentences group into one open item.

Read off the same scan as the findings (``rules.matcher.scan``), so an article is scanned once.
"""

from __future__ import annotations

__all__ = ["GROUP_SIMILARITY", "Unknown", "resembles", "unrecognized"]

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.model import Finding
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
    words: tuple[str, ...]  # their terms (stems), in the order the sentence has them
    shown: tuple[str, ...] = ()  # the same words as written (lower case), for people


def _strong(cue: Cue, scan: Scan) -> bool:
    return cue.kind == "demand" and tuple(scan.tokens.terms[cue.start : cue.stop]) in _STRONG


def unrecognized(scan: Scan, findings: Sequence[Finding]) -> list[Unknown]:
    """The unrecognized conditions of a scanned text: at most one per sentence, in text order.

    ``findings`` are the text's findings (:func:`monitor.match.findings_in` on the same scan):
    a sentence that gave one is recognized. Pure.
    """
    known = [(f.start, f.end) for f in findings]
    return [u for u in _in(scan) if not any(s < u.end and u.start < e for s, e in known)]


def _in(scan: Scan) -> list[Unknown]:
    text, terms = scan.text, scan.tokens.terms
    starts, ends = scan.tokens.starts, scan.tokens.ends
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
        shown: list[str] = []
        for i in range(cue.stop, span.stop):
            term = terms[i]
            if i in named or term in _FUNCTION or len(term) < 3 or term.isdigit():
                continue
            if term not in words:
                words.append(term)
                shown.append(text[starts[i] : ends[i]].lower())
            if len(words) == WORDS:
                break
        if len(words) >= MIN_WORDS:
            found.append(
                Unknown(
                    actor,
                    text[span.start : span.end],
                    span.start,
                    span.end,
                    tuple(words),
                    tuple(shown),
                )
            )
    return found


def resembles(words: Iterable[str], other: Iterable[str]) -> float:
    """Jaccard similarity of two conditions' words."""
    a, b = set(words), set(other)
    return len(a & b) / len(a | b) if a | b else 0.0
