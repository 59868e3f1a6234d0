"""HttpClient against real servers on 127.0.0.1: well-behaved, hostile, and off limits."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import monitor
from monitor.errors import FetchError
from monitor.sources.http import HttpClient, HttpLimits, parse_retry_after
from tests.servers import stream_body

FAST = HttpLimits(connect_timeout=2.0, total_timeout=3.0, max_redirects=3)
LOOPBACK = ["127.0.0.0/8"]
BOMB = web.AppKey("bomb", bytes)
BR_BOMB = web.AppKey("br_bomb", bytes)
BROTLI_BOMB = brotli.compress(bytes(64 * 2**20), quality=1)  # 64 MB of zeros in a few KB


class Seen:
    """What the test server saw: request headers by path, and how many requests ran at once."""

    def __init__(self) -> None:
        self.headers: dict[str, dict[str, str]] = {}
        self.hits: dict[str, int] = {}
        self.active = 0
        self.max_active = 0


def build_app(seen: Seen) -> web.Application:
    async def record(request: web.Request) -> None:
        seen.headers[request.path] = dict(request.headers)
        seen.hits[request.path] = seen.hits.get(request.path, 0) + 1

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="<p>hello</p>", content_type="text/html")

    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress(b"<p>squeezed</p>" * 100)
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def deflated(request: web.Request) -> web.Response:
        raw = request.query.get("raw") == "1"
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        body = packer.compress(b"<p>deflated</p>" * 100) + packer.flush()
        return web.Response(body=body, headers={"Content-Encoding": "deflate"})

    async def not_modified(request: web.Request) -> web.Response:
        return web.Response(status=304, headers={"ETag": '"v2"'})

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        headers = {}
        if "retry" in request.query:
            headers["Retry-After"] = request.query["retry"]
        return web.Response(status=code, text="no", headers=headers)

    async def drip(request: web.Request) -> web.StreamResponse:
        return await stream_body(request, content_type="text/html", chunk=b"x", times=60, pause=0.2)

    async def endless(request: web.Request) -> web.StreamResponse:  # 256 MB at most
        return await stream_body(request, content_type="text/html", chunk=b"x" * 65536, times=4000)

    async def brotli_body(request: web.Request) -> web.Response:
        body = brotli.compress(b"<p>brotli</p>" * 100)
        return web.Response(body=body, headers={"Content-Encoding": "br"})

    async def brotli_bomb(request: web.Request) -> web.Response:
        return web.Response(body=request.app[BR_BOMB], headers={"Content-Encoding": "br"})

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(body=request.app[BOMB], headers={"Content-Encoding": "gzip"})

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def hop(request: web.Request) -> web.Response:
        remaining = int(request.match_info["n"])
        raise web.HTTPFound(f"/hop/{remaining - 1}" if remaining > 1 else "/ok")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def slow(request: web.Request) -> web.Response:
        seen.active += 1
        seen.max_active = max(seen.max_active, seen.active)
        try:
            await asyncio.sleep(0.1)
        finally:
            seen.active -= 1
        return web.Response(text="done")

    app = web.Application()
    app[BOMB] = gzip.compress(bytes(16 * 2**20), 9)  # 16 MB of zeros in about 16 KB
    app[BR_BOMB] = BROTLI_BOMB
    app.router.add_get("/ok", ok)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/deflate", deflated)
    app.router.add_get("/304", not_modified)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/drip", drip)
    app.router.add_get("/endless", endless)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/br", brotli_body)
    app.router.add_get("/br-bomb", brotli_bomb)
    app.router.add_get("/loop", loop)
    app.router.add_get("/hop/{n}", hop)
    app.router.add_get("/away", away)
    app.router.add_get("/slow", slow)
    return app


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def server(seen: Seen) -> AsyncIterator[TestServer]:
    test_server = TestServer(build_app(seen), host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(FAST) as http:
        yield http


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


async def failure(fetch: Awaitable[object]) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetch
    return caught.value


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_server(handler: Handler) -> tuple[asyncio.Server, int]:
    """A bare TCP server, for responses aiohttp's server would refuse to send."""
    raw = await asyncio.start_server(handler, "127.0.0.1", 0)
    port: int = raw.sockets[0].getsockname()[1]
    return raw, port


class TestResponses:
    async def test_ok_sends_user_agent_and_encodings(
        self, client: HttpClient, server: TestServer, seen: Seen
    ) -> None:
        """A plain GET returns the body and sends our User-Agent and Accept-Encoding."""
        response = await client.get(url(server, "/ok"), max_bytes=1000, guard=False)
        assert (response.status, response.body) == (200, b"<p>hello</p>")
        assert response.headers["content-type"].startswith("text/html")
        assert seen.headers["/ok"]["User-Agent"] == monitor.USER_AGENT
        assert "gzip" in seen.headers["/ok"]["Accept-Encoding"]

    async def test_caller_headers_are_sent(
        self, client: HttpClient, server: TestServer, seen: Seen
    ) -> None:
        """Headers passed to get reach the server."""
        await client.get(
            url(server, "/ok"), headers={"If-None-Match": '"v1"'}, max_bytes=1000, guard=False
        )
        assert seen.headers["/ok"]["If-None-Match"] == '"v1"'

    async def test_gzip_is_decoded(self, client: HttpClient, server: TestServer) -> None:
        """A gzip body comes back decoded."""
        response = await client.get(url(server, "/gzip"), max_bytes=10_000, guard=False)
        assert response.body == b"<p>squeezed</p>" * 100

    @pytest.mark.parametrize("raw", ["0", "1"])
    async def test_deflate_is_decoded(
        self, client: HttpClient, server: TestServer, raw: str
    ) -> None:
        """Deflate is decoded whether the server wraps it in zlib (as it should) or not."""
        response = await client.get(
            url(server, f"/deflate?raw={raw}"), max_bytes=10_000, guard=False
        )
        assert response.body == b"<p>deflated</p>" * 100

    async def test_304_is_returned(self, client: HttpClient, server: TestServer) -> None:
        """304 Not Modified is a response, not an error."""
        response = await client.get(url(server, "/304"), max_bytes=1000, guard=False)
        assert (response.status, response.body, response.headers["ETag"]) == (304, b"", '"v2"')

    async def test_redirects_are_followed(self, client: HttpClient, server: TestServer) -> None:
        """Up to max_redirects hops are followed; url is the final one."""
        response = await client.get(url(server, "/hop/3"), max_bytes=1000, guard=False)
        assert (response.url, response.body) == (url(server, "/ok"), b"<p>hello</p>")


class TestStatusErrors:
    async def test_404_is_permanent(self, client: HttpClient, server: TestServer) -> None:
        """A 404 cannot be fixed by retrying."""
        error = await failure(client.get(url(server, "/status/404"), max_bytes=100, guard=False))
        assert (error.status, error.permanent, error.retry_after) == (404, True, None)

    async def test_500_is_not_permanent(self, client: HttpClient, server: TestServer) -> None:
        """A 500 may pass."""
        error = await failure(client.get(url(server, "/status/500"), max_bytes=100, guard=False))
        assert (error.status, error.permanent) == (500, False)

    async def test_408_is_not_permanent(self, client: HttpClient, server: TestServer) -> None:
        """408 is the one 4xx besides 429 that a retry can fix."""
        error = await failure(client.get(url(server, "/status/408"), max_bytes=100, guard=False))
        assert (error.status, error.permanent) == (408, False)

    async def test_429_carries_retry_after_seconds(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """429 with Retry-After: 120 asks for a 120 s pause and is not permanent."""
        error = await failure(
            client.get(url(server, "/status/429?retry=120"), max_bytes=100, guard=False)
        )
        assert (error.status, error.permanent, error.retry_after) == (429, False, 120.0)

    async def test_503_carries_retry_after_date(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """503 with an HTTP-date Retry-After gives the seconds until that date."""
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
        error = await failure(
            client.get(url(server, f"/status/503?retry={when}"), max_bytes=100, guard=False)
        )
        assert error.status == 503
        assert error.retry_after is not None and 85 <= error.retry_after <= 91

    def test_parse_retry_after_forms(self) -> None:
        """Seconds, past and future dates, and junk."""
        now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        assert parse_retry_after("30", now) == 30.0
        assert parse_retry_after("Wed, 01 May 2024 12:01:00 GMT", now) == 60.0
        assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
        assert parse_retry_after("soon", now) is None
        assert parse_retry_after(None, now) is None


class TestHostileServers:
    async def test_drip_feed_hits_total_deadline(self, server: TestServer) -> None:
        """A server sending a byte every 0.2 s cannot hold us past total_timeout."""
        limits = HttpLimits(connect_timeout=1.0, total_timeout=1.0)
        async with HttpClient(limits) as http:
            started = time.monotonic()
            error = await failure(http.get(url(server, "/drip"), max_bytes=10_000, guard=False))
        assert time.monotonic() - started < 2.0
        assert "within 1s" in error.reason and not error.permanent

    async def test_endless_body_is_capped(self, client: HttpClient, server: TestServer) -> None:
        """An endless body stops at max_bytes."""
        error = await failure(client.get(url(server, "/endless"), max_bytes=200_000, guard=False))
        assert "larger than 200000 bytes" in error.reason and error.permanent

    async def test_brotli_is_decoded(self, client: HttpClient, server: TestServer) -> None:
        """Content-Encoding: br is decoded, and br is offered."""
        response = await client.get(url(server, "/br"), max_bytes=10_000, guard=False)
        assert response.body == b"<p>brotli</p>" * 100

    async def test_brotli_bomb_is_capped_on_decoded_size(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """64 MB of zeros in a tiny brotli body stops at the cap, as a permanent error."""
        error = await failure(client.get(url(server, "/br-bomb"), max_bytes=2**20, guard=False))
        assert error.permanent and "larger than 1048576 bytes" in error.reason

    async def test_gzip_bomb_is_capped_on_decoded_size(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """16 KB of gzip that inflates to 16 MB stops at a 1 MB cap."""
        error = await failure(client.get(url(server, "/bomb"), max_bytes=2**20, guard=False))
        assert f"larger than {2**20} bytes" in error.reason

    async def test_redirect_loop_is_capped(self, client: HttpClient, server: TestServer) -> None:
        """A redirect loop ends after max_redirects hops."""
        error = await failure(client.get(url(server, "/loop"), max_bytes=100, guard=False))
        assert "more than 3 redirects" in error.reason

    async def test_too_many_hops_is_capped(self, client: HttpClient, server: TestServer) -> None:
        """Four hops exceed max_redirects=3 even without a loop."""
        error = await failure(client.get(url(server, "/hop/4"), max_bytes=100, guard=False))
        assert "redirects" in error.reason

    async def test_connection_reset_mid_body(self, client: HttpClient) -> None:
        """A reset after part of the body is a non-permanent FetchError."""

        async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # linger 0: the kernel sends RST

        raw, port = await raw_server(reset)
        async with raw:
            error = await failure(
                client.get(f"http://127.0.0.1:{port}/", max_bytes=200_000, guard=False)
            )
        assert "connection lost" in error.reason and not error.permanent

    async def test_connection_refused(self, client: HttpClient) -> None:
        """Nothing listening is a non-permanent FetchError."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        error = await failure(client.get(f"http://127.0.0.1:{port}/", max_bytes=100, guard=False))
        assert "cannot connect" in error.reason and not error.permanent


class TestConcurrency:
    async def test_per_host_limit(self, server: TestServer, seen: Seen) -> None:
        """No more than per_host requests run at once against one host."""
        async with HttpClient(HttpLimits(per_host=2, total=20)) as http:
            await asyncio.gather(
                *(http.get(url(server, "/slow"), max_bytes=100, guard=False) for _ in range(6))
            )
        assert seen.max_active == 2

    async def test_total_limit(self, server: TestServer, seen: Seen) -> None:
        """No more than total requests run at once overall."""
        async with HttpClient(HttpLimits(per_host=10, total=3)) as http:
            await asyncio.gather(
                *(http.get(url(server, "/slow"), max_bytes=100, guard=False) for _ in range(8))
            )
        assert seen.max_active == 3

    async def test_get_outside_context_is_an_error(self) -> None:
        """The session exists only inside 'async with'."""
        with pytest.raises(RuntimeError):
            await HttpClient().get("http://127.0.0.1/", max_bytes=1, guard=False)


class TestSsrfGuard:
    async def test_loopback_refused_without_allow_networks(
        self, client: HttpClient, server: TestServer, seen: Seen
    ) -> None:
        """A guarded fetch of 127.0.0.1 is refused, permanently, before any request is sent."""
        error = await failure(client.get(url(server, "/ok"), max_bytes=100, guard=True))
        assert error.permanent and "127.0.0.1 is a loopback address" in error.reason
        assert seen.hits == {}

    async def test_allowed_network_is_fetched(self, server: TestServer) -> None:
        """allow_networks opens a range to guarded fetches."""
        async with HttpClient(FAST, allow_networks=LOOPBACK) as http:
            response = await http.get(url(server, "/ok"), max_bytes=100, guard=True)
        assert response.body == b"<p>hello</p>"

    async def test_unguarded_fetch_reaches_loopback(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """Ops-configured feeds (guard=False) may live on internal hosts."""
        response = await client.get(url(server, "/ok"), max_bytes=100, guard=False)
        assert response.status == 200

    async def test_redirect_to_refused_address_is_refused(
        self, server: TestServer, seen: Seen
    ) -> None:
        """An allowed host redirecting to a refused one is refused at that hop."""
        target = f"http://127.0.0.2:{server.port}/ok"
        async with HttpClient(FAST, allow_networks=["127.0.0.1/32"]) as http:
            error = await failure(
                http.get(url(server, f"/away?to={target}"), max_bytes=100, guard=True)
            )
        assert error.permanent and "127.0.0.2 is a loopback address" in error.reason
        assert error.url == target
        assert seen.hits == {}

    async def test_name_resolving_to_loopback_is_refused(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """A host name is checked on the addresses it resolves to."""
        error = await failure(
            client.get(f"http://localhost:{server.port}/ok", max_bytes=100, guard=True)
        )
        assert error.permanent and "localhost resolves to" in error.reason

    async def test_name_in_allowed_network_is_fetched(self, server: TestServer) -> None:
        """The resolver lets a name through when all its addresses are allowed."""
        async with HttpClient(FAST, allow_networks=[*LOOPBACK, "::1/128"]) as http:
            response = await http.get(
                f"http://localhost:{server.port}/ok", max_bytes=100, guard=True
            )
        assert response.status == 200

    @pytest.mark.parametrize(
        ("host", "why"),
        [
            ("169.254.169.254", "link-local"),
            ("10.1.2.3", "private"),
            ("[::ffff:127.0.0.1]", "loopback"),
            ("[::1]", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
        ],
    )
    async def test_non_public_literals_are_refused(
        self, client: HttpClient, host: str, why: str
    ) -> None:
        """Cloud metadata, private, mapped-loopback, multicast and unspecified addresses."""
        error = await failure(client.get(f"http://{host}/", max_bytes=100, guard=True))
        assert error.permanent and why in error.reason

    async def test_redirect_to_file_scheme_is_refused(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """A redirect may not leave http(s)."""
        error = await failure(
            client.get(url(server, "/away?to=file:///etc/passwd"), max_bytes=100, guard=False)
        )
        assert error.permanent and "scheme" in error.reason

    async def test_non_http_scheme_is_refused(self, client: HttpClient) -> None:
        """Only http and https are fetched."""
        error = await failure(client.get("ftp://example.org/x", max_bytes=100, guard=True))
        assert error.permanent and "'ftp'" in error.reason
