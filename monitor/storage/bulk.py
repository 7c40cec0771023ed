"""Bulk inserts for the pipeline's hot tables, with the per-row cost taken out.

A batch writes thousands of rows. SQLAlchemy's executemany path builds and checks a
parameter dict per row and runs each column's converters through its generic machinery,
which cost more than SQLite's own work. Here each column's converter (the same one
SQLAlchemy would use, so values are stored exactly as the ORM stores and reads them) is
looked up once per statement, rows become tuples in one pass, and the driver gets one
statement: plain executemany, or one multi-row VALUES when rows must come back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from monitor.storage.schema import UTCDateTime

MAX_PARAMETERS = 30_000
"""Below every supported database's limit on bound parameters in one statement."""

_Converter = Callable[[Any], Any] | None


def _converters(table: Table, columns: Sequence[str], dialect: Any) -> list[_Converter]:
    out: list[_Converter] = []
    for name in columns:
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
            out.append(_sqlite_utc)  # the text SQLAlchemy's SQLite DATETIME stores, from one C call
        else:
            out.append(column_type._cached_bind_processor(dialect))
    return out


@functools.lru_cache(maxsize=8)  # a batch stamps all its rows with the same few times
def _sqlite_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _names(dialect: Any, table: Table, columns: Sequence[str]) -> tuple[str, str]:
    quote = dialect.identifier_preparer.quote
    return quote(table.name), ", ".join(quote(c) for c in columns)


def _placeholders(dialect: Any, count: int) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    return "(" + ", ".join([mark] * count) + ")"


def _as_tuples(rows: Sequence[dict[str, Any]], columns: Sequence[str], converters: list[_Converter]) -> list[tuple]:
    pairs = list(zip(columns, converters, strict=True))
    return [tuple(convert(row[name]) if convert else row[name] for name, convert in pairs) for row in rows]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (all with the same keys) in one executemany."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    name, listed = _names(dialect, table, columns)
    sql = f"INSERT INTO {name} ({listed}) VALUES {_placeholders(dialect, len(columns))}"
    connection.exec_driver_sql(sql, _as_tuples(rows, columns, _converters(table, columns, dialect)))


def insert_tuples(session: Session, table: Table, columns: Sequence[str], values: Sequence[tuple]) -> None:
    """INSERT rows already converted for this session's database (see `converted`), in one executemany."""
    if not values:
        return
    connection = session.connection()
    dialect = connection.dialect
    name, listed = _names(dialect, table, columns)
    connection.exec_driver_sql(f"INSERT INTO {name} ({listed}) VALUES {_placeholders(dialect, len(columns))}", values)


@functools.lru_cache(maxsize=1)
def sqlite_dialect() -> Any:
    """A SQLite dialect as the store's engine configures it, to convert rows without a connection."""
    from sqlalchemy.dialects import sqlite

    from monitor.storage.database import dumps_json

    return sqlite.dialect(json_serializer=dumps_json)


def converted(table: Table, rows: Sequence[dict[str, Any]], dialect: Any) -> tuple[list[str], list[tuple]]:
    """The rows as (columns, tuples of values ready for `dialect`'s driver): what `insert_converted` takes."""
    if not rows:
        return [], []
    columns = list(rows[0])
    return columns, _as_tuples(rows, columns, _converters(table, columns, dialect))


def insert_new_returning(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], unique: Sequence[str], returning: Sequence[str]
) -> list[tuple]:
    """INSERT rows, skipping those whose `unique` columns are already stored; the `returning` columns of the
    rows this statement created (a row another transaction stored first is not handed back)."""
    if not rows:
        return []
    columns, values = converted(table, rows, session.connection().dialect)
    return insert_converted(session, table, columns, values, unique, returning)


def insert_converted(
    session: Session,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple],
    unique: Sequence[str],
    returning: Sequence[str],
) -> list[tuple]:
    """`insert_new_returning` for rows already converted for this session's database (see `converted`)."""
    if not values:
        return []
    connection = session.connection()
    dialect = connection.dialect
    group = _placeholders(dialect, len(columns))
    name, listed = _names(dialect, table, columns)
    _, keys = _names(dialect, table, unique)
    _, back = _names(dialect, table, returning)
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    out: list[tuple] = []
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        sql = (
            f"INSERT INTO {name} ({listed}) VALUES {', '.join([group] * len(chunk))} "
            f"ON CONFLICT ({keys}) DO NOTHING RETURNING {back}"
        )
        flat = tuple(value for row in chunk for value in row)
        out.extend(tuple(row) for row in connection.exec_driver_sql(sql, flat))
    return out
