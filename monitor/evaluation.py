"""Measure the matcher against hand-labelled passages: precision and recall per demand.

The evaluation set stores each passage by reference (corpus file, record id, character
offsets) with the (actor, demand, stance) findings a reader expects; the text stays in the
shared corpora and is read here. A finding counts as right when all three agree.
"""

from __future__ import annotations

__all__ = ["SOURCE_VOICES", "Passage", "Report", "Score", "evaluate", "load_passages"]

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.match import match
from monitor.rulebook import RuleSet

Triple = tuple[str, str, str]  # (actor, demand, stance)

# Corpus files that are an actor's own statements: the matcher's ``voice`` for them.
SOURCE_VOICES = {
    "official_press_releases_putin_2021-10_2022-06.jsonl": "russia",
    "official_press_releases_zelenskyy_2021-10_2022-06.jsonl": "ukraine",
}


@dataclass(frozen=True)
class Passage:
    """A labelled stretch of a corpus record, and its text."""

    file: str
    record: str
    start: int
    end: int
    kind: str
    expected: frozenset[Triple]
    text: str
    date: dt.date | None = None  # when the record was written, if it says
    voice: str | None = None  # the actor the source speaks for, if any


@dataclass(frozen=True)
class Score:
    """Counts of right, spurious and missed findings."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


@dataclass(frozen=True)
class Miss:
    """A passage where the matcher and the label disagree."""

    passage: Passage
    spurious: frozenset[Triple]
    missed: frozenset[Triple]


@dataclass(frozen=True)
class Report:
    """The scores of one run: overall, per demand, and the passages that disagree."""

    overall: Score
    per_demand: dict[str, Score]
    misses: list[Miss] = field(default_factory=list)
    passages: int = 0


def load_passages(
    labels: Path, corpora: Path, voices: Mapping[str, str] = SOURCE_VOICES
) -> list[Passage]:
    """Read the labelled references in ``labels`` and their texts from ``corpora``.

    ``voices`` names the actor whose own statements a corpus file holds (none: no voice).

    Raises ``ValueError`` naming the line when a reference does not resolve.
    """
    records: dict[str, dict[str, dict[str, object]]] = {}
    passages = []
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        ref = json.loads(line)
        name = ref["file"]
        if name not in records:
            records[name] = _records(corpora / name)
        record = records[name].get(ref["record"])
        if record is None:
            raise ValueError(f"{labels}:{number}: no record {ref['record']} in {name}")
        text = str(record["text"])
        start, end = int(ref["start"]), int(ref["end"])
        if not 0 <= start < end <= len(text):
            raise ValueError(f"{labels}:{number}: offsets {start}:{end} outside the record")
        date = record.get("date")
        passages.append(
            Passage(
                file=name,
                record=ref["record"],
                start=start,
                end=end,
                kind=ref["kind"],
                expected=frozenset((a, d, s) for a, d, s in ref["findings"]),
                text=text[start:end],
                date=dt.date.fromisoformat(date[:10]) if isinstance(date, str) else None,
                voice=voices.get(name),
            )
        )
    return passages


def _records(path: Path) -> dict[str, dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return {record["id"]: record for record in map(json.loads, lines)}


def evaluate(passages: Iterable[Passage], rules: RuleSet) -> Report:
    """Match every passage and compare the (actor, demand, stance) triples with its labels."""
    overall = Score()
    per_demand: dict[str, Score] = {demand: Score() for demand in rules.demands}
    misses = []
    count = 0
    for passage in passages:
        count += 1
        found = {
            (f.actor, f.demand, f.stance)
            for f in match(passage.text, rules, on=passage.date, voice=passage.voice)
        }
        for triple in found | passage.expected:
            score = _score(triple in found, triple in passage.expected)
            overall += score
            per_demand[triple[1]] = per_demand.get(triple[1], Score()) + score
        if found != passage.expected:
            misses.append(
                Miss(passage, frozenset(found - passage.expected), passage.expected - found)
            )
    return Report(overall, per_demand, misses, count)


def _score(found: bool, expected: bool) -> Score:
    if found and expected:
        return Score(true_positives=1)
    return Score(false_positives=1) if found else Score(false_negatives=1)


def format_report(report: Report, demands: Sequence[str], *, misses: bool = False) -> str:
    """The report as a table: one row per demand, then the total."""
    rows = [f"{'demand':<24} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"]
    for demand in demands:
        s = report.per_demand.get(demand, Score())
        rows.append(
            f"{demand:<24} {s.true_positives:>4} {s.false_positives:>4} {s.false_negatives:>4}"
            f" {s.precision:>9.3f} {s.recall:>7.3f}"
        )
    s = report.overall
    rows.append(
        f"{'overall':<24} {s.true_positives:>4} {s.false_positives:>4} {s.false_negatives:>4}"
        f" {s.precision:>9.3f} {s.recall:>7.3f}   ({report.passages} passages)"
    )
    if misses:
        for miss in report.misses:
            p = miss.passage
            rows.append(f"\n{p.file} {p.record} {p.start}:{p.end} [{p.kind}]")
            rows.append(f"  {p.text[:400]!r}")
            for triple in sorted(miss.spurious):
                rows.append(f"  spurious: {' '.join(triple)}")
            for triple in sorted(miss.missed):
                rows.append(f"  missed:   {' '.join(triple)}")
    return "\n".join(rows)
