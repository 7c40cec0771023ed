"""What a person does to stored mentions and incidents: the actions the CLI and the review inbox share.

Every change names who made it (a review-inbox user; None for the CLI) and is kept in the status
history. Changes that two people could make at once take the version the person saw: when the
stored one moved on since, `Conflict` carries both versions and nothing is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from monitor.errors import UserError
from monitor.models import Classification, Mention, Status, Urgency
from monitor.storage.repository import classification_of, mention_from_row, mention_ref
from monitor.storage.schema import (
    IncidentMemberRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    ReplyDraftRow,
    StatusChangeRow,
    now_utc,
)

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.pipeline import Pipeline

INCIDENT_STATUSES = ("emerging", "active", "resolved")
MAX_DRAFT_CHARS = 5000
MAX_NOTE_CHARS = 1000


class Conflict(Exception):  # noqa: N818 - a state, not a failure of the program
    """Someone else changed it first: `theirs` is what is stored now, `yours` what this save wanted."""

    def __init__(self, what: str, theirs: str, yours: str, by: str | None = None) -> None:
        super().__init__(f"{what} was changed by {by or 'someone else'} since you opened it")
        self.what = what
        self.theirs = theirs
        self.yours = yours
        self.by = by


def status_version(session: Session, mention_pk: int) -> int:
    """The id of a mention's newest status change (0 if none): what a person saw when they chose a status."""
    return session.scalar(select(func.max(StatusChangeRow.id)).where(StatusChangeRow.mention_pk == mention_pk)) or 0


def change_status(
    session: Session,
    row: MentionRow,
    status: Status,
    *,
    user: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> bool:
    """Move a mention's follow-up status and record it; False when it had that status already.

    `expected_version` (from `status_version`): raise `Conflict` if the status changed since."""
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise UserError(f"the note is too long ({len(note)} characters, at most {MAX_NOTE_CHARS})")
    if expected_version is not None:
        current = status_version(session, row.pk)
        if current != expected_version:
            last = session.get(StatusChangeRow, current) if current else None
            raise Conflict("the status", row.status or "(not flagged)", status.value, last.user_name if last else None)
    if row.status == status.value:
        return False
    old = row.status
    at = now_utc()
    # compare-and-set: another process may have moved it between the read above and this write
    table = MentionRow.__table__
    condition = table.c.status.is_(None) if old is None else table.c.status == old
    result = session.execute(
        update(table).where(table.c.pk == row.pk, condition).values(status=status.value, status_changed_at=at)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(row)
        raise Conflict("the status", row.status or "(not flagged)", status.value)
    session.add(
        StatusChangeRow(
            mention_pk=row.pk, old_status=old, new_status=status.value, changed_at=at, note=note, user_name=user
        )
    )
    session.flush()
    session.refresh(row)
    return True


@dataclass(frozen=True)
class LabelChange:
    is_complaint: bool | None = None
    urgency: str | None = None
    category: str | None = None
    note: str | None = None


def check_label(change: LabelChange, settings: Settings) -> None:
    """The mistakes `label` refuses, as one clear line."""
    if change.is_complaint is None and change.urgency is None and change.category is None:
        raise UserError("say what the mention is: --complaint or --not-complaint, and/or --urgency/--category")
    if change.urgency is not None and change.urgency not in {u.value for u in Urgency}:
        raise UserError(f"unknown urgency {change.urgency!r}; known: {', '.join(u.value for u in Urgency)}")
    if change.is_complaint is False and change.urgency not in (None, Urgency.NONE.value):
        raise UserError("a mention that is not a complaint has no urgency")
    if change.is_complaint is True and change.urgency == Urgency.NONE.value:
        raise UserError("a complaint needs an urgency other than none")
    known = set(settings.classifier.categories) | {"other"}
    if change.category is not None and change.category not in known:
        raise UserError(f"unknown category {change.category!r}; known: {', '.join(sorted(known))}")
    if change.note is not None and len(change.note) > MAX_NOTE_CHARS:
        raise UserError(f"the note is too long ({len(change.note)} characters, at most {MAX_NOTE_CHARS})")


def apply_label(
    session: Session,
    pipeline: Pipeline,
    settings: Settings,
    row: MentionRow,
    change: LabelChange,
    user: str | None = None,
) -> LabelRow:
    """Store a person's correction (it wins over the model and feeds `train`), then bring the verdict,
    the follow-up status and the draft in line. A status it changes is recorded with `user`."""
    check_label(change, settings)
    label = session.get(LabelRow, row.pk)
    if label is None:
        label = LabelRow(mention_pk=row.pk)
        session.add(label)
    if change.is_complaint is not None:
        label.is_complaint = change.is_complaint
        if not change.is_complaint:
            label.urgency = Urgency.NONE.value
        elif label.urgency == Urgency.NONE.value:
            label.urgency = None
    if change.urgency is not None:
        label.urgency = change.urgency
    if change.category is not None:
        label.category = change.category
    if change.note is not None:
        label.note = change.note
    label.labeled_at = now_utc()
    label.labeled_by = user
    session.flush()
    before = status_version(session, row.pk)
    draft = session.get(ReplyDraftRow, row.pk)
    edited = (draft.text, draft.edited_by, draft.edited_at) if draft is not None and draft.edited_by else None
    pipeline.apply_label(session, row)
    if edited is not None:
        _keep_edited_draft(session, settings, row, *edited)
    if user is not None:
        # the pipeline recorded any status it changed; say who caused it
        session.execute(
            update(StatusChangeRow)
            .where(StatusChangeRow.mention_pk == row.pk, StatusChangeRow.id > before)
            .values(user_name=user)
        )
    return label


def _keep_edited_draft(
    session: Session, settings: Settings, row: MentionRow, text: str, by: str | None, at: object
) -> None:
    """A label re-drafts the reply; a draft a person wrote is kept (their words win, like a label over the
    model) and only checked again against the corrected verdict."""
    from monitor.incidents.visibility import open_incident_of

    draft = session.get(ReplyDraftRow, row.pk)
    if draft is None or row.classification is None or draft.text == text:
        return
    incident = open_incident_of(session, row.pk) is not None
    _, _, problems = lint_text(
        text, mention_from_row(row), classification_of(row.classification), settings, draft.lang, incident
    )
    draft.text, draft.ok, draft.problems = text, not problems, problems
    draft.edited_by, draft.edited_at = by, at  # type: ignore[assignment]
    session.flush()


def label_summary(label: LabelRow) -> str:
    return ", ".join(
        part
        for part in (
            None if label.is_complaint is None else ("complaint" if label.is_complaint else "not a complaint"),
            f"urgency {label.urgency}" if label.urgency else None,
            f"category {label.category}" if label.category else None,
        )
        if part
    )


def draft_version(text: str | None) -> str:
    """A short fingerprint of a draft's text: what a person saw when they started editing it."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:16]


def lint_text(
    text: str, mention: Mention, classification: Classification, settings: Settings, lang: str, incident: bool
) -> tuple[int, int, list[str]]:
    """`replies lint`'s checks on one text a person wrote: (length as the platform counts it, limit, problems)."""
    from monitor.replies.drafter import author_handle
    from monitor.replies.lint import lint_draft, reply_length

    handle = author_handle(mention, settings.replies)
    problems = lint_draft(
        text, mention, classification, settings.replies, incident=incident, lang=lang,
        addressee=handle if handle and text.startswith(handle) else "",
    )  # fmt: skip
    return reply_length(text, mention.platform), settings.replies.limit_for(mention.platform), problems


def edit_draft(
    session: Session, settings: Settings, row: MentionRow, text: str, *, user: str | None, expected_version: str
) -> ReplyDraftRow:
    """Replace a complaint's reply draft with a person's text, checked like every draft (a text that
    breaks a rule is kept and shown as needs review). Raises `Conflict` if the draft changed since."""
    from monitor.incidents.visibility import open_incident_of

    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise UserError("the reply is empty")
    if len(text) > MAX_DRAFT_CHARS:
        raise UserError(f"the reply is too long to keep ({len(text)} characters, at most {MAX_DRAFT_CHARS})")
    draft = session.get(ReplyDraftRow, row.pk)
    cls = row.classification
    if draft is None or cls is None:
        raise UserError(f"{mention_ref(row)} has no reply draft (is it flagged as a complaint?)")
    if draft_version(draft.text) != expected_version:
        raise Conflict("the reply draft", draft.text, text, draft.edited_by)
    incident = open_incident_of(session, row.pk) is not None
    _, _, problems = lint_text(text, mention_from_row(row), classification_of(cls), settings, draft.lang, incident)
    table = ReplyDraftRow.__table__
    result = session.execute(
        update(table)
        .where(table.c.mention_pk == row.pk, table.c.text == draft.text)
        .values(text=text, ok=not problems, problems=problems, edited_by=user, edited_at=now_utc())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(draft)
        raise Conflict("the reply draft", draft.text, text, draft.edited_by)
    session.refresh(draft)
    return draft


# Incidents -----------------------------------------------------------------------------------------


def find_incident(session: Session, incident_id: str) -> IncidentRow:
    row = session.get(IncidentRow, incident_id.strip())
    if row is None or row.status == "candidate":
        raise UserError(f"no incident with id {incident_id!r}")
    return row


def set_incident_status(session: Session, row: IncidentRow, status: str, user: str | None = None) -> None:
    """A person says the incident is emerging, active or resolved (kept in its summary's history)."""
    if status not in INCIDENT_STATUSES:
        raise UserError(f"unknown incident status {status!r} (use {', '.join(INCIDENT_STATUSES)})")
    if row.merged_into:
        raise UserError(f"{row.id} was merged into {row.merged_into}; change that one")
    _note(row, f"status {row.status} → {status}", user)
    row.status = status
    row.updated_at = now_utc()
    session.flush()


def _note(row: IncidentRow, what: str, user: str | None) -> None:
    summary = dict(row.summary or {})
    history = list(summary.get("changes", []))
    history.append({"at": now_utc().isoformat(), "by": user or "cli", "what": what})
    summary["changes"] = history[-50:]
    row.summary = summary


def _refresh_counts(session: Session, row: IncidentRow) -> None:
    members = session.execute(
        select(MentionRow.created_at, MentionRow.platform, MentionRow.author)
        .join(IncidentMemberRow, IncidentMemberRow.mention_pk == MentionRow.pk)
        .where(IncidentMemberRow.incident_id == row.id)
    ).all()
    row.size = len(members)
    row.author_count = len({(p, a.lower()) for _, p, a in members})
    if members:
        row.first_seen = min(m[0] for m in members)
        row.last_seen = max(m[0] for m in members)
    row.updated_at = now_utc()


def merge_incidents(session: Session, survivor: IncidentRow, other: IncidentRow, user: str | None = None) -> int:
    """Fold `other` into `survivor`: its members move over and its id points to the survivor. Returns
    how many members moved."""
    if survivor.id == other.id:
        raise UserError("cannot merge an incident into itself")
    for row in (survivor, other):
        if row.merged_into:
            raise UserError(f"{row.id} was already merged into {row.merged_into}")
    have = set(
        session.scalars(select(IncidentMemberRow.mention_pk).where(IncidentMemberRow.incident_id == survivor.id))
    )
    moving = session.scalars(select(IncidentMemberRow).where(IncidentMemberRow.incident_id == other.id)).all()
    moved = 0
    for member in moving:
        if member.mention_pk not in have:
            session.add(
                IncidentMemberRow(
                    incident_id=survivor.id, mention_pk=member.mention_pk, similarity=member.similarity,
                    joined_at=member.joined_at, epoch=member.epoch,
                )
            )  # fmt: skip
            moved += 1
    session.flush()
    session.execute(delete(IncidentMemberRow).where(IncidentMemberRow.incident_id == other.id))
    other.merged_into = survivor.id
    other.status = "merged"
    _note(other, f"merged into {survivor.id}", user)
    _note(survivor, f"merged {other.id} in ({moved} reports)", user)
    if Urgency(other.urgency).rank > Urgency(survivor.urgency).rank:
        survivor.urgency = other.urgency
    _refresh_counts(session, survivor)
    other.size = 0
    session.flush()
    return moved


def drop_member(session: Session, row: IncidentRow, mention: MentionRow, user: str | None = None) -> None:
    """Take a mention that does not belong out of an incident."""
    found = session.get(IncidentMemberRow, (row.id, mention.pk))
    if found is None:
        raise UserError(f"{mention_ref(mention)} is not a member of {row.id}")
    session.delete(found)
    session.flush()
    _note(row, f"dropped {mention_ref(mention)}", user)
    _refresh_counts(session, row)
    session.flush()
