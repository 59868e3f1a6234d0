"""Real local servers for the tests: a feed and page site, a Slack stand-in, an SMTP mailbox.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def stream_body(
    request: web.Request, *, content_type: str, chunk: bytes, times: int, pause: float = 0.0
) -> web.StreamResponse:
    """A hostile answer: ``chunk`` written ``times`` times, ``pause`` seconds apart (a server
    that drips, or one whose body never seems to end), bounded so that it stops by itself when
    the client never gives up."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    try:
        for _ in range(times):
            await response.write(chunk)
            if pause:
                await asyncio.sleep(pause)
    except ConnectionError:
        pass
    return response


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalSite:
    """An aiohttp server on 127.0.0.1 serving whatever routes a test adds; counts requests."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.base = ""
        self.requests: list[tuple[str, dict[str, str]]] = []

    def route(self, path: str, handler: Handler, method: str = "GET") -> None:
        async def recorded(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.path, dict(request.headers)))
            return await handler(request)

        self.app.router.add_route(method, path, recorded)

    def url(self, path: str) -> str:
        return self.base + path

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@dataclass
class FakeSlack:
    """A webhook endpoint that records posts and answers with ``status``, ``body``, ``headers``.

    ``script`` lists statuses to answer first, one per post (e.g. three 500s), before ``status``;
    an entry may be ``(status, headers)``, e.g. ``(429, {"Retry-After": "2"})``. ``times`` has
    the monotonic time of every post, answered or not.
    """

    url: str = ""
    posts: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        payload = await request.json()
        if self.script:
            entry = self.script.pop(0)
            status, headers = entry if isinstance(entry, tuple) else (entry, {})
            return web.Response(status=status, text="scripted failure", headers=headers)
        self.posts.append((dict(request.headers), payload))
        return web.Response(status=self.status, text=self.body, headers=self.headers)


@dataclass
class Mailbox:
    """An aiosmtpd handler that records every envelope; refuses recipients in ``refuse``."""

    envelopes: list[Envelope] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, index: int = 0) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Receiver:
    """A webhook receiver: records each JSON post with its headers and raw body; answers
    ``status``, after the statuses in ``script``; waits ``delay`` seconds before answering."""

    url: str = ""
    posts: list[tuple[dict[str, str], Any, bytes]] = field(default_factory=list)
    status: int = 200
    script: list[int] = field(default_factory=list)
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            return web.Response(status=self.script.pop(0), text="scripted failure")
        if self.status >= 300:
            return web.Response(status=self.status, text="not here")
        self.posts.append((dict(request.headers), json.loads(raw), raw))
        return web.Response(status=self.status, text="thanks")

    @property
    def documents(self) -> list[Any]:
        return [document for _, document, _ in self.posts]
