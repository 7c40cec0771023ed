"""Start-up wall time of the commands that do not classify, against a bare Python start.

    python bench/bench_startup.py [--runs 15] [--db sqlite:////path/to.db]

Each command runs in a fresh subprocess (`python -m monitor …`, output to
/dev/null), on a SQLite database with the bundled sample imported (made in a
temporary folder unless --db is given). The floor is `python -c pass` with the
same interpreter, measured in the same run; the ratio is command / floor. A
second floor imports the libraries every one of these commands needs
(SQLAlchemy, pydantic, Jinja2, click, PyYAML): the last column, the command
over that, is the commands' own work. Figures are the median (and the fastest)
of --runs runs, after one warm-up run each; the cases take turns, so a busy
spell on the machine hits them alike. The runs write Python's bytecode cache as
usual (PYTHONDONTWRITEBYTECODE is dropped), so they show what a user sees from
the second run on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yaml"
FLOOR = "python -c pass (floor)"
LIBRARIES = "their libraries alone"
LIBRARY_IMPORTS = "import click, jinja2, pydantic, sqlalchemy.orm, yaml"
"""What every one of these commands imports before any of its own code: the rest is the command's own work."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _cli(db_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(CONFIG), "--db", db_url, *args]


def _capture(argv: list[str]) -> str:
    return subprocess.run(argv, env=_env(), check=True, capture_output=True, text=True).stdout


def _seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(cases: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall times of each case, run in turn (one warm-up each) so a busy spell hits them all alike."""
    for argv in cases.values():
        _seconds(argv)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            times[name].append(_seconds(argv))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--db", default=None, help="Database with the sample imported (default: a fresh one).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db_url = args.db or f"sqlite:///{Path(folder) / 'bench.db'}"
        if args.db is None:
            _capture(_cli(db_url, "run", "--once"))
        incident = json.loads(_capture(_cli(db_url, "incidents", "export", "--format", "jsonl")).splitlines()[0])["id"]
        # a flagged mention set to the status it already has: every run does the same work
        mention = json.loads(_capture(_cli(db_url, "mentions", "export", "--flagged")).splitlines()[0])
        mention_ref = f"{mention['platform']}:{mention['id']}"
        status = mention["status"]
        cases = {
            "--help": _cli(db_url, "--help"),
            "digest --format text": _cli(db_url, "digest", "--format", "text"),
            "incidents export": _cli(db_url, "incidents", "export"),
            "incidents show": _cli(db_url, "incidents", "show", incident),
            "mentions export": _cli(db_url, "mentions", "export"),
            "mentions status": _cli(db_url, "mentions", "status", mention_ref, status),
        }
        floors = {FLOOR: [sys.executable, "-c", "pass"], LIBRARIES: [sys.executable, "-c", LIBRARY_IMPORTS]}
        times = measure({**floors, **cases}, args.runs)
    floor = statistics.median(times[FLOOR])
    libraries = statistics.median(times[LIBRARIES])
    print(f"median (and fastest) of {args.runs} runs, {sys.executable}; {LIBRARIES}: {LIBRARY_IMPORTS}")
    print(f"{'command':<24} {'wall s':>8} {'fastest':>8} {'x floor':>8} {'over the libraries s':>21}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        over = f"{median - libraries:>21.3f}" if name not in floors and median > libraries else f"{'-':>21}"
        print(f"{name:<24} {median:>8.3f} {min(seconds):>8.3f} {median / floor:>8.1f} {over}")


if __name__ == "__main__":
    main()
