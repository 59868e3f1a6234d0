"""Alerts posted to a Slack incoming webhook.

The webhook URL is a credential: whoever has it can post to the channel. It is never logged and
never put in an error; errors name the channel and say what went wrong, and the third-party
exception (whose text may hold the URL) is not chained onto them.
"""

from __future__ import annotations

__all__ = ["SlackChannel"]

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from monitor import USER_AGENT
from monitor.alerts.notice import Notice
from monitor.alerts.render import notice_slack
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta

# Enough of an error body to show Slack's reason ("invalid_payload", "no_service").
_BODY_LIMIT = 4096


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
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

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
        try:
            async with self._client().post(
                self._webhook_url,
                json=payload,
                headers={"Idempotency-Key": key},
                # A redirected POST would be replayed as a GET and "succeed" without posting.
                allow_redirects=False,
            ) as response:
                body = await _read_start(response)
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except aiohttp.InvalidURL:
            raise ChannelError(self.name, "invalid webhook URL", permanent=True) from None
        except TimeoutError:  # also aiohttp's ServerTimeoutError and ConnectionTimeoutError
            raise ChannelError(self.name, f"timed out after {self._timeout:g}s") from None
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or type(exc.os_error).__name__
            raise ChannelError(self.name, f"cannot connect: {reason}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ChannelError(self.name, f"request failed: {type(exc).__name__}") from None
        _check(self.name, status, body, retry_after)

    async def aclose(self) -> None:
        """Close the HTTP session; a later ``send`` opens a new one."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, as aiohttp requires.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session


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


async def _read_start(response: aiohttp.ClientResponse) -> str:
    """The first ``_BODY_LIMIT`` bytes of the body, as text: enough to judge, never too much."""
    data = bytearray()
    while len(data) < _BODY_LIMIT:
        chunk = await response.content.read(_BODY_LIMIT - len(data))
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
