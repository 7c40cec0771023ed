"""Recurring issues in the digest: steady, ordinary problems per category and week, not incidents.

The stream is built here: seven weeks of mentions ending on a Wednesday evening (2026-02-18 21:00 UTC).
One complaint every 4 hours at most, so nothing but the planned cluster is ever an incident.

    period (7 days back from the newest mention)   6   5   4   3   2   1   0 (last 7 days)
    delivery  (steady)                            10  10  10  10  10  10  10
    payment   (doubles in the last week)          20   8   8   8   8   8  16 = 12 ordinary + 4 in one incident
    pricing   (below recurring_min)                0   0   0   0   0   0   3

Period 6 is outside the look-back (4 weeks): its 20 payment complaints must not move any mean.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from classifiers.settings import _default_categories

END = datetime(2026, 2, 18, 21, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SLOT = timedelta(hours=4)  # 42 slots per period; the last slot of period 0 is END itself

PAYMENT = [
    "refund PayKita saya belum masuk juga, udah seminggu nunggu. kecewa",
    "PayKita refund still not back in my account after 10 days, this is ridiculous",
]
DELIVERY = [
    "paket KitaMart telat lagi, kurirnya gak dateng2 dari kemarin",
    "KitaMart delivery late again, order still not arrived after 3 hours",
]
PRICING = "biaya admin PayKita naik lagi, mahal banget sekarang"
PRAISE = ["Love the new PayKita cashback promo, thanks team!", "makasih PayKita, top up lancar terus 👍"]
CLUSTER = [
    "refund PayKita belum masuk udah 3 hari, saldo kepotong 150rb. kecewa",
    "refund PayKita saya juga belum masuk, saldo kepotong 200rb. tolong dong",
    "refund PayKita belum masuk juga nih, saldo kepotong dari kemarin. parah",
    "PayKita refund not received, balance deducted since yesterday. Terrible",
]


def _slot(period: int, index: int) -> datetime:
    return END - (period + 1) * WEEK + (index + 1) * SLOT


def _stream() -> list[dict]:
    rows: list[dict] = []

    def add(at: datetime, author: str, text: str) -> None:
        rows.append(
            {
                "id": str(len(rows) + 1),
                "platform": "x",
                "author": author,
                "text": text,
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )

    payment_per_period = {6: 20, 5: 8, 4: 8, 3: 8, 2: 8, 1: 8, 0: 12}
    for period in range(6, -1, -1):
        for i in range(10):  # delivery: slots 0, 4, 8, … 36; 8 people in each period (two post twice)
            add(_slot(period, 4 * i), f"dlv_{period}_{i % 8}", DELIVERY[i % 2])
        payment_slots = [s for s in range(42) if s % 4 == 2 and s != 22] + [s for s in range(1, 42, 4)]
        for i in range(payment_per_period[period]):  # 10 people in the last period (two post twice)
            add(_slot(period, payment_slots[i]), f"pay_{period}_{i % 10}", PAYMENT[i % 2])
        add(_slot(period, 3), f"fan_{period}", PRAISE[period % 2])
    # the last 7 days: one incident (4 people within 30 minutes, in slot 22, 4 h from anything else) ...
    for i, text in enumerate(CLUSTER):
        add(_slot(0, 22) + timedelta(minutes=8 * i), f"cluster_{i}", text)
    # ... a category below recurring_min, and a happy customer as the newest mention (the digest's "now")
    for i in range(3):
        add(_slot(0, 39 - 12 * i), f"price_{i}", PRICING)
    add(END, "fan_last", PRAISE[0])
    assert max(r["created_at"] for r in rows) == "2026-02-18T21:00:00Z"
    return rows


@pytest.fixture
def stream(tmp_path: Path) -> Path:
    path = tmp_path / "weeks.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _stream()), encoding="utf-8")
    return path


def _imported(cli, db: str, stream: Path) -> None:
    result = cli("--db", db, "import", str(stream))
    assert result.code == 0, result.err
    # the classifier sees what this file plans: 10 + 16 + 3 complaints in the last 7 days, one incident
    flagged = [json.loads(line) for line in cli("--db", db, "mentions", "export", "--flagged").out.splitlines()]
    last_week = [r for r in flagged if r["created_at"] > "2026-02-11T21:00:00Z"]
    by_category: dict[str, int] = {}
    for row in last_week:
        by_category[row["category"]] = by_category.get(row["category"], 0) + 1
    assert by_category == {"delivery": 10, "payment_billing": 16, "pricing_fees": 3}
    assert {r["author"] for r in flagged if r["incident_id"]} == {f"cluster_{i}" for i in range(4)}


def _text_section(out: str) -> list[str]:
    section = out.split("RECURRING ISSUES", 1)[1].split("COMPLAINTS BY URGENCY", 1)[0]
    return ["RECURRING ISSUES" + section.splitlines()[0], *section.splitlines()[1:]]


def _text_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in _text_section(out):
        parts = line.split()
        if parts and parts[0] in {"delivery", "payment_billing", "pricing_fees"}:
            rows[parts[0]] = parts[1:]
    return rows


def _check_last_week(cli, db: str) -> None:
    text = cli("--db", db, "digest", "--format", "text")
    assert text.code == 0, text.err
    # after incidents, before the complaints one by one
    assert text.out.index("INCIDENTS") < text.out.index("RECURRING ISSUES") < text.out.index("COMPLAINTS BY URGENCY")
    section = "\n".join(_text_section(text.out))
    assert "Last 7 days to 2026-02-18 21:00 UTC" in section
    assert "mean of the 4 seven-day periods before" in section
    rows = _text_rows(text.out)
    # count, 4-week mean, trend, people, share, in incidents, weekly bars (oldest → last 7 days)
    assert rows["payment_billing"] == ["16", "8.0", "+100%", "14", "55%", "4", "▅▅▅▅█"]
    assert rows["delivery"] == ["10", "10.0", "steady", "8", "34%", "0", "█████"]
    assert "pricing_fees" not in rows  # 3 < recurring_min
    assert "1 more category under 5 complaints (3 in all)" in section
    assert list(rows) == ["payment_billing", "delivery"]  # by volume


def test_text_digest_lists_steady_and_growing_categories(cli, tmp_path: Path, stream: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _imported(cli, db, stream)
    _check_last_week(cli, db)


@pytest.mark.postgres
def test_recurring_issues_on_postgres(cli, pg_url: str, stream: Path) -> None:
    _imported(cli, pg_url, stream)
    _check_last_week(cli, pg_url)


def test_markdown_and_html_show_the_same_figures(cli, tmp_path: Path, stream: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _imported(cli, db, stream)

    md = cli("--db", db, "digest", "--format", "md")
    assert md.code == 0, md.err
    assert md.out.index("## Incidents") < md.out.index("## Recurring issues") < md.out.index("## Complaints by urgency")
    table = [line for line in md.out.split("## Recurring issues", 1)[1].splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in table]
    assert cells[0][:4] == ["Category", "Last 7 days", "Mean of 4 weeks before", "Trend"]
    assert cells[1] == ["payment\\_billing", "16", "8.0", "+100%", "14", "55%", "4", "▅▅▅▅█"]
    assert cells[2] == ["delivery", "10", "10.0", "steady", "8", "34%", "0", "█████"]
    assert len(cells) == 3

    out = tmp_path / "digest.html"
    assert cli("--db", db, "digest", "--format", "html", "--out", str(out)).code == 0
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert [s["id"] for s in soup.find_all("section")] == ["incidents", "recurring", "complaints", "still-waiting"]
    issues = {}
    for tr in soup.select("#recurring tr.issue"):
        cells = {c["class"][0]: c.get_text(strip=True) for c in tr.find_all(["th", "td"])}
        issues[cells.pop("category")] = cells
    assert list(issues) == ["payment_billing", "delivery"]
    assert issues["payment_billing"] == {
        "count": "16",
        "mean": "8.0",
        "trend": "+100%",
        "authors": "14",
        "share": "55%",
        "in-incidents": "4",
        "spark": "▅▅▅▅█",
    }
    assert issues["delivery"]["trend"] == "steady" and issues["delivery"]["count"] == "10"
    spark = soup.select_one("#recurring tr.issue td.spark")
    assert spark["title"].endswith("8, 8, 8, 8 → 16")
    assert "mean of the 4 seven-day periods before" in soup.select_one("#recurring p.note").get_text()
    # mailed and opened offline: nothing is fetched
    assert not soup.select("[src]") and not soup.select("link")


def test_as_of_shows_the_weeks_as_they_were_then(cli, tmp_path: Path, stream: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _imported(cli, db, stream)
    week_before = cli("--db", db, "digest", "--format", "text", "--as-of", "2026-02-11T21:00:00Z")
    assert week_before.code == 0, week_before.err
    section = "\n".join(_text_section(week_before.out))
    assert "Last 7 days to 2026-02-11 21:00 UTC" in section
    rows = _text_rows(week_before.out)
    # payment was steady then; the incident and the pricing complaints had not happened yet
    assert rows["payment_billing"] == ["8", "8.0", "steady", "8", "44%", "0", "█████"]
    assert rows["delivery"] == ["10", "10.0", "steady", "8", "56%", "0", "█████"]
    assert "more category" not in section


def test_config_and_labels_change_what_is_listed(cli, tmp_path: Path, stream: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _imported(cli, db, stream)
    # a person's label wins over the model: one payment complaint of the last week was really a delivery one
    exported = [json.loads(line) for line in cli("--db", db, "mentions", "export", "--flagged").out.splitlines()]
    moved = next(r for r in exported if r["author"] == "pay_0_9")
    assert cli("--db", db, "label", f"x:{moved['id']}", "--category", "delivery").code == 0
    rows = _text_rows(cli("--db", db, "digest", "--format", "text").out)
    assert rows["payment_billing"][:2] == ["15", "8.0"] and rows["delivery"][:3] == ["11", "10.0", "steady"]

    (tmp_path / "config.yaml").write_text("digest:\n  recurring_weeks: 2\n  recurring_min: 12\n")
    out = cli("--db", db, "digest", "--format", "text").out
    rows = _text_rows(out)
    assert list(rows) == ["payment_billing"]  # delivery's 11 is under 12 now
    assert rows["payment_billing"][:3] == ["15", "8.0", "+88%"] and rows["payment_billing"][-1] == "▅▅█"
    assert "2 more categories under 12 complaints (14 in all)" in out
    assert "mean of the 2 seven-day periods before" in out


def test_no_history_means_no_trend(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    stream = tmp_path / "new.jsonl"
    rows = [r for r in _stream() if r["created_at"] > "2026-02-11T21:00:00Z"]  # monitoring began a week ago
    stream.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli("--db", db, "import", str(stream)).code == 0
    out = cli("--db", db, "digest", "--format", "text").out
    assert "no earlier full 7-day period stored yet" in out
    assert _text_rows(out)["payment_billing"] == ["16", "—", "—", "14", "55%", "4", "····█"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("digest:\n  recurring_weeks: 0\n", "digest.recurring_weeks"),
        ("digest:\n  recurring_weeks: 53\n", "digest.recurring_weeks"),
        ("digest:\n  recurring_min: 0\n", "digest.recurring_min"),
        ("digest:\n  recurring_min: lots\n", "digest.recurring_min"),
    ],
)
def test_bad_recurring_settings_are_one_clear_line(cli, tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(content)
    result = cli("--config", str(tmp_path / "bad.yaml"), "digest")
    assert result.code != 0 and expected in result.err and "Traceback" not in result.err


def test_category_names_are_untrusted_in_every_format(cli, tmp_path: Path) -> None:
    hostile = "<b>x</b>|*y*_[z](http://e)"
    config = {"classifier": {"categories": {**_default_categories(), hostile: ["zzqx"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    stream = tmp_path / "s.jsonl"
    rows = [r for r in _stream() if r["author"].startswith("dlv_0_")]
    stream.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli("--db", db, "import", str(stream)).code == 0
    for row in rows[:5]:
        assert cli("--db", db, "label", f"x:{row['id']}", "--category", hostile).code == 0

    out = tmp_path / "d.html"
    assert cli("--db", db, "digest", "--format", "html", "--out", str(out)).code == 0
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert soup.select_one("#recurring b") is None and soup.select_one("#recurring a") is None
    assert hostile in [th.get_text() for th in soup.select("#recurring th.category")]

    md = cli("--db", db, "digest", "--format", "md").out
    row = next(line for line in md.split("## Recurring issues", 1)[1].splitlines() if "x" in line and "&lt;" in line)
    assert "<b>" not in row and "](" not in row
    assert "&lt;b&gt;x&lt;/b&gt;\\|\\*y\\*" in row  # < and > as entities (no tag), | and * escaped
    assert row.count(" | ") == 7  # the | inside the name does not add a column


def test_trend_words_and_bars() -> None:
    from monitor.recurring import sparkline, trend

    assert trend(16, 8.0) == "+100%"
    assert trend(6, 10.0) == "\u221240%"  # a real minus sign, as in "−10%"
    assert trend(11, 10.0) == "steady"  # within √10 of the mean: a count's own noise
    assert trend(110, 100.0) == "steady" and trend(112, 100.0) == "+12%"  # within 10%
    assert trend(5, 0.0) == "new"  # none in the stored weeks before
    assert trend(5, None) == "—"  # no stored week before: no trend at all
    assert sparkline([None, 0, 4, 8]) == "·▁▅█"
    assert sparkline([0, 0]) == "▁▁"
