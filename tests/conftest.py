"""Fixtures shared by the tests: real local servers, the shared corpora, the repository root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from aiosmtpd.controller import Controller

from monitor.store import Store
from tests.servers import FakeSlack, LocalSite, Mailbox, Receiver, free_port

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# The demands the seed story (../shared/seed-article.txt) attributes to Russia.
SEED_RUSSIAN_DEMANDS = frozenset(
    {
        "ukraine-nato-ban",
        "no-foreign-troops",
        "territorial-recognition",
        "root-causes",
        "nato-non-expansion",
        "nato-military-limits",
        "missile-deployment-ban",
        "ukraine-neutrality",
        "military-aid-halt",
    }
)


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """`newsmon` commands run in-process configure logging onto a captured stream: put the
    defaults back after each test, so that no later test logs into a closed file."""
    yield
    structlog.reset_defaults()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh database file in the test's own directory, opened (migrated) and closed."""
    opened = await Store.open(tmp_path / "newsmon.db")
    yield opened
    await opened.close()


@pytest.fixture
def shared() -> Path:
    """``../shared`` beside the repository; the test is skipped where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
async def site() -> AsyncIterator[LocalSite]:
    """An empty aiohttp site on 127.0.0.1: the test adds the routes."""
    local = LocalSite()
    yield local
    await local.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A real aiohttp server on 127.0.0.1 with a Slack-like webhook path."""
    fake = FakeSlack()
    local = LocalSite()
    local.route("/services/T0001/B0002/xoxSECRETtoken", fake.handle, method="POST")
    await local.start()
    fake.url = local.url("/services/T0001/B0002/xoxSECRETtoken")
    yield fake
    await local.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    """A real aiosmtpd server on 127.0.0.1, recording into ``mailbox``."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real aiohttp webhook receiver on 127.0.0.1 at /hooks/newsmon/s3cret-path."""
    fake = Receiver()
    local = LocalSite()
    local.route("/hooks/newsmon/s3cret-path", fake.handle, method="POST")
    await local.start()
    fake.url = local.url("/hooks/newsmon/s3cret-path")
    yield fake
    await local.stop()
