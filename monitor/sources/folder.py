"""A local directory as a source: its feed files and its article files, scanned together.

Ops drop files into a folder (a wire's export, a desk's drafts); newsmon polls the folder like
a feed. Feed files (``.xml .rss .atom .rdf .json``) are parsed as feeds; article files
(``.html .htm .xhtml .txt``) are entries themselves, dated by their modification time.
"""

from __future__ import annotations

__all__ = ["Folder", "scan_folder"]

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import FetchError
from monitor.model import Entry

FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".json"})
PAGE_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".txt"})
# Bounds: a folder is polled every few minutes and its listing is hashed each time.
MAX_FILES = 5000
_TITLE = re.compile(rb"<title[^>]*>(.{1,500}?)</title", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Folder:
    """What a scan found: a hash of the listing, the feed files' bytes, the article entries."""

    listing_hash: str
    feeds: tuple[tuple[str, bytes], ...]  # (file URL, bytes)
    pages: tuple[Entry, ...]
    problems: tuple[str, ...]


def scan_folder(path: Path, max_bytes: int, *, known_hash: str | None = None) -> Folder:
    """Scan ``path`` (recursively, hidden files skipped). Blocking: run it in a thread.

    When the listing (names, sizes, modification times) hashes to ``known_hash``, no file is
    read. Unreadable or oversized files are reported in ``problems``, not raised.
    """
    try:
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p.suffix.lower() in FEED_SUFFIXES | PAGE_SUFFIXES
        )
    except OSError as exc:
        raise FetchError(path.as_uri(), f"cannot list {path}: {exc.strerror or exc}") from exc
    problems = []
    if len(files) > MAX_FILES:
        problems.append(f"{len(files)} files; only the first {MAX_FILES} are read")
        files = files[:MAX_FILES]
    listing = hashlib.sha256()
    stats = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue  # removed while we looked
        stats.append((file, stat.st_size, stat.st_mtime))
        listing.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "replace"))
    digest = listing.hexdigest()
    if digest == known_hash:
        return Folder(digest, (), (), ())
    feeds, pages = [], []
    for file, size, mtime in stats:
        if size > max_bytes:
            problems.append(f"{file.name}: larger than {max_bytes} bytes")
            continue
        try:
            data = file.read_bytes()
        except OSError as exc:
            problems.append(f"{file.name}: {exc.strerror or exc}")
            continue
        url = file.as_uri()
        if file.suffix.lower() in FEED_SUFFIXES:
            feeds.append((url, data))
        else:
            published = datetime.fromtimestamp(mtime, UTC)
            pages.append(Entry(url, url, _page_title(data) or file.stem, published))
    return Folder(digest, tuple(feeds), tuple(pages), tuple(problems))


def _page_title(data: bytes) -> str:
    found = _TITLE.search(data[:65536])
    if not found:
        return ""
    return " ".join(html.unescape(found.group(1).decode("utf-8", "replace")).split())
