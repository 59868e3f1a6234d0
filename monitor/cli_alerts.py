"""The alert commands of ``newsmon``: ``alerts``, ``silence`` and ``send-test-alert``.

Thin like the rest of the command line: parse, call the store or a channel, print.
"""

from __future__ import annotations

__all__ = ["COMMANDS", "add_parsers"]

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from monitor.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    action_args,
    err,
    existing_database,
    reading_config,
)
from monitor.config import load_config, parse_duration
from monitor.errors import ChannelError
from monitor.model import Delta
from monitor.store import Store

T = TypeVar("T")

# What `send-test-alert` sends: plainly a test, in the shape of a real alert.
TEST_DELTA = Delta(
    kind="new_condition",
    actor="newsmon",
    demand="test",
    stance="demands",
    sentence="This is a test alert from newsmon: if you can read it, the channel works.",
    url="https://example.org/newsmon-test",
    title="newsmon test alert",
    published=datetime(2000, 1, 1, tzinfo=UTC),
    source="newsmon",
    actor_name="newsmon",
    demand_title="test alert (no action needed)",
    phrases=("test alert",),
)


def add_parsers(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the alert commands to the ``newsmon`` subparsers."""

    def db_arg(p: argparse.ArgumentParser) -> None:
        config_arg(p)
        p.add_argument("--db", metavar="PATH", help="database file (overrides the config)")

    alerts = sub.add_parser(
        "alerts",
        help="show the outbox; retry parked alerts",
        description="Without arguments: how many alerts are pending, sent and failed per "
        "channel. --failed lists the parked ones with their reason; `alerts retry ID` or "
        "`alerts retry --all` queues them again (the daemon sends them).",
    )
    db_arg(alerts)
    alerts.add_argument("--failed", action="store_true", help="list the alerts parked as failed")
    actions = alerts.add_subparsers(dest="action", metavar="ACTION")
    retry = actions.add_parser("retry", help="queue parked alerts again")
    action_args(retry)  # given before or after "retry", --config and --db keep their value
    retry.add_argument("id", nargs="?", type=int, help="the alert id that --failed shows")
    retry.add_argument("--all", action="store_true", help="every parked alert")

    silence = sub.add_parser(
        "silence",
        help="mute deltas for a while",
        description="Silenced deltas are recorded but not sent.",
    )
    verbs = silence.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="add a silence")
    db_arg(add)
    add.add_argument("--actor", help="actor id, e.g. russia")
    add.add_argument("--demand", help="demand id, e.g. ceasefire")
    add.add_argument("--kind", help="delta kind, e.g. demand_repeated")
    add.add_argument("--source", help="source name as in the alerts")
    add.add_argument(
        "--for", dest="duration", required=True, metavar="DURATION", help="e.g. 2h, 24h, 7d"
    )
    add.add_argument("--comment", default="", help="why, for the others on the desk")
    listing = verbs.add_parser("list", help="list the silences in force")
    db_arg(listing)
    remove = verbs.add_parser("remove", help="end a silence now")
    db_arg(remove)
    remove.add_argument("id", type=int)

    test = sub.add_parser(
        "send-test-alert",
        help="send a test alert on a channel",
        description="Send a test alert straight to CHANNEL (not through the outbox) and say "
        "whether the channel confirmed it: checks the configuration end to end.",
    )
    config_arg(test)
    test.add_argument("channel", metavar="CHANNEL")


def _with_store(args: argparse.Namespace, work: Callable[[Store], Awaitable[T]]) -> T | None:
    path = existing_database(args)
    if path is None:
        return None

    async def run() -> T:
        async with Store.opened(path) as store:
            return await work(store)

    return asyncio.run(run())


def _unknown_silence_ids(args: argparse.Namespace) -> str | None:
    """What is wrong with the actor, demand or kind a silence names, or None."""
    from monitor.model import DELTA_KINDS
    from monitor.reload import rule_dirs, unknown_id
    from monitor.rulebook import load_rules

    if args.kind is not None and args.kind not in DELTA_KINDS:
        return f"--kind: no kind {args.kind!r} (kinds: {', '.join(DELTA_KINDS)})"
    if args.actor is None and args.demand is None:
        return None
    rules = load_rules(rule_dirs(reading_config(args)))
    if args.actor is not None and args.actor not in rules.actors:
        return f"--actor: {unknown_id('actor', args.actor, rules.actors)}"
    if args.demand is not None and args.demand not in rules.demands:
        return f"--demand: {unknown_id('demand', args.demand, rules.demands)}"
    return None


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_alerts(args: argparse.Namespace) -> int:
    if args.action == "retry":
        if (args.id is None) == (not args.all):
            err("alerts retry: give an ID or --all")
            return EXIT_USAGE
        queued = _with_store(args, lambda s: s.retry_failed(args.id, now=time.time()))
        if queued is None:
            return EXIT_PROBLEMS
        if not queued:
            err("no parked alert" + ("" if args.all else f" with id {args.id}"))
            return EXIT_PROBLEMS
        print(f"{queued} alert row(s) queued again; the daemon sends them (or run --once)")
        return EXIT_OK
    if args.failed:
        failed = _with_store(args, lambda s: s.failed_alerts())
        if failed is None:
            return EXIT_PROBLEMS
        from monitor.alerts.render import headline

        for alert in failed:
            more = f" and {len(alert.deltas) - 1} more" if len(alert.deltas) > 1 else ""
            print(
                f"{alert.id}  {alert.channel}  attempts={alert.attempts}  "
                f"{headline(alert.deltas[0])}{more}\n    reason: {alert.reason}"
            )
        if not failed:
            print("no alert is parked as failed")
        return EXIT_OK

    rows = _with_store(args, lambda s: s.outbox_counts())
    if rows is None:
        return EXIT_PROBLEMS
    for channel, state, n in rows:
        print(f"{channel:<20} {state:<8} {n}")
    return EXIT_OK


def cmd_silence(args: argparse.Namespace) -> int:
    now = time.time()
    if args.action == "add":
        if not any((args.actor, args.demand, args.kind, args.source)):
            err("silence add: give at least one of --actor, --demand, --kind, --source")
            return EXIT_USAGE
        try:
            ends_at = now + parse_duration(args.duration)
        except ValueError as exc:
            err(f"--for: {exc}")
            return EXIT_USAGE
        # A typo would mute nothing while the desk believes it muted: ids are checked
        # against the rules the config names, kinds against the kinds there are.
        wrong = _unknown_silence_ids(args)
        if wrong:
            err(f"silence add: {wrong}")
            return EXIT_USAGE
        silence_id = _with_store(
            args,
            lambda s: s.add_silence(
                actor=args.actor,
                demand=args.demand,
                kind=args.kind,
                source=args.source,
                ends_at=ends_at,
                comment=args.comment,
                now=now,
            ),
        )
        if silence_id is None:
            return EXIT_PROBLEMS
        print(f"silence {silence_id} until {_when(ends_at)}")
        return EXIT_OK
    if args.action == "list":
        silences = _with_store(args, lambda s: s.silences(now=now))
        if silences is None:
            return EXIT_PROBLEMS
        for s in silences:
            what = " ".join(
                f"{key}={value}"
                for key, value in (
                    ("actor", s.actor),
                    ("demand", s.demand),
                    ("kind", s.kind),
                    ("source", s.source),
                )
                if value
            )
            comment = f"  # {s.comment}" if s.comment else ""
            print(f"{s.id}  {what}  until {_when(s.ends_at)}{comment}")
        if not silences:
            print("no silence in force")
        return EXIT_OK
    removed = _with_store(args, lambda s: s.remove_silence(args.id, now=now))
    if removed is None:
        return EXIT_PROBLEMS
    if not removed:
        err(f"no silence in force with id {args.id}")
        return EXIT_PROBLEMS
    print(f"silence {args.id} removed")
    return EXIT_OK


def cmd_send_test_alert(args: argparse.Namespace) -> int:
    from monitor.alerts.build import build_channels

    config = load_config(args.config, secrets="skip")  # this channel's are read below
    if args.channel not in config.channel_configs():
        names = ", ".join(sorted(config.channel_configs()))
        err(f"no channel named {args.channel!r} (channels: {names})")
        return EXIT_USAGE
    # Only this channel is built: a bad secret elsewhere must not stop the test of this one.
    only = config.model_copy(
        update={"channels": {args.channel: config.channel_configs()[args.channel]}}
    )

    async def send() -> str | None:
        channel = build_channels(only)[args.channel]
        try:
            await channel.send([TEST_DELTA], key=f"newsmon-test-{int(time.time())}")
        except ChannelError as exc:
            kind = "permanent" if exc.permanent else "transient"
            return f"{exc} ({kind})"
        finally:
            await channel.aclose()
        return None

    try:
        problem = asyncio.run(send())
    except ValueError as exc:  # a secret that cannot be read; never its value
        err(f"{args.channel}: {exc}")
        return EXIT_PROBLEMS
    if problem is not None:
        err(f"test alert not delivered: {problem}")
        return EXIT_PROBLEMS
    print(f"{args.channel}: test alert delivered")
    return EXIT_OK


COMMANDS = {"alerts": cmd_alerts, "silence": cmd_silence, "send-test-alert": cmd_send_test_alert}
