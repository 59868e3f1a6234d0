"""Logs: secrets never reach them, whatever carries them."""

from __future__ import annotations

import io
import json

import structlog

from monitor.logs import SecretRedactor, configure_logging

HOOK = "https://hooks.example/services/T0/B0/very-secret"


class TestSecretRedactor:
    def test_known_secret_is_masked_inside_any_value(self) -> None:
        """A secret value inside a message or an exception is replaced by ***."""
        redact = SecretRedactor([HOOK])
        event = redact(
            None,
            "warning",
            {"event": "x", "reason": f"POST {HOOK} failed", "error": ValueError(HOOK)},
        )
        assert event["reason"] == "POST *** failed"
        assert HOOK not in event["error"]

    def test_secret_named_keys_are_masked(self) -> None:
        """A key that names a secret has its value masked, known or not."""
        event = SecretRedactor()(
            None, "info", {"event": "x", "smtp_password": "hunter2", "Authorization": "Bearer abc"}
        )
        assert event["smtp_password"] == "***" and event["Authorization"] == "***"


def test_configured_logging_writes_json_without_secrets() -> None:
    """The daemon's configuration renders JSON lines with secrets masked."""
    out = io.StringIO()
    configure_logging(json=True, secrets=[HOOK], stream=out)
    try:
        structlog.get_logger("t").warning("alert.failed", reason=f"cannot reach {HOOK}")
    finally:
        structlog.reset_defaults()
    line = json.loads(out.getvalue())
    assert line["event"] == "alert.failed"
    assert line["reason"] == "cannot reach ***"
