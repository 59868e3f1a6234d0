"""Rule files: the bundled pack, validation that names file, line and field, the examples."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest

from monitor.errors import Problem, RuleError
from monitor.match import match
from monitor.rulebook import bundled_rules_dir, check_rules, load_rules
from monitor.rulebook.text import normalize_token, phrase_terms, split_sentences, tokenize

DEMAND_IDS = {
    "ukraine-nato-ban",
    "nato-non-expansion",
    "root-causes",
    "no-foreign-troops",
    "territorial-recognition",
    "ukraine-neutrality",
    "demilitarization",
    "denazification",
    "military-aid-halt",
    "nato-military-limits",
    "missile-deployment-ban",
    "security-guarantees",
    "sanctions-relief",
    "ukraine-elections",
    "ceasefire",
    "russian-withdrawal",
}

ACTORS = """\
actors:
  - id: russia
    name: Russia
    aliases: [Russia, Moscow, the Kremlin]
  - id: ukraine
    name: Ukraine
    aliases: [Ukraine, Kyiv]
"""

DEMAND = """\
demands:
  - id: ceasefire
    title: Ceasefire
    severity: medium
    match: {any: [ceasefire, truce]}
    examples:
      match: ["Moscow wants a truce."]
      no_match: ["The shelling went on."]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(*dirs: Path) -> list[Problem]:
    with pytest.raises(RuleError) as caught:
        load_rules(list(dirs))
    return caught.value.problems


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


class TestBundledPack:
    def test_loads_with_the_fixed_ids(self) -> None:
        """The shipped pack has the five actors and sixteen demands desks depend on."""
        rules = load_rules([bundled_rules_dir()])
        assert set(rules.actors) == {"russia", "ukraine", "united-states", "nato", "europe"}
        assert set(rules.demands) == DEMAND_IDS
        assert {d.severity for d in rules.demands.values()} <= {"low", "medium", "high"}
        assert all(d.title and d.description for d in rules.demands.values())

    def test_every_example_passes(self) -> None:
        """`newsmon check` on the shipped pack finds no problem."""
        assert check_rules([bundled_rules_dir()]) == []

    def test_each_demand_has_examples_both_ways(self) -> None:
        """Every shipped demand carries at least two examples that match and two that do not."""
        rules = load_rules([bundled_rules_dir()])
        for demand in DEMAND_IDS:
            examples = [e for e in rules.examples if e.demand == demand]
            assert sum(e.should_match for e in examples) >= 2, demand
            assert sum(not e.should_match for e in examples) >= 2, demand

    def test_every_phrase_is_compiled_once(self) -> None:
        """Each phrase, alias and cue is one term: in the demands' tables, or the actors' and
        cues' (both, when it is a demand phrase and an alias), once in each."""
        matcher = load_rules([bundled_rules_dir()]).matcher
        seen: set[int] = set()
        for trie in (matcher.trie, matcher.signal_trie):
            ends: list[int] = []
            levels = [trie]
            while levels:
                for below, term in levels.pop().values():
                    ends += [] if term is None else [term]
                    levels += [] if below is None else [below]
            assert len(ends) == len(set(ends))
            seen.update(ends)
        assert sorted(seen) == list(range(len(matcher.sizes)))
        assert len(seen) > 300

    def test_version_is_a_hash_of_the_contents(self, tmp_path: Path) -> None:
        """The version is stable for the same files and changes when a rule changes."""
        copy = tmp_path / "rules"
        shutil.copytree(bundled_rules_dir(), copy)
        first = load_rules([copy]).version
        assert first == load_rules([bundled_rules_dir()]).version
        assert len(first) == 12
        cues = copy / "cues.yaml"
        cues.write_text(cues.read_text() + "\n# edited\n")
        assert load_rules([copy]).version != first


class TestLoading:
    def test_several_files_add_up(self, tmp_path: Path) -> None:
        """Actors from one file and demands from another make one rule set, files sorted."""
        write(tmp_path, "b-demands.yml", DEMAND)
        write(tmp_path, "a-actors.yaml", ACTORS)
        rules = load_rules([tmp_path])
        assert list(rules.actors) == ["russia", "ukraine"]
        assert list(rules.demands) == ["ceasefire"]
        assert [Path(f).name for f in rules.files[:2]] == ["a-actors.yaml", "b-demands.yml"]

    def test_default_cues_apply_when_no_file_has_any(self, tmp_path: Path) -> None:
        """Without a cues section, the bundled cues.yaml is loaded and named in ``files``."""
        write(tmp_path, "rules.yaml", ACTORS + DEMAND)
        rules = load_rules([tmp_path])
        assert "insist" in rules.cues["demand"]
        assert rules.files[-1] == str(bundled_rules_dir() / "cues.yaml")
        assert check_rules([tmp_path]) == []

    def test_own_cues_replace_the_defaults(self, tmp_path: Path) -> None:
        """A rule set with its own cues does not get the bundled ones."""
        write(tmp_path, "rules.yaml", ACTORS + DEMAND + "cues:\n  demand: [wants]\n")
        rules = load_rules([tmp_path])
        assert rules.cues["demand"] == ("wants",)
        assert rules.cues["reject"] == ()

    def test_same_folder_twice_is_not_a_duplicate(self, tmp_path: Path) -> None:
        """Listing one folder twice loads its files once."""
        write(tmp_path, "rules.yaml", ACTORS + DEMAND)
        assert list(load_rules([tmp_path, tmp_path]).demands) == ["ceasefire"]

    def test_bundled_dir_is_the_repository_rules(self) -> None:
        """In a source checkout the pack is the top-level rules/ folder."""
        assert (bundled_rules_dir() / "actors.yaml").is_file()


class TestValidation:
    def test_yaml_syntax_error(self, tmp_path: Path) -> None:
        """A YAML syntax error names the file and the line."""
        write(tmp_path, "broken.yaml", "actors:\n  - id: russia\n    name: [Russia\n")
        problem = only(problems(tmp_path))
        assert problem.file.endswith("broken.yaml")
        assert problem.line == 4
        assert "invalid YAML" in str(problem)

    def test_unknown_key(self, tmp_path: Path) -> None:
        """A misspelt key is refused with its line and dotted field."""
        write(tmp_path, "r.yaml", ACTORS + DEMAND.replace("severity:", "severty:"))
        found = problems(tmp_path)
        unknown = next(p for p in found if p.message == "unknown key")
        assert (unknown.file, unknown.line, unknown.field) == (
            str(tmp_path / "r.yaml"),
            11,
            "demands[0].severty",
        )
        assert "r.yaml:11: demands[0].severty: unknown key" in str(RuleError(found))

    def test_missing_field(self, tmp_path: Path) -> None:
        """A demand without a title names the demand's line and the field."""
        write(tmp_path, "r.yaml", ACTORS + DEMAND.replace("    title: Ceasefire\n", ""))
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (9, "demands[0].title")
        assert problem.file.endswith("r.yaml")

    def test_duplicate_actor_id_across_files(self, tmp_path: Path) -> None:
        """The same id in two files: the second is refused and points at the first."""
        write(tmp_path, "a.yaml", ACTORS)
        write(
            tmp_path, "b.yaml", "actors:\n  - id: russia\n    name: Rus\n    aliases: [Rossiya]\n"
        )
        problem = only(problems(tmp_path))
        assert problem.file.endswith("b.yaml")
        assert (problem.line, problem.field) == (2, "actors[0].id")
        assert "a.yaml:2" in problem.message

    def test_duplicate_demand_id(self, tmp_path: Path) -> None:
        """Two demands with one id in one file."""
        write(tmp_path, "r.yaml", ACTORS + DEMAND + DEMAND.removeprefix("demands:\n"))
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (16, "demands[1].id")
        assert "duplicate demand id 'ceasefire'" in problem.message

    def test_target_must_be_an_actor(self, tmp_path: Path) -> None:
        """A demand's `targets` names actors: an unknown id points at its line."""
        demand = DEMAND.replace(
            "    severity: medium\n", "    severity: medium\n    targets: [belarus]\n"
        )
        write(tmp_path, "r.yaml", ACTORS + demand)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (12, "demands[0].targets[0]")
        assert "no actor with id 'belarus'" in problem.message

    def test_alias_claimed_by_two_actors(self, tmp_path: Path) -> None:
        """An alias may belong to one actor only, whatever its case or inflection."""
        text = ACTORS + "  - id: kremlin-watchers\n    name: Watchers\n    aliases: [KREMLIN]\n"
        write(tmp_path, "r.yaml", text.replace("[Russia, Moscow, the Kremlin]", "[Kremlin]"))
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (10, "actors[2].aliases[0]")
        assert "already claimed by actor 'russia'" in problem.message

    @pytest.mark.parametrize(
        ("pattern", "field", "message"),
        [
            ('""', "demands[0].match", "must not be empty"),
            ('"—"', "demands[0].match", "phrase has no words"),
            ("{any: []}", "demands[0].match.any", "at least 1 item"),
            ("{any: [truce, '  ']}", "demands[0].match.any[1]", "must not be empty"),
            ("{all: [truce, Kyiv], near: 0}", "demands[0].match.near", "greater than 0"),
            ("{all: [truce, Kyiv], near: '3'}", "demands[0].match.near", "valid integer"),
            ("{all: [truce, Kyiv], near: 2.5}", "demands[0].match.near", "valid integer"),
            ("{not: truce}", "demands[0].match.not", "only in 'all'"),
            ("{all: [{not: truce}]}", "demands[0].match.all", "needs a part"),
            ("{anything: [truce]}", "demands[0].match", "a pattern is a phrase"),
            ("12", "demands[0].match", "a pattern is a phrase"),
        ],
    )
    def test_bad_pattern(self, tmp_path: Path, pattern: str, field: str, message: str) -> None:
        """Empty phrases, empty lists, bad `near`, misplaced `not`: file, line and field."""
        demand = DEMAND.replace("match: {any: [ceasefire, truce]}", f"match: {pattern}")
        write(tmp_path, "r.yaml", ACTORS + demand)
        problem = only(problems(tmp_path))
        assert problem.file.endswith("r.yaml")
        assert problem.line == 12
        assert problem.field == field
        assert message in problem.message

    def test_bad_severity(self, tmp_path: Path) -> None:
        """Severity is low, medium or high."""
        write(tmp_path, "r.yaml", ACTORS + DEMAND.replace("medium", "urgent"))
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (11, "demands[0].severity")
        assert "'low', 'medium' or 'high'" in problem.message

    def test_bad_id(self, tmp_path: Path) -> None:
        """Ids are lower-case slugs."""
        write(tmp_path, "r.yaml", ACTORS.replace("id: russia", "id: Russia Federation"))
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (2, "actors[0].id")
        assert "lower-case words joined by hyphens" in problem.message

    def test_duplicate_key(self, tmp_path: Path) -> None:
        """A key written twice in one mapping would lose a value: refused."""
        write(
            tmp_path, "r.yaml", ACTORS.replace("    name: Ukraine\n", "    name: A\n    name: B\n")
        )
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (7, "actors[1].name")

    def test_every_problem_at_once(self, tmp_path: Path) -> None:
        """Problems in several files are all reported in one error, never just the first."""
        write(tmp_path, "a.yaml", "actors: [\n")
        write(tmp_path, "b.yaml", ACTORS + DEMAND.replace("medium", "urgent"))
        write(tmp_path, "c.yaml", DEMAND.replace("title:", "titel:"))
        found = problems(tmp_path)
        names = sorted(Path(p.file).name for p in found)
        assert names == ["a.yaml", "b.yaml", "c.yaml", "c.yaml"]
        assert all(p.line for p in found)

    def test_empty_file_and_missing_folder(self, tmp_path: Path) -> None:
        """An empty rule file and a folder that does not exist are both problems."""
        write(tmp_path, "empty.yaml", "")
        found = problems(tmp_path, tmp_path / "nowhere")
        assert sorted(p.message for p in found) == ["not a directory", "the file is empty"]

    def test_folder_without_rules(self, tmp_path: Path) -> None:
        """A folder with no rule files is refused rather than matching nothing."""
        assert "no rule files" in only(problems(tmp_path)).message


class TestCheck:
    def test_failing_examples_name_their_line(self, tmp_path: Path) -> None:
        """An example that does not behave is reported by check_rules, not by load_rules."""
        demand = DEMAND.replace('"Moscow wants a truce."', '"The weather was fine."').replace(
            '"The shelling went on."', '"Kyiv insists on a ceasefire."'
        )
        write(tmp_path, "r.yaml", ACTORS + demand)
        load_rules([tmp_path])
        found = check_rules([tmp_path])
        assert [(p.line, p.field) for p in found] == [
            (14, "demands[0].examples.match[0]"),
            (15, "demands[0].examples.no_match[0]"),
        ]
        assert all(p.file.endswith("r.yaml") for p in found)
        assert "gives no finding for 'ceasefire'" in found[0].message
        assert "gives ukraine demands" in found[1].message

    @pytest.mark.parametrize(
        ("example", "why"),
        [
            ("The weather was fine.", "its pattern does not hold here"),
            ("A truce was reported in Moscow.", "its words are here, but no cue word"),
            ("A truce is wanted by all.", "its words and a cue are here, but no actor"),
            ("Moscow wants a truce with Kyiv.", None),  # it matches: no problem at all
        ],
    )
    def test_a_failing_example_says_what_it_lacks(
        self, tmp_path: Path, example: str, why: str | None
    ) -> None:
        """Whether to fix the pattern, the cues or the actors: the message says which part of
        a finding the example lacks."""
        write(tmp_path, "r.yaml", ACTORS + DEMAND.replace("Moscow wants a truce.", example))
        found = check_rules([tmp_path])
        if why is None:
            assert found == []
        else:
            assert why in only(found).message, found

    def test_load_problems_come_back_as_a_list(self, tmp_path: Path) -> None:
        """check_rules returns load problems instead of raising."""
        write(tmp_path, "r.yaml", "actors: [\n")
        assert [p.line for p in check_rules([tmp_path])] == [2]


class TestText:
    @pytest.mark.parametrize(
        ("one", "other"),
        [
            ("NATO's", "nato"),
            ("NATO\u2019s", "Nato"),
            ("joining", "joined"),
            ("recognise", "recognizes"),
            ("demilitarisation", "demilitarization"),
            ("Kyïv", "Kyiv"),
            ("U.S.", "US"),
        ],
    )
    def test_same_term(self, one: str, other: str) -> None:
        """Case, possessives, inflection, British spelling and accents fold away."""
        assert normalize_token(one) == normalize_token(other)

    def test_us_is_not_the_country(self) -> None:
        """The pronoun "us" never becomes the United States."""
        assert normalize_token("us") != normalize_token("US")
        assert normalize_token("Us") != normalize_token("U.S.")

    def test_hyphens_and_dashes_separate_words(self) -> None:
        """Every hyphen or dash variant splits a compound like a space does."""
        expected = phrase_terms("nuclear free")
        for dash in "-\u2010\u2011\u2012\u2013\u2014":
            assert phrase_terms(f"nuclear{dash}free") == expected

    def test_offsets_map_back(self) -> None:
        """Each token's span is its text in the original."""
        text = "Moscow\u2019s “root causes” — the U.S. said."
        tokens = tokenize(text)
        words = [text[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)]
        assert words == ["Moscow\u2019s", "root", "causes", "the", "U.S.", "said"]

    @pytest.mark.parametrize(
        ("text", "count"),
        [
            ("Gen. Keith Kellogg met Mr. Putin in St. Petersburg. Then he left.", 2),
            ("U.S. officials met Donald J. Trump. They talked.", 2),
            ("Growth was 3.5 percent in Jan. 2022 and fell. Prices rose.", 2),
            ("“We will not give in,” said Putin. “Never.”", 2),
            ("Talks moved to the U.S. The Kremlin agreed.", 2),
            ("Headline without a stop\nBody text here. More text.", 3),
            ("e.g. the talks resumed. Then they stopped!", 2),
            ("KIEV, May 14 (RIA Novosti) \u2013 Three men laid down arms. They were freed.", 2),
            ("WASHINGTON (Reuters) - The U.S. rejected the demand. Moscow replied.", 2),
            ("MOSCOW, Dec. 7 (TASS) - The Kremlin said no. Kyiv agreed.", 2),
            ('"Ukraine must never join NATO!" Lavrov said on Friday. Kyiv refused.', 2),
            ("“Will they agree?” the Kremlin spokesman asked. Kyiv refused.", 2),
            ("The talks, said Lt. Gen. Smith of the U.S. Army, failed. Kyiv refused.", 2),
            ("Sen. Rubio spoke at 5 p.m. Monday. Later, they left.", 2),
        ],
    )
    def test_sentences_survive_news_text(self, text: str, count: int) -> None:
        """Abbreviations, initials, decimals, quotes and line breaks split where they should."""
        sentences = split_sentences(text, tokenize(text))
        assert len(sentences) == count, [text[s.start : s.end] for s in sentences]
        assert text[sentences[-1].start : sentences[-1].end].rstrip("”") in text


class TestLanguageLimits:
    def test_no_regular_expressions(self, tmp_path: Path) -> None:
        """Patterns are phrases and combinators only: a `regex` key is refused by name."""
        write(
            tmp_path, "r.yaml", ACTORS + DEMAND.replace("{any: [ceasefire, truce]}", "{regex: a+}")
        )
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (12, "demands[0].match")
        assert "any, all, not or fragment" in problem.message

    def test_empty_against_pattern(self, tmp_path: Path) -> None:
        """An `against` pattern is checked like `match`: an empty phrase names its field."""
        text = ACTORS + DEMAND.replace(
            "    examples:", '    against: {any: [truce, "..."]}\n    examples:'
        )
        write(tmp_path, "r.yaml", text)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (13, "demands[0].against.any[1]")
        assert problem.message == "phrase has no words"


FRAGMENTS = """\
fragments:
  truce-words: {any: [ceasefire, truce, armistice]}
"""


class TestFragments:
    def test_a_fragment_is_shared_across_files(self, tmp_path: Path) -> None:
        """A pattern named in one file is used by a demand in another."""
        write(tmp_path, "a-fragments.yaml", FRAGMENTS)
        write(
            tmp_path,
            "b.yaml",
            ACTORS + DEMAND.replace("{any: [ceasefire, truce]}", "{fragment: truce-words}"),
        )
        rules = load_rules([tmp_path])
        assert [f.demand for f in match("Moscow wants an armistice.", rules)] == ["ceasefire"]
        assert check_rules([tmp_path]) == []

    def test_unknown_fragment(self, tmp_path: Path) -> None:
        """A name no file defines is refused where it is used."""
        write(
            tmp_path,
            "r.yaml",
            ACTORS + DEMAND.replace("{any: [ceasefire, truce]}", "{fragment: truce-wrds}"),
        )
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (12, "demands[0].match.fragment")
        assert problem.message == "no fragment named 'truce-wrds'"

    def test_fragment_defined_twice(self, tmp_path: Path) -> None:
        """The same fragment name in two files: the second points at the first."""
        write(tmp_path, "a.yaml", ACTORS + DEMAND + FRAGMENTS)
        write(tmp_path, "b.yaml", FRAGMENTS)
        problem = only(problems(tmp_path))
        assert problem.file.endswith("b.yaml")
        assert (problem.line, problem.field) == (2, "fragments.truce-words")
        assert "a.yaml:17" in problem.message

    def test_fragment_that_contains_itself(self, tmp_path: Path) -> None:
        """A fragment that refers to itself, even through another, is refused."""
        text = "fragments:\n  a: {any: [x, {fragment: b}]}\n  b: {all: [y, {fragment: a}]}\n"
        write(tmp_path, "r.yaml", ACTORS + DEMAND + text)
        found = problems(tmp_path)
        assert {(p.line, p.field, p.message) for p in found} == {
            (17, "fragments.a", "fragment refers to itself"),
            (18, "fragments.b", "fragment refers to itself"),
        }

    def test_bundled_pack_shares_fragments(self) -> None:
        """The bundled demands name Ukraine and NATO through shared fragments."""
        text = (bundled_rules_dir() / "demands-security.yaml").read_text(encoding="utf-8")
        assert "{fragment: ukraine}" in text
        assert "{fragment: nato}" in text


DATED = """\
actors:
  - id: united-states
    name: United States
    aliases: [Washington, {name: Blinken, from: 2021-01-26, until: 2025-01-20}]
"""


class TestDatedAliases:
    def test_an_official_counts_only_in_office(self, tmp_path: Path) -> None:
        """A dated alias names its actor between its dates, and nobody outside them."""
        write(tmp_path, "r.yaml", DATED + DEMAND)
        rules = load_rules([tmp_path])
        text = "Blinken wants a truce."
        assert [f.actor for f in match(text, rules, on=date(2022, 3, 1))] == ["united-states"]
        assert match(text, rules, on=date(2025, 6, 1)) == []
        assert [f.actor for f in match(text, rules)] == ["united-states"]  # no date: all count
        assert [f.actor for f in match("Washington wants a truce.", rules, on=date(2030, 1, 1))]

    def test_until_before_from(self, tmp_path: Path) -> None:
        """Dates in the wrong order are refused with the alias's line and field."""
        write(tmp_path, "r.yaml", DATED.replace("until: 2025-01-20", "until: 2020-01-20") + DEMAND)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (4, "actors[0].aliases[1]")
        assert "'until' comes before 'from'" in problem.message

    def test_a_capitalized_alias_is_not_the_common_word(self, tmp_path: Path) -> None:
        """{name: Turkey, capitalized: true} names the country where the text capitalizes it
        ("Turkey", "TURKEY"), never the bird; other aliases stay case-blind."""
        actors = ACTORS + (
            "  - id: turkey\n    name: Turkey\n"
            "    aliases: [Ankara, {name: Turkey, capitalized: true}]\n"
        )
        write(tmp_path, "r.yaml", actors + DEMAND)
        rules = load_rules([tmp_path])
        for text in ("Turkey wants a truce.", "TURKEY WANTS A TRUCE.", "ankara wants a truce."):
            assert [f.actor for f in match(text, rules)] == ["turkey"], text
        assert match("The turkey farmers want a truce.", rules) == []

    def test_impossible_date_is_a_problem_not_a_crash(self, tmp_path: Path) -> None:
        """30 February is refused with the alias's line and field: YAML would have raised a
        bare ValueError naming neither, and a reload would have died on it."""
        write(tmp_path, "r.yaml", DATED.replace("from: 2021-01-26", "from: 2021-02-30") + DEMAND)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (4, "actors[0].aliases[1].from")
        assert "day value is outside expected range" in problem.message

    def test_a_broken_actors_file_causes_no_false_errors_elsewhere(self, tmp_path: Path) -> None:
        """While the file that defines the actors cannot be read for its shape, the demands
        that name them as targets are not reported as naming nobody."""
        write(tmp_path, "a.yaml", ACTORS.replace("name: Ukraine", "nmae: Ukraine"))
        write(
            tmp_path,
            "d.yaml",
            DEMAND.replace("severity: medium", "severity: medium\n    targets: [ukraine]"),
        )
        found = problems(tmp_path)
        assert {(Path(p.file).name, p.field) for p in found} == {
            ("a.yaml", "actors[1].name"),  # missing
            ("a.yaml", "actors[1].nmae"),  # unknown
        }

    def test_a_tab_says_to_indent_with_spaces(self, tmp_path: Path) -> None:
        """A tab in the indentation is a YAML error with its line, and says what to do."""
        write(tmp_path, "r.yaml", DEMAND.replace("    severity", "\tseverity"))
        problem = only(problems(tmp_path))
        assert problem.line == 4 and "(indent with spaces, never tabs)" in problem.message

    def test_list_items_run_together_are_refused(self, tmp_path: Path) -> None:
        """A list item indented deeper than the one above is, for YAML, part of that phrase
        ("ceasefire - truce"): refused with its line, not a phrase that never matches."""
        text = DEMAND.replace(
            "match: {any: [ceasefire, truce]}",
            "match:\n      any:\n        - ceasefire\n          - truce",
        )
        write(tmp_path, "r.yaml", ACTORS + text)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (14, "demands[0].match.any[0]")
        assert "'ceasefire - truce' looks like list items run together" in problem.message

    def test_unknown_alias_key(self, tmp_path: Path) -> None:
        """A misspelt key in a dated alias names its field."""
        write(tmp_path, "r.yaml", DATED.replace("until:", "till:") + DEMAND)
        problem = only(problems(tmp_path))
        assert (problem.line, problem.field) == (4, "actors[0].aliases[1].till")
        assert problem.message == "unknown key"
