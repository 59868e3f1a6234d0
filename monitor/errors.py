"""The project's exceptions: third-party errors are translated into these at the boundary."""

from __future__ import annotations

__all__ = [
    "ChannelError",
    "ConfigError",
    "ExtractError",
    "FeedError",
    "FetchError",
    "NewsmonError",
    "OpmlError",
    "Problem",
    "RuleError",
]

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an ops-edited file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose.

    Errors cross process boundaries (a feed parsed in the process pool raises there), so each
    one pickles with its attributes rather than with ``args``, which hold only the message.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__, self.args))


def _rebuild(cls: type[NewsmonError], state: dict[str, Any], args: tuple[Any, ...]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class _ProblemsError(NewsmonError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(_ProblemsError):
    """The daemon config is invalid; ``problems`` names file, line and key of each fault."""


class RuleError(_ProblemsError):
    """A rule file is invalid; ``problems`` names file, line and field of each fault."""


class OpmlError(_ProblemsError):
    """An OPML feed list cannot be read; ``problems`` names file and line."""


class FetchError(NewsmonError):
    """A feed or page could not be fetched. ``url`` and ``reason`` say what and why.

    ``retry_after`` is the server's requested pause in seconds, when it gave one;
    ``permanent`` is true when retrying the same request cannot help.
    """

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(f"{url}: {reason}")


class FeedError(NewsmonError):
    """A fetched feed document could not be parsed into entries at all.

    ``status`` is the HTTP status it came with (200, mostly), when it came over HTTP.
    """

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{url}: {reason}")


class ExtractError(NewsmonError):
    """No article text could be extracted from a page."""


class ChannelError(NewsmonError):
    """An alert could not be delivered on a channel.

    ``permanent`` means retrying cannot help (bad webhook URL, rejected credentials);
    ``retry_after`` is the channel's requested pause in seconds, when it gave one.
    """

    def __init__(
        self,
        channel: str,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.channel = channel
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(f"{channel}: {reason}")
