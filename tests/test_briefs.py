"""Incident briefs as an investigator gets them: the sample's planned incidents against the hand-written key,
a second hand-written check set (another brand), titles, masking, hostile text, the Markdown export."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml
from bs4 import BeautifulSoup

from monitor.cli import main
from monitor.incidents.brief.build import BriefMention, build_brief
from monitor.incidents.brief.lexicon import build_lexicon
from monitor.incidents.brief.markdown import render
from monitor.incidents.brief.settings import BriefSettings
from monitor.replies.personal_data import find_personal_data
from tests.conftest import DATA, ROOT

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"
LABELS = ROOT / "examples" / "sample_labels.jsonl"
KEY = ROOT / "examples" / "sample_incident_key.yaml"
CHECKSET = DATA / "brief_checkset"
CONFIG = str(ROOT / "config.yaml")


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('briefs') / 'sample.db'}"
    assert main(["--config", CONFIG, "--db", url, "import", str(SAMPLE)]) == 0
    return url


@pytest.fixture
def exported(cli, sample_db: str) -> list[dict[str, Any]]:
    result = cli("--config", CONFIG, "--db", sample_db, "incidents", "export", "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _sample_refs() -> dict[str, str]:
    """'author created_at' (as the key writes a report) -> platform:id."""
    out = {}
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[f"{row['author']} {row['created_at']}"] = f"{row['platform']}:{row['id']}"
    return out


def _planned() -> dict[str, set[str]]:
    planned: dict[str, set[str]] = {}
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("incident"):
            planned.setdefault(row["incident"], set()).add(f"{row['platform']}:{row['id']}")
    return planned


def _people(brief: dict[str, Any], kind: str, value: str) -> int:
    return next((v["people"] for v in brief["facts"].get(kind, []) if v["value"] == value), 0)


def test_each_planned_incident_brief_names_its_defining_facts_with_the_keys_counts(exported) -> None:
    key = yaml.safe_load(KEY.read_text(encoding="utf-8"))["incidents"]
    refs = _sample_refs()
    planned = _planned()
    for name, spec in key.items():
        incident = max(exported, key=lambda i: len(planned[name] & set(i["mention_ids"])))
        members = set(incident["mention_ids"])
        assert len(planned[name] & members) >= 5, name
        author_of = {f"{m['platform']}:{m['id']}": (m["platform"], m["author"].lower()) for m in incident["mentions"]}
        brief = incident["brief"]
        for fact in spec["facts"]:
            reports = {refs[r] for r in fact["reports"]}
            expected = len({author_of[r] for r in reports & members})
            got = _people(brief, fact["kind"], fact["value"])
            assert got == expected, (name, fact["kind"], fact["value"], got, expected)
        for kind, value in spec["defining"]:
            listed = brief["facts"][kind]
            assert listed[0]["value"] == value and listed[0]["people"] >= 3, (name, kind, listed[:2])
        for word in spec["title_must_contain"]:
            assert word.lower() in brief["title"].lower(), (name, brief["title"])


def _checkset() -> tuple[dict[str, Any], dict[str, list[BriefMention]], list[dict[str, Any]]]:
    key = yaml.safe_load((CHECKSET / "key.yaml").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (CHECKSET / "tiketjalan.jsonl").read_text(encoding="utf-8").splitlines()]
    members: dict[str, list[BriefMention]] = {}
    for r in rows:
        members.setdefault(r["incident"], []).append(
            BriefMention(
                f"{r['platform']}:{r['id']}",
                r["platform"],
                r["author"],
                _at(r["created_at"]),
                r["text"],
                r["url"],
                r.get("lang"),
            )
        )
    return key, members, rows


def test_second_check_set_written_before_the_extractor_matches_its_key() -> None:
    key, members, rows = _checkset()
    author = {r["id"]: r["author"] for r in rows}
    lexicon = build_lexicon(BriefSettings(), key["brand"], (key["brand"],))
    for name, spec in key["incidents"].items():
        brief = build_brief(members[name], lexicon, BriefSettings()).to_dict()
        for fact in spec["facts"]:
            expected = len({author[r] for r in fact["reports"]})
            assert _people(brief, fact["kind"], fact["value"]) == expected, (name, fact)
        for word in spec["title_must_contain"]:
            assert word.lower() in brief["title"].lower(), (name, brief["title"])
        shown = json.dumps([brief["title"], brief["facts"], brief["quotes"]], ensure_ascii=False)
        for secret in spec.get("personal_data", []):
            assert secret not in shown


def test_titles_are_stable_under_member_order_and_written_in_the_teams_language() -> None:
    key, members, _ = _checkset()
    lexicon = build_lexicon(BriefSettings(), key["brand"], (key["brand"],))
    for group in members.values():
        first = build_brief(group, lexicon, BriefSettings()).to_dict()
        for seed in range(5):
            shuffled = list(group)
            random.Random(seed).shuffle(shuffled)
            assert build_brief(shuffled, lexicon, BriefSettings()).to_dict() == first
    indonesian = BriefSettings(language="id")
    titles = {
        name: build_brief(group, build_lexicon(indonesian, key["brand"]), indonesian).title
        for name, group in members.items()
    }
    assert titles["b"] == "E-tiket tidak masuk lewat email"  # reported in both languages: one title, the team's


def test_the_sample_titles_in_english_and_indonesian(cli, sample_db: str, tmp_path: Path) -> None:
    (tmp_path / "id.yaml").write_text(
        (ROOT / "config.yaml").read_text(encoding="utf-8").replace("  language: en", "  language: id"),
        encoding="utf-8",
    )
    titles = {}
    for config in (CONFIG, str(tmp_path / "id.yaml")):
        result = cli("--config", config, "--db", sample_db, "incidents", "export", "--format", "json")
        assert result.code == 0, result.err
        titles[config] = sorted(i["brief"]["title"] for i in json.loads(result.out))
    assert titles[CONFIG] == [
        "KitaMart deliveries late in Jakarta Selatan",
        "OTP codes not arriving at login",
        "QRIS payments failing after update 5.2",
    ]
    fillers = {"hour", "hours", "money", "2x24", "jam", "duit", "uang", "min", "complaints"}
    assert not {w.lower() for t in titles[CONFIG] for w in t.split()} & fillers
    assert titles[str(tmp_path / "id.yaml")] == [
        "Kode OTP tidak masuk saat login",
        "Pembayaran QRIS gagal setelah update 5.2",
        "Pengiriman KitaMart terlambat di Jakarta Selatan",
    ]


def test_no_personal_data_in_titles_quotes_or_facts(exported) -> None:
    _, members, _ = _checkset()
    lexicon = build_lexicon(BriefSettings(), "TiketJalan")
    briefs = [i["brief"] for i in exported] + [
        build_brief(g, lexicon, BriefSettings()).to_dict() for g in members.values()
    ]
    # a report full of personal data, so that every quote has some to hide
    leaky = [
        BriefMention(
            f"x:{i}",
            "x",
            f"user{i}",
            _at(f"2026-03-10T08:{i:02d}:00Z"),
            f"OTP gak masuk, nomor saya 0812-3456-78{i:02d}, email me{i}@example.com, NIK 31740520139900{i:02d},"
            f" order #KM-20260310-881{i:02d}",
        )
        for i in range(6)
    ]
    briefs.append(build_brief(leaky, lexicon, BriefSettings()).to_dict())
    for brief in briefs:
        texts = [brief["title"], *(q["text"] for q in brief["quotes"])]
        texts += [v["value"] for values in brief["facts"].values() for v in values]
        for text in texts:
            assert find_personal_data(text) == [], text
    assert "[phone hidden]" in briefs[-1]["quotes"][0]["text"]


HOSTILE = [
    "<script>alert('x')</script> OTP gak masuk",
    "[klik](javascript:alert(1)) OTP not arriving ![img](http://evil.example/p.png)",
    "# Fake heading\n| a | b |\n|---|---|\nOTP ga dateng",
    "1. fake list <img src=x onerror=alert(1)> OTP gak nyampe **bold** `code` <b>x</b> &lt;",
    "- OTP nggak kekirim \u202eevil\u200b <a href='http://evil.example'>link</a> \x1b]0;pwned\x07\x1b[31mred\x9b2J"
    " \u2066isolated\u2069",
]


def test_hostile_text_is_inert_in_the_markdown_brief() -> None:
    members = [
        BriefMention(
            f"x:h{i}",
            "x",
            f"evil<b>{i}",
            _at(f"2026-03-10T08:{i:02d}:00Z"),
            text,
            "javascript:alert(1)" if i % 2 else f"https://x.com/e/status/{i}",
            "id",
        )
        for i, text in enumerate(HOSTILE)
    ]
    brief = build_brief(members, build_lexicon(BriefSettings()), BriefSettings(quotes=5))
    record = {
        "id": "INC-1",
        "category": "access_login",
        "urgency": "high",
        "status": "active",
        "size": 5,
        "authors": 5,
        "platforms": ["x"],
        "brief": brief.to_dict(),
    }
    html = markdown.markdown(render([record]), extensions=["tables"])
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "img", "b", "em", "h4", "h5", "h6"])
    values = {f["value"] for v in brief.to_dict()["facts"].values() for f in v}
    assert all(t.get_text() in values for t in soup.find_all("strong"))
    assert [c.get_text() for c in soup.find_all("code")] == ["INC-1"]
    assert len(soup.find_all("ol")) == 1  # the first reports, not the "1." a post starts with
    assert [h.get_text() for h in soup.find_all("h2")] == [brief.title]
    assert not soup.find_all("h1")[1:] and not soup.find_all("h4")
    for a in soup.find_all("a"):
        assert a["href"].startswith("https://x.com/e/status/"), a
    assert len(soup.find_all("table")) == 1  # the per-hour table only
    quotes = [li.get_text(" ") for li in soup.find_all("li") if li.get_text().startswith("“")]
    assert len(quotes) == 5 and any("<script>alert('x')</script>" in q for q in quotes)
    assert any("[klik](javascript:alert(1))" in q for q in quotes) and "\\" not in " ".join(quotes)
    assert "\u202e" not in html and "\u200b" not in html
    assert "isolated" in html and not any(ch in html for ch in "\x1b\x07\x9b\u2066\u2069")  # escapes, isolates


def test_markdown_export_of_the_sample_parses_into_one_brief_per_incident(cli, sample_db: str, exported) -> None:
    result = cli("--config", CONFIG, "--db", sample_db, "incidents", "export", "--format", "md")
    assert result.code == 0, result.err
    soup = BeautifulSoup(markdown.markdown(result.out, extensions=["tables"]), "html.parser")
    assert soup.find("h1").get_text() == "PayKita incident briefs"
    assert [h.get_text() for h in soup.find_all("h2")] == [i["brief"]["title"] for i in exported]
    sections = [h.get_text() for h in soup.find_all("h3")]
    assert sections == ["What people report", "Timeline", "What they say", "First reports"] * len(exported)
    qris = next(i["brief"] for i in exported if "QRIS" in i["brief"]["title"])
    items = [li.get_text() for li in soup.find_all("li")]
    assert f"App version: 5.2: {_people(qris, 'version', '5.2')} people" in items
    for secret in ("0812-3456-7890", "TRX9384756102", "3174052013990001", "KM-20260310-88123"):
        assert secret not in result.out


def test_show_prints_the_brief(cli, sample_db: str, exported) -> None:
    qris = next(i for i in exported if "QRIS" in i["brief"]["title"])
    result = cli("--config", CONFIG, "--db", sample_db, "incidents", "show", qris["id"])
    assert result.code == 0, result.err
    first_line, *rest = result.out.splitlines()
    assert first_line == f"{qris['id']}  {qris['brief']['title']}"
    body = "\n".join(rest)
    assert "grouped as" in body and qris["title"] in body
    assert "App version: 5.2 (" in body and "became an incident" in body and "Timeline:" in body


def test_exports_keep_their_fields_and_add_the_brief_under_one_key(cli, sample_db: str, exported) -> None:
    old = {
        "id",
        "title",
        "category",
        "first_seen",
        "last_seen",
        "size",
        "authors",
        "platforms",
        "urgency",
        "status",
        "mention_ids",
        "mentions",
        "summary",
        "key_terms",
    }
    for incident in exported:
        assert old <= incident.keys()
        assert {"title", "facts", "timeline", "quotes", "first_reports"} <= incident["brief"].keys()
        assert 3 <= len(incident["brief"]["quotes"]) <= 5
    jsonl = cli("--config", CONFIG, "--db", sample_db, "incidents", "export", "--format", "jsonl")
    assert [json.loads(line)["brief"] for line in jsonl.out.splitlines()] == [i["brief"] for i in exported]
    csv_out = cli("--config", CONFIG, "--db", sample_db, "incidents", "export", "--format", "csv")
    assert csv_out.code == 0 and "brief" not in csv_out.out.splitlines()[0]


def test_a_big_incident_is_read_through_a_deterministic_sample() -> None:
    texts = [
        "QRIS gagal di Tebet, saldo kepotong 38rb, versi 5.2",
        "QRIS payment failed on 5.2 in Kemang, Rp 50.000",
        "qris error terus 5.2 android 14",
    ]
    members = [
        BriefMention(
            f"x:{i}", "x", f"u{i % 700}", _at(f"2026-03-10T{8 + i // 600:02d}:{i // 10 % 60:02d}:00Z"), texts[i % 3]
        )
        for i in range(3000)
    ]
    settings = BriefSettings(max_members=500)
    lexicon = build_lexicon(settings)
    brief = build_brief(members, lexicon, settings)
    assert brief.read == 500 and brief.reports == 3000 and brief.people == 700
    assert sum(n for _, n in brief.timeline.per_hour) == 3000  # the timeline counts every report
    again = list(reversed(members))
    assert build_brief(again, lexicon, settings).to_dict() == brief.to_dict()
    assert brief.title == "QRIS payments failing on version 5.2 in Jakarta Selatan"  # Tebet and Kemang: 2 in 3


def test_briefs_config_is_checked(cli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("briefs:\n  language: fr\n", encoding="utf-8")
    result = cli("--config", str(tmp_path / "bad.yaml"), "incidents", "export")
    assert result.code != 0 and "briefs.language" in result.err
    (tmp_path / "bad2.yaml").write_text("briefs:\n  gazeteer: {}\n", encoding="utf-8")
    result = cli("--config", str(tmp_path / "bad2.yaml"), "incidents", "export")
    assert result.code != 0 and "briefs.gazeteer: unknown key" in result.err


def test_config_adds_merchants_and_places() -> None:
    settings = BriefSettings(merchants=["Warung Bu Sri"], places={"Citayam": "Depok"})
    members = [
        BriefMention(
            f"x:{i}", "x", f"u{i}", _at(f"2026-03-10T08:0{i}:00Z"), f"bayar QRIS di Warung Bu Sri Citayam gagal {i}x"
        )
        for i in range(4)
    ]
    brief = build_brief(members, build_lexicon(settings), settings).to_dict()
    assert _people(brief, "merchant", "Warung Bu Sri") == 4
    assert _people(brief, "place", "Citayam") == 4 and _people(brief, "place", "Depok") == 4


def test_the_digest_leads_with_the_brief(cli, sample_db: str, exported) -> None:
    text = cli("--config", CONFIG, "--db", sample_db, "digest", "--format", "text")
    md = cli("--config", CONFIG, "--db", sample_db, "digest", "--format", "md")
    html = cli("--config", CONFIG, "--db", sample_db, "digest", "--format", "html")
    assert text.code == md.code == html.code == 0
    for incident in exported:
        brief = incident["brief"]
        assert f"] {brief['title']} — {incident['category']}" in text.out
        assert brief["title"] in md.out and brief["title"] in html.out
    assert "App version: 5.2 (" in text.out and "an incident from 2026-03-09 11:" in text.out
    incidents_part = text.out.split("RECURRING ISSUES")[0]
    assert "TRX9384756102" not in incidents_part  # the quotes are masked (the complaint list shows posts as written)


def test_an_alert_briefs_the_incidents_example_reports() -> None:
    from monitor.incidents.alerts import compose

    examples = [
        {"platform": "x", "id": str(i), "created_at": f"2026-03-09T11:{i:02d}:00Z", "text": text}
        for i, text in enumerate(
            [
                "QRIS paykita gagal abis update 5.2, saldo kepotong 38rb. TRX9384756102 tolong dicek",
                "PayKita 5.2 QRIS payment failed but balance deducted Rp 62k",
                "qris error terus di versi 5.2, android 14",
            ]
        )
    ]
    incident = {
        "id": "INC-1",
        "title": "QRIS / 5.2 failing — payment_billing",
        "category": "payment_billing",
        "urgency": "high",
        "status": "emerging",
        "author_count": 3,
        "size": 3,
        "first_seen": "2026-03-09T11:00:00Z",
        "last_seen": "2026-03-09T11:02:00Z",
        "key_terms": ["QRIS"],
        "summary": {"examples": examples},
    }
    alert = compose(incident, 3, born=True)
    assert alert.title == "[HIGH] New incident: QRIS payments failing after update 5.2 — payment_billing"
    # no brand names at hand: "PayKita 5.2" is not read as a version there, "update 5.2" and "versi 5.2" are
    assert "App version: 5.2 (2 reports)" in alert.body and "Payment method: QRIS (3 reports)" in alert.body
    assert "TRX9384756102" not in alert.body
    assert "[reference hidden]" in alert.body


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("sejak pukul 16.35 WIB OTP gak masuk, udah 1,5 jam, 2x24 jam katanya", set(), {"version"}),
        (
            "saldo kepotong Rp 1.200.000 di iOS 17.4",
            {("amount", "Rp 1.200.000"), ("os_device", "iOS 17.4")},
            {"version"},
        ),
        ("waited 1.5 hours on version 2.10.3 of the app", {("version", "2.10.3")}, {"amount"}),
        ("going on a solo trip, the dana is gone", set(), {"place", "payment_method"}),
        ("Pulang ke Solo pakai DANA, refund 12 juta", {("place", "Solo"), ("payment_method", "DANA")}, set()),
        (
            "Rp 12 juta, $1,500 dan 250rb",
            {("amount", "Rp 12.000.000"), ("amount", "USD 1,500"), ("amount", "Rp 250.000")},
            set(),
        ),
        (
            "pake v5.2.1 di Redmi Note 12, Telkomsel",
            {("version", "5.2.1"), ("os_device", "Redmi Note 12"), ("carrier", "Telkomsel")},
            set(),
        ),
    ],
)
def test_extraction_rules(text: str, present: set[tuple[str, str]], absent: set[str]) -> None:
    from monitor.incidents.brief.extract import extract

    facts = extract(text, build_lexicon(BriefSettings(), "PayKita", ("PayKita",)))
    assert present <= facts, facts
    assert not {kind for kind, _ in facts} & absent, facts


def test_the_timeline_names_the_report_that_made_it_an_incident() -> None:
    members = [
        BriefMention(f"x:{i}", "x", f"u{i}", _at(f"2026-03-10T08:{10 * i:02d}:00Z"), "OTP gak masuk", None, "id")
        for i in range(5)
    ]
    lexicon = build_lexicon(BriefSettings())
    by_count = build_brief(members, lexicon, BriefSettings(), min_authors=3).timeline
    assert by_count.became_incident.ref == "x:2" and by_count.first_report.ref == "x:0"
    raised = build_brief(members, lexicon, BriefSettings(), raised_at=_at("2026-03-10T08:35:00Z")).timeline
    assert raised.became_incident.ref == "x:3"  # the grouping raised it later (its usual level was higher)
    assert by_count.peak_reports == 5 and [n for _, n in by_count.per_hour] == [5]


def test_a_burst_keeps_saying_it_is_one() -> None:
    members = [
        BriefMention(f"x:{i}", "x", f"u{i}", _at(f"2026-03-10T08:{i:02d}:00Z"), t)
        for i, t in enumerate(["top up gagal terus", "topup failed again", "top up error, saldo gak masuk"])
    ]
    brief = build_brief(members, build_lexicon(BriefSettings()), BriefSettings()).to_dict()
    record = {
        "id": "B-1",
        "kind": "burst",
        "title": "Burst: 9 payment_billing complaints in one hour (usually 1)",
        "size": 3,
        "authors": 3,
        "platforms": ["x"],
        "brief": brief,
    }
    heading = render([record]).splitlines()[2]
    assert heading == f"## Burst: 9 payment\\_billing complaints in one hour \\(usually 1\\) — {brief['title']}"
    assert brief["title"] == "Top-ups failing"


def test_a_5000_member_brief_stays_cheap() -> None:
    """A guard against accidental quadratic work, not the speed figure (bench/bench_briefs.py measures that)."""
    import time

    texts = [
        "QRIS gagal di Tebet abis update 5.{i}, saldo kepotong {i}8rb 'transaksi gagal'",
        "PayKita QRIS payment failed in Kemang on 5.{i}, Rp {i}5,000 gone, iPhone 1{i}",
        "qris error terus, android 1{i}, telkomsel, nomor 0812-3456-{i}{i}{i}{i}",
    ]
    members = [
        BriefMention(f"x:{n}", "x", f"u{n}", _at("2026-03-10T08:00:00Z"), texts[n % 3].format(i=n % 10))
        for n in range(5000)
    ]
    settings = BriefSettings(max_members=5000)
    lexicon = build_lexicon(settings)
    start = time.process_time()
    brief = build_brief(members, lexicon, settings)
    assert brief is not None and brief.read == 5000
    assert time.process_time() - start < 2.0
