"""Feed polling and parsing: conditional GET (or a local file), change detection, entries.

``read_feed`` (the cheap pre-pass, then ``parse_feed`` on what is new) is a pure function of
bytes, so the daemon runs it in a process pool, one round trip per changed feed; ``poll_feed``
is the I/O edge that decides whether there is anything to read at all.
"""

from __future__ import annotations

__all__ = [
    "FeedRead",
    "FeedState",
    "ParsedFeed",
    "PollResult",
    "feed_location",
    "parse_feed",
    "plain_text",
    "poll_feed",
    "read_feed",
    "read_local",
    "strip_tracking",
]

import asyncio
import calendar
import hashlib
import html
import io
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import feedparser
from feedparser.exceptions import NonXMLContentType

from monitor.errors import FeedError, FetchError
from monitor.model import Entry
from monitor.sources.folder import scan_folder
from monitor.sources.http import HttpClient
from monitor.sources.prepass import pre_parse
from monitor.sources.schedule import freshness

_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "wt_mc", "cmpid", "ocid", "_ga", "_gl",
    }
)  # fmt: skip
# feedparser asks for libxml2's SAX driver first, and falls back to expat only when its import
# fails: on every parse, a failed import searching sys.path (a quarter of a parse of one
# entry), and where the bindings are installed, a parse that depends on what else is on the
# machine, through a driver libxml2's maintainers call outdated (feedparser issue #506).
# Expat, the standard library's parser, always.
feedparser.api.PREFERRED_XML_PARSERS = []

# Hashing or pre-parsing a large body is worth a thread (hashlib and lxml release the GIL);
# a small one is not (about 1 ms per 100 KB).
_OFF_LOOP_BYTES = 2**18
_T = TypeVar("_T")

_TAG = re.compile(r"<[^<>]*>")  # [^<>] keeps a run of unclosed '<' linear, not quadratic
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|hr)\b", re.I)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FeedState:
    """What we remember about a feed between polls: its validators and its last body's hash."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entry_ids: str | None = None  # digests of the entry ids seen last time (PrePass)


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title and entries; ``warning`` says what was wrong with a malformed feed.

    ``ttl`` is the feed's own ``<ttl>`` in seconds: how long it asks readers to wait.
    """

    title: str
    entries: tuple[Entry, ...]
    warning: str | None
    ttl: float | None = None


@dataclass(frozen=True)
class PollResult:
    """The outcome of one poll: "changed" (``feed`` set), "not_modified" (304) or "unchanged"
    (the same bytes, or the same entry ids, as last time: nothing was parsed).

    ``fresh_for`` is how long the response's caching headers say it stays fresh, in seconds;
    ``entry_ids`` are the digests of the entry ids the cheap pre-pass found, and
    ``entry_dates`` the dates it could read (of every entry, parsed or not).
    """

    status: str
    feed: ParsedFeed | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    http_status: int | None
    fresh_for: float | None = None
    entry_ids: str | None = None
    entry_dates: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class FeedRead:
    """What reading a changed feed's bytes found: every entry's id digest (space-separated,
    None when the pre-pass could not tell) and the dates it read cheaply, and the feed parsed
    down to its unknown entries, or None when every entry is known."""

    entry_ids: str | None
    dates: tuple[datetime, ...]
    feed: ParsedFeed | None


# How the daemon runs read_feed elsewhere (a process pool): same arguments, awaited.
ReadFn = Callable[[bytes, str, str | None, frozenset[str]], Awaitable[FeedRead]]


# -- parsing (pure) ------------------------------------------------------------------------


def read_feed(
    body: bytes, url: str, content_type: str | None = None, known: frozenset[str] = frozenset()
) -> FeedRead:
    """The pre-pass, then a full parse of only what it did not know.

    ``known`` are the entry id digests of the last read. Feeds often change only their build
    date: when the pre-pass finds every entry known, nothing is parsed; when a few are new,
    feedparser parses the document cut down to them. Where the pre-pass cannot tell (JSON,
    broken XML), the whole document is parsed. Pure, and picklable both ways, so the pre-pass
    and the parse cost one trip to a worker process, not the event loop's time.
    """
    pre = pre_parse(body, known)
    if pre is None:
        return FeedRead(None, (), parse_feed(body, url, content_type))
    if known and pre.new == 0:
        return FeedRead(pre.entry_ids, pre.dates, None)
    if pre.reduced is not None:
        # Only the unknown entries, re-encoded as UTF-8 (so no charset from the header).
        body, content_type = pre.reduced, "application/xml"
    return FeedRead(pre.entry_ids, pre.dates, parse_feed(body, url, content_type))


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS, Atom, RDF or JSON Feed bytes fetched from ``url``.

    Malformed feeds yield what can be recovered, with ``warning`` set; a document that is no
    feed at all raises FeedError. Entry URLs are absolute (resolved against ``url``).
    """
    if not body.strip():
        raise FeedError(url, "the response body is empty")
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, url)
    # Without a type, feedparser flags every document; XML rules (declaration, BOM) apply.
    headers = {"content-type": content_type or "application/xml"}
    if urlsplit(url).scheme in ("http", "https"):
        # Lets feedparser resolve xml:base against the document; it mangles file: bases.
        headers["content-location"] = url
    try:
        result = feedparser.parse(
            io.BytesIO(body),  # never a str or bytes: feedparser would treat those as a path
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser promises not to raise; a bug there is a bad feed here
        raise FeedError(url, f"feed parser failed: {type(exc).__name__}: {exc}") from exc
    warning = None
    problem = result.get("bozo_exception")
    # A feed served as text/html is common and harmless: that alone is no warning.
    if result.get("bozo") and not isinstance(problem, NonXMLContentType):
        warning = f"{type(problem).__name__}: {problem}" if problem else "malformed feed"
    if not result.get("version") and not result.entries:
        reason = "not an RSS, Atom, RDF or JSON feed"
        raise FeedError(url, f"{reason} ({warning})" if warning else reason)
    if not result.entries and not result.feed and warning is None:
        # <rss version="2.0"></rss>: a feed by its root, but with nothing in it, not even a
        # title. Polled as fine it would stay "ok" forever; it is worth a look.
        warning = "an empty feed document: no channel, title or entries"
    entries = tuple(_feedparser_entry(e, url) for e in result.entries)
    title = _text_of(result.feed, "title")
    return ParsedFeed(title, entries, warning, _ttl(dict.get(result.feed, "ttl")))


def _ttl(value: object) -> float | None:
    """RSS ``<ttl>`` is in minutes; anything but a positive whole number is ignored."""
    text = _str(value).strip()
    return float(text) * 60 if text.isdigit() and int(text) > 0 else None


def _feedparser_entry(raw: dict[str, Any], feed_url: str) -> Entry:
    # dict.get, not FeedParserDict.get: its legacy key aliases emit DeprecationWarnings.
    get = partial(dict.get, raw)
    url = _absolute(feed_url, _str(get("link")))
    title = _text_of(raw, "title")
    summary = _text_of(raw, "summary")
    contents = get("content")
    if not summary and isinstance(contents, list) and contents:
        content = contents[0]
        summary = _as_plain(_str(content.get("value")), _str(content.get("type")))
    published = None
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _from_struct_time(get(name))
        if published is not None:
            break
    return Entry(
        key=_entry_key(_str(get("id")), url, title, summary),
        url=url,
        title=title,
        published=published,
        summary=summary,
    )


def _text_of(node: dict[str, Any], name: str) -> str:
    """Plain text of feedparser field ``name``, honouring its declared type."""
    detail = dict.get(node, f"{name}_detail")
    kind = _str(dict.get(detail, "type")) if isinstance(detail, dict) else ""
    return _as_plain(_str(dict.get(node, name)), kind)


def _as_plain(value: str, kind: str) -> str:
    return _collapse(value) if kind == "text/plain" else plain_text(value)


def _absolute(base: str, link: str) -> str:
    """``link`` resolved against ``base``; a link too broken to resolve is kept as it is."""
    link = link.strip()
    try:
        return urljoin(base, link) if link else ""
    except ValueError:  # e.g. "http://[::1/": an unclosed IPv6 bracket
        return link


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _from_struct_time(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        # feedparser's struct_time is already UTC; timegm avoids any local-time step.
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    first = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"{":
        return True
    # Trust a JSON type unless the bytes are plainly markup (servers mislabel feeds).
    return bool(content_type and "json" in content_type.split(";", 1)[0].lower()) and first != b"<"


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (feedparser 6 does not read JSON)."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting
        raise FeedError(url, f"invalid JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(doc, dict):
        raise FeedError(url, "JSON document is not a JSON Feed object")
    version = _str(doc.get("version"))
    items = doc.get("items")
    is_jsonfeed = "jsonfeed.org/version/" in version
    if not isinstance(items, list):
        if is_jsonfeed:
            return ParsedFeed(_collapse(_str(doc.get("title"))), (), "JSON Feed without items")
        raise FeedError(url, "JSON document is not a JSON Feed (no version, no items)")
    warning = None if is_jsonfeed else f"not a JSON Feed version: {version!r}"
    entries = []
    for item in items:
        if not isinstance(item, dict):
            warning = warning or "JSON Feed item that is not an object"
            continue
        link = _absolute(url, _str(item.get("url")) or _str(item.get("external_url")))
        # JSON Feed says title, summary and content_text are plain text already.
        title = _collapse(_str(item.get("title")))
        summary = (
            _collapse(_str(item.get("summary")))
            or _collapse(_str(item.get("content_text")))
            or plain_text(_str(item.get("content_html")))
        )
        published = _from_iso(item.get("date_published")) or _from_iso(item.get("date_modified"))
        guid = item.get("id")
        guid_text = str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else ""
        entries.append(
            Entry(_entry_key(guid_text, link, title, summary), link, title, published, summary)
        )
    return ParsedFeed(_collapse(_str(doc.get("title"))), tuple(entries), warning)


def _from_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _entry_key(guid: str, url: str, title: str, summary: str) -> str:
    """GUID, else the link without tracking parameters, else a hash of title and link."""
    guid = guid.strip()
    if guid:
        # A GUID that is a link (RSS isPermaLink) gets the same tracking clean-up as links.
        return strip_tracking(guid) if guid.startswith(("http://", "https://")) else guid
    if url:
        return strip_tracking(url)
    # Only an entry with neither title nor link falls back on its text.
    material = f"{title}\n{url}" if title else summary
    return "sha256:" + hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()


def strip_tracking(url: str) -> str:
    """``url`` without utm_* and click-id query parameters; everything else kept verbatim."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(unquote(pair.split("=", 1)[0]).lower())
    ]
    return urlunsplit(parts._replace(query="&".join(kept)))


def _is_tracking(name: str) -> bool:
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def plain_text(markup: str) -> str:
    """Cheap HTML to text: drop script/style, tags and entities, collapse whitespace."""
    if "<" in markup:
        markup = _drop_element(markup, "script")
        markup = _drop_element(markup, "style")
        markup = _TAG.sub(_tag_gap, markup)
    return _collapse(html.unescape(markup))


def _tag_gap(match: re.Match[str]) -> str:
    # Block tags separate words ("<p>a</p><p>b</p>"); inline ones do not ("<b>a</b>b").
    return " " if _BLOCK_TAG.match(match.group()) else ""


def _drop_element(markup: str, name: str) -> str:
    """Remove <name ...>...</name> with plain finds: linear even when the end tag is missing."""
    lower = markup.lower()
    opening, closing = f"<{name}", f"</{name}"
    start = lower.find(opening)
    if start < 0:
        return markup
    out, pos = [], 0
    while start >= 0:
        out.append(markup[pos:start])
        end = lower.find(closing, start)
        if end < 0:
            return "".join(out)
        pos = lower.find(">", end)
        pos = len(markup) if pos < 0 else pos + 1
        start = lower.find(opening, pos)
    out.append(markup[pos:])
    return "".join(out)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- polling (I/O) -------------------------------------------------------------------------


def feed_location(url: str) -> tuple[str, str]:
    """("http", url) for an http(s) URL, ("file", absolute path) for a path or file:// URL.

    Raises ValueError for any other scheme or a file:// URL on another host.
    """
    if url[:8].lower().startswith(("http://", "https://")):
        return "http", url  # every poll of a web feed: no need to split the URL
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return "http", url
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URL on another host: {url}")
        return "file", str(Path(url2pathname(parts.path)).absolute())
    if scheme == "" or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        return "file", str(Path(url).expanduser().absolute())
    raise ValueError(f"unsupported feed location scheme {scheme!r}: {url}")


async def poll_feed(
    client: HttpClient, state: FeedState, *, read: ReadFn | None = None
) -> PollResult:
    """Fetch a feed if it changed and parse it; raises FetchError or FeedError.

    HTTP feeds use a conditional GET; every feed is also compared by body hash, so a server
    without validators does not make us parse the same document again. ``read`` lets the
    daemon run :func:`read_feed` in a process pool (without it, a large body is read in a
    thread).
    """
    try:
        kind, where = feed_location(state.url)
    except ValueError as exc:
        raise FetchError(state.url, str(exc), permanent=True) from exc
    if kind == "file" and await asyncio.to_thread(Path(where).is_dir):
        return await _poll_folder(client, state, Path(where), read or _read_here)
    if kind == "file":
        path = Path(where)
        base = path.as_uri()
        body = await asyncio.to_thread(read_local, path, client.limits.max_feed_bytes, base)
        etag: str | None = None
        last_modified: str | None = None
        content_type: str | None = None
        http_status: int | None = None
        fresh_for: float | None = None
    else:
        headers = {"Accept": _FEED_ACCEPT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        response = await client.get(
            state.url, headers=headers, max_bytes=client.limits.max_feed_bytes, guard=False
        )
        # A 304 may carry fresh validators; otherwise the old ones still hold.
        etag = response.headers.get("ETag") or (state.etag if response.status == 304 else None)
        last_modified = response.headers.get("Last-Modified") or (
            state.last_modified if response.status == 304 else None
        )
        fresh_for = freshness(response.headers)
        if response.status == 304:
            return PollResult(
                "not_modified",
                None,
                etag,
                last_modified,
                state.body_hash,
                304,
                fresh_for,
                state.entry_ids,
            )
        base, body = response.url, response.body
        content_type = response.headers.get("Content-Type")
        http_status = response.status
    body_hash = await _sha256(body)
    if body_hash == state.body_hash:
        return PollResult(
            "unchanged",
            None,
            etag,
            last_modified,
            body_hash,
            http_status,
            fresh_for,
            state.entry_ids,
        )
    known = frozenset((state.entry_ids or "").split())
    try:
        got = await (read or _read_here)(body, base, content_type, known)
    except FeedError as exc:
        exc.status = http_status  # "HTTP 200, but not a feed" is not "no answer"
        raise
    return PollResult(
        "changed" if got.feed is not None else "unchanged",
        got.feed,
        etag,
        last_modified,
        body_hash,
        http_status,
        fresh_for,
        got.entry_ids,
        got.dates,
    )


async def _read_here(
    body: bytes, url: str, content_type: str | None, known: frozenset[str]
) -> FeedRead:
    """:func:`read_feed` without a worker process: in a thread when the body is large."""
    return await _off_loop_if_large(
        partial(read_feed, url=url, content_type=content_type, known=known), body
    )


async def _poll_folder(
    client: HttpClient, state: FeedState, path: Path, read: ReadFn
) -> PollResult:
    """A directory of feed and article files, polled as one feed.

    Its "body hash" is the hash of its listing, so an untouched folder reads no file; a feed
    file that cannot be parsed is a warning on the folder, not a failure of the whole.
    """
    limit = client.limits.max_feed_bytes
    folder = await asyncio.to_thread(scan_folder, path, limit, known_hash=state.body_hash)
    if folder.listing_hash == state.body_hash:
        return PollResult("unchanged", None, None, None, folder.listing_hash, None)
    entries = list(folder.pages)
    problems = list(folder.problems)
    # All at once: the daemon's reader batches calls made together into one worker trip.
    reads = await asyncio.gather(
        *(read(body, url, None, frozenset()) for url, body in folder.feeds),
        return_exceptions=True,
    )
    for (url, _), got in zip(folder.feeds, reads, strict=True):
        if isinstance(got, FeedError):
            problems.append(f"{Path(url).name}: {got.reason}")
            continue
        if isinstance(got, BaseException):
            raise got
        parsed = got.feed
        if parsed is None:
            continue  # nothing known, so never: every entry is new
        entries.extend(parsed.entries)
        if parsed.warning:
            problems.append(f"{Path(url).name}: {parsed.warning}")
    warning = "; ".join(problems)[:2000] or None
    feed = ParsedFeed(path.name, tuple(entries), warning)
    return PollResult("changed", feed, None, None, folder.listing_hash, None)


def read_local(path: Path, max_bytes: int, url: str) -> bytes:
    """A local file's bytes, refusing more than ``max_bytes``; errors as FetchError for ``url``.

    Blocking: call it through ``asyncio.to_thread``.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(url, f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise FetchError(url, f"file larger than {max_bytes} bytes", permanent=True)
    return data


async def _sha256(body: bytes) -> str:
    return (await _off_loop_if_large(hashlib.sha256, body)).hexdigest()


async def _off_loop_if_large(fn: Callable[[bytes], _T], body: bytes) -> _T:
    """``fn(body)``, in a thread when the body is large enough to stall the loop."""
    if len(body) > _OFF_LOOP_BYTES:
        return await asyncio.to_thread(fn, body)
    return fn(body)
