"""End-to-end import rate at a real brand's volume: mentions/s through every stage, against the floor.

    python bench/bench_pipeline.py                       # 10k, 100k and 1M mentions, SQLite and PostgreSQL
    python bench/bench_pipeline.py --sizes 10000,100000 --databases sqlite

The stream is bench/volume_stream at 20,000 mentions a day (public EN/ID complaint tweets as the
background, half of them complaints, with injected outages), as long as the size needs, written
once to a JSONL file (not timed). Each size is imported from that file, in one process, into a
fresh database:

- floor: parse-and-insert alone (read the JSONL, the idempotent insert step in the pipeline's
  batches) on the same database kind, measured in the same run;
- full pipeline: parse, store, classify, incidents, reply drafts: what `complaint-monitor import
  FILE` does (so, as for any long import, a second process prepares batches ahead).

For each run: mentions/s overall, the rate of each tenth of the stream (the last tenth against the
first says whether cost per mention stays flat as the store grows; the same for the floor, which shows
what the database itself adds as it grows), and the peak RSS of each of the two processes.
Each run is a separate process, so its peak RSS is its own. The runs write Python's bytecode cache as
usual (PYTHONDONTWRITEBYTECODE is dropped), as a user's own imports do.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_DAY = 20_000
TENTHS = 10


def fresh_url(kind: str, pg_url: str, folder: Path, tag: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{tag}.db'}"
    import psycopg

    schema = f"bench_{tag}_{int(time.time() * 1000) % 10**9}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{pg_url}?options=-csearch_path%3D{schema}"


def drop_schema(pg_url: str, url: str) -> None:
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def write_stream(size: int, folder: Path) -> Path:
    """The first `size` mentions of the volume stream as a JSONL file (the stream's own writer)."""
    from bench.volume_stream import StreamConfig, iter_records

    path = folder / f"stream{size}.jsonl"
    if not path.exists():
        days = -(-size // PER_DAY) + 1
        with path.open("w", encoding="utf-8") as out:
            for record in itertools.islice(iter_records(StreamConfig(per_day=PER_DAY, days=days, seed=3)), size):
                out.write(record.to_json())
                out.write("\n")
    return path


def run_one(mode: str, url: str, path: Path, size: int) -> dict[str, object]:
    """In this process: import the JSONL file at `path` into `url` (mode: floor or full)."""
    from monitor.app import App
    from monitor.mention_io import read_mentions
    from monitor.pipeline import BATCH_SIZE
    from monitor.storage import open_database
    from monitor.storage.repository import insert_new_mentions

    handle = path.open(encoding="utf-8")
    tenth = max(1, size // TENTHS)
    marks: list[float] = []
    done = 0
    if mode == "floor":
        database = open_database(url)
        started = time.perf_counter()
        batch: list = []
        for mention in read_mentions(handle):
            batch.append(mention)
            if len(batch) == BATCH_SIZE:
                with database.session() as session:
                    insert_new_mentions(session, batch, "bench")
                done += len(batch)
                batch = []
                while len(marks) < TENTHS and done >= tenth * (len(marks) + 1):
                    marks.append(time.perf_counter() - started)
        if batch:
            with database.session() as session:
                insert_new_mentions(session, batch, "bench")
            done += len(batch)
        elapsed = time.perf_counter() - started
        database.dispose()
    else:
        app = App(config_path=ROOT / "config.yaml", db_override=url)
        pipeline = app.pipeline
        process_batch = pipeline._process_batch

        def timed(batch, *rest):  # type: ignore[no-untyped-def]
            nonlocal done
            result = process_batch(batch, *rest)
            done += len(batch.mentions)
            while len(marks) < TENTHS and done >= tenth * (len(marks) + 1):
                marks.append(time.perf_counter() - started)
            return result

        pipeline._process_batch = timed  # type: ignore[method-assign]
        started = time.perf_counter()
        report = pipeline.process_lines(handle, "bench")
        elapsed = time.perf_counter() - started
        assert report.new == size, report.summary()
        app.close()
    handle.close()
    while len(marks) < TENTHS:
        marks.append(elapsed)
    rates = []
    previous = 0.0
    for mark in marks:
        rates.append(tenth / max(mark - previous, 1e-9))
        previous = mark
    return {
        "mentions": done,
        "seconds": elapsed,
        "rate": done / elapsed,
        "first_tenth": rates[0],
        "last_tenth": rates[-1],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cpu_s": _cpu(resource.RUSAGE_SELF),
        "worker_cpu_s": _cpu(resource.RUSAGE_CHILDREN),
    }


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def in_subprocess(mode: str, url: str, path: Path, size: int) -> dict[str, object]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, str(path), str(size)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "URL", "PATH", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, path, size = args.child
        print(json.dumps(run_one(mode, url, Path(path), int(size))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"bench/volume_stream at {PER_DAY:,} mentions/day, imported from JSONL; one process per run\n")
    header = (
        f"{'database':<9} {'mentions':>9} {'floor /s':>9} {'full /s':>8} {'full÷floor':>10} "
        f"{'1st tenth /s':>12} {'last tenth /s':>13} {'time last÷1st':>13} {'peak RSS MB':>11} "
        f"{'preparing process MB':>20} {'floor time last÷1st':>19}"
    )
    print(header, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            for size in sizes:
                urls = []
                print(
                    f"[{time.perf_counter() - started:6.0f}s] {kind}, {size:,} mentions…", file=sys.stderr, flush=True
                )
                try:
                    path = write_stream(size, Path(tmp))
                    urls = [fresh_url(kind, args.postgres, Path(tmp), f"{mode}{size}") for mode in ("floor", "full")]
                    floor = in_subprocess("floor", urls[0], path, size)
                    full = in_subprocess("full", urls[1], path, size)
                except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
                    print(f"{kind:<9} {size:>9,} skipped: {str(exc).strip().splitlines()[-1][:120]}")
                    continue
                finally:
                    if kind == "postgres":
                        for url in urls:
                            drop_schema(args.postgres, url)
                print(
                    f"{kind:<9} {full['mentions']:>9,} {floor['rate']:>9,.0f} {full['rate']:>8,.0f} "
                    f"{full['rate'] / floor['rate']:>10.2f} {full['first_tenth']:>12,.0f} "
                    f"{full['last_tenth']:>13,.0f} {full['first_tenth'] / full['last_tenth']:>13.2f} "
                    f"{full['peak_rss_mb']:>11,.0f} {full['worker_rss_mb']:>20,.0f} "
                    f"{floor['first_tenth'] / floor['last_tenth']:>19.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
