"""The incident watermark: how far, in event order, complaints may be placed while several processes write.

Every stream of mentions a process stores (an import, one poll of a connector) registers as a writer
in `incident_writers`, with the newest mention it has stored (its order key) and a lease: each of its
batches renews both. Complaints are placed in incidents in event order only up to the watermark, the
oldest position among the live registrations: a writer's stream is in event order, so nothing it
stores later lies before its position. A complaint beyond the watermark waits in `incident_pending`
(committed with it, so a killed process loses nothing) until a later transaction, of any writer,
finds the watermark past it. A stream that ends deregisters; a killed one stops counting when its
lease runs out. With no other live writer there is no watermark: everything is placed at once.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from monitor.models import utc
from monitor.stages import WriterProgress
from monitor.storage.bulk import insert_rows
from monitor.storage.schema import IncidentPendingRow, IncidentWriterRow, MentionRow

OrderKey = tuple[datetime, str, str]
WRITER_LEASE = timedelta(seconds=60)
"""How long a writer's registration holds the watermark back after its last batch (a killed process)."""
_IN_CHUNK = 500


def new_writer_id() -> str:
    """hostname:pid:random — unique per process; a stream appends its own number."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _dead_here(holder: str) -> bool:
    """A writer of this host whose process is gone (killed): it stops holding the watermark at once."""
    parts = holder.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _now() -> datetime:
    return datetime.now(UTC)


def _key(at: datetime, platform: str, external_id: str) -> OrderKey:
    return (utc(at), platform, external_id)


def register(session: Session, progress: WriterProgress, lease: timedelta = WRITER_LEASE) -> None:
    """Record (or move forward) a writer's position, and renew its lease."""
    row = session.get(IncidentWriterRow, progress.writer)
    expires = _now() + lease
    key = _key(progress.at, progress.platform, progress.external_id)
    if row is None:
        session.add(
            IncidentWriterRow(
                holder=progress.writer,
                progress_at=key[0],
                progress_platform=key[1],
                progress_external_id=key[2],
                expires_at=expires,
            )
        )
    else:
        if _key(row.progress_at, row.progress_platform, row.progress_external_id) < key:
            row.progress_at, row.progress_platform, row.progress_external_id = key
        row.expires_at = expires
    session.flush()


def deregister(session: Session, writer: str) -> None:
    session.execute(delete(IncidentWriterRow).where(IncidentWriterRow.holder == writer))


def is_registered(session: Session, writer: str) -> bool:
    return session.get(IncidentWriterRow, writer) is not None


def oldest(session: Session) -> OrderKey | None:
    """The watermark: the oldest position among the live writers (None when there is none: place all)."""
    now = _now()
    session.execute(delete(IncidentWriterRow).where(IncidentWriterRow.expires_at <= now))
    rows = session.execute(
        select(
            IncidentWriterRow.holder,
            IncidentWriterRow.progress_at,
            IncidentWriterRow.progress_platform,
            IncidentWriterRow.progress_external_id,
        )
    ).all()
    gone = [holder for holder, *_ in rows if _dead_here(holder)]
    if gone:
        session.execute(delete(IncidentWriterRow).where(IncidentWriterRow.holder.in_(gone)))
        rows = [row for row in rows if row[0] not in gone]
    return min((_key(at, platform, external_id) for _, at, platform, external_id in rows), default=None)


def defer(session: Session, pks: Sequence[int]) -> None:
    insert_rows(session, IncidentPendingRow.__table__, [{"mention_pk": pk} for pk in pks])


def any_pending(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(IncidentPendingRow.mention_pk.isnot(None)))))


def take(session: Session, upto: OrderKey | None) -> list[int]:
    """Remove from the pending table, and return, the complaints at or before `upto` (all when None)."""
    # From the pending side, which is short or empty: joined from the mentions' side, the database may walk
    # every stored mention up to `upto` on each batch, which grows with the store.
    waiting = list(session.scalars(select(IncidentPendingRow.mention_pk)))
    pks: list[int] = []
    for offset in range(0, len(waiting), _IN_CHUNK):
        stmt = select(MentionRow.pk, MentionRow.created_at, MentionRow.platform, MentionRow.external_id).where(
            MentionRow.pk.in_(waiting[offset : offset + _IN_CHUNK])
        )
        pks.extend(
            pk
            for pk, at, platform, external_id in session.execute(stmt)
            if upto is None or _key(at, platform, external_id) <= upto
        )
    for offset in range(0, len(pks), _IN_CHUNK):
        chunk = pks[offset : offset + _IN_CHUNK]
        session.execute(delete(IncidentPendingRow).where(IncidentPendingRow.mention_pk.in_(chunk)))
    return pks


def not_pending() -> ColumnElement[bool]:
    """SQL: the mention is not waiting to be placed."""
    return ~exists().where(IncidentPendingRow.mention_pk == MentionRow.pk)
