"""Unrecognized conditions: demand language about something no rule knows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.match import match
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.unknown import Unknown, resembles, unrecognized

FILLER = "Officials met for several hours behind closed doors and said little afterwards. " * 30


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


def unknowns(text: str, rules: RuleSet) -> list[Unknown]:
    """The unrecognized conditions of ``text``, read off the scan its findings came from."""
    return unrecognized(rules.matcher.scan(text), match(text, rules))


class TestUnrecognized:
    def test_actor_with_strong_cue_and_no_rule(self, rules: RuleSet) -> None:
        """ "The Kremlin demands a safe corridor for grain ships": Russia, with its words."""
        text = "The Kremlin demands a safe corridor for grain ships leaving Black Sea ports."
        (unknown,) = unknowns(text, rules)
        assert unknown.actor == "russia"
        assert unknown.sentence == text
        assert {"safe", "corridor", "grain"} <= set(unknown.words)

    def test_people_read_the_words_as_written_not_their_stems(self, rules: RuleSet) -> None:
        """Grouping compares stems ("territori"); alerts and `newsmon unknown` show the words
        as the article wrote them."""
        text = "Moscow demands territorial guarantees for shipping believed threatened."
        (unknown,) = unknowns(text, rules)
        assert "territori" in unknown.words and "territorial" not in unknown.words
        assert "territorial" in unknown.shown and "believed" in unknown.shown
        assert len(unknown.shown) == len(unknown.words)

    def test_known_demand_weak_cue_or_no_actor_is_not_unknown(self, rules: RuleSet) -> None:
        """A sentence with a finding, a weak cue ("supports"), a noun far from any actor
        ("living conditions") or too few words says nothing for ops."""
        for text in (
            "Moscow demands that Ukraine never join NATO.",
            "Russia supports a new round of talks on grain exports in Istanbul.",
            "Russian researchers at the station enjoy decent living conditions now.",
            "Russia reiterated its demands made earlier.",
        ):
            assert unknowns(text, rules) == [], text

    def test_deep_in_a_long_article(self, rules: RuleSet) -> None:
        """Offsets are the article's, deep inside it."""
        sentence = "Moscow calls for an international inquiry into the pipeline explosions."
        text = FILLER + sentence + " " + FILLER
        (unknown,) = unknowns(text, rules)
        assert text[unknown.start : unknown.end] == sentence

    def test_real_releases_give_some_and_never_in_a_recognized_sentence(
        self, rules: RuleSet, shared: Path
    ) -> None:
        """On the Kremlin's releases some demand language is unknown to the rules, and none of
        it is in a sentence that gave a finding."""
        path = shared / "corpora/news/official_press_releases_putin_2021-10_2022-06.jsonl"
        texts = [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
        found = 0
        for text in texts:
            known = [(f.start, f.end) for f in match(text, rules)]
            for unknown in unknowns(text, rules):
                assert not any(s < unknown.end and unknown.start < e for s, e in known)
                assert text[unknown.start : unknown.end] == unknown.sentence
                found += 1
        assert found > 0


def test_resemblance_is_jaccard() -> None:
    """Shared words over all words."""
    assert resembles(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert resembles([], []) == 0.0
