"""Several `run` daemons on one database: connector leases, heartbeats and once-per-fleet scheduled jobs.

Leases are rows, not PostgreSQL advisory locks. A row works the same on SQLite and PostgreSQL, it
outlives the process that took it (so a daemon killed with -9 is noticed by its expiry, not by a
connection that a pooler may keep open), and `status` can read who holds what and since when.

- A connector's lease is (holder, expires_at). A daemon takes it with one conditional upsert:
  insert, or update when the row is free, already ours, or expired. The database settles a race
  (PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer at a time).
- The holder renews its leases from a heartbeat thread, and again before it saves a cursor: a
  daemon that lost its lease while polling keeps what it stored (storing is idempotent) but does
  not move the cursor.
- A scheduled job runs for (job, scheduled_for) only in the daemon whose insert created that
  job_runs row; the others' inserts do nothing.

Times here are wall-clock UTC of the daemons' hosts (leases are about processes, not mention
time); hosts of one fleet are expected to keep their clocks in sync (NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.storage import Database
from monitor.storage.schema import (
    ConnectorLeaseRow,
    DaemonRow,
    IncidentPendingRow,
    IncidentWriterRow,
    JobRunRow,
    MentionRow,
)

LEASES = ConnectorLeaseRow.__table__
DAEMONS = DaemonRow.__table__
JOB_RUNS = JobRunRow.__table__
WRITERS = IncidentWriterRow.__table__
MIN_HEARTBEAT = 0.25
MAX_HEARTBEAT = 15.0
MAX_LEASE = timedelta(seconds=60)
ERROR_TEXT = 2000
"""Longest error message kept for `status`."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_holder_id() -> str:
    """hostname:pid:random — unique per process, readable in `status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def heartbeat_every(intervals: Iterable[timedelta]) -> float:
    """Seconds between heartbeats: a quarter of the shortest poll interval, within 0.25-15 s."""
    shortest = min((i.total_seconds() for i in intervals), default=60.0)
    return min(MAX_HEARTBEAT, max(MIN_HEARTBEAT, shortest / 4))


def lease_ttl(interval: timedelta) -> timedelta:
    """How long a lease lasts without renewal: three quarters of a poll interval, at most a minute.

    The holder renews it every heartbeat (a quarter interval or less, so three beats in a row must
    fail before it runs out), and the other daemons try to take it at each of their polls (every
    interval), so a daemon killed with -9 has its connectors taken over within ttl + interval,
    1.75 poll intervals, leaving a quarter interval for the new holder's scheduling and commit.
    """
    return min(interval * 3 / 4, MAX_LEASE)


def _insert(connection: Connection, table: Any) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"leases need PostgreSQL or SQLite, not {dialect}")


def _wrote(connection: Connection, stmt: Any, column: Any) -> bool:
    """Whether an upsert wrote its row (False when the conflict clause turned it away).

    PostgreSQL: RETURNING (psycopg reports no row count for INSERT … ON CONFLICT through SQLAlchemy).
    SQLite: the row count (RETURNING needs SQLite 3.35).
    """
    if connection.dialect.name == "postgresql":
        return connection.execute(stmt.returning(column)).first() is not None
    return connection.execute(stmt).rowcount == 1


# -- daemons ---------------------------------------------------------------------------------------


def register_daemon(database: Database, holder: str, heartbeat_seconds: float) -> None:
    hostname, pid, _ = holder.rsplit(":", 2)
    at = now_utc()
    with database.engine.begin() as connection:
        stmt = _insert(connection, DAEMONS).values(
            holder=holder,
            hostname=hostname,
            pid=int(pid),
            started_at=at,
            heartbeat_at=at,
            heartbeat_seconds=heartbeat_seconds,
            stopped_at=None,
        )
        connection.execute(stmt.on_conflict_do_update(index_elements=["holder"], set_={"heartbeat_at": at}))


def heartbeat(database: Database, holder: str, ttls: Mapping[str, timedelta]) -> set[str]:
    """Renew the daemon's heartbeat and the leases it holds among `ttls`; the connectors still held."""
    at = now_utc()
    held: set[str] = set()
    with database.engine.begin() as connection:
        connection.execute(update(DAEMONS).where(DAEMONS.c.holder == holder).values(heartbeat_at=at))
        for connector, ttl in ttls.items():
            result = connection.execute(
                update(LEASES)
                .where(LEASES.c.connector == connector, LEASES.c.holder == holder)
                .values(expires_at=at + ttl)
            )
            if result.rowcount:
                held.add(connector)
    return held


def mark_stopped(database: Database, holder: str) -> None:
    """A clean stop: give back every lease and record the stop time."""
    at = now_utc()
    with database.engine.begin() as connection:
        connection.execute(
            update(LEASES).where(LEASES.c.holder == holder).values(holder=None, acquired_at=None, expires_at=None)
        )
        connection.execute(update(DAEMONS).where(DAEMONS.c.holder == holder).values(heartbeat_at=at, stopped_at=at))


# -- leases ----------------------------------------------------------------------------------------


def acquire(database: Database, connector: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew `connector`'s lease for `ttl`: True when it is ours now.

    One statement: insert the row, or update it when it is free, ours, or expired. Whoever the
    database lets write first wins; the condition is checked again on the row as it is then.
    """
    at = now_utc()
    with database.engine.begin() as connection:
        stmt = _insert(connection, LEASES).values(
            connector=connector, holder=holder, acquired_at=at, expires_at=at + ttl
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["connector"],
            set_={
                "holder": stmt.excluded.holder,
                "acquired_at": case(
                    (LEASES.c.holder == stmt.excluded.holder, LEASES.c.acquired_at), else_=stmt.excluded.acquired_at
                ),
                "expires_at": stmt.excluded.expires_at,
            },
            where=or_(LEASES.c.holder.is_(None), LEASES.c.holder == holder, LEASES.c.expires_at < at),
        )
        return _wrote(connection, stmt, LEASES.c.connector)


def renew(database: Database, connector: str, holder: str, ttl: timedelta) -> bool:
    """Extend a lease we hold; False when it is no longer ours (it expired and another daemon took it)."""
    at = now_utc()
    with database.engine.begin() as connection:
        result = connection.execute(
            update(LEASES).where(LEASES.c.connector == connector, LEASES.c.holder == holder).values(expires_at=at + ttl)
        )
        return bool(result.rowcount)


def release(database: Database, connector: str, holder: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            update(LEASES)
            .where(LEASES.c.connector == connector, LEASES.c.holder == holder)
            .values(holder=None, acquired_at=None, expires_at=None)
        )


def holder_of(database: Database, connector: str) -> str | None:
    """The current holder of an unexpired lease, if any."""
    with database.engine.connect() as connection:
        row = connection.execute(
            select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.connector == connector)
        ).first()
    if row is None or row.holder is None or row.expires_at is None or row.expires_at < now_utc():
        return None
    return str(row.holder)


def record_poll(database: Database, connector: str, holder: str, outcome: str, summary: str, error: str | None) -> None:
    """How the last poll went, for `status`. An error stays listed (with its time) after later good polls."""
    from monitor.secrets import mask

    at = now_utc()
    values: dict[str, Any] = {
        "last_poll_at": at,
        "last_poll_by": holder,
        "last_outcome": outcome,
        "last_summary": mask(summary)[:ERROR_TEXT],
    }
    if error is not None:
        values.update(last_error=mask(error)[:ERROR_TEXT], last_error_at=at)
    with database.engine.begin() as connection:
        stmt = _insert(connection, LEASES).values(connector=connector, **values)
        connection.execute(stmt.on_conflict_do_update(index_elements=["connector"], set_=values))


# -- scheduled jobs --------------------------------------------------------------------------------


def claim_job(database: Database, job: str, scheduled_for: datetime, holder: str) -> bool:
    """True for exactly one daemon per (job, scheduled_for): the one whose insert made the row."""
    with database.engine.begin() as connection:
        stmt = _insert(connection, JOB_RUNS).values(
            job=job, scheduled_for=scheduled_for, holder=holder, started_at=now_utc()
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
        return _wrote(connection, stmt, JOB_RUNS.c.job)


def finish_job(database: Database, job: str, scheduled_for: datetime, outcome: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            update(JOB_RUNS)
            .where(JOB_RUNS.c.job == job, JOB_RUNS.c.scheduled_for == scheduled_for)
            .values(finished_at=now_utc(), outcome=outcome[:ERROR_TEXT])
        )


# -- status ----------------------------------------------------------------------------------------


@dataclass
class DaemonStatus:
    holder: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_seconds: float
    stopped_at: datetime | None
    state: str
    """running | silent (no heartbeat for 3 beats: killed, hung or cut off) | stopped"""
    connectors: list[str] = field(default_factory=list)


@dataclass
class ConnectorStatus:
    connector: str
    configured: bool
    holder: str | None
    lease_expires_at: datetime | None
    last_poll_at: datetime | None
    last_poll_by: str | None
    last_outcome: str | None
    last_summary: str | None
    last_error: str | None
    last_error_at: datetime | None
    newest_mention_at: datetime | None
    since_last_poll_seconds: float | None
    mention_lag_seconds: float | None


@dataclass
class JobStatus:
    job: str
    scheduled_for: datetime
    holder: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None


@dataclass
class WriterStatus:
    """A process storing mentions now, and how far (in event time) it has stored: see monitor.incidents.watermark."""

    writer: str
    stored_up_to: datetime
    expires_at: datetime


@dataclass
class FleetStatus:
    now: datetime
    daemons: list[DaemonStatus]
    connectors: list[ConnectorStatus]
    jobs: list[JobStatus]
    writers: list[WriterStatus] = field(default_factory=list)
    waiting_complaints: int = 0
    """Stored complaints not yet placed in incidents: they lie beyond the oldest writer's position."""


def fleet_status(
    database: Database, configured: Iterable[str], now: datetime | None = None, jobs: int = 5
) -> FleetStatus:
    """Daemons (with their heartbeat), connectors (holder, last poll, lag, last error) and recent job runs."""
    now = now or now_utc()
    with database.engine.connect() as connection:
        daemons = connection.execute(select(DAEMONS).order_by(DAEMONS.c.started_at)).all()
        leases = {row.connector: row for row in connection.execute(select(LEASES)).all()}
        newest = dict(
            connection.execute(
                select(MentionRow.connector, func.max(MentionRow.created_at)).group_by(MentionRow.connector)
            ).all()
        )
        runs = connection.execute(select(JOB_RUNS).order_by(JOB_RUNS.c.scheduled_for.desc()).limit(jobs)).all()
        writers = connection.execute(
            select(WRITERS.c.holder, WRITERS.c.progress_at, WRITERS.c.expires_at).order_by(WRITERS.c.progress_at)
        ).all()
        waiting = connection.scalar(select(func.count()).select_from(IncidentPendingRow.__table__)) or 0
    newest = {name: when for name, at in newest.items() if (when := _utc(at)) is not None}
    names = list(dict.fromkeys([*configured, *sorted(leases)]))
    configured_set = set(configured)
    connectors: list[ConnectorStatus] = []
    for name in names:
        lease = leases.get(name)
        live = (
            lease is not None and lease.holder is not None and lease.expires_at is not None and lease.expires_at >= now
        )
        last_poll = lease.last_poll_at if lease is not None else None
        newest_at = newest.get(name)
        connectors.append(
            ConnectorStatus(
                connector=name,
                configured=name in configured_set,
                holder=lease.holder if live and lease is not None else None,
                lease_expires_at=lease.expires_at if live and lease is not None else None,
                last_poll_at=last_poll,
                last_poll_by=lease.last_poll_by if lease is not None else None,
                last_outcome=lease.last_outcome if lease is not None else None,
                last_summary=lease.last_summary if lease is not None else None,
                last_error=lease.last_error if lease is not None else None,
                last_error_at=lease.last_error_at if lease is not None else None,
                newest_mention_at=newest_at,
                since_last_poll_seconds=(now - last_poll).total_seconds() if last_poll else None,
                mention_lag_seconds=(now - newest_at).total_seconds() if newest_at else None,
            )
        )
    holding: dict[str, list[str]] = {}
    for status in connectors:
        if status.holder:
            holding.setdefault(status.holder, []).append(status.connector)
    daemon_rows = [
        DaemonStatus(
            holder=row.holder,
            hostname=row.hostname,
            pid=row.pid,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            heartbeat_seconds=row.heartbeat_seconds,
            stopped_at=row.stopped_at,
            state=_daemon_state(row.stopped_at, row.heartbeat_at, row.heartbeat_seconds, now),
            connectors=holding.get(row.holder, []),
        )
        for row in daemons
    ]
    job_rows = [
        JobStatus(row.job, row.scheduled_for, row.holder, row.started_at, row.finished_at, row.outcome) for row in runs
    ]
    writer_rows = [
        WriterStatus(holder, at, expires)
        for holder, progress_at, expires_at in writers
        if (at := _utc(progress_at)) is not None and (expires := _utc(expires_at)) is not None and expires >= now
    ]
    return FleetStatus(now, daemon_rows, connectors, job_rows, writer_rows, int(waiting))


def _utc(value: datetime | None) -> datetime | None:
    """func.max() results skip the column type on SQLite (a string or a naive datetime comes back)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _daemon_state(stopped_at: datetime | None, heartbeat_at: datetime, every: float, now: datetime) -> str:
    if stopped_at is not None:
        return "stopped"
    if (now - heartbeat_at).total_seconds() > 3 * every + 1:
        return "silent"
    return "running"


def prune_daemons(database: Database, older_than: timedelta = timedelta(days=7)) -> None:
    """Forget daemons not heard from for a week (their leases expired long ago)."""
    with database.engine.begin() as connection:
        connection.execute(DAEMONS.delete().where(DAEMONS.c.heartbeat_at < now_utc() - older_than))
