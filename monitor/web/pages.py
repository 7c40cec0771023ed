"""The pages (GET): inbox, a mention, still waiting, incidents, overview, login."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from monitor.charts import Bar, column_chart
from monitor.errors import UserError
from monitor.inbox import facet_counts, inbox_page, parse_filter, status_versions, still_waiting
from monitor.models import Status, Urgency
from monitor.overview import build_overview
from monitor.review import INCIDENT_STATUSES, classification_of, draft_version, find_incident, lint_text
from monitor.storage.repository import mention_from_row, mention_ref
from monitor.storage.schema import (
    IncidentMemberRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    ReplyDraftRow,
    StatusChangeRow,
    now_utc,
)
from monitor.web.server import Web


def _now(session: Session) -> datetime:
    from monitor.storage.repository import newest_mention_time

    return newest_mention_time(session) or now_utc()


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect after login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_page(web: Web, request: Request) -> Response:
    return web.render(request, "login.html.j2", next=_safe_next(request.query_params.get("next")), error=None)


async def inbox(web: Web, request: Request) -> Response:
    settings = web.settings
    params = {k: v for k, v in request.query_params.items()}

    def work(session: Session) -> dict[str, Any]:
        now = _now(session)
        f = parse_filter(params, now, list(settings.classifier.categories))
        page = inbox_page(
            session, f, now, after=params.get("after") or None, size=settings.web.page_size,
            follow_up=settings.digest.follow_up_for,
        )  # fmt: skip
        versions = status_versions(session, [item.pk for item in page.items])
        incidents = session.execute(
            select(IncidentRow.id, IncidentRow.title).where(IncidentRow.merged_into.is_(None),
                                                           IncidentRow.status.in_(INCIDENT_STATUSES))
            .order_by(IncidentRow.last_seen.desc()).limit(50)
        ).all()  # fmt: skip
        return {"page": page, "counts": facet_counts(session, f), "versions": versions, "incidents": incidents}

    try:
        data = await web.db(work)
    except UserError as exc:
        return web.render(
            request, "error.html.j2", 400, status=400, message=f"That filter cannot be used: {exc}",
        )  # fmt: skip
    return web.render(
        request, "inbox.html.j2", **data, f=data["page"].filter, params=params,
        statuses=[s.value for s in Status], urgencies=[u.value for u in Urgency if u is not Urgency.NONE],
        categories=sorted({*settings.classifier.categories, "other"}),
    )  # fmt: skip


def _pk(request: Request) -> int:
    try:
        return int(request.path_params["pk"])
    except (KeyError, ValueError):
        raise UserError("not a mention number") from None


@dataclass
class MentionView:
    row: MentionRow
    ref: str
    version: int
    history: list[StatusChangeRow]
    label: LabelRow | None
    draft: ReplyDraftRow | None
    draft_version: str
    length: int
    limit: int
    problems: list[str]
    incident: IncidentRow | None


def load_mention(session: Session, settings: Any, pk: int) -> MentionView:
    row = session.get(MentionRow, pk)
    if row is None:
        raise UserError(f"no mention number {pk}")
    history = list(
        session.scalars(select(StatusChangeRow).where(StatusChangeRow.mention_pk == pk).order_by(StatusChangeRow.id))
    )
    draft = session.get(ReplyDraftRow, pk)
    incident = session.scalar(
        select(IncidentRow).join(IncidentMemberRow, IncidentMemberRow.incident_id == IncidentRow.id)
        .where(IncidentMemberRow.mention_pk == pk, IncidentRow.merged_into.is_(None))
    )  # fmt: skip
    problems: list[str] = []
    length, limit = 0, settings.replies.limit_for(row.platform)
    if draft is not None and row.classification is not None:
        length, limit, problems = lint_text(
            draft.text, mention_from_row(row), classification_of(row.classification), settings, draft.lang,
            incident is not None and incident.status in ("emerging", "active"),
        )  # fmt: skip
    _ = row.classification  # loaded inside the session
    return MentionView(
        row, mention_ref(row), history[-1].id if history else 0, history, session.get(LabelRow, pk), draft,
        draft_version(draft.text if draft else None), length, limit, problems, incident,
    )  # fmt: skip


async def mention(web: Web, request: Request) -> Response:
    pk = _pk(request)
    view = await web.db(load_mention, web.settings, pk)
    return web.render(
        request, "mention.html.j2", m=view, statuses=[s.value for s in Status],
        urgencies=[u.value for u in Urgency], categories=sorted({*web.settings.classifier.categories, "other"}),
    )  # fmt: skip


async def waiting(web: Web, request: Request) -> Response:
    settings = web.settings

    def work(session: Session) -> dict[str, Any]:
        now = _now(session)
        found = still_waiting(session, now, settings.digest.follow_up_for)
        return {"items": found.items, "total": found.total, "now": now}

    data = await web.db(work)
    times = [(u, settings.digest.follow_up_for(u)) for u in ("critical", "high", "medium", "low")]
    return web.render(request, "waiting.html.j2", **data, times=times)


async def incidents(web: Web, request: Request) -> Response:
    def work(session: Session) -> list[IncidentRow]:
        return list(
            session.scalars(
                select(IncidentRow)
                .where(IncidentRow.status.in_(INCIDENT_STATUSES))
                .order_by(IncidentRow.last_seen.desc())
                .limit(500)
            )
        )

    rows = await web.db(work)
    return web.render(request, "incidents.html.j2", incidents=rows)


def _hourly(members: list[MentionRow], raised_at: datetime | None) -> Any:
    if not members:
        return ""
    first = members[0].created_at.replace(minute=0, second=0, microsecond=0)
    last = members[-1].created_at.replace(minute=0, second=0, microsecond=0)
    hours = min(int((last - first).total_seconds() // 3600) + 1, 24 * 14)
    counts: dict[int, int] = defaultdict(int)
    for m in members:
        counts[int((m.created_at - first).total_seconds() // 3600)] += 1
    peak = max(counts.values())
    # The burst: the hours at the peak rate, and the hour the group became an incident.
    raised = int((raised_at - first).total_seconds() // 3600) if raised_at else -1
    bars = [
        Bar((first + timedelta(hours=i)).strftime("%m-%d %H:00"), counts.get(i, 0),
            highlight=counts.get(i, 0) == peak or i == raised)
        for i in range(hours)
    ]  # fmt: skip
    return column_chart(bars, "Reports per hour", label_every=max(1, hours // 8), highlight_note="burst")


async def incident(web: Web, request: Request) -> Response:
    from monitor.incidents.brief.read import brief_context
    from monitor.incidents.cli import export_rows

    incident_id = request.path_params["incident_id"]

    def work(session: Session) -> dict[str, Any]:
        row = find_incident(session, incident_id)
        members = list(
            session.scalars(
                select(MentionRow)
                .join(IncidentMemberRow, IncidentMemberRow.mention_pk == MentionRow.pk)
                .where(IncidentMemberRow.incident_id == row.id)
                .order_by(MentionRow.created_at, MentionRow.pk)
            )
        )
        others = session.execute(
            select(IncidentRow.id, IncidentRow.title)
            .where(IncidentRow.id != row.id, IncidentRow.merged_into.is_(None))
            .where(IncidentRow.status.in_(INCIDENT_STATUSES))
            .order_by(IncidentRow.last_seen.desc()).limit(100)
        ).all()  # fmt: skip
        exported = export_rows(session, incident_id=row.id, briefs=brief_context(web.settings))
        return {
            "inc": row, "members": members, "chart": _hourly(members, row.raised_at),
            "brief": exported[0].get("brief") if exported else None,
            "authors": len({(m.platform, m.author.lower()) for m in members}),
            "platforms": sorted({m.platform for m in members}), "others": others,
            "changes": list((row.summary or {}).get("changes", [])),
        }  # fmt: skip

    data = await web.db(work)
    return web.render(request, "incident.html.j2", **data, statuses=INCIDENT_STATUSES)


async def incident_export(web: Web, request: Request) -> Response:
    """The same rows as `incidents export` (one incident, or all listed by default)."""
    from monitor.exports import INCIDENT_CSV_FIELDS, incident_member_rows, write_csv
    from monitor.incidents.cli import export_rows

    fmt = request.path_params["fmt"]
    incident_id = request.query_params.get("id") or None
    if fmt not in ("json", "csv"):
        raise UserError("export format: json or csv")

    from monitor.incidents.brief.read import brief_context

    briefs = brief_context(web.settings) if fmt == "json" else None

    def work(session: Session) -> list[dict[str, Any]]:
        statuses = None if incident_id else INCIDENT_STATUSES
        return export_rows(session, status=statuses, incident_id=incident_id, briefs=briefs)

    rows = await web.db(work)
    if incident_id and not rows:
        raise UserError(f"no incident with id {incident_id!r}")
    name = f"incidents-{incident_id or 'all'}"
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    if fmt == "json":
        body = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
        media = "application/json"
    else:
        out = io.StringIO()
        write_csv(incident_member_rows(rows), INCIDENT_CSV_FIELDS, out)
        body, media = out.getvalue(), "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'})


async def overview(web: Web, request: Request) -> Response:
    def work(session: Session) -> Any:
        return build_overview(session, web.settings.digest, _now(session))

    return web.render(request, "overview.html.j2", o=await web.db(work))


ROUTES = [
    ("/login", login_page, ["GET"]),
    ("/", inbox, ["GET"]),
    ("/m/{pk}", mention, ["GET"]),
    ("/waiting", waiting, ["GET"]),
    ("/incidents", incidents, ["GET"]),
    ("/incidents/export.{fmt}", incident_export, ["GET"]),
    ("/incidents/{incident_id}", incident, ["GET"]),
    ("/overview", overview, ["GET"]),
]
