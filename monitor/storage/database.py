"""Opening a database and bringing its schema up to date (Alembic, by itself).

A database already stamped with the newest revision is opened without
importing Alembic at all: one SELECT, compared with the head read from the
migration files (`schema_head`). Anything else (a new database, an older
schema, an unexpected stamp, migration files it cannot read) goes through
Alembic as always.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_ATTEMPTS = 3
_REVISION = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_REVISES = re.compile(r"^down_revision\s*(?::[^=\n]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


class StorageError(MonitorError):
    """The database cannot be opened or migrated; the message says which and why."""


def _redacted(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for the message
        return url


def schema_head() -> str | None:
    """The newest migration's revision, read from the migration files as text (no Alembic import).

    None unless every file states its `revision` and `down_revision` and exactly one
    revision is revised by no other: Alembic then decides, as it always did.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        revision, revises = _REVISION.search(source), _REVISES.search(source)
        if revision is None or revises is None:
            return None
        revisions.add(revision[1])
        revised.update(_QUOTED.findall(revises[1]))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


WRITER_WAIT_MS = 300_000
"""How long a SQLite writer waits for another one before giving up (a clear error, nothing lost)."""
WRITER_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':complaint-monitor:writer'))"
"""One writer at a time per schema (every table of one monitor lives in one schema)."""


def dumps_json(value: object) -> str:
    """JSON for the JSON columns: orjson (several times faster than json, and it writes NaN and infinities
    as null, which every database accepts), the standard library for what orjson refuses (huge integers)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # imported here: Alembic costs ~0.1 s of start-up

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL's recommended setting: a crash of the process loses nothing committed; only a power cut can
    # lose the last few commits (never corrupt), and each commit skips an fsync.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Writers queue for the write lock (see Database.writing); a rebuild of the incidents can hold it for
    # a while on a big store, so wait long rather than fail.
    cursor.execute(f"PRAGMA busy_timeout={WRITER_WAIT_MS}")
    cursor.close()


class Database:
    """An engine plus a session factory for one SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True, json_serializer=dumps_json)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise StorageError(f"not a usable database URL {_redacted(url)!r}: {exc}") from None
        except ImportError as exc:
            hint = " (pip install 'complaint-monitor[postgres]')" if exc.name and exc.name.startswith("psycopg") else ""
            raise StorageError(
                f"the database driver for {_redacted(url)!r} is not installed: {exc.name}{hint}"
            ) from None
        if self.engine.dialect.name == "sqlite":
            path = self.engine.url.database
            if path and self.engine.url.query.get("uri") == "true" and path.startswith("file:"):
                path = path[len("file:") :].split("?", 1)[0]  # a URI filename (file:PATH?mode=ro&uri=true)
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.exists():
                    raise StorageError(f"folder for the SQLite database does not exist: {parent}")
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Apply every pending migration (a new database gets the whole schema).

        Two processes may open a new database at once (the daemon and an export, say):
        the one that loses the race finds the schema already made and carries on.
        """
        if self._stamped_at_head():
            return
        for attempt in range(MIGRATION_ATTEMPTS):
            try:
                self._migrate()
                return
            except SQLAlchemyError as exc:
                if self._current_quietly():
                    return
                if attempt + 1 < MIGRATION_ATTEMPTS:
                    time.sleep(0.5 * (attempt + 1))
                    continue
                if isinstance(exc, OperationalError):
                    raise StorageError(f"cannot open database {_redacted(self.url)}: {exc.orig}") from None
                raise StorageError(f"cannot migrate database {_redacted(self.url)}: {exc}") from None

    def _stamped_at_head(self) -> bool:
        """Whether Alembic's version table holds exactly the newest revision (False when it does not exist)."""
        head = schema_head()
        if head is None:
            return False
        try:
            with self.engine.connect() as connection:
                stamps = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except SQLAlchemyError:
            return False
        return stamps == [head]

    def _migrate(self) -> None:
        from alembic import command  # Alembic only when the schema is not known to be current

        with self.engine.begin() as connection:
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def _current_quietly(self) -> bool:
        try:
            return self.is_current()
        except SQLAlchemyError:
            return False

    def is_current(self) -> bool:
        """Whether the schema is at the head of the migrations folder, as Alembic sees it."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        return current == head

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """`session` for a transaction that writes: it starts by waiting for every other writer on this
        database to finish, so writers (batches, labels, status changes, in any number of processes) run
        one after another and each sees everything committed before it.

        PostgreSQL: a transaction-level advisory lock (per schema), released by the commit or rollback.
        SQLite: BEGIN IMMEDIATE, which takes the write lock at once; a transaction that read first and
        wrote later could otherwise fail outright when another process committed in between.
        """
        with self.session() as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif connection.dialect.name == "postgresql":
                connection.exec_driver_sql(WRITER_LOCK_SQL)
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    """Open `url` and migrate it to the newest schema."""
    database = Database(url)
    database.upgrade()
    return database
