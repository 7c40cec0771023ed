"""Polling through the file connector: cursors, bad items, failing and hung channels, the daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _line(i: int, author: str = "someone", text: str = "PayKita saldo kepotong tapi transaksi gagal") -> str:
    return (
        json.dumps(
            {
                "id": f"f{i}",
                "platform": "x",
                "author": author,
                "text": f"{text} #{i}",
                "created_at": f"2026-03-10T08:{i:02d}:00Z",
            }
        )
        + "\n"
    )


def _config(tmp_path: Path, connectors: str, extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "storage:\n  url: sqlite:///m.db\n"
        "brand:\n  name: PayKita\n  handles: ['@PayKitaCare']\n  exclude: ['giveaway']\n"
        f"connectors:\n{connectors}{extra}"
    )
    return config


def test_file_connector_polls_incrementally_and_skips_bad_items(cli, tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text(_line(1) + "{broken\n" + _line(2, author="PayKitaCare") + _line(3, text="PayKita giveaway!"))
    config = _config(tmp_path, f"  - name: replay\n    type: file\n    path: {stream.name}\n")
    first = cli("--config", str(config), "run", "--once")
    assert first.code == 0, first.err
    # own account and excluded term dropped, the broken line reported with its number
    assert first.out.startswith("replay: 1 new, 0 duplicates")
    assert "line 2: not valid JSON" in first.err

    with stream.open("a") as handle:
        handle.write(_line(4) + _line(5))
    second = cli("--config", str(config), "run", "--once")
    assert second.out.startswith("replay: 2 new, 0 duplicates"), second.out

    third = cli("--config", str(config), "run", "--once")
    assert third.out.startswith("replay: 0 new, 0 duplicates")


def test_one_failing_or_hung_channel_never_stops_the_others(cli, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_line(1) + _line(2))
    hung = tmp_path / "hung.jsonl"
    os.mkfifo(hung)  # opening a FIFO with no writer blocks: a channel that never answers
    config = _config(
        tmp_path,
        "  - name: missing\n    type: file\n    path: nowhere.jsonl\n"
        f"  - name: hung\n    type: file\n    path: {hung.name}\n    timeout: 1s\n"
        "  - name: typo\n    type: file\n    pth: x.jsonl\n"
        "  - name: unknown\n    type: carrier-pigeon\n"
        f"  - name: good\n    type: file\n    path: {good.name}\n",
    )
    result = cli("--config", str(config), "run", "--once")
    assert result.code == 1, result.err  # some channels failed: scripts can tell (the good one is stored)
    assert "4 of 5 connector(s) failed" in result.err
    lines = dict(line.split(": ", 1) for line in result.out.splitlines())
    assert lines["missing"].startswith("config error: ") and "file not found" in lines["missing"]
    assert lines["hung"].startswith("timed out: ")
    assert lines["typo"].startswith("config error: ") and "pth" in lines["typo"]
    assert lines["unknown"].startswith("config error: unknown connector type 'carrier-pigeon'")
    assert lines["good"].startswith("2 new, 0 duplicates")


def test_all_channels_failing_is_an_error(cli, tmp_path: Path) -> None:
    config = _config(tmp_path, "  - name: missing\n    type: file\n    path: nowhere.jsonl\n")
    result = cli("--config", str(config), "run", "--once")
    assert result.code == 1  # the work failed; not a usage error
    assert "all 1 connector(s) failed" in result.err


@pytest.mark.slow
def test_daemon_polls_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(_line(i) for i in range(1, 6)))
    config = _config(
        tmp_path,
        f"  - name: replay\n    type: file\n    path: {stream.name}\n    interval: 1s\n",
        "digest:\n  schedule: '* * * * *'\n  out: digest.html\n",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MONITOR_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "-v", "--config", str(config), "run"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        from sqlalchemy import func, select

        from monitor.storage import open_database
        from monitor.storage.schema import MentionRow

        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline and count < 5:
            time.sleep(0.5)
            if (tmp_path / "m.db").exists():
                db = open_database(f"sqlite:///{tmp_path / 'm.db'}")
                with db.session() as session:
                    count = session.scalar(select(func.count()).select_from(MentionRow)) or 0
                db.dispose()
        assert count == 5
        with stream.open("a") as handle:  # the next poll picks up what was appended
            handle.write(_line(6))
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "received SIGTERM" in err and "stopped" in err
    db = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MentionRow)) == 6
    db.dispose()


@pytest.mark.slow
def test_the_daemon_says_what_each_poll_took_in_at_its_default_level(tmp_path: Path) -> None:
    """No -v: one line per poll with the channel, new, duplicates, complaints, incidents and the lag."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    db = f"sqlite:///{tmp_path / 'd.db'}"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(ROOT / "config.yaml"), "--db", db, "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        lines: list[str] = []
        assert daemon.stderr is not None
        while time.monotonic() < deadline:
            line = daemon.stderr.readline()
            lines.append(line)
            if "sample: 340 new" in line:
                break
        else:
            pytest.fail("no poll line within 60 s:\n" + "".join(lines))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=30)
    poll = lines[-1]
    assert " INFO " in poll and "0 duplicates" in poll and "complaints flagged" in poll and "incidents updated" in poll
    assert "; lag " in poll and poll.rstrip().endswith("d")  # the sample stream is from March 2026
