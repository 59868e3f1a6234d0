"""Reading the history from the command line: `newsmon positions`, `newsmon events` filters
and CSV, `newsmon timeline` on the terminal and into SVG, HTML and PNG files."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.conftest import REPO

NEWSMON = str(Path(sys.executable).parent / "newsmon")

ARTICLES = [
    {
        "url": "https://news.example/1",
        "title": "Moscow sets terms",
        "published": "2025-03-01T09:00:00Z",
        "source": "Wire",
        "text": "Moscow demands that Ukraine never join NATO, the Kremlin said on Monday.",
    },
    {
        "url": "https://news.example/2",
        "title": "Kyiv answers",
        "published": "2025-03-02T09:00:00Z",
        "source": "Daily",
        "text": "Kyiv rejected Russia's demand to bar Ukraine from NATO. Russia insists that "
        "any deal must address the root causes of the conflict.",
    },
    {
        "url": "https://news.example/3",
        "title": "Terms again",
        "published": "2025-03-20T09:00:00Z",
        "source": "Daily",
        "text": "Putin insisted again that Ukraine must never join NATO, his spokesman said.",
    },
    {
        # The first story again, in another outlet: corroboration, not a new delta.
        "url": "https://other.example/1",
        "title": "Moscow sets terms (Wire)",
        "published": "2025-03-01T11:00:00Z",
        "source": "Other",
        "text": "MOSCOW (Wire) - Moscow demands that Ukraine never join NATO, the Kremlin said "
        "on Monday.",
    },
    {
        "url": "https://news.example/4",
        "title": "Grain",
        "published": "2025-03-21T09:00:00Z",
        "source": "Daily",
        "text": "The Kremlin demands a safe corridor for grain ships leaving Black Sea ports.",
    },
]


def newsmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the replay of ARTICLES."""
    where = tmp_path_factory.mktemp("cli")
    source = where / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    result = newsmon("replay", str(source), "--db", str(where / "n.db"))
    assert result.returncode == 0, result.stderr
    return where / "n.db"


class TestPositions:
    def test_json_lists_each_pair_with_counts_and_evidence(self, db: Path) -> None:
        """Russia's NATO-ban position: first and last seen, three articles (Kyiv's rejection
        names Russia's demand; the wire copy is no article of its own), three sources (the
        copy's outlet counts), and the sentence that opened it."""
        result = newsmon("positions", "--db", str(db), "--actor", "russia", "--json")
        assert result.returncode == 0, result.stderr
        rows = {r["demand"]: r for r in map(json.loads, result.stdout.splitlines())}
        ban = rows["ukraine-nato-ban"]
        assert (ban["first_seen"][:10], ban["last_seen"][:10]) == ("2025-03-01", "2025-03-20")
        assert (ban["articles"], ban["sources"], ban["last_stance"]) == (3, 3, "demands")
        assert ban["first_url"] == "https://news.example/1"
        assert ban["first_sentence"].startswith("Moscow demands")
        assert {r["actor"] for r in rows.values()} == {"russia"}

    def test_demand_filter_and_csv(self, db: Path) -> None:
        """--demand keeps one demand; --csv has a header and a row per position."""
        result = newsmon("positions", "--db", str(db), "--demand", "ukraine-nato-ban", "--csv")
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert sorted((r["actor"], r["last_stance"]) for r in rows) == [
            ("russia", "demands"),
            ("ukraine", "rejects"),
        ]

    def test_text_shows_unrecognized_conditions(self, db: Path) -> None:
        """The terminal table ends with the open unknown conditions and their count."""
        result = newsmon("positions", "--db", str(db))
        assert "unrecognized conditions (open):" in result.stdout
        assert "safe corridor for grain ships" in result.stdout

    def test_text_shows_first_and_last_evidence(self, db: Path) -> None:
        """The terminal view, like --json, gives the sentence and link of the first and of
        the last time a position was seen (the last only when it is another)."""
        rows = newsmon("positions", "--db", str(db), "--actor", "russia", "--json").stdout
        ban = next(
            r for r in map(json.loads, rows.splitlines()) if r["demand"] == "ukraine-nato-ban"
        )
        assert ban["last_url"] != ban["first_url"]
        text = newsmon("positions", "--db", str(db), "--actor", "russia").stdout
        assert f"    first: “{ban['first_sentence']}” {ban['first_url']}" in text
        assert f"    last:  “{ban['last_sentence']}” {ban['last_url']}" in text

    def test_no_database_is_an_error(self, tmp_path: Path) -> None:
        """A missing database says so and exits 1."""
        result = newsmon("positions", "--db", str(tmp_path / "none.db"))
        assert result.returncode == 1 and "no database" in result.stderr


class TestUnknown:
    def test_list_dismiss_and_reopen(self, tmp_path: Path, db: Path) -> None:
        """`newsmon unknown` lists the open items; `dismiss` hides one (`--all` still shows
        it, with its state); `reopen` brings it back; an unknown id exits 1."""
        copy = tmp_path / "n.db"
        copy.write_bytes(db.read_bytes())
        listed = newsmon("unknown", "--db", str(copy), "--json")
        assert listed.returncode == 0, listed.stderr
        (item,) = [json.loads(line) for line in listed.stdout.splitlines()]
        assert (item["actor"], item["state"], item["articles"]) == ("russia", "open", 1)
        assert "safe corridor for grain ships" in item["sentence"]
        # The words as written ("ships", "leaving"), not the stems grouping compares.
        assert {"ships", "leaving"} <= set(item["words"]), item["words"]

        # --db before the action holds too: it must not fall back to the config's database.
        dismissed = newsmon("unknown", "--db", str(copy), "dismiss", str(item["id"]))
        assert (dismissed.returncode, dismissed.stdout) == (0, f"#{item['id']} dismissed\n")
        assert newsmon("unknown", "--db", str(copy)).stdout == "no unrecognized conditions open\n"
        everything = newsmon("unknown", "--all", "--db", str(copy)).stdout
        assert f"#{item['id']} russia:" in everything and "[dismissed]" in everything

        assert newsmon("unknown", "reopen", str(item["id"]), "--db", str(copy)).returncode == 0
        assert f"#{item['id']} russia:" in newsmon("unknown", "--db", str(copy)).stdout
        missing = newsmon("unknown", "close", "4242", "--db", str(copy))
        assert missing.returncode == 1 and "no unrecognized condition #4242" in missing.stderr


class TestEvents:
    def test_filters_by_actor_demand_and_kind(self, db: Path) -> None:
        """--actor, --demand and --kind each narrow the log."""

        def kinds(*args: str) -> list[tuple[str, str, str]]:
            out = newsmon("events", "--db", str(db), "--json", *args).stdout
            return [(e["actor"], e["demand"], e["kind"]) for e in map(json.loads, out.splitlines())]

        assert kinds("--actor", "ukraine") == [("ukraine", "ukraine-nato-ban", "demand_rejected")]
        assert kinds("--demand", "ukraine-nato-ban", "--actor", "russia") == [
            ("russia", "ukraine-nato-ban", "new_condition"),
            ("russia", "ukraine-nato-ban", "demand_repeated"),
            ("russia", "ukraine-nato-ban", "demand_resurfaced"),
        ]
        assert kinds("--kind", "unrecognized_condition") == [
            ("russia", "unknown-1", "unrecognized_condition")
        ]

    def test_csv_carries_sentence_and_link(self, db: Path) -> None:
        """--csv: a header, then each delta with its evidence sentence and link."""
        result = newsmon("events", "--db", str(db), "--csv", "--kind", "new_condition")
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [(r["demand"], r["url"]) for r in rows] == [
            ("ukraine-nato-ban", "https://news.example/1"),
            ("root-causes", "https://news.example/2"),
        ]
        assert rows[0]["sentence"].startswith("Moscow demands that Ukraine never join NATO")

    def test_copies_are_shown_as_carried(self, db: Path) -> None:
        """The first delta says how many articles carried it; the copy has no line."""
        result = newsmon("events", "--db", str(db), "--kind", "new_condition")
        assert "(carried by 2 articles)" in result.stdout
        assert "other.example" not in result.stdout

    def test_unknown_kind_is_a_usage_error(self, db: Path) -> None:
        """A kind that does not exist is refused by the parser."""
        assert newsmon("events", "--db", str(db), "--kind", "new_thing").returncode == 2


class TestTimeline:
    def test_terminal_picture(self, db: Path) -> None:
        """One row per demand of the actor, the first appearance marked '*'."""
        result = newsmon("timeline", "--db", str(db), "--actor", "russia")
        assert result.returncode == 0, result.stderr
        rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
        assert set(rows) == {"ukraine-nato-ban", "root-causes"}
        assert rows["ukraine-nato-ban"].split()[1].startswith("*")
        assert rows["ukraine-nato-ban"].split()[1].count("o") == 2

    @pytest.mark.parametrize("suffix", [".svg", ".html"])
    def test_svg_and_html_files(self, db: Path, tmp_path: Path, suffix: str) -> None:
        """A file with a mark per article and the first appearance ringed."""
        out = tmp_path / f"russia{suffix}"
        result = newsmon("timeline", "--db", str(db), "--actor", "russia", "--out", str(out))
        assert result.returncode == 0, result.stderr
        drawing = out.read_text()
        assert drawing.count("<circle") == 4
        assert drawing.count('stroke="#000"') == 2  # two demands, each first seen once
        assert "ukraine-nato-ban" in drawing

    def test_png_needs_matplotlib(self, db: Path, tmp_path: Path) -> None:
        """PNG is drawn with matplotlib when installed; without it, a clear message."""
        out = tmp_path / "russia.png"
        result = newsmon("timeline", "--db", str(db), "--actor", "russia", "--out", str(out))
        if importlib.util.find_spec("matplotlib") is None:
            assert result.returncode == 1
            assert "pip install 'newsmon[plot]'" in result.stderr
        else:
            assert result.returncode == 0, result.stderr
            assert out.read_bytes().startswith(b"\x89PNG")

    def test_other_suffix_is_refused(self, db: Path, tmp_path: Path) -> None:
        """--out must be .svg, .html or .png."""
        out = str(tmp_path / "russia.pdf")
        assert (
            newsmon("timeline", "--db", str(db), "--actor", "russia", "--out", out).returncode == 2
        )


class TestResurfaceWindows:
    def test_check_refuses_a_window_for_an_unknown_demand(self, tmp_path: Path) -> None:
        """`newsmon check` names a per-demand window whose demand no rule defines."""
        config = tmp_path / "newsmon.yaml"
        config.write_text("resurface_windows:\n  ceasefire: 3d\n  cease-fire: 3d\n")
        result = newsmon("check", "--config", str(config))
        assert result.returncode == 1
        (line,) = result.stdout.splitlines()
        assert line.startswith(
            f"{config}:3: resurface_windows.cease-fire: no demand 'cease-fire' in the rules "
            "(demands: ukraine-nato-ban, "
        )

    def test_config_windows_become_the_judging(self, tmp_path: Path) -> None:
        """The default and per-demand windows, as durations, reach the pipeline's judging."""
        config = tmp_path / "newsmon.yaml"
        config.write_text("resurface_window: 7d\nresurface_windows:\n  ceasefire: 36h\n")
        judging = load_config(config).judging()
        assert judging.window_for("ceasefire") == timedelta(hours=36)
        assert judging.window_for("ukraine-nato-ban") == timedelta(days=7)
