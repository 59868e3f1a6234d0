"""Alerts: deltas routed, grouped, rendered for people and delivered on channels.

``routing`` decides where each delta goes (pure), ``monitor.store.outbox`` keeps the groups,
``outbox.Sender`` sends them; ``render`` and ``templates`` turn deltas into text, HTML and Slack
payloads; each channel module (terminal, slack, slack_bot, email, webhook, apprise_channel)
translates its own library's errors into ``monitor.errors.ChannelError``; ``Channel`` is the
seam they share.
"""

from monitor.alerts.channels import Channel
from monitor.alerts.email import EmailChannel
from monitor.alerts.slack import SlackChannel
from monitor.alerts.terminal import TerminalChannel
from monitor.alerts.webhook import WebhookChannel

__all__ = ["Channel", "EmailChannel", "SlackChannel", "TerminalChannel", "WebhookChannel"]
