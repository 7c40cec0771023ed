"""Recurring issues: the ordinary, persistent problems per category, week by week. Not incidents.

An incident is sudden: many people at once, far above the usual rate. A problem that comes in at a
steady rate ("refunds are slow", "delivery late") never becomes one, so the digest shows it here: per
category, the complaints of the last 7 days against the mean of the `digest.recurring_weeks` 7-day
periods before, the people behind them, their share of all complaints, and how many of them belong to
an incident (the rest is the ordinary load).

The periods are 7-day spans ending at the digest's "now" (the newest mention, or `--as-of`), not
calendar weeks. Each one holds every weekday once, so the comparison is like with like on any day: a
Monday-morning digest compares a full week with full weeks, not one hour of Monday with the Mondays
before. An earlier period counts in the mean only if the store covers it: it holds a mention from
before the period began and one inside it. Weeks before monitoring started are not "zero complaints".

Two aggregate queries, whatever the volume: complaints grouped by (category, period) with their
counts, distinct authors and incident members, and mentions grouped by period (coverage).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, func, select
from sqlalchemy.orm import Session

from monitor.config import DigestSettings
from monitor.incidents.visibility import shown
from monitor.models import utc
from monitor.storage.repository import labelled_category, labelled_is_complaint, with_verdict
from monitor.storage.schema import IncidentMemberRow, IncidentRow, MentionRow

PERIOD = timedelta(days=7)
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
NOT_STORED = "·"
MINUS = "\u2212"


@dataclass
class RecurringCategory:
    category: str
    count: int
    """Complaints in the last 7 days."""
    mean: float | None
    """Mean complaints per earlier 7-day period; None when no earlier period is stored."""
    trend: str
    """'+35%', '−10%', 'steady', 'new' (none in the earlier periods) or '—' (no earlier period stored)."""
    authors: int
    share: float
    """Of all complaints in the last 7 days, 0..1."""
    in_incidents: int
    weekly: list[int | None]
    """Complaints per period, oldest first; the last is the last 7 days. None: a period the store does not cover."""

    @property
    def trend_kind(self) -> str:
        """up, down, steady, new or none: for styling."""
        if self.trend.startswith("+"):
            return "up"
        if self.trend.startswith(MINUS):
            return "down"
        return {"steady": "steady", "new": "new"}.get(self.trend, "none")

    @property
    def spark(self) -> str:
        return sparkline(self.weekly)

    @property
    def mean_text(self) -> str:
        return "—" if self.mean is None else f"{self.mean:.1f}"

    @property
    def share_text(self) -> str:
        return "<1%" if 0 < self.share < 0.005 else f"{self.share:.0%}"


@dataclass
class RecurringIssues:
    as_of: datetime
    weeks: int
    """digest.recurring_weeks: earlier periods looked at."""
    min_count: int
    baseline_periods: int
    """Earlier periods the store covers, which the means are taken over (≤ weeks)."""
    total: int
    """All complaints in the last 7 days, listed or not."""
    categories: list[RecurringCategory] = field(default_factory=list)
    hidden_categories: int = 0
    hidden_complaints: int = 0

    @property
    def note(self) -> str:
        """One line: what is compared with what, and why that is like with like."""
        head = f"Last 7 days to {self.as_of:%Y-%m-%d %H:%M} UTC, by mention time,"
        n = self.baseline_periods
        if not n:
            return f"{head} with no earlier full 7-day period stored yet, so no trend."
        against = "the 7 days before" if n == 1 else f"the mean of the {n} seven-day periods before"
        fewer = "" if n == self.weeks else f" (only {n} of {self.weeks} stored)"
        return f"{head} vs {against}{fewer}; every period holds each weekday once, so like is compared with like."

    @property
    def name_width(self) -> int:
        return max([len("category"), *(len(" ".join(c.category.split())) for c in self.categories)])

    def period_title(self, values: list[int | None]) -> str:
        """'8, 8, 8, 8 → 16': each earlier period oldest first, then the last 7 days ('–': not stored)."""
        text = ["–" if v is None else str(v) for v in values]
        return f"{', '.join(text[:-1])} → {text[-1]}"


def sparkline(values: list[int | None]) -> str:
    """Unicode bars, scaled to the largest value; '·' for a period the store does not cover."""
    top = max((v for v in values if v is not None), default=0)
    out = []
    for value in values:
        if value is None:
            out.append(NOT_STORED)
        elif top == 0:
            out.append(SPARK_LEVELS[0])
        else:
            out.append(SPARK_LEVELS[round(value / top * (len(SPARK_LEVELS) - 1))])
    return "".join(out)


def trend(count: int, mean: float | None) -> str:
    """'steady' when the change is within 10% or within a count's own week-to-week noise (√mean)."""
    if mean is None:
        return "—"
    if mean == 0:
        return "new"
    if abs(count - mean) <= max(0.1 * mean, math.sqrt(mean)):
        return "steady"
    change = round((count - mean) / mean * 100)
    return f"+{change}%" if change > 0 else f"{MINUS}{-change}%"


def _period_of(created_at: SQLColumnExpression[datetime], bounds: list[datetime]) -> ColumnElement[int]:
    """SQL: 0 for the last 7 days, 1 for the 7 days before, …; bounds[k] is where period k starts."""
    return case(*[(created_at > bound, k) for k, bound in enumerate(bounds)], else_=None)


def recurring_issues(session: Session, settings: DigestSettings, as_of: datetime) -> RecurringIssues:
    weeks = settings.recurring_weeks
    as_of = utc(as_of)
    bounds = [as_of - (k + 1) * PERIOD for k in range(weeks + 1)]
    in_span = and_(MentionRow.created_at > bounds[-1], MentionRow.created_at <= as_of)

    # 1. Complaints by (category, period). The periods are computed in a subquery and grouped on by name:
    # PostgreSQL does not see two copies of a CASE with bound parameters as the same expression.
    in_incident = (
        select(IncidentMemberRow.mention_pk)
        .join(IncidentRow, IncidentRow.id == IncidentMemberRow.incident_id)
        .where(IncidentMemberRow.mention_pk == MentionRow.pk, shown(), IncidentRow.merged_into.is_(None))
        .exists()
    )
    # People and incident members are only wanted for the last 7 days: the first WHEN spares the rest the work.
    earlier = MentionRow.created_at <= bounds[0]
    author = case(
        (earlier, None),
        (MentionRow.author != "", MentionRow.platform + ":" + func.lower(MentionRow.author)),
        else_=MentionRow.platform + "#" + MentionRow.external_id,
    )
    complaints = (
        with_verdict(
            select(
                labelled_category().label("category"),
                _period_of(MentionRow.created_at, bounds).label("period"),
                author.label("author"),
                case((earlier, 0), (in_incident, 1), else_=0).label("in_incident"),
            )
        )
        .where(in_span, labelled_is_complaint().is_(True))
        .subquery()
    )
    counts: dict[str, dict[int, tuple[int, int, int]]] = {}
    for category, period, n, authors, incident_members in session.execute(
        select(
            complaints.c.category,
            complaints.c.period,
            func.count(),
            func.count(complaints.c.author.distinct()),
            func.sum(complaints.c.in_incident),
        ).group_by(complaints.c.category, complaints.c.period)
    ):
        counts.setdefault(category, {})[int(period)] = (int(n), int(authors), int(incident_members or 0))

    # 2. Which earlier periods the store covers: a mention inside, and one from before the period began.
    mentions = select(_period_of(MentionRow.created_at, bounds).label("period")).where(in_span).subquery()
    first = select(func.min(MentionRow.created_at)).scalar_subquery()
    covered: set[int] = set()
    for period, _n, earliest in session.execute(
        select(mentions.c.period, func.count(), first).group_by(mentions.c.period)
    ):
        if earliest is not None and utc(earliest) < bounds[int(period)]:
            covered.add(int(period))
    baseline = [k for k in range(1, weeks + 1) if k in covered]

    total = sum(by_period.get(0, (0, 0, 0))[0] for by_period in counts.values())
    result = RecurringIssues(
        as_of=as_of,
        weeks=weeks,
        min_count=settings.recurring_min,
        baseline_periods=len(baseline),
        total=total,
    )
    for category, by_period in counts.items():
        count, authors, incident_members = by_period.get(0, (0, 0, 0))
        if count < settings.recurring_min:
            if count:
                result.hidden_categories += 1
                result.hidden_complaints += count
            continue
        mean = sum(by_period.get(k, (0, 0, 0))[0] for k in baseline) / len(baseline) if baseline else None
        weekly: list[int | None] = [
            by_period.get(k, (0, 0, 0))[0] if k == 0 or k in baseline else None for k in range(weeks, -1, -1)
        ]
        result.categories.append(
            RecurringCategory(
                category=category,
                count=count,
                mean=mean,
                trend=trend(count, mean),
                authors=authors,
                share=count / total,
                in_incidents=incident_members,
                weekly=weekly,
            )
        )
    result.categories.sort(key=lambda c: (-c.count, c.category))
    return result
