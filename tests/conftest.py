"""Shared fixtures: run the CLI in a temp dir, and a PostgreSQL schema when the server is there."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("COMPLAINT_MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `complaint-monitor ARGS` in-process, in a fresh temp dir; returns exit code, stdout, stderr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_DB", raising=False)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def _postgres_available() -> str | None:
    try:
        import psycopg

        conn = psycopg.connect(PG_URL, connect_timeout=3)
        conn.close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: skip
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0]}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh, empty schema in the test database (dropped afterwards)."""
    reason = _postgres_available()
    if reason:
        if os.environ.get("CI") and os.environ.get("COMPLAINT_MONITOR_REQUIRE_PG"):
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    schema = f"cm_test_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()
