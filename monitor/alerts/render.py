"""Deltas rendered for people: a headline, plain text, small HTML, a Slack payload, a subject.

Pure functions over ``Delta``: no I/O, no clock. Every value that came from a feed or a page is
untrusted, so each format escapes it by its own rules, and every field is flattened to one
line (no header injection in a subject, no terminal escape sequences in plain text).
"""

from __future__ import annotations

__all__ = [
    "HEADLINE_WIDTH",
    "KIND_LABELS",
    "headline",
    "notice_html",
    "notice_slack",
    "notice_text",
    "render_html",
    "render_slack",
    "render_text",
    "subject",
]

import html
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from monitor.alerts.notice import KIND_WORDS, Notice
from monitor.model import Delta

KIND_LABELS = {
    "new_condition": "New condition",
    "demand_repeated": "Demand repeated",
    "demand_resurfaced": "Demand resurfaced",
    "demand_dropped": "Demand dropped",
    "demand_rejected": "Demand rejected",
    "unrecognized_condition": "Unrecognized condition",
}

# About two lines of a phone lock-screen notification.
HEADLINE_WIDTH = 100
# Slack caps a header block at 150 characters and a section at 3,000 (after escaping, which can
# grow "&" fivefold); a quote longer than this is not read in an alert anyway.
_SLACK_HEADER_WIDTH = 150
_QUOTE_WIDTH = 500
# Slack allows 50 blocks per message; a group shows this many deltas and counts the rest.
_SLACK_GROUP_SHOWN = 10

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")


def headline(delta: Delta) -> str:
    """One line saying what changed, e.g. "New condition: Russia → Ukraine barred from NATO".

    Uses the actor's name and the demand's title, falling back to their ids; ends with
    "(historical)" when the evidence is about the past; at most ``HEADLINE_WIDTH`` characters.
    """
    label = KIND_LABELS.get(delta.kind) or _clean(delta.kind.replace("_", " ").capitalize())
    actor = _clean(delta.actor_name or delta.actor) or "?"
    demand = _clean(delta.demand_title or delta.demand)
    suffix = " (historical)" if delta.historical else ""
    start = f"{label}: {actor}"
    if not demand:
        return _shorten(start, HEADLINE_WIDTH - len(suffix)) + suffix
    # The demand is the most expendable part: shorten it first, the whole line only if needed.
    room = HEADLINE_WIDTH - len(start) - len(" → ") - len(suffix)
    if room >= 12:
        return f"{start} → {_shorten(demand, room)}{suffix}"
    return _shorten(f"{start} → {demand}", HEADLINE_WIDTH - len(suffix)) + suffix


def subject(deltas: Sequence[Delta]) -> str:
    """Email subject: "[newsmon] " and the headline, plus " and N more" for a group."""
    return f"[newsmon] {_group_headline(deltas)}"


def render_text(deltas: Sequence[Delta]) -> str:
    """Plain text: per delta its headline, quoted sentence, source and date, link and history."""
    blocks = [_text_block(delta) for delta in _require(deltas)]
    if len(blocks) > 1:
        blocks.insert(0, _group_headline(deltas))
    return "\n\n".join(blocks)


def render_html(deltas: Sequence[Delta]) -> str:
    """The content of ``render_text`` as small inline-styled HTML; matched phrases in <b>."""
    parts = [_html_block(delta) for delta in _require(deltas)]
    if len(parts) > 1:
        title = f'<p style="{_H_STYLE}">{_esc(_group_headline(deltas))}</p>'
        parts = [title, *parts]
    rule = '<hr style="border:0;border-top:1px solid #ddd;margin:12px 0">'
    body = rule.join(parts)
    return f'<div style="font-family:sans-serif;font-size:15px;line-height:1.4">{body}</div>'


def render_slack(deltas: Sequence[Delta]) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` (the notification) and Block Kit ``blocks``."""
    deltas = _require(deltas)
    title = _group_headline(deltas)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _shorten(title, _SLACK_HEADER_WIDTH)},
        }
    ]
    if len(deltas) == 1:
        blocks += _slack_delta_blocks(deltas[0], with_headline=False)
    else:
        for delta in deltas[:_SLACK_GROUP_SHOWN]:
            blocks.append({"type": "divider"})
            blocks += _slack_delta_blocks(delta, with_headline=True)
        hidden = len(deltas) - _SLACK_GROUP_SHOWN
        if hidden > 0:
            blocks.append(_slack_context(f"…and {hidden} more not shown"))
    # Slack reads "text" as mrkdwn in notifications too, so it is escaped like the blocks.
    return {"text": _slack_esc(title), "blocks": blocks}


def notice_text(notice: Notice) -> str:
    """A notice (digest, ops) as plain text: its title, summary and one line per item."""
    lines = [_clean(notice.title)]
    if notice.summary:
        lines.append(_clean(notice.summary))
    for line in notice.lines:
        text = f"• {_clean(line.text)}"
        lines.append(f"{text}\n  {_clean(line.url)}" if line.url else text)
    return "\n".join(lines)


def notice_html(notice: Notice) -> str:
    """A notice as small HTML; links only for web URLs."""
    items = "".join(
        f'<li><a href="{_esc_clean(line.url)}">{_esc_clean(line.text)}</a></li>'
        if _is_web_url(line.url)
        else f"<li>{_esc_clean(line.text)}</li>"
        for line in notice.lines
    )
    summary = f'<p style="{_META_STYLE}">{_esc_clean(notice.summary)}</p>' if notice.summary else ""
    body = f'<p style="{_H_STYLE}">{_esc_clean(notice.title)}</p>{summary}'
    if items:
        body += f"<ul>{items}</ul>"
    return f'<div style="font-family:sans-serif;font-size:15px;line-height:1.4">{body}</div>'


def notice_slack(notice: Notice) -> dict[str, Any]:
    """A notice as a Slack payload: a header, the summary, the lines (links where safe)."""
    title = _shorten(_clean(notice.title), _SLACK_HEADER_WIDTH)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}}
    ]
    if notice.summary:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _slack_esc_clean(notice.summary)},
            }
        )
    lines = [
        f"• <{_slack_url(_clean(line.url))}|{_slack_esc_clean(line.text)}>"
        if _is_web_url(line.url)
        else f"• {_slack_esc_clean(line.text)}"
        for line in notice.lines
    ]
    # A section holds 3,000 characters: split the list over as many sections as it needs.
    chunk: list[str] = []
    for line in lines[: 40 * 10]:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line[:2900])
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return {"text": _slack_esc(title), "blocks": blocks[:50]}


# --- plain text ---------------------------------------------------------------------------


def _text_block(delta: Delta) -> str:
    source = _source_line(delta, _clean)
    title = _clean(delta.title)
    lines = [
        headline(delta),
        f"“{_quote(delta.sentence)}”",
        f"{source} · {title}" if title else source,
    ]
    url = _clean(delta.url)
    if url:
        lines.append(url)
    lines.append(_history_line(delta))
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------------

_H_STYLE = "margin:0 0 8px;font-size:17px;font-weight:bold"
_QUOTE_STYLE = "margin:0 0 8px;padding-left:10px;border-left:3px solid #ccc;color:#222"
_META_STYLE = "margin:0 0 4px;color:#555;font-size:13px"


def _html_block(delta: Delta) -> str:
    quote = "".join(
        f"<b>{_esc(text)}</b>" if marked else _esc(text)
        for text, marked in _marked(_quote(delta.sentence), delta.phrases)
    )
    title = _esc(_clean(delta.title) or _clean(delta.url))
    link = f'<a href="{_esc_clean(delta.url)}">{title}</a>' if _is_web_url(delta.url) else title
    return (
        f'<p style="{_H_STYLE}">{_esc(headline(delta))}</p>'
        f'<blockquote style="{_QUOTE_STYLE}">“{quote}”</blockquote>'
        f'<p style="{_META_STYLE}">{_source_line(delta, _esc_clean)} · {link}</p>'
        f'<p style="{_META_STYLE}">{_esc(_history_line(delta))}</p>'
    )


# --- Slack --------------------------------------------------------------------------------


def _slack_delta_blocks(delta: Delta, *, with_headline: bool) -> list[dict[str, Any]]:
    quote = "".join(
        f"*{_slack_esc(text)}*" if marked else _slack_esc(text)
        for text, marked in _marked(_quote(delta.sentence), delta.phrases)
    )
    text = f">{quote}"
    if with_headline:
        text = f"*{_slack_esc(headline(delta))}*\n{text}"
    title = _slack_esc(_clean(delta.title) or _clean(delta.url))
    link = f"<{_slack_url(_clean(delta.url))}|{title}>" if _is_web_url(delta.url) else title
    meta = f"{_source_line(delta, _slack_esc_clean)} · {link}"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        _slack_context(meta, _slack_esc(_history_line(delta))),
    ]


def _slack_context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def _slack_esc(text: str) -> str:
    """Slack's escaping: only &, < and > are control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_esc_clean(text: str) -> str:
    return _slack_esc(_clean(text))


def _slack_url(url: str) -> str:
    # Inside <url|title>, "|" ends the URL and "<", ">" end the link: percent-encode those;
    # "&" is entity-escaped like anywhere else in a message.
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        url = url.replace(char, code)
    return url.replace("&", "&amp;")


# --- shared pieces ------------------------------------------------------------------------


# What a group's header leads with: a change of position first, a repetition last. A group
# is often one pair's news in order ("new condition", then "dropped" ten seconds later): the
# phone must show the drop, not the first delta.
_LEAD = (
    "demand_dropped",
    "new_condition",
    "demand_resurfaced",
    "demand_rejected",
    "unrecognized_condition",
    "demand_repeated",
)
_RANK = {kind: i for i, kind in enumerate(_LEAD)}


def _group_headline(deltas: Sequence[Delta]) -> str:
    """The headline of the group's weightiest delta (the latest of its kind), and what else
    the group holds, by kind: "Demand dropped: Russia → … and 2 more (1 new, 1 rejected)"."""
    deltas = _require(deltas)
    order = sorted(range(len(deltas)), key=lambda i: (_RANK.get(deltas[i].kind, len(_LEAD)), -i))
    lead = order[0]
    first = headline(deltas[lead])
    if len(deltas) == 1:
        return first
    others = Counter(deltas[i].kind for i in order[1:])
    kinds = ", ".join(
        f"{others[kind]} {KIND_WORDS.get(kind, kind)}"
        for kind in sorted(others, key=lambda k: _RANK.get(k, len(_LEAD)))
    )
    return f"{first} and {len(deltas) - 1} more ({kinds})"


def _source_line(delta: Delta, escape: Callable[[str], str]) -> str:
    """Source and publication date, each passed through the format's ``escape``."""
    parts = [escape(delta.source)] if _clean(delta.source) else []
    parts.append(escape(_when(delta.published)))
    return " · ".join(parts)


def _history_line(delta: Delta) -> str:
    articles = f"{delta.articles} article" + ("" if delta.articles == 1 else "s")
    if delta.sources:
        articles += f" from {delta.sources} source" + ("" if delta.sources == 1 else "s")
    if delta.first_seen is None:
        return articles
    # The delta is the pair's latest sighting: it was last seen in this very article.
    return f"First seen {_when(delta.first_seen)} · last seen {_when(delta.published)} · {articles}"


def _when(moment: datetime) -> str:
    # Naive times are taken as UTC, the store's convention.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _marked(sentence: str, phrases: Sequence[str]) -> list[tuple[str, bool]]:
    """Split ``sentence`` into (text, is_matched_phrase) runs.

    A phrase matches case-insensitively with any run of spaces, and is widened to whole words
    so that an inflected match ("insist" in "insists") is bold as a word; Slack only renders
    bold between word boundaries anyway.
    """
    patterns = [
        r"\w*" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"\w*"
        for phrase in sorted({p for p in phrases if p.strip()}, key=len, reverse=True)
    ]
    if not patterns:
        return [(sentence, False)] if sentence else []
    runs: list[tuple[str, bool]] = []
    at = 0
    for match in re.finditer("|".join(patterns), sentence, re.IGNORECASE):
        if match.start() == match.end():
            continue
        if match.start() > at:
            runs.append((sentence[at : match.start()], False))
        runs.append((match.group(), True))
        at = match.end()
    if at < len(sentence):
        runs.append((sentence[at:], False))
    return runs


def _quote(sentence: str) -> str:
    return _shorten(_clean(sentence), _QUOTE_WIDTH)


def _clean(text: str) -> str:
    """One line: whitespace runs become one space, other control characters go."""
    return _CONTROL.sub("", _SPACE.sub(" ", text)).strip()


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _esc_clean(text: str) -> str:
    return _esc(_clean(text))


def _shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut after a whole word where one ends in its
    last fifth (a phone shows "…including measures it…", not "…including measures it d…")."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= (width - 1) * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _is_web_url(url: str) -> bool:
    # A feed is untrusted: never make a javascript: or data: link clickable.
    try:
        return urlsplit(url.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _require(deltas: Sequence[Delta]) -> Sequence[Delta]:
    if not deltas:
        raise ValueError("nothing to render: no deltas")
    return deltas
