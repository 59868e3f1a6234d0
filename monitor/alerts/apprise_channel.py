"""Alerts through Apprise: one URL reaches Teams, Telegram, Discord, ntfy and a hundred more.

Apprise only says whether a notification went out, not why it did not, so every failure is
taken as one that may pass and is retried; the URL (which holds the service's token) is never
put in an error.
"""

from __future__ import annotations

__all__ = ["AppriseChannel"]

import logging
from collections.abc import Sequence

import apprise

from monitor.alerts.notice import Notice
from monitor.alerts.render import notice_text
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta

# Apprise logs through the standard library, sometimes with the URL; newsmon logs its own events.
logging.getLogger("apprise").setLevel(logging.CRITICAL)


class AppriseChannel:
    """Sends a title and a plain-text body to one Apprise URL."""

    def __init__(self, name: str, url: str, *, renderer: Renderer | None = None) -> None:
        self.name = name
        self._renderer = renderer or Renderer()
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ValueError(f"channel {name!r}: Apprise does not understand the URL")

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Notify once; Apprise has no idempotency key to pass on."""
        title = self._renderer.subject(deltas).removeprefix("[newsmon] ")
        await self._notify(title, self._renderer.text(deltas))

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Notify a digest or an ops notice."""
        await self._notify(notice.title, notice_text(notice))

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"AppriseChannel(name={self.name!r})"

    async def _notify(self, title: str, body: str) -> None:
        try:
            ok = await self._apprise.async_notify(body=body, title=title)
        except Exception as exc:  # a plugin's own error; its text may hold the URL
            raise ChannelError(self.name, f"apprise failed: {type(exc).__name__}") from None
        if not ok:
            raise ChannelError(self.name, "apprise reported the notification as not sent")
