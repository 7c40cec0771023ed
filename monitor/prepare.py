"""What the pipeline can work out about a batch before it touches the database.

Reading the JSONL lines (for an import); for each mention the classifier's verdict; for
a complaint, the reply draft it gets when it belongs to no incident (most complaints)
and the incident engine's text features; and the mention rows as SQLite stores them.
All are pure functions of the input and the config, so on a long stream a second
process works them out one batch ahead while this one stores the previous batch
(`Ahead`): on a 2-core machine that takes reading, classifying, drafting and the text
features off the writing process. A mention that joins an incident is drafted again
by the pipeline.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from monitor.errors import MonitorError
from monitor.incidents.text import TextFeatures, features
from monitor.incidents.visibility import OPEN_STATUSES as OPEN_INCIDENT_STATUSES
from monitor.mention_io import LineError, TimeLimits, admit, read_mentions
from monitor.models import Classification, IncidentContext, Mention, MentionError, ReplyDraft
from monitor.secrets import mask, mask_value
from monitor.stages import MentionClassifier, ReplyDrafter
from monitor.storage.bulk import converted, sqlite_dialect
from monitor.storage.repository import mention_rows_for_sqlite

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Prepared:
    """What was worked out for one mention; `verdict` None when the classifier failed on it (`error`)."""

    verdict: Classification | None
    error: str = ""
    draft: ReplyDraft | None = None
    features: TextFeatures | None = None
    verdict_row: tuple | None = None  # type: ignore[type-arg]
    """The classifications row (VERDICT_COLUMNS) converted for SQLite, when the store is SQLite."""
    draft_row: tuple | None = None  # type: ignore[type-arg]
    """The reply_drafts row (DRAFT_COLUMNS) of `draft`, converted for SQLite."""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        fields = (self.verdict, self.error, self.draft, self.features, self.verdict_row, self.draft_row)
        return (self.__class__, fields)

    @property
    def is_complaint(self) -> bool:
        return self.verdict is not None and self.verdict.is_complaint


@dataclass(slots=True)
class PreparedBatch:
    """One batch, worked out: its mentions (read from lines, or as given), what was prepared for each, the
    lines that could not be read, and the mention rows converted for SQLite (None for other databases)."""

    mentions: list[Mention]
    prepared: list[Prepared]
    errors: list[LineError] = field(default_factory=list)
    rows: tuple[list[str], list[tuple]] | None = None
    rejected: list[str] = field(default_factory=list)
    """Mentions handed over as such (not lines) that were refused: `platform:id: reason`."""
    notes: list[str] = field(default_factory=list)
    """What was changed on the way in (a text cut to MAX_TEXT_CHARS): `line N: …` or `platform:id: …`."""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (self.__class__, (self.mentions, self.prepared, self.errors, self.rows, self.rejected, self.notes))


@dataclass(frozen=True, slots=True)
class Job:
    """A batch to prepare: mentions, or JSONL lines (numbered from `first_line`) to read them from."""

    source: str
    dialect: str
    mentions: list[Mention] | None = None
    lines: list[str] | None = None
    first_line: int = 1
    default_platform: str = "file"
    limits: TimeLimits | None = None
    """How far ahead of the clock a mention may be (`ingest` in the config)."""


@dataclass(frozen=True, slots=True)
class TextTerms:
    """The incident engine's feature settings: key terms weigh extra, the brand's own names not at all."""

    key_terms: frozenset[str] = frozenset()
    ignore_terms: frozenset[str] = frozenset()


class Preparer:
    """Classifies a batch, drafts its complaints as if in no incident and computes their text features."""

    def __init__(
        self, classifier: MentionClassifier, drafter: ReplyDrafter, terms: TextTerms, with_features: bool = True
    ) -> None:
        self.classifier = classifier
        self.drafter = drafter
        self.terms = terms
        self.with_features = with_features
        """False in the second process: the writing process, waiting less, computes them (balance)."""

    def run(self, job: Job) -> PreparedBatch:
        errors: list[LineError] = []
        rejected: list[str] = []
        notes: list[str] = []
        if job.lines is not None:
            cut: list[LineError] = []
            mentions = list(read_mentions(job.lines, job.default_platform, errors, job.first_line, job.limits, cut))
            notes.extend(str(note) for note in cut)
        else:
            mentions = admitted(job.mentions or [], job.limits, rejected, notes)
        prepared = self.prepare(mentions)
        rows = None
        if job.dialect == "sqlite":
            flagged = {m.key for m, ready in zip(mentions, prepared, strict=True) if ready.is_complaint}
            rows = mention_rows_for_sqlite(mentions, job.source, flagged)
            _convert_rows(prepared)
        return PreparedBatch(mentions, prepared, errors, rows, rejected, notes)

    def prepare(self, mentions: Sequence[Mention]) -> list[Prepared]:
        out = [Prepared(verdict) for verdict in self._classify(mentions)]
        for mention, prepared in zip(mentions, out, strict=True):
            verdict = prepared.verdict
            if verdict is None or not verdict.is_complaint:
                continue
            if self.with_features:
                prepared.features = features(mention.text, self.terms.key_terms, self.terms.ignore_terms)
            prepared.draft = draft_safely(self.drafter, mention, verdict)
        return out

    def _classify(self, mentions: Sequence[Mention]) -> list[Classification | None]:
        try:
            return list(self.classifier.classify(mentions))
        except MonitorError:
            raise  # the model itself cannot be used: no mention would get a verdict, so none is stored
        except Exception:  # noqa: BLE001 - retry singly so one bad mention cannot sink the batch
            log.exception("classifier failed on a batch of %d; retrying one by one", len(mentions))
        verdicts: list[Classification | None] = []
        for mention in mentions:
            try:
                verdicts.append(self.classifier.classify([mention])[0])
            except Exception as exc:  # noqa: BLE001
                log.warning("classifier failed on %s:%s: %s", mention.platform, mention.id, exc)
                verdicts.append(None)
        return verdicts


def admitted(
    mentions: Sequence[Mention], limits: TimeLimits | None, rejected: list[str], notes: list[str]
) -> list[Mention]:
    """The mentions the pipeline takes in (see `mention_io.admit`); the others are named in `rejected`."""
    out = []
    for mention in mentions:
        mention = masked(mention)
        try:
            kept, note = admit(mention, limits)
        except MentionError as exc:
            rejected.append(f"{mention.platform}:{mention.id}: {exc}")
            continue
        if note is not None:
            notes.append(f"{mention.platform}:{mention.id}: {note}")
        out.append(kept)
    return out


def masked(mention: Mention) -> Mention:
    """A channel's mention without any configured secret in it (a hostile server may echo one into a post)."""
    fields = (mention.text, mention.author, mention.url or "", mention.in_reply_to or "")
    if all(mask(value) == value for value in fields) and mask_value(mention.raw) == mention.raw:
        return mention
    return replace(
        mention,
        text=mask(mention.text),
        author=mask(mention.author),
        url=mask(mention.url) if mention.url else mention.url,
        in_reply_to=mask(mention.in_reply_to) if mention.in_reply_to else mention.in_reply_to,
        raw=mask_value(mention.raw),
    )


VERDICT_COLUMNS = (
    "lang", "is_complaint", "complaint_score", "base_urgency", "urgency", "category", "reasons", "model_version",
    "classified_at",
)  # fmt: skip
DRAFT_COLUMNS = ("text", "lang", "ok", "problems", "template", "needs_dm", "drafted_at", "inputs")


def verdict_values(verdict: Classification, at: datetime) -> dict[str, object]:
    """A verdict as its classifications row, without the mention's pk."""
    return {
        "lang": verdict.lang,
        "is_complaint": verdict.is_complaint,
        "complaint_score": float(verdict.complaint_score),
        "base_urgency": verdict.urgency.value,
        "urgency": verdict.urgency.value,
        "category": verdict.category,
        "reasons": list(verdict.reasons),
        "model_version": verdict.model_version,
        "classified_at": at,
    }


def draft_values(draft: ReplyDraft, inputs: str, at: datetime) -> dict[str, object]:
    """A draft as its reply_drafts row, without the mention's pk."""
    return {
        "text": draft.text,
        "lang": draft.lang,
        "ok": draft.ok,
        "problems": list(draft.problems),
        "template": draft.template,
        "needs_dm": draft.needs_dm,
        "drafted_at": at,
        "inputs": inputs,
    }


def draft_inputs(verdict: Classification, incident: IncidentContext | None) -> str:
    """What a draft depends on besides the mention itself: the same inputs give the same draft."""
    open_incident = incident is not None and incident.status in OPEN_INCIDENT_STATUSES
    where = f"{incident.id}/{incident.size}" if open_incident and incident is not None else ""
    return f"{verdict.lang}|{verdict.category}|{verdict.urgency.value}|{where}"


def _convert_rows(prepared: list[Prepared]) -> None:
    """Each mention's classifications row and each complaint's reply_drafts row, converted for SQLite."""
    from monitor.storage.schema import ClassificationRow, ReplyDraftRow

    at = datetime.now(UTC)
    verdicts = [(i, ready.verdict) for i, ready in enumerate(prepared) if ready.verdict is not None]
    _, rows = converted(ClassificationRow.__table__, [verdict_values(v, at) for _, v in verdicts], sqlite_dialect())
    for (i, _), row in zip(verdicts, rows, strict=True):
        prepared[i].verdict_row = row
    drafts = [(i, ready) for i, ready in enumerate(prepared) if ready.draft is not None and ready.verdict is not None]
    values = [draft_values(r.draft, draft_inputs(r.verdict, None), at) for _, r in drafts]  # type: ignore[arg-type]
    _, rows = converted(ReplyDraftRow.__table__, values, sqlite_dialect())
    for (i, _), row in zip(drafts, rows, strict=True):
        prepared[i].draft_row = row


def draft_safely(drafter: ReplyDrafter, mention: Mention, verdict: Classification, incident=None) -> ReplyDraft:  # type: ignore[no-untyped-def]
    """A draft, or one marked as needing review when drafting failed (never lost, never an exception)."""
    try:
        return drafter.draft(mention, verdict, incident)
    except Exception as exc:  # noqa: BLE001 - a failed draft is shown as needing review, not lost
        log.exception("reply drafting failed for %s:%s", mention.platform, mention.id)
        return ReplyDraft(text="", lang=verdict.lang, ok=False, problems=(f"drafting failed: {exc}",))


# ---- the second process ---------------------------------------------------------------------------


def _preparer_for(config_path: str | None) -> Preparer:
    from monitor.app import App
    from monitor.incidents.store import brand_words

    app = App(config_path=Path(config_path) if config_path else None)
    settings = app.settings
    brand = settings.brand
    terms = TextTerms(
        frozenset(t.lower() for t in settings.incidents.key_terms),
        brand_words([brand.name, *brand.names, *brand.hashtags]),
    )
    return Preparer(app.classifier, app.reply_drafter, terms, with_features=False)


def serve(config_path: str | None, incoming: BinaryIO, outgoing: BinaryIO) -> None:
    """The second process: read batches of mentions (pickled), write what was prepared for each, in order."""
    preparer: Preparer | None = None
    failed = ""
    try:
        preparer = _preparer_for(config_path)
    except Exception as exc:  # noqa: BLE001 - said for every batch: the pipeline prepares them itself
        failed = f"{type(exc).__name__}: {exc}"
    while True:
        try:
            job = pickle.load(incoming)
        except EOFError:
            return
        try:
            answer: object = preparer.run(job) if preparer is not None else failed
        except Exception as exc:  # noqa: BLE001 - reported to the pipeline, which prepares that batch itself
            answer = f"{type(exc).__name__}: {exc}"
        pickle.dump(answer, outgoing, protocol=pickle.HIGHEST_PROTOCOL)
        outgoing.flush()


class Ahead:
    """A second process that prepares batches while this one stores the previous ones (answers in order).

    A plain child process (`python -m monitor.prepare`) talking pickle over its stdin and stdout,
    so nothing of the caller's own main module is run again; a thread reads the answers as they
    come, so neither side ever waits on a full pipe.
    """

    def __init__(self, config_path: Path | None) -> None:
        command = [sys.executable, "-m", "monitor.prepare"] + ([str(config_path)] if config_path else [])
        # One malloc arena: the process prepares one batch at a time, and glibc's extra per-thread arenas
        # (numpy's helper threads) held 10-20 MB of its peak RSS for nothing.
        env = {**os.environ, "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "1")}
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._waiting: queue.SimpleQueue[Future[PreparedBatch]] = queue.SimpleQueue()
        self._outgoing: queue.SimpleQueue[tuple[Job, Future[PreparedBatch]] | None] = queue.SimpleQueue()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="prepare-answers", daemon=True)
        self._writer = threading.Thread(target=self._write, name="prepare-jobs", daemon=True)
        self._reader.start()
        self._writer.start()

    def submit(self, job: Job) -> Future[PreparedBatch]:
        """Queue `job`; never waits (a thread writes it to the pipe when the other process reads)."""
        future: Future[PreparedBatch] = Future()
        if self._closed:
            future.set_exception(RuntimeError("the preparing process was closed"))
            return future
        self._waiting.put(future)
        self._outgoing.put((job, future))
        return future

    def _write(self) -> None:
        assert self._process.stdin is not None
        while (item := self._outgoing.get()) is not None:
            job, future = item
            try:
                pickle.dump(job, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._process.stdin.flush()
            except OSError as exc:
                _fail(future, exc)  # the reader fails the others over when the process is gone
        try:
            self._process.stdin.close()
        except OSError:
            pass

    def _read(self) -> None:
        assert self._process.stdout is not None
        while True:
            try:
                answer = pickle.load(self._process.stdout)
            except Exception as exc:  # noqa: BLE001 - EOF or a broken pipe: every waiting batch fails over
                self._process.kill()  # it may be stuck writing to us: never leave a writer blocked
                while not self._waiting.empty():
                    _fail(self._waiting.get(), RuntimeError(f"the preparing process stopped: {exc!r}"))
                return
            future = self._waiting.get()
            if isinstance(answer, str):
                _fail(future, RuntimeError(answer))
            elif not future.done():
                future.set_result(answer)

    def close(self) -> None:
        self._closed = True
        self._outgoing.put(None)
        self._writer.join(timeout=10)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=5)


def _fail(future: Future[PreparedBatch], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


if __name__ == "__main__":
    # Through the package's own module, so what is pickled back is monitor.prepare.Prepared, not __main__'s.
    from monitor import prepare

    prepare.serve(sys.argv[1] if len(sys.argv) > 1 else None, sys.stdin.buffer, sys.stdout.buffer)
