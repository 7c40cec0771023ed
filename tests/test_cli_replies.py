"""`complaint-monitor replies lint` and `replies draft ID`, as a user runs them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.storage import open_database
from monitor.storage.schema import (
    ClassificationRow,
    IncidentMemberRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    ReplyDraftRow,
)

WHEN = datetime(2026, 3, 10, 8, 5, tzinfo=UTC)


def _store(db_url: str) -> None:
    """Three complaints: one plain, one in an active incident, one with a person's correction."""
    database = open_database(db_url)
    with database.session() as session:
        rows = [
            MentionRow(platform="x", external_id="100", author="budi_88", created_at=WHEN,
                       text="saldo kepotong 2x, TRX-2026-88812, hubungi 0812-3456-7890"),
            MentionRow(platform="x", external_id="200", author="sari", created_at=WHEN, text="app error terus"),
            MentionRow(platform="reddit", external_id="300", author="someone", created_at=WHEN,
                       text="My parcel never arrived"),
            MentionRow(platform="bluesky", external_id="300", author="other.bsky.social", created_at=WHEN,
                       text="Parcel lost"),
        ]  # fmt: skip
        session.add_all(rows)
        session.flush()
        verdicts = [("id", "payment_billing"), ("id", "app_bug_outage"), ("en", "other"), ("en", "delivery")]
        for row, (lang, category) in zip(rows, verdicts, strict=True):
            session.add(
                ClassificationRow(
                    mention_pk=row.pk, lang=lang, is_complaint=True, complaint_score=0.9, base_urgency="high",
                    urgency="high", category=category, reasons=[], model_version="test",
                )
            )  # fmt: skip
        session.add(LabelRow(mention_pk=rows[2].pk, category="delivery", urgency="critical"))
        session.add(
            IncidentRow(
                id="inc-1", title="app error", category="app_bug_outage", status="active", first_seen=WHEN,
                last_seen=WHEN, size=9, author_count=9, urgency="high",
            )
        )  # fmt: skip
        session.add(IncidentMemberRow(incident_id="inc-1", mention_pk=rows[1].pk, similarity=0.8))
    database.dispose()


def _draft_row(db_url: str, platform: str, external_id: str) -> ReplyDraftRow | None:
    database = open_database(db_url)
    try:
        with database.session() as session:
            mention = session.query(MentionRow).filter_by(platform=platform, external_id=external_id).one()
            return session.get(ReplyDraftRow, mention.pk)
    finally:
        database.dispose()


def test_draft_redrafts_stores_and_prints_without_personal_data(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _store(db)
    result = cli("--db", db, "replies", "draft", "x:100")
    assert result.code == 0, result.err
    first_line = result.out.splitlines()[0]
    assert first_line.startswith("@budi_88 ") and "Anda" in first_line
    assert "0812" not in result.out and "88812" not in result.out
    assert "continue by DM" in result.out and "ready" in result.out
    stored = _draft_row(db, "x", "100")
    assert stored is not None and stored.text == first_line and stored.needs_dm and stored.ok and stored.lang == "id"

    again = cli("--db", db, "replies", "draft", "100")  # a bare id, unique
    assert again.code == 0 and again.out == result.out  # same mention, same draft, stored once (upsert)


def test_draft_uses_the_incident_and_a_persons_correction(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _store(db)
    incident = cli("--db", db, "replies", "draft", "x:200")
    assert incident.code == 0, incident.err
    assert "sedang" in incident.out and "incident inc-1" in incident.out

    corrected = cli("--db", db, "replies", "draft", "reddit:300")
    assert corrected.code == 0, corrected.err
    assert "category delivery" in corrected.out and "priority" in corrected.out
    assert not corrected.out.startswith("@")  # reddit replies are threaded


def test_draft_errors_are_one_clear_line(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _store(db)
    unknown = cli("--db", db, "replies", "draft", "x:999")
    assert unknown.code == 2 and "no stored mention" in unknown.err and len(unknown.err.strip().splitlines()) == 1
    ambiguous = cli("--db", db, "replies", "draft", "300")
    assert ambiguous.code == 2 and "reddit:300" in ambiguous.err and "bluesky:300" in ambiguous.err


def test_lint_passes_on_the_bundled_templates(cli) -> None:
    result = cli("replies", "lint", "--lang", "id", "--category", "payment_billing")
    assert result.code == 0, result.err
    assert "over 100 combinations" in result.out and "all drafts pass" in result.out


def test_lint_fails_on_a_template_that_breaks_a_rule(cli, tmp_path: Path) -> None:
    folder = tmp_path / "my-templates" / "en"
    folder.mkdir(parents=True)
    (folder / "check_back.j2").write_text(
        "{% block v1 %}Obviously it works now.{% endblock %}{% block short %}Fixed.{% endblock %}", encoding="utf-8"
    )
    (tmp_path / "config.yaml").write_text("replies:\n  templates_dir: my-templates\n", encoding="utf-8")
    result = cli("replies", "lint", "--lang", "en", "--category", "delivery", "--show", "1")
    assert result.code == 1
    assert "banned phrase: obviously" in result.out and "check-back" in result.out
    assert "drafts break a rule" in result.err


def test_lint_reports_a_broken_template_at_load_time(cli, tmp_path: Path) -> None:
    folder = tmp_path / "my-templates" / "id"
    folder.mkdir(parents=True)
    (folder / "acknowledge.j2").write_text(
        "{% block v1 %}Mohon maaf, {{ nama_pelanggan }}.{% endblock %}{% block short %}Maaf.{% endblock %}",
        encoding="utf-8",
    )
    (tmp_path / "config.yaml").write_text("replies:\n  templates_dir: my-templates\n", encoding="utf-8")
    result = cli("replies", "lint")
    assert result.code == 2
    assert "acknowledge.j2" in result.err and "nama_pelanggan" in result.err


def test_draft_refuses_a_mention_a_person_marked_as_not_a_complaint(cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    _store(db)
    database = open_database(db)
    with database.session() as session:
        row = session.query(MentionRow).filter_by(platform="x", external_id="200").one()
        session.add(LabelRow(mention_pk=row.pk, is_complaint=False))
    database.dispose()
    result = cli("--db", db, "replies", "draft", "x:200")
    assert result.code == 2 and "not flagged as a complaint" in result.err


def test_lint_rejects_an_unknown_language(cli) -> None:
    result = cli("replies", "lint", "--lang", "fr")
    assert result.code == 2 and "unknown language fr" in result.err
