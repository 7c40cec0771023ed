"""Queries shared by the pipeline and the CLI: storing mentions, finding them, cursors, status."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, tuple_, update
from sqlalchemy.orm import Session

from monitor.errors import UserError
from monitor.mention_io import format_timestamp
from monitor.models import Classification, Mention, Metrics, Status, Urgency
from monitor.storage.bulk import converted, insert_converted, insert_new_returning, insert_rows, sqlite_dialect
from monitor.storage.schema import (
    ClassificationRow,
    CursorRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    StatusChangeRow,
    now_utc,
)

_KEY_CHUNK = 400
_INSERT_CHUNK = 1000


def mention_from_row(row: MentionRow) -> Mention:
    metrics = row.metrics or {}
    return Mention(
        id=row.external_id,
        platform=row.platform,
        author=row.author,
        text=row.text,
        created_at=row.created_at,
        url=row.url,
        lang=row.source_lang,
        metrics=Metrics(**{k: int(metrics.get(k, 0) or 0) for k in ("followers", "likes", "reposts", "replies")}),
        in_reply_to=row.in_reply_to,
        raw=dict(row.raw or {}),
    )


def classification_of(row: ClassificationRow) -> Classification:
    """A stored verdict as the pipeline's Classification."""
    return Classification(
        lang=row.lang,
        is_complaint=row.is_complaint,
        complaint_score=row.complaint_score,
        urgency=Urgency(row.urgency),
        category=row.category,
        reasons=tuple(row.reasons or ()),
        model_version=row.model_version,
    )


def _row_values(mention: Mention, connector: str, flagged_at: datetime | None = None) -> dict[str, Any]:
    return {
        "platform": mention.platform,
        "external_id": mention.id,
        "author": mention.author,
        "text": mention.text,
        "created_at": mention.created_at,
        "url": mention.url,
        "source_lang": mention.lang,
        "metrics": mention.metrics.to_dict(),
        "in_reply_to": mention.in_reply_to,
        "raw": mention.raw,
        "connector": connector,
        "ingested_at": now_utc(),
        "status": Status.NEW.value if flagged_at is not None else None,
        "status_changed_at": flagged_at,
    }


def existing_pks(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """pk of each (platform, external_id) already stored."""
    found: dict[tuple[str, str], int] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), _KEY_CHUNK):
        chunk = key_list[start : start + _KEY_CHUNK]
        stmt = select(MentionRow.platform, MentionRow.external_id, MentionRow.pk).where(
            tuple_(MentionRow.platform, MentionRow.external_id).in_(chunk)
        )
        for platform, external_id, pk in session.execute(stmt):
            found[(platform, external_id)] = pk
    return found


def insert_new_mentions(
    session: Session, mentions: Sequence[Mention], connector: str, flagged: Collection[tuple[str, str]] = ()
) -> dict[tuple[str, str], int]:
    """Insert the mentions not stored yet; return the pk of each one *this call* inserted.

    `flagged`: keys of complaints, stored with status `new` at once (their history rows: `flag_new`).

    One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: a mention another process
    stored first (or earlier) is not handed back, so it is never processed twice.
    """
    unique: dict[tuple[str, str], Mention] = {}
    for mention in mentions:
        unique.setdefault(mention.key, mention)
    if not unique:
        return {}
    at = now_utc()
    values = [_row_values(m, connector, at if key in flagged else None) for key, m in unique.items()]
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        before = existing_pks(session, unique)
        session.add_all(MentionRow(**v) for v in values if (v["platform"], v["external_id"]) not in before)
        session.flush()
        after = existing_pks(session, [k for k in unique if k not in before])
        return after
    inserted = insert_new_returning(session, MentionRow.__table__, values, _UNIQUE, _RETURNING)
    return {(platform, external_id): pk for pk, platform, external_id in inserted}


def mention_rows_for_sqlite(
    mentions: Sequence[Mention], connector: str, flagged: Collection[tuple[str, str]] = ()
) -> tuple[list[str], list[tuple]]:
    """What `insert_new_mentions` would insert into SQLite, converted ahead (a pure function, for the
    preparing process): pass it to `insert_mention_rows`."""
    unique: dict[tuple[str, str], Mention] = {}
    for mention in mentions:
        unique.setdefault(mention.key, mention)
    at = now_utc()
    values = [_row_values(m, connector, at if key in flagged else None) for key, m in unique.items()]
    return converted(MentionRow.__table__, values, sqlite_dialect())


def insert_mention_rows(
    session: Session, columns: Sequence[str], values: Sequence[tuple]
) -> dict[tuple[str, str], int]:
    """Insert mention rows converted by `mention_rows_for_sqlite`; the pk of each one this call inserted."""
    inserted = insert_converted(session, MentionRow.__table__, columns, values, _UNIQUE, _RETURNING)
    return {(platform, external_id): pk for pk, platform, external_id in inserted}


_UNIQUE = ("platform", "external_id")
_RETURNING = ("pk", "platform", "external_id")


def find_mention(session: Session, ref: str) -> MentionRow:
    """A mention by 'platform:id' or by a bare id when only one platform has it (else UserError)."""
    ref = ref.strip()
    platform, sep, external_id = ref.partition(":")
    if sep and platform and external_id:
        row = session.scalar(
            select(MentionRow).where(MentionRow.platform == platform.lower(), MentionRow.external_id == external_id)
        )
        if row is not None:
            return row
    rows = session.scalars(select(MentionRow).where(MentionRow.external_id == ref).limit(3)).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        options = ", ".join(f"{r.platform}:{r.external_id}" for r in rows)
        raise UserError(f"mention id {ref!r} exists on several platforms; say which: {options}")
    raise UserError(f"no stored mention with id {ref!r} (use platform:id, e.g. x:1234)")


def set_status(
    session: Session, row: MentionRow, status: Status, at: datetime | None = None, note: str | None = None
) -> None:
    """Move a mention's follow-up status, keeping the history."""
    if row.status == status.value:
        return
    changed_at = at or now_utc()
    session.add(
        StatusChangeRow(
            mention_pk=row.pk, old_status=row.status, new_status=status.value, changed_at=changed_at, note=note
        )
    )
    row.status = status.value
    row.status_changed_at = changed_at


def flag_new(session: Session, pks: Sequence[int], note: str, stored: bool = False) -> None:
    """Mark new mentions as complaints awaiting follow-up (status `new`), with their history rows, in bulk.

    `stored`: the mentions were inserted with that status already (only the history rows are missing)."""
    if not pks:
        return
    at = now_utc()
    insert_rows(
        session,
        StatusChangeRow.__table__,
        [
            {"mention_pk": pk, "old_status": None, "new_status": Status.NEW.value, "changed_at": at, "note": note}
            for pk in pks
        ],
    )
    if stored:
        return
    table = MentionRow.__table__
    for start in range(0, len(pks), _KEY_CHUNK):
        session.connection().execute(
            update(table)
            .where(table.c.pk.in_(pks[start : start + _KEY_CHUNK]), table.c.status.is_(None))
            .values(status=Status.NEW.value, status_changed_at=at)
        )


def load_cursor(session: Session, connector: str) -> dict[str, Any] | None:
    row = session.get(CursorRow, connector)
    return dict(row.cursor) if row is not None else None


def save_cursor(session: Session, connector: str, cursor: dict[str, Any]) -> None:
    row = session.get(CursorRow, connector)
    if row is None:
        session.add(CursorRow(connector=connector, cursor=cursor, updated_at=now_utc()))
    else:
        row.cursor = cursor
        row.updated_at = now_utc()


DEFAULT_MAX_FUTURE = timedelta(hours=1)
"""`ingest.max_future`'s default: how far ahead of the clock a mention may be dated."""


def newest_mention_time(session: Session, max_future: timedelta = DEFAULT_MAX_FUTURE) -> datetime | None:
    """The stream's 'now': every time rule is judged against mention time, never the wall clock.

    A mention dated more than `max_future` ahead of the clock is a broken clock (stored before such mentions
    were refused, or by another tool): it never becomes "now", or it would age every other complaint."""
    latest = now_utc() + max_future
    return session.scalar(select(func.max(MentionRow.created_at)).where(MentionRow.created_at <= latest))


def labelled_is_complaint() -> ColumnElement[bool]:
    """Whether a mention is a complaint, in SQL: a person's label wins over the model.

    Needs `classifications` joined and `labels` outer-joined (see `with_verdict`). `label` also writes the
    resolved verdict into `classifications`, so this agrees with what the digest and exports show.
    """
    return func.coalesce(LabelRow.is_complaint, ClassificationRow.is_complaint)


def labelled_category() -> ColumnElement[str]:
    """A mention's category, in SQL: a person's label wins over the model (same joins as above)."""
    return func.coalesce(LabelRow.category, ClassificationRow.category)


AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])
"""Any SELECT, whatever its columns: a helper that only adds joins or conditions hands back the same type."""


def with_verdict(stmt: AnySelect) -> AnySelect:
    """Join what `labelled_is_complaint` and `labelled_category` read onto a query of mentions."""
    return stmt.join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk).outerjoin(
        LabelRow, LabelRow.mention_pk == MentionRow.pk
    )


def since_filter(stmt: Select[Any], since: datetime | None) -> Select[Any]:
    return stmt.where(MentionRow.created_at >= since) if since is not None else stmt


def mention_ref(row: MentionRow) -> str:
    return f"{row.platform}:{row.external_id}"


def iso(dt: datetime | None) -> str | None:
    return format_timestamp(dt) if dt is not None else None


def upsert_incident(session: Session, incident_id: str, values: dict[str, Any], row: IncidentRow | None) -> IncidentRow:
    """Create the incident row, or update it in place (touching `updated_at`); flushed."""
    if row is None:
        row = IncidentRow(id=incident_id, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now_utc()
    session.flush()
    return row
