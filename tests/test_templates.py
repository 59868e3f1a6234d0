"""Jinja2 templates that ops put in place of the defaults, checked at start-up."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest

from monitor.alerts import EmailChannel, TerminalChannel
from monitor.alerts.render import render_html, render_text, subject
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError, ConfigError
from tests.conftest import REPO
from tests.servers import Mailbox
from tests.test_channels import DELTA


def test_without_templates_the_defaults_render() -> None:
    """No directory: exactly the built-in renderings."""
    renderer = Renderer()
    assert renderer.text([DELTA]) == render_text([DELTA])
    assert renderer.html([DELTA]) == render_html([DELTA])
    assert renderer.subject([DELTA]) == subject([DELTA])


async def test_example_templates_replace_text_and_subject(mailbox: Mailbox, smtp_port: int) -> None:
    """The shipped example templates change subject and text; HTML stays the default."""
    renderer = Renderer(REPO / "examples" / "templates")
    renderer.check()
    channel = EmailChannel(
        "mail",
        host="127.0.0.1",
        port=smtp_port,
        sender="n@example.org",
        recipients=["d@example.org"],
        renderer=renderer,
    )
    await channel.send([DELTA], key="k1")
    message = mailbox.message()
    assert message["Subject"] == "[desk] New condition: Russia → Ukraine barred from NATO"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert (
        parts["text/plain"]
        .replace("\r\n", "\n")
        .startswith(
            "New condition: Russia → Ukraine barred from NATO\n"
            '  "Moscow insists that Ukraine must never join NATO."\n'
            "  Example News · 2024-03-01 · https://news.example.org/kremlin-terms\n"
        )
    )
    assert parts["text/html"].replace("\r\n", "\n").strip() == render_html([DELTA]).strip()


async def test_html_template_is_autoescaped(tmp_path: Path) -> None:
    """A value from a feed cannot inject markup through an HTML template."""
    (tmp_path / "alert.html.j2").write_text("<p>{{ deltas[0].title }}</p>{{ default_html }}")
    evil = DELTA.__class__(**{**DELTA.__dict__, "title": "<script>x()</script>"})
    html = Renderer(tmp_path).html([evil])
    assert html.startswith("<p>&lt;script&gt;x()&lt;/script&gt;</p><div")


async def test_subject_template_cannot_break_the_header(tmp_path: Path) -> None:
    """Whatever a subject template gives becomes one line."""
    (tmp_path / "subject.txt.j2").write_text("A\nBcc: x@evil.org\n{{ headline }}")
    assert Renderer(tmp_path).subject([DELTA]).startswith("A Bcc: x@evil.org New condition")


def test_broken_template_is_refused_at_start(tmp_path: Path) -> None:
    """A template naming an unknown variable stops the start with the file named."""
    (tmp_path / "alert.txt.j2").write_text("{{ nonsense.field }}")
    with pytest.raises(ConfigError) as caught:
        Renderer(tmp_path).check()
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}/alert.txt.j2: UndefinedError: 'nonsense' is undefined"
    ]


async def test_broken_slack_template_parks_rather_than_crashes(tmp_path: Path) -> None:
    """A Slack template that does not give JSON is a permanent channel error."""
    (tmp_path / "slack.json.j2").write_text("not json {{ headline }}")
    with pytest.raises(ChannelError) as caught:
        Renderer(tmp_path).slack([DELTA])
    assert caught.value.permanent is True


async def test_terminal_uses_the_text_template(tmp_path: Path) -> None:
    """The terminal prints what the text template gives."""
    (tmp_path / "alert.txt.j2").write_text("{{ deltas | length }}: {{ headline }}")
    stream = StringIO()
    await TerminalChannel(stream=stream, renderer=Renderer(tmp_path)).send([DELTA], key="k")
    assert stream.getvalue() == "1: New condition: Russia → Ukraine barred from NATO\n\n"


def test_check_command_reports_a_broken_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`newsmon check` renders the configured templates and lists a broken one."""
    from monitor.cli import main

    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "subject.txt.j2").write_text("{{ headline | nosuchfilter }}")
    config = tmp_path / "newsmon.yaml"
    config.write_text("feeds: []\nalerts: {templates: tpl}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path}/tpl/subject.txt.j2: TemplateAssertionError")
