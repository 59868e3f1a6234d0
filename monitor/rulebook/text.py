"""Text the matcher can compare: word tokens with their offsets, normalized terms, sentences.

Rule phrases and article text go through the same :func:`normalize_token`, so "NATO's",
"Nato" and "NATO" are one term, "joining" and "joined" are "join", "recognise" is "recognize",
and curly and straight apostrophes are the same. Every token keeps its character span in the
original text, so a match maps back to exactly what the article said.
"""

from __future__ import annotations

__all__ = ["Sentence", "Tokens", "normalize_token", "phrase_terms", "split_sentences", "tokenize"]

import bisect
import operator
import re
import unicodedata
from dataclasses import dataclass
from itertools import accumulate, compress, repeat
from typing import cast

import Stemmer

# A word is letters and digits (accents and combining marks included) with inner apostrophes
# ("Moscow's") and dots ("U.S.", "3.5"), or a number with thousands commas. Hyphens and dashes
# of every kind separate words, so "nuclear-free" and "nuclear free" are the same two terms.
# Captured, so that splitting by it gives gap, word, gap, ..., word, gap, all in C; the running
# sum of their lengths gives every offset, cheaper than a match object per word. (Possessive:
# a word never gives back a character, and the engine need not remember where it could.)
_WORD = re.compile(r"([\w\u0300-\u036f]++(?:['\u2019\u02bc.][\w\u0300-\u036f]++|,\d+)*+)")
# A dot between two letters: the inside of an abbreviation ("U.S", before its last dot).
_INNER_DOT = re.compile(r"\.(?=[^\W\d_])")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'"})
# British spellings become American before stemming: the stemmer strips "-ize" but not "-ise".
_BRITISH = (
    ("isations", "izations"),
    ("isation", "ization"),
    ("ising", "izing"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ise", "ize"),
    ("yse", "yze"),
    ("ysed", "yzed"),
)
# Words the stemmer folds into another word of a different meaning: "initial" into
# "initiative", "concerning" (about) into "concern", "objective" into "object (to)".
_KEEP = {
    "initial": "initial",
    "initially": "initial",
    "concerning": "concerning",
    "objective": "objective",
    "objectives": "objective",
}
# Snowball's C stemmer never releases the GIL, so one shared instance is safe.
_STEMMER = Stemmer.Stemmer("english")
US = "u.s"  # "US" and "U.S." (the country), never the pronoun "us"


# Raw word -> term. A plain dict read by ``map(dict.get, ...)`` costs far less per word than
# an ``lru_cache`` call; news vocabulary is bounded, and the cache starts over when full.
_TERMS: dict[str, str] = {}
_TERMS_MAX = 1 << 17


def normalize_token(raw: str) -> str:
    """The term a word stands for: case-, accent-, spelling- and inflection-free."""
    term = _TERMS.get(raw)
    if term is None:
        term = _normalize(raw)
        _remember({raw: term})
    return term


def _remember(terms: dict[str, str]) -> None:
    if len(_TERMS) + len(terms) > _TERMS_MAX:
        _TERMS.clear()
    _TERMS.update(terms)


def _normalize(raw: str) -> str:
    if raw == "US":
        return US
    if "." in raw and not raw[0].isdigit():
        compact = raw.replace(".", "").casefold()
        return US if compact == "us" else compact
    word = raw.translate(_APOSTROPHES).casefold()
    if word.endswith("'s"):
        word = word[:-2]
    if not word.isascii():
        word = "".join(
            c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
        )
    if word in _KEEP:
        return _KEEP[word]
    for british, american in _BRITISH:
        if word.endswith(british) and len(word) - len(british) >= 3:
            word = word[: -len(british)] + american
            break
    return str(_STEMMER.stemWord(word)).replace(" ", "")


@dataclass(frozen=True)
class Tokens:
    """The words of a text: parallel lists of start offsets, end offsets and terms."""

    starts: list[int]
    ends: list[int]
    terms: list[str]


def tokenize(text: str) -> Tokens:
    """Split ``text`` into words, each with its character span and normalized term."""
    pieces = _WORD.split(text)  # gap, word, gap, ..., word, gap
    words = pieces[1::2]
    bounds = list(accumulate(map(len, pieces)))  # where each piece ends
    starts = bounds[0:-1:2]
    ends = bounds[1::2]
    # A dotted abbreviation keeps its last dot: "U.S." (the word pattern stops before it).
    # Dots are few, so they are looked for, rather than every word looked at.
    for dot in _INNER_DOT.finditer(text):
        i = bisect.bisect_right(starts, dot.start()) - 1
        end = ends[i]
        if (
            i >= 0
            and text[end : end + 1] == "."
            and end > dot.start()
            and not words[i][0].isdigit()
        ):
            ends[i] += 1
            words[i] += "."
    terms: list[str | None] = list(map(_TERMS.get, words))
    # New words, or (rarely) a word whose term is empty, a lone combining mark: cheaper to
    # ask with all() than to compare every term to None, and the empty term is harmless.
    if not all(terms):
        # New words: normalize each once, then fill them in (dict.get with the cached term as
        # its default keeps this in C, and safe from a cache that starts over meanwhile).
        missing = set(compress(words, map(operator.is_, terms, repeat(None))))
        fresh = {word: _normalize(word) for word in missing}
        _remember(fresh)
        terms = list(map(fresh.get, words, terms))
    return Tokens(starts, ends, cast(list[str], terms))  # no None is left


def phrase_terms(phrase: str) -> tuple[str, ...]:
    """The terms of a rule phrase; empty when the phrase has no words."""
    return tuple(tokenize(phrase).terms)


# Not frozen: built by the hundred per page, and a frozen dataclass costs three times as much.
@dataclass(slots=True)
class Sentence:
    """One sentence: its character span in the text and its token range ``[first, stop)``."""

    start: int
    end: int
    first: int
    stop: int


_TERMINALS = frozenset(".!?\u2026")
_CLOSERS = frozenset("\"'\u201d\u2019\u00bb)]")
_OPENERS = frozenset("\"'\u201c\u2018\u00ab([")
_STOPS = "".join(_TERMINALS | _CLOSERS)


# Abbreviations that never end a sentence (titles), or end one only when no number follows.
def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TITLES = _words(
    "mr mrs ms dr prof gen lt col maj capt sgt cpl adm cmdr gov sen rep rev st mt ft jr sr "
    "pres amb hon messrs brig"
)
_BEFORE_NUMBERS = _words("jan feb mar apr jun jul aug sep sept oct nov dec no nos art vol")
# After a dotted abbreviation ("the U.S.") or a company suffix, only these start a new sentence.
_WEAK = _words("inc corp co ltd plc llc")
_STARTERS = _words(
    "The This That These Those It Its He She They We I But And However In On At A An There "
    "His Her Their Our When While After Before Meanwhile Still Yet Earlier Later According"
)


def _ends_sentence(text: str, starts: list[int], ends: list[int], i: int) -> int | None:
    """Where the sentence ends if one ends after word ``i`` (and before ``i + 1``), else None."""
    end = ends[i]
    gap = text[end : starts[i + 1]]
    if gap == ". ":  # the commonest by far: a full stop and a space
        run, stops = 1, "."
    else:
        run = len(gap) - len(gap.lstrip(_STOPS))  # the stops and closing marks after the word
        if "\n" in gap:
            return end + run
        stops = gap[:run]
    word = text[starts[i] : end]
    after = text[starts[i + 1] : ends[i + 1]]
    if _TERMINALS.isdisjoint(stops):
        # "... in the U.S. The talks": the dot belongs to the token itself.
        if word.endswith(".") and gap.isspace() and after in _STARTERS:
            return end
        return None
    if stops[0] == ".":
        key = word.casefold()
        if key in _TITLES or (len(word) == 1 and word.isupper()):
            return None  # "Gen. Keith Kellogg", "Donald J. Trump"
        if key in _BEFORE_NUMBERS and after[0].isdigit():
            return None  # "Jan. 5", "No. 2"
        if key in _WEAK and after not in _STARTERS:
            return None
    if (
        run > 1
        and not _CLOSERS.isdisjoint(stops)
        and _attribution_follows(text, starts, ends, i + 1)
    ):
        return None  # "Never!" Lavrov said: the quote and who said it are one sentence
    if after[0].isupper() or after[0].isdigit() or not _OPENERS.isdisjoint(gap[run:]):
        return end + run
    return None  # "e.g. the", "3 p.m. local time"


_SAID = frozenset(
    [
        "said",
        "says",
        "say",
        "told",
        "tells",
        "asked",
        "asks",
        "added",
        "adds",
        "insisted",
        "wrote",
        "stated",
    ]
)


def _attribution_follows(text: str, starts: list[int], ends: list[int], i: int) -> bool:
    """Whether a speech verb comes within the next three words ("Lavrov said", "the Kremlin
    spokesman said", "said Peskov")."""
    stop = min(i + 4, len(starts))
    words = (text[starts[j] : ends[j]].casefold() for j in range(i, stop))
    return any(word in _SAID for word in words)


_BREAKS = ".!?\u2026\n"


def _breaks(text: str) -> list[int]:
    """Where the characters that can end a sentence are: str.find runs in C and skips ahead
    faster than a regular expression steps through every character."""
    found = []
    for char in _BREAKS:
        at = text.find(char)
        while at >= 0:
            found.append(at)
            at = text.find(char, at + 1)
    return found


def split_sentences(text: str, tokens: Tokens) -> list[Sentence]:
    """Cut news text into sentences, surviving abbreviations, initials, quotes and decimals."""
    starts, ends = tokens.starts, tokens.ends
    count = len(starts)
    if not count:
        return []
    # Only a word followed by a stop, a newline, or a dot of its own can end a sentence.
    # (Each is found as the number of words that start at or before a break, less one.)
    candidates = sorted(set(map(bisect.bisect_right, repeat(starts), _breaks(text))))
    sentences: list[Sentence] = []
    first = 0
    start = starts[0] - len(text[: starts[0]].lstrip())
    for following in candidates:
        if not 0 < following < count:
            continue
        end = _ends_sentence(text, starts, ends, following - 1)
        if end is None:
            continue
        sentences.append(Sentence(start, end, first, following))
        first = following
        gap = text[end : starts[first]]
        start = starts[first] if gap == " " else end + len(gap) - len(gap.lstrip())
    end = ends[-1]
    while end < len(text) and (text[end] in _TERMINALS or text[end] in _CLOSERS):
        end += 1
    sentences.append(Sentence(start, end, first, count))
    return sentences
