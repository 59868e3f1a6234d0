"""Alerts as JSON posted to a URL, for other systems: a stable schema, signed with HMAC-SHA256.

Every post carries ``Idempotency-Key`` (the same on every retry of one message) and, when a
key is configured, ``X-Newsmon-Signature: sha256=<hex>``: the HMAC-SHA256 of
``<X-Newsmon-Timestamp>.<body>`` under the shared key, so a receiver can reject forgeries and
replays. The schema is ``newsmon.alert.v1``; fields are only ever added to it.
"""

from __future__ import annotations

__all__ = ["SCHEMA", "WebhookChannel", "alert_payload", "delta_json", "notice_payload", "sign"]

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from monitor.alerts.notice import Notice
from monitor.alerts.posting import Poster, classify
from monitor.alerts.render import headline, subject
from monitor.model import Delta

SCHEMA = "newsmon.alert.v1"


def delta_json(delta: Delta) -> dict[str, Any]:
    """One delta in the schema: ids, display names, the evidence, its history."""
    return {
        "id": delta.id,
        "kind": delta.kind,
        "headline": headline(delta),
        "actor": delta.actor,
        "actor_name": delta.actor_name or delta.actor,
        "demand": delta.demand,
        "demand_title": delta.demand_title or delta.demand,
        "severity": delta.severity or None,
        "stance": delta.stance,
        "sentence": delta.sentence,
        "phrases": list(delta.phrases),
        "url": delta.url,
        "title": delta.title,
        "source": delta.source,
        "published": delta.published.isoformat(),
        "historical": delta.historical,
        "first_seen": delta.first_seen.isoformat() if delta.first_seen else None,
        "articles": delta.articles,
        "sources": delta.sources,
    }


def alert_payload(deltas: Sequence[Delta], key: str) -> dict[str, Any]:
    """The JSON document for one message of alerts (``type: "alert"``)."""
    return {
        "schema": SCHEMA,
        "type": "alert",
        "key": key,
        "title": subject(deltas).removeprefix("[newsmon] "),
        "deltas": [delta_json(d) for d in deltas],
    }


def notice_payload(notice: Notice, key: str) -> dict[str, Any]:
    """The JSON document for a digest (``type: "digest"``) or an ops notice (``type: "ops"``)."""
    return {
        "schema": SCHEMA,
        "type": "digest" if notice.kind == "digest" else "ops",
        "key": key,
        "kind": notice.kind,
        "title": notice.title,
        "summary": notice.summary,
        "counts": dict(notice.counts),
        "lines": [{"text": line.text, "url": line.url or None} for line in notice.lines],
    }


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC of ``timestamp.body``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """POSTs the JSON document; any 2xx means delivered."""

    def __init__(
        self, name: str, url: str, *, hmac_key: str | None = None, timeout: float = 10.0
    ) -> None:
        self.name = name
        self._url = url
        self._key = hmac_key.encode() if hmac_key else None
        self._poster = Poster(name, timeout=timeout)

    async def send(self, deltas: Sequence[Delta], *, key: str) -> None:
        """Post one alert message; raise ``ChannelError`` unless the receiver answered 2xx."""
        await self._post(alert_payload(deltas, key), key)

    async def send_notice(self, notice: Notice, *, key: str) -> None:
        """Post a digest or an ops notice."""
        await self._post(notice_payload(notice, key), key)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._poster.aclose()

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r})"

    async def _post(self, document: dict[str, Any], key: str) -> None:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Newsmon-Event": document["type"],
            "X-Newsmon-Timestamp": timestamp,
        }
        if self._key is not None:
            headers["X-Newsmon-Signature"] = sign(self._key, timestamp, body)
        classify(self.name, await self._poster.post(self._url, body, headers))
