"""The review inbox's data: open complaints in the order a team works them, with filters, counts and
keyset pages. No web code here; the bench and the tests call it directly.

Order (the seed rule: every complaint is urgent, none may sit unanswered): urgency, critical first;
then the one that has waited longest. Pages continue after the last row shown (urgency rank,
created_at, pk), never with OFFSET, so a deep page costs what the first one does.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from monitor.errors import UserError
from monitor.models import Status, Urgency
from monitor.storage.repository import AnySelect
from monitor.storage.schema import (
    ClassificationRow,
    IncidentMemberRow,
    IncidentRow,
    MentionRow,
    ReplyDraftRow,
    StatusChangeRow,
)

STATUS_CHOICES = {
    "todo": (Status.NEW.value, Status.ACKNOWLEDGED.value),
    "open": tuple(s.value for s in Status if s.is_open),
    "all": tuple(s.value for s in Status),
    **{s.value: (s.value,) for s in Status},
}
FACETS = ("status", "urgency", "category", "platform", "lang")
MAX_QUERY_CHARS = 200
TEXT_PREVIEW = 280


@dataclass(frozen=True)
class InboxFilter:
    status: str = "todo"
    urgency: str | None = None
    category: str | None = None
    platform: str | None = None
    lang: str | None = None
    incident: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self, **overrides: Any) -> dict[str, str]:
        """As query parameters (for links that keep the other filters)."""
        values = {
            "status": self.status, "urgency": self.urgency, "category": self.category, "platform": self.platform,
            "lang": self.lang, "incident": self.incident, "q": self.q,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }  # fmt: skip
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _clean(value: str | None, name: str, limit: int = 100) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > limit:
        raise UserError(f"{name}: too long (at most {limit} characters)")
    if any(ord(ch) < 32 for ch in value):
        raise UserError(f"{name}: contains control characters")
    return value


def _time(value: str | None, name: str, now: datetime) -> datetime | None:
    value = _clean(value, name, 40)
    if value is None:
        return None
    from monitor.durations import parse_since

    try:
        return parse_since(value, now)
    except ValueError as exc:
        raise UserError(f"{name}: {exc}") from None


def parse_filter(params: dict[str, str], now: datetime, categories: list[str]) -> InboxFilter:
    """A filter from query parameters; a bad value is a UserError naming the parameter."""
    status = _clean(params.get("status"), "status") or "todo"
    if status not in STATUS_CHOICES:
        raise UserError(f"status: {status!r} is not one of {', '.join(STATUS_CHOICES)}")
    urgency = _clean(params.get("urgency"), "urgency")
    if urgency is not None and urgency not in {u.value for u in Urgency}:
        raise UserError(f"urgency: {urgency!r} is not one of {', '.join(u.value for u in Urgency)}")
    category = _clean(params.get("category"), "category")
    if category is not None and category not in {*categories, "other"}:
        raise UserError(f"category: unknown category {category!r}")
    lang = _clean(params.get("lang"), "lang", 10)
    return InboxFilter(
        status=status,
        urgency=urgency,
        category=category,
        platform=_clean(params.get("platform"), "platform", 50),
        lang=lang,
        incident=_clean(params.get("incident"), "incident", 64),
        q=_clean(params.get("q"), "search", MAX_QUERY_CHARS),
        since=_time(params.get("since"), "since", now),
        until=_time(params.get("until"), "until", now),
    )


def urgency_rank() -> Any:
    return case(*((ClassificationRow.urgency == u.value, u.rank) for u in Urgency), else_=literal(0))


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _base(stmt: AnySelect, f: InboxFilter, *, facets: bool) -> AnySelect:
    """The filter's conditions. `facets=False` leaves out the five facet filters (counted per value)."""
    stmt = stmt.join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk).where(
        ClassificationRow.is_complaint.is_(True)
    )
    if f.q:
        pattern = _like(f.q)
        stmt = stmt.where(
            or_(func.lower(MentionRow.text).like(pattern, escape="\\"),
                func.lower(MentionRow.author).like(pattern, escape="\\"))
        )  # fmt: skip
    if f.since:
        stmt = stmt.where(MentionRow.created_at >= f.since)
    if f.until:
        stmt = stmt.where(MentionRow.created_at <= f.until)
    if f.incident:
        stmt = stmt.where(
            MentionRow.pk.in_(select(IncidentMemberRow.mention_pk).where(IncidentMemberRow.incident_id == f.incident))
        )
    if facets:
        stmt = stmt.where(MentionRow.status.in_(STATUS_CHOICES[f.status]))
        for column, value in (
            (ClassificationRow.urgency, f.urgency),
            (ClassificationRow.category, f.category),
            (MentionRow.platform, f.platform),
            (ClassificationRow.lang, f.lang),
        ):
            if value is not None:
                # Compared through coalesce() so no index on the column is used: the open complaints
                # (the status index) are the small set to start from, not every high-urgency
                # complaint ever stored, which the planners otherwise prefer.
                stmt = stmt.where(func.coalesce(column, "") == value)
    else:
        # The counts cover the open complaints and the chosen status; counting every complaint ever
        # resolved would cost a scan of the whole history on every page.
        stmt = stmt.where(MentionRow.status.in_(sorted({*STATUS_CHOICES["open"], *STATUS_CHOICES[f.status]})))
    return stmt


@dataclass(frozen=True)
class Cursor:
    rank: int
    created_at: datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.rank}|{self.created_at.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            rank, at, pk = raw.split("|")
            return cls(int(rank), datetime.fromisoformat(at), int(pk))
        except (ValueError, UnicodeDecodeError):
            raise UserError("after: not a page position this inbox made (start again from the first page)") from None


@dataclass
class InboxItem:
    pk: int
    ref: str
    platform: str
    author: str
    text: str
    created_at: datetime
    status: str
    urgency: str
    category: str
    lang: str
    score: float
    waited: timedelta
    reply_ok: bool | None
    incident_id: str | None = None
    overdue: bool = False


@dataclass
class InboxPage:
    items: list[InboxItem]
    next_cursor: str | None
    filter: InboxFilter
    now: datetime


def inbox_page(
    session: Session,
    f: InboxFilter,
    now: datetime,
    *,
    after: str | None = None,
    size: int = 50,
    follow_up: Any = None,
) -> InboxPage:
    """One page of the inbox. `follow_up(urgency) -> timedelta` marks the overdue ones."""
    rank = urgency_rank()
    # First the page's keys, from the covering indexes alone (no text is read for rows not shown)…
    stmt = _base(select(MentionRow.pk, MentionRow.created_at, rank.label("rank")), f, facets=True)
    if after:
        c = Cursor.decode(after)
        stmt = stmt.where(
            or_(
                rank < c.rank,
                and_(rank == c.rank, MentionRow.created_at > c.created_at),
                and_(rank == c.rank, MentionRow.created_at == c.created_at, MentionRow.pk > c.pk),
            )
        )
    stmt = stmt.order_by(rank.desc(), MentionRow.created_at, MentionRow.pk).limit(size + 1)
    keys = session.execute(stmt).all()
    more = len(keys) > size
    keys = keys[:size]
    pks = [k[0] for k in keys]
    # …then those rows.
    details = {
        row[0]: row
        for row in session.execute(
            select(
                MentionRow.pk, MentionRow.platform, MentionRow.external_id, MentionRow.author,
                func.substr(MentionRow.text, 1, TEXT_PREVIEW + 1), MentionRow.created_at, MentionRow.status,
                ClassificationRow.urgency, ClassificationRow.category, ClassificationRow.lang,
                ClassificationRow.complaint_score,
            )
            .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
            .where(MentionRow.pk.in_(pks))
        )
    } if pks else {}  # fmt: skip
    rows = [details[pk] for pk in pks if pk in details]
    incident_of: dict[int, str] = {}
    drafts: dict[int, bool] = {}
    if pks:
        incident_of = dict(
            session.execute(
                select(IncidentMemberRow.mention_pk, IncidentMemberRow.incident_id)
                .join(IncidentRow, IncidentRow.id == IncidentMemberRow.incident_id)
                .where(IncidentMemberRow.mention_pk.in_(pks), IncidentRow.merged_into.is_(None))
            ).all()
        )
        drafts = dict(session.execute(select(ReplyDraftRow.mention_pk, ReplyDraftRow.ok).where(
            ReplyDraftRow.mention_pk.in_(pks))).all())  # fmt: skip
    items = []
    for pk, platform, ext, author, text, created, status, urgency, category, lang, score in rows:
        waited = max(now - created, timedelta(0))
        items.append(
            InboxItem(
                pk=pk, ref=f"{platform}:{ext}", platform=platform, author=author,
                text=text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…",
                created_at=created, status=status, urgency=urgency, category=category, lang=lang, score=score,
                waited=waited, reply_ok=drafts.get(pk), incident_id=incident_of.get(pk),
                overdue=bool(follow_up and status == Status.NEW.value and waited >= follow_up(urgency)),
            )
        )  # fmt: skip
    next_cursor = None
    if more and keys:
        last = keys[-1]
        next_cursor = Cursor(int(last[2]), last[1], last[0]).encode()
    return InboxPage(items, next_cursor, f, now)


def status_versions(session: Session, pks: list[int]) -> dict[int, int]:
    """`monitor.review.status_version` of many mentions in one query."""
    if not pks:
        return {}
    found = dict(
        session.execute(
            select(StatusChangeRow.mention_pk, func.max(StatusChangeRow.id))
            .where(StatusChangeRow.mention_pk.in_(pks))
            .group_by(StatusChangeRow.mention_pk)
        ).all()
    )
    return {pk: found.get(pk, 0) for pk in pks}


@dataclass
class FacetCounts:
    total: int
    by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def facet_counts(session: Session, f: InboxFilter) -> FacetCounts:
    """For each facet value: how many complaints the filter would show with that value chosen (the other
    facets as they are). One grouped query; the sums are made here."""
    stmt = _base(
        select(MentionRow.status, ClassificationRow.urgency, ClassificationRow.category, MentionRow.platform,
               ClassificationRow.lang, func.count()),
        f,
        facets=False,
    ).group_by(MentionRow.status, ClassificationRow.urgency, ClassificationRow.category, MentionRow.platform,
               ClassificationRow.lang)  # fmt: skip
    combos = session.execute(stmt).all()
    chosen = {
        "status": set(STATUS_CHOICES[f.status]), "urgency": f.urgency, "category": f.category,
        "platform": f.platform, "lang": f.lang,
    }  # fmt: skip

    def matches(combo: tuple[Any, ...], skip: str) -> bool:
        for index, name in enumerate(FACETS):
            if name == skip:
                continue
            want = chosen[name]
            if name == "status":
                if combo[index] not in want:  # type: ignore[operator]
                    return False
            elif want is not None and combo[index] != want:
                return False
        return True

    by: dict[str, list[tuple[str, int]]] = {}
    for index, name in enumerate(FACETS):
        counter: Counter[Any] = Counter()  # keyed by the facet's value
        for combo in combos:
            if matches(combo, name):
                counter[combo[index]] += combo[-1]
        if name == "urgency":
            by[name] = sorted(counter.items(), key=lambda kv: -Urgency(kv[0]).rank)
        else:
            by[name] = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(c[-1] for c in combos if matches(c, ""))
    status_counts = dict(by["status"])
    by["status_groups"] = [(key, sum(status_counts.get(s, 0) for s in STATUS_CHOICES[key])) for key in ("todo", "open")]
    return FacetCounts(total=total, by=by)


def with_filter(f: InboxFilter, **changes: Any) -> InboxFilter:
    return replace(f, **changes)


@dataclass
class Waiting:
    items: list[InboxItem]
    total: int


def still_waiting(session: Session, now: datetime, follow_up: Any, limit: int = 500) -> Waiting:
    """Complaints still `new` past their urgency's follow-up time, longest waiting first (at most `limit`
    shown; `total` counts them all)."""
    conditions = []
    for urgency in Urgency:
        if urgency is Urgency.NONE:
            continue
        due = now - follow_up(urgency.value)
        conditions.append(and_(ClassificationRow.urgency == urgency.value, MentionRow.created_at <= due))
    base = _base(select(func.count()).select_from(MentionRow), InboxFilter(status="new"), facets=True).where(
        or_(*conditions)
    )
    total = session.scalar(base) or 0
    f = InboxFilter(status="new")
    stmt = _base(
        select(
            MentionRow.pk, MentionRow.platform, MentionRow.external_id, MentionRow.author,
            func.substr(MentionRow.text, 1, TEXT_PREVIEW + 1), MentionRow.created_at, MentionRow.status,
            ClassificationRow.urgency, ClassificationRow.category, ClassificationRow.lang,
            ClassificationRow.complaint_score,
        ),
        f,
        facets=True,
    ).where(or_(*conditions)).order_by(MentionRow.created_at, MentionRow.pk).limit(limit)  # fmt: skip
    items = []
    for pk, platform, ext, author, text, created, status, urgency, category, lang, score in session.execute(stmt):
        items.append(
            InboxItem(
                pk=pk, ref=f"{platform}:{ext}", platform=platform, author=author,
                text=text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…",
                created_at=created, status=status, urgency=urgency, category=category, lang=lang, score=score,
                waited=max(now - created, timedelta(0)), reply_ok=None, overdue=True,
            )
        )  # fmt: skip
    return Waiting(items, total)
