"""The daemon config: defaults, validation that names file, line and key, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import (
    DEFAULT_FEEDS,
    SecretCheck,
    load_config,
    parse_duration,
    read_secret,
    unreachable_secrets,
)
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, secrets: SecretCheck = "read") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, secrets=secrets)
    return [str(p) for p in caught.value.problems]


class TestDefaults:
    def test_no_file_gives_embedded_defaults(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a config: default feeds, the terminal channel, a database in the state dir."""
        monkeypatch.delenv("STATE_DIRECTORY", raising=False)
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
        config = load_config(None)
        assert [f.url for f in config.feed_locations()] == list(DEFAULT_FEEDS)
        assert list(config.channel_configs()) == ["terminal"]
        assert config.route_list()[0].channels == ["terminal"]
        assert config.database_path() == tmp_path / "newsmon" / "newsmon.db"

    def test_systemd_state_directory_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Under systemd, StateDirectory= decides where the database lives."""
        monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/newsmon")
        assert str(load_config(None).database_path()) == "/var/lib/newsmon/newsmon.db"

    def test_relative_paths_resolve_against_the_config_file(self, tmp_path: Path) -> None:
        """Feed paths, rule dirs and the database are relative to the config file."""
        (tmp_path / "feeds").mkdir()
        (tmp_path / "feeds" / "wire.xml").write_text("<rss/>")
        (tmp_path / "myrules").mkdir()
        config = load_config(
            write(tmp_path, "feeds: [feeds/wire.xml]\nrules: [myrules]\ndatabase: state/n.db\n")
        )
        assert config.feeds[0].path == str(tmp_path / "feeds" / "wire.xml")
        assert config.rules == [str(tmp_path / "myrules")]
        assert config.database_path() == tmp_path / "state" / "n.db"

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            (90, 90.0),
            ("90s", 90.0),
            ("5m", 300.0),
            ("2h", 7200.0),
            ("1d", 86400.0),
            ("250ms", 0.25),
        ],
    )
    def test_durations(self, text: object, seconds: float) -> None:
        """Durations read as people write them."""
        assert parse_duration(text) == seconds


class TestValidation:
    def test_unknown_key_names_file_line_and_key(self, tmp_path: Path) -> None:
        """A misspelt key is refused with where it is."""
        path = write(tmp_path, "poll_interval: 5m\nchanels:\n  t: {type: terminal}\n")
        assert problems(path) == [f"{path}:2: chanels: unknown key"]

    def test_every_problem_is_listed(self, tmp_path: Path) -> None:
        """Several faults give several messages, each with its line."""
        path = write(
            tmp_path,
            "feeds:\n"
            "  - url: ftp://example.org/feed\n"
            "poll_interval: soon\n"
            "channels:\n"
            "  desk:\n"
            "    type: slack\n"
            "    webhook_url: {env: X}\n"
            "    colour: red\n",
        )
        found = problems(path)
        assert len(found) == 3
        assert found[0].startswith(f"{path}:2: feeds[0]: url must start with http")
        assert found[1].startswith(f"{path}:3: poll_interval: 'soon' is not a duration")
        assert found[2] == f"{path}:8: channels.desk.colour: unknown key"

    def test_route_to_unknown_channel(self, tmp_path: Path) -> None:
        """A route naming a channel that does not exist is an error at its line."""
        path = write(tmp_path, "routes:\n  - channels: [terminal, pager]\n")
        assert problems(path) == [
            f"{path}:2: routes[0].channels[1]: no channel named 'pager' (channels: terminal)"
        ]

    def test_yaml_syntax_error_has_its_line(self, tmp_path: Path) -> None:
        """Broken YAML is reported at the line the parser stopped."""
        path = write(tmp_path, "feeds:\n  - url: https://a.example/feed\n  bad: [\n")
        (found,) = problems(path)
        assert found.startswith(f"{path}:")
        assert "invalid YAML" in found

    def test_duplicate_key_is_refused(self, tmp_path: Path) -> None:
        """YAML keeps the last of two equal keys silently; newsmon says so instead."""
        path = write(tmp_path, "poll_interval: 5m\npoll_interval: 10m\n")
        assert problems(path) == [
            f"{path}:2: poll_interval: key appears twice; the first value would be lost"
        ]

    def test_missing_feed_file(self, tmp_path: Path) -> None:
        """A local feed that does not exist is named."""
        path = write(tmp_path, "feeds:\n  - path: nowhere.xml\n")
        (found,) = problems(path)
        assert found.startswith(f"{path}:2: feeds[0].path: no such file or directory")

    def test_not_a_mapping(self, tmp_path: Path) -> None:
        """A config that is a list is refused with a clear message."""
        path = write(tmp_path, "- a\n- b\n")
        assert problems(path) == [f"{path}:1: the config must be a mapping of keys"]


class TestSecrets:
    def test_secret_from_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A webhook URL named by an environment variable is read from it."""
        monkeypatch.setenv("DESK_HOOK", "https://hooks.example/abc")
        config = load_config(
            write(tmp_path, "channels:\n  desk: {type: slack, webhook_url: {env: DESK_HOOK}}\n")
        )
        channel = config.channels["desk"]
        assert read_secret(channel.webhook_url, "desk") == "https://hooks.example/abc"  # type: ignore[union-attr]

    def test_secret_from_credentials_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A relative secret file is looked up in systemd's $CREDENTIALS_DIRECTORY."""
        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "smtp-password").write_text("s3cret\n")
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
        config = load_config(
            write(
                tmp_path,
                "channels:\n  mail:\n    type: email\n    host: 127.0.0.1\n"
                "    from: newsmon@example.org\n    to: [desk@example.org]\n"
                "    username: newsmon\n    password: {file: smtp-password}\n",
            )
        )
        assert read_secret(config.channels["mail"].password, "mail") == "s3cret"  # type: ignore[union-attr,arg-type]

    def test_unset_secret_is_a_config_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An environment variable that is not set is refused at load, naming the key."""
        monkeypatch.delenv("NOT_SET_HOOK", raising=False)
        path = write(
            tmp_path, "channels:\n  desk:\n    type: slack\n    webhook_url: {env: NOT_SET_HOOK}\n"
        )
        assert problems(path) == [
            f"{path}:4: channels.desk.webhook_url: environment variable NOT_SET_HOOK is not set"
        ]

    def test_check_from_a_shell_notes_what_it_cannot_reach(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`newsmon check` in a shell has neither the service's credentials nor its environment:
        those secrets are noted as not checked, not refused; a credential it can look for and
        does not find is still a problem, with its line."""
        monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
        monkeypatch.delenv("NOT_SET_HOOK", raising=False)
        path = write(
            tmp_path,
            "channels:\n  desk: {type: slack, webhook_url: {file: slack-webhook}}\n"
            "  hook: {type: webhook, url: {env: NOT_SET_HOOK}}\n",
        )
        config = load_config(path, secrets="reachable")
        assert unreachable_secrets(config) == [
            f"{path}: channels.desk.webhook_url: not checked here: credential slack-webhook is "
            "read from $CREDENTIALS_DIRECTORY, which only the service has (set it to the "
            "credentials folder to check)",
            f"{path}: channels.hook.url: not checked here: $NOT_SET_HOOK is not set here",
        ]
        creds = tmp_path / "creds"
        creds.mkdir()
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
        monkeypatch.setenv("NOT_SET_HOOK", "https://hooks.example/x")
        assert problems(path, secrets="reachable") == [
            f"{path}:2: channels.desk.webhook_url: cannot read secret file "
            f"{creds / 'slack-webhook'}: No such file or directory"
        ]
        (creds / "slack-webhook").write_text("https://hooks.example/abc\n")
        assert unreachable_secrets(load_config(path, secrets="reachable")) == []

    def test_reading_commands_do_not_read_secrets(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A command that only reads the database loads the config without its secrets: the
        daemon's own load still refuses the one it cannot read."""
        monkeypatch.delenv("NOT_SET_HOOK", raising=False)
        path = write(tmp_path, "channels:\n  hook: {type: webhook, url: {env: NOT_SET_HOOK}}\n")
        assert set(load_config(path, secrets="skip").channels) == {"hook"}
        assert problems(path) == [
            f"{path}:2: channels.hook.url: environment variable NOT_SET_HOOK is not set"
        ]

    def test_literal_secret_is_refused(self, tmp_path: Path) -> None:
        """A webhook URL written into the file itself is refused: secrets live elsewhere."""
        path = write(
            tmp_path,
            "channels:\n  desk:\n    type: slack\n    webhook_url: https://hooks.example/abc\n",
        )
        (found,) = problems(path)
        assert found.startswith(f"{path}:4: channels.desk.webhook_url:")
        assert "hooks.example" not in found


class TestPollingSection:
    def test_defaults(self) -> None:
        """Without a polling section: 1 minute floor, adaptive, 5 failures, no backfill."""
        polling = load_config(None).polling
        assert (polling.min_interval, polling.adaptive, polling.failures_before_alert) == (
            60.0,
            True,
            5,
        )
        assert (polling.quiet_factor, polling.backfill) == (10.0, False)

    def test_values_and_durations(self, tmp_path: Path) -> None:
        """Every key is read, durations included."""
        path = write(
            tmp_path,
            "polling:\n  min_interval: 2m\n  adaptive: false\n  failures_before_alert: 3\n"
            "  quiet_factor: 4\n  backfill: true\n",
        )
        polling = load_config(path).polling
        assert (polling.min_interval, polling.adaptive, polling.failures_before_alert) == (
            120.0,
            False,
            3,
        )
        assert (polling.quiet_factor, polling.backfill) == (4.0, True)

    def test_bad_value_names_file_line_and_key(self, tmp_path: Path) -> None:
        """failures_before_alert: 0 is refused with file, line and key."""
        path = write(tmp_path, "workers: 2\npolling:\n  failures_before_alert: 0\n")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert str(caught.value).startswith(f"{path}:3: polling.failures_before_alert:")
