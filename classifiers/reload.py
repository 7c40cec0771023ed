"""A classifier that follows its model directory: when `train --out DIR` (or `models rollback`) replaces the
model, `check()` loads the new one completely and only then swaps it in.

The swap is one reference assignment, so a batch being classified finishes with the model it started with
and the next batch uses the new one: never half of each. A model that fails to load (corrupt, half-copied,
another format) is refused, logged, and the current one keeps running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers import model_directory
from classifiers.classifier import Classifier
from classifiers.model import MANIFEST, WEIGHTS, ModelError
from classifiers.settings import ClassifierSettings
from monitor.models import Classification, Mention

log = logging.getLogger("classifiers.reload")

Loader = Callable[[ClassifierSettings, Path | None], Classifier]


def _default_loader(settings: ClassifierSettings, base_dir: Path | None) -> Classifier:
    from classifiers import load_classifier

    return load_classifier(settings, base_dir)


def _stamp(directory: Path) -> tuple[int, int, int, int] | None:
    try:
        manifest, weights = (directory / MANIFEST).stat(), (directory / WEIGHTS).stat()
    except OSError:
        return None
    return manifest.st_mtime_ns, manifest.st_size, weights.st_mtime_ns, weights.st_size


@dataclass(frozen=True, slots=True)
class Reload:
    outcome: str  # "unchanged" | "loaded" | "refused"
    version: str
    message: str = ""


class ReloadingClassifier:
    """Classifies with the current model of a directory; `check()` picks up a replaced one atomically."""

    def __init__(
        self, settings: ClassifierSettings, base_dir: Path | None = None, loader: Loader | None = None
    ) -> None:
        self._settings = settings
        self._base_dir = base_dir
        self._load = loader or _default_loader
        self.directory = model_directory(settings, base_dir)
        self._stamp = _stamp(self.directory)
        self._current = self._load(settings, base_dir)
        self._lock = threading.Lock()

    @property
    def current(self) -> Classifier:
        return self._current

    @property
    def version(self) -> str:
        return self._current.version

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]:
        model = self._current  # one read: the whole batch uses one model
        return model.classify(mentions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current, name)

    def check(self) -> Reload:
        """Load the model again if its files changed since the last look; swap only if it loads."""
        with self._lock:
            stamp = _stamp(self.directory)
            if stamp == self._stamp:
                return Reload("unchanged", self._current.version)
            self._stamp = stamp
            try:
                fresh = self._load(self._settings, self._base_dir)
            except (ModelError, OSError, ValueError) as exc:
                log.error("new model in %s refused, still using %s: %s", self.directory, self._current.version, exc)
                return Reload("refused", self._current.version, str(exc))
            old = self._current.version
            self._current = fresh
            log.warning("model %s loaded from %s (was %s)", fresh.version, self.directory, old)
            return Reload("loaded", fresh.version, f"was {old}")
