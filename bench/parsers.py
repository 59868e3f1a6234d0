"""Feed parsers on the shared corpus: cost, and whether they find the same entries.

    python bench/parsers.py [CORPUS_DIR]

Compares feedparser with the options newsmon uses (sanitize_html and resolve_relative_uris
off), feedparser with its defaults, fastfeedparser and feedparser-rs (``pip install -e
'.[bench]'``), and a bare lxml parse as the lower bound. For every file it records the entry
ids (id, else link) each parser finds; "same" counts files where a parser finds exactly
feedparser's ids, "fewer" files where it finds fewer (recovers less), "fails" files where it
raises although feedparser found entries. Times are summed over all files and per file on the
news-outlet snapshots (real-world sizes). Prints figures and ratios to newsmon's feedparser.
"""

from __future__ import annotations

import io
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feeds"


def ids_of(entries: Any) -> list[str]:
    out = []
    for entry in entries or []:
        get = entry.get if hasattr(entry, "get") else lambda k, e=entry: getattr(e, k, None)
        out.append(str(get("id") or get("link") or get("title") or ""))
    return out


def newsmon_feedparser(body: bytes) -> list[str]:
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    return ids_of(result.entries)


def default_feedparser(body: bytes) -> list[str]:
    headers = {"content-type": "application/xml"}
    result = feedparser.parse(io.BytesIO(body), response_headers=headers)
    return ids_of(result.entries)


def bare_lxml(body: bytes) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    root = etree.fromstring(body, parser)
    if root is None:
        return []
    return ["x"] * len(root.xpath("//*[local-name()='item' or local-name()='entry']"))


def parsers() -> dict[str, Callable[[bytes], list[str]]]:
    found: dict[str, Callable[[bytes], list[str]]] = {
        "feedparser (newsmon options)": newsmon_feedparser,
        "feedparser (defaults)": default_feedparser,
    }
    try:
        import fastfeedparser

        # bytes, never str: fastfeedparser fetches a str that looks like a URL.
        found["fastfeedparser"] = lambda body: ids_of(fastfeedparser.parse(body).get("entries"))
    except ImportError:
        print("fastfeedparser not installed: skipped")
    try:
        import feedparser_rs

        found["feedparser-rs"] = lambda body: ids_of(feedparser_rs.parse(body).entries)
    except ImportError:
        print("feedparser-rs not installed: skipped")
    found["bare lxml (lower bound)"] = bare_lxml
    return found


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".rdf")
    )
    bodies = [(p, p.read_bytes()) for p in files]
    news = {p for p, _ in bodies if "news_snapshots" in p.parts}
    print(f"{len(bodies)} XML feed files, {len(news)} news-outlet snapshots")
    reference: dict[Path, list[str]] = {}
    rows = []
    for name, parse in parsers().items():
        total = news_time = 0.0
        same = fewer = fails = more = 0
        for path, body in bodies:
            started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ids = parse(body)
                error = False
            except Exception:
                ids, error = [], True
            spent = time.perf_counter() - started
            total += spent
            if path in news:
                news_time += spent
            if name.startswith("feedparser (newsmon"):
                reference[path] = ids
                continue
            want = reference[path]
            if error and want:
                fails += 1
            elif sorted(ids) == sorted(want) or (name.startswith("bare") and len(ids) == len(want)):
                same += 1
            elif len(ids) < len(want):
                fewer += 1
            else:
                more += 1
        rows.append((name, total, news_time / max(1, len(news)) * 1000, same, fewer, more, fails))
    base_total, base_news = rows[0][1], rows[0][2]
    print(
        f"{'parser':<30} {'all files s':>11} {'news ms/feed':>12} {'ratio':>6} "
        f"{'same':>6} {'fewer':>6} {'differ':>6} {'fails':>6}"
    )
    for name, total, per_news, same, fewer, more, fails in rows:
        ratio = per_news / base_news if base_news else 0.0
        if name.startswith("feedparser (newsmon"):
            same, fewer, more, fails = len(bodies), 0, 0, 0
        print(
            f"{name:<30} {total:>11.2f} {per_news:>12.2f} {ratio:>6.2f} "
            f"{same:>6} {fewer:>6} {more:>6} {fails:>6}"
        )
    print(f"(ratio: news ms/feed against feedparser with newsmon's options; {base_total:.2f} s)")


if __name__ == "__main__":
    main()
