"""Hostile input: any JSONL a user or an attacker hands to `import` goes in without a traceback; every valid
line is stored, every invalid one is reported with its line number and reason, and nothing else is lost.

The property test builds files line by line from kinds whose verdict is known (valid, or invalid for a
stated reason), on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

MAX_TEXT = 20_000


@dataclass(frozen=True)
class Line:
    text: str
    reason: str | None = None
    """None: a valid mention; else a word the rejection must contain."""
    key: tuple[str, str] | None = None
    cut: bool = False


NOW = datetime.now(UTC)
_counter = itertools.count()


def _record(**overrides: object) -> dict[str, object]:
    n = next(_counter)
    record: dict[str, object] = {
        "id": f"h{n}",
        "platform": "x",
        "author": f"user{n}",
        "text": "OTP gak masuk udah 20 menit @PayKitaCare",
        "created_at": "2026-03-10T08:05:00Z",
    }
    record.update(overrides)
    return record


def _dump(record: object) -> str:
    return json.dumps(record, allow_nan=True)  # Infinity and NaN as Python's json writes them


def _valid(record: dict[str, object], cut: bool = False) -> Line:
    return Line(_dump(record), None, (str(record.get("platform") or "file").lower(), str(record["id"])), cut)


texts = st.text(min_size=1, max_size=200).filter(lambda t: t.replace("\x00", "").strip() != "" or True)
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 11, 1)).map(
    lambda d: d.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
)
counts = st.one_of(
    st.integers(-(2**40), 2**62),
    st.floats(min_value=-(2.0**40), max_value=2.0**40, allow_nan=False, width=32),
    st.none(),
)
odd_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)


@st.composite
def valid_line(draw: st.DrawFn) -> Line:
    kind = draw(st.sampled_from(["plain", "metrics", "unknown", "long", "epoch"]))
    words = draw(texts)
    if not words.replace("\x00", ""):
        words = "x" + words
    record = _record(text=words, created_at=draw(times), platform=draw(st.sampled_from(["x", "reddit", "Mastodon"])))
    if kind == "metrics":
        record["metrics"] = {name: draw(counts) for name in ("followers", "likes", "reposts", "replies")}
    elif kind == "unknown":
        record["extra"] = draw(odd_values)
        record["nul\x00key"] = {"nan": math.nan, "inf": math.inf, "s": "a\x00b"}
    elif kind == "long":
        record["text"] = "panjang " * draw(st.integers(2_600, 3_000))
        return _valid(record, cut=True)
    elif kind == "epoch":
        record["created_at"] = draw(st.integers(0, int(NOW.timestamp()) - 86400))
    return _valid(record)


INVALID = [
    ("not json", lambda: Line("{not json", "not valid JSON")),
    ("array", lambda: Line("[1, 2]", "JSON object")),
    ("no id", lambda: Line(_dump({k: v for k, v in _record().items() if k != "id"}), "missing required field")),
    ("no text", lambda: Line(_dump(_record(text="")), "missing required field")),
    ("text a number", lambda: Line(_dump(_record(text=5)), "text must be a string")),
    ("year 1 east of UTC", lambda: Line(_dump(_record(created_at="0001-01-01T00:00:00+05:00")), "out of range")),
    ("year 9999", lambda: Line(_dump(_record(created_at="9999-12-31T00:00:00Z")), "in the future")),
    ("tomorrow", lambda: Line(_dump(_record(created_at=(NOW + timedelta(days=2)).isoformat())), "in the future")),
    ("before 1970", lambda: Line(_dump(_record(created_at="1969-07-20T20:17:00Z")), "before 1970")),
    ("epoch overflow", lambda: Line(_dump(_record(created_at=1e300)), "out of range")),
    ("not a time", lambda: Line(_dump(_record(created_at="yesterday")), "ISO-8601")),
    ("followers Infinity", lambda: Line(_dump(_record(metrics={"followers": math.inf})), "finite")),
    ("likes NaN", lambda: Line(_dump(_record(metrics={"likes": math.nan})), "finite")),
    ("likes 1e400", lambda: Line(_dump(_record())[:-1] + ', "metrics": {"likes": 1e400}}', "finite")),
    ("huge count", lambda: Line(_dump(_record(metrics={"reposts": 2**70})), "out of range")),
    ("count a word", lambda: Line(_dump(_record(metrics={"replies": "many"})), "not a number")),
    ("metrics a list", lambda: Line(_dump(_record(metrics=[1])), "metrics must be an object")),
    ("deep", lambda: Line(_dump(_record())[:-1] + ', "deep": ' + "[" * 3000 + "]" * 3000 + "}", "nested")),
    ("id NaN", lambda: Line(_dump(_record(id=math.nan)), "id is not a usable number")),
]


@st.composite
def invalid_line(draw: st.DrawFn) -> Line:
    _, make = draw(st.sampled_from(INVALID))
    return make()


any_line = st.one_of(valid_line(), valid_line(), invalid_line(), st.just(Line("   ")))


def _check_import(cli, db: str, tmp: Path, lines: list[Line]) -> None:  # type: ignore[no-untyped-def]
    path = tmp / f"in{next(_counter)}.jsonl"
    path.write_text("\n".join(line.text for line in lines) + "\n", encoding="utf-8")
    result = cli("--db", db, "import", str(path))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err + result.out
    for number, line in enumerate(lines, start=1):
        if line.reason is not None:
            assert any(
                row.startswith(f"rejected line {number}: ") and line.reason in row for row in result.err.splitlines()
            ), (number, line.reason, result.err)
        elif line.cut:
            assert f"cut line {number}: text cut from " in result.err
    valid = [line for line in lines if line.key is not None]
    invalid = [line for line in lines if line.reason is not None]
    assert f"{len(valid)} new, 0 duplicates, {len(invalid)} rejected" in result.out
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            for line in valid:
                assert line.key is not None
                stored = connection.execute(
                    text("SELECT length(text) FROM mentions WHERE platform = :p AND external_id = :i"),
                    {"p": line.key[0], "i": line.key[1]},
                ).scalar()
                assert stored is not None, line
                assert stored <= MAX_TEXT
    finally:
        engine.dispose()


PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "12")),  # more: HYPOTHESIS_EXAMPLES=200 pytest …
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(lines=st.lists(any_line, min_size=1, max_size=25))
def test_any_lines_import_on_sqlite(cli, tmp_path: Path, fast_model: None, lines: list[Line]) -> None:
    _check_import(cli, f"sqlite:///{tmp_path / 'h.db'}", tmp_path, lines)


@pytest.mark.postgres
@PROPERTY
@given(lines=st.lists(any_line, min_size=1, max_size=25))
def test_any_lines_import_on_postgres(cli, tmp_path: Path, pg_url: str, fast_model: None, lines: list[Line]) -> None:
    _check_import(cli, pg_url, tmp_path, lines)


# ---- one bad field never loses the batch ------------------------------------------------------------------


def _stream(count: int) -> list[str]:
    return [_dump(_record(created_at=f"2026-03-10T{8 + i // 600:02d}:{i // 10 % 60:02d}:00Z")) for i in range(count)]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_one_bad_field_in_a_batch_loses_nothing_else(
    cli, tmp_path: Path, fast_model: None, db: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    lines = _stream(1001)
    lines[3] = _dump(_record(created_at="0001-01-01T00:00:00+05:00"))
    lines[5] = _dump(_record())[:-1] + ', "metrics": {"followers": Infinity}}'
    lines[7] = _dump(_record())[:-1] + ', "mystery": NaN, "nested": {"x": [Infinity, "\\u0000"]}}'
    lines[600] = _dump(_record(created_at="9999-12-31T23:59:59Z"))
    lines[900] = _dump(_record(text="x" * 1_000_000))
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("--db", url, "import", str(path))
    assert result.code == 0, result.err
    assert "998 new, 0 duplicates, 3 rejected, 1 text cut" in result.out
    assert "rejected line 4: created_at is out of range" in result.err
    assert "rejected line 6: metrics.followers is not a finite number" in result.err
    assert "rejected line 601: created_at 9999-12-31T23:59:59Z is in the future" in result.err
    assert "cut line 901: text cut from 1,000,000 to 20,000 characters" in result.err
    exported = [json.loads(row) for row in cli("--db", url, "mentions", "export").out.splitlines()]
    assert len(exported) == 998
    raws = [raw for (raw,) in _query(url, "SELECT raw FROM mentions")]
    mystery = next(_json(raw) for raw in raws if raw and "mystery" in _json(raw))
    assert mystery == {"mystery": None, "nested": {"x": [None, ""]}}


def _query(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _json(value: object) -> dict:  # type: ignore[type-arg]
    return value if isinstance(value, dict) else json.loads(str(value))


def test_future_mentions_can_be_clamped_instead(cli, tmp_path: Path, fast_model: None) -> None:
    (tmp_path / "config.yaml").write_text("ingest:\n  max_future: 2h\n  future: clamp\n", encoding="utf-8")
    path = tmp_path / "f.jsonl"
    path.write_text(_dump(_record(id="f1", created_at="9999-12-31T00:00:00Z")) + "\n", encoding="utf-8")
    result = cli("import", str(path))
    assert result.code == 0, result.err
    assert "1 new, 0 duplicates, 0 rejected" in result.out
    [row] = [json.loads(r) for r in cli("mentions", "export").out.splitlines()]
    [(raw,)] = _query(f"sqlite:///{tmp_path / 'complaint-monitor.db'}", "SELECT raw FROM mentions")
    assert _json(raw) == {"created_at_claimed": "9999-12-31T00:00:00Z"}
    assert abs(datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(
        minutes=5
    )


TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON mentions WHEN NEW.text LIKE '%BOOM%' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN IF position('BOOM' in NEW.text) > 0 THEN "
        "RAISE EXCEPTION 'refused by the database' USING ERRCODE = '22000'; END IF; RETURN NEW; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON mentions FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
    ],
}


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_value_the_database_refuses_loses_only_its_mention(
    cli, tmp_path: Path, fast_model: None, db: str, request: pytest.FixtureRequest
) -> None:
    """Whatever slips past the checks and is refused by the database (here a trigger stands for it): the
    batch is stored one mention at a time and only the refused one is reported."""
    url = f"sqlite:///{tmp_path / 'r.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    assert cli("--db", url, "mentions", "export").code == 0  # creates the schema
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in TRIGGERS[db]:
            connection.exec_driver_sql(statement)
    engine.dispose()
    lines = _stream(10)
    lines[4] = _dump(_record(id="boom", text="OTP BOOM gak masuk"))
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("--db", url, "import", str(tmp_path / "r.jsonl"))
    assert result.code == 0, result.err
    assert "9 new, 0 duplicates, 1 rejected" in result.out
    assert "rejected x:boom: not stored: refused by the database" in result.err
    assert len(cli("--db", url, "mentions", "export").out.splitlines()) == 9
