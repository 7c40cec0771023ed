"""Every command, run against a broken config, a broken model, an unreachable database and a read-only
database, ends in one line on stderr and a non-zero exit, never a traceback (or it has nothing to complain
about and succeeds). The README promises it; this walks the whole command tree so a new command is held
to it too."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest

from monitor.cli import cli as cli_group
from monitor.cli import main
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"
MENTION = "x:2030962927337467969"
INCIDENT = "INC-20260309-1104-cd78"
OTHER_INCIDENT = "INC-20260310-0743-fc9c"

COMMANDS: dict[str, list[str]] = {
    "init": ["init"],
    "import": ["import", "few.jsonl"],
    "run": ["run", "--once"],
    "mentions export": ["mentions", "export"],
    "mentions status": ["mentions", "status", MENTION, "acknowledged"],
    "incidents export": ["incidents", "export"],
    "incidents show": ["incidents", "show", INCIDENT],
    "incidents status": ["incidents", "status", INCIDENT, "resolved"],
    "incidents merge": ["incidents", "merge", INCIDENT, OTHER_INCIDENT],
    "incidents drop": ["incidents", "drop", INCIDENT, MENTION],
    "digest": ["digest", "--format", "text"],
    "train": ["train", "--out", "newmodel", "--only-data", "--data", "few.jsonl"],
    "classify": ["classify", "--input", "few.jsonl"],
    "evaluate": ["evaluate", "--labels"],
    "label": ["label", MENTION, "--not-complaint"],
    "models list": ["models", "list"],
    "models rollback": ["models", "rollback"],
    "replies lint": ["replies", "lint"],
    "replies draft": ["replies", "draft", MENTION],
    "connectors check": ["connectors", "check"],
    "connectors list": ["connectors", "list"],
    "status": ["status"],
    "users add": ["users", "add", "ana", "--role", "agent", "--password-stdin"],
    "users passwd": ["users", "passwd", "ana", "--password-stdin"],
    "users remove": ["users", "remove", "ana"],
    "users list": ["users", "list"],
}
LONG_RUNNING = {"serve": ["serve", "--port", "0"], "run (daemon)": ["run"]}

NEEDS_MODEL = {"import", "run", "classify", "evaluate"}
WRITES = {
    "import", "run", "mentions status", "incidents status", "incidents merge", "incidents drop", "label",
    "users add", "users passwd", "users remove", "replies draft",
}  # fmt: skip
NO_DATABASE = {"connectors list", "connectors check", "replies lint", "models list", "models rollback", "classify"}


def _leaves(group: click.Group, prefix: str = "") -> set[str]:
    out = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        out |= _leaves(command, path + " ") if isinstance(command, click.Group) else {path}
    return out


def test_the_walk_covers_every_command() -> None:
    assert _leaves(cli_group) == set(COMMANDS) | {"serve"}


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a working config, the sample stream stored in SQLite, and a few mentions to import."""
    folder = tmp_path_factory.mktemp("stocked")
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = config.replace("path: examples/sample_mentions.jsonl", f"path: {SAMPLE}")
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:5]
    few = [json.loads(line) | {"id": f"few{i}", "is_complaint": i % 2} for i, line in enumerate(lines)]
    (folder / "few.jsonl").write_text("".join(json.dumps(r) + "\n" for r in few), encoding="utf-8")
    here = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["--db", f"sqlite:///{folder / 'stored.db'}", "import", str(SAMPLE)]) == 0
    finally:
        os.chdir(here)
    return folder


def _broken_model(folder: Path) -> None:
    """A model whose manifest was edited by hand after training (the threshold raised)."""
    from classifiers.model import SHIPPED_MODEL_DIR

    shutil.copytree(SHIPPED_MODEL_DIR, folder / "edited-model")
    manifest = json.loads((folder / "edited-model" / "manifest.json").read_text(encoding="utf-8"))
    manifest["complaint"]["threshold"] = 0.999
    (folder / "edited-model" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    config = (folder / "config.yaml").read_text(encoding="utf-8")
    assert "\n  model_dir:\n" in config
    (folder / "config.yaml").write_text(config.replace("\n  model_dir:\n", "\n  model_dir: edited-model\n", 1))


CONDITIONS = ["broken config", "broken model", "unreachable database", "read-only database", "read-only postgres"]


def _prepare(condition: str, stocked: Path, here: Path) -> list[str]:
    """Set up `here` for `condition`; returns the global options to run with."""
    for name in ("config.yaml", "few.jsonl"):
        shutil.copy(stocked / name, here / name)
    shutil.copy(stocked / "stored.db", here / "stored.db")
    database = f"sqlite:///{here / 'stored.db'}"
    if condition == "broken config":
        (here / "config.yaml").write_text("storage:\n  urll: sqlite:///x.db\n", encoding="utf-8")
    elif condition == "broken model":
        _broken_model(here)
    elif condition == "unreachable database":
        database = "postgresql://monitor@127.0.0.1:9/nowhere?connect_timeout=3"
    elif condition == "read-only database":
        database = f"sqlite:///file:{here / 'stored.db'}?mode=ro&uri=true"
    return ["--db", database]


def _read_only_postgres(pg_url: str, stocked: Path) -> list[str]:
    """The sample stream stored in a PostgreSQL schema, then a URL whose every transaction is read-only."""
    assert main(["--db", pg_url, "import", str(SAMPLE)]) == 0
    return ["--db", pg_url + "%20-cdefault_transaction_read_only%3Don"]


def _must_fail(condition: str, command: str) -> bool:
    if condition == "broken config":
        return command != "connectors list"
    if condition == "broken model":
        return command in NEEDS_MODEL
    if condition == "unreachable database":
        return command not in NO_DATABASE
    return command in WRITES  # a read-only database


def _check(condition: str, command: str, code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err, f"{condition}: {command}:\n{err}"
    if code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("complaint-monitor: "), f"{condition}: {command}:\n{err}"
        assert out.strip() == "" or command in ("init",), f"{condition}: {command}: said {out!r} and then failed"
    if _must_fail(condition, command):
        assert code != 0, f"{condition}: {command} exited 0:\n{out}\n{err}"


@pytest.mark.slow
@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_command_fails_in_one_line(
    condition: str,
    stocked: Path,
    tmp_path: Path,
    capsys,
    monkeypatch,
    fast_model,
    request,  # noqa: F811
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_DB", raising=False)
    options = _prepare(condition, stocked, tmp_path)
    if condition == "read-only postgres":
        options = _read_only_postgres(request.getfixturevalue("pg_url"), stocked)
    for command, args in COMMANDS.items():
        if command == "train" and condition in ("broken model", "read-only database"):
            continue  # trains for a minute, and needs neither the configured model nor to write the database
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a long enough password\n")))
        capsys.readouterr()
        code = main([*options, *args])
        captured = capsys.readouterr()
        _check(condition, command, code, captured.out, captured.err)


@pytest.mark.slow
@pytest.mark.parametrize("condition", CONDITIONS[:4])
def test_long_running_commands_fail_at_start_up(condition: str, stocked: Path, tmp_path: Path) -> None:
    options = _prepare(condition, stocked, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DB"}
    for command, args in LONG_RUNNING.items():
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", *options, *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = process.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
            # Still running: it had nothing to refuse (the inbox reads a read-only database, needs no model).
            assert not _must_fail(condition, command) and (condition, command) != ("broken model", "run (daemon)")
            assert "Traceback" not in out + err, err
            continue
        assert process.returncode != 0, f"{condition}: {command} exited 0:\n{err}"
        _check(condition, command, process.returncode, out, err)


def _edit(manifest: dict, kind: str) -> None:  # type: ignore[type-arg]
    if kind == "threshold":
        manifest["complaint"]["threshold"] = 0.999
        manifest["complaint"]["thresholds"] = {k: 0.999 for k in manifest["complaint"]["thresholds"]}
    elif kind == "classes":
        classes = manifest["category"]["classes"]
        classes[0], classes[1] = classes[1], classes[0]
    elif kind == "calibration":
        manifest["complaint"]["heads"]["all"]["platt"][0] *= 2
    elif kind == "features":
        manifest["features"]["char_max"] = 4


@pytest.mark.parametrize("kind", ["missing", "garbage", "threshold", "classes", "calibration", "features", "unsealed"])
def test_a_model_that_is_not_the_trained_one_is_refused(kind: str, cli, tmp_path: Path) -> None:
    from classifiers.model import SHIPPED_MODEL_DIR

    model = tmp_path / "model"
    if kind != "missing":
        shutil.copytree(SHIPPED_MODEL_DIR, model)
    manifest_path = model / "manifest.json"
    if kind == "garbage":
        manifest_path.write_text("{", encoding="utf-8")
    elif kind != "missing":
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if kind == "unsealed":
            del manifest["manifest_sha256"]
        else:
            _edit(manifest, kind)
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = config.replace("path: examples/sample_mentions.jsonl", f"path: {SAMPLE}")
    (tmp_path / "config.yaml").write_text(config.replace("\n  model_dir:\n", "\n  model_dir: model\n", 1))
    for args in (["import", str(SAMPLE)], ["run", "--once"]):
        result = cli(*args)
        assert result.code == 2, result.out
        assert result.out == "" and len(result.err.splitlines()) == 1, result.err
        assert result.err.startswith("complaint-monitor: error: model"), result.err
    assert "changed after training" in result.err if kind not in ("missing", "garbage", "unsealed") else True
    assert cli("mentions", "export").out == ""  # nothing was stored unclassified
