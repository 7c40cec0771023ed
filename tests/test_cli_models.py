"""`classify`, `label`, `train` and `evaluate` as a user runs them, in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA

MENTIONS = [
    {
        "id": "1",
        "platform": "x",
        "author": "a",
        "text": "I was charged twice and still no refund!",
        "created_at": "2026-03-10T08:00:00Z",
        "campaign": "spring",
        "metrics": {"followers": 12},
    },
    {
        "id": "2",
        "platform": "x",
        "author": "b",
        "text": "makasih min, udah beres 🙏",
        "created_at": "2026-03-10T08:01:00Z",
        "lang": "id",
    },
]


def _write_jsonl(path: Path, records: list, bad: str | None = None) -> Path:
    lines = [json.dumps(r) for r in records]
    if bad is not None:
        lines.insert(1, bad)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_classify_adds_fields_keeps_unknown_keys_and_reports_bad_lines(cli, tmp_path: Path) -> None:
    source = _write_jsonl(tmp_path / "in.jsonl", MENTIONS, bad="{broken")
    result = cli("classify", "--input", str(source))
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"]
    first, second = rows
    assert first["campaign"] == "spring"
    assert first["is_complaint"] is True and first["urgency"] in {"high", "critical"}
    assert first["category"] == "payment_billing"
    assert 0.5 <= first["complaint_score"] <= 1.0
    assert first["lang"] == "en"
    assert second["is_complaint"] is False and second["urgency"] == "none" and second["lang"] == "id"
    assert "line 2:" in result.err


def test_classify_reads_stdin(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(MENTIONS[0]) + "\n"))
    result = cli("classify")
    assert result.code == 0, result.err
    assert json.loads(result.out)["is_complaint"] is True


def test_classify_with_a_missing_model_is_one_clear_error(cli, tmp_path: Path) -> None:
    source = _write_jsonl(tmp_path / "in.jsonl", MENTIONS)
    result = cli("classify", "--model", str(tmp_path / "no-model"), "--input", str(source))
    assert result.code == 2
    assert "model directory not found" in result.err and len(result.err.strip().splitlines()) == 1


def test_label_stores_a_correction_and_train_uses_it(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    imported = cli("--db", db, "import", str(DATA / "unseen_mentions.jsonl"))
    assert imported.code == 0, imported.err

    assert cli("--db", db, "label", "x:9001", "--not-complaint").code == 0
    done = cli("--db", db, "label", "9002", "--complaint", "--urgency", "high", "--category", "access_login")
    assert done.code == 0, done.err
    assert "x:9002" in done.out and "urgency high" in done.out

    # a label that only names the category still trains the category model
    assert cli("--db", db, "label", "x:9003", "--category", "access_login").code == 0

    unknown = cli("--db", db, "label", "x:nope", "--complaint")
    assert unknown.code == 2 and "no stored mention" in unknown.err
    bad_category = cli("--db", db, "label", "x:9002", "--category", "weather")
    assert bad_category.code == 2 and "unknown category" in bad_category.err

    own = tmp_path / "mine.csv"
    own.write_text(
        "text,is_complaint\n"
        "the app ate my money again,1\n"
        "love the new colours,0\n"
        "where is my parcel? two weeks late,1\n"
        "thanks for the quick reply,0\n",
        encoding="utf-8",
    )
    out = tmp_path / "model"
    trained = cli("--db", db, "train", "--data", str(own), "--only-data", "--out", str(out))
    assert trained.code == 0, trained.err
    assert "3 stored labels, 4 rows from --data" in trained.err
    assert "fitting the category model" in trained.err and "fitting the urgency model" in trained.err
    assert (out / "manifest.json").is_file()

    source = _write_jsonl(tmp_path / "in.jsonl", MENTIONS)
    result = cli("classify", "--model", str(out), "--input", str(source))
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 2


def test_train_rejects_a_file_without_the_label_column(cli, tmp_path: Path) -> None:
    own = tmp_path / "mine.csv"
    own.write_text("text,label\nhello,1\n", encoding="utf-8")
    result = cli("train", "--data", str(own), "--only-data", "--out", str(tmp_path / "m"))
    assert result.code == 2 and "is_complaint" in result.err


def test_evaluate_without_the_shared_data_says_where_it_looked(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COMPLAINT_MONITOR_DATA", str(tmp_path / "no-data"))
    result = cli("evaluate", "--quick")
    assert result.code == 2
    assert "dataset file not found" in result.err and "COMPLAINT_MONITOR_DATA" in result.err


@pytest.mark.slow
def test_evaluate_quick_prints_the_table(cli) -> None:
    result = cli("evaluate", "--quick")
    if result.code == 2 and "dataset file not found" in result.err:
        pytest.skip("shared datasets not present")
    assert result.code == 0, result.err
    assert "| complaints_acl2019" in result.out and "mentions/s" in result.out
    rows = [line.split("|") for line in result.out.splitlines() if line.startswith("| ")]
    table = {cells[1].strip(): cells[3:5] for cells in rows}
    # the learned categories beat the keyword rules on the held-out aspect reviews, printed beside them
    baseline, ours = (float(cell) for cell in table["category: indonlu_aspects (307)"])
    assert ours > baseline
    assert "sample stream: category" in table and "sample stream: urgency" in table


def test_train_checks_urgency_and_names_categories_the_config_lacks(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "late again", "is_complaint": 1, "urgency": "urgent"}\n', encoding="utf-8")
    result = cli("train", "--data", str(bad), "--only-data", "--out", str(tmp_path / "m1"))
    assert result.code == 2 and "line 1: urgency 'urgent' is not one of none, low, medium, high, critical" in result.err

    own = tmp_path / "own.jsonl"
    rows = [
        {"text": "no free spot on any floor again", "is_complaint": 1, "urgency": "low", "category": "car_park"},
        {"text": "lantai 3 sampai 6 penuh semua, muter2 sejam", "is_complaint": True, "category": "car_park"},
        {"text": "thanks, the new gate is quick", "is_complaint": 0},
    ]
    own.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    trained = cli("train", "--data", str(own), "--only-data", "--out", str(tmp_path / "m2"))
    assert trained.code == 0, trained.err
    assert "category 'car_park' is not in classifier.categories" in trained.err
