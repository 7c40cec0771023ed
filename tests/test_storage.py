"""The storage model: migrations match the models, time zones survive, inserts are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor.models import Mention
from monitor.storage import open_database
from monitor.storage.repository import insert_new_mentions, mention_from_row
from monitor.storage.schema import Base, MentionRow


def _check(url: str) -> None:
    database = open_database(url)
    assert database.is_current()
    database.upgrade()  # a second run is a no-op
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"

    jakarta = timezone(timedelta(hours=7))
    mention = Mention(
        id="1", platform="x", author="a", text="teks 🙃 <b>", created_at=datetime(2026, 3, 10, 15, 5, tzinfo=jakarta)
    )
    with database.session() as session:
        assert len(insert_new_mentions(session, [mention, mention], "t")) == 1
        assert insert_new_mentions(session, [mention], "t") == {}
    with database.session() as session:
        row = session.query(MentionRow).one()
        back = mention_from_row(row)
    assert back.created_at == datetime(2026, 3, 10, 8, 5, tzinfo=UTC)
    assert back.created_at.tzinfo is not None and back.text == "teks 🙃 <b>"
    database.dispose()


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 's.db'}")


@pytest.mark.postgres
def test_postgres_schema_matches_models(pg_url: str) -> None:
    _check(pg_url)


def test_two_processes_opening_a_new_database_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = f"from monitor.storage import open_database; open_database({url!r}).dispose()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert open_database(url).is_current()
