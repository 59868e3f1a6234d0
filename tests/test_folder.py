"""A directory of feed and article files polled as one source (real files in tmp_path)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.sources.feeds import FeedState, poll_feed
from monitor.sources.http import HttpClient, HttpLimits

WIRE = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Drop box wire</title>
<item><title>Harbour closed</title><link>stories/harbour.html</link><guid>drop-1</guid></item>
</channel></rss>"""
PAGE = b"<html><head><title>Quay &amp; ferry notes</title></head><body><p>Notes.</p></body></html>"


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(HttpLimits(max_feed_bytes=10_000)) as http:
        yield http


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    (folder / "stories").mkdir(parents=True)
    (folder / "wire.xml").write_bytes(WIRE)
    (folder / "stories" / "harbour.html").write_bytes(PAGE)
    (folder / "broken.rss").write_bytes(b"<html>not a feed</html>")
    (folder / ".hidden.xml").write_bytes(WIRE.replace(b"drop-1", b"hidden-1"))
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    return folder


async def test_folder_gives_feed_entries_and_article_files(client: HttpClient, drop: Path) -> None:
    """Feed files give their entries, article files are entries, hidden and other files not."""
    result = await poll_feed(client, FeedState(drop.as_uri()))
    assert result.status == "changed" and result.feed is not None
    page = (drop / "stories" / "harbour.html").as_uri()
    by_key = {e.key: e for e in result.feed.entries}
    assert set(by_key) == {"drop-1", page}
    assert by_key["drop-1"].url == page  # the feed's relative link, resolved in the folder
    assert by_key[page].title == "Quay & ferry notes"
    assert by_key[page].published is not None
    assert result.feed.warning is not None and "broken.rss" in result.feed.warning


async def test_untouched_folder_is_unchanged_and_new_file_is_seen(
    client: HttpClient, drop: Path
) -> None:
    """Same listing: unchanged. A new article file: changed, with it among the entries."""
    first = await poll_feed(client, FeedState(str(drop)))
    same = await poll_feed(client, FeedState(str(drop), body_hash=first.body_hash))
    assert (same.status, same.feed) == ("unchanged", None)
    new = drop / "late.txt"
    new.write_text("A late note.")
    os.utime(new, (1_700_000_000, 1_700_000_000))
    after = await poll_feed(client, FeedState(str(drop), body_hash=first.body_hash))
    assert after.status == "changed" and after.feed is not None
    assert new.as_uri() in {e.key for e in after.feed.entries}


async def test_oversized_file_is_a_warning_not_a_failure(client: HttpClient, drop: Path) -> None:
    """A file over the size cap is skipped and named; the rest of the folder still counts."""
    (drop / "huge.html").write_bytes(b"x" * 20_000)
    result = await poll_feed(client, FeedState(str(drop)))
    assert result.feed is not None and result.feed.warning is not None
    assert "huge.html: larger than 10000 bytes" in result.feed.warning
    assert len(result.feed.entries) == 2
