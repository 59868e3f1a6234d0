"""The seam every delivery channel implements: send one message for some deltas, then close."""

from __future__ import annotations

__all__ = ["Channel"]

from collections.abc import Sequence
from typing import Protocol

from monitor.alerts.notice import Notice
from monitor.model import Delta


class Channel(Protocol):
    """A place alerts go: a terminal, a Slack webhook, an email list.

    ``send`` delivers ONE message for ``deltas`` (usually one delta; several when grouped).
    ``key`` is an idempotency key, stable across retries of the same alert; a channel passes it
    on where the other end can use it (a webhook header, an email Message-ID).

    Failures raise ``monitor.errors.ChannelError``: ``permanent=False`` for network errors,
    timeouts and 5xx answers; ``retry_after`` when the other end asked for a pause (429);
    ``permanent=True`` when retrying cannot help (webhook gone, credentials or recipient refused).
    """

    name: str

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Deliver one message for ``deltas``; raise ``ChannelError`` when it was not delivered."""
        ...

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Deliver one digest or ops notice; the same contract as ``send``."""
        ...

    async def aclose(self) -> None:
        """Release connections; the channel may be used again afterwards."""
        ...
