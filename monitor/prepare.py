"""What the pipeline can work out about a batch before it touches the database.

For each mention: the classifier's verdict; for a complaint, the reply draft it gets
when it belongs to no incident (most complaints) and the incident engine's text
features. All are pure functions of the mention and the config, so on a long stream
a second process works them out one batch ahead while this one stores the previous
batch (`Ahead`): on a 2-core machine that takes the classifier, the drafter and the
text features off the writing process. A mention whose verdict a person's label
changes, or that joins an incident, is drafted again by the pipeline.
"""

from __future__ import annotations

import logging
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from monitor.incidents.text import TextFeatures, features
from monitor.models import Classification, Mention, ReplyDraft
from monitor.stages import MentionClassifier, ReplyDrafter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Prepared:
    """What was worked out for one mention; `verdict` None when the classifier failed on it (`error`)."""

    verdict: Classification | None
    error: str = ""
    draft: ReplyDraft | None = None
    features: TextFeatures | None = None


@dataclass(frozen=True, slots=True)
class TextTerms:
    """The incident engine's feature settings: key terms weigh extra, the brand's own names not at all."""

    key_terms: frozenset[str] = frozenset()
    ignore_terms: frozenset[str] = frozenset()


class Preparer:
    """Classifies a batch, drafts its complaints as if in no incident and computes their text features."""

    def __init__(self, classifier: MentionClassifier, drafter: ReplyDrafter, terms: TextTerms) -> None:
        self.classifier = classifier
        self.drafter = drafter
        self.terms = terms

    def prepare(self, mentions: Sequence[Mention]) -> list[Prepared]:
        out = [Prepared(verdict) for verdict in self._classify(mentions)]
        for mention, prepared in zip(mentions, out, strict=True):
            verdict = prepared.verdict
            if verdict is None or not verdict.is_complaint:
                continue
            prepared.features = features(mention.text, self.terms.key_terms, self.terms.ignore_terms)
            prepared.draft = draft_safely(self.drafter, mention, verdict)
        return out

    def _classify(self, mentions: Sequence[Mention]) -> list[Classification | None]:
        try:
            return list(self.classifier.classify(mentions))
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
    return Preparer(app.classifier, app.reply_drafter, terms)


def serve(config_path: str | None, incoming: BinaryIO, outgoing: BinaryIO) -> None:
    """The second process: read batches of mentions (pickled), write what was prepared for each, in order."""
    preparer = _preparer_for(config_path)
    while True:
        try:
            mentions = pickle.load(incoming)
        except EOFError:
            return
        try:
            answer: object = preparer.prepare(mentions)
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
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._waiting: queue.SimpleQueue[Future[list[Prepared]]] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name="prepare-answers", daemon=True)
        self._reader.start()

    def submit(self, mentions: list[Mention]) -> Future[list[Prepared]]:
        future: Future[list[Prepared]] = Future()
        self._waiting.put(future)
        assert self._process.stdin is not None
        try:
            pickle.dump(mentions, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
        except OSError as exc:
            future.set_exception(exc)
        return future

    def _read(self) -> None:
        assert self._process.stdout is not None
        while True:
            try:
                answer = pickle.load(self._process.stdout)
            except Exception as exc:  # noqa: BLE001 - EOF or a broken pipe: every waiting batch fails over
                self._process.kill()  # it may be stuck writing to us: never leave a writer blocked
                while not self._waiting.empty():
                    self._waiting.get().set_exception(RuntimeError(f"the preparing process stopped: {exc!r}"))
                return
            future = self._waiting.get()
            if isinstance(answer, str):
                future.set_exception(RuntimeError(answer))
            else:
                future.set_result(answer)

    def close(self) -> None:
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=5)


if __name__ == "__main__":
    # Through the package's own module, so what is pickled back is monitor.prepare.Prepared, not __main__'s.
    from monitor import prepare

    prepare.serve(sys.argv[1] if len(sys.argv) > 1 else None, sys.stdin.buffer, sys.stdout.buffer)
