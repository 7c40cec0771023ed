"""The review inbox at a real brand's volume: server time of its pages against a plain indexed SQL floor.

    python bench/bench_inbox.py                        # 200k mentions (20k open complaints), SQLite and PostgreSQL
    python bench/bench_inbox.py --mentions 50000 --open 5000 --databases sqlite --repeat 20

Seeding (not timed): the first N mentions of bench/volume_stream at 20,000 a day (public EN/ID complaint
tweets with synthetic authors, times and platforms), classified by the shipped model, stored with
one reply draft per complaint and its status history, then ANALYZE (PostgreSQL: VACUUM ANALYZE, as
autovacuum would). The newest `--open` complaints stay open
(`new`, one in five `acknowledged`); the older ones were closed (resolved or dismissed).

Timed: `complaint-monitor serve` in its own process; each request is timed from this one over
HTTP on localhost (so it includes the HTTP round trip): the first inbox page (50 rows and the facet
counts), a filtered page (urgency + platform), a text search, a deep page (keyset: the page after the
row at position `--open` - 100), and a mention page. The floor, in the same run on the same database:
a plain SELECT of the same page rows by primary key, and a plain indexed count of the open complaints.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import drop_schema, fresh_url  # noqa: E402 - the same fresh schema per run

PER_DAY = 20_000
PASSWORD = "bench password 1"
DRAFT = ("@{author} Mohon maaf atas kendala yang Anda alami. Mohon kirim detailnya melalui DM, tim kami akan "
         "membantu. Apakah langkah ini sesuai untuk Anda?")  # fmt: skip


def seed(url: str, mentions: int, open_complaints: int) -> dict[str, int]:
    from sqlalchemy import text

    from bench.volume_stream import StreamConfig, iter_mentions
    from monitor.app import App
    from monitor.models import Status
    from monitor.storage import open_database
    from monitor.storage.bulk import insert_rows
    from monitor.storage.repository import insert_new_mentions
    from monitor.storage.schema import ClassificationRow, ReplyDraftRow, StatusChangeRow, now_utc

    database = open_database(url)
    classifier = App(config_path=ROOT / "config.yaml").classifier
    days = -(-mentions // PER_DAY) + 1
    stream = itertools.islice(iter_mentions(StreamConfig(per_day=PER_DAY, days=days, seed=3)), mentions)
    complaints: list[tuple[int, str]] = []  # (pk, created_at iso) in stream order
    at = now_utc()
    while True:
        batch = list(itertools.islice(stream, 5000))
        if not batch:
            break
        verdicts = classifier.classify(batch)
        with database.session() as session:
            flagged = {m.key for m, v in zip(batch, verdicts, strict=True) if v.is_complaint}
            pks = insert_new_mentions(session, batch, "bench", flagged)
            cls_rows, drafts, history = [], [], []
            for mention, verdict in zip(batch, verdicts, strict=True):
                pk = pks[mention.key]
                cls_rows.append({
                    "mention_pk": pk, "lang": verdict.lang, "is_complaint": verdict.is_complaint,
                    "complaint_score": float(verdict.complaint_score), "base_urgency": verdict.urgency.value,
                    "urgency": verdict.urgency.value, "category": verdict.category, "reasons": list(verdict.reasons),
                    "model_version": "bench", "classified_at": at,
                })  # fmt: skip
                if verdict.is_complaint:
                    complaints.append((pk, mention.created_at.isoformat()))
                    drafts.append({"mention_pk": pk, "text": DRAFT.format(author=mention.author)[:280],
                                   "lang": "id", "ok": True, "problems": [], "template": "bench", "needs_dm": True,
                                   "drafted_at": at, "inputs": ""})  # fmt: skip
                    history.append({"mention_pk": pk, "old_status": None, "new_status": "new", "changed_at": at,
                                    "note": "flagged by the classifier"})  # fmt: skip
            insert_rows(session, ClassificationRow.__table__, cls_rows)
            insert_rows(session, ReplyDraftRow.__table__, drafts)
            insert_rows(session, StatusChangeRow.__table__, history)
    closed = complaints[: max(0, len(complaints) - open_complaints)]
    kept = complaints[len(closed) :]
    ends = (Status.RESOLVED.value, Status.DISMISSED.value)  # replied stays open (it waits for resolved)
    with database.session() as session:
        for i in range(0, len(closed), 1000):
            chunk = closed[i : i + 1000]
            for end in ends:
                pks = [pk for n, (pk, _) in enumerate(chunk) if ends[n % 2] == end]
                if pks:
                    ids = ",".join(map(str, pks))
                    session.execute(text(f"UPDATE mentions SET status = '{end}' WHERE pk IN ({ids})"))
            insert_rows(session, StatusChangeRow.__table__, [
                {"mention_pk": pk, "old_status": "new", "new_status": ends[n % 2], "changed_at": at, "note": None}
                for n, (pk, _) in enumerate(chunk)
            ])  # fmt: skip
        acknowledged = [pk for n, (pk, _) in enumerate(kept) if n % 5 == 0]
        for i in range(0, len(acknowledged), 1000):
            ids = ",".join(map(str, acknowledged[i : i + 1000]))
            session.execute(text(f"UPDATE mentions SET status = 'acknowledged' WHERE pk IN ({ids})"))
    if database.engine.dialect.name == "postgresql":
        # what autovacuum does to a live database; without it the status updates above leave dead index entries
        with database.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    database.dispose()
    return {"mentions": mentions, "complaints": len(complaints), "open": len(kept)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(client, path: str, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    client.get(path)  # warm
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return out


def floor_times(url: str, pks: list[int], repeat: int) -> tuple[list[float], list[float]]:
    from sqlalchemy import text

    from monitor.storage import open_database

    database = open_database(url)
    rows_sql = text(
        "SELECT m.pk, m.platform, m.external_id, m.author, m.text, m.created_at, m.status, c.urgency, c.category, "
        "c.lang FROM mentions m JOIN classifications c ON c.mention_pk = m.pk WHERE m.pk IN ("
        + ",".join(map(str, pks)) + ")"
    )  # fmt: skip
    count_sql = text("SELECT count(*) FROM mentions WHERE status IN ('new', 'acknowledged')")
    page, count = [], []
    with database.engine.connect() as conn:
        conn.execute(rows_sql).all()
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(rows_sql).all()
            page.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            conn.execute(count_sql).scalar()
            count.append((time.perf_counter() - started) * 1000)
    database.dispose()
    return page, count


def deep_cursor(url: str, position: int) -> str:
    from sqlalchemy import select

    from monitor.inbox import Cursor, InboxFilter, _base, urgency_rank
    from monitor.storage import open_database
    from monitor.storage.schema import MentionRow

    database = open_database(url)
    rank = urgency_rank()
    with database.session() as session:
        row = session.execute(
            _base(select(rank, MentionRow.created_at, MentionRow.pk), InboxFilter(), facets=True)
            .order_by(rank.desc(), MentionRow.created_at, MentionRow.pk)
            .offset(position)
            .limit(1)
        ).one()
    database.dispose()
    return Cursor(int(row[0]), row[1], row[2]).encode()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_database(kind: str, url: str, args: argparse.Namespace, folder: Path) -> list[tuple[str, list[float]]]:
    import httpx

    started = time.perf_counter()
    facts = seed(url, args.mentions, args.open)
    print(f"{kind}: seeded {facts['mentions']:,} mentions, {facts['complaints']:,} complaints, "
          f"{facts['open']:,} open, in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    config = folder / f"{kind}.yaml"
    config.write_text(f"storage:\n  url: {url}\nbrand:\n  name: PayKita\n")
    base = [sys.executable, "-m", "monitor", "--config", str(config)]
    subprocess.run([*base, "users", "add", "bench", "--role", "agent", "--password-stdin"], input=PASSWORD + "\n",
                   text=True, check=True, capture_output=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen([*base, "serve", "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(200):
            try:
                login = client.get("/login")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        token = re.search(r'name="csrf-token" content="([^"]+)"', login.text).group(1)
        client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": token})
        first = client.get("/").text
        pks = [int(x) for x in re.findall(r'data-pk="(\d+)"', first)]
        cursor = deep_cursor(url, max(0, facts["open"] - 100))
        results = [
            ("inbox, first page + counts", timed(client, "/", args.repeat)),
            ("inbox, urgency=high&platform=x", timed(client, "/?urgency=high&platform=x", args.repeat)),
            ("inbox, search q=refund", timed(client, "/?q=refund", args.repeat)),
            (f"inbox, deep page (row {facts['open'] - 100:,})", timed(client, f"/?after={cursor}", args.repeat)),
            ("mention page", timed(client, f"/m/{pks[len(pks) // 2]}", args.repeat)),
        ]
        page_floor, count_floor = floor_times(url, pks, args.repeat)
        results += [("floor: SELECT the page's rows by pk", page_floor),
                    ("floor: SELECT count(*) of open (indexed)", count_floor)]  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=20_000, help="open complaints (the newest ones)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg", default=os.environ.get("COMPLAINT_MONITOR_TEST_PG",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))  # fmt: skip
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"{args.mentions:,} mentions, {args.open:,} open complaints; {args.repeat} timed requests each, "
          "p50 / p95 in ms (HTTP on localhost, server in its own process)\n", flush=True)  # fmt: skip
    table: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
            url = fresh_url(kind, args.pg, Path(tmp), "inbox")
            try:
                for name, values in bench_database(kind, url, args, Path(tmp)):
                    table.setdefault(name, {})[kind] = values
            finally:
                if kind != "sqlite":
                    drop_schema(args.pg, url)
    kinds = sorted({k for row in table.values() for k in row}, key=lambda k: k != "sqlite")
    print(f"\n{'request':44}" + "".join(f"{k + ' p50':>14}{k + ' p95':>14}" for k in kinds))
    for name, row in table.items():
        cells = "".join(f"{p(row[k], 0.5):14.1f}{p(row[k], 0.95):14.1f}" if k in row else " " * 28 for k in kinds)
        print(f"{name:44}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
