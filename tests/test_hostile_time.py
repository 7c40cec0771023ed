"""Time that lies: a mention from a broken clock never becomes the stream's "now", and `digest --as-of` shows
the world as it was then (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT

SAMPLE = str(ROOT / "examples" / "sample_mentions.jsonl")
WHEN = r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC"
INCIDENT_LINE = re.compile(rf"^  (INC-\S+) \| (\w+) \|.*\| {WHEN} -> {WHEN}$")


def _url(db: str, tmp_path, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 't.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")


def _incidents(digest: str) -> dict[str, tuple[str, datetime, datetime]]:
    found = {}
    for line in digest.splitlines():
        match = INCIDENT_LINE.match(line)
        if match:
            first, last = (datetime.strptime(t, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for t in match.group(3, 4))
            found[match[1]] = (match[2], first, last)
    return found


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_digest_now_and_as_of(cli, tmp_path, fast_model, db: str, request: pytest.FixtureRequest) -> None:  # noqa: F811
    url = _url(db, tmp_path, request)
    assert cli("--db", url, "import", SAMPLE).code == 0
    before = cli("--db", url, "digest", "--format", "text")
    assert before.code == 0, before.err
    assert len(_incidents(before.out)) == 3

    # A mention from a broken clock, stored behind the importer's back (an older version, another tool):
    # it must not become "now", or every complaint ages by 8,000 years and the incidents vanish.
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO mentions (platform, external_id, author, text, created_at, metrics, raw, connector, "
                "ingested_at) VALUES ('x', 'clock', 'c', 'OTP gak masuk', :at, '{}', '{}', 'import', :at)"
            ),
            {"at": datetime(9999, 12, 31, tzinfo=UTC) if db == "postgres" else "9999-12-31 00:00:00.000000"},
        )
    engine.dispose()
    after = cli("--db", url, "digest", "--format", "text")
    assert after.code == 0, after.err
    assert after.out.splitlines()[1] == before.out.splitlines()[1]  # "Stream time 2026-03-10 23:52 UTC | …"
    assert _incidents(after.out) == _incidents(before.out)
    assert "2912374d" not in after.out

    # --as-of: only what had happened by then, with the status it had then
    as_of = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    then = cli("--db", url, "digest", "--format", "text", "--as-of", "2026-03-09T12:00:00Z")
    assert then.code == 0, then.err
    incidents = _incidents(then.out)
    assert incidents, then.out
    for status, first, last in incidents.values():
        assert first <= as_of and last <= as_of
        assert status in ("emerging", "active")  # QRIS was still going on at noon
    assert set(incidents) < set(_incidents(before.out))
    listed = re.findall(r"\((\d{4}-\d\d-\d\d \d\d:\d\d) UTC", then.out)
    assert all(datetime.strptime(t, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) <= as_of for t in listed)
