"""The daemon as systemd runs it: a real subprocess, the notify socket, reloads, SIGTERM,
and its /metrics and /healthz endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import shutil
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.rulebook import bundled_rules_dir
from tests.conftest import REPO
from tests.servers import LocalSite, free_port

NEWSMON = str(Path(sys.executable).parent / "newsmon")

GRAIN_RULE = """
demands:
  - id: grain-corridor
    title: Safe passage for grain ships
    description: Safe passage for grain shipments through the Black Sea.
    severity: medium
    match: {all: [grain, {any: [corridor, shipments, ships]}], near: 6}
    examples:
      match: [Moscow insists on guarantees for its grain shipments.]
      no_match: [Grain prices rose on Monday.]
"""

GRAIN_PAGE = (
    "<html><head><title>Grain talks</title></head><body><article><h1>Grain talks</h1>"
    "<p>The Kremlin demands a safe corridor for grain ships leaving Black Sea ports, officials "
    "said after a long day of talks in a neutral capital. Negotiators are expected to meet again "
    "next week to go over the details of any arrangement.</p><p>Shipping companies said they "
    "would wait for the outcome before sending vessels, and insurers declined to comment on the "
    "prospects for cover.</p></article></body></html>"
)


class Notifications:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET; collects what is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 4096)
            self.messages.append(data.decode())
            self.arrived.set()

    async def wait_for(self, line: str, *, after: int = 0) -> int:
        """Wait (30 s at most) until a message at index >= ``after`` has ``line``; its index."""
        deadline = time.monotonic() + 30.0
        while True:
            for i in range(after, len(self.messages)):
                if line in self.messages[i].splitlines():
                    return i
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {line!r} after message {after}: {self.messages}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[Notifications]:
    notes = Notifications(tmp_path / "notify.sock")
    yield notes
    notes.reader.cancel()
    notes.sock.close()


def serve_feed(site: LocalSite, gate: asyncio.Event | None = None) -> Callable[[str, str], None]:
    """A feed whose items the test adds while the daemon runs; returns ``add(name, html)``.

    A page added with empty html answers only once ``gate`` is set (a page that hangs). Items
    are dated when added, so they are news, not a new feed's backlog.
    """
    pages: dict[str, str] = {}
    published: dict[str, str] = {}

    def add(name: str, html: str) -> None:
        # Feed dates have whole seconds: dated in the second of a poll, an item could count as
        # older than the feed's first poll (backlog). A second ahead, it is always news.
        when = datetime.now(UTC) + timedelta(seconds=1)
        published[name] = email.utils.format_datetime(when, usegmt=True)
        pages[name] = html

    async def feed(request: web.Request) -> web.Response:
        items = "".join(
            f"<item><title>{name}</title><link>{site.url('/a/' + name)}</link>"
            f"<guid>{name}</guid><pubDate>{published[name]}</pubDate></item>"
            for name in pages
        )
        return web.Response(
            text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
            "</channel></rss>",
            content_type="application/rss+xml",
        )

    async def article(request: web.Request) -> web.Response:
        html = pages[request.match_info["name"]]
        if not html and gate is not None:
            await gate.wait()
        return web.Response(text=html or GRAIN_PAGE, content_type="text/html")

    site.route("/feed.xml", feed)
    site.route("/a/{name}", article)
    return add


async def start_daemon(
    config: Path, env: dict[str, str], log_path: Path
) -> asyncio.subprocess.Process:
    """`newsmon run` as systemd starts it; its log (stderr) goes to ``log_path``."""
    with log_path.open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            NEWSMON,
            "run",
            "--config",
            str(config),
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", **env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )


async def get(url: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        return response.status, await response.text()


async def test_daemon_under_systemd_notify_reload_and_stop(
    tmp_path: Path, site: LocalSite, notify: Notifications
) -> None:
    """READY and WATCHDOG are sent; SIGHUP applies a new rule (RELOADING, then READY) and keeps
    the old rules when the edit is broken; SIGTERM sends STOPPING and exits 0 within 25 s;
    /metrics and /healthz report what the run did."""
    add_page = serve_feed(site)

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410, text="gone")

    site.route("/gone.xml", gone)
    await site.start()
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    port = free_port()
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {tmp_path / 'n.db'}\nrules: [{rules}]\n"
        "poll_interval: 4s\npolling: {min_interval: 1s}\n"
        f"watch: false\n"
        f"feeds: [{site.url('/feed.xml')}]\nhttp: {{allow_networks: [127.0.0.0/8]}}\n"
        f"endpoint: {{port: {port}}}\n"
    )
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    log_path = tmp_path / "newsmon.log"
    proc = await start_daemon(config, env, log_path)
    try:
        ready = await notify.wait_for("READY=1")
        await notify.wait_for("WATCHDOG=1", after=ready)
        base = f"http://127.0.0.1:{port}"

        async def healthy() -> bool:
            return (await get(base + "/healthz"))[0] == 200

        deadline = time.monotonic() + 30
        while not await healthy():
            assert time.monotonic() < deadline, await get(base + "/healthz")
            await asyncio.sleep(0.3)

        # A grain demand that no rule knows yet: only an unrecognized condition, for ops.
        add_page("grain-1", GRAIN_PAGE)
        deadline = time.monotonic() + 30
        while 'newsmon_items{state="done"} 1.0' not in (
            metrics := (await get(base + "/metrics"))[1]
        ):
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.5)
        kinds = [line for line in metrics.splitlines() if line.startswith("newsmon_deltas_total{")]
        assert kinds == ['newsmon_deltas_total{kind="unrecognized_condition"} 1.0']
        health = [line for line in metrics.splitlines() if line.startswith("newsmon_feeds{")]
        assert health == [
            'newsmon_feeds{health="ok"} 1.0',
            'newsmon_feeds{health="erring"} 0.0',
            'newsmon_feeds{health="failing"} 0.0',
        ]

        # The new rule, then SIGHUP: RELOADING, READY, and the next article is matched.
        (rules / "grain.yaml").write_text(GRAIN_RULE)
        proc.send_signal(signal.SIGHUP)
        reloading = await notify.wait_for("RELOADING=1", after=ready + 1)
        await notify.wait_for("READY=1", after=reloading)
        add_page("grain-2", GRAIN_PAGE.replace("Grain talks", "Grain talks resume"))
        deadline = time.monotonic() + 30
        while 'newsmon_deltas_total{kind="new_condition"} 1.0' not in (
            metrics := (await get(base + "/metrics"))[1]
        ):
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.5)
        assert "newsmon_last_reload_success 1.0" in metrics
        version = next(
            line for line in metrics.splitlines() if line.startswith("newsmon_rules_info{")
        )

        # A broken edit: the reload is refused and the rules in force stay.
        (rules / "grain.yaml").write_text(GRAIN_RULE.replace("severity: medium", "severity: dire"))
        proc.send_signal(signal.SIGHUP)
        reloading = await notify.wait_for("RELOADING=1", after=reloading + 1)
        await notify.wait_for("READY=1", after=reloading)
        metrics = (await get(base + "/metrics"))[1]
        assert "newsmon_last_reload_success 0.0" in metrics
        assert version in metrics
        status = await status_of(tmp_path / "n.db")
        assert "  reload REFUSED " in status
        with sqlite3.connect(tmp_path / "n.db") as db:  # the ops notice names the bad file
            (subject,) = db.execute(
                "SELECT subject FROM ops_events WHERE kind = 'reload_failed'"
            ).fetchone()
        assert subject == str(rules / "grain.yaml")
        assert f" ago, the version above kept: {rules / 'grain.yaml'}:" in status

        # A key only a restart applies: said after the reload that read it, and after the
        # next one too, until the daemon restarts.
        # A key a reload applies comes with it: one failure is now failing, not erring.
        (rules / "grain.yaml").write_text(GRAIN_RULE)
        config.write_text(
            config.read_text()
            .replace(
                "polling: {min_interval: 1s}",
                "polling: {min_interval: 1s, failures_before_alert: 1}",
            )
            .replace(
                f"feeds: [{site.url('/feed.xml')}]",
                f"feeds: [{site.url('/feed.xml')}, {site.url('/gone.xml')}]",
            )
            + "workers: 3\n"
        )
        for _ in range(2):
            proc.send_signal(signal.SIGHUP)
            reloading = await notify.wait_for("RELOADING=1", after=reloading + 1)
            await notify.wait_for("READY=1", after=reloading)
            status = await status_of(tmp_path / "n.db")
            assert "REFUSED" not in status
            assert "  restart needed: workers (changed in the config" in status
        deadline = time.monotonic() + 30
        while 'newsmon_feeds{health="failing"} 1.0' not in (
            metrics := (await get(base + "/metrics"))[1]
        ):
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.5)

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await notify.wait_for("STOPPING=1", after=reloading)
        assert await asyncio.wait_for(proc.wait(), 25) == 0
        assert time.monotonic() - started < 25
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = log_path.read_text()
    assert '"event": "reload.failed"' in log
    assert '"trigger": "SIGHUP"' in log
    assert f"{rules / 'grain.yaml'}:" in log
    assert '"event": "reload.done"' in log
    assert log.count('"event": "reload.restart_needed"') == 2


async def status_of(db: Path) -> str:
    """What `newsmon status` prints for the database, run as ops run it."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "newsmon"),
        "status",
        "--db",
        str(db),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode()


async def test_rule_file_change_reloads_without_a_signal(
    tmp_path: Path, site: LocalSite, notify: Notifications
) -> None:
    """With `watch` on (the default), saving a rule file reloads the rules."""
    serve_feed(site)
    await site.start()
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {tmp_path / 'n.db'}\nrules: [{rules}]\n"
        "poll_interval: 4s\npolling: {min_interval: 1s}\n"
        f""
        f"feeds: [{site.url('/feed.xml')}]\nhttp: {{allow_networks: [127.0.0.0/8]}}\n"
    )
    log_path = tmp_path / "newsmon.log"
    proc = await start_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}, log_path)
    try:
        ready = await notify.wait_for("READY=1")
        await asyncio.sleep(1.0)  # the watcher starts with the loops
        (rules / "grain.yaml").write_text(GRAIN_RULE)
        reloading = await notify.wait_for("RELOADING=1", after=ready + 1)
        await notify.wait_for("READY=1", after=reloading)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 25) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = log_path.read_text()
    assert "demand:grain-corridor" in log
    assert '"trigger": "files changed"' in log  # not a signal: the log says so


async def test_second_sigterm_stops_at_once_and_returns_the_item(
    tmp_path: Path, site: LocalSite, notify: Notifications
) -> None:
    """A first SIGTERM waits for items in flight (up to stop_timeout); a second one stops at
    once, and the item in flight goes back to the queue."""
    release = asyncio.Event()
    add_page = serve_feed(site, gate=release)
    await site.start()
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {tmp_path / 'n.db'}\n"
        "poll_interval: 4s\npolling: {min_interval: 1s}\n"
        f"stop_timeout: 60s\n"
        f"feeds: [{site.url('/feed.xml')}]\n"
        "http: {allow_networks: [127.0.0.0/8], total_timeout: 120s}\n"
    )
    log_path = tmp_path / "newsmon.log"
    proc = await start_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}, log_path)
    try:
        await notify.wait_for("READY=1")
        deadline = time.monotonic() + 30
        while not site.requests:  # the first poll: a new feed's entries are its backlog
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        add_page("slow", "")
        while not any(path.startswith("/a/slow") for path, _ in site.requests):
            assert time.monotonic() < deadline, site.requests
            await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        await notify.wait_for("STOPPING=1")
        await asyncio.sleep(1.0)
        assert proc.returncode is None  # still waiting for the item in flight
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - started < 5
    finally:
        release.set()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    with sqlite3.connect(tmp_path / "n.db") as db:
        assert db.execute("SELECT state FROM items").fetchall() == [("pending",)]
