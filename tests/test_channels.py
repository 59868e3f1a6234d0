"""Delivery channels against real local servers: an aiohttp webhook and an aiosmtpd SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from io import StringIO
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from structlog.testing import capture_logs

from monitor.alerts import Channel, EmailChannel, SlackChannel, TerminalChannel
from monitor.alerts.email import message_id
from monitor.alerts.render import render_slack, render_text
from monitor.errors import ChannelError
from tests.alerting import make_delta
from tests.servers import FakeSlack, Mailbox, free_port

SECRET = "T0001/B0002/xoxSECRETtoken"
DELTA = make_delta(
    url="https://news.example.org/kremlin-terms", phrases=("insists",), first_seen=None, articles=1
)


def test_channels_satisfy_the_protocol() -> None:
    """Every channel class fits the Channel seam (checked by mypy through these assignments)."""
    channels: list[Channel] = [
        TerminalChannel(stream=StringIO()),
        SlackChannel("slack", "http://127.0.0.1:1/x"),
        EmailChannel("mail", host="127.0.0.1", port=1, sender="a@x", recipients=["b@x"]),
    ]
    assert [c.name for c in channels] == ["terminal", "slack", "mail"]


class TestTerminal:
    async def test_writes_text_and_blank_line(self) -> None:
        """The rendered text and a blank line go to the given stream."""
        stream = StringIO()
        channel = TerminalChannel(stream=stream)
        await channel.send([DELTA], key="k1")
        await channel.aclose()
        assert render_text([DELTA]) + "\n\n" == stream.getvalue()

    async def test_default_stream_is_stdout_at_send_time(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a stream, the channel prints to whatever sys.stdout is when it sends."""
        await TerminalChannel().send([DELTA], key="k1")
        assert capsys.readouterr().out.startswith("New condition: Russia")


# --- Slack ----------------------------------------------------------------------------------


@pytest.fixture
async def slack_channel(slack: FakeSlack) -> AsyncIterator[SlackChannel]:
    channel = SlackChannel("desk-slack", slack.url, timeout=5)
    yield channel
    await channel.aclose()


async def send_failing(channel: SlackChannel | EmailChannel) -> ChannelError:
    """Send DELTA, expecting a ChannelError, and return it."""
    with pytest.raises(ChannelError) as caught:
        await channel.send([DELTA], key="alert-1")
    return caught.value


class TestSlack:
    async def test_one_post_per_send(self, slack: FakeSlack, slack_channel: SlackChannel) -> None:
        """Each send posts the rendered payload once, with the idempotency key."""
        await slack_channel.send([DELTA], key="alert-1")
        await slack_channel.send([DELTA, DELTA], key="alert-2")
        assert [render_slack([DELTA]), render_slack([DELTA, DELTA])] == [p for _, p in slack.posts]
        assert [h["Idempotency-Key"] for h, _ in slack.posts] == ["alert-1", "alert-2"]
        assert slack.posts[0][0]["Content-Type"] == "application/json"
        first = slack.posts[0][1]
        assert first["text"].startswith("New condition: Russia")
        assert first["blocks"]

    async def test_server_error_is_transient(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """A 500 may pass: not permanent."""
        slack.status, slack.body = 500, "rollup_error"
        error = await send_failing(slack_channel)
        assert (error.permanent, error.retry_after) == (False, None)
        assert str(error) == "desk-slack: HTTP 500: rollup_error"

    async def test_rate_limit_carries_retry_after(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """A 429 says how long to wait, from Retry-After."""
        slack.status, slack.body, slack.headers = 429, "rate_limited", {"Retry-After": "2"}
        error = await send_failing(slack_channel)
        assert (error.permanent, error.retry_after) == (False, 2.0)

    async def test_retry_after_as_http_date(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """Retry-After may be an HTTP date; one in the past means no wait."""
        slack.status, slack.headers = 503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        error = await send_failing(slack_channel)
        assert (error.permanent, error.retry_after) == (False, 0.0)

    async def test_gone_webhook_is_permanent(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """A 404 (webhook deleted) will not heal by retrying."""
        slack.status, slack.body = 404, "no_service"
        error = await send_failing(slack_channel)
        assert error.permanent is True
        assert str(error) == "desk-slack: HTTP 404: no_service"

    async def test_not_ok_body_is_not_delivered(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """A 200 that is not Slack's "ok" is not taken as delivered."""
        slack.body = "<html>captive portal</html>"
        error = await send_failing(slack_channel)
        assert error.permanent is False

    async def test_webhook_url_never_in_errors(
        self, slack: FakeSlack, slack_channel: SlackChannel
    ) -> None:
        """The webhook URL is a secret: not in the error, its cause, or the channel's repr."""
        slack.status = 403
        error = await send_failing(slack_channel)
        assert SECRET not in str(error)
        assert error.__cause__ is None
        assert SECRET not in repr(slack_channel)

    async def test_connection_refused_is_transient_and_secret(self) -> None:
        """Nothing listening: transient, and the URL stays out of the error and its chain."""
        channel = SlackChannel("desk-slack", f"http://127.0.0.1:{free_port()}/services/{SECRET}")
        try:
            error = await send_failing(channel)
        finally:
            await channel.aclose()
        assert error.permanent is False
        assert str(error).startswith("desk-slack: cannot connect")
        assert SECRET not in str(error)
        assert error.__cause__ is None
        assert error.__suppress_context__ is True

    async def test_invalid_url_is_permanent(self) -> None:
        """A malformed webhook URL is a configuration error; the error does not repeat it."""
        channel = SlackChannel("desk-slack", f"http://[{SECRET}/x")
        try:
            error = await send_failing(channel)
        finally:
            await channel.aclose()
        assert error.permanent is True
        assert SECRET not in str(error)

    async def test_usable_after_aclose(self, slack: FakeSlack, slack_channel: SlackChannel) -> None:
        """Closing releases the session; a later send opens a new one."""
        await slack_channel.send([DELTA], key="a")
        await slack_channel.aclose()
        await slack_channel.send([DELTA], key="b")
        assert len(slack.posts) == 2


# --- email ----------------------------------------------------------------------------------


def reject_everyone(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """An authenticator that refuses every login."""
    return AuthResult(success=False, handled=False)


@pytest.fixture
def auth_smtp_port(mailbox: Mailbox) -> Iterator[int]:
    """An aiosmtpd server that offers AUTH on a plain connection and refuses every login."""
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=reject_everyone,
        # No TLS certificate in tests: offer AUTH without STARTTLS.
        auth_require_tls=False,
    )
    controller.start()
    yield controller.port
    controller.stop()


def email_channel(port: int, **options: Any) -> EmailChannel:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "newsmon@example.org",
        "recipients": ["desk@example.org", "editor@example.org"],
        "timeout": 5,
    }
    return EmailChannel("desk-mail", **(settings | options))


class TestEmail:
    async def test_sends_multipart_message(self, mailbox: Mailbox, smtp_port: int) -> None:
        """One message with a text and an HTML part, the subject, a Message-ID from the key."""
        channel = email_channel(smtp_port)
        await channel.send([DELTA], key="alert-17")
        await channel.aclose()

        assert len(mailbox.envelopes) == 1
        envelope = mailbox.envelopes[0]
        assert envelope.mail_from == "newsmon@example.org"
        assert envelope.rcpt_tos == ["desk@example.org", "editor@example.org"]
        message = mailbox.message()
        assert message["Subject"] == "[newsmon] New condition: Russia → Ukraine barred from NATO"
        assert message["Message-ID"] == "<alert-17@newsmon>"
        assert message["To"] == "desk@example.org, editor@example.org"
        assert message["Date"] is not None
        assert message.get_content_type() == "multipart/alternative"
        parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
        assert list(parts) == ["text/plain", "text/html"]
        assert "“Moscow insists that Ukraine must never join NATO.”" in parts["text/plain"]
        assert "<b>insists</b>" in parts["text/html"]

    async def test_unusual_key_gives_valid_message_id(self) -> None:
        """A key with spaces or "@" still gives a stable, well-formed Message-ID."""
        assert message_id("a b@c") == message_id("a b@c")
        assert message_id("a b@c").endswith("@newsmon>")
        assert " " not in message_id("a b@c")

    async def test_server_down_is_transient(self) -> None:
        """Nothing listening: the server may come back, so not permanent."""
        error = await send_failing(email_channel(free_port()))
        assert error.permanent is False
        assert error.channel == "desk-mail"

    async def test_login_refused_is_permanent(self, auth_smtp_port: int) -> None:
        """A 535 for our credentials will not change by retrying; the password stays hidden."""
        channel = email_channel(auth_smtp_port, username="newsmon", password="hunter2-secret")
        error = await send_failing(channel)
        assert error.permanent is True
        assert "535" in str(error)
        assert "hunter2-secret" not in str(error)
        assert "hunter2-secret" not in repr(channel)

    async def test_recipients_refused_is_permanent(self, mailbox: Mailbox, smtp_port: int) -> None:
        """Every recipient refused with 5xx: permanent, and nothing was delivered."""
        mailbox.refuse = {
            "desk@example.org": "550 5.1.1 No such user",
            "editor@example.org": "550 5.1.1 No such user",
        }
        error = await send_failing(email_channel(smtp_port))
        assert error.permanent is True
        assert mailbox.envelopes == []

    async def test_recipients_deferred_is_transient(self, mailbox: Mailbox, smtp_port: int) -> None:
        """A 4xx refusal is temporary by SMTP's own rules."""
        mailbox.refuse = {"desk@example.org": "450 4.2.1 Try later"}
        error = await send_failing(email_channel(smtp_port, recipients=["desk@example.org"]))
        assert error.permanent is False

    async def test_some_recipients_refused_is_delivered(
        self, mailbox: Mailbox, smtp_port: int
    ) -> None:
        """Delivered to the others, so no error (a retry would duplicate); the refusal is logged."""
        mailbox.refuse = {"editor@example.org": "550 5.1.1 No such user"}
        with capture_logs() as logs:
            await email_channel(smtp_port).send([DELTA], key="alert-1")
        assert mailbox.envelopes[0].rcpt_tos == ["desk@example.org"]
        assert logs == [
            {
                "event": "alert.recipients_refused",
                "log_level": "warning",
                "channel": "desk-mail",
                "recipients": ["editor@example.org"],
                "key": "alert-1",
            }
        ]

    def test_rejects_contradictory_tls_settings(self) -> None:
        """STARTTLS and implicit TLS cannot both be asked for."""
        with pytest.raises(ValueError, match="exclude each other"):
            email_channel(25, starttls=True, use_tls=True)
