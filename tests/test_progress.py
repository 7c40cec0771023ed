"""Progress of long work: on a terminal, a bar with the rate and the time left on stderr; piped or under -q,
nothing. The CLI runs in a fresh interpreter with its stderr on a pseudo-terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"


def _run(args: list[str], cwd: Path, terminal: bool) -> tuple[int, str, str]:
    """Run `complaint-monitor ARGS`; stderr on a pseudo-terminal when `terminal`. Exit code, stdout, stderr."""
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("MONITOR_DB", None)
    command = [sys.executable, "-m", "monitor", *args]
    if not terminal:
        proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
        return proc.returncode, proc.stdout, proc.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    stdout = cwd / "stdout.txt"
    with (
        stdout.open("wb") as out_file,
        subprocess.Popen(command, cwd=cwd, env=env, stdout=out_file, stderr=follower) as proc,
    ):
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=180)
    os.close(leader)
    return code, stdout.read_text(encoding="utf-8"), b"".join(chunks).decode(errors="replace")


def test_import_shows_rate_and_time_left_on_a_terminal_only(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'm.db'}"]
    code, out, err = _run([*db, "import", str(SAMPLE)], tmp_path, terminal=True)
    assert code == 0, err
    assert "import sample_mentions.jsonl" in err and "mentions/s" in err and "/346" in err  # count, rate, total
    assert "<" in err  # elapsed<remaining
    assert out.startswith("346 new")

    code, out, err = _run([*db, "-q", "import", str(SAMPLE)], tmp_path, terminal=True)
    assert code == 0 and out.startswith("0 new, 346 duplicates") and "mentions/s" not in err

    code, out, err = _run([*db, "import", str(SAMPLE)], tmp_path, terminal=False)  # piped
    assert code == 0 and err == "" and out.startswith("0 new, 346 duplicates")


def test_classify_shows_progress_on_a_terminal_and_keeps_stdout_clean(tmp_path: Path) -> None:
    code, out, err = _run(["classify", "--input", str(SAMPLE)], tmp_path, terminal=True)
    assert code == 0, err
    assert "classify sample_mentions.jsonl" in err and "mentions/s" in err
    assert len(out.splitlines()) == 346 and "mentions/s" not in out


def test_train_shows_its_stages_and_the_time_on_a_terminal_and_nothing_under_q(tmp_path: Path) -> None:
    rows = [
        {"text": "no free spot on any floor again", "is_complaint": 1},
        {"text": "lantai 3 sampai 6 penuh semua, muter2 sejam", "is_complaint": 1},
        {"text": "thanks, the new gate is quick", "is_complaint": 0},
        {"text": "makasih, gerbang barunya cepat", "is_complaint": 0},
    ]
    own = tmp_path / "own.jsonl"
    own.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    train = ["--db", f"sqlite:///{tmp_path / 'm.db'}", "train", "--data", str(own), "--only-data", "--out"]

    code, out, err = _run([*train, str(tmp_path / "m1")], tmp_path, terminal=True)
    assert code == 0, err
    assert "training on " in err and "train: 00:0" in err  # the stage, and the time so far
    code, out, err = _run(["-q", *train, str(tmp_path / "m2")], tmp_path, terminal=True)
    assert code == 0 and "training on" not in err and "train:" not in err and "written to" in out
