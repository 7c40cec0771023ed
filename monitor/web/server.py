"""The app: middleware (security headers, signed session cookie), the login gate, CSRF and role checks,
error pages. Pages are in `pages.py`, changes in `actions.py`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.digest import _age, _safe_url, _when
from monitor.errors import UserError
from monitor.review import Conflict
from monitor.web.security import SecurityHeaders, csrf_ok, csrf_token
from monitor.web.throttle import LoginThrottle
from monitor.web.users import User, current_user, session_secret
from templates import TEMPLATES_DIR

if TYPE_CHECKING:
    from monitor.app import App

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
MAX_FORM_BYTES = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Web:
    """What every handler needs: the app (settings, database, pipeline) and the page templates."""

    app: App
    env: Environment
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @property
    def settings(self) -> Any:
        return self.app.settings

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user: User | None = request.scope.get("user")
        html = self.env.get_template(name).render(
            user=user, csrf=csrf_token(request.session), path=request.url.path, brand=self.settings.brand.name,
            **context,
        )  # fmt: skip
        return HTMLResponse(html, status_code=status_code)

    async def db(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run `work(session, *args)` in one short reading transaction, off the event loop."""

        def run() -> Any:
            with self.app.database.session() as session:
                return work(session, *args)

        return await run_in_threadpool(run)

    async def write(self, work: Callable[..., Any], *args: Any) -> Any:
        """`db` for a change: a writing transaction, which waits its turn with the daemon's batches
        (`Database.writing`), so a change and a batch never interleave."""

        def run() -> Any:
            with self.app.database.writing() as session:
                return work(session, *args)

        return await run_in_threadpool(run)


def profile_url(platform: str, author: str) -> str | None:
    author = author.strip().lstrip("@")
    if not author:
        return None
    if platform == "x":
        return "https://x.com/" + quote(author, safe="")
    if platform == "reddit":
        return "https://www.reddit.com/user/" + quote(author, safe="")
    if platform == "bluesky":
        return "https://bsky.app/profile/" + quote(author, safe="")
    if platform == "mastodon" and "@" in author:
        user, _, host = author.partition("@")
        if host and all(ch.isalnum() or ch in ".-" for ch in host):
            return f"https://{host}/@{quote(user, safe='')}"
    return None


def reply_url(platform: str, external_id: str, url: str | None, text: str) -> str | None:
    """Where a person replies: X has a reply intent that fills the text in; elsewhere, the post itself."""
    if platform == "x" and external_id.isdigit():
        return "https://x.com/intent/post?" + urlencode({"in_reply_to": external_id, "text": text})
    return _safe_url(url)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR / "web")),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2", "html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def iso(dt: datetime | None) -> str:
        return dt.isoformat() if dt else ""

    env.filters.update(age=_age, when=_when, safe_url=_safe_url, iso=iso, urlencode=urlencode)
    env.globals.update(profile_url=profile_url, reply_url=reply_url, dict=dict)
    return env


PUBLIC = ("/login", "/static/")
ANY_ROLE_POSTS = ("/logout",)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def gate(web: Web, handler: Handler) -> Handler:
    """Login required; CSRF token on every POST; viewers may not change anything."""

    async def checked(request: Request) -> Response:
        path = request.url.path
        user = await web.db(current_user, request.session.get("user"))
        request.scope["user"] = user
        if request.method == "POST":
            length = int(request.headers.get("content-length") or 0)
            if length > MAX_FORM_BYTES:
                return _error(web, request, 413, "That form is too large.")
            form = await request.form(max_files=0, max_fields=2000)
            request.scope["form"] = form
            sent = request.headers.get("x-csrf-token") or form.get("csrf")
            if not csrf_ok(request.session, sent if isinstance(sent, str) else None):
                return _error(web, request, 403, "This form has expired or did not come from this page "
                              "(missing or wrong CSRF token). Reload the page and try again.")  # fmt: skip
        if not path.startswith(PUBLIC):
            if user is None:
                if request.method in ("GET", "HEAD"):
                    return RedirectResponse("/login?" + urlencode({"next": str(request.url.path)}), 303)
                return _error(web, request, 401, "Log in first.")
            if request.method == "POST" and not user.can_change and path not in ANY_ROLE_POSTS:
                return _error(web, request, 403, f"{user.name} is a viewer: viewers cannot change anything.")
        try:
            return await handler(request)
        except UserError as exc:
            return _error(web, request, 400, str(exc))
        except Conflict as exc:
            if _wants_json(request):
                return JSONResponse({"error": str(exc), "theirs": exc.theirs, "yours": exc.yours}, 409)
            return web.render(request, "conflict.html.j2", 409, conflict=exc, back=request.headers.get("referer"))

    return checked


def _error(web: Web, request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status)
    return web.render(request, "error.html.j2", status, status=status, message=message)


def form_value(request: Request, name: str, limit: int = 5000) -> str | None:
    value = request.scope["form"].get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserError(f"{name}: expected text")
    if len(value) > limit:
        raise UserError(f"{name}: too long (at most {limit} characters)")
    return value


def create_app(app: App) -> Starlette:
    from monitor.web import actions, pages

    web = Web(app, _environment())
    with app.database.writing() as session:
        secret = session_secret(session)
    settings = app.settings.web

    def route(path: str, handler: Callable[[Web, Request], Awaitable[Response]], methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await handler(web, request)

        return Route(path, gate(web, endpoint), methods=methods)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/favicon.ico", favicon),
        *(route(path, handler, methods) for path, handler, methods in (*pages.ROUTES, *actions.ROUTES)),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        request.scope.setdefault("user", None)
        detail = exc.detail if isinstance(exc, HTTPException) else "Not found"
        return _error(web, request, 404 if not isinstance(exc, HTTPException) else exc.status_code, str(detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s", request.url.path, exc_info=exc)
        return HTMLResponse("<!doctype html><title>Error</title><p>Something went wrong on the server; it is logged.",
                            500)  # fmt: skip

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="cm_session",
                max_age=settings.session_hours * 3600,
                same_site="strict",
                https_only=settings.secure_cookies,
            ),  # fmt: skip
        ],
        exception_handlers={HTTPException: not_found, 500: server_error},
    )
