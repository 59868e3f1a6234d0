"""Findings against history: what changed for each (actor, demand) pair.

Pure functions over plain data: the store reads the positions a batch of findings touches,
``diff`` says what changed, ``advance`` says what the positions become, and the store writes
both in one transaction. Time is always the article's publication time, so replaying old news
gives the same deltas as living through it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_RESURFACE_WINDOW", "Judging", "Position", "advance", "diff"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.model import Article, Delta, Finding

DEFAULT_RESURFACE_WINDOW = timedelta(days=14)
# Measured with bench/near_duplicates.py on the 5,273 dated texts of ../shared/corpora/news
# (455,000 pairs published within three days): copies of one story (the same item in two
# feeds, a wire story re-headlined) score 0.69 to 1.0; distinct stories sit below 0.6 except
# templated official texts (0.88, 0.91); no pair falls between 0.7 and 0.8, one (a copy)
# between 0.6 and 0.7.
NEAR_DUPLICATE = 0.6

# When one article shows an actor both demanding and dropping a demand, the change of
# stance is the news: it wins over a repeat.
_STANCE_PRIORITY = {"drops": 0, "rejects": 1, "demands": 2}


@dataclass(frozen=True)
class Position:
    """The history of one (actor, demand) pair."""

    actor: str
    demand: str
    first_seen: datetime
    last_seen: datetime
    last_demanded: datetime | None
    articles: int
    sources: int
    last_stance: str
    # The deltas that set first_seen and last_seen (and the last stance): the evidence.
    first_delta: int | None = None
    last_delta: int | None = None


@dataclass(frozen=True)
class Judging:
    """How findings are judged: the resurfacing window (per demand where given) and what
    counts as a copy of an earlier article."""

    window: timedelta = DEFAULT_RESURFACE_WINDOW
    windows: Mapping[str, timedelta] = field(default_factory=dict)
    near_duplicate: float = NEAR_DUPLICATE
    # A copy is looked for among articles published this close before (syndication is quick;
    # the same words a month later are a new statement).
    copy_within: timedelta = timedelta(days=3)

    def window_for(self, demand: str) -> timedelta:
        """The silence after which ``demand`` resurfaces."""
        return self.windows.get(demand, self.window)


def _kind(
    finding: Finding, position: Position | None, published: datetime, window: timedelta
) -> str:
    if finding.stance == "rejects":
        return "demand_rejected"
    if finding.stance == "drops":
        return "demand_dropped"
    if position is None or position.last_demanded is None:
        return "new_condition"
    if published - position.last_demanded > window:
        return "demand_resurfaced"
    return "demand_repeated"


def diff(
    findings: Iterable[Finding],
    positions: Mapping[tuple[str, str], Position],
    article: Article,
    published: datetime,
    *,
    window: timedelta = DEFAULT_RESURFACE_WINDOW,
    windows: Mapping[str, timedelta] | None = None,
) -> list[Delta]:
    """The deltas one article's findings make against the positions before it.

    At most one delta per (actor, demand) pair and article. ``windows`` gives the resurfacing
    window of the demands that have their own. A historical finding (about past talks) makes
    no delta: it is evidence of the past, not something that changed on ``published``.
    """
    chosen: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        if finding.historical:
            continue
        pair = (finding.actor, finding.demand)
        held = chosen.get(pair)
        if held is None or _STANCE_PRIORITY[finding.stance] < _STANCE_PRIORITY[held.stance]:
            chosen[pair] = finding
    deltas = []
    for pair, finding in chosen.items():
        position = positions.get(pair)
        deltas.append(
            Delta(
                kind=_kind(finding, position, published, (windows or {}).get(pair[1], window)),
                actor=finding.actor,
                demand=finding.demand,
                stance=finding.stance,
                sentence=finding.sentence,
                url=article.url,
                title=article.title,
                published=published,
                source=article.source,
                historical=finding.historical,
                phrases=finding.phrases,
                first_seen=position.first_seen if position else published,
                articles=(position.articles if position else 0) + 1,
            )
        )
    return deltas


def advance(position: Position | None, delta: Delta, *, new_source: bool) -> Position:
    """The position of ``delta``'s pair once ``delta`` is recorded.

    ``delta.id``, once known, becomes the evidence of what it sets (first or last seen).
    """
    when = delta.published
    demanded = when if delta.stance == "demands" else None
    if position is None:
        return Position(
            delta.actor, delta.demand, when, when, demanded, 1, 1, delta.stance, delta.id, delta.id
        )
    last_demanded = position.last_demanded
    if demanded is not None and (last_demanded is None or demanded > last_demanded):
        last_demanded = demanded
    return replace(
        position,
        first_seen=min(position.first_seen, when),
        last_seen=max(position.last_seen, when),
        last_demanded=last_demanded,
        articles=position.articles + 1,
        sources=position.sources + (1 if new_source else 0),
        last_stance=delta.stance if when >= position.last_seen else position.last_stance,
        first_delta=delta.id if when < position.first_seen else position.first_delta,
        last_delta=delta.id if when >= position.last_seen else position.last_delta,
    )
