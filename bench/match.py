"""Matching speed against extraction speed, on the real pages and news texts of ../shared.

    python bench/match.py [--shared ../shared] [--pages 120] [--texts 1000] [--repeat 3]

For every article page (HTML with ground truth in ../shared/corpora/articles_html) it times
trafilatura's extraction as the daemon runs it (monitor.extract.extract_text), then, right
after, matching the extracted text with the bundled rules and with synthetic rule sets of
1,000 actors (3,000 aliases) and 10,000 demand phrases: page by page, so that a burst of load
from the machine's other tenants weighs on both sides of each ratio alike. It also matches
the news texts of ../shared/corpora/news. It prints microseconds per article, the ratios to
extraction, and the time to load and compile the synthetic rules: the targets are matching
at most 5% of extraction time with 10,000 phrases, and compiling 10,000 phrases in under a
second.

The 10,000 phrases come in two shapes. "Pack-shaped" demands are written like the bundled
ones: two phrases that say the demand alone ("non-expansion", "denazification") and two
groups of four that must come near each other (an action near its object). "Flat" demands
are any one of ten phrases, random corpus words among them: a worst case that makes about
30 findings a page where real rules make none to a few, so it mostly measures the weighing
of voices (whose cost follows the findings, not the phrases).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from monitor.errors import ExtractError
from monitor.extract import extract_text, warm_up
from monitor.match import match
from monitor.rulebook import RuleSet, bundled_rules_dir, load_rules
from monitor.rulebook.compile import build_matcher
from monitor.rulebook.schema import AnyPattern
from monitor.rulebook.text import phrase_terms

ROOT = Path(__file__).resolve().parent.parent


def pages(corpora: Path, limit: int) -> Iterator[tuple[str, bytes]]:
    """(url, html) of the article pages listed in the manifest, in manifest order."""
    manifest = corpora / "articles_html" / "MANIFEST.jsonl"
    count = 0
    for line in manifest.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        name = row["file"]
        if not name.endswith((".html", ".htm", ".html.gz")) or "expected" in name:
            continue
        path = corpora / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield row.get("url") or name, gzip.decompress(data) if name.endswith(".gz") else data
        count += 1
        if count >= limit:
            return


def news_texts(corpora: Path, limit: int) -> list[str]:
    """The longest ``limit`` texts of the news corpora (press releases, articles, RSS)."""
    texts = []
    for path in sorted((corpora / "news").glob("*.jsonl")):
        if path.name.startswith("labeled"):
            continue
        with path.open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines]
    return sorted(texts, key=len, reverse=True)[:limit]


def synthetic_rules(
    folder: Path, texts: list[str], *, skip: int = 1000, seed: int = 7, flat: bool = True
) -> tuple[Path, dict[str, list[str]], dict[str, AnyPattern]]:
    """Write 1,000 actors (3 aliases each) and 1,000 demands (10 phrases each) as rule files,
    drawn from the corpus so that they occur in it: aliases are names (words capitalised in
    mid-sentence), phrases are other words, less the corpus's ``skip`` most frequent (no rule
    writer makes a phrase of "the", "said" or "president")."""
    rng = random.Random(seed)
    sample = texts[:300]
    counts = Counter(w.casefold() for t in sample for w in re.findall(r"[A-Za-z]{3,}", t))
    common = {w for w, _ in counts.most_common(skip)}
    capitalised = {
        w.casefold() for t in sample for w in re.findall(r"(?<=[a-z,] )[A-Z][a-z]{2,}", t)
    }
    names = sorted(capitalised - common)
    words = sorted(set(counts) - common - capitalised)
    seen: set[tuple[str, ...]] = set()

    def fresh(n: int, pool: list[str]) -> str:
        while True:
            phrase = " ".join(rng.choice(pool) for _ in range(n))
            if phrase_terms(phrase) not in seen:  # as the loader compares them
                seen.add(phrase_terms(phrase))
                return phrase

    actors = [
        {
            "id": f"actor-{i}",
            "name": f"Actor {i}",
            "aliases": [fresh(rng.randint(1, 2), names).title() for _ in range(3)],
        }
        for i in range(1000)
    ]
    demands = []
    for i in range(1000):
        phrases = [fresh(rng.randint(1, 4), words) for _ in range(10)]
        # Flat: any one phrase. Pack-shaped: two phrases alone, or two groups of four near.
        near = {"all": [{"any": phrases[2:6]}, {"any": phrases[6:]}], "near": 8}
        pattern = {"any": phrases if flat else [*phrases[:2], near]}
        demands.append(
            {"id": f"demand-{i}", "title": f"Demand {i}", "severity": "medium", "match": pattern}
        )
    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: the loader reads it with the same safe loader and schema.
    (folder / "actors.yaml").write_text(json.dumps({"actors": actors}), encoding="utf-8")
    (folder / "demands.yaml").write_text(json.dumps({"demands": demands}), encoding="utf-8")
    aliases = {a["id"]: a["aliases"] for a in actors}
    patterns = {d["id"]: AnyPattern.model_validate(d["match"]) for d in demands}
    return folder, aliases, patterns


def per_item(func: Callable[[str], object], items: list[str], repeat: int) -> list[float]:
    """Seconds per item: the best of ``repeat`` runs of each (the least disturbed)."""
    times = []
    for item in items:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            func(item)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return times


def summary(times: list[float]) -> str:
    p90 = statistics.quantiles(times, n=10)[8] if len(times) > 1 else times[0]
    mean, median = statistics.fmean(times), statistics.median(times)
    return f"mean {mean * 1e6:9.0f} µs  median {median * 1e6:9.0f}  p90 {p90 * 1e6:9.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--pages", type=int, default=120, help="article pages to extract")
    parser.add_argument("--texts", type=int, default=1000, help="news texts to match")
    parser.add_argument("--repeat", type=int, default=3, help="runs per item, best kept")
    parser.add_argument(
        "--skip-common",
        type=int,
        default=1000,
        metavar="N",
        help="synthetic phrases use no word among the corpus's N commonest (default 1000)",
    )
    args = parser.parse_args()
    corpora = args.shared / "corpora"
    if not corpora.is_dir():
        print(f"no corpora at {corpora}", file=sys.stderr)
        return 2

    bundled = load_rules([bundled_rules_dir()])
    texts = news_texts(corpora, args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        folder, aliases, patterns = synthetic_rules(Path(tmp), texts, skip=args.skip_common)
        start = time.perf_counter()
        flat = load_rules([folder])
        load_s = time.perf_counter() - start
        folder, _, _ = synthetic_rules(Path(tmp) / "pack", texts, skip=args.skip_common, flat=False)
        pack = load_rules([folder])
    # What a reload spends on the trie alone (the load above adds YAML and validation).
    start = time.perf_counter()
    build_matcher(aliases, patterns, bundled.cues)
    compile_s = time.perf_counter() - start

    def with_rules(rules: RuleSet) -> Callable[[str], object]:
        return lambda text: match(text, rules)

    on_pages = [
        ("pages: match, bundled rules", with_rules(bundled)),
        ("pages: match, 10,000 pack-shaped", with_rules(pack)),
        ("pages: match, 10,000 flat", with_rules(flat)),
        ("pages: scan only, 10,000", flat.matcher.scan),
    ]
    warm_up()
    extracted: list[str] = []
    extract_times: list[float] = []
    page_times: dict[str, list[float]] = {label: [] for label, _ in on_pages}
    # Page by page, each page matched right after it is extracted: a burst of load from the
    # machine's other tenants then weighs on both sides of the ratio alike.
    for url, html in pages(corpora, args.pages):
        best = float("inf")
        text = ""
        for _ in range(args.repeat):
            start = time.perf_counter()
            try:
                text = extract_text(html, url)
            except ExtractError:
                text = ""
            best = min(best, time.perf_counter() - start)
        if text:
            extracted.append(text)
            extract_times.append(best)
            for label, func in on_pages:
                page_times[label] += per_item(func, [text], args.repeat)

    rows = [
        ("pages: trafilatura extraction", extract_times),
        *page_times.items(),
        ("news:  match, bundled rules", per_item(with_rules(bundled), texts, args.repeat)),
        ("news:  match, 10,000 pack-shaped", per_item(with_rules(pack), texts, args.repeat)),
        ("news:  match, 10,000 flat", per_item(with_rules(flat), texts, args.repeat)),
    ]
    sets = (("bundled", bundled), ("pack-shaped", pack), ("flat", flat))
    chars = statistics.fmean(len(t) for t in extracted)
    print(f"{len(extracted)} pages extracted (mean {chars:,.0f} characters of text); ", end="")
    print(f"{len(texts)} news texts (mean {statistics.fmean(len(t) for t in texts):,.0f})")
    print(f"bundled rules: {len(bundled.demands)} demands, {len(bundled.actors)} actors")
    print(f"synthetic rules: {len(flat.demands):,} demands of 10 phrases, ", end="")
    print(f"{len(flat.actors):,} actors of 3 aliases")
    for name, rules in sets:
        hits = statistics.fmean(
            sum(len(spans) for s in rules.matcher.scan(t).sentences for spans in s.hits.values())
            for t in extracted
        )
        found = statistics.fmean(len(match(t, rules)) for t in extracted)
        print(f"  {name:<12} {hits:4.0f} demand phrase hits, {found:5.1f} findings per page")
    print()
    for label, times in rows:
        print(f"{label:<34} {summary(times)}")
    print()
    # Page by page in the same run, so the machine's noise weighs on both sides alike.
    for label, times in rows[1:5]:
        mean = statistics.fmean(times) / statistics.fmean(extract_times)
        median = statistics.median(m / e for m, e in zip(times, extract_times, strict=True))
        print(f"{label:<34} {mean:6.1%} of extraction time (median page {median:.1%})")
    weighing = statistics.fmean(rows[3][1]) - statistics.fmean(rows[4][1])
    share = weighing / statistics.fmean(extract_times)
    print(f"{'pages: weighing only, flat':<34} {share:6.1%} of extraction time (match - scan)")
    print("target: matching with 10,000 phrases at most 5% of extraction time")
    print("(scan only: tokens, sentences, and the actors and cues of each sentence;")
    print(" weighing: monitor.match finding the demand phrases of the sentences with a cue or")
    print(" context, and choosing the voice of each finding, on the scan's output)")
    print()
    print(f"load 10,000 phrases (YAML, validation, compile): {load_s:.2f} s")
    print(f"compile 10,000 phrases + 3,000 aliases:          {compile_s:.2f} s (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
