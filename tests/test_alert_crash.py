"""SIGKILL the daemon while 200 alerts are pending, restart it: every alert is delivered, and
the only duplicates are the messages that were in flight at the kill (at most one per channel)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from monitor.store import Store
from tests.alerting import finding, record, to
from tests.conftest import REPO
from tests.servers import Receiver

NEWSMON = str(Path(sys.executable).parent / "newsmon")
ALERTS = 200

EMPTY_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet wire</title>'
    "<link>http://127.0.0.1/</link><description>nothing</description></channel></rss>"
)


async def test_sigkill_with_200_pending_alerts_loses_none(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Kill -9 mid-delivery and restart: each of the 200 alerts arrives, and messages beyond
    200 are at most the one in flight on the channel when the process died."""
    db = tmp_path / "newsmon.db"
    store = await Store.open(db)
    for _ in range(ALERTS):
        await record(store, [finding()], to("hook", realert=0.0))
    await store.close()
    (tmp_path / "feed.xml").write_text(EMPTY_FEED, encoding="utf-8")
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {db}\n"
        "feeds: [feed.xml]\n"
        "channels:\n  hook: {type: webhook, url: {env: TEST_HOOK_URL}}\n"
        "alerts:\n  group_wait: 0s\n",
        encoding="utf-8",
    )
    env = {"TEST_HOOK_URL": receiver.url, "PATH": "/usr/bin:/bin"}
    receiver.delay = 0.01  # so that the kill lands mid-way

    daemon = await asyncio.create_subprocess_exec(
        NEWSMON,
        "run",
        "--config",
        str(config),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if len(receiver.posts) >= 40:
                break
            await asyncio.sleep(0.05)
        daemon.send_signal(signal.SIGKILL)
    finally:
        await daemon.wait()
    assert daemon.returncode == -signal.SIGKILL
    before = len(receiver.posts)
    assert 40 <= before < ALERTS

    again = await asyncio.create_subprocess_exec(
        NEWSMON,
        "run",
        "--once",
        "--config",
        str(config),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(again.communicate(), 120)
    assert again.returncode == 0, err.decode()

    keys = Counter(headers["Idempotency-Key"] for headers, _, _ in receiver.posts)
    assert len(keys) == ALERTS
    assert sum(keys.values()) - ALERTS <= 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall() == [
            ("sent", ALERTS)
        ]
