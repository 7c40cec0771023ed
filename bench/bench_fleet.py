"""Several writers on one PostgreSQL database: 1, 2 and 4 `complaint-monitor import` processes at once.

    python bench/bench_fleet.py [--size 50000] [--workers 1,2,4] [--postgres URL]

The stream is bench/volume_stream at 20,000 mentions a day, the first --size mentions, split by
platform into as many files as there are workers (platforms dealt out so the shares are as even as
they can be); every worker imports its file at the same moment, each into the same fresh schema.
Printed per run: wall time from the first start to the last exit, mentions/s, the CPU time of the
workers and their preparing processes (how well they use the cores), and whether the store ends
identical, table by table (bench/store_state.py), to the 1-worker run. Writing transactions take
turns (one writer at a time per schema); reading, classifying and drafting run in parallel.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import drop_schema, fresh_url, write_stream  # noqa: E402
from bench.store_state import state  # noqa: E402


def split_by_platform(path: Path, parts: int, folder: Path) -> list[Path]:
    """The stream's lines dealt out by platform into `parts` files, biggest platforms first."""
    import json

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    platforms = Counter(json.loads(line).get("platform", "file") for line in lines)
    load = [0] * parts
    owner: dict[str, int] = {}
    for platform, count in platforms.most_common():
        target = min(range(parts), key=lambda i: load[i])
        owner[platform] = target
        load[target] += count
    files = [folder / f"part{parts}-{i}.jsonl" for i in range(parts)]
    handles = [f.open("w", encoding="utf-8") for f in files]
    for line in lines:
        handles[owner[json.loads(line).get("platform", "file")]].write(line)
    for handle in handles:
        handle.close()
    return files


def run_workers(url: str, files: list[Path]) -> tuple[float, float]:
    """Start one `complaint-monitor import` per file at once; wall seconds and CPU seconds of all of them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(ROOT / "config.yaml"), "--db", url, "import", str(f)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"a worker failed (exit {process.returncode}): {err[-2000:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    cores = os.cpu_count() or 1
    print(f"{args.size:,} mentions of bench/volume_stream, split by platform; PostgreSQL; {cores} cores\n")
    print(f"{'workers':>7} {'wall s':>7} {'mentions/s':>10} {'vs 1 worker':>11} {'CPU s':>6} {'cores busy':>10}  store")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stream = write_stream(args.size, folder)
        reference = None
        single_rate = None
        for n in counts:
            files = [stream] if n == 1 else split_by_platform(stream, n, folder)
            url = fresh_url("postgres", args.postgres, folder, f"fleet{n}")
            try:
                wall, cpu = run_workers(url, files)
                result = state(url)
            finally:
                drop_schema(args.postgres, url)
            rate = args.size / wall
            single_rate = single_rate or (rate if n == 1 else None)
            if reference is None:
                reference = result
                verdict = "reference" if n == 1 else "reference (no 1-worker run)"
            else:
                differing = [table for table in reference if reference[table] != result[table]]
                verdict = "identical to 1 worker" if not differing else f"DIFFERENT: {', '.join(differing)}"
            ratio = f"{rate / single_rate:.2f}x" if single_rate else "-"
            print(
                f"{n:>7} {wall:>7.1f} {rate:>10,.0f} {ratio:>11} {cpu:>6.1f} {cpu / wall:>10.2f}  {verdict}", flush=True
            )


if __name__ == "__main__":
    main()
