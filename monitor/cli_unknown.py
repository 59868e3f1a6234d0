"""``newsmon unknown``: the demand language no rule knows yet, and closing or dismissing it.

An unrecognized condition is an open item with a count (see :mod:`monitor.store.history`).
Ops close it once a rule covers it (the same language unmatched again opens a new item), or
dismiss it when it is noise (similar language is then counted into it without an alert).
"""

from __future__ import annotations

__all__ = ["COMMANDS", "add_parsers"]

import argparse
import asyncio
import json
from collections.abc import Callable
from typing import Any

from monitor.cli_common import EXIT_OK, EXIT_PROBLEMS, action_args, err, existing_database

_STATE = {"close": "closed", "dismiss": "dismissed", "reopen": "open"}


def add_parsers(sub: Any, config_arg: Any) -> None:
    """``newsmon unknown [close|dismiss|reopen ID...]``."""
    unknown = sub.add_parser(
        "unknown",
        help="demand language no rule knows: list, close or dismiss it",
        description="List the open unrecognized conditions (a tracked actor's demand language "
        "that matches no rule), most seen first. 'close ID' once a rule covers it; 'dismiss "
        "ID' when it is noise: similar language is then counted into it without an alert; "
        "'reopen ID' undoes either.",
    )
    config_arg(unknown)
    unknown.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    unknown.add_argument("--actor", metavar="ID", help="only this actor's")
    unknown.add_argument("--all", action="store_true", help="closed and dismissed ones too")
    unknown.add_argument("--json", action="store_true", help="one JSON object per item")
    actions = unknown.add_subparsers(dest="unknown_command", metavar="ACTION")
    for action, says in (
        ("close", "done with: a rule covers it now"),
        ("dismiss", "noise: count similar language into it, without alerts"),
        ("reopen", "open it again"),
    ):
        parser = actions.add_parser(action, help=says, description=f"Mark items {says}.")
        parser.add_argument("ids", metavar="ID", type=int, nargs="+", help="item id (#N)")
        action_args(parser)


def cmd_unknown(args: argparse.Namespace) -> int:
    from monitor.store import Store

    path = existing_database(args)
    if path is None:
        return EXIT_PROBLEMS
    action = getattr(args, "unknown_command", None)
    if action is not None:

        async def mark() -> list[int]:
            async with Store.opened(path) as store:
                return await store.set_unknown_state(args.ids, _STATE[action])

        found = asyncio.run(mark())
        for item in args.ids:
            if item in found:
                print(f"#{item} {_STATE[action]}")
            else:
                err(f"no unrecognized condition #{item}")
        return EXIT_OK if len(found) == len(set(args.ids)) else EXIT_PROBLEMS

    states = ("open", "dismissed", "closed") if args.all else ("open",)

    async def read() -> list[Any]:
        async with Store.opened(path) as store:
            return await store.unknown_conditions(actor=args.actor, states=states)

    items = asyncio.run(read())
    if args.json:
        for u in items:
            row = {
                "id": u.id,
                "actor": u.actor,
                "words": list(u.words),
                "articles": u.articles,
                "first_seen": u.first_seen.isoformat(),
                "last_seen": u.last_seen.isoformat(),
                "state": u.state,
                "sentence": u.sentence,
                "url": u.url,
            }
            print(json.dumps(row, ensure_ascii=False))
        return EXIT_OK
    if not items:
        print("no unrecognized conditions" + ("" if args.all else " open"))
    for u in items:
        state = "" if u.state == "open" else f"  [{u.state}]"
        print(
            f"#{u.id} {u.actor}: {' '.join(u.words)}  ({u.articles} article(s), "
            f"{u.first_seen:%Y-%m-%d} → {u.last_seen:%Y-%m-%d}){state}\n"
            f"    “{u.sentence}” {u.url}"
        )
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"unknown": cmd_unknown}
