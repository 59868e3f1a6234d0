"""Alerts posted with a Slack bot token (``chat.postMessage``), one thread per (actor, demand).

The first alert about a pair starts a thread; every later one about that pair is posted in
it, so the channel shows one line per condition and its history sits underneath. The thread
of each pair is kept in the database (``threads``), so it survives restarts. The token is a
credential and never appears in an error.
"""

from __future__ import annotations

__all__ = ["SlackBotChannel", "ThreadStore"]

import json
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from monitor.alerts.notice import Notice
from monitor.alerts.posting import HttpAnswer, Poster, classify
from monitor.alerts.render import notice_slack
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta

# Slack's error codes that may pass; any other means the token, scope or channel is wrong.
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@runtime_checkable
class ThreadStore(Protocol):
    """Where the thread of each (actor, demand) is remembered (the Store)."""

    async def slack_thread(self, channel: str, actor: str, demand: str) -> str | None: ...

    async def set_slack_thread(
        self, channel: str, actor: str, demand: str, ts: str, *, now: float
    ) -> None: ...


class SlackBotChannel:
    """Posts Block Kit messages to ``slack_channel`` as a bot; threads per (actor, demand)."""

    def __init__(
        self,
        name: str,
        token: str,
        slack_channel: str,
        *,
        threads: ThreadStore | None = None,
        api_url: str = "https://slack.com/api",
        timeout: float = 10.0,
        renderer: Renderer | None = None,
    ) -> None:
        self.name = name
        self._renderer = renderer or Renderer()
        self._token = token
        self._slack_channel = slack_channel
        self._threads = threads
        self._endpoint = api_url.rstrip("/") + "/chat.postMessage"
        self._poster = Poster(name, timeout=timeout)

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Post one message, in the thread of its first delta's pair when there is one."""
        first = deltas[0]
        thread = None
        if self._threads is not None:
            thread = await self._threads.slack_thread(self.name, first.actor, first.demand)
        ts = await self._post(self._renderer.slack(deltas), thread)
        if self._threads is not None and thread is None:
            for pair in dict.fromkeys((d.actor, d.demand) for d in deltas):
                await self._threads.set_slack_thread(self.name, *pair, ts, now=time.time())

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Post a digest or an ops notice in the channel itself."""
        await self._post(notice_slack(notice), None)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._poster.aclose()

    def __repr__(self) -> str:
        return f"SlackBotChannel(name={self.name!r}, channel={self._slack_channel!r})"

    async def _post(self, payload: dict[str, Any], thread: str | None) -> str:
        message = dict(payload, channel=self._slack_channel, unfurl_links=False)
        if thread is not None:
            message["thread_ts"] = thread
        answer = await self._poster.post(
            self._endpoint,
            json.dumps(message).encode(),
            {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self._token}",
            },
        )
        classify(self.name, answer)
        return _posted_ts(self.name, answer)


def _posted_ts(channel: str, answer: HttpAnswer) -> str:
    """The ts of the posted message from Slack's 200 answer, or the error it stands for."""
    try:
        said = json.loads(answer.body)
    except ValueError:
        raise ChannelError(channel, "unexpected answer: not JSON") from None
    if not isinstance(said, dict):
        raise ChannelError(channel, "unexpected answer: not an object")
    if said.get("ok") is True and isinstance(said.get("ts"), str):
        return str(said["ts"])
    error = str(said.get("error") or "no error code")
    raise ChannelError(channel, f"Slack said {error}", permanent=error not in _TRANSIENT)
