"""Findings against history: the kind of each delta and how positions advance."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.deltas import Position, advance, diff
from monitor.model import Article, Finding

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
ARTICLE = Article("https://news.example/a", "Title", "text", T0, "Example News")


def finding(stance: str = "demands", actor: str = "russia", demand: str = "ceasefire") -> Finding:
    return Finding(actor, demand, stance, f"{actor} {stance} {demand}.", 0, 10)


def position(last_demanded: datetime | None = T0, stance: str = "demands") -> Position:
    return Position("russia", "ceasefire", T0, T0, last_demanded, 1, 1, stance)


class TestDiff:
    def test_first_demand_is_a_new_condition(self) -> None:
        """No history for the pair: new_condition."""
        (delta,) = diff([finding()], {}, ARTICLE, T0)
        assert (delta.kind, delta.articles, delta.first_seen) == ("new_condition", 1, T0)

    def test_known_demand_is_repeated(self) -> None:
        """Demanded a week ago: demand_repeated, with the count and first sighting carried."""
        later = T0 + timedelta(days=7)
        (delta,) = diff([finding()], {("russia", "ceasefire"): position()}, ARTICLE, later)
        assert (delta.kind, delta.articles, delta.first_seen) == ("demand_repeated", 2, T0)

    def test_demand_after_silence_resurfaces(self) -> None:
        """Silent for longer than the window (14 days by default): demand_resurfaced."""
        later = T0 + timedelta(days=15)
        (delta,) = diff([finding()], {("russia", "ceasefire"): position()}, ARTICLE, later)
        assert delta.kind == "demand_resurfaced"

    def test_window_is_configurable(self) -> None:
        """A shorter window makes a shorter silence count."""
        later = T0 + timedelta(days=3)
        (delta,) = diff(
            [finding()],
            {("russia", "ceasefire"): position()},
            ARTICLE,
            later,
            window=timedelta(days=2),
        )
        assert delta.kind == "demand_resurfaced"

    def test_rejection_and_drop(self) -> None:
        """Stances other than demands give their own kinds."""
        deltas = diff([finding("rejects", "ukraine"), finding("drops")], {}, ARTICLE, T0)
        assert [(d.actor, d.kind) for d in deltas] == [
            ("ukraine", "demand_rejected"),
            ("russia", "demand_dropped"),
        ]

    def test_rejected_before_then_demanded_is_new(self) -> None:
        """An actor that only rejected a demand before, and now makes it, voices it first."""
        history = {("russia", "ceasefire"): position(last_demanded=None, stance="rejects")}
        (delta,) = diff([finding()], history, ARTICLE, T0 + timedelta(days=1))
        assert delta.kind == "new_condition"

    def test_window_per_demand(self) -> None:
        """A demand's own window applies to it alone; others keep the default."""
        later = T0 + timedelta(days=3)
        history = {("russia", "ceasefire"): position()}
        windows = {"ceasefire": timedelta(days=2)}
        (delta,) = diff([finding()], history, ARTICLE, later, windows=windows)
        assert delta.kind == "demand_resurfaced"
        (delta,) = diff([finding()], history, ARTICLE, later, windows={"other": timedelta(1)})
        assert delta.kind == "demand_repeated"

    def test_historical_finding_makes_no_delta(self) -> None:
        """A sentence about past talks is evidence of the past: never a new condition today."""
        past = replace(finding(), historical=True)
        assert diff([past], {}, ARTICLE, T0) == []
        assert [d.historical for d in diff([past, finding("rejects")], {}, ARTICLE, T0)] == [False]

    def test_one_delta_per_pair_and_article(self) -> None:
        """Demanding and dropping one demand in one article: the drop is the news."""
        deltas = diff([finding("demands"), finding("drops")], {}, ARTICLE, T0)
        assert [d.kind for d in deltas] == ["demand_dropped"]


class TestAdvance:
    def test_new_position(self) -> None:
        """The first delta opens the position."""
        (delta,) = diff([finding()], {}, ARTICLE, T0)
        assert advance(None, delta, new_source=True) == Position(
            "russia", "ceasefire", T0, T0, T0, 1, 1, "demands"
        )

    def test_late_article_keeps_latest_stance(self) -> None:
        """An older article arriving late counts, but does not move last_seen or the stance."""
        later = T0 + timedelta(days=3)
        current = Position("russia", "ceasefire", T0, later, later, 2, 1, "demands")
        (delta,) = diff(
            [finding("drops")], {("russia", "ceasefire"): current}, ARTICLE, T0 + timedelta(days=1)
        )
        moved = advance(current, delta, new_source=False)
        assert (moved.last_seen, moved.last_stance, moved.articles) == (later, "demands", 3)

    def test_evidence_follows_first_and_last_sighting(self) -> None:
        """The delta that moves first_seen or last_seen becomes its evidence."""
        later = T0 + timedelta(days=3)
        current = Position("russia", "ceasefire", T0, later, later, 2, 1, "demands", 1, 2)
        (early,) = diff([finding()], {}, ARTICLE, T0 - timedelta(days=1))
        (newest,) = diff([finding()], {}, ARTICLE, later + timedelta(days=1))
        moved = advance(current, replace(early, id=7), new_source=False)
        assert (moved.first_delta, moved.last_delta) == (7, 2)
        moved = advance(current, replace(newest, id=8), new_source=False)
        assert (moved.first_delta, moved.last_delta) == (1, 8)
