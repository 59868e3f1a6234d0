"""Unrecognized conditions: demand language about something no rule knows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.match import match
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.unknown import Unknown, _in, resembles, unrecognized

FILLER = "Officials met for several hours behind closed doors and said little afterwards. " * 30


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


def whole(text: str, rules: RuleSet) -> list[Unknown]:
    """The reference: scan the whole text, drop sentences that gave a finding."""
    known = [(f.start, f.end) for f in match(text, rules)]
    return [u for u in _in(text, rules) if not any(s < u.end and u.start < e for s, e in known)]


class TestUnrecognized:
    def test_actor_with_strong_cue_and_no_rule(self, rules: RuleSet) -> None:
        """ "The Kremlin demands a safe corridor for grain ships": Russia, with its words."""
        text = "The Kremlin demands a safe corridor for grain ships leaving Black Sea ports."
        (unknown,) = unrecognized(text, rules, match(text, rules))
        assert unknown.actor == "russia"
        assert unknown.sentence == text
        assert {"safe", "corridor", "grain"} <= set(unknown.words)

    def test_known_demand_weak_cue_or_no_actor_is_not_unknown(self, rules: RuleSet) -> None:
        """A sentence with a finding, a weak cue ("supports"), a noun far from any actor
        ("living conditions") or too few words says nothing for ops."""
        for text in (
            "Moscow demands that Ukraine never join NATO.",
            "Russia supports a new round of talks on grain exports in Istanbul.",
            "Russian researchers at the station enjoy decent living conditions now.",
            "Russia reiterated its demands made earlier.",
        ):
            assert unrecognized(text, rules, match(text, rules)) == [], text

    def test_deep_in_a_long_article(self, rules: RuleSet) -> None:
        """Only the stretch around a cue is scanned, and offsets are the article's."""
        sentence = "Moscow calls for an international inquiry into the pipeline explosions."
        text = FILLER + sentence + " " + FILLER
        (unknown,) = unrecognized(text, rules, [])
        assert text[unknown.start : unknown.end] == sentence

    def test_same_as_scanning_everything_on_real_releases(
        self, rules: RuleSet, shared: Path
    ) -> None:
        """On the Kremlin's releases, scanning only around cues finds exactly what scanning the
        whole text finds."""
        path = shared / "corpora/news/official_press_releases_putin_2021-10_2022-06.jsonl"
        texts = [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
        found = 0
        for text in texts:
            expected = whole(text, rules)
            assert unrecognized(text, rules, match(text, rules)) == expected
            found += len(expected)
        assert found > 0


def test_resemblance_is_jaccard() -> None:
    """Shared words over all words."""
    assert resembles(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert resembles([], []) == 0.0
