"""Bursts: a category running far above its usual rate for that hour of day, however varied the texts.

The usual rate for hour H is the complaint count of the same category in the
same clock hour on each of the previous `baseline_days` days (days with no
stored mention at all, e.g. before monitoring began, do not count). An hour is a burst when its count is at
least `min_count`, above mean + z·σ of that baseline, and that unlikely under
a Poisson law with the baseline mean (p < `p_value`).

A burst is stored as an incident row with id BURST-<yyyymmdd>-<hh>-<category>
and `summary.kind == "burst"`; its members are that hour's complaints. Bursts
are shown and exported with incidents, but do not raise member urgency.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scipy.stats import poisson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monitor.incidents.settings import BurstSettings, IncidentSettings
from monitor.models import Urgency, utc
from monitor.stages import StoredComplaint
from monitor.storage.repository import labelled_category, labelled_is_complaint, upsert_incident, with_verdict
from monitor.storage.schema import IncidentMemberRow, IncidentRow, MentionRow

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


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
    p = float(poisson.sf(count - 1, max(mean, 0.1)))
    if p >= settings.p_value:
        return None
    return Verdict(count, round(mean, 3), round(spread, 3), p)


def floor_hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def burst_id(category: str, hour: datetime) -> str:
    return f"BURST-{hour:%Y%m%d-%H}-{category}"[:64]


def _category_rows(session: Session, category: str, since: datetime, until: datetime) -> list[tuple]:
    return list(
        session.execute(
            with_verdict(select(MentionRow.pk, MentionRow.created_at, MentionRow.author, MentionRow.platform))
            .where(
                labelled_category() == category,
                labelled_is_complaint().is_(True),
                MentionRow.created_at >= since,
                MentionRow.created_at < until,
            )
        ).all()
    )


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


class _Coverage:
    """Whether the store holds any mention on a day: days before monitoring began are not 'zero complaints'."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[datetime, bool] = {}

    def __call__(self, day: datetime) -> bool:
        if day not in self.known:
            pk = self.session.scalar(
                select(MentionRow.pk).where(MentionRow.created_at >= day, MentionRow.created_at < day + DAY).limit(1)
            )
            self.known[day] = pk is not None
        return self.known[day]


def _opened_days(session: Session, days: set[datetime], batch_pks: set[int]) -> list[datetime]:
    """Days on which this batch holds the only mentions: they change every category's baseline."""
    opened = []
    for day in sorted(days):
        other = session.scalar(
            select(MentionRow.pk)
            .where(MentionRow.created_at >= day, MentionRow.created_at < day + DAY, MentionRow.pk.notin_(batch_pks))
            .limit(1)
        )
        if other is None:
            opened.append(day)
    return opened


def _slots_to_judge(
    session: Session, settings: IncidentSettings, touched: dict[str, set[datetime]], opened: list[datetime]
) -> dict[str, set[datetime]]:
    burst = settings.burst
    span = burst.baseline_days * DAY
    slots: dict[str, set[datetime]] = {}
    for category, hours in touched.items():
        # Each touched hour, and the same clock hour on the days whose baseline it is part of.
        slots[category] = {hour + k * DAY for hour in hours for k in range(0, burst.baseline_days + 1)}
    if opened:
        low, high = opened[0], opened[-1] + span + DAY
        rows = session.execute(
            with_verdict(select(labelled_category(), MentionRow.created_at)).where(
                labelled_is_complaint().is_(True), MentionRow.created_at >= low, MentionRow.created_at < high
            )
        ).all()
        counts = Counter((category, floor_hour(utc(at))) for category, at in rows)
        for (category, hour), count in counts.items():
            if count >= burst.min_count:
                slots.setdefault(category, set()).add(hour)
        for row in session.scalars(
            select(IncidentRow).where(
                IncidentRow.id.startswith("BURST-"), IncidentRow.first_seen >= low, IncidentRow.first_seen < high
            )
        ):
            slots.setdefault(row.category, set()).add(floor_hour(utc(row.first_seen)))
    return slots


def update_bursts(session: Session, settings: IncidentSettings, complaints: Sequence[StoredComplaint]) -> set[str]:
    """Re-judge every hour slot whose count or baseline this batch may have changed.

    That is each touched hour and the same clock hour on the following `baseline_days` days; and when
    the batch holds a day's first mentions (a new day, or history arriving late), every slot whose
    baseline includes that day. The result depends on the stored complaints only, not on batch order.
    """
    burst = settings.burst
    newest = session.scalar(select(func.max(MentionRow.created_at)))
    if newest is None:
        return set()
    newest = utc(newest)
    touched: dict[str, set[datetime]] = {}
    for complaint in complaints:
        touched.setdefault(complaint.classification.category, set()).add(floor_hour(utc(complaint.mention.created_at)))
    days = {_day(hour) for hours in touched.values() for hour in hours}
    opened = _opened_days(session, days, {c.mention_pk for c in complaints})
    coverage = _Coverage(session)
    span = burst.baseline_days * DAY
    changed: set[str] = set()
    for category, slots in sorted(_slots_to_judge(session, settings, touched, opened).items()):
        ordered = sorted(slot for slot in slots if slot <= newest)
        if not ordered:
            continue
        rows = _category_rows(session, category, ordered[0] - span, ordered[-1] + HOUR)
        by_hour: dict[datetime, list[tuple]] = {}
        for row in rows:
            by_hour.setdefault(floor_hour(utc(row[1])), []).append(row)
        for slot in ordered:
            if slot not in by_hour and session.get(IncidentRow, burst_id(category, slot)) is None:
                continue
            changed |= _judge_slot(session, settings, category, slot, coverage, by_hour, newest)
    return changed


def _judge_slot(
    session: Session,
    settings: IncidentSettings,
    category: str,
    slot: datetime,
    coverage: _Coverage,
    by_hour: dict[datetime, list[tuple]],
    newest: datetime,
) -> set[str]:
    burst = settings.burst
    rows = by_hour.get(slot, [])
    if len(rows) < burst.min_count:
        baseline: list[int] = []  # cannot be a burst: spare the coverage look-ups
    else:
        baseline = [
            len(by_hour.get(slot - k * DAY, []))
            for k in range(1, burst.baseline_days + 1)
            if coverage(_day(slot - k * DAY))
        ]
    verdict = judge(len(rows), baseline, burst)
    bid = burst_id(category, slot)
    row = session.get(IncidentRow, bid)
    if verdict is None:
        if row is None:
            return set()
        session.delete(row)
        return {bid}
    authors = {r[2] for r in rows}
    times = sorted(utc(r[1]) for r in rows)
    status = "resolved" if newest - (slot + HOUR) >= settings.resolve_after else "active"
    values = {
        "title": f"Burst: {verdict.count} {category} complaints in one hour (usually {verdict.expected:g})",
        "category": category,
        "status": status,
        "first_seen": times[0],
        "last_seen": times[-1],
        "size": verdict.count,
        "author_count": len(authors),
        "urgency": Urgency.HIGH.value,
        "key_terms": [],
        "summary": {
            "kind": "burst",
            "hour": slot.isoformat(),
            "expected_per_hour": verdict.expected,
            "baseline_spread": verdict.spread,
            "baseline_days": len(baseline),
            "p_value": verdict.p_value,
            "peak_per_hour": verdict.count,
            "authors": len(authors),
            "platforms": dict(sorted(Counter(r[3] for r in rows).items())),
        },
    }
    if row is not None and all(getattr(row, k) == v for k, v in values.items()):
        return set()
    row = upsert_incident(session, bid, values, row)
    session.execute(delete(IncidentMemberRow).where(IncidentMemberRow.incident_id == bid))
    session.execute(
        IncidentMemberRow.__table__.insert(),
        [{"incident_id": bid, "mention_pk": r[0], "similarity": 0.0, "joined_at": utc(r[1])} for r in rows],
    )
    return {bid}
