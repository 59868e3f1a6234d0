"""A channel that prints alerts as plain text: the console of ``newsmon run`` and of replays."""

from __future__ import annotations

__all__ = ["TerminalChannel"]

import sys
from collections.abc import Sequence
from typing import TextIO

from monitor.alerts.notice import Notice
from monitor.alerts.render import notice_text
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta


class TerminalChannel:
    """Writes ``render_text`` and a blank line to ``stream`` (``sys.stdout`` when None)."""

    def __init__(
        self,
        name: str = "terminal",
        stream: TextIO | None = None,
        *,
        renderer: Renderer | None = None,
    ) -> None:
        self.name = name
        self._stream = stream
        self._renderer = renderer or Renderer()

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Print one message; a terminal cannot de-duplicate, so ``key`` is not used."""
        self._write(self._renderer.text(deltas))

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Print a digest or an ops notice."""
        self._write(notice_text(notice))

    def _write(self, text: str) -> None:
        # Looked up at send time, so that a redirected or captured stdout is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            stream.write(text + "\n\n")
            stream.flush()
        except OSError as exc:  # a closed pipe, a full disk
            raise ChannelError(self.name, f"cannot write: {exc.strerror or exc}") from exc

    async def aclose(self) -> None:
        """Nothing to release: the stream belongs to the caller."""

    def __repr__(self) -> str:
        return f"TerminalChannel(name={self.name!r})"
