"""structlog configuration: key-value events with stable names, secrets redacted.

Logs go to standard error so that standard output carries only what a command prints (the
terminal channel's alerts, ``--json`` lines). On a terminal they are readable; elsewhere (the
journal, CI) they are JSON lines.
"""

from __future__ import annotations

__all__ = ["SecretRedactor", "configure_logging"]

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = ("password", "secret", "token", "webhook_url", "authorization")


class SecretRedactor:
    """A structlog processor: masks known secret values anywhere in an event, and the values
    of keys that name a secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _clean(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, "***")
        return value

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if any(s in key.lower() for s in _SECRET_KEYS):
                event[key] = "***"
            elif isinstance(value, str):
                event[key] = self._clean(value)
            elif isinstance(value, BaseException):
                event[key] = self._clean(repr(value))
        return event


def configure_logging(
    *,
    level: str = "info",
    json: bool | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for the process (called once by the command line)."""
    out = stream or sys.stderr
    if json is None:
        json = not out.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:  # the console renderer formats tracebacks itself
        processors.append(structlog.processors.format_exc_info)
    structlog.configure(
        processors=[*processors, SecretRedactor(secrets), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
