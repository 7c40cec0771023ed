"""What `incidents show` and `incidents export` print: plain functions over a session.

Candidate groups (fewer than `min_authors` distinct authors) are never
returned: they are not incidents yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import UserError
from monitor.incidents.brief.read import BriefContext, from_export_members
from monitor.incidents.brief.text import brief_lines, headline
from monitor.mention_io import format_timestamp
from monitor.storage.schema import ClassificationRow, IncidentMemberRow, IncidentRow, MentionRow

CANDIDATE = "candidate"
TEXT_WIDTH = 100


def _iso(dt: datetime | None) -> str | None:
    return format_timestamp(dt) if dt is not None else None


def incident_dict(row: IncidentRow) -> dict[str, Any]:
    """An incident row's own fields, JSON-ready."""
    summary = dict(row.summary or {})
    return {
        "id": row.id,
        "kind": summary.get("kind", "text"),
        "title": row.title,
        "category": row.category,
        "status": row.status,
        "first_seen": _iso(row.first_seen),
        "last_seen": _iso(row.last_seen),
        "size": row.size,
        "authors": row.author_count,
        "author_count": row.author_count,
        "urgency": row.urgency,
        "key_terms": list(row.key_terms or []),
        "peak_per_hour": summary.get("peak_per_hour"),
        "platforms": sorted((summary.get("platforms") or {}).keys()),
        "merged_into": row.merged_into,
        "raised_at": _iso(row.raised_at),
        "resolved_at": _iso(row.resolves_at) if row.status == "resolved" else None,
        "recurred_from": summary.get("recurred_from"),
        "summary": summary,
    }


def _members(session: Session, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(IncidentMemberRow, MentionRow, ClassificationRow)
        .join(MentionRow, MentionRow.pk == IncidentMemberRow.mention_pk)
        .outerjoin(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .where(IncidentMemberRow.incident_id.in_(ids))
        .order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
    ).all()
    for member, mention, cls in rows:
        out[member.incident_id].append(
            {
                "mention_pk": mention.pk,
                "id": mention.external_id,
                "platform": mention.platform,
                "author": mention.author,
                "created_at": _iso(mention.created_at),
                "text": mention.text,
                "url": mention.url,
                "lang": cls.lang if cls is not None else mention.source_lang,
                "urgency": cls.urgency if cls is not None else None,
                "category": cls.category if cls is not None else None,
                "status": mention.status,
                "similarity": round(member.similarity, 4),
                "joined_at": _iso(member.joined_at),
            }
        )
    return out


def export_rows(
    session: Session,
    since: datetime | None = None,
    status: str | Iterable[str] | None = None,
    incident_id: str | None = None,
    briefs: BriefContext | None = None,
) -> list[dict[str, Any]]:
    """Each incident (and burst) with all its fields and member mentions, oldest first.

    since: incidents whose last member is at or after this time; status: one status or several;
    incident_id: just that one (an unknown id gives an empty list); briefs: add each incident's
    brief under the key `brief` (built from the members read here). CSV callers write one row per
    incident–member from `mentions`.
    """
    stmt = select(IncidentRow).where(IncidentRow.status != CANDIDATE).order_by(IncidentRow.first_seen, IncidentRow.id)
    if incident_id is not None:
        stmt = stmt.where(IncidentRow.id == incident_id)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        stmt = stmt.where(IncidentRow.status.in_(statuses))
    if since is not None:
        stmt = stmt.where(IncidentRow.last_seen >= since)
    rows = session.scalars(stmt).all()
    members = _members(session, [r.id for r in rows])
    out = []
    for row in rows:
        record = incident_dict(row)
        mentions = members[row.id]
        record["mention_ids"] = [f"{m['platform']}:{m['id']}" for m in mentions]
        record["mentions"] = mentions
        if briefs is not None:
            brief = briefs.build(from_export_members(mentions), row.category or "other", row.raised_at)
            record["brief"] = brief.to_dict() if brief is not None else None
        out.append(record)
    return out


def _clip(text: str, width: int = TEXT_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def show_incident(session: Session, incident_id: str, briefs: BriefContext | None = None) -> str:
    """One incident for the terminal: its facts, its brief (with `briefs`), then a timeline of its members.

    Unknown id → UserError.
    """
    row = session.get(IncidentRow, incident_id)
    if row is None or row.status == CANDIDATE:
        raise UserError(f"no incident with id {incident_id!r}")
    record = incident_dict(row)
    summary = record["summary"]
    members = _members(session, [row.id])[row.id]
    brief = None
    if briefs is not None:
        brief = briefs.build(from_export_members(members), row.category or "other", row.raised_at)
    lines = [f"{row.id}  {headline(record['kind'], row.title, brief.title) if brief is not None else row.title}"]
    facts = [
        ("status", row.status + (f" → merged into {row.merged_into}" if row.merged_into else "")),
        ("kind", record["kind"]),
        ("category", row.category),
        *([("grouped as", row.title)] if brief is not None else []),
        ("urgency", row.urgency),
        ("first seen", record["first_seen"]),
        ("last seen", record["last_seen"]),
        ("complaints", str(row.size)),
        ("people", str(row.author_count)),
    ]
    if record["kind"] == "burst":
        facts.append(("usual rate", f"{summary.get('expected_per_hour')} per hour (p={summary.get('p_value'):.2g})"))
    else:
        facts.append(
            ("peak", f"{summary.get('peak_per_hour')} per hour, {summary.get('members_last_hour')} in the last hour")
        )
        facts.append(("key terms", ", ".join(row.key_terms or [])))
        facts.append(("languages", ", ".join(f"{k} {v}" for k, v in (summary.get("languages") or {}).items())))
    facts.append(("platforms", ", ".join(f"{k} {v}" for k, v in (summary.get("platforms") or {}).items())))
    if summary.get("alerts_sent"):
        facts.append(("alerted at", ", ".join(f"{n} people" for n in summary["alerts_sent"])))
    width = max(len(k) for k, _ in facts)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in facts]
    if brief is not None:
        lines.append("")
        lines += brief_lines(brief)
    lines.append("")
    lines.append("Timeline:")
    authors_so_far: set[str] = set()
    for member in members:
        author = (member["author"] or "").lower()
        new = author not in authors_so_far
        authors_so_far.add(author)
        marker = f"#{len(authors_so_far)}" if new else "  "
        lines.append(
            f"  {member['created_at']}  {marker:>4}  {member['platform']}:{member['id']}  @{member['author']}"
            f"  [{member['urgency'] or '-'}]  {_clip(member['text'])}"
        )
    if not members:
        lines.append("  (no members)")
    return "\n".join(lines)
