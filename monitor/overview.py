"""The manager's overview: complaints per hour by category, urgency mix, open complaints by age, top
incidents. Data here, charts in `monitor.charts`; the review inbox and the HTML digest both show it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.charts import URGENCY_COLOURS, Bar, bar_list, stacked_columns
from monitor.config import DigestSettings
from monitor.incidents.visibility import shown
from monitor.models import Status, Urgency
from monitor.storage.schema import ClassificationRow, IncidentRow, MentionRow

AGE_BUCKETS = ((timedelta(hours=1), "under 1 h"), (timedelta(hours=4), "1-4 h"), (timedelta(hours=24), "4-24 h"),
               (timedelta(days=3), "1-3 days"), (timedelta.max, "over 3 days"))  # fmt: skip
TOP_CATEGORIES = 7


@dataclass
class Overview:
    now: datetime
    hours: int
    per_hour: Markup
    urgency_mix: Markup
    by_age: Markup
    overdue: int
    open_total: int
    top_incidents: Markup
    top_incident_ids: list[str]


def _hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def build_overview(session: Session, digest: DigestSettings, now: datetime, hours: int = 48) -> Overview:
    start = _hour(now) - timedelta(hours=hours - 1)
    rows = session.execute(
        select(MentionRow.created_at, ClassificationRow.category)
        .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .where(ClassificationRow.is_complaint.is_(True), MentionRow.created_at >= start,
               MentionRow.created_at <= now)
    ).all()  # fmt: skip
    slots = [start + timedelta(hours=i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    totals = Counter(category for _, category in rows)
    kept = [c for c, _ in totals.most_common(TOP_CATEGORIES)]
    series: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    for created, category in rows:
        name = category if category in kept else "other categories"
        i = index.get(_hour(created))
        if i is not None:
            series[name][i] += 1
    labels = [s.strftime("%m-%d %H:00") for s in slots]
    per_hour = stacked_columns(labels, dict(series), f"Complaints per hour by category, last {hours} hours")

    open_states = [s.value for s in Status if s.is_open]
    open_rows = session.execute(
        select(ClassificationRow.urgency, MentionRow.created_at, MentionRow.status)
        .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .where(ClassificationRow.is_complaint.is_(True), MentionRow.status.in_(open_states))
    ).all()
    mix = Counter(u for u, _, _ in open_rows)
    urgency_bars = [Bar(u.value, mix.get(u.value, 0)) for u in reversed(list(Urgency)) if u is not Urgency.NONE]
    ages: Counter[str] = Counter()
    overdue = 0
    for urgency, created, status in open_rows:
        age = max(now - created, timedelta(0))
        ages[next(label for limit, label in AGE_BUCKETS if age < limit)] += 1
        if status == Status.NEW.value and age >= digest.follow_up_for(urgency):
            overdue += 1
    age_bars = [Bar(label, ages.get(label, 0)) for _, label in AGE_BUCKETS]
    age_bars.append(Bar("past follow-up time", overdue, highlight=True))

    incidents = session.execute(
        select(IncidentRow.id, IncidentRow.title, IncidentRow.size)
        .where(shown(), IncidentRow.merged_into.is_(None), IncidentRow.last_seen >= now - timedelta(hours=hours))
        .order_by(IncidentRow.size.desc(), IncidentRow.id)
        .limit(5)
    ).all()
    top = bar_list([Bar(f"{title}", size) for _, title, size in incidents], "Top incidents by reports")
    return Overview(
        now=now,
        hours=hours,
        per_hour=per_hour,
        urgency_mix=bar_list(urgency_bars, "Open complaints by urgency", colours=URGENCY_COLOURS),
        by_age=bar_list(age_bars, "Open complaints by age"),
        overdue=overdue,
        open_total=len(open_rows),
        top_incidents=top,
        top_incident_ids=[i for i, _, _ in incidents],
    )


def stream_now(session: Session) -> datetime | None:
    from monitor.storage.repository import newest_mention_time

    return newest_mention_time(session)
