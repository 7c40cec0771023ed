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


def test_schema_head_read_from_the_files_is_alembics_head() -> None:
    # a database stamped with schema_head() is opened without Alembic: it must be the real head
    from alembic.script import ScriptDirectory

    from monitor.storage.database import _alembic_config, schema_head

    assert [schema_head()] == ScriptDirectory.from_config(_alembic_config()).get_heads()


def test_schema_head_follows_the_chain_and_gives_up_when_unsure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.storage import database

    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "__init__.py").write_text("")
    monkeypatch.setattr(database, "MIGRATIONS_DIR", tmp_path)
    (versions / "0001_a.py").write_text("revision = '0001'\ndown_revision = None\n")
    (versions / "0002_b.py").write_text('revision: str = "0002"\ndown_revision: str | None = "0001"\n')
    assert database.schema_head() == "0002"
    (versions / "0003_c.py").write_text("revision = '0003'\ndown_revision = '0001'\n")  # two heads
    assert database.schema_head() is None
    (versions / "0004_m.py").write_text("revision = '0004'\ndown_revision = ('0002', '0003')\n")  # merged
    assert database.schema_head() == "0004"
    (versions / "0005_odd.py").write_text("REVISION = '0005'\n")  # unreadable: Alembic decides
    assert database.schema_head() is None


def test_only_a_database_stamped_with_the_head_skips_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from monitor.storage.database import Database

    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    migrations: list[str] = []
    monkeypatch.setattr(Database, "_migrate", lambda self: migrations.append(self.url))
    database.upgrade()
    assert migrations == []
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    database.upgrade()
    assert migrations == [database.url]
    database.dispose()
