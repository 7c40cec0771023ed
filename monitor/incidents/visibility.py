"""Which incident rows people see: SQL conditions for the digest, exports and reports.

`candidate` rows are groups that never had `min_authors` distinct authors within
one window: internal bookkeeping, never shown. Burst rows (id `BURST-…`) flag a
category running far above its usual hourly rate; they are incidents people
see, but a mention's own incident (for replies) is always a text incident.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, not_

from monitor.storage.schema import IncidentRow

CANDIDATE = "candidate"
BURST_PREFIX = "BURST-"


def shown() -> ColumnElement[bool]:
    """Real incidents and bursts (not candidates)."""
    return IncidentRow.status != CANDIDATE


def text_incident() -> ColumnElement[bool]:
    """Real incidents grouped by what people wrote (not candidates, not bursts)."""
    return and_(IncidentRow.status != CANDIDATE, not_(IncidentRow.id.startswith(BURST_PREFIX)))


def burst() -> ColumnElement[bool]:
    return IncidentRow.id.startswith(BURST_PREFIX)
