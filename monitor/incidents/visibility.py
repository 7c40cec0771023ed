"""Which incident rows people see: SQL conditions for the digest, exports and reports.

`candidate` rows are groups that never had `min_authors` distinct authors within
one window: internal bookkeeping, never shown. Burst rows (id `BURST-…`) flag a
category running far above its usual hourly rate; they are incidents people
see, but a mention's own incident (for replies) is always a text incident.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, not_, select
from sqlalchemy.orm import Session

from monitor.models import IncidentContext, size_bucket
from monitor.storage.schema import IncidentMemberRow, IncidentRow

CANDIDATE = "candidate"
BURST_PREFIX = "BURST-"
OPEN_STATUSES = ("emerging", "active")


def shown() -> ColumnElement[bool]:
    """Real incidents and bursts (not candidates)."""
    return IncidentRow.status != CANDIDATE


def text_incident() -> ColumnElement[bool]:
    """Real incidents grouped by what people wrote (not candidates, not bursts)."""
    return and_(IncidentRow.status != CANDIDATE, not_(IncidentRow.id.startswith(BURST_PREFIX)))


def burst() -> ColumnElement[bool]:
    return IncidentRow.id.startswith(BURST_PREFIX)


def open_incident_of(session: Session, mention_pk: int) -> IncidentContext | None:
    """The open (emerging or active) text incident a mention belongs to, following merges, if any."""
    incident_ids = session.scalars(
        select(IncidentMemberRow.incident_id).where(IncidentMemberRow.mention_pk == mention_pk)
    ).all()
    for incident_id in incident_ids:
        incident = session.get(IncidentRow, incident_id)
        seen: set[str] = set()
        while incident is not None and incident.merged_into and incident.id not in seen:
            seen.add(incident.id)
            incident = session.get(IncidentRow, incident.merged_into)
        if incident is not None and incident.status in OPEN_STATUSES and not incident.id.startswith(BURST_PREFIX):
            return IncidentContext(
                id=incident.id,
                title=incident.title,
                category=incident.category,
                size=size_bucket(incident.size),
                status=incident.status,
            )
    return None
