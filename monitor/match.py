"""Article text x RuleSet -> findings: who demands, rejects or drops which condition, and where.

The scan (see :mod:`monitor.rulebook.compile`) finds the actors and cues of every sentence;
then each sentence with a stance cue, or within two sentences after one that voiced a demand,
has its demand phrases looked up, each demand's pattern checked and the voice behind it
chosen:

1. Actors named inside a demand are its targets ("Ukraine" in "bar Ukraine from NATO",
   "denazification of Ukraine", "Kyiv's recognition of Crimea"), and actors after "with",
   "to", "against", "from", "primarily"... are objects: neither voices it.
2. A stance cue ("insists", "rejected", "dropped") belongs to the nearest actor named at most
   a few words before it ("Moscow's demands", "Russia has continued to push for", "related to
   the Russian initiative"), or after it with "by"/"from" ("demands from the Kremlin"). Not so
   for "must" (its subject is the one obliged), a passive ("Russia was offered") or a name
   that only qualifies a noun ("its NATO membership bid"). Each tied cue gives its own
   finding, so "The US rejected Russia's demand ..." yields both voices; an actor's reject or
   drop outweighs its demand, and speaks only for the demands of its own clause.
3. A cue tied to nobody goes to the speaker (", the Kremlin said"), else to the text's own
   voice when it says "we" or "the President" (``voice``), else to the first actor named,
   else to whoever voiced a demand in the last two sentences (a refusal only through a
   pronoun), else, for a demand, to the text's own voice.
4. Without a cue, a demand counts only just after a sentence that voiced one ("Among them:
   ..."); a bare keyword ("NATO foreign ministers met") never fires.
5. A demand's ``against`` pattern names what it opposes: rejecting that, or warning against
   it, voices the demand ("China joins Russia in opposing NATO expansion"), also where the
   demand's own words only name the same thing ("opposed to NATO's eastward expansion").
6. A demand's ``targets`` (Ukraine, for its demilitarization) may reject or drop it but never
   voice it: the voice is then looked for among the others.

These are heuristics: ``bench/evaluate.py`` measures them on labelled passages, and
``--misses`` lists where they fail (first-person speeches without a voice, goals stated with
no cue word: "fighting for the denazification of Ukraine").
"""

from __future__ import annotations

__all__ = ["STANCE_KINDS", "findings_in", "match"]

import bisect
import datetime as dt
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from monitor.model import Finding
from monitor.rulebook import RuleSet
from monitor.rulebook.compile import AGAINST, Cue, Mention, Scan, SentenceScan
from monitor.rulebook.patterns import Occurrence, find
from monitor.rulebook.text import normalize_token

WINDOW = 5  # most words between an actor and the cue it is the subject of
CARRY = 2  # sentences a voicer is remembered for ("It also wants ...")
_STANCES = {
    "demand": "demands",
    "obligation": "demands",
    "reject": "rejects",
    "drop": "drops",
    "warn": "rejects",  # only against what a demand opposes: "warns Finland against joining"
}
STANCE_KINDS = frozenset(_STANCES)  # the cue kinds that say a stance on a demand
# Rejecting what a demand opposes voices it; wanting it says too little to count.
_FLIPPED = {"rejects": "demands"}


def _terms(words: str) -> frozenset[str]:
    return frozenset(normalize_token(word) for word in words.split())


_OBJECT_BEFORE = _terms(
    "with against to toward towards into on over about between among involving in at within near "
    "around from primarily notably especially including"
)
_DETERMINERS = _terms("the a an its their our his her")
# Words between a preposition and a place: "in eastern Ukraine" is still a place.
_PLACE_WORDS = _DETERMINERS | _terms("eastern western northern southern central occupied")
_AND = _terms("and or")
_AGENT_BEFORE = _terms("by from")
_POSSESSIVES = _terms("its their his her our my your")
_BE = _terms("is are was were be been being")
_OF = _terms("the a an of for")  # "demilitarization of Ukraine", "neutral status for Kyiv"
_PRONOUNS = _terms("he she it they")
_FIRST_PERSON = _terms("we our us i my")
# "The President said" without "of ...": in a government's own statement, its head.
_THE_WORD, _OF_WORD = normalize_token("the"), normalize_token("of")
_TITLES = _terms("president")
_YEAR_BEFORE = _terms(
    "in during late early mid until by of january february march april may june july august "
    "september october november december"
)
_PAST = frozenset(
    str.split(
        "was were had did said sought made gave took told held met went came saw began put set "
        "laid left kept won lost led sent wrote spoke broke chose drew fell felt found got grew "
        "hid knew meant paid ran rose sat stood struck threw thought understood withdrew"
    )
)


Spans = list[tuple[int, int]]


@dataclass(slots=True)
class _Voices:
    """Who speaks in one sentence, given the phrases of the demands found in it."""

    ties: list[tuple[Cue, tuple[str, ...]]]  # each stance cue and the actors it belongs to
    speaker: str | None
    eligible: list[Mention]  # actors named outside every demand, not as an object or target
    pronoun: bool  # "he", "it", "they": someone named before
    first_person: bool = False  # "we", "our", "the President": the source, if it has a voice

    @property
    def subject(self) -> str | None:
        """Who the sentence is about, for a "He said" in the next one."""
        tied = next((actors[0] for _, actors in self.ties if actors), None)
        return tied or self.speaker or (self.eligible[0].actor if self.eligible else None)

    @property
    def voiced(self) -> bool:
        """Whether an actor is tied to a demand cue: context for a list that follows."""
        return any(actors and cue.kind == "demand" for cue, actors in self.ties)


class _Earlier:
    """A sentence already read. Whether it voiced a demand is known at once (by its finding,
    or else, for a sentence with a name and a demand cue, by weighing its voices); who it is
    about, only when a later sentence asks."""

    __slots__ = ("_voices", "scan", "sentence", "voiced", "voicer")

    def __init__(self, scan: Scan, sentence: SentenceScan, voicer: str | None = None) -> None:
        self.scan = scan
        self.sentence = sentence
        self.voicer = voicer  # who voiced its findings, if it had any
        self._voices: _Voices | None = None
        # Whether it voiced a demand: context for the sentences that follow. Only a name and a
        # demand cue can voice a sentence: that is checked before it is weighed.
        self.voiced = voicer is not None or (
            bool(sentence.mentions) and "demand" in sentence.kinds and self.voices.voiced
        )

    @property
    def voices(self) -> _Voices:
        # Not a cached_property: on Python 3.11 that takes a lock on every first read.
        if self._voices is None:
            self._voices = _voices(self.scan, self.sentence, [], [], [])
        return self._voices

    def subject(self) -> str | None:
        return self.voicer or self.voices.subject


class _Silent(_Earlier):
    """A sentence that names no actor and gave no finding: it voices nothing and is about
    nobody, so the many such sentences of a page share one."""

    __slots__ = ()

    def __init__(self) -> None:
        self.voicer = None
        self.voiced = False

    def subject(self) -> None:
        return None


_SILENT = _Silent()


def match(
    text: str,
    rules: RuleSet,
    *,
    year: int | None = None,
    voice: str | None = None,
    on: dt.date | None = None,
) -> list[Finding]:
    """Every (actor, demand, stance) that ``text`` shows, each with its first evidence sentence.

    Pure and fast: no I/O. ``year`` is the year the article was written; sentences that name an
    earlier year in the past tense are marked historical (without it, any year counts).
    ``voice`` is the actor the text speaks for, when it is that actor's own statement (the
    Kremlin's press releases speak for ``russia``): its "we", "our" and unnamed "the President"
    are that actor, and so is a stance that names nobody else. ``on`` is the day it was
    written: aliases valid only at other dates (an official's term) name nobody then, and it
    gives ``year`` when that is not given.
    """
    if year is None and on is not None:
        year = on.year
    return findings_in(rules.matcher.scan(text, on), rules, year=year, voice=voice)


def findings_in(
    scan: Scan, rules: RuleSet, *, year: int | None = None, voice: str | None = None
) -> list[Finding]:
    """:func:`match` on a text already scanned with ``rules.matcher.scan(text, on)``: the
    pipeline scans an article once and reads both its findings and its unrecognized
    conditions (:func:`monitor.unknown.unrecognized`) off the one scan."""
    found: dict[tuple[str, str, str], Finding] = {}
    recent: deque[_Earlier] = deque(maxlen=CARRY)
    quiet = CARRY  # sentences read since the last one that voiced a demand
    for sentence in scan.sentences:
        stance = not STANCE_KINDS.isdisjoint(sentence.kinds)
        # Cues and context first: they are at hand, where the demands are looked for on asking.
        if (stance or quiet < CARRY) and sentence.demands:
            findings = _findings(scan, sentence, rules, recent, year, voice)
        else:
            findings = []
        for finding in findings:
            key = (finding.actor, finding.demand, finding.stance)
            # The first evidence, unless it is history and the article also says it now.
            if key not in found or (found[key].historical and not finding.historical):
                found[key] = finding
        # A sentence that names nobody is about nobody, and voices nothing without a finding.
        if findings or sentence.mentions:
            earlier = _Earlier(scan, sentence, findings[0].actor if findings else None)
        else:
            earlier = _SILENT
        recent.append(earlier)
        quiet = 0 if earlier.voiced else quiet + 1
    return list(found.values())


def _findings(
    scan: Scan,
    sentence: SentenceScan,
    rules: RuleSet,
    recent: deque[_Earlier],
    year: int | None,
    voice: str | None = None,
) -> list[Finding]:
    """The findings of one sentence that has demand phrases and a cue or a context."""
    patterns = rules.matcher.patterns
    occurrences = {d: occs for d in sentence.demands if (occs := find(patterns[d], sentence.hits))}
    grievances = _grievances(occurrences)
    if not occurrences:
        return []
    leaves = [leaf for occs in occurrences.values() for occ in occs for leaf in occ.leaves]
    covers = [span for occs in occurrences.values() for occ in occs for span in occ.cover]
    windows = [(occ.start, occ.stop) for occs in occurrences.values() for occ in occs]
    voices = _voices(scan, sentence, leaves, covers, windows)
    if not voices.ties and not any(e.voiced for e in recent):
        return []  # the only cues were part of a demand's own words ("drop sanctions")

    said_by: dict[str, list[Cue]] = {}  # each voice and the cues it speaks by
    for cue, actors in voices.ties:
        for actor in actors:
            said_by.setdefault(actor, []).append(cue)
    untied = [cue for cue, actors in voices.ties if not actors]
    untied_kinds = {cue.kind for cue in untied}
    targets = {d: rules.demands[d.removesuffix(AGAINST)].targets for d in occurrences}
    eligible = voices.eligible
    named = set(said_by)  # voices tied to a cue or quoted, not guessed
    if not said_by:
        # Nobody is named by a cue: the speaker, the source itself speaking ("we insist"), the
        # first actor named, the one before, or the source.
        own = voice if voice is not None and voices.first_person else None
        # A demand nobody is named for carries over, or is the source's; a refusal may be
        # anyone's ("Biden rejected it" with Biden out of office), so it carries only
        # through a pronoun ("It later dropped the demand").
        demanding = untied_kinds <= {"demand", "obligation"}
        # What every demand here is made of ("demilitarisation ... of today's Ukraine") voices
        # none of them, named here or before.
        made_of = frozenset.intersection(*targets.values()) if demanding else frozenset()
        eligible = [m for m in eligible if m.actor not in made_of]
        carried = _carried(recent, pronoun=voices.pronoun) if demanding or voices.pronoun else None
        if carried in made_of:
            carried = None
        voicer = (
            voices.speaker
            or own
            or (eligible[0].actor if eligible else carried)
            or (voice if demanding else None)
        )
        if voicer is not None and voicer in (voices.speaker, own):
            named.add(voicer)
        if voicer is not None:
            said_by[voicer] = untied
    elif untied_kinds & {"reject", "drop", "warn"}:
        # "Russia's demand ..., which Kyiv's negotiators rejected": a second voice.
        others = (m.actor for m in eligible if m.actor not in said_by)
        speaker = voices.speaker
        voicer = speaker if speaker and speaker not in said_by else next(others, None)
        if voicer is not None:
            said_by[voicer] = [c for c in untied if c.kind in ("reject", "drop", "warn")]

    span = sentence.sentence
    said_text = scan.text[span.start : span.end]
    historical = _historical(scan, sentence, year) if said_by else False
    clause = _clauses(scan, sentence)
    # In a sentence of one clause, each voice says the same of every demand in it.
    kinds = None if clause else {actor: _said(cues, None, set()) for actor, cues in said_by.items()}
    findings = []
    for key, occs in sorted(occurrences.items(), key=lambda item: item[1][0].start):
        phrases: tuple[str, ...] | None = None
        against = key.endswith(AGAINST)
        demand = key.removesuffix(AGAINST)
        where = {clause(occ.start) for occ in occs} if clause else set()
        for actor, cues in said_by.items():
            stance = _stance(kinds[actor] if kinds else _said(cues, clause, where), against)
            if stance is None:
                continue
            if stance == "rejects" and demand in grievances and not against:
                continue  # "opposed to NATO's eastward expansion": the `against` speaks
            if against:
                # Opposing what the demand opposes is voicing it; only a named voice counts,
                # by a refusal of that very thing, not of something else in the sentence.
                if actor not in named or stance not in _FLIPPED or not _refused(cues, occs):
                    continue
                stance = _FLIPPED[stance]
            if stance == "demands" and actor in targets[key]:
                continue  # Ukraine never demands its own demilitarization
            if phrases is None:
                phrases = _phrases(scan, occs)
            findings.append(
                Finding(
                    actor=actor,
                    demand=demand,
                    stance=stance,
                    sentence=said_text,
                    start=span.start,
                    end=span.end,
                    historical=historical,
                    phrases=phrases,
                )
            )
    return findings


def _said(cues: list[Cue], clause: Callable[[int], int] | None, where: set[int]) -> frozenset[str]:
    """The kinds of cue a voice says of a demand whose words are in the clauses ``where``.

    A refusal speaks only of what its own clause says: in "X and Y are the issues; Z is not
    discussed", Z is refused, X and Y are not. A voice with no cue of its own demands.
    """
    said = frozenset(
        c.kind
        for c in cues
        if clause is None or c.kind in ("demand", "obligation") or clause(c.start) in where
    )
    return said or (_DEMAND if not cues else said)


_DEMAND = frozenset({"demand"})
_STRONGEST = ("reject", "warn", "drop", "demand", "obligation")


def _stance(said: frozenset[str], against: bool) -> str | None:
    """The stance the strongest cue said gives; a warning only against what a demand opposes."""
    for kind in _STRONGEST:
        if kind in said and (against or kind != "warn"):
            return _STANCES[kind]
    return None


def _grievances(occurrences: dict[str, list[Occurrence]]) -> set[str]:
    """Settle each demand found along with what it opposes, in place; return the demands whose
    own words only name what they oppose.

    Where the demand says more than its ``against`` ("Kyiv rejects Russia's demand for NATO
    non-expansion": "non-"), the demand is said outright and the ``against`` is dropped. Where
    its words are all inside the ``against`` ("we are opposed to NATO's eastward expansion"),
    both stay: a refusal then opposes the expansion, voicing the demand, while a demand cue
    ("our concerns about NATO's eastward expansion") still voices the demand itself.
    """
    grievances = set()
    for key in [k for k in occurrences if k.endswith(AGAINST)]:
        demand = key.removesuffix(AGAINST)
        if demand not in occurrences:
            continue
        opposed = {i for occ in occurrences[key] for s, e in occ.leaves for i in range(s, e)}
        said = {i for occ in occurrences[demand] for s, e in occ.leaves for i in range(s, e)}
        if said <= opposed:
            grievances.add(demand)
        else:
            del occurrences[key]
    return grievances


def _clauses(scan: Scan, sentence: SentenceScan) -> Callable[[int], int] | None:
    """The clause number of each token of the sentence, where semicolons part clauses; None
    for a sentence of one clause (most are)."""
    starts, text, span = scan.tokens.starts, scan.text, sentence.sentence
    if ";" not in text[span.start : span.end]:
        return None
    bounds = [
        i
        for i in range(span.first + 1, span.stop)
        if ";" in text[scan.tokens.ends[i - 1] : starts[i]]
    ]
    return lambda token: bisect.bisect_right(bounds, token)


def _voices(
    scan: Scan, sentence: SentenceScan, leaves: Spans, covers: Spans, windows: Spans
) -> _Voices:
    """Tie each stance cue to its actors, and find the speaker and the other actors named."""
    terms = scan.tokens.terms
    first = sentence.sentence.first
    mentions = sentence.mentions
    free = _not_objects(mentions, terms, first) if mentions else mentions
    cues = [
        c for c in sentence.cues if c.kind in _STANCES and not _overlaps(c.start, c.stop, leaves)
    ]
    cue_spans = [(c.start, c.stop) for c in cues]
    # "Russia was offered a truce": Russia is not who offers.
    patients = [c.start - 1 for c in cues if _passive(c, scan, first)]
    eligible = [
        m
        for m in free
        if not _overlaps(m.start, m.stop, covers)
        and m.stop not in patients
        and not _follows(m, leaves, _OF, scan, first)
        and not _precedes(m, leaves, scan)
        and not _follows(m, cue_spans, _DETERMINERS, scan, first)
    ]
    ties = [
        (
            cue,
            _subjects(cue, mentions, free, leaves, covers, windows, scan, first)
            if mentions
            else (),
        )
        for cue in cues
    ]
    speaker = (
        _speaker([c for c in sentence.cues if c.kind == "speech"], eligible)
        if eligible and "speech" in sentence.kinds
        else None
    )
    words = set(terms[first : sentence.sentence.stop])
    pronoun = not _PRONOUNS.isdisjoint(words)
    first_person = not _FIRST_PERSON.isdisjoint(words) or (
        _THE_WORD in words
        and not _TITLES.isdisjoint(words)
        and any(
            terms[i] == _THE_WORD
            and terms[i + 1] in _TITLES
            and (i + 2 >= len(terms) or terms[i + 2] != _OF_WORD)
            for i in range(first, sentence.sentence.stop - 1)
        )
    )
    return _Voices(ties, speaker, eligible, pronoun, first_person)


def _passive(cue: Cue, scan: Scan, first: int) -> bool:
    """Whether the cue is a passive verb ("was offered"): its subject is not its voice."""
    if cue.start <= first or scan.tokens.terms[cue.start - 1] not in _BE:
        return False
    word = scan.text[scan.tokens.starts[cue.start] : scan.tokens.ends[cue.start]].lower()
    return word.endswith(("ed", "en")) or word in _PAST


def _carried(recent: deque[_Earlier], *, pronoun: bool) -> str | None:
    """Who speaks in a sentence that names nobody: whoever voiced a demand just before, or,
    behind a pronoun, whoever the sentence before was about."""
    for earlier in reversed(recent):
        if earlier.voiced or (pronoun and earlier.subject()):
            return earlier.subject()
    return None


def _overlaps(start: int, stop: int, spans: Spans) -> bool:
    return any(s < stop and start < e for s, e in spans)


def _before(index: int, skip: frozenset[str], terms: list[str], first: int) -> int:
    """The index of the last word before ``index`` that is not in ``skip`` (``first - 1``)."""
    index -= 1
    while index >= first and terms[index] in skip:
        index -= 1
    return index


def _follows(mention: Mention, spans: Spans, skip: frozenset[str], scan: Scan, first: int) -> bool:
    """Whether a span ends right before the name, in the same clause: "demilitarization of
    Ukraine" names a target, but "..., NATO, the Kremlin said" does not."""
    if not spans:
        return False
    last = _before(mention.start, skip, scan.tokens.terms, first)
    if not any(stop - 1 == last for _, stop in spans):
        return False
    between = scan.text[scan.tokens.ends[last] : scan.tokens.starts[mention.start]]
    return all(c.isalpha() or c.isspace() for c in between)


def _precedes(mention: Mention, spans: Spans, scan: Scan) -> bool:
    """Whether the name stands right before a demand's words, as their owner: "Kyiv's
    recognition of Crimea", "NATO's non-expansion" name targets, not voices."""
    if not any(start == mention.stop for start, _ in spans):
        return False
    starts, ends = scan.tokens.starts, scan.tokens.ends
    return scan.text[ends[mention.stop - 1] : starts[mention.stop]].isspace()


def _not_objects(mentions: list[Mention], terms: list[str], first: int) -> list[Mention]:
    """The names that do not follow "with", "to", "against"...: talked to, not talking."""
    objects: list[Mention] = []
    for mention in mentions:
        before = _before(mention.start, _PLACE_WORDS, terms, first)
        if before < first:
            continue
        if terms[before] in _OBJECT_BEFORE or (
            terms[before] in _AND  # "with NATO and the United States"
            and any(o.stop - 1 == _before(before, _PLACE_WORDS, terms, first) for o in objects)
        ):
            objects.append(mention)
    return [m for m in mentions if m not in objects] if objects else mentions


def _subjects(
    cue: Cue,
    mentions: list[Mention],
    free: list[Mention],
    leaves: Spans,
    covers: Spans,
    windows: Spans,
    scan: Scan,
    first: int,
) -> tuple[str, ...]:
    """The actors a stance cue belongs to, if they are named right by it.

    The subject of "must" is the one obliged, never the voice, and so is the subject of a
    passive ("Russia was offered a truce"). A name inside a demand's window voices it only when
    it touches its cue ("Russia's demand to bar Ukraine ..."), and a name that is one of its
    phrases only to refuse or drop it, inside its words ("Kyiv rejects neutrality"). A name
    that touches the cue owns it even after a preposition ("related to the Russian
    initiative"), but not a name that only qualifies a noun ("its NATO membership bid").
    """
    if cue.kind == "obligation":
        return ()
    terms = scan.tokens.terms
    passive = _passive(cue, scan, first)

    def can_voice(mention: Mention, gap: int) -> bool:
        if mention.start > first and terms[mention.start - 1] in _POSSESSIVES:
            return False
        if mention not in free and gap > 0 and not _owns(mention, cue, scan):
            return False
        if _overlaps(mention.start, mention.stop, leaves):
            inside = any(s <= cue.start < e for s, e in windows)
            return cue.kind != "demand" and gap <= 1 and inside
        return gap == 0 or not _overlaps(mention.start, mention.stop, covers)

    nearest: Mention | None = None
    for mention in [] if passive else mentions:
        gap = cue.start - mention.stop
        closer = nearest is None or mention.stop > nearest.stop
        if 0 <= gap <= WINDOW and closer and can_voice(mention, gap):
            nearest = mention
    if nearest is not None:
        # "Russia and Ukraine agreed to a truce": both.
        before = _before(nearest.start, _DETERMINERS, terms, first)
        partner = _before(before, _DETERMINERS, terms, first)
        partners = [
            m.actor
            for m in mentions
            if before >= first and terms[before] in _AND and m.stop - 1 == partner
        ]
        return tuple(dict.fromkeys([*partners, nearest.actor]))
    for mention in mentions:  # "the demands by Moscow", "a proposal from the Kremlin"
        between = terms[cue.stop : mention.start]
        if (
            between
            and between[0] in _AGENT_BEFORE
            and all(t in _DETERMINERS for t in between[1:])
            and not _overlaps(mention.start, mention.stop, leaves)
        ):
            return (mention.actor,)
    return ()


def _refused(cues: list[Cue], occurrences: list[Occurrence]) -> bool:
    """Whether a refusal stands near what a demand opposes (``WINDOW`` words before or after
    it) or inside its words: "opposed to NATO's eastward expansion", "join the Alliance
    tomorrow, even if Russia opposes it", not "was not ready to respond to Russia's concerns,
    as it used the 'open door' policy as an excuse"."""
    return any(
        c.kind in ("reject", "warn")
        and (
            0 <= occ.start - c.stop <= WINDOW
            or 0 <= c.start - occ.stop <= WINDOW
            or occ.start <= c.start < occ.stop
        )
        for c in cues
        for occ in occurrences
    )


def _owns(mention: Mention, cue: Cue, scan: Scan) -> bool:
    """Whether the name is the possessor of the cue's noun, two words apart at most and with
    only words between: "to Russia's well-grounded concerns" are Russia's concerns, object of
    a preposition or not."""
    starts, ends, text = scan.tokens.starts, scan.tokens.ends, scan.text
    last = text[starts[mention.stop - 1] : ends[mention.stop - 1]]
    if not last.endswith(("'s", "\u2019s")) or cue.start - mention.stop > 2:
        return False
    between = text[ends[mention.stop - 1] : starts[cue.start]]
    return all(c.isalpha() or c.isspace() or c == "-" for c in between)


def _speaker(cues: list[Cue], pool: list[Mention]) -> str | None:
    """Who is quoted: "the Kremlin said", "said Peskov", "according to Moscow"."""
    for cue in cues:
        for mention in pool:
            if 0 <= cue.start - mention.stop <= 2 or 0 <= mention.start - cue.stop <= 1:
                return mention.actor
    return None


def _phrases(scan: Scan, occurrences: list[Occurrence]) -> tuple[str, ...]:
    """The matched phrases as the article wrote them, in order, once each."""
    starts, ends = scan.tokens.starts, scan.tokens.ends
    if len(occurrences) == 1 and len(occurrences[0].leaves) == 1:  # the commonest case
        ((s, e),) = occurrences[0].leaves
        return (scan.text[starts[s] : ends[e - 1]],)
    spans = sorted({leaf for occ in occurrences for leaf in occ.leaves})
    return tuple(dict.fromkeys(scan.text[starts[s] : ends[e - 1]] for s, e in spans))


_DIGITS = re.compile(r"\d{4}")


def _historical(scan: Scan, sentence: SentenceScan, year: int | None) -> bool:
    """About the past: a cue ("in prior negotiations"), or an earlier year in the past tense."""
    if "historical" in sentence.kinds:
        return True
    tokens, span = scan.tokens, sentence.sentence
    first, stop = span.first, span.stop
    if not _DIGITS.search(scan.text, span.start, span.end) or not any(
        len(term) == 4 and term.isdecimal() for term in tokens.terms[first:stop]
    ):
        return False  # no year named
    words = [scan.text[tokens.starts[i] : tokens.ends[i]] for i in range(first, stop)]
    earlier = any(
        len(word) == 4
        and word.isdecimal()  # not isdigit: "¹⁹⁹⁹" is a footnote mark, and int() refuses it
        and 1900 <= int(word) < (year or 2100)
        and i > 0
        and tokens.terms[first + i - 1] in _YEAR_BEFORE
        for i, word in enumerate(words)
    )
    return earlier and any(
        word.lower() in _PAST or (word.endswith("ed") and len(word) > 4 and word.islower())
        for word in words
    )
