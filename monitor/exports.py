"""Export rows: what `mentions export` and `incidents export` write (a public contract)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.escaping import formula_cell
from monitor.incidents.visibility import text_incident
from monitor.storage.repository import iso
from monitor.storage.schema import ClassificationRow, IncidentMemberRow, IncidentRow, MentionRow, ReplyDraftRow

MENTION_FIELDS = (
    "id",
    "platform",
    "author",
    "created_at",
    "text",
    "url",
    "lang",
    "is_complaint",
    "complaint_score",
    "urgency",
    "category",
    "incident_id",
    "reply_draft",
    "status",
)
MENTION_EXTRA_FIELDS = ("reply_ok", "reply_problems", "metrics", "in_reply_to")
INCIDENT_FIELDS = (
    "id",
    "title",
    "category",
    "first_seen",
    "last_seen",
    "size",
    "authors",
    "platforms",
    "urgency",
    "status",
    "mention_ids",
)


def _live_incident_of(session: Session) -> dict[int, str]:
    return {
        pk: inc
        for pk, inc in session.execute(
            select(IncidentMemberRow.mention_pk, IncidentMemberRow.incident_id)
            .join(IncidentRow, IncidentRow.id == IncidentMemberRow.incident_id)
            .where(IncidentRow.merged_into.is_(None), text_incident())
        )
    }


def mention_rows(
    session: Session, flagged_only: bool = False, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """One dict per stored mention, oldest first, with every contract field filled (null where not applicable)."""
    stmt = (
        select(MentionRow, ClassificationRow, ReplyDraftRow)
        .outerjoin(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .outerjoin(ReplyDraftRow, ReplyDraftRow.mention_pk == MentionRow.pk)
        .order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
    )
    if flagged_only:
        stmt = stmt.where(ClassificationRow.is_complaint.is_(True))
    if since is not None:
        stmt = stmt.where(MentionRow.created_at >= since)
    incident_of = _live_incident_of(session)
    for mention, cls, draft in session.execute(stmt.execution_options(yield_per=1000)):
        is_complaint = bool(cls.is_complaint) if cls is not None else None
        yield {
            "id": mention.external_id,
            "platform": mention.platform,
            "author": mention.author,
            "created_at": iso(mention.created_at),
            "text": mention.text,
            "url": mention.url,
            "lang": cls.lang if cls is not None else mention.source_lang,
            "is_complaint": is_complaint,
            "complaint_score": round(cls.complaint_score, 4) if cls is not None else None,
            "urgency": cls.urgency if cls is not None else None,
            "category": cls.category if cls is not None else None,
            "incident_id": incident_of.get(mention.pk),
            "reply_draft": draft.text if (draft is not None and is_complaint) else None,
            "status": mention.status,
            "reply_ok": draft.ok if (draft is not None and is_complaint) else None,
            "reply_problems": list(draft.problems or []) if (draft is not None and is_complaint) else None,
            "metrics": mention.metrics,
            "in_reply_to": mention.in_reply_to,
        }


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return value  # a number is never a formula
    text = str(value)
    # A cell that would run as a formula in a spreadsheet (= + - @, after whitespace or a line break, or in
    # full-width form) is kept as text.
    if formula_cell(text):
        return "'" + text
    return text


def write_csv(rows: Iterable[dict[str, Any]], fields: Sequence[str], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in fields})
        count += 1
    return count


def incident_member_rows(incidents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """CSV shape: one row per incident–member, ready for a spreadsheet pivot."""
    for inc in incidents:
        for mention in inc["mentions"]:
            yield {
                **{k: inc[k] for k in INCIDENT_FIELDS if k != "mention_ids"},
                "mention_id": f"{mention['platform']}:{mention['id']}",
                "mention_author": mention["author"],
                "mention_created_at": mention["created_at"],
                "mention_text": mention["text"],
                "mention_url": mention["url"],
            }


INCIDENT_CSV_FIELDS = (
    *[f for f in INCIDENT_FIELDS if f != "mention_ids"],
    "mention_id",
    "mention_author",
    "mention_created_at",
    "mention_text",
    "mention_url",
)
