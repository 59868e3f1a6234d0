"""The webhook, Apprise and Slack bot channels against real local HTTP servers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitor.alerts.apprise_channel import AppriseChannel
from monitor.alerts.notice import ops_notice
from monitor.alerts.slack_bot import SlackBotChannel
from monitor.alerts.webhook import SCHEMA, WebhookChannel
from monitor.errors import ChannelError
from monitor.store import Store
from tests.servers import LocalSite, Receiver
from tests.test_channels import DELTA

KEY = "hmac-shared-secret"


class TestWebhook:
    async def test_posts_signed_stable_json(self, receiver: Receiver) -> None:
        """One POST per message: the v1 schema, the key, and an HMAC-SHA256 signature of
        timestamp and body that the receiver can check with the shared key."""
        channel = WebhookChannel("hook", receiver.url, hmac_key=KEY)
        await channel.send([replace(DELTA, id=5, severity="high")], key="newsmon-alert-5")
        await channel.aclose()
        ((headers, document, raw),) = receiver.posts
        expected = hmac.new(
            KEY.encode(), headers["X-Newsmon-Timestamp"].encode() + b"." + raw, hashlib.sha256
        ).hexdigest()
        assert headers["X-Newsmon-Signature"] == f"sha256={expected}"
        assert headers["Idempotency-Key"] == "newsmon-alert-5"
        assert headers["X-Newsmon-Event"] == "alert"
        assert (document["schema"], document["type"], document["key"]) == (
            SCHEMA,
            "alert",
            "newsmon-alert-5",
        )
        (delta,) = document["deltas"]
        assert delta["headline"] == "New condition: Russia → Ukraine barred from NATO"
        assert (delta["id"], delta["actor"], delta["demand"], delta["severity"]) == (
            5,
            "russia",
            "ukraine-nato-ban",
            "high",
        )
        assert delta["published"] == "2024-03-01T14:05:00+00:00"

    async def test_unsigned_without_key(self, receiver: Receiver) -> None:
        """No key configured: no signature header."""
        channel = WebhookChannel("hook", receiver.url)
        await channel.send_notice(ops_notice("feed_failing", "https://f", "down"), key="k")
        await channel.aclose()
        ((headers, document, _),) = receiver.posts
        assert "X-Newsmon-Signature" not in headers
        assert (document["type"], document["kind"], document["summary"]) == (
            "ops",
            "feed_failing",
            "down",
        )

    @pytest.mark.parametrize(("status", "permanent"), [(500, False), (404, True), (410, True)])
    async def test_status_decides_retry(
        self, receiver: Receiver, status: int, permanent: bool
    ) -> None:
        """5xx may pass; 4xx will not; the URL (a secret) never appears in the error."""
        receiver.status = status
        channel = WebhookChannel("hook", receiver.url)
        with pytest.raises(ChannelError) as caught:
            await channel.send([DELTA], key="k")
        await channel.aclose()
        assert caught.value.permanent is permanent
        assert "s3cret-path" not in str(caught.value)
        assert caught.value.__cause__ is None


class TestApprise:
    async def test_json_url_posts_to_local_server(self, site: LocalSite) -> None:
        """An Apprise json:// URL delivers title and body to the local server."""
        got: list[dict[str, Any]] = []

        async def handle(request: web.Request) -> web.Response:
            got.append(await request.json())
            return web.Response(text="ok")

        site.route("/notify", handle, method="POST")
        await site.start()
        channel = AppriseChannel("apprise", site.base.replace("http://", "json://") + "/notify")
        await channel.send([DELTA], key="k")
        assert len(got) == 1
        assert got[0]["title"] == "New condition: Russia → Ukraine barred from NATO"
        assert "Moscow insists" in got[0]["message"]

    async def test_failure_is_transient(self, site: LocalSite) -> None:
        """Apprise does not say why it failed, so the alert is retried."""

        async def handle(request: web.Request) -> web.Response:
            return web.Response(status=500)

        site.route("/notify", handle, method="POST")
        await site.start()
        channel = AppriseChannel("apprise", site.base.replace("http://", "json://") + "/notify")
        with pytest.raises(ChannelError) as caught:
            await channel.send([DELTA], key="k")
        assert caught.value.permanent is False

    def test_unknown_url_is_refused_at_start(self) -> None:
        """A URL Apprise cannot use is a configuration error, found when the channel is built."""
        with pytest.raises(ValueError, match="Apprise does not understand"):
            AppriseChannel("apprise", "nosuchscheme://x")


class FakeSlackApi:
    """chat.postMessage on 127.0.0.1: records messages, answers ok with a new ts."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.error: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        message = await request.json()
        if self.error:
            return web.json_response({"ok": False, "error": self.error})
        self.messages.append((dict(request.headers), message))
        return web.json_response({"ok": True, "ts": f"1700000000.{len(self.messages):06d}"})


@pytest.fixture
async def slack_api(site: LocalSite) -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    site.route("/api/chat.postMessage", api.handle, method="POST")
    await site.start()
    yield api


class TestSlackBot:
    async def test_later_deltas_of_a_pair_go_into_its_thread(
        self, tmp_path: Path, site: LocalSite, slack_api: FakeSlackApi
    ) -> None:
        """The first alert on a pair starts a thread; the next on that pair replies in it, even
        after a restart; another pair starts its own."""
        store = await Store.open(tmp_path / "n.db")
        channel = SlackBotChannel(
            "bot", "xoxb-SECRET", "C0123", threads=store, api_url=site.url("/api")
        )
        await channel.send([DELTA], key="k1")
        await channel.aclose()
        again = SlackBotChannel(
            "bot", "xoxb-SECRET", "C0123", threads=store, api_url=site.url("/api")
        )
        await again.send([replace(DELTA, kind="demand_dropped")], key="k2")
        await again.send([replace(DELTA, demand="ceasefire")], key="k3")
        await again.aclose()
        await store.close()
        threads = [m.get("thread_ts") for _, m in slack_api.messages]
        assert threads == [None, "1700000000.000001", None]
        assert {m["channel"] for _, m in slack_api.messages} == {"C0123"}
        assert slack_api.messages[0][0]["Authorization"] == "Bearer xoxb-SECRET"
        assert slack_api.messages[0][1]["blocks"]

    @pytest.mark.parametrize(
        ("error", "permanent"), [("invalid_auth", True), ("ratelimited", False)]
    )
    async def test_slack_errors(
        self, site: LocalSite, slack_api: FakeSlackApi, error: str, permanent: bool
    ) -> None:
        """ok:false is not delivered: a bad token is permanent, a rate limit is not; the token
        never appears in the error."""
        slack_api.error = error
        channel = SlackBotChannel("bot", "xoxb-SECRET", "C0123", api_url=site.url("/api"))
        with pytest.raises(ChannelError) as caught:
            await channel.send([DELTA], key="k")
        await channel.aclose()
        assert caught.value.permanent is permanent
        assert str(caught.value) == f"bot: Slack said {error}"
