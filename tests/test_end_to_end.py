"""newsmon end to end: real feed and page server, real Slack stand-in, real SMTP, real SQLite."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
from aiohttp import web

from monitor.config import load_config
from monitor.rulebook import bundled_rules_dir, load_rules
from monitor.service import run_daemon
from tests.conftest import REPO, SEED_RUSSIAN_DEMANDS
from tests.servers import FakeSlack, LocalSite, Mailbox

NEWSMON = str(Path(sys.executable).parent / "newsmon")

RUSSIAN_DEMANDS = SEED_RUSSIAN_DEMANDS

# Articles written for these tests: one demand each, voiced by Russia.
ARTICLES = {
    "nato": (
        "Kremlin restates its line on the alliance",
        "Moscow insists that Ukraine must never join NATO, the Kremlin said on Monday.",
    ),
    "crimea": (
        "Russia sets out territorial terms",
        "Russia demands international recognition of Crimea as Russian territory.",
    ),
    "troops": (
        "Kremlin warns over peacekeepers",
        "The Kremlin insists that no foreign troops be deployed in Ukraine after a truce.",
    ),
    "sanctions": (
        "Moscow names its economic price",
        "Russia wants Western sanctions lifted before any settlement, Moscow said.",
    ),
}
FILLER = (
    "Officials on both sides spoke to reporters after the meeting, which lasted several hours. "
    "Diplomats said further rounds of talks were expected in the coming weeks, though no date "
    "had been set and both delegations declined to give details of the discussions."
)


def page(title: str, sentence: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home | World</nav>"
        f"<article><h1>{title}</h1><p>{sentence} {FILLER}</p><p>{FILLER}</p></article>"
        "<footer>Test wire</footer></body></html>"
    )


def rss(site: LocalSite, names: list[str]) -> str:
    items = "".join(
        f"<item><title>{ARTICLES[n][0]}</title><link>{site.url(f'/articles/{n}.html')}</link>"
        f"<guid>test-{n}</guid><pubDate>Mon, 03 Mar 2025 0{i}:00:00 GMT</pubDate></item>"
        for i, n in enumerate(names)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Test wire</title>'
        f"<link>{site.url('/')}</link><description>t</description>{items}</channel></rss>"
    )


def serve_news(site: LocalSite, names: list[str], *, page_delay: float = 0.0) -> list[int]:
    """Serve a feed of ``names`` with an ETag, and their pages; returns the feed's statuses."""
    statuses: list[int] = []
    etag = '"feed-v1"'

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            statuses.append(304)
            return web.Response(status=304, headers={"ETag": etag})
        statuses.append(200)
        return web.Response(
            text=rss(site, names), content_type="application/rss+xml", headers={"ETag": etag}
        )

    async def article(request: web.Request) -> web.Response:
        if page_delay:
            await asyncio.sleep(page_delay)
        title, sentence = ARTICLES[request.match_info["name"]]
        return web.Response(text=page(title, sentence), content_type="text/html")

    site.route("/feed.xml", feed)
    site.route("/articles/{name}.html", article)
    return statuses


def write_config(tmp_path: Path, site: LocalSite, extra: str = "") -> Path:
    path = tmp_path / "newsmon.yaml"
    path.write_text(
        f"database: {tmp_path / 'newsmon.db'}\n"
        f"feeds:\n  - url: {site.url('/feed.xml')}\n"
        "poll_interval: 1m\n"
        # The served stories predate the first poll: alert on them all the same.
        "polling:\n  backfill: true\n"
        "workers: 2\n"
        "http:\n  allow_networks: [127.0.0.0/8]\n  total_timeout: 10s\n" + extra,
        encoding="utf-8",
    )
    return path


def deltas_in(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, actor, demand FROM deltas ORDER BY id").fetchall()


async def test_run_once_delivers_each_alert_once_by_slack_and_email(
    tmp_path: Path,
    site: LocalSite,
    slack: FakeSlack,
    mailbox: Mailbox,
    smtp_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One run: a delta per demand, one Slack post and one email per alert; a second poll of
    the unchanged feed is a 304 and sends nothing."""
    statuses = serve_news(site, ["nato", "crimea"])
    await site.start()
    monkeypatch.setenv("TEST_SLACK_HOOK", slack.url)
    config = load_config(
        write_config(
            tmp_path,
            site,
            (
                "channels:\n"
                "  desk-slack: {type: slack, webhook_url: {env: TEST_SLACK_HOOK}}\n"
                f"  desk-mail: {{type: email, host: 127.0.0.1, port: {smtp_port},"
                " from: newsmon@example.org, to: [desk@example.org]}\n"
            ),
        )
    )

    assert await run_daemon(config, once=True) == 0

    deltas = deltas_in(tmp_path / "newsmon.db")
    assert sorted(deltas) == [
        ("new_condition", "russia", "territorial-recognition"),
        ("new_condition", "russia", "ukraine-nato-ban"),
    ]
    assert len(slack.posts) == len(deltas)
    assert len(mailbox.envelopes) == len(deltas)
    headlines = sorted(p["text"] for _, p in slack.posts)
    assert headlines[1].startswith("New condition: Russia → ")
    subjects = sorted(str(mailbox.message(i)["Subject"]) for i in range(len(deltas)))
    assert all(s.startswith("[newsmon] New condition: Russia") for s in subjects)

    assert await run_daemon(config, once=True) == 0
    assert statuses == [200, 304]
    assert site.requests[-1][1].get("If-None-Match") == '"feed-v1"'
    assert len(slack.posts) == len(deltas) and len(mailbox.envelopes) == len(deltas)
    assert deltas_in(tmp_path / "newsmon.db") == deltas


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        NEWSMON, *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def headlines(output: str) -> list[str]:
    """The alerts' headlines, without the title line of a grouped message ("... and N more
    (N new)")."""
    return [
        line
        for line in output.splitlines()
        if line.startswith("New condition: ") and not re.search(r" and \d+ more \(.*\)$", line)
    ]


async def test_offline_example_prints_the_seed_demands(tmp_path: Path) -> None:
    """The README's offline command prints a new_condition per Russian demand and for the
    ceasefire (United States, Ukraine); a second run on the same database prints none."""
    db = str(tmp_path / "offline.db")
    code, out, err = await run_cli("run", "--once", "--config", "examples/offline.yaml", "--db", db)
    assert code == 0, err
    rules = load_rules([bundled_rules_dir()])
    expected = {
        f"New condition: {rules.actors[actor].name} → {rules.demands[demand].title}"
        for actor, demand in [("russia", d) for d in RUSSIAN_DEMANDS]
        + [("united-states", "ceasefire"), ("ukraine", "ceasefire")]
    }
    assert set(headlines(out)) == expected
    assert len(headlines(out)) == len(expected)
    # One article: its deltas arrive as one message, under one title.
    assert len(re.findall(r" and \d+ more \(\d+ new\)$", out, re.MULTILINE)) == 1

    code, out, err = await run_cli("run", "--once", "--config", "examples/offline.yaml", "--db", db)
    assert code == 0, err
    assert headlines(out) == []


async def test_sigterm_stops_cleanly_and_next_run_finishes_without_repeats(
    tmp_path: Path, site: LocalSite
) -> None:
    """SIGTERM mid-run exits 0 within 10 s; a second run finishes the rest, repeating nothing."""
    names = list(ARTICLES)
    serve_news(site, names, page_delay=1.0)
    await site.start()
    # No gathering window: each alert prints as soon as its article is recorded.
    config = write_config(tmp_path, site, "alerts:\n  group_wait: 0s\n")
    proc = await asyncio.create_subprocess_exec(
        NEWSMON,
        "run",
        "--config",
        str(config),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = ""
    try:
        while "New condition" not in first:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the daemon stopped before printing an alert"
            first += line.decode()
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    first += out.decode()

    code, second, err2 = await run_cli("run", "--once", "--config", str(config))
    assert code == 0, err2
    seen = headlines(first) + headlines(second)
    assert len(seen) == len(names)
    assert len(set(seen)) == len(seen)
    assert len(deltas_in(tmp_path / "newsmon.db")) == len(names)


async def test_match_finds_the_seed_article_demands(shared: Path) -> None:
    """`newsmon match --json` on the seed story finds each demand with the right actor."""
    code, out, err = await run_cli("match", "--json", str(shared / "seed-article.txt"))
    assert code == 0, err
    found = {
        (f["actor"], f["demand"])
        for f in map(json.loads, out.splitlines())
        if f["stance"] == "demands"
    }
    assert {("russia", d) for d in RUSSIAN_DEMANDS} <= found
    assert {("united-states", "ceasefire"), ("ukraine", "ceasefire")} <= found
    assert not {(a, d) for a, d in found if d in RUSSIAN_DEMANDS and a != "russia"}


async def test_a_feed_voice_makes_first_person_statements_the_actors(
    tmp_path: Path, site: LocalSite
) -> None:
    """A press-release feed with `voice: russia`: "we insist ..." is Russia's demand; the same
    page from a feed without a voice names nobody and gives nothing."""
    statement = "We insist that Ukraine must never join NATO, the President said on Tuesday."
    for feed, link in (("/kremlin.xml", "/kremlin/1.html"), ("/wire.xml", "/wire/1.html")):

        async def serve_feed(request: web.Request, link: str = link) -> web.Response:
            item = (
                f"<item><title>Statement</title><link>{site.url(link)}</link>"
                f"<guid>{link}</guid><pubDate>Mon, 03 Mar 2025 09:00:00 GMT</pubDate></item>"
            )
            return web.Response(
                text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}'
                "</channel></rss>",
                content_type="application/rss+xml",
            )

        async def serve_page(request: web.Request) -> web.Response:
            return web.Response(text=page("Statement", statement), content_type="text/html")

        site.route(feed, serve_feed)
        site.route(link, serve_page)
    await site.start()
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {tmp_path / 'newsmon.db'}\n"
        f"feeds:\n  - url: {site.url('/kremlin.xml')}\n    voice: russia\n"
        f"  - url: {site.url('/wire.xml')}\n"
        "polling: {backfill: true}\nhttp: {allow_networks: [127.0.0.0/8]}\n",
        encoding="utf-8",
    )
    assert await run_daemon(load_config(config), once=True) == 0
    with sqlite3.connect(tmp_path / "newsmon.db") as db:
        found = db.execute(
            "SELECT d.actor, d.demand, i.url FROM deltas d JOIN items i ON i.id = d.item_id"
        ).fetchall()
    assert found == [("russia", "ukraine-nato-ban", site.url("/kremlin/1.html"))]


async def test_unknown_voice_is_refused_by_check(tmp_path: Path) -> None:
    """`newsmon check` names a feed whose voice is not an actor of the rules."""
    config = tmp_path / "newsmon.yaml"
    config.write_text("feeds:\n  - url: https://news.example/feed\n    voice: kremlin\n")
    code, out, _ = await run_cli("check", "--config", str(config))
    assert code == 1
    assert f"{config}:3: feeds[0].voice: no actor 'kremlin' in the rules" in out
