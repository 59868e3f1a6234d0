"""``newsmon feeds``, ``newsmon feeds import`` and ``newsmon items``: the feed list, its
health, OPML import, and the items given up on. Thin, like the rest of the command line."""

from __future__ import annotations

__all__ = ["COMMANDS", "add_parsers"]

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    action_args,
    err,
    existing_database,
    reading_config,
)
from monitor.config import Config, parse_duration


def add_parsers(sub: Any, config_arg: Any) -> None:
    """``newsmon feeds [import FILE]`` and ``newsmon items``."""
    feeds = sub.add_parser(
        "feeds",
        help="list the feeds with their health, or import an OPML list",
        description="List every active feed with its health: last success, errors, last "
        "status, next poll. 'newsmon feeds import FILE.opml' adds the feeds of an OPML file.",
    )
    config_arg(feeds)
    feeds.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    feeds.add_argument("--json", action="store_true", help="one JSON object per feed")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")
    imp = feeds_sub.add_parser(
        "import",
        help="add the feeds of an OPML file",
        description="Add every feed (outline with an http(s) xmlUrl) of an OPML file. "
        "Imported feeds are polled like configured ones and stay until removed.",
    )
    imp.add_argument("opml", metavar="FILE.opml")
    action_args(imp)

    items = sub.add_parser(
        "items",
        help="list items that failed, or count items by state",
        description="Without options, count the items by state. --failed lists the items "
        "given up on, with the reason; --purge removes old finished items (a tombstone keeps "
        "each from coming back).",
    )
    config_arg(items)
    items.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    items.add_argument("--failed", action="store_true", help="list the failed items")
    items.add_argument(
        "--purge",
        metavar="DURATION",
        help="delete finished items seen longer ago than this (e.g. 90d) that made no delta",
    )
    items.add_argument("--json", action="store_true", help="one JSON object per item")


def _store_path(args: argparse.Namespace) -> tuple[Config, Path]:
    config = reading_config(args)
    return config, Path(args.db) if args.db else config.database_path()


def _relative(now: float, when: float | None) -> str:
    from monitor.sources.schedule import format_duration

    if when is None:
        return "never"
    return f"{format_duration(abs(now - when))} {'ago' if when <= now else 'from now'}"


def _due(now: float, when: float) -> str:
    return "due now" if when <= now else _relative(now, when)


def _feed_health(feed: Any, now: float, failing_after: int) -> str:
    if feed.last_polled_at is None:
        return "new"
    if feed.consecutive_errors >= failing_after:
        return "failing"
    if feed.consecutive_errors:
        return "erring"
    return "quiet" if feed.quiet_since is not None else "ok"


def cmd_feeds(args: argparse.Namespace) -> int:
    from monitor.sources.opml import read_opml
    from monitor.sources.schedule import format_duration
    from monitor.store import Store

    config, path = _store_path(args)
    if args.feeds_command == "import":
        feeds, problems = read_opml(Path(args.opml))
        for problem in problems:
            print(str(problem), file=sys.stderr)

        async def add() -> int:
            async with Store.opened(path) as store:
                pairs = [(f.url, f.name) for f in feeds]
                return await store.import_feeds(pairs, interval_s=config.poll_interval)

        added = asyncio.run(add())
        print(f"{args.opml}: {len(feeds)} feeds, {added} new, {len(problems)} refused")
        return EXIT_PROBLEMS if problems else EXIT_OK
    if not path.exists():
        err(f"no database at {path}")
        return EXIT_PROBLEMS

    async def read() -> list[Any]:
        async with Store.opened(path) as store:
            return await store.all_feeds()

    now = time.time()
    failing_after = config.polling.failures_before_alert
    for feed in asyncio.run(read()):
        health = _feed_health(feed, now, failing_after)
        if args.json:
            print(
                json.dumps(
                    {
                        "url": feed.url,
                        "name": feed.name or feed.title,
                        "health": health,
                        "last_success": _iso(feed.last_success_at),
                        "last_polled": _iso(feed.last_polled_at),
                        "last_status": feed.last_status,
                        "consecutive_errors": feed.consecutive_errors,
                        "last_error": feed.last_error,
                        "warning": feed.warning,
                        "next_poll": _iso(feed.next_poll_at or None),
                        "interval_s": feed.interval_s,
                        "cadence_s": feed.cadence_s,
                        "imported": feed.imported,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        cadence = f", a new entry every {format_duration(feed.cadence_s)}" if feed.cadence_s else ""
        print(f"{health:<8} {feed.url}  {feed.name or feed.title}".rstrip())
        print(
            f"         last ok {_relative(now, feed.last_success_at)}, "
            f"status {feed.last_status or '-'},"
            f" next poll {_due(now, feed.next_poll_at)}{cadence}"
        )
        if feed.consecutive_errors:
            print(f"         {feed.consecutive_errors} errors in a row, last: {feed.last_error}")
        if feed.warning:
            print(f"         warning: {feed.warning}")
    return EXIT_OK


def _iso(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when, UTC).isoformat()


def cmd_items(args: argparse.Namespace) -> int:
    from monitor.store import Store

    path = existing_database(args)
    if path is None:
        return EXIT_PROBLEMS
    purge_before = None
    if args.purge:
        try:
            purge_before = time.time() - parse_duration(args.purge)
        except ValueError as exc:
            err(f"--purge: {exc}")
            return EXIT_USAGE

    async def work() -> tuple[list[Any], dict[str, int], int]:
        async with Store.opened(path) as store:
            purged = 0
            if purge_before is not None:
                purged = await store.purge_items(seen_before=purge_before, now=time.time())
            failed = await store.failed_items() if args.failed else []
            return failed, await store.item_counts(), purged

    failed, counts, purged = asyncio.run(work())
    if args.purge:
        print(f"purged {purged} items")
    if args.failed:
        for item in failed:
            if args.json:
                print(
                    json.dumps(
                        {
                            "id": item.id,
                            "url": item.url,
                            "title": item.title,
                            "feed": item.feed_url,
                            "attempts": item.attempts,
                            "error": item.error,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                print(f"{item.url}\n    {item.attempts} attempts: {item.error}")
    elif not args.purge:
        if args.json:
            print(json.dumps(counts))
        else:
            print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no items")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "feeds": cmd_feeds,
    "items": cmd_items,
}
