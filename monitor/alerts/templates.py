"""What each channel renders, with Jinja2 templates that ops may put in place of the defaults.

The defaults are the functions of ``render`` (tested, escaped for each format). A template
directory (``alerts.templates``) may hold any of ``subject.txt.j2``, ``alert.txt.j2``,
``alert.html.j2`` (autoescaped) and ``slack.json.j2`` (must give a Slack payload as JSON);
each one present replaces its default, the others stay. Every template gets ``deltas`` (the
webhook schema's fields, one dict per delta), ``headline`` (the message's title), and the
default renderings ``default_text`` and ``default_html``, so that a template may wrap them.
"""

from __future__ import annotations

__all__ = ["TEMPLATE_NAMES", "Renderer"]

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from monitor.alerts import render
from monitor.errors import ChannelError, ConfigError, Problem
from monitor.model import Delta

TEMPLATE_NAMES = ("subject.txt.j2", "alert.txt.j2", "alert.html.j2", "slack.json.j2")

# Rendered once at start-up, so that a broken template stops the daemon there, not at 3 a.m.
_SAMPLE = Delta(
    kind="new_condition",
    actor="russia",
    demand="ukraine-nato-ban",
    stance="demands",
    sentence="Moscow insists that Ukraine must never join NATO.",
    url="https://news.example.org/terms",
    title="Kremlin sets out its terms",
    published=datetime(2025, 3, 1, 12, tzinfo=UTC),
    source="Example News",
    actor_name="Russia",
    demand_title="Ukraine barred from NATO",
    phrases=("insists",),
    first_seen=datetime(2025, 2, 1, 12, tzinfo=UTC),
    articles=3,
    sources=2,
    severity="high",
    id=1,
)


class Renderer:
    """Subject, text, HTML and Slack payload for a message of deltas."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._directory = Path(directory) if directory else None
        self._present = frozenset(
            name
            for name in TEMPLATE_NAMES
            if self._directory and (self._directory / name).is_file()
        )
        loader = jinja2.FileSystemLoader(self._directory) if self._directory else None
        options: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
        }
        self._text = jinja2.Environment(autoescape=False, **options)
        self._html = jinja2.Environment(autoescape=True, **options)

    def check(self) -> None:
        """Render every template present once with a sample; ConfigError if one fails."""
        problems = []
        for name, method in (
            ("subject.txt.j2", self.subject),
            ("alert.txt.j2", self.text),
            ("alert.html.j2", self.html),
            ("slack.json.j2", self.slack),
        ):
            if name not in self._present:
                continue
            try:
                method([_SAMPLE, replace(_SAMPLE, kind="demand_dropped", id=2)])
            except ChannelError as exc:
                reason = exc.reason.removeprefix(f"template {name}: ")
                problems.append(Problem(f"{self._directory}/{name}", None, "", reason))
        if problems:
            raise ConfigError(problems)

    def subject(self, deltas: Sequence[Delta]) -> str:
        """The email subject (one line: a template cannot inject headers)."""
        text = self._render("subject.txt.j2", self._text, deltas, render.subject)
        return " ".join(text.split())

    def text(self, deltas: Sequence[Delta]) -> str:
        """Plain text: the terminal, the email's text part, Apprise."""
        return self._render("alert.txt.j2", self._text, deltas, render.render_text)

    def html(self, deltas: Sequence[Delta]) -> str:
        """The email's HTML part."""
        return self._render("alert.html.j2", self._html, deltas, render.render_html)

    def slack(self, deltas: Sequence[Delta]) -> dict[str, Any]:
        """A Slack payload (``text`` and ``blocks``)."""
        if "slack.json.j2" not in self._present:
            return render.render_slack(deltas)
        rendered = self._render("slack.json.j2", self._text, deltas, lambda _: "")
        try:
            payload = json.loads(rendered)
        except ValueError as exc:
            raise _broken("slack.json.j2", f"not JSON: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise _broken("slack.json.j2", "must give an object with a text field")
        return payload

    def _render(
        self,
        name: str,
        env: jinja2.Environment,
        deltas: Sequence[Delta],
        default: Callable[[Sequence[Delta]], str],
    ) -> str:
        if name not in self._present:
            return default(deltas)
        from monitor.alerts.webhook import delta_json

        context = {
            "deltas": [delta_json(d) for d in deltas],
            "headline": render.subject(deltas).removeprefix("[newsmon] "),
            "default_text": render.render_text(deltas),
            "default_html": Markup(render.render_html(deltas)),
        }
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateError as exc:
            raise _broken(name, f"{type(exc).__name__}: {exc}") from None


def _broken(name: str, reason: str) -> ChannelError:
    # Permanent: the alert is parked and ops are told; fix the template, then `alerts retry`.
    return ChannelError("templates", f"template {name}: {reason}", permanent=True)
