"""The digest a community manager reads every morning: data first, then one renderer per format.

Order: incidents (biggest risk first), recurring issues (the steady, ordinary
problems per category, week on week: monitor/recurring.py), flagged complaints
by urgency (critical first), then "still waiting": complaints nobody has
followed up on within the configured time. Time is the stream's time (newest mention) unless `as_of` is
given, so a replayed stream yields the same digest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import escaping
from monitor.config import Settings
from monitor.incidents.visibility import shown, text_incident
from monitor.models import Status, Urgency
from monitor.overview import Overview, build_overview
from monitor.recurring import RecurringIssues, recurring_issues
from monitor.storage.repository import mention_ref, newest_mention_time
from monitor.storage.schema import (
    ClassificationRow,
    IncidentMemberRow,
    IncidentRow,
    MentionRow,
    ReplyDraftRow,
    now_utc,
)
from templates import TEMPLATES_DIR

if TYPE_CHECKING:
    from monitor.incidents.brief.build import Brief

FORMATS = {"html": "digest.html.j2", "md": "digest.md.j2", "text": "digest.txt.j2"}
URGENCY_ORDER = [Urgency.CRITICAL, Urgency.HIGH, Urgency.MEDIUM, Urgency.LOW]
EXAMPLES_PER_INCIDENT = 3
OPEN_INCIDENT_STATES = ("emerging", "active")


@dataclass
class DigestMention:
    ref: str
    platform: str
    author: str
    created_at: datetime
    url: str | None
    text: str
    lang: str
    category: str
    urgency: str
    complaint_score: float
    status: str
    age: timedelta
    incident_id: str | None = None
    reply: str | None = None
    reply_ok: bool = True
    reply_problems: list[str] = field(default_factory=list)


@dataclass
class DigestIncident:
    id: str
    title: str
    category: str
    status: str
    urgency: str
    size: int
    authors: int
    platforms: list[str]
    languages: list[str]
    first_seen: datetime
    last_seen: datetime
    last_hour: int
    per_hour: float
    examples: list[DigestMention]
    facts: list[str] = field(default_factory=list)
    """The brief's facts, one line per kind: 'App version: 5.2 (9 people), 5.1 (1)'."""
    timeline: str = ""
    quotes: list[DigestQuote] = field(default_factory=list)
    """The brief's representative quotes, personal data masked."""


@dataclass
class DigestQuote:
    author: str
    platform: str
    lang: str
    created_at: datetime
    url: str | None
    text: str


@dataclass
class UrgencyGroup:
    urgency: str
    mentions: list[DigestMention]
    hidden: int = 0


@dataclass
class Digest:
    brand: str
    generated_at: datetime
    as_of: datetime | None
    since: datetime | None
    follow_up: timedelta
    incidents: list[DigestIncident]
    recurring: RecurringIssues
    complaints: list[UrgencyGroup]
    still_waiting: list[DigestMention]
    mentions_in_window: int
    complaints_in_window: int
    overview: Overview | None = None
    follow_up_overrides: list[tuple[str, timedelta]] = field(default_factory=list)
    """Urgencies with their own follow-up time (digest.follow_up_by_urgency)."""
    """The charts (inline SVG) the review inbox's overview shows; the HTML digest shows them too."""

    @property
    def is_empty(self) -> bool:
        return not (self.incidents or self.still_waiting or any(g.mentions for g in self.complaints))


def _digest_mention(
    row: MentionRow, cls: ClassificationRow, draft: ReplyDraftRow | None, incident_id: str | None, as_of: datetime
) -> DigestMention:
    return DigestMention(
        ref=mention_ref(row),
        platform=row.platform,
        author=row.author,
        created_at=row.created_at,
        url=row.url,
        text=row.text,
        lang=cls.lang,
        category=cls.category,
        urgency=cls.urgency,
        complaint_score=cls.complaint_score,
        status=row.status or Status.NEW.value,
        age=max(as_of - row.created_at, timedelta(0)),
        incident_id=incident_id,
        reply=draft.text if draft is not None else None,
        reply_ok=draft.ok if draft is not None else False,
        reply_problems=list(draft.problems or []) if draft is not None else ["no draft yet"],
    )


def _urgency_key(item: DigestMention) -> tuple[int, float]:
    return (-Urgency(item.urgency).rank, -item.created_at.timestamp())


def build_digest(
    session: Session, settings: Settings, since: datetime | None = None, as_of: datetime | None = None
) -> Digest:
    newest = newest_mention_time(session, settings.ingest.max_future)
    as_of = as_of or newest or now_utc()
    historical = newest is not None and as_of < newest
    if since is None:
        since = as_of - settings.digest.lookback
    open_states = [s.value for s in Status if s.is_open]

    incident_of: dict[int, str] = {
        pk: inc_id
        for pk, inc_id in session.execute(
            select(IncidentMemberRow.mention_pk, IncidentMemberRow.incident_id)
            .join(IncidentRow, IncidentRow.id == IncidentMemberRow.incident_id)
            .where(IncidentRow.merged_into.is_(None), text_incident())
            .where(func.coalesce(IncidentRow.raised_at, IncidentRow.first_seen) <= as_of)
        )
    }

    flagged = session.execute(
        select(MentionRow, ClassificationRow, ReplyDraftRow)
        .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
        .outerjoin(ReplyDraftRow, ReplyDraftRow.mention_pk == MentionRow.pk)
        .where(ClassificationRow.is_complaint.is_(True), MentionRow.status.in_(open_states))
        .where(MentionRow.created_at <= as_of)
    ).all()
    items = [_digest_mention(m, c, d, incident_of.get(m.pk), as_of) for m, c, d in flagged]

    recent = sorted((i for i in items if i.created_at >= since), key=_urgency_key)
    groups: list[UrgencyGroup] = []
    cap = settings.digest.max_per_urgency
    for urgency in URGENCY_ORDER:
        members = [i for i in recent if i.urgency == urgency.value]
        groups.append(UrgencyGroup(urgency.value, members[:cap], max(0, len(members) - cap)))

    waiting = sorted(
        (i for i in items if i.status == Status.NEW.value and i.age >= settings.digest.follow_up_for(i.urgency)),
        key=lambda i: (i.created_at, i.ref),
    )

    incidents = _incidents(session, settings, since, as_of, {i.ref: i for i in items}, historical)

    mentions_in_window = len(
        session.scalars(
            select(MentionRow.pk).where(MentionRow.created_at >= since, MentionRow.created_at <= as_of)
        ).all()
    )
    return Digest(
        brand=settings.brand.name,
        generated_at=now_utc(),
        as_of=as_of,
        since=since,
        follow_up=settings.digest.follow_up,
        incidents=incidents,
        recurring=recurring_issues(session, settings.digest, as_of),
        complaints=groups,
        still_waiting=waiting,
        mentions_in_window=mentions_in_window,
        complaints_in_window=len(recent),
        overview=build_overview(session, settings.digest, as_of),
        follow_up_overrides=sorted(settings.digest.follow_up_by_urgency.items(), key=lambda kv: -Urgency(kv[0]).rank),
    )


def _incidents(
    session: Session,
    settings: Settings,
    since: datetime,
    as_of: datetime,
    flagged: dict[str, DigestMention],
    historical: bool = False,
) -> list[DigestIncident]:
    from monitor.incidents.brief.build import BriefMention
    from monitor.incidents.brief.read import brief_context
    from monitor.incidents.brief.text import headline

    briefs = brief_context(settings)
    # The world as it was at `as_of`: incidents raised by then, their reports up to then, their status then.
    rows = session.scalars(
        select(IncidentRow).where(
            shown(),
            IncidentRow.merged_into.is_(None),
            func.coalesce(IncidentRow.raised_at, IncidentRow.first_seen) <= as_of,
            (IncidentRow.status.in_(OPEN_INCIDENT_STATES)) | (IncidentRow.last_seen >= since),
        )
    ).all()
    members: dict[str, list[MentionRow]] = defaultdict(list)
    if rows:
        for inc_id, mention in session.execute(
            select(IncidentMemberRow.incident_id, MentionRow)
            .join(MentionRow, MentionRow.pk == IncidentMemberRow.mention_pk)
            .where(IncidentMemberRow.incident_id.in_([r.id for r in rows]), MentionRow.created_at <= as_of)
        ):
            members[inc_id].append(mention)
    result = []
    for row in rows:
        mentions = sorted(members[row.id], key=lambda m: (m.created_at, m.platform, m.external_id))
        if not mentions:
            continue
        first, last = mentions[0].created_at, mentions[-1].created_at
        status = row.status
        if historical:
            status = status_then(row, last, len({(m.platform, m.author.lower()) for m in mentions}), as_of, settings)
        if status not in OPEN_INCIDENT_STATES and last < since:
            continue
        hours = max((last - first).total_seconds() / 3600, 1.0)
        examples = [flagged[mention_ref(m)] for m in mentions if mention_ref(m) in flagged][:EXAMPLES_PER_INCIDENT]
        brief = briefs.build(
            [
                BriefMention(
                    mention_ref(m),
                    m.platform,
                    m.author or "",
                    m.created_at,
                    m.text or "",
                    m.url,
                    flagged[mention_ref(m)].lang if mention_ref(m) in flagged else m.source_lang,
                )
                for m in mentions
            ],
            row.category or "other",
            row.raised_at,
        )
        assert brief is not None
        result.append(
            DigestIncident(
                id=row.id,
                title=headline((row.summary or {}).get("kind", "text"), row.title, f"{brief.title} — {row.category}"),
                category=row.category,
                status=status,
                urgency=row.urgency,
                size=len(mentions),
                authors=len({(m.platform, m.author.lower()) for m in mentions}),
                platforms=sorted({m.platform for m in mentions}),
                languages=sorted({str(lang) for lang in row.summary.get("languages", [])} if row.summary else set()),
                first_seen=first,
                last_seen=last,
                last_hour=sum(1 for m in mentions if m.created_at >= last - timedelta(hours=1)),
                per_hour=round(len(mentions) / hours, 1),
                examples=examples,
                facts=fact_summary(brief),
                timeline=_brief_timeline(brief),
                quotes=[
                    DigestQuote(
                        q.author,
                        q.platform,
                        q.lang,
                        datetime.fromisoformat(q.created_at.replace("Z", "+00:00")),
                        q.url,
                        q.text,
                    )
                    for q in brief.quotes
                ],
            )
        )
    result.sort(key=lambda i: (-Urgency(i.urgency).rank, -i.size, i.id))
    return result


def status_then(row: IncidentRow, last: datetime, authors: int, as_of: datetime, settings: Settings) -> str:
    """An incident's status at `as_of` (its stored status is today's): open while its last report up to then is
    less than `incidents.resolve_after` old; a status set by hand stays as it is."""
    if row.status not in ("resolved", *OPEN_INCIDENT_STATES):
        return row.status
    if last + settings.incidents.resolve_after <= as_of:
        return "resolved"
    return "active" if authors >= settings.incidents.active_authors else "emerging"


def fact_summary(brief: Brief) -> list[str]:
    from monitor.incidents.brief.text import fact_summary as summary

    return summary(brief)


def _brief_timeline(brief: Brief) -> str:
    t = brief.timeline
    became = f"; an incident from {_when(_parse(t.became_incident.created_at))}" if t.became_incident else ""
    return (
        f"first report {_when(_parse(t.first_report.created_at))}{became}; "
        f"peak {t.peak_reports} in the hour from {_when(_parse(t.peak_hour))}"
    )


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d{hours % 24}h"


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "—"


def _md(text: str | None) -> str:
    """User text made inert in Markdown: no HTML, links, emphasis, headings or control characters."""
    return escaping.markdown(text or "")


def _md_url(url: str | None) -> str | None:
    """An http(s) link target for Markdown that cannot break out of the link (None for anything else)."""
    target = escaping.markdown_url(url)
    return escaping.MarkdownText(target) if target else None


def _one_line(text: str | None, limit: int = 0) -> str:
    out = " ".join((text or "").split())
    if limit and len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links reach the page: a `javascript:` URL in a payload must not become a link."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _finalize(fmt: str) -> Callable[[Any], Any]:
    """What every value printed into a template goes through: HTML is autoescaped; in Markdown every value
    is made inert (unless a filter already did); in text, control characters and line breaks are removed."""
    if fmt == "md":
        return lambda value: value if not isinstance(value, str) else escaping.markdown(value)
    if fmt == "text":
        return lambda value: value if not isinstance(value, str) else escaping.plain(value)
    return lambda value: value


def _environment(fmt: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"]) if fmt == "html" else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize(fmt),
    )
    env.filters.update(age=_age, when=_when, md=_md, md_url=_md_url, one_line=_one_line, safe_url=_safe_url)
    return env


def render_digest(digest: Digest, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r} (use html, md or text)")
    env = _environment(fmt)
    return env.get_template(FORMATS[fmt]).render(d=digest)
