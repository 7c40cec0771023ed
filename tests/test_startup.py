"""Start-up stays light: commands that do not classify never import the heavy libraries.

Each command runs in a fresh interpreter and reports what ended up in
`sys.modules`; nothing is timed (bench/bench_startup.py measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from monitor.cli import main
from tests.conftest import ROOT

# imported only to classify, train, poll a channel, send an alert or migrate a schema
HEAVY = (
    "scipy",
    "sklearn",
    "numpy",
    "lingua",
    "skops",
    "apprise",
    "tweepy",
    "praw",
    "feedparser",
    "mastodon",
    "atproto",
    "apscheduler",
    "alembic",
    "psycopg",
    "classifiers.classifier",
    "monitor.incidents.store",
    "monitor.pipeline",
    "monitor.runner",
)
# `--help` needs click and the command modules, not the config or the database either
NOT_FOR_HELP = (*HEAVY, "sqlalchemy", "pydantic", "jinja2", "yaml", "monitor.app", "monitor.config")

PROBE = """
import contextlib, io, json, sys
from monitor.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    code = main(sys.argv[1:])
wanted = json.loads(sys.stdin.read())
print(json.dumps({"code": code, "err": err.getvalue(), "loaded": [m for m in wanted if m in sys.modules]}))
"""


@dataclass(frozen=True)
class SmallDb:
    options: tuple[str, ...]
    """The global options: the repository's config and the database."""
    incident_id: str
    mention_ref: str
    """A flagged mention, as platform:id."""


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> SmallDb:
    """A database with the sample stream imported (incidents among them)."""
    folder = tmp_path_factory.mktemp("startup")
    options = ("--config", str(ROOT / "config.yaml"), "--db", f"sqlite:///{folder / 'small.db'}")
    assert main([*options, "import", str(ROOT / "examples" / "sample_mentions.jsonl")]) == 0
    assert main([*options, "incidents", "export", "--out", str(folder / "incidents.json")]) == 0
    assert main([*options, "mentions", "export", "--flagged", "--out", str(folder / "flagged.jsonl")]) == 0
    incident = json.loads((folder / "incidents.json").read_text(encoding="utf-8"))[0]
    mention = json.loads((folder / "flagged.jsonl").read_text(encoding="utf-8").splitlines()[0])
    return SmallDb(options, incident["id"], f"{mention['platform']}:{mention['id']}")


def _loaded_after(args: list[str], watched: tuple[str, ...]) -> list[str]:
    """Run `complaint-monitor ARGS` in a new interpreter; the watched modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(watched),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert report["code"] == 0, report["err"]
    return report["loaded"]


def test_help_imports_neither_the_config_nor_the_database() -> None:
    assert _loaded_after(["--help"], NOT_FOR_HELP) == []


@pytest.mark.parametrize(
    "command",
    [
        ["digest", "--format", "text"],
        ["digest", "--format", "html", "--since", "7d"],
        ["incidents", "export"],
        ["incidents", "export", "--format", "csv"],
        ["mentions", "export"],
        ["mentions", "export", "--format", "csv", "--flagged"],
        ["incidents", "show", "{incident}"],
        ["mentions", "status", "{mention}", "acknowledged"],
    ],
    ids=" ".join,
)
def test_commands_that_do_not_classify_import_nothing_heavy(small_db: SmallDb, command: list[str]) -> None:
    args = [arg.format(incident=small_db.incident_id, mention=small_db.mention_ref) for arg in command]
    assert _loaded_after([*small_db.options, *args], HEAVY) == []
