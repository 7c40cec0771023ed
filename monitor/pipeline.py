"""The pipeline: mentions in → stored, classified, grouped into incidents, drafted replies.

    connector/import → normalise → store (idempotent) → language + classify
        → incident assignment → reply draft → stored

Only mentions new to the store go through the later stages, so polling or
importing the same data twice changes nothing. One bad mention never stops
the others: a stage that fails on a batch is retried one mention at a time
and only the mention that fails is reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.incidents.visibility import open_incident_of
from monitor.models import Classification, IncidentContext, Mention, ReplyDraft, Status, Urgency
from monitor.stages import IncidentAssigner, IncidentOutcome, MentionClassifier, ReplyDrafter, StoredComplaint
from monitor.storage import Database
from monitor.storage.repository import insert_new_mentions, mention_from_row, set_status
from monitor.storage.schema import ClassificationRow, LabelRow, MentionRow, ReplyDraftRow, now_utc

log = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class IngestReport:
    """What one call to the pipeline did."""

    received: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    complaints: int = 0
    incidents_changed: set[str] = field(default_factory=set)

    def merge(self, other: IngestReport) -> None:
        self.received += other.received
        self.new += other.new
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.complaints += other.complaints
        self.incidents_changed |= other.incidents_changed

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.duplicates} duplicates, {len(self.rejected)} rejected; "
            f"{self.complaints} complaints flagged, {len(self.incidents_changed)} incidents updated"
        )


def _apply_label(classification: Classification, label: LabelRow | None) -> Classification:
    """A person's label wins over the model."""
    if label is None:
        return classification
    is_complaint = classification.is_complaint if label.is_complaint is None else label.is_complaint
    urgency = Urgency(label.urgency) if label.urgency else classification.urgency
    if not is_complaint:
        urgency = Urgency.NONE
    elif urgency is Urgency.NONE:
        urgency = Urgency.LOW
    return Classification(
        lang=classification.lang,
        is_complaint=is_complaint,
        complaint_score=classification.complaint_score if label.is_complaint is None else float(is_complaint),
        urgency=urgency,
        category=label.category or classification.category,
        reasons=classification.reasons + ("human label",),
        model_version=classification.model_version,
    )


def _classification_of(row: ClassificationRow) -> Classification:
    return Classification(
        lang=row.lang,
        is_complaint=row.is_complaint,
        complaint_score=row.complaint_score,
        urgency=Urgency(row.urgency),
        category=row.category,
        reasons=tuple(row.reasons or ()),
        model_version=row.model_version,
    )


class Pipeline:
    """Runs mentions through every stage and stores the results. Safe to share between threads."""

    def __init__(
        self,
        database: Database,
        classifier: MentionClassifier,
        incidents: IncidentAssigner,
        replies: ReplyDrafter,
    ) -> None:
        self.database = database
        self.classifier = classifier
        self.incidents = incidents
        self.replies = replies
        # One batch at a time: incident assignment reads and rewrites the open window.
        self._lock = threading.Lock()

    def process(self, mentions: Iterable[Mention], source: str) -> IngestReport:
        report = IngestReport()
        batch: list[Mention] = []
        for mention in mentions:
            batch.append(mention)
            if len(batch) >= BATCH_SIZE:
                report.merge(self._process_batch(batch, source))
                batch = []
        if batch:
            report.merge(self._process_batch(batch, source))
        return report

    def _process_batch(self, mentions: Sequence[Mention], source: str) -> IngestReport:
        report = IngestReport(received=len(mentions))
        outcome: IncidentOutcome | None = None
        with self._lock, self.database.session() as session:
            inserted = insert_new_mentions(session, mentions, source)
            report.new = len(inserted)
            report.duplicates = len(mentions) - report.new
            if not inserted:
                return report
            rows = session.scalars(select(MentionRow).where(MentionRow.pk.in_(list(inserted.values())))).all()
            rows = sorted(rows, key=lambda r: (r.created_at, r.platform, r.external_id))
            classified = self._classify(session, rows, report)
            complaints = [StoredComplaint(row.pk, mention_from_row(row), c) for row, c in classified if c.is_complaint]
            report.complaints = len(complaints)
            outcome = self.incidents.assign(session, complaints) if complaints else None
            memberships: dict[int, IncidentContext] = {}
            if outcome is not None:
                report.incidents_changed = set(outcome.changed_incidents)
                memberships = dict(outcome.memberships)
                self._raise_urgency(session, outcome.urgency_floor)
            to_draft = {c.mention_pk for c in complaints} | set(memberships)
            self._draft(session, to_draft, memberships)
        if outcome is not None:
            outcome.deliver()
        return report

    def _classify(
        self, session: Session, rows: Sequence[MentionRow], report: IngestReport
    ) -> list[tuple[MentionRow, Classification]]:
        mentions = [mention_from_row(r) for r in rows]
        try:
            verdicts: list[Classification | None] = list(self.classifier.classify(mentions))
        except Exception:  # noqa: BLE001 - retry singly so one bad mention cannot sink the batch
            log.exception("classifier failed on a batch of %d; retrying one by one", len(mentions))
            verdicts = []
            for mention in mentions:
                try:
                    verdicts.append(self.classifier.classify([mention])[0])
                except Exception as exc:  # noqa: BLE001
                    verdicts.append(None)
                    report.rejected.append(f"{mention.platform}:{mention.id}: classifier failed: {exc}")
        labels = {
            label.mention_pk: label
            for label in session.scalars(select(LabelRow).where(LabelRow.mention_pk.in_([r.pk for r in rows])))
        }
        result: list[tuple[MentionRow, Classification]] = []
        for row, verdict in zip(rows, verdicts, strict=True):
            if verdict is None:
                continue
            verdict = _apply_label(verdict, labels.get(row.pk))
            # Only mentions new to the store get here, so there is no earlier verdict to merge with.
            session.add(
                ClassificationRow(
                    mention_pk=row.pk,
                    lang=verdict.lang,
                    is_complaint=verdict.is_complaint,
                    complaint_score=float(verdict.complaint_score),
                    base_urgency=verdict.urgency.value,
                    urgency=verdict.urgency.value,
                    category=verdict.category,
                    reasons=list(verdict.reasons),
                    model_version=verdict.model_version,
                    classified_at=now_utc(),
                )
            )
            if verdict.is_complaint and row.status is None:
                set_status(session, row, Status.NEW, note="flagged by the classifier")
            result.append((row, verdict))
        session.flush()
        return result

    def apply_label(self, session: Session, row: MentionRow) -> None:
        """A person labelled a stored mention: bring its verdict, follow-up status and draft in line."""
        stored = row.classification
        label = session.get(LabelRow, row.pk)
        if stored is None or label is None:
            return
        verdict = _apply_label(_classification_of(stored), label)
        stored.is_complaint = verdict.is_complaint
        stored.complaint_score = float(verdict.complaint_score)
        stored.category = verdict.category
        stored.base_urgency = verdict.urgency.value
        if Urgency(stored.urgency).rank < verdict.urgency.rank or not verdict.is_complaint or label.urgency:
            stored.urgency = verdict.urgency.value
        stored.reasons = list(verdict.reasons)
        if verdict.is_complaint and row.status is None:
            set_status(session, row, Status.NEW, note="labelled a complaint")
        elif not verdict.is_complaint and row.status is not None and Status(row.status).is_open:
            set_status(session, row, Status.DISMISSED, note="labelled not a complaint")
        session.flush()
        self.redraft(session, row)

    def _raise_urgency(self, session: Session, floors: dict[int, Urgency]) -> None:
        if not floors:
            return
        rows = session.scalars(select(ClassificationRow).where(ClassificationRow.mention_pk.in_(list(floors))))
        for row in rows:
            floor = floors[row.mention_pk]
            base = Urgency(row.base_urgency)
            effective = base if base.rank >= floor.rank else floor
            if effective.value != row.urgency:
                row.urgency = effective.value
                reason = f"part of an incident → at least {floor.value}"
                if reason not in (row.reasons or []):
                    row.reasons = [*(row.reasons or []), reason]
        session.flush()

    def redraft(self, session: Session, row: MentionRow) -> ReplyDraft | None:
        """Draft one stored mention again (after a correction); None when it is not a complaint."""
        if row.classification is None:
            return None
        verdict = _apply_label(_classification_of(row.classification), session.get(LabelRow, row.pk))
        if not verdict.is_complaint:
            return None
        incident = open_incident_of(session, row.pk)
        draft = self._draft_one(row, verdict, incident)
        _store_draft(session, row.pk, session.get(ReplyDraftRow, row.pk), draft)
        return draft

    def _draft_one(
        self, row: MentionRow, classification: Classification, incident: IncidentContext | None
    ) -> ReplyDraft:
        try:
            return self.replies.draft(mention_from_row(row), classification, incident)
        except Exception as exc:  # noqa: BLE001 - a failed draft is shown as needing review, not lost
            log.exception("reply drafting failed for %s:%s", row.platform, row.external_id)
            return ReplyDraft(text="", lang=classification.lang, ok=False, problems=(f"drafting failed: {exc}",))

    def _draft(self, session: Session, mention_pks: set[int], memberships: dict[int, IncidentContext]) -> None:
        if not mention_pks:
            return
        pairs = session.execute(
            select(MentionRow, ClassificationRow)
            .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
            .where(MentionRow.pk.in_(list(mention_pks)))
        ).all()
        existing = {
            draft.mention_pk: draft
            for draft in session.scalars(select(ReplyDraftRow).where(ReplyDraftRow.mention_pk.in_(list(mention_pks))))
        }
        for row, classification_row in pairs:
            if not classification_row.is_complaint:
                continue
            draft = self._draft_one(row, _classification_of(classification_row), memberships.get(row.pk))
            _store_draft(session, row.pk, existing.get(row.pk), draft)
        session.flush()


def _store_draft(session: Session, mention_pk: int, stored: ReplyDraftRow | None, draft: ReplyDraft) -> None:
    if stored is None:
        stored = ReplyDraftRow(mention_pk=mention_pk)
        session.add(stored)
    stored.text = draft.text
    stored.lang = draft.lang
    stored.ok = draft.ok
    stored.problems = list(draft.problems)
    stored.template = draft.template
    stored.needs_dm = draft.needs_dm
    stored.drafted_at = now_utc()
