"""The changes (POST). Each calls the same function in `monitor.review` the CLI does, as the logged-in user."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.errors import UserError
from monitor.models import Status
from monitor.review import (
    Conflict,
    LabelChange,
    apply_label,
    change_status,
    classification_of,
    drop_member,
    edit_draft,
    find_incident,
    lint_text,
    merge_incidents,
    set_incident_status,
    status_version,
)
from monitor.storage.repository import mention_from_row
from monitor.storage.schema import MentionRow, ReplyDraftRow
from monitor.web.pages import _pk, _safe_next
from monitor.web.server import Web, _wants_json, form_value
from monitor.web.users import authenticate

MAX_BULK = 500


def _user(request: Request) -> str:
    return request.scope["user"].name


def _back(request: Request, default: str) -> str:
    return _safe_next(form_value(request, "back", 2000) or default)


def _mention(session: Session, pk: int) -> MentionRow:
    row = session.get(MentionRow, pk)
    if row is None:
        raise UserError(f"no mention number {pk}")
    return row


def _status(value: str | None) -> Status:
    try:
        return Status(value or "")
    except ValueError:
        raise UserError(f"status: {value!r} is not one of {', '.join(s.value for s in Status)}") from None


def _version(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise UserError("version: not a number") from None


async def login(web: Web, request: Request) -> Response:
    name = (form_value(request, "name", 200) or "").strip()
    password = form_value(request, "password", 1000) or ""
    target = _safe_next(form_value(request, "next", 2000))
    address = request.client.host if request.client else "?"
    wait = web.throttle.blocked_for(address, name)
    if wait:
        message = f"Too many failed logins for this name: try again in {int(wait // 60) + 1} minutes."
        return web.render(request, "login.html.j2", 429, next=target, error=message)
    user = await web.write(authenticate, name, password)  # a login may re-hash an old password
    if user is None:
        web.throttle.failed(address, name)
        return web.render(request, "login.html.j2", 401, next=target, error="Wrong name or password.")
    web.throttle.succeeded(address, name)
    request.session.clear()  # a fresh session (and CSRF token) at login
    request.session["user"] = user.name
    return RedirectResponse(target, 303)


async def logout(web: Web, request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", 303)


async def set_status(web: Web, request: Request) -> Response:
    pk = _pk(request)
    status = _status(form_value(request, "status", 20))
    expected = _version(form_value(request, "version", 20))
    note = form_value(request, "note", 1000) or None

    def work(session: Session) -> dict[str, Any]:
        row = _mention(session, pk)
        change_status(session, row, status, user=_user(request), note=note, expected_version=expected)
        return {"status": row.status, "version": status_version(session, pk)}

    result = await web.write(work)
    if _wants_json(request):
        return JSONResponse(result)
    return RedirectResponse(_back(request, f"/m/{pk}"), 303)


async def label(web: Web, request: Request) -> Response:
    pk = _pk(request)
    verdict = form_value(request, "verdict", 20) or ""
    if verdict not in ("", "complaint", "not-complaint"):
        raise UserError("verdict: complaint or not-complaint")
    change = LabelChange(
        is_complaint={"": None, "complaint": True, "not-complaint": False}[verdict],
        urgency=form_value(request, "urgency", 20) or None,
        category=form_value(request, "category", 50) or None,
        note=form_value(request, "note", 1000) or None,
    )

    def work(session: Session) -> None:
        apply_label(session, web.app.pipeline, web.settings, _mention(session, pk), change, user=_user(request))

    await web.write(work)
    return RedirectResponse(_back(request, f"/m/{pk}"), 303)


async def save_draft(web: Web, request: Request) -> Response:
    pk = _pk(request)
    text = form_value(request, "text", 20000) or ""
    expected = form_value(request, "version", 40) or ""

    def work(session: Session) -> None:
        edit_draft(session, web.settings, _mention(session, pk), text, user=_user(request), expected_version=expected)

    await web.write(work)
    return RedirectResponse(f"/m/{pk}#draft", 303)


async def lint(web: Web, request: Request) -> Response:
    """The checks `replies lint` makes, on the text being typed (the page shows them live)."""
    pk = _pk(request)
    text = form_value(request, "text", 20000) or ""

    def work(session: Session) -> dict[str, Any]:
        from monitor.incidents.visibility import open_incident_of

        row = _mention(session, pk)
        draft = session.get(ReplyDraftRow, pk)
        if row.classification is None or draft is None:
            raise UserError("this mention has no reply draft")
        incident = open_incident_of(session, pk) is not None
        length, limit, problems = lint_text(
            text, mention_from_row(row), classification_of(row.classification), web.settings, draft.lang, incident
        )
        return {"length": length, "limit": limit, "problems": problems}

    return JSONResponse(await web.db(work))


async def bulk(web: Web, request: Request) -> Response:
    """Many selected complaints at once: a status, or a label. Each item is `pk@version`; one that changed
    since the page was loaded is reported, not overwritten."""
    form = request.scope["form"]
    items = [v for v in form.getlist("item") if isinstance(v, str)]
    action = form_value(request, "action", 50) or ""
    if not items:
        raise UserError("select at least one complaint")
    if len(items) > MAX_BULK:
        raise UserError(f"at most {MAX_BULK} complaints at once")
    parsed = []
    for item in items:
        pk, _, version = item.partition("@")
        if not pk.isdigit():
            raise UserError(f"not a selected complaint: {item[:40]!r}")
        parsed.append((int(pk), _version(version)))
    kind, _, value = action.partition(":")
    if kind == "status":
        status = _status(value)
    elif kind == "label" and value in ("not-complaint", "complaint"):
        change = LabelChange(is_complaint=value == "complaint")
    else:
        raise UserError("choose what to do with the selected complaints")

    def work(session: Session) -> tuple[int, list[str]]:
        done, conflicts = 0, []
        for pk, version in parsed:
            row = _mention(session, pk)
            try:
                with session.begin_nested():
                    if kind == "status":
                        done += change_status(session, row, status, user=_user(request), expected_version=version)
                    else:
                        apply_label(session, web.app.pipeline, web.settings, row, change, user=_user(request))
                        done += 1
            except Conflict as exc:
                conflicts.append(f"{row.platform}:{row.external_id}: {exc} (now {exc.theirs})")
        return done, conflicts

    done, conflicts = await web.write(work)
    if conflicts:
        return web.render(
            request, "error.html.j2", 409, status=409,
            message=f"{done} changed; {len(conflicts)} not, because someone changed them first: "
            + "; ".join(conflicts),
        )  # fmt: skip
    return RedirectResponse(_back(request, "/"), 303)


async def incident_status(web: Web, request: Request) -> Response:
    incident_id = request.path_params["incident_id"]
    status = form_value(request, "status", 20) or ""

    def work(session: Session) -> None:
        set_incident_status(session, find_incident(session, incident_id), status, user=_user(request))

    await web.write(work)
    return RedirectResponse(f"/incidents/{incident_id}", 303)


async def incident_merge(web: Web, request: Request) -> Response:
    incident_id = request.path_params["incident_id"]
    other = form_value(request, "other", 64) or ""

    def work(session: Session) -> None:
        survivor, merged = find_incident(session, incident_id), find_incident(session, other)
        merge_incidents(session, survivor, merged, user=_user(request))

    await web.write(work)
    return RedirectResponse(f"/incidents/{incident_id}", 303)


async def incident_drop(web: Web, request: Request) -> Response:
    incident_id = request.path_params["incident_id"]
    pk = _version(form_value(request, "mention", 20))
    if pk is None:
        raise UserError("which mention?")

    def work(session: Session) -> None:
        drop_member(session, find_incident(session, incident_id), _mention(session, pk), user=_user(request))

    await web.write(work)
    return RedirectResponse(f"/incidents/{incident_id}", 303)


ROUTES = [
    ("/login", login, ["POST"]),
    ("/logout", logout, ["POST"]),
    ("/m/{pk}/status", set_status, ["POST"]),
    ("/m/{pk}/label", label, ["POST"]),
    ("/m/{pk}/draft", save_draft, ["POST"]),
    ("/m/{pk}/lint", lint, ["POST"]),
    ("/bulk", bulk, ["POST"]),
    ("/incidents/{incident_id}/status", incident_status, ["POST"]),
    ("/incidents/{incident_id}/merge", incident_merge, ["POST"]),
    ("/incidents/{incident_id}/drop", incident_drop, ["POST"]),
]
