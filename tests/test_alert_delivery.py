"""The outbox sender against real local servers: retries, Retry-After, parking, SMTP outages,
grouping, re-alert, digests and silences, each proved by counting the messages that arrive."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import EmailChannel, SlackChannel
from monitor.alerts.outbox import RetryPolicy, Sender
from monitor.alerts.webhook import WebhookChannel
from monitor.cli import main
from monitor.store import Store
from monitor.store.outbox import digest_due
from tests.alerting import drain, finding, record, to
from tests.servers import FakeSlack, Mailbox, Receiver, free_port

FAST = RetryPolicy(base=0.05, cap=0.2)


@pytest.fixture
async def hook(receiver: Receiver) -> AsyncIterator[WebhookChannel]:
    channel = WebhookChannel("hook", receiver.url, timeout=5)
    yield channel
    await channel.aclose()


def states(db: Path) -> list[tuple[str, int, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT state, attempts, last_error FROM outbox ORDER BY id").fetchall()


class TestRetries:
    async def test_three_500s_then_200_is_one_message(self, store: Store, slack: FakeSlack) -> None:
        """Slack answers 500 three times, then 200: one message arrives, after four attempts."""
        slack.script = [500, 500, 500]
        channel = SlackChannel("desk", slack.url, timeout=5)
        await record(store, [finding()], to("desk"))
        await drain(Sender(store, {"desk": channel}, retry=FAST))
        await channel.aclose()
        assert len(slack.posts) == 1
        assert len(slack.times) == 4
        assert states(store.path) == [("sent", 4, None)]

    async def test_429_retry_after_is_waited_for(self, store: Store, slack: FakeSlack) -> None:
        """A 429 with Retry-After: 2 makes the sender wait at least 2 s before it posts again
        on that channel (the other alert waits too, even when flushing), then each arrives once."""
        slack.script = [(429, {"Retry-After": "2"})]
        channel = SlackChannel("desk", slack.url, timeout=5)
        await record(store, [finding()], to("desk"))
        await record(store, [finding(demand="sanctions-relief")], to("desk", group_wait=60.0))
        sender = Sender(store, {"desk": channel}, retry=FAST, batch=1)
        deadline = time.monotonic() + 20
        while await store.next_alert_due(alerts_only=True) is not None:
            assert time.monotonic() < deadline
            await sender.deliver_due(flush=True)
            await asyncio.sleep(0.05)
        await channel.aclose()
        assert len(slack.posts) == 2
        first, *later = slack.times
        assert min(later) - first >= 2.0

    async def test_404_is_parked_reported_and_retried_by_command(
        self,
        store: Store,
        slack: FakeSlack,
        receiver: Receiver,
        hook: WebhookChannel,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A 404 parks the alert with its reason and tells ops on another channel; `alerts
        --failed` shows it; after the endpoint is fixed, `alerts retry ID` gets it delivered."""
        slack.status, slack.body = 404, "no_service"
        channel = SlackChannel("desk", slack.url, timeout=5)
        sender = Sender(store, {"desk": channel, "ops": hook}, ops=["ops", "desk"], retry=FAST)
        await record(store, [finding()], to("desk"))
        await drain(sender)
        assert len(slack.times) == 1  # tried once, not again
        assert states(store.path) == [("failed", 1, "HTTP 404: no_service")]
        (notice,) = receiver.documents
        assert (notice["type"], notice["kind"]) == ("ops", "alert_failed")
        assert "HTTP 404: no_service" in notice["summary"]
        assert "newsmon alerts retry 1 (or --all)" in notice["summary"]

        db = str(store.path)
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["alerts", "--failed", "--db", db]) == 0
        listed = capsys.readouterr().out
        assert listed.startswith("1  desk  attempts=1  New condition: russia → ceasefire")
        assert "reason: HTTP 404: no_service" in listed

        slack.status, slack.body = 200, "ok"
        assert await asyncio.to_thread(main, ["alerts", "retry", "1", "--db", db]) == 0
        await drain(sender)
        await channel.aclose()
        assert len(slack.times) == 2
        assert slack.posts[-1][0]["Idempotency-Key"] == "newsmon-alert-1"
        assert states(store.path) == [("sent", 2, None)]
        assert len(receiver.posts) == 1  # the ops notice, not repeated

    async def test_smtp_down_then_up_delivers_each_email_once(
        self, store: Store, mailbox: Mailbox
    ) -> None:
        """The SMTP server is down for a while, then up: every email arrives once, with its
        text and HTML parts."""
        port = free_port()
        channel = EmailChannel(
            "mail", host="127.0.0.1", port=port, sender="n@example.org", recipients=["d@x.org"]
        )
        for demand in ("ceasefire", "sanctions-relief", "ukraine-nato-ban"):
            await record(store, [finding(demand=demand)], to("mail"))
        sending = asyncio.create_task(drain(Sender(store, {"mail": channel}, retry=FAST)))
        await asyncio.sleep(1.0)  # the outage: several attempts fail meanwhile
        failed_before = [attempts for _, attempts, _ in states(store.path)]
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            await sending
        finally:
            controller.stop()
        assert max(failed_before) >= 2
        assert len(mailbox.envelopes) == 3
        ids = {str(mailbox.message(i)["Message-ID"]) for i in range(3)}
        assert ids == {
            "<newsmon-alert-1@newsmon>",
            "<newsmon-alert-2@newsmon>",
            "<newsmon-alert-3@newsmon>",
        }
        for i in range(3):
            parts = [p.get_content_type() for p in mailbox.message(i).iter_parts()]
            assert parts == ["text/plain", "text/html"]

    async def test_a_dead_channel_tells_ops_once(
        self, store: Store, receiver: Receiver, hook: WebhookChannel, slack: FakeSlack
    ) -> None:
        """Five alerts parked on one dead webhook: each is parked, ops hear of it once."""
        slack.status, slack.body = 410, "channel_is_archived"
        channel = SlackChannel("desk", slack.url, timeout=5)
        for demand in ("a", "b", "c", "d", "e"):
            await record(store, [finding(demand=demand)], to("desk"))
        await drain(Sender(store, {"desk": channel, "ops": hook}, ops=["ops"]))
        await channel.aclose()
        assert len(await store.failed_alerts()) == 5
        assert [doc["kind"] for doc in receiver.documents] == ["alert_failed"]


class TestOpsNotices:
    async def test_feed_notices_go_to_the_ops_channel_once(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """A notice queued by another part of newsmon (a feed failing) is sent to the ops
        channel once, and marked sent."""
        await store.add_ops_event(
            "feed_failing", "https://feeds.example/rss", "5 polls failed", now=time.time()
        )
        sender = Sender(store, {"hook": hook}, ops=["hook"])
        await sender.deliver_due()
        await sender.deliver_due()
        (notice,) = receiver.documents
        assert (notice["kind"], notice["summary"]) == ("feed_failing", "5 polls failed")
        assert notice["title"] == "newsmon ops: feed failing: https://feeds.example/rss"
        assert await store.ops_events() == []

    async def test_without_ops_channel_notices_are_logged(self, store: Store) -> None:
        """No ops channel configured: the notice goes to the log and is not retried."""
        from structlog.testing import capture_logs

        await store.add_ops_event("feed_quiet", "https://f.example", "no entries for 3d", now=0)
        with capture_logs() as logs:
            await Sender(store, {}).deliver_due()
        assert [e["event"] for e in logs] == ["ops.notice"]
        assert logs[0]["note"] == "no entries for 3d"
        assert await store.ops_events() == []


class TestGrouping:
    async def test_deltas_of_one_article_are_one_message(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """Three demands in one article arrive as one message carrying the three deltas."""
        demands = ("ceasefire", "sanctions-relief", "ukraine-nato-ban")
        await record(store, [finding(demand=d) for d in demands], to("hook", group_wait=0.0))
        await drain(Sender(store, {"hook": hook}))
        (document,) = receiver.documents
        assert sorted(d["demand"] for d in document["deltas"]) == sorted(demands)
        assert {(d["articles"], d["sources"]) for d in document["deltas"]} == {(1, 1)}

    async def test_same_pair_within_window_is_one_message(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """Two articles on one pair inside the window make one message; one after the window
        has passed makes a second."""
        sender = Sender(store, {"hook": hook})
        routes = to("hook", group_wait=0.5)
        await record(store, [finding()], routes)
        await record(store, [finding(stance="drops")], routes)
        assert await sender.deliver_due() == 0  # still gathering
        await drain(sender)
        await record(store, [finding(stance="rejects")], routes)
        await drain(sender)
        kinds = [[d["kind"] for d in doc["deltas"]] for doc in receiver.documents]
        assert kinds == [["new_condition", "demand_dropped"], ["demand_rejected"]]

    async def test_other_pairs_do_not_join_a_group(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """Different pairs from different articles stay separate messages."""
        routes = to("hook", group_wait=0.3)
        await record(store, [finding(demand="ceasefire")], routes)
        await record(store, [finding(demand="sanctions-relief")], routes)
        await drain(Sender(store, {"hook": hook}))
        assert len(receiver.posts) == 2


class TestThrottling:
    async def test_realert_interval_suppresses_repeats(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """Within the re-alert interval a pair's repeats are recorded, not sent again."""
        routes = to("hook", realert=3600.0)
        for _ in range(4):
            await record(store, [finding()], routes)
        await drain(Sender(store, {"hook": hook}))
        kinds = [doc["deltas"][0]["kind"] for doc in receiver.documents]
        assert kinds == ["new_condition", "demand_repeated"]
        assert await store.suppressed_count("realert") == 2
        assert len(await store.events()) == 4

    async def test_rate_limit_spaces_messages(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """With a limit of 10 messages a second, 4 messages take at least 0.3 s."""
        for demand in ("a", "b", "c", "d"):
            await record(store, [finding(demand=demand)], to("hook"))
        started = time.monotonic()
        await drain(Sender(store, {"hook": hook}, rate_limits={"hook": 10.0}))
        assert len(receiver.posts) == 4
        assert time.monotonic() - started >= 0.3


class TestDigest:
    async def test_repeats_go_into_one_digest(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """Repeats routed to the hourly digest wait for the hour, then arrive as ONE message
        that counts what moved and links the latest article."""
        sender = Sender(store, {"hook": hook})
        await record(store, [finding()], to("hook"))
        digest = to("hook", digest="hourly")
        for _ in range(3):
            await record(store, [finding()], digest)
        await record(store, [finding(demand="sanctions-relief")], digest)
        await drain(sender)
        assert [doc["type"] for doc in receiver.documents] == ["alert"]
        await sender.deliver_due(now=digest_due("hourly", time.time()) + 1)
        assert [doc["type"] for doc in receiver.documents] == ["alert", "digest"]
        document = receiver.documents[1]
        assert document["counts"]["demand_repeated"] == 3
        assert document["counts"]["new_condition"] == 2
        lines = [line["text"] for line in document["lines"]]
        assert lines[0].startswith("russia → ceasefire: repeated 3 times")
        assert lines[1].startswith("russia → sanctions-relief: new")
        assert document["lines"][0]["url"].startswith("https://news.example/")

    async def test_a_digest_waiting_for_its_hour_is_not_a_stuck_alert(self, store: Store) -> None:
        """Rows gathering into a digest are waiting by design: the oldest-due age that status
        and /metrics show (and ops alarm on) counts an alert only once it is due."""
        await record(store, [finding()], to("hook", digest="daily"))
        assert (await store.stats(failing_after=5)).oldest_pending_alert_at is None
        due = digest_due("daily", time.time())
        stats = await store.stats(failing_after=5, now=due + 60)
        assert stats.oldest_pending_alert_at == due  # waiting since it became due
        await record(store, [finding(demand="sanctions-relief")], to("hook", group_wait=0.0))
        stats = await store.stats(failing_after=5, now=time.time() + 1)
        assert stats.oldest_pending_alert_at is not None
        assert stats.oldest_pending_alert_at <= time.time()


class TestSilences:
    async def test_silenced_deltas_are_recorded_not_sent(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """A silence on (russia, ceasefire) mutes that pair only; once removed, alerts flow."""
        sender = Sender(store, {"hook": hook})
        now = time.time()
        silence = await store.add_silence(
            actor="russia",
            demand="ceasefire",
            kind=None,
            source=None,
            ends_at=now + 3600,
            comment="talks today",
            now=now,
        )
        await record(store, [finding(), finding(demand="sanctions-relief")], to("hook"))
        await drain(sender)
        assert [[d["demand"] for d in doc["deltas"]] for doc in receiver.documents] == [
            ["sanctions-relief"]
        ]
        assert await store.suppressed_count("silenced") == 1
        assert len(await store.events()) == 2

        assert await store.remove_silence(silence, now=time.time())
        await record(store, [finding(stance="drops")], to("hook"))
        await drain(sender)
        assert len(receiver.posts) == 2
        assert receiver.documents[1]["deltas"][0]["kind"] == "demand_dropped"

    async def test_expired_silence_mutes_nothing(
        self, store: Store, receiver: Receiver, hook: WebhookChannel
    ) -> None:
        """A silence past its end no longer mutes."""
        now = time.time()
        await store.add_silence(
            actor="russia",
            demand=None,
            kind=None,
            source=None,
            ends_at=now - 1,
            comment="",
            now=now - 10,
        )
        await record(store, [finding()], to("hook"))
        await drain(Sender(store, {"hook": hook}))
        assert len(receiver.posts) == 1


async def test_pending_alerts_survive_the_upgrade(tmp_path: Path) -> None:
    """An alert left pending by the previous schema is sent after the upgrade, as one
    message with the key it always had."""
    from monitor.store.schema import MIGRATIONS

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        for number, script in enumerate(MIGRATIONS[:2], start=1):
            conn.executescript(f"{script}\nPRAGMA user_version={number};")
        conn.execute("INSERT INTO items (id, key, url, seen_at) VALUES (1, 'k', 'u', 0)")
        conn.execute(
            "INSERT INTO deltas (id, item_id, kind, actor, demand, actor_name, demand_title, "
            "stance, sentence, url, title, source, published, historical, first_seen, articles, "
            "created_at) VALUES (7, 1, 'new_condition', 'russia', 'ceasefire', 'Russia', "
            "'Ceasefire', 'demands', 'Russia demands it.', 'https://n.example/1', 'T', 'S', 0, 0, "
            "0, 1, 0)"
        )
        conn.execute("INSERT INTO outbox (id, delta_id, channel, created_at) VALUES (3, 7, 'x', 0)")
    store = await Store.open(db)
    try:
        (group,) = await store.due_groups(now=time.time())
    finally:
        await store.close()
    assert (group.key, group.channel, group.digest) == ("newsmon-alert-3", "x", None)
    assert [d.id for d in group.deltas] == [7]
