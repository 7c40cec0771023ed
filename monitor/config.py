"""config.yaml: loading and validation.

Each feature owns the model of its own section (classifier, incidents, replies);
this module assembles them and turns every mistake into one readable line.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from classifiers.settings import ClassifierSettings
from connectors.base import BrandFilter
from monitor.durations import Duration
from monitor.errors import MonitorError
from monitor.incidents.brief.settings import BriefSettings
from monitor.incidents.settings import AlertSettings, IncidentSettings
from monitor.replies.settings import ReplySettings
from monitor.yaml_text import load_yaml

DEFAULT_CONFIG_NAME = "config.yaml"
DB_ENV_VAR = "MONITOR_DB"


class ConfigError(MonitorError):
    """The configuration cannot be used; the message says where and why."""


class StorageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "sqlite:///complaint-monitor.db"
    """Any SQLAlchemy URL. A relative SQLite path is relative to the config file."""


class IngestSettings(BaseModel):
    """What the pipeline takes in, from any channel or file."""

    model_config = ConfigDict(extra="forbid")

    max_future: Duration = timedelta(hours=1)
    """How far ahead of the clock a mention's created_at may be (clock skew). One further ahead is a broken
    clock: it would become the stream's "now" and age every other complaint."""
    future: str = "reject"
    """What happens to a mention dated further ahead: `reject` (reported with the reason) or `clamp` (stored at
    the time it came in, the claimed time kept under `created_at_claimed`)."""

    @field_validator("future")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in ("reject", "clamp"):
            raise ValueError("must be reject or clamp")
        return value


class BrandSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Brand"
    names: list[str] = Field(default_factory=list)
    """Words that make a post a mention (brand and product names)."""
    handles: list[str] = Field(default_factory=list)
    """The brand's own accounts: never ingested as mentions."""
    hashtags: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    """Posts containing any of these are not mentions (e.g. a homonym)."""
    languages: list[str] = Field(default_factory=list)
    """Only these languages, where the channel can filter (empty: all)."""

    def filter(self) -> BrandFilter:
        return BrandFilter(
            names=tuple(self.names or [self.name]),
            handles=tuple(self.handles),
            hashtags=tuple(self.hashtags),
            exclude=tuple(self.exclude),
            languages=tuple(self.languages),
        )


class ConnectorSettings(BaseModel):
    """One channel. Keys other than these are the connector's own options."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str
    interval: Duration = timedelta(minutes=5)
    enabled: bool = True
    timeout: Duration = timedelta(seconds=30)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule: str = "0 8 * * *"
    """When the daemon writes the digest: a crontab line (minute hour day month weekday), or six fields with
    seconds first. A fleet of daemons writes it once per scheduled time (monitor.fleet)."""
    timezone: str = "UTC"
    lookback: Duration = timedelta(hours=48)
    """Incidents and complaints newer than this (before the newest mention) are shown."""
    follow_up: Duration = timedelta(hours=4)
    """A complaint still `new` after this long is listed under 'still waiting'."""
    format: str = "html"
    out: str = "digest.html"
    max_per_urgency: int = Field(50, ge=1)
    recurring_weeks: int = Field(4, ge=1, le=52)
    """Recurring issues: the last 7 days against the mean of this many 7-day periods before them."""
    recurring_min: int = Field(5, ge=1)
    """A category is listed under recurring issues with at least this many complaints in the last 7 days."""
    follow_up_by_urgency: dict[str, Duration] = Field(default_factory=dict)
    """Per-urgency follow-up times (critical: 30m …); an urgency not listed uses `follow_up`."""

    @field_validator("follow_up_by_urgency")
    @classmethod
    def _known_urgencies(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        known = ("low", "medium", "high", "critical")
        for key in value:
            if key not in known:
                raise ValueError(f"unknown urgency {key!r} (use {', '.join(known)})")
        return value

    def follow_up_for(self, urgency: str) -> timedelta:
        return self.follow_up_by_urgency.get(urgency, self.follow_up)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("html", "md", "text"):
            raise ValueError("must be one of html, md, text")
        return value


class WebSettings(BaseModel):
    """`complaint-monitor serve`: the review inbox."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    """Only this machine by default: the inbox shows customers' personal data. Put a TLS proxy in front."""
    port: int = Field(8765, ge=1, le=65535)
    page_size: int = Field(50, ge=5, le=500)
    secure_cookies: bool = False
    """Send the session cookie over HTTPS only (set it when serving behind a TLS reverse proxy)."""
    session_hours: int = Field(12, ge=1, le=24 * 30)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage: StorageSettings = Field(default_factory=StorageSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    brand: BrandSettings = Field(default_factory=BrandSettings)
    connectors: list[ConnectorSettings] = Field(default_factory=list)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    replies: ReplySettings = Field(default_factory=ReplySettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    briefs: BriefSettings = Field(default_factory=BriefSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    base_dir: Path = Field(default=Path("."), exclude=True)
    """Folder of the config file: relative paths in it are relative to here."""

    @field_validator("connectors")
    @classmethod
    def _unique_names(cls, value: list[ConnectorSettings]) -> list[ConnectorSettings]:
        seen: set[str] = set()
        for entry in value:
            if entry.name in seen:
                raise ValueError(f"two connectors are named '{entry.name}'")
            seen.add(entry.name)
        return value

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def database_url(self, override: str | None = None) -> str:
        """--db, then $MONITOR_DB, then storage.url; relative SQLite paths anchored at the config folder."""
        url = override or os.environ.get(DB_ENV_VAR) or self.storage.url
        prefix = "sqlite:///"
        uri_filename = url.startswith(prefix + "file:")  # sqlite:///file:PATH?mode=ro&uri=true: SQLite reads it
        if (
            url.startswith(prefix)
            and not url.startswith(prefix + "/")
            and url != "sqlite://"
            and ":memory:" not in url
            and not uri_filename
        ):
            if override or os.environ.get(DB_ENV_VAR):
                return prefix + str(Path(url[len(prefix) :]).resolve())
            return prefix + str(self.resolve(url[len(prefix) :]).resolve())
        return url


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        parts.append(f"{where}: {message}")
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return f"{path}: " + "; ".join(parts) + more


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Read and validate a config file. No path and no ./config.yaml: the built-in default, which is the
    config `init` writes (the sample stream, from the copy in the package)."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        if not candidate.exists():
            return builtin_settings(Path.cwd())
        path = candidate
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {config_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {config_path}: {exc}") from None
    return parse_settings(text, config_path)


def builtin_settings(folder: Path) -> Settings:
    """The default config as if `init` had written it in `folder`; relative paths are relative to `folder`."""
    from monitor.defaults import DEFAULT_CONFIG, default_config_text

    settings = parse_settings(default_config_text(folder), DEFAULT_CONFIG)
    settings.base_dir = folder.resolve()
    return settings


def parse_settings(text: str, config_path: Path) -> Settings:
    """Validate the text of a config file; `config_path` names it in errors and anchors its relative paths."""
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{config_path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}: expected a mapping of sections at the top level")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(config_path, exc)) from None
    settings.base_dir = config_path.resolve().parent
    return settings
