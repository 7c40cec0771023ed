"""Benchmark rows for the operating point (issue #15): recall and precision of this model at its per-language
thresholds and at 0.5, against the previous release (its model read from git), on every evaluation set, and the
kinds of mentions each one gets wrong on the sample key and on the held-out set."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from classifiers import datasets
from classifiers.classifier import Classifier
from classifiers.keyed import ROOT, Counts, KeyReport, kinds_table, load_heldout, load_sample_key, score_key
from classifiers.settings import ClassifierSettings
from monitor.models import Mention

OLD_REF = "main"
"""The git revision whose shipped model is 'the previous release' in the benchmark."""


@dataclass(slots=True)
class Contender:
    label: str
    classifier: Classifier


def previous_model(ref: str = OLD_REF) -> Path | None:
    """The shipped model at `ref`, copied out of git into a temporary folder (None without git or that ref)."""
    target = Path(tempfile.mkdtemp(prefix="cm-previous-model-"))
    for name in ("manifest.json", "weights.npz"):
        try:
            blob = subprocess.run(
                ["git", "show", f"{ref}:classifiers/model/{name}"], cwd=ROOT, capture_output=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        (target / name).write_bytes(blob)
    return target


def contenders(ref: str = OLD_REF) -> list[Contender]:
    """The previous release (if git has it, at its own thresholds), this model at 0.5, this model at its operating
    point."""
    from classifiers import load_classifier
    from classifiers.classifier import Classifier
    from classifiers.model import load_model

    out = []
    old = previous_model(ref)
    if old is not None:
        # the previous model with this release's rules (keywords, critical threshold factor)
        # read from git: released before manifests were sealed
        bundle = load_model(old, allow_unsealed=True)
        previous = Classifier(bundle, ClassifierSettings(model_dir=str(old)))
        # a model with per-language thresholds (target_recall) runs at them; an older one at its single 0.5
        at = "its shipped thresholds" if bundle.thresholds else "at 0.5"
        out.append(Contender(f"previous model ({ref}), {at}", previous))
    out.append(Contender("this model at 0.5", load_classifier(ClassifierSettings(complaint_threshold=0.5))))
    out.append(Contender("this model, shipped thresholds", load_classifier(ClassifierSettings())))
    return out


def _mentions(texts: Sequence[str]) -> list[Mention]:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    return [Mention(str(i), "x", "a", t, stamp) for i, t in enumerate(texts)]


def _dataset_counts(classifier: Classifier, texts: Sequence[str], truth: Sequence[int]) -> Counts:
    counts = Counts()
    for verdict, label in zip(classifier.classify(_mentions(texts)), truth, strict=True):  # type: ignore[attr-defined]
        counts.add(bool(label), verdict.is_complaint)
    return counts


EVAL_SETS: tuple[tuple[str, Callable[[], datasets.Dataset]], ...] = (
    ("IndoNLU SmSA test (negative vs rest)", datasets.smsa_test),
    ("US airline (negative vs positive, eval-only)", datasets.airline),
    ("ID telco (negative vs positive, eval-only)", datasets.telco),
)


@dataclass(slots=True)
class OperatingResults:
    labels: list[str]
    per_set: dict[str, list[Counts]]
    keys: dict[str, list[KeyReport]]


def measure(ref: str = OLD_REF) -> OperatingResults:
    chosen = contenders(ref)
    per_set: dict[str, list[Counts]] = {}
    keys: dict[str, list[KeyReport]] = {}
    for name, load_key in (("sample key", load_sample_key), ("held-out Santapin (eval-only)", load_heldout)):
        mentions, truths = load_key()
        keys[name] = [score_key(c.label, c.classifier, mentions, truths) for c in chosen]
        per_set[name] = [r.overall for r in keys[name]]
    for name, load_set in EVAL_SETS:
        ds = load_set()
        per_set[f"{name} ({len(ds.texts)})"] = [_dataset_counts(c.classifier, ds.texts, ds.complaint) for c in chosen]
    return OperatingResults([c.label for c in chosen], per_set, keys)


def operating_table(results: OperatingResults) -> str:
    head = "| set | " + " | ".join(f"{label}: P / R" for label in results.labels) + " |"
    lines = [head, "|---|" + "---|" * len(results.labels)]
    for name, counts in results.per_set.items():
        cells = [f"{c.precision:.3f} / {c.recall:.3f}" for c in counts]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, reports in results.keys.items():
        for lang in ("en", "id"):
            cells = [
                f"{r.by_lang[lang].precision:.3f} / {r.by_lang[lang].recall:.3f}" if lang in r.by_lang else "–"
                for r in reports
            ]
            lines.append(f"| {name}, {lang} | " + " | ".join(cells) + " |")
        cells = [f"{r.critical_high}/{r.critical} ≥ high ({r.critical_exact} critical)" for r in reports]
        lines.append(f"| {name}: critical complaints | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def kinds_tables(results: OperatingResults) -> str:
    parts = []
    for name, reports in results.keys.items():
        parts.append(f"Kinds of misses: {name}\n\n" + kinds_table([(r.name, r) for r in reports]))
    return "\n\n".join(parts)
