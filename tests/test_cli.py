"""The newsmon command line, run as users run it: the installed `newsmon` script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

NEWSMON = str(Path(sys.executable).parent / "newsmon")


def newsmon(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


class TestHelp:
    def test_every_command_is_documented(self) -> None:
        """`newsmon --help` lists each command, and each has its own --help."""
        top = newsmon("--help")
        assert top.returncode == 0
        for command in (
            "run",
            "check",
            "match",
            "replay",
            "events",
            "positions",
            "timeline",
            "status",
        ):
            assert command in top.stdout
            assert newsmon(command, "--help").returncode == 0

    def test_python_dash_m_works(self) -> None:
        """`python -m monitor` is the same command line."""
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and result.stdout.startswith("newsmon ")


class TestCheck:
    def test_bundled_rules_and_defaults_are_good(self) -> None:
        """The shipped rules and the embedded defaults pass, examples included."""
        result = newsmon("check")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("ok:")

    def test_secrets_only_the_service_has_are_noted_not_refused(self, tmp_path: Path) -> None:
        """Run from a shell, `check` cannot see the service's credentials or environment: it
        says which secrets it did not check and passes; reading commands ignore secrets."""
        config = tmp_path / "newsmon.yaml"
        config.write_text(
            f"database: {tmp_path / 'n.db'}\n"
            "channels:\n  desk: {type: slack, webhook_url: {file: slack-webhook}}\n"
            "  hook: {type: webhook, url: {env: NEWSMON_TEST_UNSET_HOOK}}\n",
            encoding="utf-8",
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("CREDENTIALS_DIRECTORY", "NEWSMON_TEST_UNSET_HOOK")
        }

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [NEWSMON, *args], capture_output=True, text=True, env=env, check=False
            )

        checked = run("check", "--config", str(config))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "channels.desk.webhook_url: not checked here: credential slack-webhook" in (
            checked.stderr
        )
        assert "channels.hook.url: not checked here: $NEWSMON_TEST_UNSET_HOOK" in checked.stderr
        replayed = run("replay", "/dev/null", "--db", str(tmp_path / "n.db"))
        assert replayed.returncode == 0, replayed.stderr
        status = run("status", "--config", str(config))
        assert status.returncode == 0 and "feeds     0 ok, 0 erring, 0 failing" in status.stdout
        # The daemon itself must have them: it refuses to start, naming the missing one.
        started = run("run", "--once", "--config", str(config))
        assert started.returncode == 1
        assert "channels.desk.webhook_url: cannot read secret file slack-webhook" in (
            started.stderr
        )

    def test_service_install_steps_give_a_config_that_passes(self, tmp_path: Path) -> None:
        """The README's service install, its config and rules steps run into a scratch root
        instead of /, then its own check command: the config it installs is good."""
        readme = (REPO / "README.md").read_text(encoding="utf-8")
        block = readme.split("## Run as a service", 1)[1].split("```sh\n", 1)[1].split("```")[0]
        steps = [line for line in block.splitlines() if "/etc/newsmon" in line and line[0] != "#"]
        assert [line.split()[0] for line in steps] == [
            "install",
            "install",
            "/opt/newsmon/venv/bin/newsmon",
        ]
        root = str(tmp_path) + "/etc/"
        for line in steps[:2]:
            subprocess.run(["bash", "-c", line.replace("/etc/", root)], cwd=REPO, check=True)
        check = steps[2].replace("/etc/", root).replace("/opt/newsmon/venv/bin/newsmon", NEWSMON)
        done = subprocess.run(["bash", "-c", check], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"rules {root}newsmon/rules: 5 actors, 16 demands; 4 feeds" in done.stdout

    def test_routes_naming_ids_the_rules_lack_are_refused(self, tmp_path: Path) -> None:
        """A route whose actor or demand is misspelt would never match, silently: `check`
        refuses it with its line, and says the id meant when only its case is wrong ("Russia",
        as alerts display it)."""
        config = tmp_path / "newsmon.yaml"
        config.write_text(
            "routes:\n"
            "  - actors: [rusia]\n"
            "    demands: [ceasefire, ceasfire]\n"
            "    channels: [terminal]\n"
            "  - actors: [Russia]\n"
            "    channels: [terminal]\n",
            encoding="utf-8",
        )
        done = newsmon("check", "--config", str(config))
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        assert lines[0].startswith(
            f"{config}:2: routes[0].actors[0]: no actor 'rusia' in the rules (actors: russia, "
        )
        assert lines[1].startswith(
            f"{config}:3: routes[0].demands[1]: no demand 'ceasfire' in the rules (demands: "
        )
        assert lines[2] == (
            f"{config}:5: routes[1].actors[0]: no actor 'Russia' in the rules: ids are "
            "written 'russia'"
        )
        assert len(lines) == 3
        # The daemon refuses to start on it too, rather than never alerting.
        started = newsmon("run", "--once", "--config", str(config), "--db", str(tmp_path / "n.db"))
        assert started.returncode == 1 and "routes[0].actors[0]" in started.stderr

    def test_readme_rule_error_example_is_what_check_says(self, tmp_path: Path) -> None:
        """The README's example of a rule error is what `newsmon check --rules rules/` prints
        for that typo in a copy of the bundled rules."""
        readme = (REPO / "README.md").read_text(encoding="utf-8")
        (said,) = [line[2:] for line in readme.splitlines() if "no fragment named" in line]
        name, line, _ = said.split(":", 2)
        shutil.copytree(REPO / "rules", tmp_path / "rules")
        path = tmp_path / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        assert "fragment: ukraine" in lines[int(line) - 1]
        lines[int(line) - 1] = lines[int(line) - 1].replace("ukraine", "ukrane")
        path.write_text("".join(lines), encoding="utf-8")
        done = newsmon("check", "--rules", "rules/", cwd=tmp_path)
        assert done.returncode == 1
        assert done.stdout.splitlines() == [said]

    def test_offline_example_config_is_good(self) -> None:
        """The README's example config passes."""
        assert newsmon("check", "--config", "examples/offline.yaml").returncode == 0

    def test_broken_rule_file_names_file_and_line(self, tmp_path: Path) -> None:
        """A rule file with a bad key: exit 1 and file:line in the message."""
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "desk.yaml").write_text(
            "actors:\n  - id: russia\n    name: Russia\n    aliases: [Russia]\n    colour: red\n"
        )
        result = newsmon("check", "--rules", str(rules))
        assert result.returncode == 1
        assert f"{rules / 'desk.yaml'}:5:" in result.stdout

    def test_broken_config_names_file_and_line(self, tmp_path: Path) -> None:
        """A config with a bad value: exit 1 and file:line: key in the message."""
        config = tmp_path / "newsmon.yaml"
        config.write_text("poll_interval: 5m\nworkers: many\n")
        result = newsmon("check", "--config", str(config))
        assert result.returncode == 1
        assert f"{config}:2: workers:" in result.stdout


class TestReplayAndEvents:
    def test_replay_prints_deltas_in_publication_order(self, tmp_path: Path) -> None:
        """Articles given out of order are processed by publication time, and the second
        statement of a demand is a repeat."""
        lines = [
            {
                "url": "https://news.example/2",
                "title": "Later",
                "published": "2025-03-05",
                "text": "Moscow insists that Ukraine must never join NATO.",
            },
            {
                "url": "https://news.example/1",
                "title": "Earlier",
                "published": "2025-03-01T09:00:00Z",
                "html": "<html><body><article><p>The Kremlin demands that Ukraine renounce "
                "its ambition to join NATO, Russian officials said on Saturday.</p>"
                "</article></body></html>",
            },
        ]
        source = tmp_path / "articles.jsonl"
        source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
        db = tmp_path / "replay.db"
        result = newsmon("replay", str(source), "--db", str(db), "--json")
        assert result.returncode == 0, result.stderr
        deltas = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(d["kind"], d["url"]) for d in deltas] == [
            ("new_condition", "https://news.example/1"),
            ("demand_repeated", "https://news.example/2"),
        ]
        assert {d["actor"] for d in deltas} == {"russia"}
        assert deltas[0]["published"] == "2025-03-01T09:00:00+00:00"

        events = newsmon("events", "--db", str(db), "--json")
        assert events.returncode == 0
        assert [json.loads(e)["kind"] for e in events.stdout.splitlines()] == [
            "new_condition",
            "demand_repeated",
        ]
        # Each with its id, the one a webhook's JSON carries, so a received alert is found.
        ids = [json.loads(e)["id"] for e in events.stdout.splitlines()]
        assert ids == sorted(ids) and len(set(ids)) == 2 and all(isinstance(i, int) for i in ids)
        assert newsmon("events", "--db", str(db), "--since", "1d").stdout == ""

        status = newsmon("status", "--db", str(db))
        assert status.returncode == 0, status.stderr
        assert "2 recorded; latest:" in status.stdout
        assert "demand_repeated        russia → ukraine-nato-ban" in status.stdout
        assert "items     0 queued, 2 done, 0 backlog (not fetched), 0 failed" in status.stdout

    def test_replay_voice_reads_first_person_as_the_actor(self, tmp_path: Path) -> None:
        """A line with `voice` is that actor's own statement; an unknown voice is refused."""
        source = tmp_path / "articles.jsonl"
        text = "We insist that Ukraine must never join NATO, the President said."
        source.write_text(
            json.dumps(
                {
                    "url": "https://kremlin.example/1",
                    "published": "2022-01-10",
                    "text": text,
                    "voice": "russia",
                }
            )
            + "\n"
            + json.dumps(
                {
                    "url": "https://kremlin.example/2",
                    "published": "2022-01-11",
                    "text": text,
                    "voice": "kremlin",
                }
            )
            + "\n"
        )
        result = newsmon("replay", str(source), "--db", str(tmp_path / "v.db"), "--json")
        assert result.returncode == 1
        assert f"{source}:2: voice 'kremlin' is not an actor of the rules" in result.stderr
        (delta,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert (delta["actor"], delta["demand"]) == ("russia", "ukraine-nato-ban")

    def test_replay_names_bad_lines(self, tmp_path: Path) -> None:
        """A bad line is named with its number; the good ones are still recorded."""
        source = tmp_path / "articles.jsonl"
        source.write_text(
            '{"url": "https://news.example/1", "published": "2025-03-01", '
            '"text": "Russia demands that Ukraine never join NATO."}\n'
            "not json\n"
            '{"url": "https://news.example/3", "published": "2025-03-02"}\n'
        )
        result = newsmon("replay", str(source), "--db", str(tmp_path / "r.db"), "--json")
        assert result.returncode == 1
        assert f"{source}:2:" in result.stderr
        assert f"{source}:3: needs a 'text' or an 'html' field" in result.stderr
        assert len(result.stdout.splitlines()) == 1

    def test_events_bad_since(self, tmp_path: Path) -> None:
        """An unreadable --since is a usage error, not a traceback."""
        db = tmp_path / "e.db"
        newsmon("replay", "/dev/null", "--db", str(db))
        result = newsmon("events", "--db", str(db), "--since", "yesterday")
        assert result.returncode == 2
        assert "--since" in result.stderr


class TestMatch:
    def test_json_fields_voice_and_date(self, tmp_path: Path) -> None:
        """`match --json` gives each finding's fields; --voice makes "we" the source, --date
        counts an official only while in office."""
        text = tmp_path / "statement.txt"
        text.write_text(
            "We insist on legally binding security guarantees. "
            "Blinken rejected the demand to bar Ukraine from NATO.\n",
            encoding="utf-8",
        )
        done = newsmon("match", "--json", "--voice", "russia", "--date", "2022-01-10", str(text))
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert {(r["actor"], r["demand"], r["stance"]) for r in rows} == {
            ("russia", "security-guarantees", "demands"),
            ("united-states", "ukraine-nato-ban", "rejects"),
        }
        first = rows[0]
        assert set(first) == {
            "file",
            "actor",
            "demand",
            "stance",
            "sentence",
            "start",
            "end",
            "historical",
        }
        source = text.read_text(encoding="utf-8")
        assert source[first["start"] : first["end"]] == first["sentence"]
        later = newsmon("match", "--json", "--date", "2026-01-10", str(text))
        assert [json.loads(line)["actor"] for line in later.stdout.splitlines()] == []

    def test_reader_leaving_early_is_no_traceback(self, tmp_path: Path) -> None:
        """`newsmon match --json ... | head -1`: when the reader goes, newsmon stops quietly,
        with no traceback on standard error."""
        text = tmp_path / "statement.txt"
        text.write_text("Russia insists on legally binding security guarantees.\n" * 40)
        # Far more than a pipe holds, so that writing fails once the reader has gone.
        with subprocess.Popen(
            [NEWSMON, "match", "--json", *[str(text)] * 400],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            first = proc.stdout.readline()
            proc.stdout.close()
            stderr = proc.stderr.read()
            assert proc.wait(timeout=60) == 1
        assert json.loads(first)["demand"] == "security-guarantees"
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr

    def test_unknown_voice(self, tmp_path: Path) -> None:
        """An unknown actor id for --voice is a usage error naming the known ones."""
        text = tmp_path / "t.txt"
        text.write_text("Nothing here.\n", encoding="utf-8")
        done = newsmon("match", "--voice", "kremlin", str(text))
        assert done.returncode == 2
        assert "no actor 'kremlin'" in done.stderr
