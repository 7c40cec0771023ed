"""How long an incident brief takes, against just loading the incident's members, in the same run.

    python bench/bench_briefs.py [--members 5000] [--runs 7]

Makes a temporary SQLite database holding one incident with --members member reports (varied
bilingual texts: versions, devices, places, merchants, amounts, quoted messages, personal data),
then times, best and median of --runs runs after a warm-up:

- load: the members read from the database (`brief.read.load_members`, one column-only query): the floor;
- brief: the brief built from those loaded members (extraction, counts, title, timeline, quotes), with the
  shipped config (facts and quotes from an evenly spaced sample of `briefs.max_members`, 2,000) and with
  every member read (max_members raised to the incident's size);
- load + brief: what `incidents show` adds for the brief;
- export path: `incidents export`'s own member query, without and with the brief.

Wall time (perf_counter) and CPU time of this process (process_time) are both shown: on a shared
machine the wall time also counts waiting for a core.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import load_settings  # noqa: E402
from monitor.incidents.brief.read import brief_context, load_members  # noqa: E402
from monitor.incidents.cli import export_rows  # noqa: E402
from monitor.storage import open_database  # noqa: E402
from monitor.storage.schema import ClassificationRow, IncidentMemberRow, IncidentRow, MentionRow  # noqa: E402

T0 = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
PLACES = ["Tebet", "Kemang", "Cilandak", "Bekasi", "Depok", "Bandung", "Surabaya", "jaksel", "BSD", "Pluit"]
TEMPLATES = [
    "QRIS paykita gagal terus abis update 5.{v}. statusnya 'transaksi gagal' tapi saldo berkurang {n}rb. balikin min",
    "Paid with PayKita QRIS at a warung in {p}, app said failed, balance down Rp {n},000. Version 5.{v}. Android 1{d}.",
    "saldo kepotong pas bayar QRIS di {p} pake paykita tp gagal. iPhone 1{d}, iOS 17.{v}. nomor 0812-3456-{k}",
    "double charge QRIS!! bayar 1x kepotong 2x di Indomaret {p}, abis update 5.{v} nih. TRX93847{k}61 tolong dicek",
    "Heads up: PayKita 5.{v} QRIS payments failing but still deducting. Happened in {p}, Rp {n}k gone. Telkomsel.",
    "udah {d} jam nunggu refund QRIS {n}rb gak masuk2 ke saldo. CS cuma bilang 'mohon ditunggu'. {p} @PayKitaCare",
]


def _make_db(path: Path, members: int) -> tuple[str, str]:
    url = f"sqlite:///{path}"
    database = open_database(url)
    rng = random.Random(17)
    incident_id = "INC-BENCH-0001"
    with database.session() as session:
        session.add(
            IncidentRow(
                id=incident_id,
                title="QRIS / 5.2 failing — payment_billing",
                category="payment_billing",
                status="active",
                first_seen=T0,
                last_seen=T0 + timedelta(seconds=members * 5),
                size=members,
                author_count=members,
                urgency="critical",
                key_terms=["QRIS", "5.2"],
                summary={"kind": "text"},
            )
        )
        rows = []
        for i in range(members):
            text = rng.choice(TEMPLATES).format(
                v=rng.randint(0, 3),
                n=rng.randint(10, 900),
                p=rng.choice(PLACES),
                d=rng.randint(1, 9),
                k=rng.randint(1000, 9999),
            )
            rows.append(
                MentionRow(
                    platform=rng.choice(["x", "x", "reddit", "bluesky", "mastodon"]),
                    external_id=str(10**12 + i),
                    author=f"user{rng.randint(0, members)}",
                    text=text,
                    created_at=T0 + timedelta(seconds=i * 5),
                    url=f"https://x.com/u/status/{10**12 + i}",
                    source_lang="id" if i % 3 else "en",
                    connector="bench",
                )
            )
        session.add_all(rows)
        session.flush()
        for row in rows:
            session.add(
                ClassificationRow(
                    mention_pk=row.pk,
                    lang=row.source_lang or "id",
                    is_complaint=True,
                    complaint_score=0.9,
                    base_urgency="high",
                    urgency="high",
                    category="payment_billing",
                )
            )
            session.add(
                IncidentMemberRow(incident_id=incident_id, mention_pk=row.pk, similarity=0.8, joined_at=row.created_at)
            )
        session.commit()
    database.engine.dispose()
    return url, incident_id


def _time(fn, runs: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Best wall, median wall and best CPU seconds of `runs` runs after a warm-up."""
    fn()  # warm-up (lexicon built and cached, SQLite pages in the cache)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), statistics.median(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.yaml")
    context = brief_context(settings)
    every = settings.model_copy(update={"briefs": settings.briefs.model_copy(update={"max_members": args.members})})
    context_all = brief_context(every)
    with tempfile.TemporaryDirectory() as tmp:
        url, incident_id = _make_db(Path(tmp) / "bench.db", args.members)
        database = open_database(url)
        with database.session() as session:
            members = load_members(session, [incident_id])[incident_id]
            assert len(members) == args.members
            brief = context.build(members, "payment_billing")
            assert brief is not None
            cases = {
                "load members (floor)": lambda: load_members(session, [incident_id]),
                "brief from loaded members": lambda: context.build(members, "payment_billing"),
                "brief, every member read": lambda: context_all.build(members, "payment_billing"),
                "load + brief (incidents show)": lambda: context.build(
                    load_members(session, [incident_id])[incident_id], "payment_billing"
                ),
                "export member query (no brief)": lambda: export_rows(session, incident_id=incident_id),
                "export member query + brief": lambda: export_rows(session, incident_id=incident_id, briefs=context),
            }
            results = {name: _time(fn, args.runs) for name, fn in cases.items()}
        database.engine.dispose()
    print(f"incident of {args.members:,} members; {args.runs} runs after a warm-up")
    print(f"brief title: {brief.title!r}; facts read from {brief.read:,} of {brief.reports:,} reports")
    width = max(len(n) for n in results)
    print(f"  {'':{width}}  {'best wall':>10}  {'median wall':>11}  {'best CPU':>9}")
    for name, (best, median, cpu) in results.items():
        print(f"  {name.ljust(width)}  {best * 1000:7.1f} ms  {median * 1000:8.1f} ms  {cpu * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
