"""Alerts: deltas rendered for people and delivered on channels (terminal, Slack, email).

``render`` turns deltas into text, HTML and Slack payloads; each channel module translates its
own library's errors into ``monitor.errors.ChannelError``; ``Channel`` is the seam they share.
"""

from monitor.alerts.channels import Channel
from monitor.alerts.email import EmailChannel
from monitor.alerts.slack import SlackChannel
from monitor.alerts.terminal import TerminalChannel

__all__ = ["Channel", "EmailChannel", "SlackChannel", "TerminalChannel"]
