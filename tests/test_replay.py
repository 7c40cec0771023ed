"""Importing history out of order: the incidents come out as from one in-order import, and the replay
re-drafts only the replies whose inputs changed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from monitor.storage import open_database
from monitor.storage.schema import IncidentMemberRow, IncidentRow, MentionRow, ReplyDraftRow
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"


def _halves(tmp_path: Path) -> tuple[Path, Path]:
    """The sample stream cut in the middle of its OTP outage (2026-03-10 07:43 to 09:22)."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    records.sort(key=lambda r: r["created_at"])
    middle = sum(1 for r in records if r["created_at"] < "2026-03-10T08:30:00Z")
    paths = []
    for name, part in (("first.jsonl", records[:middle]), ("second.jsonl", records[middle:])):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def _drafts(url: str) -> dict[tuple[str, str], tuple[str, object, str]]:
    database = open_database(url)
    with database.session() as session:
        rows = session.execute(
            select(
                MentionRow.platform,
                MentionRow.external_id,
                ReplyDraftRow.inputs,
                ReplyDraftRow.drafted_at,
                ReplyDraftRow.text,
            ).join(ReplyDraftRow, ReplyDraftRow.mention_pk == MentionRow.pk)
        ).all()
    database.dispose()
    return {(p, i): (inputs, at, text) for p, i, inputs, at, text in rows}


def _incidents(url: str) -> list[tuple]:
    database = open_database(url)
    with database.session() as session:
        out = []
        for row in session.scalars(select(IncidentRow).where(IncidentRow.merged_into.is_(None))):
            members = session.execute(
                select(MentionRow.platform, MentionRow.external_id)
                .join(IncidentMemberRow, IncidentMemberRow.mention_pk == MentionRow.pk)
                .where(IncidentMemberRow.incident_id == row.id)
            ).all()
            out.append((row.id, row.status, row.size, row.author_count, tuple(sorted(members))))
    database.dispose()
    return sorted(out)


def test_importing_the_later_half_first_gives_the_same_incidents_and_redrafts_only_what_changed(cli, tmp_path):
    first, second = _halves(tmp_path)
    config = ("--config", str(ROOT / "config.yaml"))
    in_order = f"sqlite:///{tmp_path / 'in_order.db'}"
    assert cli(*config, "--db", in_order, "import", str(first)).code == 0
    assert cli(*config, "--db", in_order, "import", str(second)).code == 0

    late = f"sqlite:///{tmp_path / 'late.db'}"
    assert cli(*config, "--db", late, "import", str(second)).code == 0
    before = _drafts(late)
    assert cli(*config, "--db", late, "import", str(first)).code == 0  # history arrives late: a replay
    after = _drafts(late)

    assert _incidents(late) == _incidents(in_order)
    assert {key: value[:1] + value[2:] for key, value in after.items()} == {
        key: value[:1] + value[2:] for key, value in _drafts(in_order).items()
    }  # same drafts (text and inputs) as the in-order import
    kept = [key for key, (inputs, at, _) in before.items() if after[key][0] == inputs]
    assert kept and all(after[key][1] == before[key][1] for key in kept)  # unchanged inputs: not drafted again
    changed = [key for key, (inputs, _, _) in before.items() if after[key][0] != inputs]
    assert changed and all(after[key][1] != before[key][1] for key in changed)  # the outage's later reports


def test_a_draft_a_person_edited_is_never_replaced_when_its_mention_joins_an_incident(cli, tmp_path: Path) -> None:
    """The first QRIS report is stored alone; a person rewrites its draft; then the outage arrives, the report
    joins the incident (which re-drafts its members), and the person's text stays."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    records.sort(key=lambda r: r["created_at"])
    early = [r for r in records if r["created_at"] < "2026-03-09T11:10:00Z"]
    late = records[len(early) :]
    paths = []
    for name, part in (("early.jsonl", early), ("late.jsonl", late)):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
        paths.append(path)
    url = f"sqlite:///{tmp_path / 'edited.db'}"
    first = ("x", "2030962927337467969")  # "baru update paykita ke 5.2, bayar QRIS … gagal"
    assert cli("--db", url, "import", str(paths[0])).code == 0
    database = open_database(url)
    with database.writing() as session:
        pk = session.scalar(
            select(MentionRow.pk).where(MentionRow.platform == first[0], MentionRow.external_id == first[1])
        )
        draft = session.get(ReplyDraftRow, pk)
        draft.text, draft.edited_by = "Hi, we're on it: DM us please. (written by Ana)", "ana"
    database.dispose()
    assert cli("--db", url, "import", str(paths[1])).code == 0
    members = {m for incident in _incidents(url) for m in incident[4]}
    assert first in members  # it did join the incident...
    assert _drafts(url)[first][2] == "Hi, we're on it: DM us please. (written by Ana)"  # ...and kept Ana's words
