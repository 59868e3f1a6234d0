"""The proof on real history: the Kremlin's English press releases (Oct 2021 - Jun 2022),
replayed in date order, give each demand's first statement as a new condition on its date.

The expected first dates come from reading the releases (record ids in the corpus). The
releases are read in the Kremlin's own voice (``voice: russia``), as its feed would be:

- 2021-10-27, d38ed4712d8a (East Asia Summit): Russia "has announced a unilateral moratorium
  on the deployment of intermediate and short-range missiles in the APR and other regions and
  called for a serious discussion on this subject": the strike-weapons demand, before December.
- 2021-11-18, dcf5cc7be94b (the Foreign Ministry Board): "our concerns and warnings
  regarding NATO's eastward expansion have been totally ignored", the speech that set the
  December demands in motion.
- 2021-12-01, e5668aa85343 (Putin at the ambassadors' credentials ceremony): "we will insist
  on ... agreements that would rule out any further eastward expansion of NATO and the
  deployment of weapons systems posing a threat to us in close proximity to Russia's
  territory"; "ensure that Russia is granted reliable and long-term security guarantees".
- 2022-02-21, 97ac0206bd1a (the Security Council): its goal is to outline the next steps
  "considering the appeals by the leaders of the Donetsk People's Republic and the Lugansk
  People's Republic on recognising their sovereignty"; Russia takes up their recognition.
- 2022-02-22, a3e730ce76a7 (Putin answering the press): "The first thing that everyone should
  do is to recognise the will of the people who live in Sevastopol and in Crimea"; "the most
  important point is the demilitarisation, to a certain extent, of today's Ukraine".
- 2022-02-24, 964af3edbeda (the address): "we will seek to demilitarise and denazify Ukraine".
- 2022-02-28, a8e2c88afe2f (call with Macron): settlement "possible only in case of ...
  recognition of Russia's sovereignty over Crimea, ... demilitarisation and denazification,
  and ensuring its neutral status"; 2022-03-01 (call with Maduro) adds "nuclear-free" and
  "Kiev's recognition of the Donetsk and Lugansk people's republics"; 2022-03-04 (call with
  Scholz) lists them all.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from monitor.model import Delta
from monitor.replay import replay
from monitor.rulebook import bundled_rules_dir, load_rules
from monitor.store import NewItem
from tests.conftest import SHARED

RELEASES = "corpora/news/official_press_releases_putin_2021-10_2022-06.jsonl"

FIRST_STATED = {
    "nato-non-expansion": date(2021, 11, 18),
    "security-guarantees": date(2021, 12, 1),
    "missile-deployment-ban": date(2021, 10, 27),
    "territorial-recognition": date(2022, 2, 21),
    "demilitarization": date(2022, 2, 22),
    "denazification": date(2022, 2, 24),
    "ukraine-neutrality": date(2022, 2, 28),
}


@pytest.fixture(scope="module")
def kremlin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Delta]]:
    """Russia's deltas per demand, from a replay of every release into a fresh database."""
    path = SHARED / RELEASES
    if not path.is_file():
        pytest.skip("../shared is not present")
    items = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            published = record.get("datetime") or record["date"]
            items.append(
                NewItem(
                    key=record["url"],
                    url=record["url"],
                    title=record["title"],
                    published=_utc(published),
                    source="Kremlin",
                    content=record["text"],
                    content_type="text",
                    # The Kremlin's own releases: its feed would be configured `voice: russia`.
                    voice="russia",
                )
            )
    db = Path(tmp_path_factory.mktemp("kremlin")) / "newsmon.db"
    rules = load_rules([bundled_rules_dir()])
    deltas = asyncio.run(replay(items, db, rules))
    by_demand: dict[str, list[Delta]] = defaultdict(list)
    for delta in deltas:
        if delta.actor == "russia":
            by_demand[delta.demand].append(delta)
    return by_demand


def _utc(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@pytest.mark.parametrize("demand", FIRST_STATED)
def test_first_statement_is_a_new_condition_on_its_date(
    kremlin: dict[str, list[Delta]], demand: str
) -> None:
    """Russia's first delta on the demand is a new condition, dated by the release."""
    first = kremlin[demand][0]
    assert (first.kind, first.published.date()) == ("new_condition", FIRST_STATED[demand])


def test_later_statements_repeat_or_resurface(kremlin: dict[str, list[Delta]]) -> None:
    """Each demand is new once; later statements of it are repeats, or resurfacings after
    more than 14 days of silence, and both occur."""
    later_kinds = set()
    for demand in FIRST_STATED:
        deltas = kremlin[demand]
        assert [d.kind for d in deltas].count("new_condition") == 1, demand
        assert deltas[0].kind == "new_condition"
        for delta in deltas[1:]:
            assert delta.kind in ("demand_repeated", "demand_resurfaced"), delta
            later_kinds.add(delta.kind)
    assert later_kinds == {"demand_repeated", "demand_resurfaced"}
