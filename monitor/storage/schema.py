"""The storage model: every table the product keeps (SQLAlchemy 2.x declarative).

mentions ─┬─ classifications   (one per mention, the latest verdict)
          ├─ labels            (a person's correction; wins over the model)
          ├─ reply_drafts      (one per complaint, the latest draft)
          ├─ status_changes    (follow-up history: new → acknowledged → replied → resolved | dismissed)
          └─ incident_members ── incidents
cursors: where each connector left off.
incident_checkpoints, incident_state: the incident engine's saved state (see monitor.incidents.store).
incident_writers, incident_pending: writers at work and the complaints they left to place (watermark).
daemons, connector_leases, job_runs: the fleet of `run` daemons (see monitor.fleet).

Schema changes go through Alembic (monitor/storage/migrations); never edit a
released migration, add a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware UTC datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}
    # Every model here maps one Table (DeclarativeBase types __table__ as any FromClause, which has
    # no insert/update/delete): say so once, for the type checker.
    __table__: ClassVar[Table]


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_mentions_platform_external_id"),
        Index("ix_mentions_created_at", "created_at"),
        Index("ix_mentions_status", "status"),
        # The review inbox: open complaints, oldest first, paged by (created_at, pk); covering its facets.
        Index("ix_mentions_inbox", "status", "created_at", "pk", "platform"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_lang: Mapped[str | None] = mapped_column(String(10), nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    in_reply_to: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    connector: Mapped[str] = mapped_column(String(100), default="")
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # Follow-up status; NULL for mentions that were never flagged as complaints.
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    classification: Mapped[ClassificationRow | None] = relationship(
        back_populates="mention", uselist=False, cascade="all, delete-orphan"
    )
    label: Mapped[LabelRow | None] = relationship(uselist=False, cascade="all, delete-orphan")
    reply_draft: Mapped[ReplyDraftRow | None] = relationship(uselist=False, cascade="all, delete-orphan")


class ClassificationRow(Base):
    __tablename__ = "classifications"
    __table_args__ = (
        Index("ix_classifications_complaint_urgency", "is_complaint", "urgency"),
        # The review inbox's join and facet counts, read from the index alone.
        Index("ix_classifications_inbox", "mention_pk", "is_complaint", "urgency", "category", "lang"),
    )

    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), primary_key=True)
    lang: Mapped[str] = mapped_column(String(10))
    is_complaint: Mapped[bool] = mapped_column(Boolean)
    complaint_score: Mapped[float] = mapped_column(Float)
    # What the model said, before incident membership raised it.
    base_urgency: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(50))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(100), default="")
    classified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    mention: Mapped[MentionRow] = relationship(back_populates="classification")


class LabelRow(Base):
    """A person's correction. It overrides the model and feeds the next `train`."""

    __tablename__ = "labels"

    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), primary_key=True)
    is_complaint: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    urgency: Mapped[str | None] = mapped_column(String(10), nullable=True)
    category: Mapped[str | None] = mapped_column(String(50), nullable=True)
    labeled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The review-inbox user who gave it; NULL from the CLI.
    labeled_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ReplyDraftRow(Base):
    __tablename__ = "reply_drafts"

    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(10))
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    template: Mapped[str] = mapped_column(String(200), default="")
    needs_dm: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # What the draft was made from (language, category, urgency, incident); unchanged inputs are not re-drafted.
    inputs: Mapped[str] = mapped_column(String(200), default="")
    # Set when a person edited the draft in the review inbox.
    edited_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StatusChangeRow(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    new_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who made the change (a review-inbox user); NULL for the pipeline and the CLI.
    user_name: Mapped[str | None] = mapped_column(String(100), nullable=True)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_last_seen", "status", "last_seen"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50))
    # emerging → active → resolved; merged (see merged_into)
    status: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(Integer, default=0)
    author_count: Mapped[int] = mapped_column(Integer, default=0)
    urgency: Mapped[str] = mapped_column(String(10))
    key_terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Free-form facts for humans: peak rate, platforms, languages, examples…
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_into: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # Event time it became an incident, and when it resolves unless more reports come.
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolves_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The engine checkpoint its row was first written after (a replay from an older one may retire it).
    opened_epoch: Mapped[int] = mapped_column(Integer, default=0)

    members: Mapped[list[IncidentMemberRow]] = relationship(back_populates="incident", cascade="all, delete-orphan")


class IncidentMemberRow(Base):
    __tablename__ = "incident_members"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), primary_key=True, index=True)
    similarity: Mapped[float] = mapped_column(Float, default=0.0)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # The engine checkpoint this row was written after (see IncidentRow.opened_epoch).
    epoch: Mapped[int] = mapped_column(Integer, default=0)

    incident: Mapped[IncidentRow] = relationship(back_populates="members")
    mention: Mapped[MentionRow] = relationship()


class CursorRow(Base):
    __tablename__ = "cursors"

    connector: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class IncidentCheckpointRow(Base):
    """The incident engine's state after the report at `position_*` (see monitor.incidents.snapshot)."""

    __tablename__ = "incident_checkpoints"
    __table_args__ = (Index("ix_incident_checkpoints_position_at", "position_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position_at: Mapped[datetime] = mapped_column(UTCDateTime())
    position_platform: Mapped[str] = mapped_column(String(50))
    position_external_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class UserRow(Base):
    """A person who may use the review inbox (`complaint-monitor users add`)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # agent | viewer
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class WebSecretRow(Base):
    """The review inbox's session-signing key, made once so sessions survive a restart."""

    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IncidentStateRow(Base):
    """One row: bumped by every incident assignment, so a process knows whether its in-memory state is current."""

    __tablename__ = "incident_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # The last complaint placed (its order key), and how many times history was replayed: a process whose
    # engine saw the same number of replays can catch up by feeding the complaints placed after its own last.
    frontier_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    frontier_platform: Mapped[str | None] = mapped_column(String(50), nullable=True)
    frontier_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rewrites: Mapped[int] = mapped_column(Integer, default=0)
    # The highest checkpoint id ever given: ids never come back after a replay deletes the newest checkpoints
    # (SQLite would reuse them), so an epoch on a row always means the same checkpoint.
    checkpoint_seq: Mapped[int] = mapped_column(Integer, default=0)


class IncidentWriterRow(Base):
    """A process storing mentions right now, and the newest one (in event order) it has stored.

    Complaints are placed in incidents in event order only up to the oldest such position among the
    writers whose registration has not expired (the watermark); see monitor.incidents.watermark."""

    __tablename__ = "incident_writers"

    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    progress_at: Mapped[datetime] = mapped_column(UTCDateTime())
    progress_platform: Mapped[str] = mapped_column(String(50))
    progress_external_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentPendingRow(Base):
    """A stored complaint not yet placed in incidents: it lies beyond another writer's position."""

    __tablename__ = "incident_pending"

    mention_pk: Mapped[int] = mapped_column(ForeignKey("mentions.pk", ondelete="CASCADE"), primary_key=True)


class DaemonRow(Base):
    """One `complaint-monitor run` process: its heartbeat, and when it stopped cleanly (NULL while running)."""

    __tablename__ = "daemons"

    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    """hostname:pid:random, unique per process."""
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_seconds: Mapped[float] = mapped_column(Float)
    """How often it beats: `status` calls it silent after three missed beats."""
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConnectorLeaseRow(Base):
    """Which daemon polls a connector (`holder` until `expires_at`, wall clock), and how its last poll went.

    A released or never-taken lease has holder NULL. The poll columns outlive the lease, so `status`
    shows the last poll even when no daemon is running.
    """

    __tablename__ = "connector_leases"

    connector: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_poll_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class JobRunRow(Base):
    """A scheduled job's run (`job` at `scheduled_for`): the first daemon to insert the row runs it."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
