"""`newsmon feeds`, `newsmon feeds import` and `newsmon items`, run as users run them, on
databases filled through the real pipeline (server on 127.0.0.1, SQLite file)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from aiohttp import web

from monitor.pipeline import MAX_ITEM_ATTEMPTS, Pipeline
from monitor.pool import CpuPool
from monitor.rulebook import bundled_rules_dir, load_rules
from monitor.sources.http import HttpClient, HttpLimits
from monitor.store import NewItem, Store
from tests.servers import LocalSite
from tests.test_cli import newsmon

# An OPML list written for these tests: a folder, a duplicate, and an outline that is no feed.
OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0">
  <head><title>Desk subscriptions</title></head>
  <body>
    <outline text="Wires">
      <outline text="Harbour wire" type="rss" xmlUrl="https://harbour.example/rss"/>
      <outline title="Quay news" text="quay" type="rss" xmlUrl="https://quay.example/atom.xml"/>
    </outline>
    <outline text="Harbour again" type="rss" xmlUrl="https://harbour.example/rss"/>
    <outline text="Just a page" htmlUrl="https://harbour.example/"/>
    <outline text="Not the web" type="rss" xmlUrl="ftp://old.example/feed"/>
  </body>
</opml>
"""


def feeds_json(db: Path) -> list[dict[str, object]]:
    result = newsmon("feeds", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


class TestFeedsImport:
    def test_import_adds_each_feed_once_and_names_refusals(self, tmp_path: Path) -> None:
        """Feeds in folders are found, duplicates dropped, a non-http URL refused by line."""
        opml = tmp_path / "subs.opml"
        opml.write_text(OPML, encoding="utf-8")
        db = tmp_path / "newsmon.db"
        result = newsmon("feeds", "import", str(opml), "--db", str(db))
        assert result.returncode == 1
        assert f"{opml}:11: outline.xmlUrl: not an http(s) URL: ftp://old.example/feed" in (
            result.stderr
        )
        assert "2 feeds, 2 new, 1 refused" in result.stdout
        listed = {f["url"]: (f["name"], f["health"], f["imported"]) for f in feeds_json(db)}
        assert listed == {
            "https://harbour.example/rss": ("Harbour wire", "new", True),
            "https://quay.example/atom.xml": ("Quay news", "new", True),
        }
        # --db before the action names the same database (not the config's).
        again = newsmon("feeds", "--db", str(db), "import", str(opml))
        assert "2 feeds, 0 new" in again.stdout

    def test_external_entities_are_refused(self, tmp_path: Path) -> None:
        """An OPML file that pulls in a local file is refused with file and line."""
        secret = tmp_path / "secret.txt"
        secret.write_text("hunter2")
        opml = tmp_path / "evil.opml"
        opml.write_text(
            f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY s SYSTEM "{secret.as_uri()}">]>\n'
            '<opml version="2.0"><body>\n<outline text="&s;" xmlUrl="https://a.example/&s;"/>'
            "</body></opml>",
            encoding="utf-8",
        )
        result = newsmon("feeds", "import", str(opml), "--db", str(tmp_path / "n.db"))
        assert result.returncode == 1
        assert f"{opml}:3: not well-formed XML" in result.stderr
        assert "hunter2" not in result.stdout + result.stderr

    def test_not_opml_is_refused(self, tmp_path: Path) -> None:
        """An RSS file given as OPML is refused, saying so."""
        rss = tmp_path / "feed.opml"
        rss.write_text('<rss version="2.0"><channel/></rss>')
        result = newsmon("feeds", "import", str(rss), "--db", str(tmp_path / "n.db"))
        assert result.returncode == 1 and "not an OPML file" in result.stderr


class TestHealthAndFailures:
    async def test_feeds_lists_health(self, store: Store, site: LocalSite) -> None:
        """A failing feed shows its error count, last status and reason; a good one is ok."""

        async def broken(request: web.Request) -> web.Response:
            return web.Response(status=502, text="bad gateway")

        async def good(request: web.Request) -> web.Response:
            return web.Response(
                text='<rss version="2.0"><channel><title>Good wire</title></channel></rss>',
                content_type="application/rss+xml",
            )

        site.route("/broken.xml", broken)
        site.route("/good.xml", good)
        await site.start()
        await store.sync_feeds(
            [(site.url(p), "", 300.0, None) for p in ("/broken.xml", "/good.xml")]
        )
        cpu = CpuPool(workers=1)
        try:
            async with HttpClient(HttpLimits(total_timeout=5.0)) as http:
                pipeline = Pipeline(store, load_rules([bundled_rules_dir()]), cpu, http, list)
                for feed in await store.feeds():
                    await pipeline.refresh_feed(feed)
        finally:
            cpu.close()
        listed = {f["url"]: f for f in feeds_json(store.path)}
        broken_feed = listed[site.url("/broken.xml")]
        assert (broken_feed["health"], broken_feed["consecutive_errors"]) == ("erring", 1)
        assert (broken_feed["last_status"], broken_feed["last_error"]) == (
            502,
            "HTTP 502 Bad Gateway",
        )
        assert broken_feed["last_success"] is None and broken_feed["next_poll"]
        good_feed = listed[site.url("/good.xml")]
        assert (good_feed["health"], good_feed["name"], good_feed["last_status"]) == (
            "ok",
            "Good wire",
            200,
        )
        text = newsmon("feeds", "--db", str(store.path)).stdout
        assert "1 errors in a row, last: HTTP 502 Bad Gateway" in text
        # `status` counts as `feeds` does: one failure is erring, failing comes after
        # polling.failures_before_alert of them (5 by default, 1 here).
        status = newsmon("status", "--db", str(store.path)).stdout
        assert "feeds     1 ok, 1 erring, 0 failing;" in status
        assert f"  erring {site.url('/broken.xml')}: HTTP 502 Bad Gateway (1x)" in status
        strict = store.path.parent / "strict.yaml"
        strict.write_text(f"database: {store.path}\npolling: {{failures_before_alert: 1}}\n")
        status = newsmon("status", "--config", str(strict)).stdout
        assert "feeds     1 ok, 0 erring, 1 failing;" in status
        assert f"  failing {site.url('/broken.xml')}: HTTP 502 Bad Gateway (1x)" in status
        strict_feeds = newsmon("feeds", "--config", str(strict), "--json").stdout
        assert '"health": "failing"' in strict_feeds

    async def test_failed_fetches_retry_then_show_in_items_failed(
        self, store: Store, site: LocalSite
    ) -> None:
        """A page that keeps failing is retried with backoff, then listed with its reason."""

        async def down(request: web.Request) -> web.Response:
            return web.Response(status=503, text="down")

        site.route("/story.html", down)
        await site.start()
        url = site.url("/story.html")
        await store.add_items([NewItem("story", url, "Quay closed", None)], now=time.time())
        retries = []
        cpu = CpuPool(workers=1)
        try:
            limits = HttpLimits(total_timeout=5.0)
            async with HttpClient(limits, allow_networks=["127.0.0.0/8"]) as http:
                pipeline = Pipeline(store, load_rules([bundled_rules_dir()]), cpu, http, list)
                while (item := await store.claim_item(now=time.time() + 10**6)) is not None:
                    await pipeline.process_item(item)
                    retries.append(await store.next_item_due())
        finally:
            cpu.close()
        assert len(retries) == MAX_ITEM_ATTEMPTS
        assert retries[-1] is None  # given up: nothing pending any more
        waits = [due - time.time() for due in retries[:-1] if due is not None]
        assert waits == sorted(waits) and len(waits) == MAX_ITEM_ATTEMPTS - 1
        result = newsmon("items", "--failed", "--db", str(store.path), "--json")
        (failed,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert (failed["url"], failed["attempts"]) == (url, MAX_ITEM_ATTEMPTS)
        assert failed["error"] == "HTTP 503 Service Unavailable"
        counts = newsmon("items", "--db", str(store.path)).stdout.strip()
        assert counts == "1 failed"


async def test_items_purge_leaves_tombstones(store: Store) -> None:
    """`items --purge 1h` deletes finished items older than an hour and tombstones their keys."""
    old, recent = time.time() - 7200, time.time()
    await store.add_items([NewItem("old-story", "https://a.example/old", "Old", None)], now=old)
    await store.add_items([NewItem("new-story", "https://a.example/new", "New", None)], now=recent)
    for _ in range(2):
        item = await store.claim_item(now=recent)
        assert item is not None
        await store.fail_item(item.id, "gone", retry_at=None)
    result = newsmon("items", "--purge", "1h", "--db", str(store.path))
    assert (result.returncode, result.stdout.strip()) == (0, "purged 1 items")
    assert newsmon("items", "--db", str(store.path)).stdout.strip() == "1 failed"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT key FROM tombstones").fetchall() == [("old-story",)]


async def test_status_says_when_it_lists_only_some_feeds_in_error(store: Store) -> None:
    """With more feeds in error than `status` lists, it says how many more and where to look,
    so that the summary never looks complete when it is not."""
    urls = [f"https://wire{n:02}.example/rss" for n in range(12)]
    await store.sync_feeds([(url, "", 300.0, None) for url in urls])
    now = time.time()
    for feed in await store.feeds():
        await store.record_poll_error(
            feed.id, now=now, next_poll_at=now + 60, status=503, error="HTTP 503"
        )
    status = newsmon("status", "--db", str(store.path)).stdout
    assert "feeds     0 ok, 12 erring, 0 failing;" in status
    assert sum(line.startswith("  erring https://wire") for line in status.splitlines()) == 10
    assert "  ... and 2 more: newsmon feeds" in status
