"""Fetching the page behind a feed entry: guarded, size-capped, HTML-like content only."""

from __future__ import annotations

__all__ = ["fetch_page"]

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from monitor.errors import FetchError
from monitor.sources.feeds import feed_location, read_local
from monitor.sources.http import HttpClient

_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5"


async def fetch_page(client: HttpClient, url: str, *, trusted_local: bool = False) -> bytes:
    """The body of the page at ``url``, or FetchError.

    http(s) URLs come from feeds, so they are fetched with the SSRF guard on. file:// URLs are
    read only for items of an ops-configured local feed (``trusted_local``): a remote feed
    must not be able to make us read local files.
    """
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
        return await asyncio.to_thread(read_local, Path(path), client.limits.max_page_bytes, url)
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
    return response.body
