"""Alerts sent as email through an SMTP server (aiosmtplib), one connection per message.

Alerts are rare enough that a connection per message costs nothing, and it spares the channel
a pooled connection that the server may have dropped in the meantime.
"""

from __future__ import annotations

__all__ = ["EmailChannel", "message_id"]

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import structlog

from monitor.alerts.notice import Notice
from monitor.alerts.render import notice_html, notice_text
from monitor.alerts.templates import Renderer
from monitor.errors import ChannelError
from monitor.model import Delta

# RFC 5322 dot-atom: what may stand left of "@" in a Message-ID without quoting.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class EmailChannel:
    """Sends one multipart/alternative message (text and HTML) per alert.

    ``starttls`` upgrades a plain connection (port 587); ``use_tls`` connects with TLS from the
    start (port 465); with neither, the connection stays plain. The password is never shown.
    """

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout: float = 30.0,
        renderer: Renderer | None = None,
    ) -> None:
        if not recipients:
            raise ValueError(f"email channel {name!r}: no recipients")
        if starttls and use_tls:
            raise ValueError(f"email channel {name!r}: starttls and use_tls exclude each other")
        self.name = name
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = tuple(recipients)
        self._username = username
        self._password = password
        self._starttls = starttls
        self._use_tls = use_tls
        self._timeout = timeout
        self._renderer = renderer or Renderer()

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Send one message; its Message-ID comes from ``key``, so a retry is the same message."""
        r = self._renderer
        await self._send(self._message(r.subject(deltas), r.text(deltas), r.html(deltas), key), key)

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Send a digest or an ops notice as one message, text and HTML."""
        title = "[newsmon] " + " ".join(notice.title.split())
        await self._send(self._message(title, notice_text(notice), notice_html(notice), key), key)

    async def _send(self, message: EmailMessage, key: str) -> None:
        try:
            refused, _ = await aiosmtplib.send(
                message,
                sender=self._sender,
                recipients=list(self._recipients),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._use_tls,
                # False, not None: aiosmtplib would otherwise upgrade whenever offered.
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ChannelError(
                self.name, f"login refused: {exc.code} {exc.message}", permanent=True
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused; permanent only if every refusal was (5xx, not 4xx).
            said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            permanent = all(r.code >= 500 for r in exc.recipients)
            raise ChannelError(
                self.name, f"recipients refused: {said}", permanent=permanent
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # SMTP's own convention: 5xx is a permanent failure, 4xx a transient one.
            raise ChannelError(
                self.name, f"server said {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from exc
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. STARTTLS or AUTH not offered
            raise ChannelError(self.name, exc.message, permanent=True) from exc
        except TimeoutError as exc:  # also aiosmtplib's SMTPTimeoutError
            raise ChannelError(self.name, f"timed out after {self._timeout:g}s") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused or dropped, TLS failures: the server may be back later.
            raise ChannelError(self.name, f"cannot send: {exc}") from exc
        if refused:
            # Delivered to the others: a retry would send them a duplicate, so only report it.
            structlog.get_logger(__name__).warning(
                "alert.recipients_refused",
                channel=self.name,
                recipients=sorted(refused),
                key=key,
            )

    async def aclose(self) -> None:
        """Nothing to release: each message has its own connection."""

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, host={self._host!r}, port={self._port})"

    def _message(self, title: str, text: str, html: str, key: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = title
        message["From"] = self._sender
        message["To"] = ", ".join(self._recipients)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = message_id(key)
        # Tells vacation responders and ticket systems not to answer a machine.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message


def message_id(key: str) -> str:
    """The Message-ID for an idempotency key: ``<key@newsmon>``, or a hash of an unusual key."""
    local = key if _DOT_ATOM.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{local}@newsmon>"
