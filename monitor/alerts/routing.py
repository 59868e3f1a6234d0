"""Which channels a delta goes to, and the channels themselves built from the config."""

from __future__ import annotations

__all__ = ["Router", "build_channels"]

from collections.abc import Sequence

from monitor.alerts.channels import Channel
from monitor.alerts.email import EmailChannel
from monitor.alerts.slack import SlackChannel
from monitor.alerts.terminal import TerminalChannel
from monitor.config import Config, EmailConfig, RouteConfig, SlackConfig, read_secret
from monitor.model import Delta


class Router:
    """Routes from the config: every route whose kinds include the delta's kind (or that names
    no kinds) adds its channels, each channel once, in the order the routes give them."""

    def __init__(self, routes: Sequence[RouteConfig]) -> None:
        self._routes = [(frozenset(r.kinds), tuple(r.channels)) for r in routes]

    def __call__(self, delta: Delta) -> list[str]:
        """The names of the channels ``delta`` goes to."""
        names: list[str] = []
        for kinds, channels in self._routes:
            if kinds and delta.kind not in kinds:
                continue
            names.extend(c for c in channels if c not in names)
        return names


def build_channels(config: Config) -> dict[str, Channel]:
    """One channel object per configured channel, secrets read now (never logged)."""
    channels: dict[str, Channel] = {}
    for name, spec in config.channel_configs().items():
        if isinstance(spec, SlackConfig):
            channels[name] = SlackChannel(
                name, read_secret(spec.webhook_url, name), timeout=spec.timeout
            )
        elif isinstance(spec, EmailConfig):
            channels[name] = EmailChannel(
                name,
                host=spec.host,
                port=spec.port,
                sender=spec.sender,
                recipients=spec.to,
                username=spec.username,
                password=read_secret(spec.password, name) if spec.password else None,
                starttls=spec.starttls,
                use_tls=spec.tls,
                timeout=spec.timeout,
            )
        else:
            channels[name] = TerminalChannel(name)
    return channels
