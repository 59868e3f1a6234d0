"""The scan: tokens, sentences, and the phrases of each sentence, found once per text."""

from __future__ import annotations

from monitor.rulebook.compile import Matcher, Scan, build_matcher
from monitor.rulebook.patterns import WAYS, AllOf, AnyOf, Phrase, alternatives, find
from monitor.rulebook.schema import AllPattern, AnyPattern
from monitor.rulebook.text import phrase_terms


def _matcher() -> Matcher:
    return build_matcher(
        {"russia": ["Russia", "Vladimir Putin", "Putin"], "nato": ["NATO"]},
        {
            "ukraine-nato-ban": AnyPattern.model_validate({"any": ["join NATO", "never join"]}),
            "no-foreign-troops": AllPattern.model_validate(
                {"all": ["peacekeepers", {"not": "NATO"}]}
            ),
            "ceasefire": AnyPattern.model_validate(
                {"any": ["truce", {"all": ["ceasefire", "30-day"], "near": 3}]}
            ),
        },
        {"demand": ["insist on", "insist"], "speech": ["said"]},
    )


def _words(scan: Scan, spans: list[tuple[int, int]]) -> list[str]:
    starts, ends = scan.tokens.starts, scan.tokens.ends
    return [scan.text[starts[s] : ends[e - 1]] for s, e in spans]


def _term(matcher: Matcher, phrase: str) -> int:
    """The term number the matcher gave a demand phrase, read back from its tables."""
    first, *path = phrase_terms(phrase)
    below, term = matcher.trie[first]
    for word in path:
        assert below is not None
        below, term = below[word]
    assert term is not None
    return term


def test_phrases_are_found_in_the_sentence_they_are_in() -> None:
    """Each sentence's hits are its own, with their spans; none runs into the next sentence."""
    matcher = _matcher()
    scan = matcher.scan("Kyiv wants to join NATO soon. It will join. NATO met in June.")
    first, second, third = scan.sentences
    assert _words(scan, first.hits[_term(matcher, "join NATO")]) == ["join NATO"]
    assert first.demands == ["ukraine-nato-ban"]
    assert _term(matcher, "join NATO") not in second.hits  # "join. NATO" is two sentences
    assert second.demands == [] and third.demands == []
    assert third.demands == [] and [m.actor for m in third.mentions] == ["nato"]


def test_actors_and_cues_of_each_sentence() -> None:
    """A name inside a longer name of the same actor is one mention; the longest cue wins."""
    scan = _matcher().scan("Vladimir Putin said he would insist on it. NATO disagreed.")
    first, second = scan.sentences
    assert [(m.actor, _words(scan, [(m.start, m.stop)])) for m in first.mentions] == [
        ("russia", ["Vladimir Putin"])
    ]
    assert [(c.kind, _words(scan, [(c.start, c.stop)])) for c in first.cues] == [
        ("speech", ["said"]),
        ("demand", ["insist on"]),
    ]
    assert first.kinds == {"speech", "demand"}
    assert [m.actor for m in second.mentions] == ["nato"] and second.cues == []
    assert second.kinds == set()


def test_a_demand_is_possible_only_where_one_of_its_ways_is_complete() -> None:
    """ "truce", or "ceasefire" with "30-day": a "ceasefire" alone lists no demand to weigh."""
    matcher = _matcher()
    scan = matcher.scan("They want a ceasefire. A 30-day ceasefire was offered. A truce.")
    assert [s.demands for s in scan.sentences] == [[], ["ceasefire"], ["ceasefire"]]
    assert _words(scan, scan.sentences[1].hits[_term(matcher, "30-day")]) == ["30-day"]


def test_ways_past_the_limit_fall_back_to_what_every_way_needs() -> None:
    """An ``all`` of many ``any`` would list too many ways: it lists what each needs instead."""
    a, b, c, d = (frozenset({n}) for n in range(4))
    small = AllOf((AnyOf((Phrase(a), Phrase(b))), Phrase(c)))
    assert alternatives(small) == ((a, c), (b, c))
    pairs = [AnyOf((Phrase(frozenset({2 * n})), Phrase(frozenset({2 * n + 1})))) for n in range(5)]
    big = AllOf(tuple(pairs))  # 2 ** 5 ways
    assert WAYS < 2**5
    assert alternatives(big) == (tuple(frozenset({2 * n, 2 * n + 1}) for n in range(5)),)
    assert alternatives(AnyOf((Phrase(d), small))) == ((d,), (a, c), (b, c))


def test_a_not_part_sees_a_phrase_that_also_names_an_actor() -> None:
    """ "NATO" is an alias, and the 'not' part of a demand: the demand's phrases include it."""
    matcher = _matcher()
    pattern = matcher.patterns["no-foreign-troops"]
    plain, excluded = matcher.scan(
        "No peacekeepers, they said. No peacekeepers from NATO."
    ).sentences
    assert find(pattern, plain.hits) and plain.demands == ["no-foreign-troops"]
    assert [m.actor for m in excluded.mentions] == ["nato"]
    assert _term(matcher, "NATO") in excluded.hits
    assert find(pattern, excluded.hits) == []
