"""What the ``newsmon`` command modules share: exit codes, errors, the database to read."""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "action_args",
    "err",
    "existing_database",
    "reading_config",
]

import argparse
import sys
from pathlib import Path

from monitor.config import Config, load_config

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def action_args(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--db`` on an action under a command (``newsmon unknown close``), so
    that they may come before or after the action: given before it, the command's own value
    stands (an action's default would silently replace it, and the command would then act on
    another database)."""
    parser.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (YAML); without it, the embedded defaults",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="database file (overrides the config)",
    )


def err(message: str) -> None:
    """Say what went wrong on standard error, prefixed with the command's name."""
    print(f"newsmon: {message}", file=sys.stderr)


def reading_config(args: argparse.Namespace) -> Config:
    """The config of a command that reads the database, not alerting: its secrets are not
    read, since a shell has neither the service's credentials nor its environment."""
    return load_config(args.config, secrets="skip")


def existing_database(args: argparse.Namespace, config: Config | None = None) -> Path | None:
    """The database a reading command names (``--db``, else the config's), or None (said on
    standard error) when there is none yet: reading must not create an empty one."""
    path = Path(args.db) if args.db else (config or reading_config(args)).database_path()
    if not path.exists():
        err(f"no database at {path}: newsmon has not run with this config yet")
        return None
    return path
