"""HTTP POST for channels that speak JSON over HTTP (webhook, Slack's Web API).

The URL may carry a credential, so neither it nor the library's exception (whose text may
repeat it) ever reaches an error: errors name the channel and say what went wrong.
"""

from __future__ import annotations

__all__ = ["HttpAnswer", "Poster", "classify"]

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from monitor import USER_AGENT
from monitor.errors import ChannelError
from monitor.sources.http import parse_retry_after

# Enough of an answer to judge it and to show the other end's reason.
_BODY_LIMIT = 65536


@dataclass(frozen=True)
class HttpAnswer:
    """What the other end said: status, the start of the body, its Retry-After in seconds."""

    status: int
    body: str
    retry_after: float | None


class Poster:
    """One aiohttp session, opened on first use inside the running loop."""

    def __init__(self, channel: str, *, timeout: float, url_name: str = "URL") -> None:
        self._channel = channel
        self._timeout = timeout
        self._url_name = url_name
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, data: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """POST ``data``; raise a transient ``ChannelError`` when no answer came."""
        try:
            async with self._client().post(
                url,
                data=data,
                headers=dict(headers),
                # A redirected POST would be replayed as a GET and "succeed" without posting.
                allow_redirects=False,
            ) as response:
                body = await _read_start(response)
                return HttpAnswer(
                    response.status, body, parse_retry_after(response.headers.get("Retry-After"))
                )
        except aiohttp.InvalidURL:
            raise ChannelError(self._channel, f"invalid {self._url_name}", permanent=True) from None
        except TimeoutError:  # also aiohttp's ServerTimeoutError and ConnectionTimeoutError
            raise ChannelError(self._channel, f"timed out after {self._timeout:g}s") from None
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or type(exc.os_error).__name__
            raise ChannelError(self._channel, f"cannot connect: {reason}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ChannelError(self._channel, f"request failed: {type(exc).__name__}") from None

    async def aclose(self) -> None:
        """Close the session; a later ``post`` opens a new one."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session


def classify(channel: str, answer: HttpAnswer) -> None:
    """Nothing for a 2xx; else the ``ChannelError`` the status calls for: 429, 408 and 5xx
    may pass (with the Retry-After), a redirect or another 4xx will not."""
    status = answer.status
    if 200 <= status < 300:
        return
    said = " ".join(answer.body.split())[:200] or "no body"
    if status == 429:
        raise ChannelError(channel, "rate limited", retry_after=answer.retry_after)
    if status >= 500 or status == 408:
        raise ChannelError(channel, f"HTTP {status}: {said}", retry_after=answer.retry_after)
    if 300 <= status < 400:
        raise ChannelError(channel, f"HTTP {status}: redirected", permanent=True)
    raise ChannelError(channel, f"HTTP {status}: {said}", permanent=True)


async def _read_start(response: aiohttp.ClientResponse) -> str:
    data = bytearray()
    while len(data) < _BODY_LIMIT:
        chunk = await response.content.read(_BODY_LIMIT - len(data))
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")
