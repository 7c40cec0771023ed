"""The review inbox under test: a database with the sample stream (plus hostile mentions), users, and
the real server (uvicorn) listening on a free port in a thread."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"
PASSWORD = "correct horse battery"
HOSTILE_TEXT = (
    "saldo kepotong 500rb, refund gak masuk2 <script>alert('xss-text')</script> "
    "\"><img src=x onerror=alert('xss-img')> tolong @PayKitaCare"
)
HOSTILE_AUTHOR = "\"><svg onload=alert('xss-author')>"
HOSTILE_URL = "javascript:alert('xss-url')"


@dataclass
class Site:
    url: str
    db: str
    config: Path
    hostile_ref: str = "x:666000001"


def hostile_records() -> list[dict]:
    return [
        {"id": "666000001", "platform": "x", "author": HOSTILE_AUTHOR, "text": HOSTILE_TEXT,
         "created_at": "2026-03-10T20:00:00Z", "url": HOSTILE_URL, "lang": "id"},
        {"id": "666000002", "platform": "x", "author": "longwinded",
         "text": "refund gak masuk " + "sangat lama \u202e\u200b\U0001F92C " * 900,
         "created_at": "2026-03-10T20:05:00Z",
         "url": "https://x.com/longwinded/status/666000002", "lang": "id"},
    ]  # fmt: skip


def cli(*args: str, stdin: str | None = None) -> int:
    import io
    import sys

    old = sys.stdin
    try:
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        return main(list(args))
    finally:
        sys.stdin = old


def prepare(tmp: Path, db: str, page_size: int = 20, hostile: bool = True) -> Site:
    config = tmp / "config.yaml"
    config.write_text(f"storage:\n  url: {db}\nbrand:\n  name: PayKita\nweb:\n  page_size: {page_size}\n")
    base = ("--config", str(config))
    assert cli(*base, "import", str(SAMPLE)) == 0
    if hostile:
        path = tmp / "hostile.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in hostile_records()))
        assert cli(*base, "import", str(path)) == 0
        # whatever the model thought, these two are complaints at the top of the inbox
        for ref in ("x:666000001", "x:666000002"):
            assert cli(*base, "label", ref, "--complaint", "--urgency", "critical") == 0
    for name, role in (("ana", "agent"), ("budi", "agent"), ("vera", "viewer")):
        assert cli(*base, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n") == 0
    return Site(url="", db=db, config=config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(site: Site) -> Iterator[Site]:
    import uvicorn

    from monitor.app import App
    from monitor.web import create_app

    app = App(config_path=site.config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the inbox server did not start")
        time.sleep(0.05)
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(10)
        app.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(site: Site, name: str = "ana", password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=site.url, follow_redirects=False, timeout=30)
    page = client.get("/login")
    response = client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/"})
    assert response.status_code == 303, response.text[:500]
    return client


def pk_of(site: Site, ref: str) -> int:
    from monitor.storage import open_database
    from monitor.storage.repository import find_mention

    database = open_database(site.db)
    try:
        with database.session() as session:
            return find_mention(session, ref).pk
    finally:
        database.dispose()


def mention_state(site: Site, ref: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """A mention's status and its history (new status, who)."""
    from sqlalchemy import select

    from monitor.storage import open_database
    from monitor.storage.repository import find_mention
    from monitor.storage.schema import StatusChangeRow

    database = open_database(site.db)
    try:
        with database.session() as session:
            row = find_mention(session, ref)
            history = session.execute(
                select(StatusChangeRow.new_status, StatusChangeRow.user_name)
                .where(StatusChangeRow.mention_pk == row.pk)
                .order_by(StatusChangeRow.id)
            ).all()
            return row.status, [tuple(h) for h in history]
    finally:
        database.dispose()


def _status_by_pk(site: Site, pk: int) -> tuple[str | None, str | None]:
    """A mention's status and who set it last."""
    from sqlalchemy import select

    from monitor.storage import open_database
    from monitor.storage.schema import MentionRow, StatusChangeRow

    database = open_database(site.db)
    try:
        with database.session() as session:
            row = session.get(MentionRow, pk)
            who = session.scalar(
                select(StatusChangeRow.user_name)
                .where(StatusChangeRow.mention_pk == pk)
                .order_by(StatusChangeRow.id.desc())
                .limit(1)
            )
            return (row.status if row else None), who
    finally:
        database.dispose()
