"""Alerts posted to a Slack incoming webhook.

The webhook URL is a credential: whoever has it can post to the channel. It is never logged and
never put in an error; errors name the channel and say what went wrong, and the third-party
exception (whose text may hold the URL) is not chained onto them.
"""

from __future__ import annotations

__all__ = ["SlackChannel"]

import json
from collections.abc import Sequence
from typing import Any

from monitor.alerts.notice import Notice
from monitor.alerts.posting import Poster
from monitor.alerts.render import notice_slack
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta


class SlackChannel:
    """Posts ``render_slack(deltas)`` as JSON to a webhook; "200 ok" means delivered."""

    def __init__(
        self,
        name: str,
        webhook_url: str,
        *,
        timeout: float = 10.0,
        renderer: Renderer | None = None,
    ) -> None:
        self.name = name
        self._renderer = renderer or Renderer()
        self._webhook_url = webhook_url
        self._poster = Poster(name, timeout=timeout, url_name="webhook URL")

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Post one message; raise ``ChannelError`` unless Slack answered 200 "ok".

        Slack ignores the ``Idempotency-Key`` header; it is sent for relays and proxies that
        honour it.
        """
        await self._post(self._renderer.slack(deltas), key)

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Post a digest or an ops notice, with the same checks as ``send``."""
        await self._post(notice_slack(notice), key)

    async def _post(self, payload: dict[str, Any], key: str) -> None:
        answer = await self._poster.post(
            self._webhook_url,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", "Idempotency-Key": key},
        )
        _check(self.name, answer.status, answer.body, answer.retry_after)

    async def aclose(self) -> None:
        """Close the HTTP session; a later ``send`` opens a new one."""
        await self._poster.aclose()

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"


def _check(channel: str, status: int, body: str, retry_after: float | None) -> None:
    """Translate Slack's answer into nothing (delivered) or a ``ChannelError``."""
    said = body.strip()[:200] or "no body"
    if status == 200 and body.strip() == "ok":
        return
    if status == 200:
        # Not Slack's answer: something in between took the post; trying again may work.
        raise ChannelError(channel, f"unexpected answer: {said}")
    if status == 429:
        raise ChannelError(channel, "rate limited", retry_after=retry_after)
    if status >= 500 or status == 408:
        raise ChannelError(channel, f"HTTP {status}: {said}", retry_after=retry_after)
    if 300 <= status < 400:
        raise ChannelError(channel, f"HTTP {status}: webhook redirected", permanent=True)
    # 400 invalid_payload, 403 action_prohibited, 404 no_service, 410 channel_is_archived.
    raise ChannelError(channel, f"HTTP {status}: {said}", permanent=True)
