"""The pipeline: mentions in → stored, classified, grouped into incidents, drafted replies.

    connector/import → normalise → store (idempotent) → language + classify
        → incident assignment → reply draft → stored

Only mentions new to the store go through the later stages, so polling or
importing the same data twice changes nothing. One bad mention never stops
the others: a stage that fails on a batch is retried one mention at a time
and only the mention that fails is reported.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from monitor.incidents.visibility import open_incident_of
from monitor.incidents.watermark import new_writer_id
from monitor.mention_io import LineError, TimeLimits
from monitor.models import Classification, IncidentContext, Mention, ReplyDraft, Status, Urgency, utc
from monitor.prepare import (
    DRAFT_COLUMNS,
    VERDICT_COLUMNS,
    Ahead,
    Job,
    Prepared,
    PreparedBatch,
    Preparer,
    TextTerms,
    draft_inputs,
    draft_safely,
    draft_values,
    verdict_values,
)
from monitor.stages import (
    IncidentAssigner,
    IncidentOutcome,
    MentionClassifier,
    ReplyDrafter,
    StoredComplaint,
    WriterProgress,
)
from monitor.storage import Database
from monitor.storage.bulk import insert_rows, insert_tuples
from monitor.storage.repository import (
    classification_of,
    flag_new,
    insert_mention_rows,
    insert_new_mentions,
    mention_from_row,
    set_status,
)
from monitor.storage.schema import ClassificationRow, LabelRow, MentionRow, ReplyDraftRow, now_utc

log = logging.getLogger(__name__)

BATCH_SIZE = 500
AHEAD_AFTER = 10
"""A stream longer than this many batches is prepared in a second process (see monitor.prepare)."""
AHEAD_DEPTH = 4
"""Batches handed to the preparing process before this one waits for the oldest."""


@dataclass
class IngestReport:
    """What one call to the pipeline did."""

    received: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    complaints: int = 0
    incidents_changed: set[str] = field(default_factory=set)
    stopped: bool = False
    """True when a stop was asked for before every batch was stored (the rest was not taken in)."""
    newest: datetime | None = None
    """The newest mention received (its own timestamp): how far behind the channel is, for the logs."""
    notes: list[str] = field(default_factory=list)
    """What was changed on the way in, one line each (a text cut to MAX_TEXT_CHARS)."""

    def merge(self, other: IngestReport) -> None:
        self.stopped = self.stopped or other.stopped
        self.notes.extend(other.notes)
        if other.newest is not None and (self.newest is None or other.newest > self.newest):
            self.newest = other.newest
        self.received += other.received
        self.new += other.new
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.complaints += other.complaints
        self.incidents_changed |= other.incidents_changed

    def summary(self) -> str:
        cut = f", {len(self.notes)} texts cut" if self.notes else ""
        return (
            f"{self.new} new, {self.duplicates} duplicates, {len(self.rejected)} rejected{cut}; "
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


class Pipeline:
    """Runs mentions through every stage and stores the results. Safe to share between threads."""

    def __init__(
        self,
        database: Database,
        classifier: MentionClassifier,
        incidents: IncidentAssigner,
        replies: ReplyDrafter,
        *,
        terms: TextTerms | None = None,
        ahead: Callable[[], Ahead] | None = None,
        max_future: timedelta | None = timedelta(hours=1),
        clamp_future: bool = False,
    ) -> None:
        self.database = database
        self.max_future = max_future
        """A mention dated further ahead of the clock than this is rejected (or clamped); None: no limit."""
        self.clamp_future = clamp_future
        self.classifier = classifier
        self.incidents = incidents
        self.replies = replies
        self.preparer = Preparer(classifier, replies, terms or TextTerms())
        self._ahead_factory = ahead
        self._ahead: Ahead | None = None
        # One batch at a time: incident assignment reads and rewrites the open window.
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self._writer_id = new_writer_id()
        self._streams = itertools.count(1)
        """Set (e.g. on SIGTERM): the batch being stored finishes, the rest of the call is not taken in."""

    def process(self, mentions: Iterable[Mention], source: str) -> IngestReport:
        """Store, classify, group and draft `mentions`, BATCH_SIZE at a time, each batch in one transaction.

        A long stream (more than AHEAD_AFTER batches) is prepared one batch ahead in a second process.
        """
        dialect = self.database.engine.dialect.name
        jobs = (Job(source, dialect, mentions=batch, limits=self._limits()) for batch in _batches(mentions))
        return self._run(jobs, source)

    def _limits(self) -> TimeLimits | None:
        """The clock as each batch is read: a mention dated beyond it plus `max_future` is not taken in."""
        if self.max_future is None:
            return None
        return TimeLimits(now_utc(), self.max_future, self.clamp_future)

    def process_lines(
        self,
        lines: Iterable[str],
        source: str,
        default_platform: str = "file",
        errors: list[LineError] | None = None,
        stored: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """`process` for a JSONL stream: lines that are not a valid mention go to `errors`, with their number.
        `stored(n)` is called after each batch is stored, with its number of lines (for a progress display)."""
        dialect = self.database.engine.dialect.name
        jobs = (
            Job(
                source, dialect, lines=chunk, first_line=first, default_platform=default_platform, limits=self._limits()
            )
            for first, chunk in _line_batches(lines)
        )
        return self._run(jobs, source, errors, stored)

    def _run(
        self,
        jobs: Iterator[Job],
        source: str,
        errors: list[LineError] | None = None,
        stored: Callable[[int], None] | None = None,
    ) -> IngestReport:
        writer = f"{self._writer_id}:{next(self._streams)}"
        try:
            report = self._run_jobs(jobs, source, writer, errors, stored)
        except Exception:
            self._settle_after_failure(writer)
            raise
        report.merge(self._settle(writer))
        counts = getattr(self.incidents, "rebuilds", None), getattr(self.incidents, "deferred", None)
        log.info("incident assignment so far: %s replays, %s complaints placed later", *counts)
        return report

    def _run_jobs(
        self,
        jobs: Iterator[Job],
        source: str,
        writer: str,
        errors: list[LineError] | None = None,
        stored: Callable[[int], None] | None = None,
    ) -> IngestReport:
        report = IngestReport()
        first = list(itertools.islice(jobs, AHEAD_AFTER))
        use_ahead = len(first) == AHEAD_AFTER and self._start_ahead() is not None

        def store(job: Job, batch: PreparedBatch) -> None:
            if errors is not None:
                errors.extend(batch.errors)
            report.rejected.extend(batch.rejected)
            report.notes.extend(batch.notes)
            report.merge(self._store(batch, source, writer))
            if stored is not None:
                stored(len(job.lines) if job.lines is not None else len(job.mentions or ()))

        pending: collections.deque[tuple[Job, Future[PreparedBatch]]] = collections.deque()

        def drain(keep: int) -> bool:
            """Store pending batches until `keep` are left; False when a stop was asked for first."""
            while len(pending) > keep:
                if self.stop.is_set():
                    return False
                job, future = pending.popleft()
                store(job, self._ready(job, future))
            return True

        for job in itertools.chain(first, jobs):
            ahead = self._ahead if use_ahead else None
            if ahead is None:
                # A short stream (or the other process failed): in order, here. Not while it starts
                # up: that would load the model here too, for a second or two of a long import.
                if not drain(0) or self.stop.is_set():
                    report.stopped = True
                    return report
                store(job, self.preparer.run(job))
                continue
            pending.append((job, ahead.submit(job)))
            if not drain(AHEAD_DEPTH):
                report.stopped = True
                return report
        if not drain(0):
            report.stopped = True
        return report

    def _start_ahead(self) -> Ahead | None:
        if self._ahead is None and self._ahead_factory is not None:
            try:
                self._ahead = self._ahead_factory()
            except Exception:  # noqa: BLE001 - preparing in this process is slower, never wrong
                log.exception("could not start the preparing process; preparing here")
                self._ahead_factory = None
        return self._ahead

    def _ready(self, job: Job, future: Future[PreparedBatch]) -> PreparedBatch:
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - the batch is prepared here instead; nothing is lost
            log.exception("the preparing process failed; preparing here from now on")
            self._ahead_factory = None
            if self._ahead is not None:
                self._ahead.close()
                self._ahead = None
            return self.preparer.run(job)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def _store(self, batch: PreparedBatch, source: str, writer: str) -> IngestReport:
        """`_process_batch`; when the database refuses a value in it, each mention on its own, so only the
        one it refuses is left out (and reported). A database that is down or read-only is not a bad value:
        that error goes up."""
        try:
            return self._process_batch(batch, source, writer)
        except (StatementError, ValueError, OverflowError) as exc:
            if not _refused_value(exc):
                raise
            if len(batch.mentions) == 1:
                mention = batch.mentions[0]
                report = IngestReport(received=1)
                report.rejected.append(f"{mention.platform}:{mention.id}: not stored: {_first_line(exc)}")
                return report
            log.warning(
                "the database refused a batch of %d (%s); storing it one by one", len(batch.mentions), _first_line(exc)
            )
        report = IngestReport()
        for mention, ready in zip(batch.mentions, batch.prepared, strict=True):
            report.merge(self._store(PreparedBatch([mention], [ready]), source, writer))
        return report

    def _process_batch(self, batch: PreparedBatch, source: str, writer: str) -> IngestReport:
        mentions, prepared = batch.mentions, batch.prepared
        report = IngestReport(received=len(mentions), newest=max((m.created_at for m in mentions), default=None))
        with self._lock, self.database.writing() as session:
            if batch.rows is not None and session.get_bind().dialect.name == "sqlite":
                inserted = insert_mention_rows(session, *batch.rows)
            else:
                flagged = {m.key for m, ready in zip(mentions, prepared, strict=True) if ready.is_complaint}
                inserted = insert_new_mentions(session, mentions, source, flagged)
            report.new = len(inserted)
            report.duplicates = len(mentions) - report.new
            fresh: dict[tuple[str, str], tuple[Mention, Prepared]] = {}
            for mention, ready in zip(mentions, prepared, strict=True):
                if mention.key in inserted:
                    fresh.setdefault(mention.key, (mention, ready))
            new = sorted(
                ((inserted[k], m, ready) for k, (m, ready) in fresh.items()), key=lambda n: (n[1].created_at, *n[1].key)
            )
            classified = self._classify(session, new, report) if new else []
            complaints = [
                StoredComplaint(pk, mention, verdict, ready.features)
                for pk, mention, verdict, ready in classified
                if verdict.is_complaint
            ]
            report.complaints = len(complaints)
            outcome = self.incidents.assign(session, complaints, _progress(writer, mentions))
            self._apply(session, outcome, classified, report)
        outcome.deliver()
        return report

    def _apply(
        self,
        session: Session,
        outcome: IncidentOutcome,
        classified: Sequence[tuple[int, Mention, Classification, Prepared]],
        report: IngestReport,
    ) -> None:
        """Store the drafts of this batch's complaints, and bring the urgency and drafts of the complaints
        whose incident changed (this batch's, earlier ones, waiting ones placed now) in line."""
        report.incidents_changed |= outcome.changed_incidents
        memberships: dict[int, IncidentContext | None] = {pk: None for pk in outcome.recomputed}
        memberships.update(outcome.memberships)
        self._reset_urgency(session, outcome.recomputed)
        raised = self._raise_urgency(session, outcome.urgency_floor)
        self._draft_new(session, classified, memberships, raised)
        self._redraft_members(session, memberships, raised)

    def _settle_after_failure(self, writer: str) -> None:
        """A stream that failed stops holding the others back now, not when its registration runs out."""
        try:
            self._settle(writer)
        except Exception:  # noqa: BLE001 - the first error is the one to report
            log.warning("could not deregister %s after a failed stream; its registration will expire", writer)

    def _settle(self, writer: str) -> IngestReport:
        """The stream ended: deregister it as a writer and place the complaints the others now allow (all of
        them when no other writer is live, including any a killed process left waiting)."""
        report = IngestReport()
        with self._lock:
            with self.database.session() as session:
                if self.incidents.settled(session, writer):
                    return report
            with self.database.writing() as session:
                outcome = self.incidents.finish(session, writer)
                self._apply(session, outcome, (), report)
        outcome.deliver()
        return report

    def _classify(
        self, session: Session, new: Sequence[tuple[int, Mention, Prepared]], report: IngestReport
    ) -> list[tuple[int, Mention, Classification, Prepared]]:
        """Store the verdicts and the complaints' follow-up history (they were stored with status `new`).

        Only mentions this batch created get here, so no label (a person's correction of a stored
        mention) and no earlier verdict can exist for them."""
        result: list[tuple[int, Mention, Classification, Prepared]] = []
        rows: list[dict[str, object]] = []
        ready_rows: list[tuple] = []  # type: ignore[type-arg]
        flagged: list[int] = []
        classified_at = now_utc()
        sqlite = session.get_bind().dialect.name == "sqlite"
        for pk, mention, ready in new:
            verdict = ready.verdict
            if verdict is None:
                report.rejected.append(f"{mention.platform}:{mention.id}: classifier failed")
                continue
            if sqlite and ready.verdict_row is not None:
                ready_rows.append((pk, *ready.verdict_row))
            else:
                rows.append({"mention_pk": pk, **verdict_values(verdict, classified_at)})
            if verdict.is_complaint:
                flagged.append(pk)
            result.append((pk, mention, verdict, ready))
        insert_rows(session, ClassificationRow.__table__, rows)
        insert_tuples(session, ClassificationRow.__table__, ("mention_pk", *VERDICT_COLUMNS), ready_rows)
        flag_new(session, flagged, note="flagged by the classifier", stored=True)
        return result

    def apply_label(self, session: Session, row: MentionRow) -> None:
        """A person labelled a stored mention: bring its verdict, follow-up status and draft in line."""
        stored = row.classification
        label = session.get(LabelRow, row.pk)
        if stored is None or label is None:
            return
        verdict = _apply_label(classification_of(stored), label)
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

    def _reset_urgency(self, session: Session, pks: set[int]) -> None:
        """Members of recomputed incidents go back to their own urgency (floors are applied again after)."""
        table = ClassificationRow.__table__
        changes = []
        for chunk in _chunks(sorted(pks)):
            rows = session.execute(
                select(ClassificationRow.mention_pk, ClassificationRow.base_urgency, ClassificationRow.reasons).where(
                    ClassificationRow.mention_pk.in_(chunk)
                )
            )
            for pk, base, reasons in rows:
                kept = [r for r in reasons or [] if not str(r).startswith(INCIDENT_REASON)]
                changes.append({"b_pk": pk, "urgency": base, "reasons": kept})
        if changes:
            session.connection().execute(
                update(table)
                .where(table.c.mention_pk == bindparam("b_pk"))
                .values(urgency=bindparam("urgency"), reasons=bindparam("reasons")),
                changes,
            )

    def _raise_urgency(self, session: Session, floors: dict[int, Urgency]) -> dict[int, Urgency]:
        """Raise the members below their incident's floor (and only those); returns their new urgency."""
        raised: dict[int, Urgency] = {}
        if not floors:
            return raised
        by_floor: dict[Urgency, list[int]] = {}
        for pk, floor in floors.items():
            by_floor.setdefault(floor, []).append(pk)
        changes = []
        for floor, pks in by_floor.items():
            below = [u.value for u in Urgency if u.rank < floor.rank]
            for chunk in _chunks(sorted(pks)):
                rows = session.execute(
                    select(
                        ClassificationRow.mention_pk, ClassificationRow.base_urgency, ClassificationRow.reasons
                    ).where(ClassificationRow.mention_pk.in_(chunk), ClassificationRow.urgency.in_(below))
                )
                for pk, base, reasons in rows:
                    effective = Urgency(base) if Urgency(base).rank >= floor.rank else floor
                    reason = f"{INCIDENT_REASON}{floor.value}"
                    reasons = list(reasons or [])
                    if reason not in reasons:
                        reasons.append(reason)
                    changes.append({"b_pk": pk, "urgency": effective.value, "reasons": reasons})
                    raised[pk] = effective
        if changes:
            table = ClassificationRow.__table__
            session.connection().execute(
                update(table)
                .where(table.c.mention_pk == bindparam("b_pk"))
                .values(urgency=bindparam("urgency"), reasons=bindparam("reasons")),
                changes,
            )
        return raised

    def redraft(self, session: Session, row: MentionRow) -> ReplyDraft | None:
        """Draft one stored mention again (after a correction); None when it is not a complaint."""
        if row.classification is None:
            return None
        verdict = _apply_label(classification_of(row.classification), session.get(LabelRow, row.pk))
        if not verdict.is_complaint:
            return None
        incident = open_incident_of(session, row.pk)
        draft = self._draft_mention(mention_from_row(row), verdict, incident)
        _store_draft(session, row.pk, session.get(ReplyDraftRow, row.pk), draft, draft_inputs(verdict, incident))
        return draft

    def _draft_mention(
        self, mention: Mention, classification: Classification, incident: IncidentContext | None
    ) -> ReplyDraft:
        return draft_safely(self.replies, mention, classification, incident)

    def _draft_new(
        self,
        session: Session,
        classified: Sequence[tuple[int, Mention, Classification, Prepared]],
        memberships: dict[int, IncidentContext | None],
        raised: dict[int, Urgency],
    ) -> None:
        """Store this batch's drafts: the prepared one, unless the complaint joined an incident (or a label
        changed its verdict), which is drafted again now."""
        rows = []
        ready_rows = []
        sqlite = session.get_bind().dialect.name == "sqlite"
        for pk, mention, verdict, ready in classified:
            if not verdict.is_complaint:
                continue
            incident = memberships.pop(pk, None)
            if incident is None and pk not in raised and ready.draft is not None:
                if sqlite and ready.draft_row is not None:
                    ready_rows.append((pk, *ready.draft_row))
                else:
                    rows.append(_draft_values(pk, ready.draft, draft_inputs(verdict, None)))
                continue
            verdict = _floored(verdict, raised.get(pk))
            draft = self._draft_mention(mention, verdict, incident)
            rows.append(_draft_values(pk, draft, draft_inputs(verdict, incident)))
        insert_rows(session, ReplyDraftRow.__table__, rows)
        insert_tuples(session, ReplyDraftRow.__table__, ("mention_pk", *DRAFT_COLUMNS), ready_rows)

    def _redraft_members(
        self, session: Session, memberships: dict[int, IncidentContext | None], raised: dict[int, Urgency]
    ) -> None:
        """Draft again the stored complaints whose incident (or urgency) changed, where the inputs really moved."""
        if not memberships:
            return
        fresh: list[dict[str, object]] = []
        stale: list[dict[str, object]] = []
        for chunk in _chunks(sorted(memberships)):
            pairs = session.execute(
                select(MentionRow, ClassificationRow, ReplyDraftRow.inputs, ReplyDraftRow.edited_by)
                .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
                .outerjoin(ReplyDraftRow, ReplyDraftRow.mention_pk == MentionRow.pk)
                .where(MentionRow.pk.in_(chunk))
                .execution_options(populate_existing=True)
            ).all()
            for row, classification_row, stored_inputs, edited_by in pairs:
                if not classification_row.is_complaint or edited_by:
                    continue  # a draft a person edited is theirs: the pipeline never replaces it
                verdict = classification_of(classification_row)
                if row.pk in raised:
                    verdict = _floored(verdict, raised[row.pk])
                incident = memberships[row.pk]
                inputs = draft_inputs(verdict, incident)
                if inputs == stored_inputs:
                    continue
                draft = self._draft_mention(mention_from_row(row), verdict, incident)
                (stale if stored_inputs is not None else fresh).append(_draft_values(row.pk, draft, inputs))
        if fresh:
            insert_rows(session, ReplyDraftRow.__table__, fresh)
        if stale:
            table = ReplyDraftRow.__table__
            columns = [c for c in stale[0] if c != "mention_pk"]
            session.connection().execute(
                update(table).where(table.c.mention_pk == bindparam("b_pk")).values({c: bindparam(c) for c in columns}),
                [{"b_pk": r["mention_pk"], **{c: r[c] for c in columns}} for r in stale],
            )


INCIDENT_REASON = "part of an incident → at least "
"""How a verdict's reasons say its urgency was raised by its incident."""


def _refused_value(exc: BaseException) -> bool:
    """Whether the database (or the conversion before it) refused a value, rather than being unusable."""
    if isinstance(exc, (DataError, IntegrityError)):
        return True
    if isinstance(exc, StatementError):
        return isinstance(exc.orig, (ValueError, OverflowError, TypeError)) and not isinstance(exc, DBAPIError)
    return isinstance(exc, (ValueError, OverflowError))


def _first_line(exc: BaseException) -> str:
    """A database error's own first line (without SQLAlchemy's statement and parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return (text[0] if text else type(orig).__name__)[:300]


def _line_batches(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """BATCH_SIZE lines at a time, with the number of the first one."""
    chunk: list[str] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if not chunk:
            first = number
        chunk.append(line)
        if len(chunk) >= BATCH_SIZE:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def _batches(mentions: Iterable[Mention]) -> Iterator[list[Mention]]:
    batch: list[Mention] = []
    for mention in mentions:
        batch.append(mention)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _progress(writer: str, mentions: Sequence[Mention]) -> WriterProgress | None:
    """How far (in event order) this batch takes its stream."""
    if not mentions:
        return None
    newest = max(mentions, key=lambda m: (utc(m.created_at), m.platform, m.id))
    return WriterProgress(writer, utc(newest.created_at), newest.platform, newest.id)


def _floored(verdict: Classification, urgency: Urgency | None) -> Classification:
    if urgency is None or urgency.rank <= verdict.urgency.rank:
        return verdict
    return replace(verdict, urgency=urgency)


def _draft_values(pk: int, draft: ReplyDraft, inputs: str) -> dict[str, object]:
    return {"mention_pk": pk, **draft_values(draft, inputs, now_utc())}


def _store_draft(
    session: Session, mention_pk: int, stored: ReplyDraftRow | None, draft: ReplyDraft, inputs: str
) -> None:
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
    stored.inputs = inputs
