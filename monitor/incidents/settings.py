"""The `incidents:` and `alerts:` sections of config.yaml."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.durations import Duration
from monitor.incidents.stats import AnomalySettings
from monitor.models import Urgency


class BurstSettings(BaseModel):
    """Flags a category whose complaint count in one hour is far above its usual rate for that hour of day."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    baseline_days: int = Field(14, ge=1, le=90)
    """The same hour of day on this many previous days is the usual rate."""
    min_count: int = Field(5, ge=1)
    """Fewer complaints than this in an hour is never a burst."""
    z: float = Field(3.0, gt=0)
    """The count must exceed mean + z·σ of the baseline …"""
    p_value: float = Field(0.001, gt=0, lt=1)
    """… and be that unlikely under a Poisson law with the baseline mean."""
    min_history_days: int = Field(3, ge=1)
    """Days of stored history needed before bursts are judged (none before: no baseline)."""


class AnomalyConfig(BaseModel):
    """When a group of alike complaints is an incident: clearly above its usual level for that time of day."""

    model_config = ConfigDict(extra="forbid")

    baseline_days: int = Field(7, ge=1, le=60)
    """The usual level is the same window at the same clock time on this many previous days."""
    min_history_days: int = Field(3, ge=1)
    """Covered days needed for that; with fewer (a new installation) the trailing day is the usual level."""
    ratio: float = Field(3.0, ge=1)
    """Distinct authors in the window must be at least this many times the usual count…"""
    p_value: float = Field(0.001, gt=0, lt=1)
    """…and this unlikely under a Poisson law at the usual count."""
    least_usual: float = Field(0.1, gt=0)
    """The usual count assumed when the history holds none (never seen is not impossible)…"""
    coincidence: float = Field(0.01, ge=0, le=1)
    """…and at least this share of all complaints in the window: at a high volume, more reports look
    alike by chance, so a handful of alike reports is not yet an incident."""

    def engine_settings(self) -> AnomalySettings:
        return AnomalySettings(
            baseline_days=self.baseline_days,
            min_history_days=self.min_history_days,
            ratio=self.ratio,
            p_value=self.p_value,
            least_usual=self.least_usual,
            coincidence=self.coincidence,
        )


class IncidentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_authors: int = Field(3, ge=1)
    """Distinct authors, within one `window`, before a group of complaints can be an incident (one person counts
    once). It must also be above its usual level (see `anomaly`)."""
    active_authors: int = Field(5, ge=1)
    """Distinct authors from which an incident is `active` rather than `emerging`."""
    window: Duration = timedelta(hours=2)
    """How close in event time reports must be to group (a group that is not an incident closes after this)."""
    resolve_after: Duration = timedelta(hours=6)
    """An incident back at its usual level (or with no new member) for this long is resolved."""
    recur_within: Duration = timedelta(days=7)
    """A new incident alike to one resolved within this time is linked to it as a recurrence."""
    similarity: float = Field(0.35, gt=0, le=1)
    """How alike (0–1) a complaint must be to a group's reports to join it."""
    merge_similarity: float = Field(0.5, gt=0, le=1)
    """How alike two groups must be to merge into one."""
    category_weight: float = Field(0.25, ge=0, le=1)
    """Added to the text similarity (0–1), times the share of the category's volume above its usual level,
    when a complaint shares the group's specific category (not `other`) while that category is itself
    anomalous in the trailing `category_window`. A category at its normal rate adds nothing."""
    category_window: Duration = timedelta(hours=1)
    category_authors: int = Field(3, ge=1)
    """A category is never anomalous with fewer distinct authors than this within `category_window`."""
    category_penalty: float = Field(0.1, ge=0, le=1)
    """Subtracted from the similarity when two complaints have different specific categories."""
    surge_weight: float = Field(2.0, ge=0, le=10)
    """A word used far more than usual at this time of day (the words fifty people share when one thing
    breaks) weighs up to 1 + this much in the similarity while it surges; 0 turns it off."""
    key_terms: list[str] = Field(default_factory=list)
    """Product names, features, error words that weigh extra when two complaints share them."""
    urgency_by_authors: dict[int, Urgency] = Field(default_factory=lambda: {3: Urgency.HIGH, 10: Urgency.CRITICAL})
    """Distinct authors → the least urgency the incident and each of its members get."""
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)
    burst: BurstSettings = Field(default_factory=BurstSettings)

    @field_validator("window", "resolve_after", "category_window", "recur_within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @model_validator(mode="after")
    def _active_after_min(self) -> IncidentSettings:
        if self.active_authors < self.min_authors:
            raise ValueError("active_authors must be at least min_authors")
        return self

    def urgency_floor(self, authors: int) -> Urgency:
        """The least urgency of an incident (and its members) with this many distinct authors."""
        floor = Urgency.NONE
        for threshold, urgency in self.urgency_by_authors.items():
            if authors >= threshold and urgency.rank > floor.rank:
                floor = urgency
        return floor


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(default_factory=list)
    """Notification targets (apprise URLs: json://host:port/path, mailto://…, slack://, tgram://…)."""
    thresholds: list[int] = Field(default_factory=lambda: [3, 10, 25])
    """Alert when an incident's distinct authors reach each of these (once per threshold)."""
    timeout: Duration = timedelta(seconds=10)
    """Longest wait for one notification target."""

    @field_validator("thresholds")
    @classmethod
    def _sorted_positive(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value):
            raise ValueError("thresholds must be positive numbers of authors")
        return sorted(set(value))
