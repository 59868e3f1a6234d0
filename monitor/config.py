"""The daemon's config: one optional YAML file, validated into typed objects on load.

Every value has a default, so ``newsmon run`` works with no file at all: the bundled rules, a
SQLite database in the user's state directory, a few public news feeds, alerts to the terminal.
Secrets (webhook URLs, SMTP passwords) are never written in the file itself: a secret field
names an environment variable (``{env: NAME}``) or a file (``{file: NAME}``, looked up in
systemd's ``$CREDENTIALS_DIRECTORY`` when relative), and is read when the config is loaded
for the daemon. Commands that only read the database do not read secrets, and ``newsmon check``
reads those it can reach from where it runs (see ``SecretCheck``).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_FEEDS",
    "AlertsConfig",
    "AppriseConfig",
    "ChannelConfig",
    "Config",
    "EmailConfig",
    "FeedConfig",
    "PollingConfig",
    "RouteConfig",
    "SecretCheck",
    "SlackConfig",
    "TerminalConfig",
    "WebhookConfig",
    "channel_secrets",
    "default_database_path",
    "load_config",
    "secret_values",
    "unreachable_secrets",
]

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.deltas import DEFAULT_RESURFACE_WINDOW, Judging
from monitor.errors import ConfigError, Problem
from monitor.model import DeltaKind
from monitor.yamlfile import LineMap, YamlDocument, YamlError, load_yaml, problems_from_validation

# Public feeds used when no config names any: wide coverage of the war and the talks.
DEFAULT_FEEDS = (
    "https://feeds.bbci.co.uk/news/world/europe/rss.xml",
    "https://www.theguardian.com/world/ukraine/rss",
    "https://www.aljazeera.com/xml/rss/all.xml",
    "https://meduza.io/rss/en/all",
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 2h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m, 2h, 1d")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def parse_wait(value: Any) -> float:
    """Like :func:`parse_duration`, but zero ("0s": no wait) is allowed."""
    if value in (0, "0", "0s"):
        return 0.0
    return parse_duration(value)


Wait = Annotated[float, BeforeValidator(parse_wait)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Secret(_Strict):
    """Where a secret lives: an environment variable or a (credential) file. Never the value."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: NAME or file: PATH")
        return self


class FeedConfig(_Strict):
    """One feed: a URL, or a local file or directory (``path``), with an optional interval."""

    url: str | None = None
    path: str | None = None
    name: str | None = None
    interval: Duration | None = None
    # The actor whose own statements this feed carries (a government's press releases), so
    # that "we insist" and "the President said" count as theirs. An actor id of the rules.
    voice: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> FeedConfig:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url: or path:")
        if self.url is not None and not re.match(r"^https?://", self.url):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        return self

    @property
    def location(self) -> str:
        """The URL, or the local path as given (resolved by :func:`load_config`)."""
        return self.url if self.url is not None else str(self.path)


class TerminalConfig(_Strict):
    """Alerts printed to standard output."""

    type: Literal["terminal"]
    rate_limit: float | None = Field(default=None, gt=0)


class SlackConfig(_Strict):
    """Slack: an incoming webhook (its URL is a secret), or a bot token and a channel id, with
    which every later delta on an (actor, demand) goes into the thread of its first alert."""

    type: Literal["slack"]
    webhook_url: Secret | None = None
    bot_token: Secret | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"
    timeout: Duration = 10.0
    # Slack allows about one message per second per webhook or channel.
    rate_limit: float | None = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one_mode(self) -> SlackConfig:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError("give exactly one of webhook_url: or bot_token: (with channel:)")
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token: needs channel: (the Slack channel id, e.g. C0123456)")
        return self


class EmailConfig(_Strict):
    """Email over SMTP."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password: Secret | None = None
    starttls: bool = False
    tls: bool = False
    timeout: Duration = 30.0
    rate_limit: float | None = Field(default=None, gt=0)


class WebhookConfig(_Strict):
    """JSON posted to a URL (a secret: it may carry a token), signed with HMAC-SHA256."""

    type: Literal["webhook"]
    url: Secret
    hmac_key: Secret | None = None
    timeout: Duration = 10.0
    rate_limit: float | None = Field(default=None, gt=0)


class AppriseConfig(_Strict):
    """Any service Apprise knows (Teams, Telegram, Discord, ntfy, ...), by its Apprise URL."""

    type: Literal["apprise"]
    url: Secret
    rate_limit: float | None = Field(default=None, gt=0)


ChannelConfig = Annotated[
    TerminalConfig | SlackConfig | EmailConfig | WebhookConfig | AppriseConfig,
    Field(discriminator="type"),
]


class RouteConfig(_Strict):
    """Deltas that match every given list (an empty list matches all) go to these channels.

    Routes are tried in order; the first that matches decides, unless it says ``continue:
    true``, in which case the next ones are tried too (as in Alertmanager). ``digest``: ``auto``
    sends ``demand_repeated`` into the digest and the rest at once; ``never`` sends all at once;
    ``hourly`` or ``daily`` puts everything matched into that digest.
    """

    kinds: list[DeltaKind] = Field(default_factory=list)
    actors: list[str] = Field(default_factory=list)
    demands: list[str] = Field(default_factory=list)
    severities: list[Literal["low", "medium", "high"]] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    channels: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")
    digest: Literal["auto", "never", "hourly", "daily"] = "auto"
    group_wait: Wait | None = None
    realert: Wait | None = None


class AlertsConfig(_Strict):
    """How alerts are grouped, throttled and retried (routes may override the first three)."""

    # Deltas of one (actor, demand) within this window arrive as one message.
    group_wait: Wait = 30.0
    # A (actor, demand, kind) already sent on a channel is not sent again within this interval.
    realert: Wait = 4 * 3600.0
    # The period of the default digest, which gathers demand_repeated.
    digest: Literal["hourly", "daily"] = "hourly"
    # Retries: exponential from retry_base, capped at retry_max, with jitter.
    retry_base: Duration = 5.0
    retry_max: Duration = 3600.0
    # Jinja2 templates that replace the built-in ones (see the README); relative to the config.
    templates: str | None = None


class HttpConfig(_Strict):
    """Bounds on every request newsmon makes."""

    connect_timeout: Duration = 10.0
    total_timeout: Duration = 30.0
    max_feed_bytes: int = Field(default=10 * 2**20, gt=0)
    max_page_bytes: int = Field(default=5 * 2**20, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    per_host: int = Field(default=2, ge=1)
    total: int = Field(default=20, ge=1)
    # Networks that links found in feeds may reach although private or loopback.
    allow_networks: list[str] = Field(default_factory=list)


class EndpointConfig(_Strict):
    """The daemon's own HTTP endpoint: /metrics (Prometheus) and /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class PollingConfig(_Strict):
    """How feeds are scheduled, and when ops hear about them."""

    min_interval: Duration = 60.0  # no feed is polled more often than this
    adaptive: bool = True  # follow each feed's own cadence, within [2m, 2h]
    failures_before_alert: int = Field(default=5, ge=1)
    quiet_factor: float = Field(default=10.0, gt=1.0)  # "quiet": silent this many cadences
    backfill: bool = False  # alert on a new feed's backlog too


class Config(_Strict):
    """The whole daemon config, with every default filled in."""

    database: str | None = None
    rules: list[str] = Field(default_factory=list)
    feeds: list[FeedConfig] = Field(default_factory=list)
    poll_interval: Duration = 300.0
    workers: int = Field(default=2, ge=1, le=64)
    http: HttpConfig = Field(default_factory=HttpConfig)
    polling: PollingConfig = Field(default_factory=PollingConfig)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    # Items in flight get this long to finish after SIGTERM; the rest return to the queue.
    stop_timeout: Duration = 8.0
    # Reload when a rule file (or this config file) changes, as on SIGHUP.
    watch: bool = True
    endpoint: EndpointConfig | None = None
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    # Channels that get notices for ops (an alert parked as failed, a feed failing, ...).
    ops: list[str] = Field(default_factory=list)
    # A demand voiced again after this long a silence has resurfaced; per demand id if given.
    resurface_window: Duration = DEFAULT_RESURFACE_WINDOW.total_seconds()
    resurface_windows: dict[str, Duration] = Field(default_factory=dict)
    source: str = Field(default="(defaults)", exclude=True)
    _lines: LineMap | None = PrivateAttr(default=None)  # where each key was written

    @field_validator("feeds", mode="before")
    @classmethod
    def _feed_shorthand(cls, value: Any) -> Any:
        # "- https://..." or "- path/to/feed.xml" is shorthand for a mapping.
        if not isinstance(value, list):
            return value
        return [
            ({"url": v} if re.match(r"^https?://", v) else {"path": v}) if isinstance(v, str) else v
            for v in value
        ]

    def line(self, *path: str | int) -> int | None:
        """The line of the file where the value at ``path`` was written (None: no file)."""
        return self._lines.line(path) if self._lines is not None else None

    def database_path(self) -> Path:
        """The SQLite file to use."""
        return Path(self.database) if self.database else default_database_path()

    def feed_locations(self) -> list[FeedConfig]:
        """The configured feeds, or the default public feeds when none are configured."""
        return self.feeds or [FeedConfig(url=u) for u in DEFAULT_FEEDS]

    def channel_configs(self) -> dict[str, ChannelConfig]:
        """The configured channels, or the terminal alone."""
        return self.channels or {"terminal": TerminalConfig(type="terminal")}

    def judging(self) -> Judging:
        """How findings are judged: the resurfacing windows."""
        return Judging(
            window=timedelta(seconds=self.resurface_window),
            windows={d: timedelta(seconds=s) for d, s in self.resurface_windows.items()},
        )

    def route_list(self) -> list[RouteConfig]:
        """The configured routes, or every kind to every channel."""
        return self.routes or [RouteConfig(channels=list(self.channel_configs()))]

    def ops_channels(self) -> list[str]:
        """Channels for ops notices: as configured, else the terminal when it is the default."""
        return self.ops or ([] if self.channels else ["terminal"])


def channel_secrets(channel: BaseModel) -> dict[str, Secret]:
    """The secret fields of a channel config, by key."""
    return {
        key: value
        for key in type(channel).model_fields
        if isinstance(value := getattr(channel, key), Secret)
    }


def secret_values(config: Config) -> list[str]:
    """Every secret value the config names, read now: for the log redactor."""
    return [
        read_secret(secret, name)
        for name, channel in config.channel_configs().items()
        for secret in channel_secrets(channel).values()
    ]


def default_database_path() -> Path:
    """``$STATE_DIRECTORY`` under systemd, else ``$XDG_STATE_HOME/newsmon``, else ~/.local/state."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0]) / "newsmon.db"
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "newsmon" / "newsmon.db"


# How load_config treats secrets: "read" every one now, a secret that cannot be read being a
# problem (the daemon); "reachable": the same, except for a secret this process has no way to
# reach (``unreachable_secrets``: newsmon check run from a shell); "skip": read none (commands
# that only read the database, and send-test-alert, which reads its one channel's).
SecretCheck = Literal["read", "reachable", "skip"]


def _unreachable(secret: Secret) -> str | None:
    """Why this process cannot tell whether the secret is there; None when it can."""
    if secret.env is not None:
        return None if secret.env in os.environ else f"${secret.env} is not set here"
    relative = secret.file is not None and not Path(secret.file).is_absolute()
    if relative and not os.environ.get("CREDENTIALS_DIRECTORY"):
        return (
            f"credential {secret.file} is read from $CREDENTIALS_DIRECTORY, "
            "which only the service has (set it to the credentials folder to check)"
        )
    return None


def unreachable_secrets(config: Config) -> list[str]:
    """``file: channels.NAME.KEY: why`` for each secret this process cannot check."""
    return [
        f"{config.source}: channels.{name}.{key}: not checked here: {why}"
        for name, channel in config.channels.items()
        for key, secret in channel_secrets(channel).items()
        if (why := _unreachable(secret)) is not None
    ]


def read_secret(secret: Secret, where: str) -> str:
    """The value of a secret; raises ConfigError naming where it was asked for, not its value."""
    if secret.env is not None:
        value = os.environ.get(secret.env)
        if not value:
            raise ValueError(f"environment variable {secret.env} is not set")
        return value
    assert secret.file is not None
    path = Path(secret.file)
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if not path.is_absolute() and creds:
        path = Path(creds) / path
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        hint = "" if path.is_absolute() else " ($CREDENTIALS_DIRECTORY is not set)"
        raise ValueError(f"cannot read secret file {path}: {exc.strerror or exc}{hint}") from exc


def _resolve_paths(config: Config, base: Path) -> Config:
    def rel(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    feeds = [
        f if f.path is None else f.model_copy(update={"path": rel(f.path)}) for f in config.feeds
    ]
    return config.model_copy(
        update={
            "feeds": feeds,
            "rules": [rel(r) for r in config.rules],
            "database": rel(config.database) if config.database else None,
            "alerts": config.alerts.model_copy(
                update={
                    "templates": rel(config.alerts.templates) if config.alerts.templates else None
                }
            ),
        }
    )


def _semantic_problems(config: Config, doc: YamlDocument, secrets: SecretCheck) -> list[Problem]:
    problems = []
    names = set(config.channel_configs())
    for i, route in enumerate(config.routes):
        for j, name in enumerate(route.channels):
            if name not in names:
                where: tuple[str | int, ...] = ("routes", i, "channels", j)
                problems.append(
                    Problem(
                        doc.path,
                        doc.lines.line(where),
                        f"routes[{i}].channels[{j}]",
                        f"no channel named {name!r} (channels: {', '.join(sorted(names))})",
                    )
                )
    for i, name in enumerate(config.ops):
        if name not in names:
            problems.append(
                Problem(
                    doc.path,
                    doc.lines.line(("ops", i)),
                    f"ops[{i}]",
                    f"no channel named {name!r} (channels: {', '.join(sorted(names))})",
                )
            )
    if config.alerts.templates and not Path(config.alerts.templates).is_dir():
        problems.append(
            Problem(
                doc.path,
                doc.lines.line(("alerts", "templates")),
                "alerts.templates",
                f"not a directory: {config.alerts.templates}",
            )
        )
    for name, channel in config.channels.items() if secrets != "skip" else ():
        for key, secret in channel_secrets(channel).items():
            if secrets == "reachable" and _unreachable(secret) is not None:
                continue
            try:
                read_secret(secret, name)
            except ValueError as exc:
                where = ("channels", name, key)
                problems.append(
                    Problem(doc.path, doc.lines.line(where), f"channels.{name}.{key}", str(exc))
                )
    for i, feed in enumerate(config.feeds):
        if feed.path is not None and not Path(feed.path).exists():
            where = ("feeds", i)
            problems.append(
                Problem(
                    doc.path,
                    doc.lines.line(where),
                    f"feeds[{i}].path",
                    f"no such file or directory: {feed.path}",
                )
            )
    for i, rules in enumerate(config.rules):
        if not Path(rules).is_dir():
            where = ("rules", i)
            problems.append(
                Problem(doc.path, doc.lines.line(where), f"rules[{i}]", f"not a directory: {rules}")
            )
    return problems


def load_config(path: str | Path | None, *, secrets: SecretCheck = "read") -> Config:
    """Load and validate a config file; ``None`` gives the embedded defaults.

    Raises :class:`ConfigError` listing every problem with file, line and key. ``secrets``
    says which secrets must be readable now (see ``SecretCheck``).
    """
    if path is None:
        return Config()
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        raise ConfigError(exc.problems) from exc
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(doc.path, 1, "", "the config must be a mapping of keys")])
    problems = list(doc.duplicates)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + problems_from_validation(doc, exc)) from exc
    config = _resolve_paths(config, Path(path).resolve().parent).model_copy(
        update={"source": str(path)}
    )
    problems += _semantic_problems(config, doc, secrets)
    if problems:
        raise ConfigError(problems)
    config._lines = doc.lines
    return config
