"""Polling 2,000 feeds: newsmon's real poll path against its limit and its peer, in one run.

    python bench/poll.py [--feeds 2000] [--hosts 50] [--changed 0.1] [--rounds 5]

A local aiohttp server (in its own process, so its CPU is not ours) serves the feeds on
127.0.0.1..127.0.0.N (one "host" per address: per-host limits apply as in real life). Every
feed has an ETag; after a first round that gives each client the validators, 90% of the feeds
answer 304 and 10% have a new entry on every request. Measured, after that priming round, in
rounds that take turns (five of each client by default; the figures are the median round's):

* newsmon: ``Service.poll`` → ``Pipeline.refresh_feed`` (HttpClient, conditional GET, parse in
  the process pool, SQLite file), exactly what the daemon does every tick;
* limit: a bare aiohttp loop making the same requests with the same headers and limits, and a
  bare lxml parse of the same changed bodies;
* peer: ``reader`` (SQLite-backed feed reader library; ``pip install -e '.[bench]'``)
  updating the same farm with 20 workers.

Prints polls/s, CPU seconds per 1,000 polls, parse ms per changed feed, peak RSS, and the
ratios. Targets (issue 3): newsmon >= 0.5 of the bare aiohttp rate; parse cost per changed
feed <= 0.5 of feedparser's default-options cost; peak RSS < 150 MB for 2,000 feeds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
from aiohttp import web
from lxml import etree

from monitor.config import Config
from monitor.logs import configure_logging
from monitor.pipeline import Pipeline
from monitor.pool import CpuPool
from monitor.rulebook import bundled_rules_dir, load_rules
from monitor.service import Service
from monitor.sources.feeds import parse_feed
from monitor.sources.http import HttpClient, HttpLimits
from monitor.sources.prepass import pre_parse
from monitor.sources.schedule import PollPolicy
from monitor.store import Store

ITEMS = 30
PARAGRAPH = (
    "Officials met on the quay on Tuesday to discuss the ferry timetable, the harbour "
    "dues and the repairs to the north breakwater, which storms damaged last winter. "
) * 3
T0 = datetime(2025, 3, 3, tzinfo=UTC)


# -- the farm (runs in its own process) ------------------------------------------------------


def feed_body(feed: int, version: int) -> bytes:
    """An RSS feed of ITEMS entries, written for this benchmark; ``version`` adds new ones."""
    items = []
    for n in range(version, version + ITEMS):
        when = format_datetime(T0 + timedelta(minutes=10 * n))
        items.append(
            f"<item><title>Harbour note {feed}-{n}</title>"
            f"<link>https://host{feed % 97}.example/notes/{feed}/{n}.html?utm_source=rss</link>"
            f"<guid isPermaLink='false'>note-{feed}-{n}</guid><pubDate>{when}</pubDate>"
            f"<description>&lt;p&gt;{PARAGRAPH}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Harbour feed {feed}</title><link>https://host{feed % 97}.example/</link>"
        f"<description>Bench feed</description>{''.join(reversed(items))}</channel></rss>"
    ).encode()


def serve(hosts: list[str], port: int, changed_every: int, ready: Any) -> None:
    versions: dict[int, int] = {}

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        changes = number % changed_every == 0
        version = versions.get(number, 0)
        if changes and "If-None-Match" in request.headers:
            version += 1  # a new entry on every conditional poll of a changing feed
            versions[number] = version
        etag = f'"{number}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=feed_body(number, version),
            content_type="application/rss+xml",
            headers={"ETag": etag},
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", feed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in hosts:
            await web.TCPSite(runner, host, port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the three clients ------------------------------------------------------------------------


async def newsmon_round(service: Service) -> None:
    await service.poll(all_feeds=True)


async def bare_round(
    session: aiohttp.ClientSession, urls: list[str], etags: dict[str, str]
) -> list[bytes]:
    """The limit: the same requests with the same headers and connection limits, no more."""
    changed: list[bytes] = []

    async def one(url: str) -> None:
        headers = {"If-None-Match": etags[url]} if url in etags else {}
        async with session.get(url, headers=headers) as response:
            body = await response.read()
            if "ETag" in response.headers:
                etags[url] = response.headers["ETag"]
            if response.status == 200:
                changed.append(body)

    await asyncio.gather(*(one(u) for u in urls))
    return changed


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pool_cpu(pool: CpuPool) -> float:
    """CPU seconds the pool's live worker processes have used so far (from /proc)."""
    executor = pool._executor
    if executor is None:
        return 0.0
    total = 0.0
    for pid in list(executor._processes):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def per_feed_ms(parse: Callable[[bytes], object], bodies: list[bytes]) -> float:
    started = time.process_time()
    for body in bodies:
        parse(body)
    return (time.process_time() - started) / max(1, len(bodies)) * 1000


def newsmon_parse_changed(body: bytes, base: str) -> object:
    """What newsmon does with a changed feed that has one new entry: the pre-pass, then
    feedparser on the unknown entry alone."""
    everything = pre_parse(body)
    assert everything is not None
    known = frozenset(everything.entry_ids.split()[1:])  # all but one entry seen before
    pre = pre_parse(body, known)
    assert pre is not None and pre.reduced is not None
    return parse_feed(pre.reduced, base, "application/xml")


def feedparser_default(body: bytes) -> object:
    return feedparser.parse(io.BytesIO(body), response_headers={"content-type": "application/xml"})


def bare_lxml(body: bytes) -> object:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser).findall(".//item")


def reader_rounds(urls: list[str], workdir: Path, workers: int) -> tuple[float, float] | None:
    """The peer: reader's update_feeds over the same farm (prime, then measured round)."""
    try:
        from reader import make_reader
    except ImportError:
        print("reader not installed (pip install -e '.[bench]'): peer skipped")
        return None
    reader = make_reader(str(workdir / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)
    reader.update_feeds(workers=workers, scheduled=False)
    started, cpu_before = time.perf_counter(), time.process_time()
    reader.update_feeds(workers=workers, scheduled=False)
    wall, spent = time.perf_counter() - started, time.process_time() - cpu_before
    reader.close()
    return wall, spent


async def run(args: argparse.Namespace) -> None:
    hosts = [f"127.0.0.{i + 1}" for i in range(args.hosts)]
    with tempfile.TemporaryDirectory() as tmp:
        port = 18000 + int(time.time()) % 1000
        spawn = multiprocessing.get_context("spawn")
        ready = spawn.Event()
        server = spawn.Process(
            target=serve, args=(hosts, port, round(1 / args.changed), ready), daemon=True
        )
        server.start()
        ready.wait(30)
        urls = [f"http://{hosts[i % len(hosts)]}:{port}/feed/{i}.xml" for i in range(args.feeds)]
        limits = HttpLimits(total=args.concurrency, per_host=2)
        n = len(urls)

        # newsmon through the daemon's own poll, and the limit: bare aiohttp over the same farm
        # with the same requests and limits. Each keeps its connections from its priming round;
        # their measured rounds take turns, so that the machine's drift weighs on both alike.
        store = await Store.open(Path(tmp) / "newsmon.db")
        await store.sync_feeds((u, "", 300.0, None) for u in urls)
        pool = CpuPool()
        connector = aiohttp.TCPConnector(limit=limits.total, limit_per_host=limits.per_host)
        rounds: list[tuple[float, float, float, float, float]] = []
        etags: dict[str, str] = {}
        async with HttpClient(limits) as http, aiohttp.ClientSession(connector=connector) as bare:
            pipeline = Pipeline(
                store,
                load_rules([bundled_rules_dir()]),
                pool,
                http,
                lambda d: [],
                polling=PollPolicy(),
            )
            service = Service(Config(), pipeline, {}, stop=asyncio.Event())
            await newsmon_round(service)  # prime: validators, backlog
            await bare_round(bare, urls, etags)
            if args.profile:  # a round of its own: the profiler slows what it watches
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
                await newsmon_round(service)
                profiler.disable()
                profiler.dump_stats(args.profile)
            for _ in range(args.rounds):
                cpu0, child0, started = cpu(), pool_cpu(pool), time.perf_counter()
                await newsmon_round(service)
                wall, spent = time.perf_counter() - started, cpu() - cpu0
                workers = pool_cpu(pool) - child0
                cpu0, started = cpu(), time.perf_counter()
                changed_bodies = await bare_round(bare, urls, etags)
                rounds.append((wall, spent, workers, time.perf_counter() - started, cpu() - cpu0))
        pool.close()
        await store.close()
        newsmon_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        # parse cost per changed feed, on the changed bodies of that round
        base = urls[0]
        newsmon_parse = per_feed_ms(lambda b: newsmon_parse_changed(b, base), changed_bodies)
        full_parse = per_feed_ms(lambda b: parse_feed(b, base), changed_bodies)
        default_parse = per_feed_ms(feedparser_default, changed_bodies)
        lxml_parse = per_feed_ms(bare_lxml, changed_bodies)

        peer = reader_rounds(urls, Path(tmp), args.concurrency)
        server.terminate()
        server.join()

    # The round whose ratio is the median: its own figures, not a mix of rounds.
    ratios = [b / w for w, _, _, b, _ in rounds]
    newsmon_wall, newsmon_cpu, workers_cpu, bare_wall, bare_cpu = rounds[
        ratios.index(statistics.median_low(ratios))
    ]
    rate, bare_rate = n / newsmon_wall, n / bare_wall
    total_cpu = newsmon_cpu + workers_cpu
    print(f"{n} feeds on {len(hosts)} hosts, {len(changed_bodies)} changed in each measured round")
    print(
        f"{len(rounds)} measured rounds each, taking turns; newsmon/bare by round: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + "; the median round:"
    )
    print(f"{'':<34} {'polls/s':>9} {'CPU s/1000':>11} {'ratio':>7}")
    print(f"{'bare aiohttp (limit)':<34} {bare_rate:>9.0f} {bare_cpu / n * 1000:>11.2f} {1:>7.2f}")
    print(
        f"{'newsmon (daemon poll path)':<34} {rate:>9.0f} {total_cpu / n * 1000:>11.2f} "
        f"{rate / bare_rate:>7.2f}   (loop {newsmon_cpu:.2f} s + pool {workers_cpu:.2f} s)"
    )
    if peer:
        wall, spent = peer
        print(
            f"{'reader (peer)':<34} {n / wall:>9.0f} {spent / n * 1000:>11.2f} "
            f"{n / wall / bare_rate:>7.2f}   newsmon/reader: {rate / (n / wall):.2f}x"
        )
    print(
        f"parse ms per changed feed: newsmon {newsmon_parse:.2f} (pre-pass, then feedparser on "
        f"the new entry only), newsmon full parse {full_parse:.2f}, feedparser defaults "
        f"{default_parse:.2f}, bare lxml {lxml_parse:.2f}"
    )
    print(
        f"  newsmon/feedparser-default {newsmon_parse / default_parse:.2f} (target <= 0.5); "
        f"full/feedparser-default {full_parse / default_parse:.2f}; "
        f"newsmon/lxml {newsmon_parse / lxml_parse:.1f}"
    )
    print(f"peak RSS of the daemon process: {newsmon_rss:.0f} MB (target < 150 MB)")
    print(f"newsmon/bare aiohttp: {rate / bare_rate:.2f} (target >= 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds of each client")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one more newsmon round")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    # The daemon's own logging, JSON at info level as in production, into the void.
    with open("/dev/null", "w") as void:
        configure_logging(json=True, stream=void)
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
