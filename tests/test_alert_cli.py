"""The alert commands: silences, the outbox summary and send-test-alert, run in-process
against a real database and a real local receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from tests.servers import Receiver


def config_file(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "newsmon.yaml"
    path.write_text(f"database: {tmp_path / 'newsmon.db'}\nfeeds: []\n{extra}", encoding="utf-8")
    return str(path)


async def make_db(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "newsmon.db")
    await store.close()


class TestSilenceCommands:
    async def test_add_list_remove(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A silence added is listed with its fields and comment, then removed, then gone."""
        await make_db(tmp_path)
        config = config_file(tmp_path)

        def run(*args: str) -> int:
            return main([*args, "--config", config])

        code = await asyncio.to_thread(
            run,
            "silence",
            "add",
            "--actor",
            "russia",
            "--demand",
            "ceasefire",
            "--for",
            "24h",
            "--comment",
            "talks in Riyadh",
        )
        assert code == 0
        assert capsys.readouterr().out.startswith("silence 1 until ")
        assert await asyncio.to_thread(run, "silence", "list") == 0
        listed = capsys.readouterr().out
        assert listed.startswith("1  actor=russia demand=ceasefire  until ")
        assert listed.rstrip().endswith("# talks in Riyadh")
        assert await asyncio.to_thread(run, "silence", "remove", "1") == 0
        assert await asyncio.to_thread(run, "silence", "list") == 0
        assert capsys.readouterr().out.endswith("no silence in force\n")
        assert await asyncio.to_thread(run, "silence", "remove", "1") == 1

    def test_add_refuses_ids_and_kinds_that_would_mute_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A misspelt actor, demand or kind would mute nothing while the desk thinks it
        muted: refused, with the id meant when only its case is wrong."""
        config = config_file(tmp_path)
        for args, said in (
            (["--actor", "rusia"], "--actor: no actor 'rusia' in the rules (actors: russia, "),
            (["--actor", "Russia"], "--actor: no actor 'Russia' in the rules: ids are written"),
            (["--demand", "demilitarisation"], "--demand: no demand 'demilitarisation'"),
            (["--kind", "rejected"], "--kind: no kind 'rejected' (kinds: new_condition, "),
        ):
            assert main(["silence", "add", *args, "--for", "1h", "--config", config]) == 2
            assert said in capsys.readouterr().err

    def test_add_needs_a_matcher_and_a_valid_duration(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A silence that would mute everything, or lasts "soon", is refused."""
        config = config_file(tmp_path)
        assert main(["silence", "add", "--for", "1h", "--config", config]) == 2
        assert main(["silence", "add", "--actor", "x", "--for", "soon", "--config", config]) == 2
        err = capsys.readouterr().err
        assert "give at least one of --actor" in err
        assert "--for: 'soon' is not a duration" in err


class TestSendTestAlert:
    async def test_delivers_on_the_named_channel(
        self,
        tmp_path: Path,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The test alert reaches the channel once, and the command says so."""
        monkeypatch.setenv("TEST_HOOK", receiver.url)
        config = config_file(
            tmp_path, "channels:\n  hook: {type: webhook, url: {env: TEST_HOOK}}\n"
        )
        assert await asyncio.to_thread(main, ["send-test-alert", "hook", "--config", config]) == 0
        assert capsys.readouterr().out == "hook: test alert delivered\n"
        (document,) = receiver.documents
        assert document["deltas"][0]["demand_title"] == "test alert (no action needed)"

    async def test_reports_failure_without_the_secret(
        self,
        tmp_path: Path,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A 404 exits 1 with the reason and whether it is permanent, never the URL."""
        receiver.status = 404
        monkeypatch.setenv("TEST_HOOK", receiver.url)
        config = config_file(
            tmp_path, "channels:\n  hook: {type: webhook, url: {env: TEST_HOOK}}\n"
        )
        assert await asyncio.to_thread(main, ["send-test-alert", "hook", "--config", config]) == 1
        err = capsys.readouterr().err
        assert "test alert not delivered: hook: HTTP 404: not here (permanent)" in err
        assert "s3cret-path" not in err

    async def test_another_channels_missing_secret_does_not_stop_it(
        self,
        tmp_path: Path,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Testing one channel needs only its secrets: another's missing one is not read;
        the channel's own missing secret is named, exit 1."""
        monkeypatch.setenv("TEST_HOOK", receiver.url)
        monkeypatch.delenv("NOT_SET_PAGER", raising=False)
        config = config_file(
            tmp_path,
            "channels:\n  hook: {type: webhook, url: {env: TEST_HOOK}}\n"
            "  pager: {type: webhook, url: {env: NOT_SET_PAGER}}\n",
        )
        assert await asyncio.to_thread(main, ["send-test-alert", "hook", "--config", config]) == 0
        assert len(receiver.documents) == 1
        assert await asyncio.to_thread(main, ["send-test-alert", "pager", "--config", config]) == 1
        assert "pager: environment variable NOT_SET_PAGER is not set" in capsys.readouterr().err

    def test_unknown_channel(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A channel the config does not name is a usage error listing the channels."""
        assert main(["send-test-alert", "pager", "--config", config_file(tmp_path)]) == 2
        assert "no channel named 'pager' (channels: terminal)" in capsys.readouterr().err


class TestAlertsCommand:
    async def test_summary_and_nothing_failed(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With nothing parked, --failed says so and retry --all finds nothing."""
        await make_db(tmp_path)
        config = config_file(tmp_path)
        assert await asyncio.to_thread(main, ["alerts", "--failed", "--config", config]) == 0
        assert capsys.readouterr().out == "no alert is parked as failed\n"
        assert await asyncio.to_thread(main, ["alerts", "retry", "--all", "--config", config]) == 1
        assert await asyncio.to_thread(main, ["alerts", "retry", "--config", config]) == 2
