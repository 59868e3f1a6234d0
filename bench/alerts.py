"""Alert delivery benchmark: alerts per second through the outbox to a local webhook receiver,
and the latency from a delta's commit to its delivery (p50, p99).

    python bench/alerts.py [--alerts 1000] [--latency-alerts 200] [--skip-defaults]

Everything runs on 127.0.0.1 with a real SQLite file. The baseline, measured in the same run,
is bare aiohttp posts of the same JSON to the same receiver, one at a time (as the sender
sends on one channel): the ratio says what the outbox (claim, render, sign, mark sent) costs.
Latency is measured twice: with group_wait 0s (the machinery alone) and with the default
settings, where the 30 s gathering window is by design.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from monitor.alerts.outbox import Sender
from monitor.alerts.routing import Delivery, Router
from monitor.alerts.webhook import WebhookChannel, alert_payload
from monitor.config import AlertsConfig, Config, RouteConfig
from monitor.logs import configure_logging
from monitor.model import Article, Delta, Finding
from monitor.pipeline import Pipeline
from monitor.service import Service
from monitor.store import NewItem, Store

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
SENTENCE = "Moscow insists that Ukraine must never join NATO."


class Receiver:
    """The webhook receiver: when each idempotency key first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.posts = 0
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.posts += 1
        self.arrived.setdefault(request.headers.get("Idempotency-Key", ""), time.time())
        self.changed.set()
        return web.Response(text="ok")


async def start(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


async def record(store: Store, n: int, routes: object) -> float:
    """Record one article with one finding on its own pair; returns the commit time."""
    published = T0
    url = f"https://news.example/{n}"
    await store.add_items([NewItem(f"k{n}", url, f"S{n}", published, "Wire", "t", "text")], now=0)
    item = await store.claim_item(now=time.time() + 10**6)
    assert item is not None
    article = Article(url, f"S{n}", "t", published, "Wire")
    await store.record_article(
        item.id,
        article,
        [Finding(f"actor-{n}", "ukraine-nato-ban", "demands", SENTENCE, 0, len(SENTENCE))],
        published=published,
        routes=routes,
        names=lambda d: d,
        now=time.time(),
    )
    return time.time()


async def baseline(url: str, count: int) -> float:
    """Bare aiohttp posts of an alert's JSON, one at a time: posts per second."""
    delta = Delta("new_condition", "russia", "ukraine-nato-ban", "demands", SENTENCE, "u", "t", T0)
    body = json.dumps(alert_payload([delta], "k")).encode()
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for i in range(count):
            async with session.post(
                url, data=body, headers={"Idempotency-Key": f"b{i}"}
            ) as response:
                await response.read()
        return count / (time.perf_counter() - started)


async def throughput(url: str, count: int, work: Path) -> tuple[float, float]:
    """Alerts per second through record → outbox → sender → receiver."""
    store = await Store.open(work / "throughput.db")
    routes = lambda d: [Delivery("hook")]  # noqa: E731
    started = time.perf_counter()
    for n in range(count):
        await record(store, n, routes)
    recorded = count / (time.perf_counter() - started)
    channel = WebhookChannel("hook", url, hmac_key="bench-key")
    sender = Sender(store, {"hook": channel})
    started = time.perf_counter()
    sent = 0
    while sent < count:
        sent += await sender.deliver_due()
    rate = count / (time.perf_counter() - started)
    await channel.aclose()
    await store.close()
    return recorded, rate


async def latency(
    url: str, receiver: Receiver, count: int, work: Path, alerts: AlertsConfig, name: str
) -> list[float]:
    """Deltas committed at 20 a second while the daemon's sender loop runs: seconds from
    each commit to its arrival at the receiver."""
    store = await Store.open(work / f"latency-{name}.db")
    receiver.arrived.clear()  # each database numbers its alerts from 1
    channel = WebhookChannel("hook", url)
    config = Config(alerts=alerts)
    router = Router([RouteConfig(channels=["hook"])], alerts)
    pipeline = Pipeline(store, None, None, None, router)  # type: ignore[arg-type]
    stop = asyncio.Event()
    service = Service(config, pipeline, {"hook": channel}, stop=stop)
    loop = asyncio.create_task(service._sender())
    committed: dict[int, float] = {}
    for n in range(count):
        at = await record(store, n, router)
        service._alerts_ready.set()  # as a worker does after recording
        rows = await store._fetchall("SELECT max(group_id) FROM outbox")
        committed[int(rows[0][0])] = at
        await asyncio.sleep(0.05)
    deadline = time.time() + alerts.group_wait + 30
    keys = {f"newsmon-alert-{i}": t for i, t in committed.items()}
    while time.time() < deadline and not all(k in receiver.arrived for k in keys):
        receiver.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.changed.wait(), deadline - time.time())
    stop.set()
    service._alerts_ready.set()
    await loop
    await channel.aclose()
    await store.close()
    return [receiver.arrived[k] - t for k, t in keys.items() if k in receiver.arrived]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--latency-alerts", type=int, default=200)
    parser.add_argument("--skip-defaults", action="store_true", help="skip the 30 s run")
    args = parser.parse_args()
    configure_logging(level="error", json=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        receiver = Receiver()
        runner, url = await start(receiver)
        try:
            base = await baseline(url, args.alerts)
            recorded, rate = await throughput(url, args.alerts, work)
            print(f"baseline: bare aiohttp posts, one at a time   {base:8.0f} posts/s")
            print(f"store:    enqueue, claim, record an article   {recorded:8.0f} articles/s")
            print(
                f"outbox:   claim, sign, post, mark sent        {rate:8.0f} alerts/s"
                f"   ratio to baseline {rate / base:.2f}"
            )
            runs = [("group_wait 0s", AlertsConfig(group_wait=0.0))]
            if not args.skip_defaults:
                runs.append(("defaults (group_wait 30s)", AlertsConfig()))
            for name, alerts in runs:
                lat = await latency(url, receiver, args.latency_alerts, work, alerts, name)
                ms = [v * 1000 for v in lat]
                print(
                    f"latency, {name}: commit → delivery over {len(ms)} alerts at 20/s: "
                    f"p50 {pct(ms, 0.5):.1f} ms, p99 {pct(ms, 0.99):.1f} ms, "
                    f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms"
                )
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
