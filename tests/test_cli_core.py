"""The CLI as a user runs it: import, exports, digest, status, errors — in a temp dir."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import DATA, ROOT

UNSEEN = str(DATA / "unseen_mentions.jsonl")
VALID_LINES = 17
BAD_LINES = 4
URGENCIES = {"none", "low", "medium", "high", "critical"}
STATUSES = {"new", "acknowledged", "replied", "resolved", "dismissed"}
CONTRACT_FIELDS = {
    "id",
    "platform",
    "author",
    "created_at",
    "text",
    "url",
    "lang",
    "is_complaint",
    "complaint_score",
    "urgency",
    "category",
    "incident_id",
    "reply_draft",
    "status",
}


def _export(cli, db: str, *extra: str) -> list[dict]:
    result = cli("--db", db, "mentions", "export", *extra)
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def _check_import_and_exports(cli, db: str) -> None:
    first = cli("--db", db, "import", UNSEEN)
    assert first.code == 0, first.err
    assert f"{VALID_LINES} new, 0 duplicates, {BAD_LINES} rejected" in first.out
    # every bad line is named with its number, the rest went in
    for line_no in (18, 19, 20, 22):
        assert f"line {line_no}:" in first.err

    rows = _export(cli, db)
    assert len(rows) == VALID_LINES
    complaints = 0
    for row in rows:
        assert CONTRACT_FIELDS <= row.keys()
        assert row["id"] and row["platform"] and row["created_at"].endswith("Z")
        assert isinstance(row["is_complaint"], bool)
        assert 0.0 <= row["complaint_score"] <= 1.0
        assert row["urgency"] in URGENCIES
        assert isinstance(row["category"], str) and row["category"]
        assert isinstance(row["lang"], str) and row["lang"]
        if row["is_complaint"]:
            complaints += 1
            assert row["urgency"] != "none"
            assert row["status"] in STATUSES
            assert isinstance(row["reply_draft"], str) and row["reply_draft"]
        else:
            assert row["urgency"] == "none"
            assert row["reply_draft"] is None
            assert row["status"] is None
    assert complaints >= 6
    # the same id on two platforms is two mentions
    assert {(r["platform"], r["id"]) for r in rows} >= {("x", "9001"), ("reddit", "9001")}

    again = cli("--db", db, "import", UNSEEN)
    assert again.code == 0, again.err
    assert f"0 new, {VALID_LINES} duplicates, {BAD_LINES} rejected" in again.out
    assert _export(cli, db) == rows

    incidents = cli("--db", db, "incidents", "export", "--format", "json")
    assert incidents.code == 0, incidents.err
    for incident in json.loads(incidents.out):
        assert {
            "id",
            "title",
            "category",
            "first_seen",
            "last_seen",
            "size",
            "authors",
            "platforms",
            "urgency",
            "status",
            "mention_ids",
        } <= incident.keys()
        assert incident["size"] == len(incident["mention_ids"])


def test_import_fills_every_field_and_is_idempotent_on_sqlite(cli, tmp_path: Path) -> None:
    _check_import_and_exports(cli, f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_import_fills_every_field_and_is_idempotent_on_postgres(cli, pg_url: str) -> None:
    _check_import_and_exports(cli, pg_url)


def test_unknown_keys_survive_the_round_trip(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    rows = {(r["platform"], r["id"]): r for r in _export(cli, db)}
    # 9016 carried keys the format does not define; the store keeps them (raw)
    from monitor.storage import open_database
    from monitor.storage.repository import find_mention

    database = open_database(db)
    with database.session() as session:
        assert find_mention(session, "reddit:9016").raw == {"unknown_field": {"nested": True}, "score": 12}
    database.dispose()
    assert rows[("reddit", "9016")]["text"] == "t1_abc"


def test_import_from_stdin(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps(
        {
            "id": "s1",
            "platform": "x",
            "author": "a",
            "text": "PayKita app crashed again",
            "created_at": "2026-01-01T00:00:00Z",
        }
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    result = cli("--db", f"sqlite:///{tmp_path / 'm.db'}", "import", "-")
    assert result.code == 0, result.err
    assert "1 new, 0 duplicates, 0 rejected" in result.out


def test_csv_export_parses_and_defuses_formulas(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    evil = tmp_path / "evil.jsonl"
    evil.write_text(
        json.dumps(
            {
                "id": "f1",
                "platform": "x",
                "author": "=cmd|' /C calc'!A0",
                "text": '=HYPERLINK("http://evil") my PayKita top up failed',
                "created_at": "2026-01-01T00:00:00Z",
            }
        )
        + "\n"
    )
    assert cli("--db", db, "import", str(evil)).code == 0
    result = cli("--db", db, "mentions", "export", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 1
    assert CONTRACT_FIELDS <= set(rows[0])
    assert rows[0]["text"].startswith("'=") and rows[0]["author"].startswith("'=")


def test_html_digest_shows_hostile_text_as_text(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    # make sure the hostile mention is in the digest, whatever the model thinks of it
    assert cli("--db", db, "label", "x:9011", "--complaint", "--urgency", "high").code == 0
    out = tmp_path / "digest.html"
    result = cli("--db", db, "digest", "--format", "html", "--out", str(out))
    assert result.code == 0, result.err
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert soup.find("script") is None
    assert soup.find("b") is None  # the mention's <b> is text, not markup
    assert "<script>alert('x')</script>" in soup.get_text()
    # sections in the order a community manager reads them
    ids = [section["id"] for section in soup.find_all("section")]
    assert ids == ["incidents", "recurring", "complaints", "still-waiting"]
    # critical complaints come first
    levels = [span.get_text() for span in soup.select("#complaints h3 .urgency")]
    order = ["critical", "high", "medium", "low"]
    assert levels == sorted(levels, key=order.index)
    assert "critical" in levels
    # a javascript: URL never becomes a link
    assert not any(a.get("href", "").lower().startswith("javascript") for a in soup.find_all("a"))


def test_markdown_and_text_digests_from_the_same_data(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    md = cli("--db", db, "digest", "--format", "md")
    text = cli("--db", db, "digest", "--format", "text")
    assert md.code == 0 and text.code == 0
    assert md.out.startswith("# ") and "## Incidents" in md.out and "## Still waiting" in md.out
    assert "<script>" not in md.out  # escaped in Markdown
    assert "INCIDENTS" in text.out and "STILL WAITING" in text.out
    assert "[CRITICAL]" in text.out


def test_status_follow_up_and_still_waiting(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("digest:\n  follow_up: 1h\n")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    flagged = _export(cli, db, "--flagged")
    assert flagged and all(r["is_complaint"] for r in flagged)
    oldest = min(flagged, key=lambda r: r["created_at"])
    ref = f"{oldest['platform']}:{oldest['id']}"

    waiting = cli("--db", db, "digest", "--format", "text").out.split("STILL WAITING", 1)[1]
    assert ref in waiting
    moved = cli("--db", db, "mentions", "status", ref, "acknowledged", "--note", "DM sent")
    assert moved.code == 0, moved.err
    assert "new → acknowledged" in moved.out
    waiting = cli("--db", db, "digest", "--format", "text").out.split("STILL WAITING", 1)[1]
    assert ref not in waiting
    dismissed = cli("--db", db, "mentions", "status", ref, "dismissed")
    assert dismissed.code == 0
    assert ref not in cli("--db", db, "digest", "--format", "text").out
    # a re-import never re-flags what a person dismissed
    assert cli("--db", db, "import", UNSEEN).code == 0
    assert next(r for r in _export(cli, db) if f"{r['platform']}:{r['id']}" == ref)["status"] == "dismissed"


def test_since_filters_exports(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    late = _export(cli, db, "--since", "2026-05-04T11:00:00Z")
    assert late and all(r["created_at"] >= "2026-05-04T11:00:00Z" for r in late)
    recent = _export(cli, db, "--since", "1h")  # back from the newest mention, not the wall clock
    assert recent and all(r["created_at"] >= "2026-05-04T11:30:00Z" for r in recent)
    bad = cli("--db", db, "mentions", "export", "--since", "last tuesday")
    assert bad.code != 0 and "--since" in bad.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--config", "missing.yaml", "digest"), "config file not found"),
        (("--db", "nonsense://x", "digest"), "not a usable database URL"),
        (("--db", "sqlite:////no/such/folder/x.db", "digest"), "does not exist"),
        (("import", "no-such-file.jsonl"), "no such file"),
        (("mentions", "status", "x:404", "resolved"), "no stored mention"),
        (("incidents", "export", "--id", "INC-nope"), "no incident"),
    ],
)
def test_user_mistakes_are_one_clear_line(cli, tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    if "--db" not in args:
        args = ("--db", f"sqlite:///{tmp_path / 'm.db'}", *args)
    result = cli(*args)
    assert result.code == 2  # a usage or config error
    assert expected in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("storage: [unclosed", "not valid YAML at line 1"),
        ("storage:\n\turl: sqlite://\n", "not valid YAML at line 2, column 1: found character '\\t' that cannot"),
        ("alerts: *undefined\n", "found undefined alias 'undefined'"),
        ("storage:\n  urll: sqlite://\n", "storage.urll: unknown key"),
        ("connectors:\n  - name: a\n    type: file\n    interval: often\n", "connectors.0.interval"),
        ("digest:\n  format: pdf\n", "digest.format"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_config_is_one_clear_line(cli, tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(content)
    result = cli("--config", str(config), "digest")
    assert result.code == 2
    assert expected in result.err
    assert "Traceback" not in result.err


def test_init_writes_a_config_that_runs(cli, tmp_path: Path) -> None:
    result = cli("init")
    assert result.code == 0, result.err
    assert (tmp_path / "config.yaml").exists()
    assert (tmp_path / "complaint-monitor.db").exists()
    assert "exists; keeping it" in cli("init").err
    run = cli("run", "--once")
    assert run.code == 0, run.err
    assert run.out.startswith("sample: ") and " new, 0 duplicates" in run.out


def test_first_command_works_from_an_empty_folder(cli, tmp_path: Path) -> None:
    """No config file: the built-in default is the config `init` writes, with the sample shipped in the package."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ complaint-monitor run --once\n", 1)[1].splitlines()[0]
    run = cli("run", "--once")
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == shown
    assert (tmp_path / "complaint-monitor.db").exists()
    assert cli("digest", "--format", "text").out.startswith("PayKita — complaint digest")


def test_init_outside_a_clone_points_at_the_shipped_sample(cli, tmp_path: Path) -> None:
    from monitor.defaults import SAMPLE_STREAM

    assert cli("init").code == 0
    config = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert f"path: {SAMPLE_STREAM}\n" in config and SAMPLE_STREAM.is_file()
    assert "examples/" not in config.split("connectors:", 1)[1].split("\n\n", 1)[0]


def test_shipped_config_is_the_init_default() -> None:
    assert (ROOT / "config.yaml").read_text() == (ROOT / "monitor" / "default_config.yaml").read_text()


def test_monitor_db_env_var_overrides_config(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert cli("import", UNSEEN).code == 0
    assert (tmp_path / "env.db").exists()


def test_a_label_corrects_what_the_team_sees(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", UNSEEN).code == 0
    rows = {f"{r['platform']}:{r['id']}": r for r in _export(cli, db)}
    assert rows["x:9008"]["is_complaint"] is False  # a question
    labelled = cli("--db", db, "label", "x:9008", "--complaint", "--urgency", "high", "--category", "account")
    assert labelled.code == 0, labelled.err
    row = next(r for r in _export(cli, db) if r["id"] == "9008")
    assert (row["is_complaint"], row["urgency"], row["category"], row["status"]) == (True, "high", "account", "new")
    assert row["reply_draft"]

    assert cli("--db", db, "label", "x:9008", "--not-complaint").code == 0
    row = next(r for r in _export(cli, db) if r["id"] == "9008")
    assert (row["is_complaint"], row["urgency"], row["status"], row["reply_draft"]) == (
        False,
        "none",
        "dismissed",
        None,
    )
    assert "x:9008" not in cli("--db", db, "digest", "--format", "text").out


def test_run_once_tells_scripts_when_some_channels_failed(cli, tmp_path: Path) -> None:
    """All fine: 0. Some or all channels failed: 1, with what the others fetched stored. A config error: 2."""
    sample = ROOT / "examples" / "sample_mentions.jsonl"
    good = f"  - name: good\n    type: file\n    path: {sample}\n"
    bad = f"  - name: gone\n    type: file\n    path: {tmp_path / 'missing.jsonl'}\n"
    db = f"sqlite:///{tmp_path / 'm.db'}"
    configs = {"ok": good, "some": good + bad, "all": bad}
    codes = {}
    for name, connectors in configs.items():
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"connectors:\n{connectors}", encoding="utf-8")
        result = cli("--config", str(config), "--db", db, "run", "--once")
        codes[name] = result.code
        assert "Traceback" not in result.err
        if name == "some":
            assert "1 of 2 connector(s) failed" in result.err and result.out.startswith("good: ")
    assert codes == {"ok": 0, "some": 1, "all": 1}
    assert cli("--config", str(tmp_path / "none.yaml"), "--db", db, "run", "--once").code == 2
    assert cli("--db", db, "run", "--once", "--bogus").code == 2


def test_version_is_the_package_version() -> None:
    import contextlib
    import io
    from importlib.metadata import version

    from monitor.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--version"]) == 0
    assert out.getvalue().strip() == f"complaint-monitor {version('complaint-monitor')}"


def test_readme_command_reference_matches_help(cli) -> None:
    """Every command and option --help shows is in the README's command reference, and nothing else is."""
    import re

    import click

    from monitor.cli import _leaf_commands
    from monitor.cli import cli as group

    def options(command: click.Command) -> set[str]:
        names = {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
        return {n for n in names if n.startswith("--")} - {"--help"}

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Commands", 1)[1].split("```", 2)[1].strip("\n").splitlines()
    leaves = _leaf_commands(group)
    root, lines = block[0], [line.strip() for line in block[1:] if line.strip()]
    assert set(re.findall(r"--[a-z][a-z-]*", root)) == options(group) - {"--help"}
    documented: dict[str, set[str]] = {}
    for line in lines:
        usage = re.split(r"\s{2,}", line)[0]
        words = usage.split()
        path = " ".join(words[:2]) if " ".join(words[:2]) in leaves else words[0]
        assert path in leaves, f"README lists a command --help does not have: {line}"
        assert path not in documented, f"listed twice: {path}"
        documented[path] = set(re.findall(r"--[a-z][a-z-]*", usage))
    assert set(documented) == set(leaves), set(leaves) ^ set(documented)
    for path, command in leaves.items():
        assert documented[path] == options(command), (path, documented[path] ^ options(command))
    assert "--version" in cli("--help").out


def test_every_command_help_ends_with_an_example(cli) -> None:
    from monitor.cli import _leaf_commands
    from monitor.cli import cli as group

    for path in _leaf_commands(group):
        out = cli(*path.split(), "--help").out
        assert "Example:" in out and f"complaint-monitor {path}" in out, path


def test_help_shows_examples_and_exit_codes(cli) -> None:
    out = cli("--help").out
    assert "Examples:" in out and "complaint-monitor run --once" in out
    assert "Exit codes: 0 done; 1 part or all of the work failed" in " ".join(out.split())
    assert "2 a usage or config error" in " ".join(out.split())
