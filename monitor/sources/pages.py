"""Fetching the page behind a feed entry: guarded, size-capped, HTML-like content only."""

from __future__ import annotations

__all__ = ["decode_page", "fetch_page", "fetch_page_text"]

import asyncio
import codecs
import re
from pathlib import Path
from urllib.parse import urlsplit

import charset_normalizer

from monitor.errors import FetchError
from monitor.sources.feeds import feed_location, read_local
from monitor.sources.http import HttpClient

_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5"


# <meta charset="..."> or <meta http-equiv="Content-Type" content="text/html; charset=...">
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I
)
# The spec looks for the declaration in the first 1024 bytes; pages are sloppier than that.
_META_SCAN = 4096
# A declared charset still wins over detection when only a few bytes disagree with it.
_BAD_BYTES_TOLERATED = 0.001


async def fetch_page_text(client: HttpClient, url: str, *, trusted_local: bool = False) -> str:
    """The page at ``url`` decoded to text (see :func:`decode_page`), or FetchError."""
    body, content_type = await _fetch(client, url, trusted_local=trusted_local)
    return await asyncio.to_thread(decode_page, body, content_type, url)


def decode_page(body: bytes, content_type: str | None, url: str) -> str:
    """Decode a page: the charset of the Content-Type header, else a byte-order mark, else the
    page's own ``<meta>`` declaration, else detection.

    A page none of these can decode is a permanent FetchError that says what was tried.
    """
    declared: list[str | None] = ["utf-8-sig"]
    if not body.startswith(codecs.BOM_UTF8):
        declared = [_header_charset(content_type), _meta_charset(body[:_META_SCAN])]
    tried = []
    for label in filter(None, declared):
        try:
            codec = codecs.lookup(label).name
        except LookupError:
            tried.append(f"{label} (unknown charset)")
            continue
        text = body.decode(codec, errors="replace")
        # Count only the replacements decoding made, not U+FFFD the page itself contained.
        bad = text.count("\ufffd") - body.count("\ufffd".encode())
        if bad <= max(1, len(body) * _BAD_BYTES_TOLERATED):
            return text
        tried.append(f"{label} ({bad} undecodable bytes)")
    best = charset_normalizer.from_bytes(body[: 2**20]).best() if body else None
    if best is not None and best.encoding:
        try:
            return body.decode(best.encoding)
        except (LookupError, UnicodeDecodeError):
            tried.append(f"detected {best.encoding} (does not fit the whole page)")
    elif not body:
        return ""
    tried.append("detection found no charset")
    raise FetchError(url, "cannot decode the page: tried " + ", ".join(tried), permanent=True)


def _header_charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _meta_charset(head: bytes) -> str | None:
    found = _META_CHARSET.search(head)
    return found.group(1).decode("ascii") if found else None


async def fetch_page(client: HttpClient, url: str, *, trusted_local: bool = False) -> bytes:
    """The body of the page at ``url``, or FetchError.

    http(s) URLs come from feeds, so they are fetched with the SSRF guard on. file:// URLs are
    read only for items of an ops-configured local feed (``trusted_local``): a remote feed
    must not be able to make us read local files.
    """
    body, _ = await _fetch(client, url, trusted_local=trusted_local)
    return body


async def _fetch(client: HttpClient, url: str, *, trusted_local: bool) -> tuple[bytes, str | None]:
    """The page's bytes and its Content-Type (None for a local file)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        if not trusted_local:
            raise FetchError(
                url, "file:// pages are read only for items of local feeds", permanent=True
            )
        try:
            _, path = feed_location(url)
        except ValueError as exc:
            raise FetchError(url, str(exc), permanent=True) from exc
        body = await asyncio.to_thread(read_local, Path(path), client.limits.max_page_bytes, url)
        return body, None
    if scheme not in ("http", "https"):
        raise FetchError(url, f"unsupported URL scheme {scheme!r}", permanent=True)
    response = await client.get(
        url,
        headers={"Accept": _PAGE_ACCEPT},
        max_bytes=client.limits.max_page_bytes,
        guard=True,
    )
    if response.status == 304:  # we sent no validators, so this is the server's confusion
        raise FetchError(url, "unexpected 304 Not Modified", status=304)
    content_type = response.headers.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type not in _PAGE_TYPES:
        raise FetchError(
            response.url,
            f"content type {media_type} is not a web page",
            status=response.status,
            permanent=True,
        )
    return response.body, content_type or None
