"""The channels of a config, built with their secrets read now (never logged)."""

from __future__ import annotations

__all__ = ["build_channels"]

from monitor.alerts.channels import Channel
from monitor.alerts.email import EmailChannel
from monitor.alerts.slack import SlackChannel
from monitor.alerts.templates import Renderer
from monitor.alerts.terminal import TerminalChannel
from monitor.alerts.webhook import WebhookChannel
from monitor.config import (
    AppriseConfig,
    Config,
    EmailConfig,
    SlackConfig,
    WebhookConfig,
    read_secret,
)


def build_channels(config: Config, threads: object | None = None) -> dict[str, Channel]:
    """One channel object per configured channel. ``threads`` (the store) lets a Slack bot
    channel keep one thread per (actor, demand)."""
    renderer = Renderer(config.alerts.templates)
    renderer.check()
    channels: dict[str, Channel] = {}
    for name, spec in config.channel_configs().items():
        if isinstance(spec, SlackConfig):
            if spec.bot_token is not None:
                from monitor.alerts.slack_bot import SlackBotChannel, ThreadStore

                assert spec.channel is not None
                channels[name] = SlackBotChannel(
                    name,
                    read_secret(spec.bot_token, name),
                    spec.channel,
                    threads=threads if isinstance(threads, ThreadStore) else None,
                    api_url=spec.api_url,
                    timeout=spec.timeout,
                    renderer=renderer,
                )
            else:
                assert spec.webhook_url is not None
                channels[name] = SlackChannel(
                    name,
                    read_secret(spec.webhook_url, name),
                    timeout=spec.timeout,
                    renderer=renderer,
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
                renderer=renderer,
            )
        elif isinstance(spec, WebhookConfig):
            channels[name] = WebhookChannel(
                name,
                read_secret(spec.url, name),
                hmac_key=read_secret(spec.hmac_key, name) if spec.hmac_key else None,
                timeout=spec.timeout,
            )
        elif isinstance(spec, AppriseConfig):
            # Imported here: Apprise loads its hundred plugins on import.
            from monitor.alerts.apprise_channel import AppriseChannel

            channels[name] = AppriseChannel(name, read_secret(spec.url, name), renderer=renderer)
        else:
            channels[name] = TerminalChannel(name, renderer=renderer)
    return channels


def rate_limits(config: Config) -> dict[str, float]:
    """Messages per second allowed on each channel that has a limit."""
    return {
        name: spec.rate_limit
        for name, spec in config.channel_configs().items()
        if spec.rate_limit is not None
    }
