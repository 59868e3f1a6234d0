"""The alert keys of the config: channels, routes, alert defaults and ops, validated on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, secret_values
from tests.test_config import problems, write


def test_full_alerting_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new key is accepted and typed: webhook, Slack bot, Apprise, routes, alerts, ops."""
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.org/x")
    monkeypatch.setenv("HOOK_KEY", "k3y-value")
    monkeypatch.setenv("SLACK_BOT", "xoxb-123")
    monkeypatch.setenv("APPRISE_URL", "ntfy://ntfy.sh/newsmon")
    (tmp_path / "templates").mkdir()
    path = write(
        tmp_path,
        "channels:\n"
        "  hook: {type: webhook, url: {env: HOOK_URL}, hmac_key: {env: HOOK_KEY}}\n"
        "  bot: {type: slack, bot_token: {env: SLACK_BOT}, channel: C0123}\n"
        "  phone: {type: apprise, url: {env: APPRISE_URL}, rate_limit: 0.5}\n"
        "routes:\n"
        "  - {severities: [high], sources: [Reuters], channels: [bot], continue: true}\n"
        "  - {actors: [russia], demands: [ceasefire], kinds: [demand_dropped], channels: [phone],"
        " digest: never, group_wait: 0s, realert: 10m}\n"
        "  - {channels: [hook], digest: daily}\n"
        "alerts: {group_wait: 10s, realert: 1h, digest: daily, retry_base: 2s,"
        " templates: templates}\n"
        "ops: [hook]\n",
    )
    config = load_config(path)
    assert config.routes[0].continue_ is True
    assert config.routes[1].realert == 600.0
    assert config.routes[1].group_wait == 0.0
    assert config.alerts.group_wait == 10.0
    assert config.alerts.templates == str(tmp_path / "templates")
    assert config.ops_channels() == ["hook"]
    assert sorted(secret_values(config)) == sorted(
        ["https://hooks.example.org/x", "k3y-value", "xoxb-123", "ntfy://ntfy.sh/newsmon"]
    )


def test_ops_must_name_a_channel(tmp_path: Path) -> None:
    """An ops channel that does not exist is reported at its line."""
    path = write(tmp_path, "ops: [pager]\n")
    assert problems(path) == [f"{path}:1: ops[0]: no channel named 'pager' (channels: terminal)"]


def test_slack_needs_exactly_one_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Slack channel is a webhook or a bot (with a channel id), not both nor neither."""
    monkeypatch.setenv("T", "x")
    path = write(tmp_path, "channels:\n  s: {type: slack, bot_token: {env: T}}\n")
    assert "bot_token: needs channel:" in problems(path)[0]
    path = write(tmp_path, "channels:\n  s: {type: slack}\n")
    assert "exactly one of webhook_url: or bot_token:" in problems(path)[0]


def test_unset_webhook_secret_is_named_not_shown(tmp_path: Path) -> None:
    """A webhook URL from an unset variable is reported by key, like every secret."""
    path = write(tmp_path, "channels:\n  hook: {type: webhook, url: {env: NO_SUCH_VAR_6}}\n")
    assert problems(path) == [
        f"{path}:2: channels.hook.url: environment variable NO_SUCH_VAR_6 is not set"
    ]


def test_default_ops_is_the_terminal_only_without_channels(tmp_path: Path) -> None:
    """With the embedded default channel, ops notices print too; with configured channels and
    no ops key, they are logged."""
    assert load_config(write(tmp_path, "")).ops_channels() == ["terminal"]
    path = write(tmp_path, "channels:\n  t: {type: terminal}\n")
    assert load_config(path).ops_channels() == []


def test_readme_config_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's configuration example is valid, every alert key included."""
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    for directory in ("rules", "local", "templates", "creds"):
        (tmp_path / directory).mkdir()
    (tmp_path / "local" / "wire.xml").write_text("<rss/>")
    (tmp_path / "local" / "dropbox").mkdir()
    for name in ("smtp-password", "webhook-hmac-key"):
        (tmp_path / "creds" / name).write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    for name in ("SLACK_WEBHOOK", "SLACK_BOT_TOKEN", "WEBHOOK_URL", "APPRISE_URL"):
        monkeypatch.setenv(f"NEWSMON_{name}", "ntfy://ntfy.sh/x")
    config = load_config(write(tmp_path, example))
    assert set(config.channels) == {
        "terminal",
        "desk-slack",
        "desk-bot",
        "feeds-out",
        "phone",
        "desk-mail",
    }
    assert [r.continue_ for r in config.routes] == [True, False, False]
    assert config.ops == ["desk-mail"]
