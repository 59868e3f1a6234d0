"""Helpers for the alert tests: record articles with chosen findings into a real store, and
run a real sender until nothing is due."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts.outbox import Sender
from monitor.alerts.routing import Delivery
from monitor.model import Article, Delta, Finding
from monitor.store import NewItem, Store

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
_numbers = itertools.count(1)

Routes = Callable[[Delta], Sequence[Delivery | str]]

PUBLISHED = datetime(2024, 3, 1, 14, 5, tzinfo=UTC)


def make_delta(**changes: Any) -> Delta:
    """A realistic delta, as an alert would carry it; ``changes`` override any field."""
    delta = Delta(
        kind="new_condition",
        actor="russia",
        demand="ukraine-nato-ban",
        stance="demands",
        sentence="Moscow insists that Ukraine must never join NATO.",
        url="https://news.example.org/kremlin-terms?id=7&lang=en",
        title="Kremlin sets out its terms",
        published=PUBLISHED,
        source="Example News",
        actor_name="Russia",
        demand_title="Ukraine barred from NATO",
        phrases=("insists", "never join NATO"),
        first_seen=datetime(2024, 2, 1, 9, 0, tzinfo=UTC),
        articles=3,
    )
    return dataclasses.replace(delta, **changes)


def to(*channels: str, **how: float | str | None) -> Routes:
    """Routes sending every delta to ``channels`` with the given Delivery options."""
    return lambda delta: [Delivery(c, **how) for c in channels]  # type: ignore[arg-type]


def finding(actor: str = "russia", demand: str = "ceasefire", stance: str = "demands") -> Finding:
    sentence = f"{actor} {stance} {demand}."
    return Finding(actor, demand, stance, sentence, 0, len(sentence), phrases=(stance,))


async def record(
    store: Store,
    findings: Sequence[Finding],
    routes: Routes,
    *,
    now: float | None = None,
    source: str = "Example News",
) -> list[Delta]:
    """Record one new article with ``findings``, as the pipeline would; returns its deltas."""
    n = next(_numbers)
    published = T0 + timedelta(hours=n)
    url = f"https://news.example/{n}"
    await store.add_items(
        [NewItem(f"key-{n}", url, f"Story {n}", published, source, "text", "text")],
        now=time.time(),
    )
    claimed = await store.claim_item(now=time.time() + 10**6)
    assert claimed is not None
    # Each article its own words: identical texts would be near-duplicates (copies, one delta).
    text = " ".join(f"word{n}x{i}" for i in range(12))
    article = Article(url, f"Story {n}", text, published, source)
    return await store.record_article(
        claimed.id,
        article,
        list(findings),
        published=published,
        routes=routes,
        names=lambda d: d,
        now=time.time() if now is None else now,
    )


async def drain(sender: Sender, *, bound: float = 20.0) -> None:
    """Run the sender until no alert is pending (digests aside); fail after ``bound`` s."""
    deadline = time.monotonic() + bound
    while True:
        await sender.deliver_due()
        due = await sender.store.next_alert_due(alerts_only=True)
        if due is None:
            return
        assert time.monotonic() < deadline, "alerts still pending after the bound"
        await asyncio.sleep(min(1.0, max(0.0, due - time.time())))
