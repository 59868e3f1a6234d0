"""The evaluation set: labelled passages from the shared corpora, and the scores it gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.evaluation import Passage, Score, evaluate, load_passages
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules

LABELS = Path(__file__).resolve().parent / "eval" / "passages.jsonl"
KINDS = {"stated", "referred", "other", "rejection", "trap", "offtopic"}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


def labels() -> list[dict[str, object]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]


def passage(text: str, *expected: tuple[str, str, str], voice: str | None = None) -> Passage:
    return Passage("f", "r", 0, len(text), "stated", frozenset(expected), text, None, voice)


class TestLabels:
    def test_at_least_150_passages_of_every_kind(self) -> None:
        """The set holds 150+ passages, with stated, referred, rejected, trap and off-topic."""
        rows = labels()
        assert len(rows) >= 150
        assert {row["kind"] for row in rows} == KINDS

    def test_labels_use_the_rule_pack_ids(self, rules: RuleSet) -> None:
        """Every label names a known actor, demand and stance."""
        for row in labels():
            findings = row["findings"]
            assert isinstance(findings, list)
            for actor, demand, stance in findings:
                assert actor in rules.actors
                assert demand in rules.demands
                assert stance in {"demands", "rejects", "drops"}

    def test_text_stays_in_shared(self) -> None:
        """Passages are references: no row carries the corpus text."""
        for row in labels():
            assert set(row) <= {"file", "record", "start", "end", "kind", "findings", "note"}

    def test_every_reference_resolves(self, shared: Path) -> None:
        """Each reference points at a record and a span inside its text."""
        passages = load_passages(LABELS, shared / "corpora" / "news")
        assert len(passages) == len(labels())
        assert all(p.text.strip() for p in passages)


class TestScores:
    def test_counts_right_spurious_and_missed(self, rules: RuleSet) -> None:
        """A right triple is a true positive, an extra one false, a missing one a miss."""
        report = evaluate(
            [
                passage(
                    "The US rejected Russia's demand to bar Ukraine from NATO.",
                    ("russia", "ukraine-nato-ban", "demands"),
                    ("ukraine", "ceasefire", "demands"),
                ),
                passage("NATO foreign ministers met in Brussels."),
            ],
            rules,
        )
        assert report.overall == Score(true_positives=1, false_positives=1, false_negatives=1)
        assert report.per_demand["ceasefire"] == Score(false_negatives=1)
        assert report.overall.precision == 0.5
        assert report.overall.recall == 0.5
        assert len(report.misses) == 1

    def test_the_voice_reaches_the_matcher(self, rules: RuleSet) -> None:
        """A passage from an actor's own statements is matched with that actor's voice."""
        text = "We insist on legally binding security guarantees."
        expected = ("russia", "security-guarantees", "demands")
        assert evaluate([passage(text, expected)], rules).overall.recall == 0.0
        assert evaluate([passage(text, expected, voice="russia")], rules).overall.recall == 1.0

    def test_a_bad_reference_names_its_line(self, tmp_path: Path) -> None:
        """A record that is not in the corpus is an error naming the labels' line."""
        corpus = tmp_path / "news.jsonl"
        corpus.write_text(json.dumps({"id": "a", "text": "Some text.", "date": None}) + "\n")
        refs = tmp_path / "labels.jsonl"
        row = {"file": "news.jsonl", "start": 0, "end": 4, "kind": "trap", "findings": []}
        refs.write_text(
            json.dumps(row | {"record": "a"}) + "\n" + json.dumps(row | {"record": "b"})
        )
        with pytest.raises(ValueError, match=r"labels.jsonl:2: no record b"):
            load_passages(refs, tmp_path)


class TestTargets:
    def test_precision_and_recall_targets(self, rules: RuleSet, shared: Path) -> None:
        """On the labelled set: precision >= 0.90 and recall >= 0.85 on (actor, demand, stance)."""
        report = evaluate(load_passages(LABELS, shared / "corpora" / "news"), rules)
        assert report.overall.precision >= 0.90
        assert report.overall.recall >= 0.85
