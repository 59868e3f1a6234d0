"""What an article does to the history, through the real pipeline into a real SQLite file:
copies corroborate, unknown demands group, the past is evidence, positions keep evidence."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.deltas import Judging
from monitor.match import match
from monitor.model import Article
from monitor.replay import replay
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.store import NewItem, Store

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)

STORY = (
    "Moscow demands that Ukraine never join NATO, the Kremlin said on Monday. The statement "
    "came after talks in Geneva ended without progress. Diplomats said the two sides would meet "
    "again next week to discuss security arrangements in Europe, and officials in Kyiv declined "
    "to comment on the prospects."
)
# The same wire story as another outlet runs it: a dateline and a credit line added.
COPY = "GENEVA (Wire) - " + STORY + " Reporting by Jane Doe; editing by John Roe."
OTHER = (
    "Russia insists that Ukraine never join NATO, Lavrov told reporters in Ankara after "
    "meeting his Turkish counterpart, who offered to host a new round of talks in Istanbul."
)
CORRIDOR = (
    "Russia insists on guarantees for Russian-speaking residents of the Donbas and on the "
    "protection of the Russian language in schools."
)
CORRIDOR_AGAIN = (
    "The Kremlin demands guarantees for the Russian-speaking population of Donbas and the use "
    "of the Russian language in schools, officials said."
)
INQUIRY = (
    "Moscow calls for an international inquiry into the explosions that damaged the pipelines "
    "under the Baltic Sea."
)
PAST = "In late 2021 Moscow insisted that Ukraine never join NATO, a demand the West rejected."


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([bundled_rules_dir()])


def article(n: int, text: str, published: datetime, source: str = "") -> NewItem:
    return NewItem(
        key=f"https://news.example/{n}",
        url=f"https://news.example/{n}",
        title=f"Story {n}",
        published=published,
        source=source or f"Outlet {n}",
        content=text,
        content_type="text",
    )


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


class TestSyndication:
    async def test_two_copies_give_one_delta_and_a_corroboration_count_of_two(
        self, tmp_path: Path, rules: RuleSet
    ) -> None:
        """A wire story and its copy in another outlet: one delta, corroborated twice, and the
        position counts both sources."""
        db = tmp_path / "n.db"
        items = [article(1, STORY, T0, "Wire"), article(2, COPY, T0 + timedelta(hours=2), "Daily")]
        deltas = await replay(items, db, rules)
        assert [(d.kind, d.url) for d in deltas] == [("new_condition", "https://news.example/1")]
        store = await Store.open(db)
        try:
            (event,) = await store.events()
            (position,) = await store.positions()
        finally:
            await store.close()
        assert event.corroborations == 2
        assert (position.articles, position.sources) == (1, 2)
        assert rows(db, "SELECT item_id, source FROM corroborations") == [(2, "Daily")]

    async def test_a_copy_makes_no_alert(self, tmp_path: Path, rules: RuleSet) -> None:
        """Only the first article's delta goes to the outbox."""
        store = await Store.open(tmp_path / "n.db")
        try:
            await store.add_items([article(1, STORY, T0), article(2, COPY, T0)], now=0)
            for _ in range(2):
                item = await store.claim_item(now=1)
                assert item is not None and item.content is not None
                await store.record_article(
                    item.id,
                    Article(item.url, item.title, item.content, T0, item.source),
                    match(item.content, rules),
                    published=T0,
                    routes=lambda d: ["terminal"],
                    names=lambda d: d,
                    now=1,
                )
        finally:
            await store.close()
        assert rows(tmp_path / "n.db", "SELECT count(*) FROM outbox") == [(1,)]

    async def test_the_same_words_a_week_later_are_a_new_statement(
        self, tmp_path: Path, rules: RuleSet
    ) -> None:
        """A copy is looked for only among articles of the last few days."""
        later = T0 + timedelta(days=8)
        deltas = await replay(
            [article(1, STORY, T0), article(2, COPY, later)], tmp_path / "n.db", rules
        )
        assert [d.kind for d in deltas] == ["new_condition", "demand_repeated"]

    async def test_a_different_story_is_a_repeat(self, tmp_path: Path, rules: RuleSet) -> None:
        """Another article voicing the same demand is not a copy."""
        items = [article(1, STORY, T0), article(2, OTHER, T0 + timedelta(hours=1))]
        deltas = await replay(items, tmp_path / "n.db", rules)
        assert [d.kind for d in deltas] == ["new_condition", "demand_repeated"]


class TestUnrecognized:
    async def test_similar_unknown_conditions_are_one_open_item(
        self, tmp_path: Path, rules: RuleSet
    ) -> None:
        """Two wordings of one unknown demand make one delta and an item counted twice; an
        unrelated one is an item of its own."""
        db = tmp_path / "n.db"
        items = [
            article(1, CORRIDOR, T0),
            article(2, CORRIDOR_AGAIN, T0 + timedelta(days=1)),
            article(3, INQUIRY, T0 + timedelta(days=2)),
        ]
        deltas = await replay(items, db, rules)
        assert [(d.kind, d.actor, d.url[-1]) for d in deltas] == [
            ("unrecognized_condition", "russia", "1"),
            ("unrecognized_condition", "russia", "3"),
        ]
        # The alert's title gives the words as the article wrote them, not their stems.
        title = deltas[0].demand_title
        assert title.startswith("unrecognized: ") and title.islower(), title
        written = set(re.findall(r"\w+", CORRIDOR.lower()))
        assert all(word in written for word in title.split()[1:]), title
        store = await Store.open(db)
        try:
            unknown = await store.unknown_conditions()
        finally:
            await store.close()
        assert [(u.articles, u.url[-1]) for u in unknown] == [(2, "1"), (1, "3")]

    @pytest.mark.parametrize(
        ("state", "kinds", "counted"),
        [
            # Dismissed: the same language is counted into the item, with no new delta.
            ("dismissed", [], 2),
            # Closed: done with, so the language unmatched again is a new item and delta.
            ("closed", ["unrecognized_condition"], 1),
        ],
    )
    async def test_a_dismissed_item_absorbs_and_a_closed_one_does_not(
        self, tmp_path: Path, rules: RuleSet, state: str, kinds: list[str], counted: int
    ) -> None:
        """What ops decided about an unknown condition holds for its next sighting."""
        db = tmp_path / "n.db"
        await replay([article(1, CORRIDOR, T0)], db, rules)
        async with Store.opened(db) as store:
            (item,) = await store.unknown_conditions()
            assert await store.set_unknown_state([item.id, 999], state) == [item.id]
        later = await replay([article(2, CORRIDOR_AGAIN, T0 + timedelta(days=1))], db, rules)
        assert [d.kind for d in later] == kinds
        async with Store.opened(db) as store:
            (first,) = [u for u in await store.unknown_conditions(states=(state,))]
            assert (first.id, first.articles) == (item.id, counted)

    async def test_a_known_demand_is_not_unrecognized(self, tmp_path: Path, rules: RuleSet) -> None:
        """A sentence that yields a finding is never also an unknown condition."""
        deltas = await replay([article(1, STORY, T0)], tmp_path / "n.db", rules)
        assert [d.kind for d in deltas] == ["new_condition"]


class TestHistorical:
    async def test_past_talks_are_evidence_not_news(self, tmp_path: Path, rules: RuleSet) -> None:
        """A sentence about 2021 makes no delta and no position; the demand voiced later is a
        new condition on its own date, and the past stays recorded as recalled."""
        db = tmp_path / "n.db"
        later = T0 + timedelta(days=5)
        deltas = await replay([article(1, PAST, T0), article(2, STORY, later)], db, rules)
        assert [(d.kind, d.published) for d in deltas] == [("new_condition", later)]
        assert rows(db, "SELECT demand, historical FROM findings ORDER BY id")[0] == (
            "ukraine-nato-ban",
            1,
        )
        store = await Store.open(db)
        try:
            (position,) = await store.positions()
        finally:
            await store.close()
        assert (position.first_seen, position.recalled) == (later, 1)

    async def test_past_only_pair_is_shown_as_recalled(
        self, tmp_path: Path, rules: RuleSet
    ) -> None:
        """A pair known only from the past is listed without sightings."""
        db = tmp_path / "n.db"
        assert await replay([article(1, PAST, T0)], db, rules) == []
        store = await Store.open(db)
        try:
            (position,) = await store.positions()
        finally:
            await store.close()
        assert (position.demand, position.first_seen, position.recalled) == (
            "ukraine-nato-ban",
            None,
            1,
        )


class TestPositions:
    async def test_position_points_at_its_evidence(self, tmp_path: Path, rules: RuleSet) -> None:
        """First and last sighting each name the sentence and link that set them."""
        db = tmp_path / "n.db"
        items = [article(1, STORY, T0), article(2, OTHER, T0 + timedelta(days=1))]
        await replay(items, db, rules)
        store = await Store.open(db)
        try:
            (position,) = await store.positions(actor="russia")
            assert await store.positions(actor="ukraine") == []
        finally:
            await store.close()
        assert (position.first_url, position.last_url) == (
            "https://news.example/1",
            "https://news.example/2",
        )
        assert position.first_sentence.startswith("Moscow demands")
        assert position.last_sentence.startswith("Russia insists")

    async def test_resurfacing_window_per_demand(self, tmp_path: Path, rules: RuleSet) -> None:
        """A demand with a 2-day window resurfaces after 3 days of silence."""
        items = [article(1, STORY, T0), article(2, OTHER, T0 + timedelta(days=3))]
        short = Judging(windows={"ukraine-nato-ban": timedelta(days=2)})
        deltas = await replay(items, tmp_path / "short.db", rules, short)
        assert [d.kind for d in deltas] == ["new_condition", "demand_resurfaced"]
        other = Judging(windows={"ceasefire": timedelta(days=2)})
        deltas = await replay(items, tmp_path / "other.db", rules, other)
        assert [d.kind for d in deltas] == ["new_condition", "demand_repeated"]
