"""End-to-end pipeline throughput: mentions/s through every stage, against storing alone.

    python bench/bench_pipeline.py [--mentions 5000] [--postgres URL]

The stream is the bundled sample, repeated with fresh ids and shifted in time
(one copy per 2 days), so incidents and drafts happen as in real use. The
baseline is the store step alone (idempotent insert) on the same data and
database kind, measured in the same run; the ratio says what the stages cost.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.mention_io import read_mentions  # noqa: E402
from monitor.models import Mention  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.storage import open_database  # noqa: E402
from monitor.storage.repository import insert_new_mentions  # noqa: E402

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"


def stream(count: int) -> list[Mention]:
    with SAMPLE.open(encoding="utf-8") as handle:
        base = list(read_mentions(handle))
    out: list[Mention] = []
    copy = 0
    while len(out) < count:
        shift = timedelta(days=2 * copy)
        for m in base:
            out.append(replace(m, id=f"{m.id}-c{copy}", created_at=m.created_at + shift))
            if len(out) == count:
                break
        copy += 1
    return out


def fresh_url(kind: str, pg_url: str | None, folder: Path, tag: str) -> str | None:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{tag}.db'}"
    if not pg_url:
        return None
    import psycopg

    schema = f"bench_{tag}_{int(time.time() * 1000) % 10**9}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{pg_url}?options=-csearch_path%3D{schema}"


def bench(kind: str, mentions: list[Mention], pg_url: str | None, folder: Path) -> tuple[float, float] | None:
    store_url = fresh_url(kind, pg_url, folder, "store")
    full_url = fresh_url(kind, pg_url, folder, "full")
    if store_url is None or full_url is None:
        return None
    database = open_database(store_url)
    start = time.perf_counter()
    for i in range(0, len(mentions), 500):
        with database.session() as session:
            insert_new_mentions(session, mentions[i : i + 500], "bench")
    store_rate = len(mentions) / (time.perf_counter() - start)
    database.dispose()

    app = App(config_path=ROOT / "config.yaml", db_override=full_url)
    pipeline: Pipeline = app.pipeline  # model and templates load here, outside the timing
    start = time.perf_counter()
    report = pipeline.process(mentions, source="bench")
    full_rate = len(mentions) / (time.perf_counter() - start)
    assert report.new == len(mentions), report.summary()
    app.close()
    return store_rate, full_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=5000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    mentions = stream(args.mentions)
    print(f"{len(mentions)} mentions (sample stream repeated), one process\n")
    print(f"{'database':<10} {'store only /s':>14} {'full pipeline /s':>17} {'full ÷ store':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgres"):
            try:
                result = bench(kind, mentions, args.postgres if kind == "postgres" else None, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
                print(f"{kind:<10} skipped: {str(exc).splitlines()[0]}")
                continue
            if result is None:
                print(f"{kind:<10} skipped")
                continue
            store_rate, full_rate = result
            print(f"{kind:<10} {store_rate:>14,.0f} {full_rate:>17,.0f} {full_rate / store_rate:>13.2f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
