"""The ``newsmon`` command line: parse arguments, call the library, print. Nothing more."""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__
from monitor.cli_alerts import COMMANDS as ALERT_COMMANDS
from monitor.cli_alerts import add_parsers as add_alert_parsers
from monitor.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    err,
    existing_database,
    reading_config,
)
from monitor.cli_feeds import COMMANDS as FEED_COMMANDS
from monitor.cli_feeds import add_parsers as add_feed_parsers
from monitor.cli_unknown import COMMANDS as UNKNOWN_COMMANDS
from monitor.cli_unknown import add_parsers as add_unknown_parsers
from monitor.config import (
    Config,
    load_config,
    parse_duration,
    secret_values,
    unreachable_secrets,
)
from monitor.errors import ConfigError, ExtractError, NewsmonError, RuleError
from monitor.extract import extract_text
from monitor.logs import configure_logging
from monitor.match import match
from monitor.model import DELTA_KINDS, Delta, Finding
from monitor.reload import check_references
from monitor.rulebook import RuleSet, bundled_rules_dir, check_rules, load_rules

if TYPE_CHECKING:
    from monitor.store import PositionRow, UnknownItem


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="Watch news feeds for what political actors demand, record what changes, "
        "and alert the desk.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            "-c",
            metavar="FILE",
            help="config file (YAML); without it, the embedded defaults",
        )

    run = sub.add_parser(
        "run",
        help="run the daemon",
        description="Poll the feeds, process new articles, send alerts. "
        "Stops cleanly on SIGTERM or SIGINT.",
    )
    config_arg(run)
    run.add_argument(
        "--once",
        action="store_true",
        help="poll every feed once, drain the work, send the alerts and exit",
    )
    run.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    run.add_argument(
        "--log-format",
        choices=("json", "console"),
        help="log format on standard error (default: console on a terminal, else JSON)",
    )

    check = sub.add_parser(
        "check",
        help="validate the config and the rules",
        description="Validate the config and every rule file, and run each "
        "rule's examples. Exit 0 when all is good, 1 with every problem "
        "listed (file:line: field: what is wrong).",
    )
    config_arg(check)
    check.add_argument(
        "--rules",
        metavar="DIR",
        action="append",
        help="rule directory to check instead of the config's (repeatable)",
    )

    m = sub.add_parser(
        "match",
        help="match local files against the rules",
        description="Match .html/.htm files (text extracted first) or text "
        "files against the rules and print the findings.",
    )
    m.add_argument("files", nargs="+", metavar="FILE")
    m.add_argument(
        "--rules",
        metavar="DIR",
        action="append",
        help="rule directory (repeatable; default: the bundled rules)",
    )
    m.add_argument("--json", action="store_true", help="one JSON object per finding")
    m.add_argument(
        "--date",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="when the text was written: officials count only while in office",
    )
    m.add_argument(
        "--voice",
        metavar="ACTOR",
        help="actor id the text speaks for (its own statements): its 'we' is that actor",
    )

    replay = sub.add_parser(
        "replay",
        help="process a JSON-lines file of articles",
        description="Process articles (JSON lines with url, title, "
        "published, and text or html; optional source) in publication "
        "order through matching and deltas into the database, and print "
        "the deltas. Sends no alerts.",
    )
    replay.add_argument("input", metavar="INPUT")
    replay.add_argument("--db", metavar="PATH", required=True, help="database file")
    replay.add_argument(
        "--rules",
        metavar="DIR",
        action="append",
        help="rule directory (repeatable; default: the bundled rules)",
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per delta")

    events = sub.add_parser(
        "events",
        help="list the recorded deltas",
        description="List the recorded deltas, oldest first.",
    )
    config_arg(events)
    events.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    events.add_argument(
        "--since",
        metavar="DURATION",
        help="only deltas published within this long ago (30m, 12h, 7d)",
    )
    events.add_argument("--actor", metavar="ID", help="only this actor's deltas")
    events.add_argument("--demand", metavar="ID", help="only deltas on this demand")
    events.add_argument("--kind", choices=DELTA_KINDS, help="only deltas of this kind")
    events_format = events.add_mutually_exclusive_group()
    events_format.add_argument("--json", action="store_true", help="one JSON object per delta")
    events_format.add_argument("--csv", action="store_true", help="CSV with a header row")

    positions = sub.add_parser(
        "positions",
        help="who demands what: the current positions",
        description="The current table of who demands what: first and last seen, articles, "
        "sources, last stance, and the evidence of each; then the open unrecognized conditions.",
    )
    config_arg(positions)
    positions.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    positions.add_argument("--actor", metavar="ID", help="only this actor")
    positions.add_argument("--demand", metavar="ID", help="only this demand")
    positions_format = positions.add_mutually_exclusive_group()
    positions_format.add_argument("--json", action="store_true", help="one JSON object per row")
    positions_format.add_argument("--csv", action="store_true", help="CSV with a header row")

    timeline = sub.add_parser(
        "timeline",
        help="a picture of an actor's demands over time",
        description="One row per demand, a mark per article, the first appearance "
        "highlighted: on the terminal, or into FILE (.svg, .html, or .png with the "
        "'plot' extra).",
    )
    config_arg(timeline)
    timeline.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    timeline.add_argument("--actor", metavar="ID", required=True, help="the actor")
    timeline.add_argument("--out", metavar="FILE", help="write FILE.svg, FILE.html or FILE.png")
    status = sub.add_parser(
        "status",
        help="one-screen summary of a running (or stopped) newsmon",
        description="Feeds ok and failing, queue depths, the latest deltas, pending and failed "
        "alerts, and the rule set in force, read from the database.",
    )
    config_arg(status)
    status.add_argument("--db", metavar="PATH", help="database file (overrides the config)")
    add_alert_parsers(sub, config_arg)
    add_feed_parsers(sub, config_arg)
    add_unknown_parsers(sub, config_arg)
    return parser


def _rules(dirs: Sequence[str] | None) -> RuleSet:
    return load_rules([Path(d) for d in dirs] if dirs else [bundled_rules_dir()])


def _delta_json(delta: Delta) -> dict[str, Any]:
    return {
        "id": delta.id,  # as in the webhook's JSON: an alert received is found here by it
        "kind": delta.kind,
        "actor": delta.actor,
        "demand": delta.demand,
        "stance": delta.stance,
        "url": delta.url,
        "title": delta.title,
        "source": delta.source,
        "published": delta.published.isoformat(),
        "sentence": delta.sentence,
        "historical": delta.historical,
        "corroborations": delta.corroborations,
    }


_DELTA_FIELDS = (
    "id",
    "published",
    "kind",
    "actor",
    "demand",
    "stance",
    "sentence",
    "url",
    "title",
    "source",
    "historical",
    "corroborations",
)


def _print_delta(delta: Delta, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_delta_json(delta), ensure_ascii=False))
        return
    flag = " (historical)" if delta.historical else ""
    if delta.corroborations > 1:
        flag += f" (carried by {delta.corroborations} articles)"
    print(
        f"{delta.published:%Y-%m-%d %H:%M}  {delta.kind:<22} {delta.actor} → {delta.demand}"
        f" [{delta.stance}]{flag}\n    “{delta.sentence}”\n    {delta.url}"
    )


# -- commands ------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.service import run_daemon

    config = load_config(args.config)
    if args.db:
        config = config.model_copy(update={"database": str(Path(args.db).resolve())})
    secrets = secret_values(config)
    json_logs = None if args.log_format is None else args.log_format == "json"
    configure_logging(json=json_logs, secrets=secrets)
    return asyncio.run(run_daemon(config, once=args.once))


def cmd_check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    config = Config()
    try:
        config = load_config(args.config, secrets="reachable")
    except ConfigError as exc:
        problems += [str(p) for p in exc.problems]
    for note in unreachable_secrets(config):
        print(note, file=sys.stderr)
    if config.alerts.templates and not problems:
        from monitor.alerts.templates import Renderer

        try:
            Renderer(config.alerts.templates).check()
        except ConfigError as exc:
            problems += [str(p) for p in exc.problems]
    dirs = [Path(d) for d in (args.rules or config.rules)] or [bundled_rules_dir()]
    rule_problems = check_rules(dirs)
    problems += [str(p) for p in rule_problems]
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_PROBLEMS
    rules = load_rules(dirs)
    problems = []
    try:
        check_references(config, rules)
    except ConfigError as exc:
        problems += [str(p) for p in exc.problems]
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_PROBLEMS
    print(
        f"ok: config {config.source}; rules {', '.join(str(d) for d in dirs)}: "
        f"{len(rules.actors)} actors, {len(rules.demands)} demands; "
        f"{len(config.feed_locations())} feeds; {len(config.channel_configs())} channel(s)"
    )
    return EXIT_OK


def _read_document(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix.lower() in (".html", ".htm", ".xhtml"):
        return extract_text(data, path.resolve().as_uri())
    return data.decode("utf-8", errors="replace")


def cmd_match(args: argparse.Namespace) -> int:
    rules = _rules(args.rules)
    if args.voice is not None and args.voice not in rules.actors:
        err(f"--voice: no actor '{args.voice}' (known: {', '.join(rules.actors)})")
        return EXIT_USAGE
    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            text = _read_document(path)
        except (OSError, ExtractError) as exc:
            err(f"{name}: {getattr(exc, 'strerror', None) or exc}")
            status = EXIT_PROBLEMS
            continue
        findings: list[Finding] = match(text, rules, on=args.date, voice=args.voice)
        for f in findings:
            if args.json:
                print(
                    json.dumps(
                        {
                            "file": name,
                            "actor": f.actor,
                            "demand": f.demand,
                            "stance": f.stance,
                            "sentence": f.sentence,
                            "start": f.start,
                            "end": f.end,
                            "historical": f.historical,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                flag = " (historical)" if f.historical else ""
                print(f"{name}: {f.actor} → {f.demand} [{f.stance}]{flag}\n    “{f.sentence}”")
        if not args.json and not findings:
            print(f"{name}: no findings")
    return status


def cmd_replay(args: argparse.Namespace) -> int:
    from monitor.replay import read_articles, replay

    rules = _rules(args.rules)
    items, problems = read_articles(Path(args.input), rules.actors)
    for problem in problems:
        err(problem)
    deltas = asyncio.run(replay(items, Path(args.db), rules))
    for delta in deltas:
        _print_delta(delta, args.json)
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_events(args: argparse.Namespace) -> int:
    from monitor.store import Store

    path = existing_database(args)
    if path is None:
        return EXIT_PROBLEMS
    since = None
    if args.since:
        try:
            since = datetime.now(UTC) - timedelta(seconds=parse_duration(args.since))
        except ValueError as exc:
            err(f"--since: {exc}")
            return EXIT_USAGE

    async def read() -> list[Delta]:
        async with Store.opened(path) as store:
            return await store.events(
                since=since, actor=args.actor, demand=args.demand, kind=args.kind
            )

    deltas = asyncio.run(read())
    if args.csv:
        writer = csv.DictWriter(sys.stdout, _DELTA_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_delta_json(d) for d in deltas)
        return EXIT_OK
    for delta in deltas:
        _print_delta(delta, args.json)
    return EXIT_OK


_POSITION_FIELDS = (
    "actor",
    "demand",
    "demand_title",
    "first_seen",
    "last_seen",
    "articles",
    "sources",
    "last_stance",
    "recalled",
    "first_sentence",
    "first_url",
    "last_sentence",
    "last_url",
)


def _position_json(p: PositionRow) -> dict[str, Any]:
    return {
        "actor": p.actor,
        "demand": p.demand,
        "demand_title": p.demand_title,
        "first_seen": p.first_seen.isoformat() if p.first_seen else None,
        "last_seen": p.last_seen.isoformat() if p.last_seen else None,
        "articles": p.articles,
        "sources": p.sources,
        "last_stance": p.last_stance,
        "recalled": p.recalled,
        "first_sentence": p.first_sentence,
        "first_url": p.first_url,
        "last_sentence": p.last_sentence,
        "last_url": p.last_url,
    }


def cmd_positions(args: argparse.Namespace) -> int:
    from monitor.store import Store

    path = existing_database(args)
    if path is None:
        return EXIT_PROBLEMS

    async def read() -> tuple[list[PositionRow], list[UnknownItem]]:
        async with Store.opened(path) as store:
            found = await store.positions(actor=args.actor, demand=args.demand)
            unknown = [] if args.demand else await store.unknown_conditions(actor=args.actor)
            return found, unknown

    found, unknown = asyncio.run(read())
    rows = [_position_json(p) for p in found]
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        writer = csv.DictWriter(sys.stdout, _POSITION_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return EXIT_OK
    if not found:
        print("no positions recorded")
    for p in found:
        if p.first_seen is None or p.last_seen is None:
            print(f"{p.actor} → {p.demand}  only in sentences about the past ({p.recalled}x)")
            print(f"    “{p.first_sentence}”")
            continue
        recalled = f", recalled {p.recalled}x" if p.recalled else ""
        print(
            f"{p.actor} → {p.demand}  [{p.last_stance}]  first {p.first_seen:%Y-%m-%d}, "
            f"last {p.last_seen:%Y-%m-%d}; {p.articles} article(s), {p.sources} source(s)"
            f"{recalled}\n    first: “{p.first_sentence}” {p.first_url}"
        )
        if (p.last_sentence, p.last_url) != (p.first_sentence, p.first_url):
            print(f"    last:  “{p.last_sentence}” {p.last_url}")
    if unknown:
        print("\nunrecognized conditions (open):")
    for u in unknown:
        print(
            f"  #{u.id} {u.actor}: {' '.join(u.words)}  ({u.articles} article(s), "
            f"{u.first_seen:%Y-%m-%d} → {u.last_seen:%Y-%m-%d})\n    “{u.sentence}” {u.url}"
        )
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    from monitor import timeline
    from monitor.store import Store

    path = existing_database(args)
    if path is None:
        return EXIT_PROBLEMS
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".svg", ".html", ".htm", ".png"):
        err(f"--out: {out.name}: write .svg, .html or .png")
        return EXIT_USAGE

    async def read() -> list[Delta]:
        async with Store.opened(path) as store:
            return await store.events(actor=args.actor)

    deltas = asyncio.run(read())
    name = deltas[0].actor_name if deltas and deltas[0].actor_name else args.actor
    rows = timeline.rows([d for d in deltas if d.kind != "unrecognized_condition"])
    if out is None:
        print(timeline.text(name, rows))
        return EXIT_OK
    suffix = out.suffix.lower()
    if suffix == ".png":
        timeline.png(name, rows, out)
    else:
        draw = timeline.svg if suffix == ".svg" else timeline.html
        out.write_text(draw(name, rows), encoding="utf-8")
    print(f"{out}: {len(rows)} demand(s), {sum(len(r.marks) for r in rows)} article mark(s)")
    return EXIT_OK


def _ago(ts: float | None) -> str:
    if ts is None:
        return "never"
    seconds = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.store import Store

    config = reading_config(args)
    path = existing_database(args, config)
    if path is None:
        return EXIT_PROBLEMS
    failing_after = config.polling.failures_before_alert

    async def read() -> list[str]:
        async with Store.opened(path) as store:
            stats = await store.stats(failing_after=failing_after)
            in_error = await store.feeds_in_error()
            latest = await store.latest_deltas()
            meta = await store.meta()
        loaded = meta.get("rules_loaded_at")
        lines = [
            f"database  {path}",
            f"rules     version {meta.get('rules_version', '?')}, loaded "
            f"{_ago(float(loaded)) if loaded else 'never'}",
        ]
        if refused := meta.get("reload_refused_at"):
            # The rules and config in force are older than the files: ops must know.
            lines.append(
                f"  reload REFUSED {_ago(float(refused))}, the version above kept: "
                f"{meta.get('reload_problem', '')} (newsmon check lists every problem)"
            )
        if restart := meta.get("restart_needed"):
            lines.append(
                f"  restart needed: {restart.replace(',', ', ')} (changed in the config, "
                "applied only at start)"
            )
        in_error_count = stats.feeds_erring + stats.feeds_failing
        lines.append(
            f"feeds     {stats.feeds_ok} ok, {stats.feeds_erring} erring, "
            f"{stats.feeds_failing} failing; last poll {_ago(stats.last_poll_at)}"
        )
        lines += [
            f"  {'failing' if f.consecutive_errors >= failing_after else 'erring'} {f.url}: "
            f"{f.last_error} ({f.consecutive_errors}x)"
            for f in in_error
        ]
        if in_error_count > len(in_error):
            lines.append(f"  ... and {in_error_count - len(in_error)} more: newsmon feeds")
        items = stats.items
        lines.append(
            f"items     {items.get('pending', 0) + items.get('claimed', 0)} queued, "
            f"{items.get('done', 0)} done, {items.get('backlog', 0)} backlog (not fetched), "
            f"{items.get('failed', 0)} failed"
        )
        alerts = stats.alerts
        oldest = stats.oldest_pending_alert_at
        lines.append(
            f"alerts    {alerts.get('pending', 0)} pending, {alerts.get('sent', 0)} sent, "
            f"{alerts.get('failed', 0)} failed; oldest due since {_ago(oldest) if oldest else '-'}"
        )
        lines.append(f"ops       {stats.ops_pending} notices pending")
        lines.append(f"deltas    {sum(stats.deltas.values())} recorded; latest:")
        lines += [
            f"  {d.published:%Y-%m-%d %H:%M}  {d.kind:<22} {d.actor} → {d.demand}" for d in latest
        ]
        return lines

    print("\n".join(asyncio.run(read())))
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "check": cmd_check,
    "match": cmd_match,
    "replay": cmd_replay,
    "events": cmd_events,
    "positions": cmd_positions,
    "timeline": cmd_timeline,
    "status": cmd_status,
    **ALERT_COMMANDS,
    **FEED_COMMANDS,
    **UNKNOWN_COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsmon`` command."""
    args = _parser().parse_args(argv)
    if args.command != "run":
        configure_logging(level="warning")
    started = time.monotonic()
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, RuleError) as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_PROBLEMS
    except NewsmonError as exc:
        err(str(exc))
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        err(f"interrupted after {time.monotonic() - started:.0f}s")
        return 130
    except BrokenPipeError:
        # The reader left early (`newsmon events --json | head -1`): nothing of ours is wrong.
        # Standard output goes to /dev/null so that the exit's own flush fails quietly too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PROBLEMS
