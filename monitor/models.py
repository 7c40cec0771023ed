"""The values every pipeline stage passes along.

`Mention` is the unit of work. Its JSON form (one object a line, see
`monitor.mention_io`) is a public format shared by the file connector,
`complaint-monitor import` and the exports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_TEXT_CHARS = 20_000
"""Longer texts are cut here: nothing a human writes in a mention is longer,
and an unbounded text would let one hostile payload slow every stage."""


class MentionError(ValueError):
    """A mention record that cannot be accepted (missing field, bad timestamp…)."""


class Urgency(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _URGENCY_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> Urgency:
        return _URGENCY_ORDER[max(0, min(rank, len(_URGENCY_ORDER) - 1))]

    def raised(self, steps: int = 1) -> Urgency:
        """This urgency moved up by `steps` levels (never above critical)."""
        return Urgency.from_rank(self.rank + steps)

    def __str__(self) -> str:
        return self.value


_URGENCY_ORDER = [Urgency.NONE, Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH, Urgency.CRITICAL]


class Status(enum.StrEnum):
    """Follow-up state of a flagged mention: new → acknowledged → replied → resolved, or dismissed."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    REPLIED = "replied"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"

    @property
    def is_open(self) -> bool:
        return self in (Status.NEW, Status.ACKNOWLEDGED, Status.REPLIED)


@dataclass(frozen=True, slots=True)
class Metrics:
    followers: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"followers": self.followers, "likes": self.likes, "reposts": self.reposts, "replies": self.replies}

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # pickled to and from the preparing process per mention: the slots default (fields() per object) is slow
        return (self.__class__, (self.followers, self.likes, self.reposts, self.replies))


@dataclass(slots=True)
class Mention:
    """One public post that mentions the brand.

    `created_at` is always timezone-aware UTC; every time rule in the product
    (windows, incidents, ageing) uses it rather than the wall clock.
    `raw` keeps keys of the source record that this class has no field for.
    """

    id: str
    platform: str
    author: str
    text: str
    created_at: datetime
    url: str | None = None
    lang: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    in_reply_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """Identity across the whole store: the same id on two platforms is two mentions."""
        return (self.platform, self.id)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # pickled to and from the preparing process per mention: the slots default (fields() per object) is slow
        return (
            self.__class__,
            (
                self.id,
                self.platform,
                self.author,
                self.text,
                self.created_at,
                self.url,
                self.lang,
                self.metrics,
                self.in_reply_to,
                self.raw,
            ),
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classify stage says about one mention."""

    lang: str
    is_complaint: bool
    complaint_score: float
    urgency: Urgency
    category: str
    reasons: tuple[str, ...] = ()
    model_version: str = ""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # pickled to and from the preparing process per mention: the slots default (fields() per object) is slow
        return (
            self.__class__,
            (
                self.lang,
                self.is_complaint,
                self.complaint_score,
                self.urgency,
                self.category,
                self.reasons,
                self.model_version,
            ),
        )


@dataclass(frozen=True, slots=True)
class IncidentContext:
    """What the reply stage needs to know about the incident a mention belongs to."""

    id: str
    title: str
    category: str
    size: int
    status: str


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """A suggested public reply. `ok` is False when the draft broke a rule; `problems` says which."""

    text: str
    lang: str
    ok: bool = True
    problems: tuple[str, ...] = ()
    template: str = ""
    needs_dm: bool = False

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # pickled to and from the preparing process per mention: the slots default (fields() per object) is slow
        return (self.__class__, (self.text, self.lang, self.ok, self.problems, self.template, self.needs_dm))


def utc(dt: datetime) -> datetime:
    """The same instant as an aware UTC datetime (naive input is taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


SIZE_BUCKETS = (1, 3, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def size_bucket(size: int) -> int:
    """An incident's size as reply wording sees it ('at least N reports'): drafts change only between buckets."""
    return max((b for b in SIZE_BUCKETS if b <= size), default=0)
