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


QUIET_TEXTS = [
    "my card was declined at the supermarket",
    "delivery driver went to the wrong street",
    "kenapa cashback belum masuk ya",
    "the app is slow when opening history",
    "customer service took two days to answer",
    "paket saya nyasar ke kota lain",
    "promo code says expired but it is not",
    "biaya admin naik tanpa pemberitahuan",
]


def store_quiet_history(database, before, hours: int = 12, category: str = "other") -> None:  # type: ignore[no-untyped-def]
    """A monitor that has been running for a while: unrelated complaints over the `hours` before `before`.

    Incidents are judged against the usual level, and a store that holds nothing yet has none.
    """
    from datetime import timedelta

    from monitor.storage.schema import ClassificationRow, MentionRow

    with database.session() as session:
        for i in range(hours):
            text = QUIET_TEXTS[i % len(QUIET_TEXTS)]
            at = before - timedelta(hours=hours - i)
            row = MentionRow(platform="x", external_id=f"quiet{i}", author=f"quiet{i}", text=text, created_at=at)
            session.add(row)
            session.flush()
            session.add(
                ClassificationRow(
                    mention_pk=row.pk,
                    lang="en",
                    is_complaint=True,
                    complaint_score=0.9,
                    base_urgency="low",
                    urgency="low",
                    category=category,
                )
            )


@pytest.fixture
def fast_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI as it is, but a model is read once per test rather than once per command (its integrity is
    still checked every time)."""
    import classifiers
    from classifiers.model import verify_model
    from classifiers.settings import ClassifierSettings

    load = classifiers.load_classifier
    loaded: dict[tuple[str, str], object] = {}

    def cached(settings: ClassifierSettings | None = None, base_dir: Path | None = None) -> object:
        settings = settings or ClassifierSettings()
        directory = classifiers.model_directory(settings, base_dir)
        verify_model(directory)
        key = (str(directory), settings.model_dump_json())
        if key not in loaded:
            loaded[key] = load(settings, base_dir)
        return loaded[key]

    monkeypatch.setattr(classifiers, "load_classifier", cached)
