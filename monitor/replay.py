"""``newsmon replay``: articles from a JSON-lines file through match and deltas, in time order."""

from __future__ import annotations

__all__ = ["CLAIM_BATCH", "read_articles", "replay"]

import asyncio
import json
import time
from collections import deque
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from monitor.deltas import Judging
from monitor.model import Delta
from monitor.pipeline import Pipeline, item_key
from monitor.pool import CpuPool
from monitor.rulebook import RuleSet
from monitor.store import NewItem, Store

CLAIM_BATCH = 64
# Articles read and matched ahead of the one being recorded: matching fills the time the loop
# would otherwise spend waiting on the database thread.
READ_AHEAD = 4


def _published(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("published must be an ISO 8601 date or time")
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _voice(value: object, actors: Collection[str]) -> str | None:
    """An optional ``voice``: the actor whose own statements the text is."""
    if value in (None, ""):
        return None
    if actors and value not in actors:
        raise ValueError(f"voice {value!r} is not an actor of the rules ({', '.join(actors)})")
    return str(value)


def read_articles(path: Path, actors: Collection[str] = ()) -> tuple[list[NewItem], list[str]]:
    """The articles of a JSON-lines file, and a problem (``file:line: what``) per bad line."""
    items: list[NewItem] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("each line must be a JSON object")
                url = str(record.get("url") or "")
                title = str(record.get("title") or "")
                if "text" in record and record["text"] is not None:
                    content, kind = str(record["text"]), "text"
                elif "html" in record and record["html"] is not None:
                    content, kind = str(record["html"]), "html"
                else:
                    raise ValueError("needs a 'text' or an 'html' field")
                if not url and not title:
                    raise ValueError("needs a 'url' or a 'title' to identify it")
                items.append(
                    NewItem(
                        key=item_key(url, title + content[:200]),
                        url=url,
                        title=title,
                        published=_published(record.get("published")),
                        source=str(record.get("source") or ""),
                        content=content,
                        content_type=kind,
                        voice=_voice(record.get("voice"), actors),
                    )
                )
            except (ValueError, TypeError) as exc:
                problems.append(f"{path}:{number}: {exc}")
    return items, problems


async def replay(
    items: list[NewItem], db: Path, rules: RuleSet, judging: Judging | None = None
) -> list[Delta]:
    """Record ``items`` in publication order; returns the deltas they made, in that order.

    The same pipeline as the daemon, minus fetching and alerting: replayed history is
    recorded, not sent to the desk.
    """
    store = await Store.open(db)
    pool = CpuPool()
    try:
        await store.release_claims()
        await store.add_items(items, now=time.time())
        pipeline = Pipeline(store, rules, pool, None, route=lambda delta: [])
        if judging is not None:
            pipeline.judging = judging
        deltas: list[Delta] = []
        # Claimed in batches (one transaction each); recorded one by one in order, each in its
        # own transaction, while the next items are read and matched (no database) meanwhile.
        # Articles with nothing in them are marked done together at the end of the batch:
        # after a crash they are read again and again change nothing. The claimed rest
        # returns to the queue.
        while batch := await store.claim_items(now=time.time(), limit=CLAIM_BATCH):
            empty: list[tuple[int, str]] = []
            ahead = deque(
                asyncio.ensure_future(pipeline.read_item(item)) for item in batch[:READ_AHEAD]
            )
            for index, item in enumerate(batch):
                read = await ahead.popleft()
                if index + READ_AHEAD < len(batch):
                    next_item = batch[index + READ_AHEAD]
                    ahead.append(asyncio.ensure_future(pipeline.read_item(next_item)))
                if read.article is not None and not read.findings and not read.unknowns:
                    empty.append((item.id, read.article.title))
                else:
                    deltas.extend(await pipeline.record_item(item, read))
            await store.mark_done(empty, now=time.time())
        return deltas
    finally:
        pool.close()
        await store.close()
