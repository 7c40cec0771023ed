"""Many writers, one truth: imports running at once (real OS processes) end in the state of one clean import.

The stream is the bundled sample repeated six times, two days apart (2,040 mentions over twelve days,
its three incidents recurring in every copy). Each scenario starts its processes with a stagger, so
batches interleave differently; the database is then compared, table by table, with one process
importing the whole stream in event-time order: mentions, verdicts, incidents (ids, statuses, sizes,
members), reply drafts and follow-up statuses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.store_state import state
from tests.conftest import PG_URL, ROOT, _postgres_available

pytestmark = pytest.mark.slow

COPIES = 6
SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"


def _shifted(record: dict, copy: int) -> dict:
    at = datetime.fromisoformat(record["created_at"].replace("Z", "+00:00")) + timedelta(days=2 * copy)
    return {**record, "id": f"{record['id']}-{copy}", "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [_shifted(r, copy) for copy in range(COPIES) for r in records]
    out.sort(key=lambda r: (r["created_at"], r.get("platform", ""), r["id"]))
    return out


def _write(folder: Path, name: str, records: list[dict]) -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _cli(url: str, *args: str, checkpoint_every: int | None = None) -> list[str]:
    entry = ["-m", "monitor"]
    if checkpoint_every is not None:  # the same CLI, saving the incident engine's state far more often
        entry = ["-c", _CHECKPOINTING.format(checkpoint_every)]
    return [sys.executable, *entry, "--config", str(ROOT / "config.yaml"), "--db", url, *args]


_CHECKPOINTING = (
    "import sys; import monitor.incidents.store as store; store.CHECKPOINT_EVERY = {}; "
    "from monitor.cli import main; sys.exit(main())"
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _at_once(url: str, commands: list[list[str]], stagger: float, checkpoint_every: int | None = None) -> list[str]:
    """Start every command (each a `complaint-monitor` argument list) `stagger` seconds apart; all must exit 0.
    Returns what each wrote on stderr."""
    processes = []
    for i, args in enumerate(commands):
        if i:
            time.sleep(stagger)
        processes.append(
            subprocess.Popen(
                _cli(url, *args, checkpoint_every=checkpoint_every),
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    errs = []
    for process, args in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{args}: exit {process.returncode}\n{err[-3000:]}"
        assert "Traceback" not in err, f"{args}:\n{err[-3000:]}"
        errs.append(err)
    return errs


def assert_same(clean: dict[str, list], got: dict[str, list]) -> None:
    for table in clean:
        missing = set(map(repr, clean[table])) - set(map(repr, got[table]))
        extra = set(map(repr, got[table])) - set(map(repr, clean[table]))
        assert not missing and not extra and len(clean[table]) == len(got[table]), (
            f"{table}: {len(clean[table])} rows clean, {len(got[table])} here; "
            f"missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]}"
        )
    assert any(i[1] in ("emerging", "active", "resolved") for i in clean["incidents"])  # the check bites


@contextmanager
def _fresh_sqlite(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"


@contextmanager
def _fresh_postgres(_folder: Path) -> Iterator[str]:
    import psycopg

    schema = f"cm_conc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], scope="module")
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and (reason := _postgres_available()):
        pytest.skip(reason)
    return request.param


@pytest.fixture(scope="module")
def fresh(kind: str) -> Callable[[Path], object]:
    return _fresh_sqlite if kind == "sqlite" else _fresh_postgres


@pytest.fixture(scope="module")
def clean(kind: str, fresh, stream: list[dict], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp(f"clean-{kind}")
    path = _write(folder, "all", stream)
    with fresh(folder) as url:
        _at_once(url, [["import", str(path)]], 0)
        return state(url)


def _by_time(stream: list[dict], start: float, end: float) -> list[dict]:
    first = datetime.fromisoformat(stream[0]["created_at"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(stream[-1]["created_at"].replace("Z", "+00:00"))
    lo, hi = first + (last - first) * start, first + (last - first) * end
    return [r for r in stream if lo <= datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) <= hi]


SCENARIOS: dict[str, Callable[[list[dict]], list[list[dict]]]] = {
    "the same file twice": lambda s: [s, s],
    "overlapping halves": lambda s: [s[: len(s) * 3 // 5], s[len(s) * 2 // 5 :]],
    "split by platform": lambda s: [[r for r in s if r["platform"] == "x"], [r for r in s if r["platform"] != "x"]],
    "split by time, overlapping": lambda s: [_by_time(s, 0.0, 0.55), _by_time(s, 0.45, 1.0)],
    "three interleaved shares, one late": lambda s: [s[0::3], s[1::3], s[2::3]],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("stagger", [0.0, 0.7])
def test_concurrent_imports_end_as_one_clean_import(
    scenario: str, stagger: float, kind: str, fresh, clean, stream: list[dict], tmp_path: Path
) -> None:
    parts = SCENARIOS[scenario](stream)
    paths = [_write(tmp_path, f"part{i}", part) for i, part in enumerate(parts)]
    with fresh(tmp_path) as url:
        _at_once(url, [["import", str(p)] for p in paths], stagger)
        assert_same(clean, state(url))


def test_labels_and_follow_ups_while_importing_end_as_if_done_after(
    kind: str, fresh, stream: list[dict], tmp_path: Path
) -> None:
    """`label` and `mentions status` running while an import writes: the same end state as doing them after."""
    path = _write(tmp_path, "all", stream)
    head_records = stream[: len(stream) // 2]
    complaints = [r for r in head_records if "gagal" in r["text"] or "failed" in r["text"].lower()][-6:]
    actions = [["mentions", "status", f"{r.get('platform', 'file')}:{r['id']}", "acknowledged"] for r in complaints[:3]]
    actions += [["label", f"{r.get('platform', 'file')}:{r['id']}", "--urgency", "critical"] for r in complaints[3:]]
    with fresh(tmp_path) as expected_url:
        _at_once(expected_url, [["import", str(path)]], 0)
        for action in actions:
            _at_once(expected_url, [action], 0)
        expected = state(expected_url)
    with fresh(tmp_path) as url:
        head = _write(tmp_path, "head", head_records)
        tail = _write(tmp_path, "tail", stream[len(stream) // 2 :])
        _at_once(url, [["import", str(head)]], 0)  # the mentions the people act on are stored...
        _at_once(url, [["import", str(tail)], *actions], 0.2)  # ...and they act while the rest comes in
        assert_same(expected, state(url))


REPLAYS = re.compile(r"incident assignment so far: (\d+) replays, (\d+) complaints placed later")


def _replays(err: str) -> tuple[int, int]:
    counts = REPLAYS.findall(err)
    assert counts, err[-2000:]
    replays, later = counts[-1]
    return int(replays), int(later)


@pytest.mark.parametrize("stagger", [0.0, 0.3, 1.0])
def test_imports_split_by_platform_wait_for_each_other_instead_of_replaying(
    stagger: float, kind: str, fresh, clean, stream: list[dict], tmp_path: Path
) -> None:
    """Two imports of one time range split by platform: each places complaints only up to where the other
    has got to (the watermark), so they rarely replay history, and the store ends as one clean import."""
    parts = SCENARIOS["split by platform"](stream)
    paths = [_write(tmp_path, f"part{i}", part) for i, part in enumerate(parts)]
    with fresh(tmp_path) as url:
        errs = _at_once(url, [["-v", "import", str(p)] for p in paths], stagger)
        assert_same(clean, state(url))
    counts = [_replays(err) for err in errs]
    print("replays, complaints placed later:", counts)
    assert all(replays <= 2 for replays, _ in counts), counts


def test_complaints_a_killed_writer_left_waiting_are_placed_by_the_next_import(
    kind: str, fresh, clean, stream: list[dict], tmp_path: Path
) -> None:
    """kill -9 while complaints wait for another writer: the next import places them (the killed process no
    longer holds the watermark), and the store ends as one clean import."""
    from monitor.incidents import watermark
    from monitor.stages import WriterProgress
    from monitor.storage import open_database
    from monitor.storage.schema import IncidentPendingRow

    path = _write(tmp_path, "all", stream)
    with fresh(tmp_path) as url:
        database = open_database(url)
        start = datetime.fromisoformat(stream[0]["created_at"].replace("Z", "+00:00"))
        elsewhere = WriterProgress("elsewhere:1:abcdef:1", start, "", "")  # a writer on another host, far behind
        with database.writing() as session:
            watermark.register(session, elsewhere, timedelta(hours=1))
        process = subprocess.Popen(
            _cli(url, "import", str(path)), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        waiting = 0
        deadline = time.monotonic() + 120
        while waiting < 200 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with database.session() as session:
                waiting = session.scalar(select(func.count()).select_from(IncidentPendingRow)) or 0
        process.kill()
        process.wait()
        assert waiting >= 200, "the import ended before complaints were left waiting"
        with database.writing() as session:
            watermark.deregister(session, elsewhere.writer)
        database.dispose()
        _at_once(url, [["import", str(path)]], 0)
        assert_same(clean, state(url))
        database = open_database(url)
        with database.session() as session:
            assert not session.scalar(select(func.count()).select_from(IncidentPendingRow))
        database.dispose()


@pytest.mark.parametrize("scenario", ["overlapping halves", "split by platform"])
@pytest.mark.parametrize("stagger", [0.0, 0.1, 0.35])
def test_frequent_checkpoints_across_processes_change_nothing(
    scenario: str, stagger: float, kind: str, fresh, clean, stream: list[dict], tmp_path: Path
) -> None:
    """The engine's state saved every 40 complaints, by whichever process places them: a replay deletes the
    checkpoints after its own, and their ids must never be given out again (SQLite reused them, and rows
    another process wrote after a deleted checkpoint were then taken for rows of the new one: with the
    overlapping halves, an incident of 15 people vanished at 4 of 6 start offsets)."""
    parts = SCENARIOS[scenario](stream)
    paths = [_write(tmp_path, f"part{i}", part) for i, part in enumerate(parts)]
    with fresh(tmp_path) as url:
        _at_once(url, [["import", str(p)] for p in paths], stagger, checkpoint_every=40)
        assert_same(clean, state(url))
