"""Reloading without a restart: read the config and rules again, and say what changed.

Everything is loaded and validated before anything is swapped, so a reload that fails leaves
the daemon exactly as it was. ``http:`` bounds, ``database:`` and ``workers:`` are read at
start-up only; a change to them is reported as needing a restart.
"""

from __future__ import annotations

__all__ = ["Changes", "Reloaded", "check_references", "load_everything", "unknown_id"]

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Config, load_config
from monitor.errors import ConfigError, Problem
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules


@dataclass(frozen=True)
class Reloaded:
    """A validated config and rule set, ready to be swapped in."""

    config: Config
    rules: RuleSet


# Config keys a running daemon cannot take on: a reload logs that a restart is needed.
RESTART_KEYS = ("database", "http", "workers", "endpoint", "watch")


@dataclass(frozen=True)
class Changes:
    """What a reload changes, for the log."""

    rules_added: tuple[str, ...] = ()
    rules_removed: tuple[str, ...] = ()
    rules_changed: tuple[str, ...] = ()
    feeds_added: tuple[str, ...] = ()
    feeds_removed: tuple[str, ...] = ()
    channels_changed: bool = False
    routes_changed: bool = False
    restart_needed: tuple[str, ...] = ()

    @classmethod
    def between(cls, old: Reloaded, new: Reloaded, running: Config | None = None) -> Changes:
        """Compare two loads: rules (``actor:<id>``, ``demand:<id>``), feeds by location.

        ``running`` is the config the process started with: what a restart would change is
        measured against it, not against the last reload, which could not apply those keys.
        """

        # Each rule's digest covers its whole definition (patterns, examples, aliases), so a
        # change of wording shows even where titles and ids stay the same.
        before, after = old.rules.digests, new.rules.digests
        old_feeds = {f.location for f in old.config.feed_locations()}
        new_feeds = {f.location for f in new.config.feed_locations()}
        started = running or old.config
        restart = tuple(
            key for key in RESTART_KEYS if getattr(started, key) != getattr(new.config, key)
        )
        if started.watch and rule_dirs(started) != rule_dirs(new.config):
            restart += ("rules",)  # read from the new folders now, but watched after a restart
        return cls(
            rules_added=tuple(sorted(after.keys() - before.keys())),
            rules_removed=tuple(sorted(before.keys() - after.keys())),
            rules_changed=tuple(
                sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
            ),
            feeds_added=tuple(sorted(new_feeds - old_feeds)),
            feeds_removed=tuple(sorted(old_feeds - new_feeds)),
            channels_changed=old.config.channels != new.config.channels,
            routes_changed=old.config.routes != new.config.routes,
            restart_needed=restart,
        )


def unknown_id(kind: str, value: str, known: Iterable[str]) -> str:
    """What to say of an id the rules do not have, with the one meant when only its case is
    wrong ("Russia" for "russia", as alerts display it), else the ids there are."""
    ids = list(known)
    folded = [k for k in ids if k.casefold() == value.casefold()]
    if folded:
        return f"no {kind} {value!r} in the rules: ids are written {folded[0]!r}"
    return f"no {kind} {value!r} in the rules ({kind}s: {', '.join(ids)})"


def check_references(config: Config, rules: RuleSet) -> None:
    """Refuse what in the config names an actor or a demand the rules do not have: a feed's
    ``voice``, a route's ``actors`` and ``demands``, a ``resurface_windows`` key. A route
    with a misspelt id would never match, silently (ConfigError, every one, with lines)."""
    problems = [
        Problem(
            config.source,
            config.line("feeds", i, "voice"),
            f"feeds[{i}].voice",
            unknown_id("actor", feed.voice, rules.actors),
        )
        for i, feed in enumerate(config.feeds)
        if feed.voice is not None and feed.voice not in rules.actors
    ]
    for i, route in enumerate(config.routes):
        for key, ids, known in (
            ("actors", route.actors, rules.actors),
            ("demands", route.demands, rules.demands),
        ):
            problems += [
                Problem(
                    config.source,
                    config.line("routes", i, key, j),
                    f"routes[{i}].{key}[{j}]",
                    unknown_id(key[:-1], value, known),
                )
                for j, value in enumerate(ids)
                if value not in known
            ]
    problems += [
        Problem(
            config.source,
            config.line("resurface_windows", demand),
            f"resurface_windows.{demand}",
            unknown_id("demand", demand, rules.demands),
        )
        for demand in config.resurface_windows
        if demand not in rules.demands
    ]
    if problems:
        raise ConfigError(problems)


def rule_dirs(config: Config) -> list[Path]:
    """The rule directories the config names, or the bundled rules."""
    return [Path(r) for r in config.rules] or [bundled_rules_dir()]


def load_everything(config_path: str | None, *, database: str | None = None) -> Reloaded:
    """Load and validate the config file (``None``: the defaults) and its rules.

    ``database`` keeps a ``--db`` given on the command line in force. Raises ConfigError or
    RuleError listing every problem.
    """
    config = load_config(config_path)
    if database is not None:
        config = config.model_copy(update={"database": database})
    rules = load_rules(rule_dirs(config))
    check_references(config, rules)
    return Reloaded(config, rules)
