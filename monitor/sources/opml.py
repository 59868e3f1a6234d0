"""OPML feed lists (how people move their subscriptions between readers): parse, validate.

Parsed with lxml with entities, DTDs and the network off, so a hostile file can neither
expand entities (billion laughs) nor make us read local files or URLs.
"""

from __future__ import annotations

__all__ = ["OpmlFeed", "read_opml"]

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from monitor.errors import OpmlError, Problem

# An OPML file is a list of subscriptions: a few MB is already tens of thousands.
MAX_OPML_BYTES = 8 * 2**20

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)
_HTTP = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription: its feed URL and the name the list gave it."""

    url: str
    name: str


def read_opml(path: Path) -> tuple[list[OpmlFeed], list[Problem]]:
    """The feeds an OPML file lists (each URL once, in order), and the outlines refused.

    Raises OpmlError, naming file and line, when the file cannot be read as OPML at all.
    """
    where = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OpmlError([Problem(where, None, "", f"cannot read: {exc.strerror or exc}")]) from exc
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError([Problem(where, None, "", f"larger than {MAX_OPML_BYTES} bytes")])
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(
            [Problem(where, exc.lineno, "", f"not well-formed XML: {exc.msg}")]
        ) from exc
    if etree.QName(root).localname != "opml":
        raise OpmlError([Problem(where, root.sourceline, "", "not an OPML file (no <opml>)")])
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    problems: list[Problem] = []
    for outline in root.iter("{*}outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder, or a plain link: not a feed
        if not _HTTP.match(url):
            problems.append(
                Problem(where, outline.sourceline, "outline.xmlUrl", f"not an http(s) URL: {url}")
            )
            continue
        if url in seen:
            continue
        seen.add(url)
        name = (outline.get("title") or outline.get("text") or "").strip()
        feeds.append(OpmlFeed(url, name))
    return feeds, problems
