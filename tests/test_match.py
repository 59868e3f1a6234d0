"""Matching: who demands, rejects or drops what, in which sentence, with the bundled rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.match import match
from monitor.model import Finding
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from tests.conftest import SEED_RUSSIAN_DEMANDS

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-article.txt"

RUSSIAN_DEMANDS = SEED_RUSSIAN_DEMANDS


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


@pytest.fixture(scope="module")
def seed() -> str:
    if not SEED.is_file():
        pytest.skip("shared/seed-article.txt is not present")
    return SEED.read_text(encoding="utf-8")


def voices(text: str, rules: RuleSet) -> set[tuple[str, str, str]]:
    return {(f.actor, f.stance, f.demand) for f in match(text, rules)}


def voices_of(text: str, rules: RuleSet, voice: str) -> set[tuple[str, str, str]]:
    """The findings of a text that speaks for ``voice`` (an actor's own statement)."""
    return {(f.actor, f.stance, f.demand) for f in match(text, rules, voice=voice)}


def by_demand(findings: list[Finding], demand: str) -> list[Finding]:
    return [f for f in findings if f.demand == demand]


class TestSeedArticle:
    def test_russian_conditions(self, rules: RuleSet, seed: str) -> None:
        """Every Russian condition in the seed article is found, voiced by Russia."""
        found = voices(seed, rules)
        assert {("russia", "demands", d) for d in RUSSIAN_DEMANDS} <= found

    def test_nothing_else(self, rules: RuleSet, seed: str) -> None:
        """The seed article gives exactly Russia's conditions and the two ceasefire voices: no
        "suggests that" read as a proposal, no warning read as a rejection."""
        expected = {("russia", "demands", d) for d in RUSSIAN_DEMANDS} | {
            ("united-states", "demands", "ceasefire"),
            ("ukraine", "demands", "ceasefire"),
        }
        assert voices(seed, rules) == expected

    def test_ceasefire_voices(self, rules: RuleSet, seed: str) -> None:
        """Trump's proposed 30-day ceasefire and Zelenskiy's truce: two voices on a ceasefire."""
        found = voices(seed, rules)
        assert ("united-states", "demands", "ceasefire") in found
        assert ("ukraine", "demands", "ceasefire") in found

    def test_russian_demands_not_given_to_others(self, rules: RuleSet, seed: str) -> None:
        """Targets and listeners of Russia's demands are never their voice."""
        wrong = {
            (actor, "demands", demand)
            for actor in ("ukraine", "united-states", "nato")
            for demand in RUSSIAN_DEMANDS
        }
        assert not voices(seed, rules) & wrong

    def test_evidence_sentences(self, rules: RuleSet, seed: str) -> None:
        """Each finding quotes its sentence by offsets, with the phrases that made it."""
        findings = match(seed, rules)
        for finding in findings:
            assert seed[finding.start : finding.end] == finding.sentence
            assert all(phrase in finding.sentence for phrase in finding.phrases)
        neutrality = by_demand(findings, "ukraine-neutrality")[0]
        assert "nuclear-free status" in neutrality.phrases
        aid = by_demand(findings, "military-aid-halt")[0]
        assert "veto" in aid.phrases
        assert "military assistance" in aid.phrases
        truce = next(f for f in by_demand(findings, "ceasefire") if f.actor == "ukraine")
        assert truce.sentence.startswith("Ukrainian President Volodymyr Zelenskiy")

    def test_history_is_marked(self, rules: RuleSet, seed: str) -> None:
        """ "During those talks" and "in prior negotiations" mark a finding as historical; one
        said in the present too ("Moscow has repeatedly sought ...") is current."""
        findings = match(seed, rules)
        talks = next(line for line in seed.splitlines() if "During those talks" in line)
        assert by_demand(match(talks, rules), "nato-military-limits")[0].historical
        assert not by_demand(findings, "nato-military-limits")[0].historical
        assert by_demand(findings, "missile-deployment-ban")[0].historical
        assert not by_demand(findings, "ukraine-nato-ban")[0].historical

    def test_one_finding_per_voice(self, rules: RuleSet, seed: str) -> None:
        """At most one finding per (actor, demand, stance), the first evidence kept."""
        findings = match(seed + "\n" + seed, rules)
        keys = [(f.actor, f.demand, f.stance) for f in findings]
        assert len(keys) == len(set(keys))
        assert all(f.end <= len(seed) for f in findings)

    def test_pure(self, rules: RuleSet, seed: str) -> None:
        """The same text gives the same findings every time."""
        assert match(seed, rules) == match(seed, rules)


class TestTraps:
    @pytest.mark.parametrize(
        "text",
        [
            "Russia insists that Europe's energy demand will keep rising this winter.",
            "Russia and Ukraine agreed to meet on neutral territory in Istanbul.",
            "NATO foreign ministers met in Brussels to discuss Ukraine.",
            "Moscow insisted on sending peacekeepers in Kazakhstan.",
            "NATO allies pledged more air defence for Ukraine.",
            "The shelling went on despite the ceasefire.",
            "Economists want to address the root causes of inflation.",
            "",
        ],
    )
    def test_keywords_alone_do_not_fire(self, rules: RuleSet, text: str) -> None:
        """Demand words in another sense, or without a voice, give nothing."""
        assert match(text, rules) == []

    def test_no_cue_no_finding(self, rules: RuleSet) -> None:
        """A demand's words with an actor but no cue and no context are only news."""
        assert match("Russia has troops near the 1991 borders of Ukraine.", rules) == []
        assert match("Ukraine's NATO membership was debated in Brussels.", rules) == []


class TestAttribution:
    def test_possessive_and_adjective_voices(self, rules: RuleSet) -> None:
        """ "Moscow's demands", "Russian proposals": the name beside the cue speaks."""
        assert voices("Moscow's demands include a ban on Ukraine joining NATO.", rules) == {
            ("russia", "demands", "ukraine-nato-ban")
        }
        assert voices("Russian proposals seek a cap on the Ukrainian army.", rules) == {
            ("russia", "demands", "demilitarization")
        }

    def test_possessor_of_the_cue_voices_it_after_a_preposition(self, rules: RuleSet) -> None:
        """ "responded to Moscow's long-standing demands": Moscow's demands, though Moscow is
        the object of "to", and the list after them is Moscow's too."""
        text = (
            "NATO has never responded to Moscow's long-standing demands. "
            "First, no deployment of strike weapons near Russia's borders."
        )
        assert ("russia", "demands", "missile-deployment-ban") in voices(text, rules)
        assert not any(actor == "nato" for actor, _, _ in voices(text, rules))

    def test_target_is_not_the_voice(self, rules: RuleSet) -> None:
        """Ukraine in "Ukraine must never join NATO" is the target; the speaker is the voice."""
        assert voices("Ukraine must never join NATO, the Kremlin said.", rules) == {
            ("russia", "demands", "ukraine-nato-ban")
        }
        assert voices("Putin wants to demilitarise and denazify Ukraine.", rules) == {
            ("russia", "demands", "demilitarization"),
            ("russia", "demands", "denazification"),
        }

    def test_two_voices_in_one_sentence(self, rules: RuleSet) -> None:
        """A rejection of another's demand gives both the demand and the rejection."""
        text = "The US rejected Russia's demand to bar Ukraine from NATO."
        assert voices(text, rules) == {
            ("russia", "demands", "ukraine-nato-ban"),
            ("united-states", "rejects", "ukraine-nato-ban"),
        }

    def test_pronoun_carries_the_voice(self, rules: RuleSet) -> None:
        """ "It also wants ...": the actor of the sentence before."""
        text = "Moscow laid out its terms on Friday. It also wants Ukraine to stay out of NATO."
        (finding,) = match(text, rules)
        assert (finding.actor, finding.demand) == ("russia", "ukraine-nato-ban")
        assert finding.sentence == "It also wants Ukraine to stay out of NATO."
        assert text[finding.start : finding.end] == finding.sentence

    def test_list_carries_the_voice(self, rules: RuleSet) -> None:
        """A list right after a voiced demand belongs to the same voice, even without a cue."""
        text = (
            "The Kremlin set out its conditions on Friday. "
            "Among them: recognition of Crimea as Russian territory."
        )
        assert voices(text, rules) == {("russia", "demands", "territorial-recognition")}
        assert match("Among them: recognition of Crimea as Russian territory.", rules) == []

    def test_carrying_stops_after_two_sentences(self, rules: RuleSet) -> None:
        """A voice is not carried over unrelated sentences."""
        text = (
            "The Kremlin set out its conditions on Friday. The weather was cold. "
            "Officials met in the morning. Among them: recognition of Crimea."
        )
        assert match(text, rules) == []

    def test_stances(self, rules: RuleSet) -> None:
        """Reject and drop cues turn the stance; a dropped demand is not also demanded."""
        assert voices("Kyiv rejects neutrality as a condition for peace.", rules) == {
            ("ukraine", "rejects", "ukraine-neutrality")
        }
        assert voices("Moscow has dropped its demand for Ukraine's neutrality.", rules) == {
            ("russia", "drops", "ukraine-neutrality")
        }

    def test_joint_subjects(self, rules: RuleSet) -> None:
        """ "Russia and Ukraine agreed to a truce": both."""
        assert voices("Russia and Ukraine agreed to a truce.", rules) == {
            ("russia", "demands", "ceasefire"),
            ("ukraine", "demands", "ceasefire"),
        }

    def test_passive_subject_is_not_the_voice(self, rules: RuleSet) -> None:
        """ "Russia was offered a truce" is not Russia offering one; "by Kyiv" is Kyiv."""
        assert match("Russia was offered a truce.", rules) == []
        assert voices("The ceasefire was rejected by Kyiv.", rules) == {
            ("ukraine", "rejects", "ceasefire")
        }

    def test_us_pronoun_is_not_the_united_states(self, rules: RuleSet) -> None:
        """ "told us" is not the US."""
        assert voices("Zelensky told us he wants a ceasefire.", rules) == {
            ("ukraine", "demands", "ceasefire")
        }


class TestTolerance:
    @pytest.mark.parametrize(
        "text",
        [
            "Moscow insists that Ukraine never join NATO.",
            "Moscow insisted that Ukraine would never be joining Nato.",
            "MOSCOW INSISTS THAT UKRAINE NEVER JOINS NATO.",
            "Moscow\u2019s demand: Ukraine\u2019s NATO membership must be barred.",
            "Moscow's demand: Ukraine's NATO membership must be barred.",
            "The Kremlin insists Kyïv must renounce its NATO ambitions.",
        ],
    )
    def test_inflection_case_possessives_quotes_accents(self, rules: RuleSet, text: str) -> None:
        """Inflections, case, possessives, curly quotes and accents do not matter."""
        assert ("russia", "demands", "ukraine-nato-ban") in voices(text, rules)

    @pytest.mark.parametrize("dash", ["-", "\u2010", "\u2011", "\u2013", "\u2014", " "])
    def test_hyphen_variants(self, rules: RuleSet, dash: str) -> None:
        """Every hyphen or dash, or none, in "nuclear-free" and "cease-fire"."""
        assert voices(f"Moscow demands a nuclear{dash}free status for Kyiv.", rules) == {
            ("russia", "demands", "ukraine-neutrality")
        }
        assert voices(f"Kyiv insists on a cease{dash}fire.", rules) == {
            ("ukraine", "demands", "ceasefire")
        }

    @pytest.mark.parametrize("word", ["demilitarisation", "demilitarization", "demilitarised"])
    def test_british_and_american_spelling(self, rules: RuleSet, word: str) -> None:
        """-ise and -ize spellings match each other."""
        assert voices(f"Putin insists on the {word} of Ukraine.", rules) == {
            ("russia", "demands", "demilitarization")
        }

    def test_abbreviations_do_not_break_the_sentence(self, rules: RuleSet) -> None:
        """ "U.S." and "Gen." inside a sentence keep it whole."""
        text = "Gen. Keith Kellogg said the U.S. wants a 30-day ceasefire."
        (finding,) = match(text, rules)
        assert (finding.actor, finding.sentence) == ("united-states", text)


class TestHistory:
    def test_earlier_year_in_past_tense(self, rules: RuleSet) -> None:
        """ "In late 2021 Moscow insisted": historical; "Moscow insists": current."""
        (old,) = match("In late 2021, Moscow insisted on a ban on Ukraine joining NATO.", rules)
        assert old.historical
        (new,) = match("Moscow insists on a ban on Ukraine joining NATO.", rules)
        assert not new.historical

    def test_the_articles_own_year_is_not_history(self, rules: RuleSet) -> None:
        """With the article's year given, a past tense in that year is news."""
        text = "In March 2025, Moscow demanded a ban on Ukraine joining NATO."
        assert match(text, rules)[0].historical
        assert not match(text, rules, year=2025)[0].historical
        assert match(text, rules, year=2026)[0].historical

    def test_a_superscript_number_is_no_year(self, rules: RuleSet) -> None:
        """A footnote mark "¹⁹⁹⁹" passes str.isdigit but is no year: the sentence is current
        (and, beside a real year, no longer crashes int())."""
        for text in (
            "Russia demanded neutrality for Ukraine, as in \u00b9\u2079\u2079\u2079.",
            "Russia demanded neutrality for Ukraine, as in \u00b9\u2079\u2079\u2079 and 2014.",
        ):
            (finding,) = match(text, rules, year=2025)
            assert (finding.actor, finding.demand) == ("russia", "ukraine-neutrality")
            assert not finding.historical

    def test_history_cues(self, rules: RuleSet) -> None:
        """ "In prior negotiations", "previously" mark the past."""
        text = "In prior negotiations, Russia demanded a ban on Ukraine joining NATO."
        assert match(text, rules)[0].historical


class TestOpposition:
    def test_opposing_what_a_demand_opposes_voices_it(self, rules: RuleSet) -> None:
        """ "Opposing NATO expansion" is demanding that it stop (the `against` pattern)."""
        assert voices("China joins Russia in opposing NATO expansion.", rules) == {
            ("russia", "demands", "nato-non-expansion")
        }
        assert voices("Moscow is categorically opposed to Ukraine joining NATO.", rules) == {
            ("russia", "demands", "ukraine-nato-ban")
        }

    def test_a_warning_counts_only_against_what_a_demand_opposes(self, rules: RuleSet) -> None:
        """ "Russia warns Finland against NATO membership" voices a demand; a warning about
        a ceasefire says no stance on it."""
        assert voices("Russia warns Finland against NATO membership.", rules) == {
            ("russia", "demands", "nato-non-expansion")
        }
        assert match("Analysts warn that Putin may use a ceasefire to regroup.", rules) == []

    def test_opposing_the_grievance_beats_the_demands_own_words(self, rules: RuleSet) -> None:
        """Where a demand's words only name what it opposes ("NATO's eastward expansion"),
        opposing them voices the demand; a demand cue on them still voices it too."""
        for text in (
            "We are categorically opposed to NATO's eastward expansion.",
            "Our concerns regarding NATO's eastward expansion have been ignored.",
        ):
            assert voices_of(text, rules, "russia") == {
                ("russia", "demands", "nato-non-expansion")
            }, text

    def test_only_a_refusal_of_what_a_demand_opposes_voices_it(self, rules: RuleSet) -> None:
        """A refusal of something else in the sentence ("not ready to respond") is no
        opposition to NATO's open door, ten words on; one right after it still is."""
        for text in (
            "Officials said NATO was not ready to respond in earnest to the questions put to "
            "it, as it used the alliance's open door policy as a shield.",
            "NATO refused to discuss the letter in detail and pointed to the alliance's open "
            "door policy.",
        ):
            assert ("nato", "demands", "nato-non-expansion") not in voices(text, rules), text
        text = "Kyiv wants to join the Alliance tomorrow, even if Moscow opposes it."
        assert ("russia", "demands", "nato-non-expansion") in voices(text, rules)

    def test_a_demand_said_outright_is_refused_outright(self, rules: RuleSet) -> None:
        """ "non-expansion" says more than what the demand opposes: a refusal of it is a
        refusal, and the demand it refuses is still the other side's."""
        assert voices("Kyiv rejects Russia's demand for NATO non-expansion.", rules) == {
            ("ukraine", "rejects", "nato-non-expansion"),
            ("russia", "demands", "nato-non-expansion"),
        }

    def test_a_refusal_inside_a_demand_is_its_words(self, rules: RuleSet) -> None:
        """ "a refusal to deploy strike weapons", listed among demands, is one of them."""
        text = (
            "Our key demands are: no further NATO expansion, a refusal to deploy offensive "
            "strike weapons near Russian borders, and guarantees."
        )
        assert {
            ("russia", "demands", "nato-non-expansion"),
            ("russia", "demands", "missile-deployment-ban"),
        } <= voices_of(text, rules, "russia")

    def test_opposition_needs_a_named_voice(self, rules: RuleSet) -> None:
        """A guessed voice is not enough to turn "refused ... joining NATO" into a demand."""
        text = "Germany has refused joining NATO allies in sending weapons to Ukraine."
        assert match(text, rules) == []


class TestTargets:
    def test_the_actor_a_demand_is_made_of_never_voices_it(self, rules: RuleSet) -> None:
        """ "The demilitarisation ... of today's Ukraine": Ukraine is what it is made of, so
        the voice is the source's, even when the sentence before was about Kyiv."""
        text = (
            "Our partners keep sending the Kiev authorities modern weapons. Therefore, the "
            "most important point is the demilitarisation, to a certain extent, of today's "
            "Ukraine because it can be monitored."
        )
        assert voices_of(text, rules, "russia") == {("russia", "demands", "demilitarization")}

    def test_the_target_can_still_refuse(self, rules: RuleSet) -> None:
        """Ukraine cannot demand its own demilitarization, but it can reject it."""
        text = "Ukraine's negotiators flatly rejected Moscow's demand for demilitarization."
        assert voices(text, rules) == {
            ("ukraine", "rejects", "demilitarization"),
            ("russia", "demands", "demilitarization"),
        }

    def test_ceding_territory_is_not_ukraines_demand(self, rules: RuleSet) -> None:
        """How much territory Ukraine would be willing to cede is no condition Kyiv sets."""
        text = "Zelensky said how much territory Ukraine would be willing to cede to Russia."
        assert ("ukraine", "demands", "territorial-recognition") not in voices(text, rules)


class TestClauses:
    def test_a_refusal_speaks_for_its_own_clause(self, rules: RuleSet) -> None:
        """ "A and B are the issues; C is not discussed": only C is refused."""
        text = (
            "Security guarantees are the most important issue; demilitarization is not "
            "discussed at all, Zelensky said."
        )
        assert voices(text, rules) == {("ukraine", "rejects", "demilitarization")}


class TestSourceVoice:
    def test_first_person_is_the_source(self, rules: RuleSet) -> None:
        """In a government's own statement, "we" and "our" are that government."""
        text = "We insist on legally binding security guarantees."
        assert match(text, rules) == []
        assert {(f.actor, f.stance, f.demand) for f in match(text, rules, voice="russia")} == {
            ("russia", "demands", "security-guarantees")
        }

    def test_unnamed_president_is_the_source(self, rules: RuleSet) -> None:
        """ "The President emphasised ..." is the source's head; a named actor still wins."""
        text = "The President emphasised the need for legally binding security guarantees."
        found = {(f.actor, f.demand) for f in match(text, rules, voice="ukraine")}
        assert found == {("ukraine", "security-guarantees")}
        named = "Putin insists on legally binding security guarantees."
        found = {(f.actor, f.demand) for f in match(named, rules, voice="ukraine")}
        assert found == {("russia", "security-guarantees")}


class TestStems:
    @pytest.mark.parametrize(
        ("text", "cue"),
        [
            ("Putin shifted from denazifying Ukraine at the initial stage.", "initial"),
            ("Kyiv made compromises concerning territory.", "concerning"),
        ],
    )
    def test_words_the_stemmer_would_confuse(self, rules: RuleSet, text: str, cue: str) -> None:
        """ "initial" is not "initiative", "concerning" is not "concern": no cue, no finding."""
        assert match(text, rules) == []


class TestNegatedWillingness:
    def test_not_willing_is_a_refusal(self, rules: RuleSet) -> None:
        """ "not willing to give up territory" refuses; the longer cue beats "willing to"."""
        text = "Zelensky said Ukraine is not willing to give up territory in the east."
        assert voices(text, rules) == {("ukraine", "rejects", "territorial-recognition")}

    def test_a_place_is_not_a_voice(self, rules: RuleSet) -> None:
        """ "in southern Ukraine" names a place: the watchdog calling for a truce is no actor."""
        text = "The watchdog called for a ceasefire near the plant in southern Ukraine."
        assert match(text, rules) == []


class TestHistoryAndNow:
    def test_a_current_statement_outweighs_history(self, rules: RuleSet) -> None:
        """A demand both recalled from 2021 and made now is one current finding."""
        text = (
            "In late 2021 Moscow insisted on legally binding security guarantees. "
            "Moscow insists on legally binding security guarantees."
        )
        (finding,) = match(text, rules, on=date(2025, 3, 1))
        assert not finding.historical
        assert finding.sentence == "Moscow insists on legally binding security guarantees."
        (only_past,) = match(text.split(". ")[0] + ".", rules, on=date(2025, 3, 1))
        assert only_past.historical
