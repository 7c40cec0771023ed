"""Bursts: a category running far above its usual rate for that hour of day, however varied the texts.

The usual rate for hour H is the complaint count of the same category in the
same clock hour on each of the previous `baseline_days` days (days with no
stored complaint at all, e.g. before monitoring began, do not count). An hour is
a burst when its count is at least `min_count`, above mean + z·σ of that
baseline, and that unlikely under a Poisson law with the baseline mean (p < `p_value`).

A burst is stored as an incident row with id BURST-<yyyymmdd>-<hh>-<category>
and `summary.kind == "burst"`; its members are that hour's complaints. Bursts
are shown and exported with incidents, but do not raise member urgency.

The counts come from the incident engine's category rates (in memory), so judging
an hour costs the same however much history is stored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from monitor.incidents.baseline import HOUR_S, CategoryRates, to_datetime
from monitor.incidents.groups import Report
from monitor.incidents.settings import BurstSettings, IncidentSettings
from monitor.incidents.stats import poisson_tail
from monitor.incidents.visibility import BURST_PREFIX, OPEN_STATUSES
from monitor.models import Urgency
from monitor.storage.repository import upsert_incident
from monitor.storage.schema import IncidentMemberRow, IncidentRow, MentionRow

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

Slots = dict[str, set[datetime]]


@dataclass(frozen=True, slots=True)
class Verdict:
    count: int
    expected: float
    spread: float
    p_value: float


def judge(count: int, baseline: Sequence[int], settings: BurstSettings) -> Verdict | None:
    """A Verdict when `count` is a burst against `baseline` (same slot on previous days), else None."""
    if count < settings.min_count or len(baseline) < settings.min_history_days:
        return None
    mean = sum(baseline) / len(baseline)
    spread = math.sqrt(sum((b - mean) ** 2 for b in baseline) / len(baseline))
    # σ of a handful of days underestimates a count's natural noise: never below the Poisson σ.
    threshold = mean + settings.z * max(spread, math.sqrt(mean), 1.0)
    if count <= threshold:
        return None
    p = poisson_tail(count, max(mean, 0.1))
    if p >= settings.p_value:
        return None
    return Verdict(count, round(mean, 3), round(spread, 3), p)


def floor_hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def burst_id(category: str, hour: datetime) -> str:
    return f"BURST-{hour:%Y%m%d-%H}-{category}"[:64]


def touched_slots(reports: Iterable[Report]) -> Slots:
    """The (category, clock hour) slots these complaints count in."""
    slots: Slots = {}
    for report in reports:
        slots.setdefault(report.category, set()).add(floor_hour(report.created_at))
    return slots


def merge_slots(into: Slots, more: Slots) -> None:
    for category, hours in more.items():
        into.setdefault(category, set()).update(hours)


def follow(slots: Slots, days: int) -> Slots:
    """Each slot and the same clock hour on the following `days` days (whose baseline it is part of)."""
    return {category: {hour + k * DAY for hour in hours for k in range(days + 1)} for category, hours in slots.items()}


def update(
    session: Session, settings: IncidentSettings, rates: CategoryRates, slots: Slots, newest: datetime
) -> set[str]:
    """Judge each slot again from the engine's category rates; write, update or drop its burst row."""
    verdicts: dict[str, tuple[str, datetime, Verdict | None, int]] = {}
    for category, hours in sorted(slots.items()):
        for slot in sorted(h for h in hours if h <= newest):
            verdict, days = _verdict(settings.burst, rates, category, slot)
            verdicts[burst_id(category, slot)] = (category, slot, verdict, days)
    ids = sorted(verdicts)
    stored: dict[str, IncidentRow] = {}
    for start in range(0, len(ids), 500):
        stored.update(
            (r.id, r) for r in session.scalars(select(IncidentRow).where(IncidentRow.id.in_(ids[start : start + 500])))
        )
    changed: set[str] = set()
    for bid in ids:
        category, slot, verdict, days = verdicts[bid]
        row = stored.get(bid)
        if verdict is None:
            if row is not None:
                session.delete(row)
                changed.add(bid)
            continue
        if _write(session, settings, rates, category, slot, verdict, days, row, newest):
            changed.add(bid)
    return changed


def resolve_due(session: Session, settings: IncidentSettings, newest: datetime) -> set[str]:
    """Bursts whose hour ended `resolve_after` before the stream's newest mention, though no batch touched
    their hour again: resolved now, so a burst's status depends on the stream, not on which batches came."""
    due = [
        bid
        for bid, first_seen in session.execute(
            select(IncidentRow.id, IncidentRow.first_seen).where(
                IncidentRow.id.like(BURST_PREFIX + "%"), IncidentRow.status.in_(OPEN_STATUSES)
            )
        )
        if newest - (_hour_of(first_seen) + HOUR) >= settings.resolve_after
    ]
    if due:
        session.execute(sql_update(IncidentRow).where(IncidentRow.id.in_(due)).values(status="resolved"))
    return set(due)


def _hour_of(at: datetime) -> datetime:
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def _verdict(burst: BurstSettings, rates: CategoryRates, category: str, slot: datetime) -> tuple[Verdict | None, int]:
    start = slot.timestamp()
    count = rates.count(category, start, start + HOUR_S)
    if count < burst.min_count:
        return None, 0
    offsets = rates.coverage.covered_offsets(start, burst.baseline_days)
    baseline = [rates.count(category, start - k * 86400.0, start - k * 86400.0 + HOUR_S) for k in offsets]
    return judge(count, baseline, burst), len(offsets)


def _write(
    session: Session,
    settings: IncidentSettings,
    rates: CategoryRates,
    category: str,
    slot: datetime,
    verdict: Verdict,
    days: int,
    row: IncidentRow | None,
    newest: datetime,
) -> bool:
    bid = burst_id(category, slot)
    times, pks = rates.hour(category, slot.timestamp())
    rows = session.execute(
        select(MentionRow.pk, MentionRow.author, MentionRow.platform).where(MentionRow.pk.in_(pks))
    ).all()
    authors = {author for _, author, _ in rows}
    status = "resolved" if newest - (slot + HOUR) >= settings.resolve_after else "active"
    values = {
        "title": f"Burst: {verdict.count} {category} complaints in one hour (usually {verdict.expected:g})",
        "category": category,
        "status": status,
        "first_seen": to_datetime(times[0]),
        "last_seen": to_datetime(times[-1]),
        "size": verdict.count,
        "author_count": len(authors),
        "urgency": Urgency.HIGH.value,
        "key_terms": [],
        "summary": {
            "kind": "burst",
            "hour": slot.isoformat(),
            "expected_per_hour": verdict.expected,
            "baseline_spread": verdict.spread,
            "baseline_days": days,
            "p_value": verdict.p_value,
            "peak_per_hour": verdict.count,
            "authors": len(authors),
            "platforms": dict(sorted(Counter(platform for _, _, platform in rows).items())),
        },
    }
    if row is not None and all(getattr(row, k) == v for k, v in values.items()):
        return False
    upsert_incident(session, bid, values, row)
    session.execute(delete(IncidentMemberRow).where(IncidentMemberRow.incident_id == bid))
    session.execute(
        IncidentMemberRow.__table__.insert(),
        [
            {"incident_id": bid, "mention_pk": pk, "similarity": 0.0, "joined_at": to_datetime(at)}
            for at, pk in zip(times, pks, strict=True)
        ],
    )
    return True
