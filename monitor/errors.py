"""Errors a user can fix: the CLI prints their message as one line and exits with their code.

Every one of them is a `MonitorError`: a mistake in how the tool was called (`UserError`), the config
(`monitor.config.ConfigError`), the database (`monitor.storage.StorageError`), a channel
(`connectors.base.ConnectorError`) or the model (`classifiers.model.ModelError`). The CLI catches
`MonitorError` alone; `as_monitor_error` turns the few foreign errors that reach it for reasons the user
can fix (a database that refuses to write, a file that cannot be written) into one.

Exit codes: 0 done; 1 the command ran but part or all of its work failed (channels that could not be polled
or checked, drafts that break a rule); 2 a usage, config, database, file or model error (a bad option,
config, database URL, file or id: nothing was done). Click's own usage errors exit 2 as well.
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2


class MonitorError(Exception):
    """The root of every error a user can fix. Its message is one line that says what and where."""

    exit_code = EXIT_USAGE


class UserError(MonitorError):
    """A mistake in how the tool was called (missing file, unknown id, bad option value)."""

    exit_code = EXIT_USAGE


class WorkFailed(UserError):
    """The command did its work, and part or all of it failed (what succeeded is kept)."""

    exit_code = EXIT_FAILED


class DatabaseError(MonitorError):
    """The database refused the work (read-only, gone away, out of space, locked for too long)."""


class FileError(MonitorError):
    """A file the command had to read or write could not be (permissions, a full disk)."""


def one_line(text: str, limit: int = 400) -> str:
    """The first line of `text`, at most `limit` characters."""
    lines = str(text).strip().splitlines()
    first = lines[0].strip() if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def as_monitor_error(exc: BaseException) -> MonitorError | None:
    """`exc` as the MonitorError a user reads, when it is one they can act on; None for a bug."""
    if isinstance(exc, MonitorError):
        return exc
    try:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        DBAPIError = SQLAlchemyError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if isinstance(exc, DBAPIError):
        return DatabaseError(f"database error: {one_line(str(exc.orig) or type(exc.orig).__name__)}")
    if isinstance(exc, SQLAlchemyError):
        return DatabaseError(f"database error: {one_line(str(exc).split(' [SQL:', 1)[0])}")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return FileError(f"{exc.strerror or one_line(str(exc)) or type(exc).__name__}{where}")
    return None
