"""fetch_page against a real server on 127.0.0.1, and the rules for file:// pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.errors import FetchError
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.pages import decode_page, fetch_page, fetch_page_text
from tests.servers import LocalSite

LIMITS = HttpLimits(total_timeout=5.0, max_page_bytes=10_000)
PAGE = b"<html><body><p>The harbour reopened on Monday.</p></body></html>"


def build_app() -> web.Application:
    async def typed(request: web.Request) -> web.Response:
        return web.Response(
            body=PAGE, content_type=request.match_info["major"] + "/" + request.match_info["minor"]
        )

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 20_000, content_type="text/html")

    app = web.Application()
    app.router.add_get("/typed/{major}/{minor}", typed)
    app.router.add_get("/big", big)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    test_server = TestServer(build_app(), host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(LIMITS, allow_networks=["127.0.0.0/8"]) as http:
        yield http


class TestHttpPages:
    @pytest.mark.parametrize("content_type", ["text/html", "application/xhtml+xml", "text/plain"])
    async def test_page_types_are_fetched(
        self, client: HttpClient, server: TestServer, content_type: str
    ) -> None:
        """HTML, XHTML and plain text pages come back as bytes."""
        body = await fetch_page(client, str(server.make_url(f"/typed/{content_type}")))
        assert body == PAGE

    async def test_other_types_are_refused(self, client: HttpClient, server: TestServer) -> None:
        """A PDF is a permanent FetchError that names the type."""
        with pytest.raises(FetchError) as caught:
            await fetch_page(client, str(server.make_url("/typed/application/pdf")))
        assert caught.value.permanent and "application/pdf" in caught.value.reason

    async def test_missing_type_is_allowed(self, client: HttpClient) -> None:
        """A response without Content-Type is taken as a page."""

        async def untyped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PAGE) + PAGE)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        raw = await asyncio.start_server(untyped, "127.0.0.1", 0)
        async with raw:
            port = raw.sockets[0].getsockname()[1]
            assert await fetch_page(client, f"http://127.0.0.1:{port}/") == PAGE

    async def test_page_size_is_capped(self, client: HttpClient, server: TestServer) -> None:
        """max_page_bytes bounds a page."""
        with pytest.raises(FetchError) as caught:
            await fetch_page(client, str(server.make_url("/big")))
        assert "larger than 10000 bytes" in caught.value.reason

    async def test_pages_are_guarded(self, server: TestServer) -> None:
        """Page URLs come from feeds: loopback is refused unless allowed."""
        async with HttpClient(LIMITS) as http:
            with pytest.raises(FetchError) as caught:
                await fetch_page(http, str(server.make_url("/typed/text/html")))
        assert caught.value.permanent and "loopback" in caught.value.reason


class TestOtherSchemes:
    @pytest.fixture
    def page_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "stories" / "one.html"
        path.parent.mkdir()
        path.write_bytes(PAGE)
        return path

    async def test_file_url_refused_by_default(self, client: HttpClient, page_file: Path) -> None:
        """A feed from the internet cannot make us read local files."""
        with pytest.raises(FetchError) as caught:
            await fetch_page(client, page_file.as_uri())
        assert caught.value.permanent

    async def test_file_url_read_when_trusted(self, client: HttpClient, page_file: Path) -> None:
        """Items of an ops-configured local feed may point at local files."""
        assert await fetch_page(client, page_file.as_uri(), trusted_local=True) == PAGE

    async def test_trusted_file_is_size_capped(self, client: HttpClient, tmp_path: Path) -> None:
        """The page size cap applies to local files too."""
        big = tmp_path / "big.html"
        big.write_bytes(b"x" * 20_000)
        with pytest.raises(FetchError) as caught:
            await fetch_page(client, big.as_uri(), trusted_local=True)
        assert caught.value.permanent

    async def test_missing_trusted_file_is_fetch_error(
        self, client: HttpClient, tmp_path: Path
    ) -> None:
        """A missing local page is a FetchError, not an OSError."""
        with pytest.raises(FetchError):
            await fetch_page(client, (tmp_path / "gone.html").as_uri(), trusted_local=True)

    @pytest.mark.parametrize(
        "url",
        ["ftp://example.org/a.html", "javascript:alert(1)", "data:text/html,hi", "/etc/hosts"],
    )
    async def test_other_schemes_refused(self, client: HttpClient, url: str) -> None:
        """Anything but http, https and (trusted) file is refused."""
        with pytest.raises(FetchError) as caught:
            await fetch_page(client, url, trusted_local=True)
        assert caught.value.permanent


# Written for these tests: Russian and Polish sentences in single-byte charsets.
RUSSIAN = "<p>Переговоры продолжатся в понедельник в Стамбуле, сообщили дипломаты.</p>"
POLISH = "<p>Zażółć gęślą jaźń: rozmowy w Genewie potrwają do piątku.</p>"


class TestCharset:
    def test_header_charset_first(self) -> None:
        """The Content-Type charset decodes the page."""
        body = "<p>Café crème</p>".encode("latin-1")
        assert decode_page(body, "text/html; charset=ISO-8859-1", "u") == "<p>Café crème</p>"

    def test_meta_declaration_next(self) -> None:
        """Without a header charset, the page's own <meta charset> is used."""
        page = f'<html><head><meta charset="iso-8859-2"></head><body>{POLISH}</body></html>'
        assert decode_page(page.encode("iso-8859-2"), "text/html", "u") == page

    def test_http_equiv_meta(self) -> None:
        """The older http-equiv form of the declaration counts too."""
        page = (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">' + RUSSIAN
        )
        assert decode_page(page.encode("cp1251"), None, "u") == page

    def test_detection_last(self) -> None:
        """An undeclared Cyrillic page is detected, not decoded as mojibake."""
        assert decode_page((RUSSIAN * 3).encode("cp1251"), "text/html", "u") == RUSSIAN * 3

    def test_wrong_declaration_falls_through(self) -> None:
        """A header that names an unknown charset or misfits the bytes does not win."""
        body = (RUSSIAN * 3).encode("cp1251")
        assert decode_page(body, "text/html; charset=utf-8", "u") == RUSSIAN * 3
        assert decode_page(body, "text/html; charset=klingon", "u") == RUSSIAN * 3

    def test_bom_wins(self) -> None:
        """A UTF-8 byte-order mark overrides a contrary header."""
        body = b"\xef\xbb\xbf" + POLISH.encode()
        assert decode_page(body, "text/html; charset=iso-8859-1", "u") == POLISH

    def test_undecodable_page_is_a_permanent_error(self) -> None:
        """Binary noise is a permanent FetchError naming the URL and what was tried."""
        noise = bytes((i * 7919 + 13) % 256 for i in range(4000))
        with pytest.raises(FetchError) as caught:
            decode_page(noise, "text/html; charset=utf-8", "https://wire.example/x")
        assert caught.value.permanent and caught.value.url == "https://wire.example/x"
        assert "cannot decode" in caught.value.reason and "utf-8" in caught.value.reason

    async def test_undeclared_charset_from_server(self, site: LocalSite) -> None:
        """A server that declares no charset still gives the right text."""

        async def undeclared(request: web.Request) -> web.Response:
            body = ("<html><body>" + RUSSIAN * 3 + "</body></html>").encode("cp1251")
            return web.Response(body=body, headers={"Content-Type": "text/html"})

        site.route("/ru.html", undeclared)
        await site.start()
        async with HttpClient(LIMITS, allow_networks=["127.0.0.0/8"]) as http:
            text = await fetch_page_text(http, site.url("/ru.html"))
        assert RUSSIAN in text
