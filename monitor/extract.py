"""HTML page → readable article text, with trafilatura.

``extract_text`` is a plain function that runs in a worker process of :class:`monitor.pool.CpuPool`
(extraction takes 20 to 80 ms a page: it must never run on the event loop).
"""

from __future__ import annotations

__all__ = ["extract_text", "warm_up"]

import contextlib

import trafilatura

from monitor.errors import ExtractError

# A page long enough for trafilatura's main path, to load its models in a fresh worker.
_WARM_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><p>"
    + "This paragraph exists to warm the extractor up before real pages arrive. " * 8
    + "</p></article></body></html>"
)


def extract_text(html: bytes | str, url: str = "") -> str:
    """The main text of an article page; raises :class:`ExtractError` when there is none.

    Comments and navigation are left out; tables stay in, since statements are sometimes quoted
    in them. Bytes are decoded by trafilatura (declared charset, then detection).
    """
    try:
        text = trafilatura.extract(
            html, url=url or None, include_comments=False, include_tables=True, deduplicate=False
        )
    except Exception as exc:  # trafilatura raises anything lxml can: translate at the edge.
        raise ExtractError(
            f"{url or 'page'}: extraction failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not text or not text.strip():
        raise ExtractError(f"{url or 'page'}: no article text found")
    return str(text)


def warm_up() -> None:
    """Import and exercise trafilatura once, so the first real page pays no start-up cost."""
    with contextlib.suppress(ExtractError):
        extract_text(_WARM_PAGE)
