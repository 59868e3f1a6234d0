"""Feed parsing (pure) and polling (a real server on 127.0.0.1, and local files)."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.errors import FeedError, FetchError
from monitor.sources import prepass
from monitor.sources.feeds import (
    FeedRead,
    FeedState,
    feed_location,
    parse_feed,
    plain_text,
    poll_feed,
    read_feed,
    strip_tracking,
)
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.prepass import pre_parse
from tests.servers import LocalSite

FEED_URL = "https://news.example/feeds/main.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Harbour Gazette</title>
    <link>https://news.example/</link>
    <description>Small-town harbour news</description>
    <item>
      <title>Ferry timetable changes</title>
      <link>/2024/ferry.html?utm_source=rss&amp;id=7</link>
      <guid isPermaLink="false">gazette-ferry-7</guid>
      <pubDate>Tue, 05 Mar 2024 10:00:00 +0100</pubDate>
      <description>&lt;p&gt;The &lt;b&gt;morning&lt;/b&gt; ferry&lt;/p&gt;&lt;p&gt;leaves
        earlier &amp;amp; returns later.&lt;/p&gt;</description>
    </item>
    <item>
      <title>Lighthouse repainted</title>
      <link>lighthouse.html?fbclid=abc&amp;page=2&amp;utm_campaign=spring</link>
      <description>Red and white again.</description>
    </item>
    <item>
      <title>Note without a link</title>
      <description>Nothing to click.</description>
    </item>
  </channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Field Notes</title>
  <id>tag:notes.example,2024:feed</id>
  <updated>2024-04-02T10:00:00Z</updated>
  <entry>
    <title>Spring survey</title>
    <link rel="alternate" href="posts/spring"/>
    <id>tag:notes.example,2024:spring</id>
    <updated>2024-04-01T08:00:00+02:00</updated>
    <summary type="html">&lt;em&gt;Birds&lt;/em&gt; counted at dawn</summary>
  </entry>
  <entry>
    <title type="html">Dune &lt;i&gt;walk&lt;/i&gt;</title>
    <link href="posts/dunes?utm_source=atom&amp;gclid=1"/>
    <id></id>
    <published>2024-04-02T10:00:00Z</published>
    <content type="xhtml">
      <div xmlns="http://www.w3.org/1999/xhtml"><p>Sand everywhere.</p></div>
    </content>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>Parish Bulletin</title>
    <link>https://rdf.example/</link>
    <description>Weekly</description>
  </channel>
  <item rdf:about="https://rdf.example/bells">
    <title>Bells restored</title>
    <link>https://rdf.example/bells</link>
    <dc:date>2024-02-11T09:30:00+00:00</dc:date>
  </item>
</rdf:RDF>
"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Tide Tables",
        "home_page_url": "https://tides.example/",
        "items": [
            {
                "id": "tide-monday",
                "url": "/tides/monday",
                "title": "Monday",
                "content_text": "High water at 06:12.",
                "date_published": "2024-05-06T06:00:00+02:00",
            },
            {"id": 2, "url": "tuesday?gclid=zz", "content_html": "<p>Low water <i>late</i></p>"},
            {"url": "wednesday?utm_content=q&day=3", "title": "Wednesday"},
        ],
    }
).encode()

BOZO_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken & proud</title>
<item><title>First</title><link>https://broken.example/1</link></item>
<item><title>Second <b>bold</title><link>https://broken.example/2</link></item>
</channel>
"""

NOT_A_FEED = b"""<!DOCTYPE html>
<html><head><title>Welcome</title></head><body><p>This is a web page.</p></body></html>
"""


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestParseRss:
    def test_fields(self) -> None:
        """Title, GUID key, resolved URL, UTC date and plain-text summary."""
        feed = parse_feed(RSS, FEED_URL)
        first = feed.entries[0]
        assert (feed.title, feed.warning, len(feed.entries)) == ("Harbour Gazette", None, 3)
        assert first.key == "gazette-ferry-7"
        assert first.url == "https://news.example/2024/ferry.html?utm_source=rss&id=7"
        assert first.published == utc(2024, 3, 5, 9, 0)
        assert first.summary == "The morning ferry leaves earlier & returns later."

    def test_key_is_link_without_tracking_params(self) -> None:
        """Without a GUID the key is the resolved link minus utm_* and fbclid."""
        second = parse_feed(RSS, FEED_URL).entries[1]
        assert second.url == (
            "https://news.example/feeds/lighthouse.html?fbclid=abc&page=2&utm_campaign=spring"
        )
        assert second.key == "https://news.example/feeds/lighthouse.html?page=2"

    def test_key_without_guid_or_link_is_a_hash(self) -> None:
        """No GUID, no link: the key hashes title and link."""
        third = parse_feed(RSS, FEED_URL).entries[2]
        expected = hashlib.sha256(b"Note without a link\n").hexdigest()
        assert (third.url, third.key) == ("", f"sha256:{expected}")

    def test_charset_from_content_type(self) -> None:
        """A Latin-1 feed without an XML declaration is read with the HTTP charset."""
        body = "<rss version='2.0'><channel><title>Café crème</title></channel></rss>"
        feed = parse_feed(
            body.encode("latin-1"), FEED_URL, "application/rss+xml; charset=iso-8859-1"
        )
        assert feed.title == "Café crème"

    def test_result_pickles(self) -> None:
        """ParsedFeed crosses a process boundary intact."""
        feed = parse_feed(RSS, FEED_URL)
        assert pickle.loads(pickle.dumps(feed)) == feed


class TestParseOtherFormats:
    def test_atom(self) -> None:
        """Atom ids, relative links, offsets to UTC, HTML titles and xhtml content."""
        feed = parse_feed(ATOM, "https://notes.example/atom.xml")
        spring, dunes = feed.entries
        assert feed.title == "Field Notes"
        assert spring.key == "tag:notes.example,2024:spring"
        assert spring.url == "https://notes.example/posts/spring"
        assert spring.published == utc(2024, 4, 1, 6, 0)
        assert spring.summary == "Birds counted at dawn"
        assert dunes.title == "Dune walk"
        assert dunes.key == "https://notes.example/posts/dunes"
        assert dunes.summary == "Sand everywhere."

    @pytest.mark.parametrize(
        ("base", "expected"),
        [
            ("https://cdn.example/archive/", "https://cdn.example/archive/2024/tern.html"),
            ("/logbook/", "https://notes.example/logbook/2024/tern.html"),
            ("../logbook/", "https://notes.example/logbook/2024/tern.html"),
        ],
    )
    def test_atom_xml_base(self, base: str, expected: str) -> None:
        """Relative links resolve against xml:base, itself resolved against the feed's URL."""
        atom = (
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}"><title>Log</title>'
            "<entry><id>tag:notes.example,2024:tern</id><title>Terns</title>"
            '<link href="2024/tern.html"/><updated>2024-06-01T05:00:00Z</updated></entry></feed>'
        )
        (entry,) = parse_feed(atom.encode(), "https://notes.example/feeds/atom.xml").entries
        assert entry.url == expected

    def test_rdf(self) -> None:
        """RSS 1.0 (RDF) with a Dublin Core date."""
        feed = parse_feed(RDF, "https://rdf.example/index.rdf")
        (bells,) = feed.entries
        assert feed.title == "Parish Bulletin"
        assert (bells.url, bells.published) == (
            "https://rdf.example/bells",
            utc(2024, 2, 11, 9, 30),
        )

    def test_json_feed(self) -> None:
        """JSON Feed 1.1: ids (also numeric), relative urls, content_text/html, dates."""
        feed = parse_feed(JSON_FEED, "https://tides.example/feed.json", "application/feed+json")
        monday, tuesday, wednesday = feed.entries
        assert (feed.title, feed.warning) == ("Tide Tables", None)
        assert (monday.key, monday.url) == ("tide-monday", "https://tides.example/tides/monday")
        assert monday.published == utc(2024, 5, 6, 4, 0)
        assert monday.summary == "High water at 06:12."
        assert (tuesday.key, tuesday.summary) == ("2", "Low water late")
        assert wednesday.key == "https://tides.example/wednesday?day=3"

    def test_xml_mislabelled_as_json_is_still_parsed(self) -> None:
        """RSS served as application/json is read as RSS."""
        assert len(parse_feed(RSS, FEED_URL, "application/json").entries) == 3

    def test_json_feed_sniffed_without_content_type(self) -> None:
        """A JSON Feed served as text/plain (or with no type) is still recognised."""
        assert len(parse_feed(JSON_FEED, "https://tides.example/feed", None).entries) == 3


class TestParseBadDocuments:
    def test_bozo_feed_yields_entries_and_warning(self) -> None:
        """A malformed feed still gives its entries, with the problem in warning."""
        feed = parse_feed(BOZO_RSS, FEED_URL)
        assert [e.url for e in feed.entries] == [
            "https://broken.example/1",
            "https://broken.example/2",
        ]
        assert feed.warning

    @pytest.mark.parametrize(
        "body",
        [
            NOT_A_FEED,
            b"",
            b"just some words",
            b'{"hello": "world"}',
            b"{not json",
            b'{"items": ' + b"[" * 100_000,  # nesting deep enough to exhaust recursion
        ],
    )
    def test_non_feed_raises_feed_error(self, body: bytes) -> None:
        """HTML, empty, plain text and non-feed JSON are FeedError."""
        with pytest.raises(FeedError) as caught:
            parse_feed(body, FEED_URL)
        assert caught.value.url == FEED_URL

    @pytest.mark.parametrize(
        "body",
        [b'<rss version="2.0"></rss>', b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>'],
    )
    def test_empty_feed_document_is_a_warning(self, body: bytes) -> None:
        """A feed root with nothing in it, not even a title, parses, but with a warning: polled
        as fine, it would stay "ok" for ever while giving nothing."""
        feed = parse_feed(body, FEED_URL)
        assert feed.entries == ()
        assert feed.warning == "an empty feed document: no channel, title or entries"
        titled = parse_feed(b'<rss version="2.0"><channel><title>Q</title></channel></rss>', "")
        assert titled.warning is None  # a feed with no items yet is fine

    def test_unresolvable_links_do_not_escape(self) -> None:
        """A link urllib cannot even split is no ValueError: feedparser drops it, JSON keeps it."""
        rss = RSS.replace(b"lighthouse.html?fbclid", b"http://[::1/lighthouse.html?fbclid")
        assert parse_feed(rss, FEED_URL).entries[1].url == ""
        doc = {"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "http://[::1/x"}]}
        (entry,) = parse_feed(json.dumps(doc).encode(), FEED_URL).entries
        assert entry.url == entry.key == "http://[::1/x"

    def test_bytes_are_never_taken_for_a_path(self, tmp_path: Path) -> None:
        """A body that happens to be a file name is parsed as text, not opened."""
        secret = tmp_path / "feed.xml"
        secret.write_bytes(RSS)
        with pytest.raises(FeedError):
            parse_feed(str(secret).encode(), FEED_URL)


class TestHelpers:
    def test_strip_tracking_keeps_other_params_verbatim(self) -> None:
        """Only tracking parameters go; order and encoding of the rest stay."""
        assert (
            strip_tracking("https://a.example/x?b=%20&utm_source=t&a=1&gclid=9#frag")
            == "https://a.example/x?b=%20&a=1#frag"
        )
        assert strip_tracking("https://a.example/x?utm_medium=m") == "https://a.example/x"

    def test_plain_text(self) -> None:
        """Tags, scripts and entities out; block tags separate words, inline tags do not."""
        markup = (
            "<p>One</p><p>t<b>wo</b> &amp; <script>alert(1)</script>three</p><style>p{}</style>"
        )
        assert plain_text(markup) == "One two & three"
        assert plain_text("<<<<" * 10_000).startswith("<<<<")  # linear, not quadratic

    @pytest.mark.parametrize(
        ("location", "expected"),
        [
            ("https://a.example/feed", ("http", "https://a.example/feed")),
            ("/srv/feeds/desk.xml", ("file", "/srv/feeds/desk.xml")),
            ("file:///srv/feeds/desk.xml", ("file", "/srv/feeds/desk.xml")),
            ("file://localhost/srv/a%20b.xml", ("file", "/srv/a b.xml")),
        ],
    )
    def test_feed_location(self, location: str, expected: tuple[str, str]) -> None:
        """URLs, paths and file:// URLs are told apart."""
        assert feed_location(location) == expected

    def test_feed_location_relative_path_is_made_absolute(self) -> None:
        """A relative path becomes absolute (against the working directory)."""
        kind, path = feed_location("feeds/desk.xml")
        assert kind == "file" and Path(path).is_absolute() and path.endswith("feeds/desk.xml")

    @pytest.mark.parametrize("location", ["ftp://a.example/feed", "file://otherhost/feed.xml"])
    def test_feed_location_refuses_others(self, location: str) -> None:
        """Other schemes and remote file URLs are not feed locations."""
        with pytest.raises(ValueError):
            feed_location(location)


class FeedServer:
    """Serves RSS at /feed (with validators), /plain (without) and /moved (a redirect)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.app = web.Application()
        self.app.router.add_get("/feeds/feed", self.feed)
        self.app.router.add_get("/feeds/plain", self.plain)
        self.app.router.add_get("/moved", self.moved)
        self.app.router.add_get("/gone", self.gone)

    async def feed(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        validators = {"ETag": '"v1"', "Last-Modified": "Tue, 05 Mar 2024 10:00:00 GMT"}
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=validators)
        return web.Response(body=RSS, content_type="application/rss+xml", headers=validators)

    async def plain(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        return web.Response(body=RSS, content_type="application/rss+xml")

    async def moved(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/feeds/plain")

    async def gone(self, request: web.Request) -> web.Response:
        raise web.HTTPGone()


@pytest.fixture
def feeds() -> FeedServer:
    return FeedServer()


@pytest.fixture
async def server(feeds: FeedServer) -> AsyncIterator[TestServer]:
    test_server = TestServer(feeds.app, host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(HttpLimits(total_timeout=5.0)) as http:
        yield http


class TestPollHttp:
    async def test_conditional_get_gives_not_modified(
        self, client: HttpClient, server: TestServer, feeds: FeedServer
    ) -> None:
        """The second poll sends the validators and the server's 304 means not_modified."""
        url = str(server.make_url("/feeds/feed"))
        first = await poll_feed(client, FeedState(url))
        assert (first.status, first.http_status, first.etag) == ("changed", 200, '"v1"')
        assert first.feed is not None and len(first.feed.entries) == 3
        state = FeedState(url, first.etag, first.last_modified, first.body_hash)
        second = await poll_feed(client, state)
        assert (second.status, second.feed, second.http_status) == ("not_modified", None, 304)
        assert (second.etag, second.last_modified, second.body_hash) == (
            first.etag,
            first.last_modified,
            first.body_hash,
        )
        assert feeds.seen[1]["If-None-Match"] == '"v1"'
        assert feeds.seen[1]["If-Modified-Since"] == "Tue, 05 Mar 2024 10:00:00 GMT"
        assert "If-None-Match" not in feeds.seen[0]

    async def test_same_body_without_validators_is_unchanged(
        self, client: HttpClient, server: TestServer, feeds: FeedServer
    ) -> None:
        """No validators, same bytes as last time: unchanged, and not parsed again."""
        url = str(server.make_url("/feeds/plain"))
        first = await poll_feed(client, FeedState(url))
        parsed: list[str] = []

        async def read(
            body: bytes, base: str, content_type: str | None, known: frozenset[str]
        ) -> FeedRead:
            parsed.append(base)
            return read_feed(body, base, content_type, known)

        second = await poll_feed(client, FeedState(url, body_hash=first.body_hash), read=read)
        assert (second.status, second.feed, second.etag) == ("unchanged", None, None)
        assert second.body_hash == first.body_hash == hashlib.sha256(RSS).hexdigest()
        assert parsed == []
        assert "If-None-Match" not in feeds.seen[1]

    async def test_read_hook_gets_final_url_and_type(
        self, client: HttpClient, server: TestServer
    ) -> None:
        """The read callable is used, with the URL after redirects and the content type."""
        calls: list[tuple[str, str | None]] = []

        async def read(
            body: bytes, base: str, content_type: str | None, known: frozenset[str]
        ) -> FeedRead:
            calls.append((base, content_type))
            return read_feed(body, base, content_type, known)

        result = await poll_feed(client, FeedState(str(server.make_url("/moved"))), read=read)
        final = str(server.make_url("/feeds/plain"))
        assert calls == [(final, "application/rss+xml")]
        assert result.feed is not None
        assert result.feed.entries[1].url.startswith(str(server.make_url("/feeds/lighthouse.html")))

    async def test_unsupported_location_is_fetch_error(self, client: HttpClient) -> None:
        """A feed URL with another scheme fails like any fetch, permanently."""
        with pytest.raises(FetchError) as caught:
            await poll_feed(client, FeedState("gopher://old.example/feed"))
        assert caught.value.permanent

    async def test_http_error_is_fetch_error(self, client: HttpClient, server: TestServer) -> None:
        """A 410 surfaces as a permanent FetchError."""
        with pytest.raises(FetchError) as caught:
            await poll_feed(client, FeedState(str(server.make_url("/gone"))))
        assert (caught.value.status, caught.value.permanent) == (410, True)


LOCAL_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk drafts</title>
<item><title>One</title><link>stories/one.html</link></item>
<item><title>Two</title><link>../archive/two.html</link></item>
</channel></rss>
"""


class TestPollLocal:
    @pytest.fixture
    def feed_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "desk" / "feed.xml"
        path.parent.mkdir()
        path.write_bytes(LOCAL_RSS)
        return path

    @pytest.mark.parametrize("as_url", [False, True])
    async def test_relative_links_become_file_urls(
        self, client: HttpClient, feed_file: Path, as_url: bool
    ) -> None:
        """Links in a local feed resolve against the file, as file:// URLs."""
        location = feed_file.as_uri() if as_url else str(feed_file)
        result = await poll_feed(client, FeedState(location))
        assert (result.status, result.http_status, result.etag) == ("changed", None, None)
        assert result.feed is not None
        assert [e.url for e in result.feed.entries] == [
            (feed_file.parent / "stories" / "one.html").as_uri(),
            (feed_file.parent.parent / "archive" / "two.html").as_uri(),
        ]

    async def test_same_file_is_unchanged(self, client: HttpClient, feed_file: Path) -> None:
        """A local file whose hash has not moved is unchanged."""
        first = await poll_feed(client, FeedState(str(feed_file)))
        second = await poll_feed(client, FeedState(str(feed_file), body_hash=first.body_hash))
        assert (second.status, second.feed) == ("unchanged", None)

    async def test_missing_file_is_fetch_error(self, client: HttpClient, tmp_path: Path) -> None:
        """A missing file may appear later: a non-permanent FetchError."""
        with pytest.raises(FetchError) as caught:
            await poll_feed(client, FeedState(str(tmp_path / "nope.xml")))
        assert not caught.value.permanent

    async def test_oversized_file_is_refused(self, feed_file: Path) -> None:
        """The feed size cap applies to local files too."""
        async with HttpClient(HttpLimits(max_feed_bytes=100)) as http:
            with pytest.raises(FetchError) as caught:
                await poll_feed(http, FeedState(str(feed_file)))
        assert caught.value.permanent and "larger than 100 bytes" in caught.value.reason


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feeds"
# An entry element anywhere in the bytes: the oracle for "this document had entries".
ENTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]", re.IGNORECASE)


def has_json_items(body: bytes) -> bool:
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("items"), list) and bool(doc["items"])


def test_corpus_parses_without_crashing() -> None:
    """Every corpus file parses or raises FeedError, and FeedError only on entry-less files."""
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    parsed, wrongly_refused = 0, []
    for path in files:
        body = path.read_bytes()
        try:
            parse_feed(body, path.as_uri())
            parsed += 1
        except FeedError as exc:
            if ENTRY_TAG.search(body) or has_json_items(body):
                wrongly_refused.append(f"{path}: {exc.reason}")
    assert wrongly_refused == []
    assert parsed > len(files) * 0.8


class TestPrePass:
    def test_only_short_date_texts_are_remembered(self) -> None:
        """Dates are remembered per process (entries keep them from poll to poll), but a
        hostile feed's kilobytes of "date" are not, or it could fill memory."""
        real = "Tue, 04 Jun 2024 07:30:00 GMT"
        assert prepass._cheap_date(real) == utc(2024, 6, 4, 7, 30)
        assert real in prepass._DATES
        junk = "Tue, 04 Jun 2024 07:30:00 GMT " + "x" * 5000
        prepass._cheap_date(junk)
        assert junk not in prepass._DATES

    def feed(self, build: str, guids: list[str]) -> bytes:
        items = "".join(
            f"<item><title>{g}</title><guid>{g}</guid>"
            f"<pubDate>Mon, 03 Mar 2025 0{i}:00:00 GMT</pubDate></item>"
            for i, g in enumerate(guids)
        )
        return (
            f'<rss version="2.0"><channel><title>t</title><lastBuildDate>{build}'
            f"</lastBuildDate>{items}</channel></rss>"
        ).encode()

    def test_same_ids_despite_build_date(self) -> None:
        """Only the build date moved: the same ids, none new."""
        first = pre_parse(self.feed("Mon, 03 Mar 2025 10:00:00 GMT", ["a", "b"]))
        assert first is not None
        known = frozenset(first.entry_ids.split())
        again = pre_parse(self.feed("Mon, 03 Mar 2025 11:00:00 GMT", ["b", "a"]), known)
        assert again is not None
        assert (again.entry_ids, again.new, again.reduced) == (first.entry_ids, 0, None)
        assert len(again.dates) == 2

    def test_new_entry_is_all_that_is_left_to_parse(self) -> None:
        """One unknown entry among known ones: the reduced document holds only it."""
        first = pre_parse(self.feed("x", ["a", "b"]))
        assert first is not None
        later = pre_parse(self.feed("y", ["c", "a", "b"]), frozenset(first.entry_ids.split()))
        assert later is not None and later.new == 1 and later.reduced is not None
        parsed = parse_feed(later.reduced, FEED_URL, "application/xml")
        assert [e.key for e in parsed.entries] == ["https://news.example/feeds/c"]

    @pytest.mark.parametrize("body", [BOZO_RSS, JSON_FEED, RSS, b'<!DOCTYPE x [<!ENTITY e "y">]>'])
    def test_undecidable_feeds_give_none(self, body: bytes) -> None:
        """Malformed XML, JSON, and an entry with neither id nor link: no shortcut."""
        assert pre_parse(body) is None

    async def test_build_date_only_change_skips_the_parse(self, site: LocalSite) -> None:
        """A feed whose only change is its build date is 'unchanged' and never parsed."""
        bodies = [self.feed("one", ["a", "b"]), self.feed("two", ["a", "b"])]
        bodies.append(self.feed("three", ["a", "b", "c"]))

        async def serve(request: web.Request) -> web.Response:
            return web.Response(body=bodies.pop(0), content_type="application/rss+xml")

        site.route("/f.xml", serve)
        await site.start()
        parsed: list[int] = []

        async def read(
            body: bytes, base: str, content_type: str | None, known: frozenset[str]
        ) -> FeedRead:
            got = read_feed(body, base, content_type, known)
            if got.feed is not None:
                parsed.append(len(got.feed.entries))
            return got

        async with HttpClient(HttpLimits(total_timeout=5.0)) as http:
            state = FeedState(site.url("/f.xml"))
            results = []
            for _ in range(3):
                result = await poll_feed(http, state, read=read)
                results.append(result.status)
                state = FeedState(state.url, body_hash=result.body_hash, entry_ids=result.entry_ids)
        assert results == ["changed", "unchanged", "changed"]
        assert parsed == [2, 1]  # the third poll parsed only the new entry


def test_reduced_parse_gives_the_same_entries_on_the_corpus() -> None:
    """On every corpus feed, parsing only the unknown entries gives exactly the entries the
    full parse gives for them: the shortcut never changes what is recorded."""
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    checked, wrong = 0, []
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix in (".xml", ".rss", ".atom")):
        body = path.read_bytes()
        first = pre_parse(body)
        if first is None or len(first.entry_ids.split()) < 2:
            continue
        try:
            full = parse_feed(body, "https://corpus.example/feed.xml")
        except FeedError:
            continue
        known = frozenset(first.entry_ids.split()[::2])  # every other entry is "known"
        later = pre_parse(body, known)
        assert later is not None and later.reduced is not None
        part = parse_feed(later.reduced, "https://corpus.example/feed.xml", "application/xml")
        checked += 1
        if len(part.entries) != later.new or any(e not in full.entries for e in part.entries):
            wrong.append(path.name)
    assert wrong == []
    assert checked > 100
