"""Scoring a classifier against a hand-labelled key: recall and precision per language, critical recall,
and which kinds of complaint it misses.

Two keys ship with the project: the sample stream (`examples/sample_labels.jsonl` beside
`examples/sample_mentions.jsonl`) and the evaluation-only held-out set (`bench/data/heldout_santapin.jsonl`,
mentions and key on one line). Neither is ever used for training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from monitor.mention_io import read_mentions
from monitor.models import Classification, Mention

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_MENTIONS = ROOT / "examples" / "sample_mentions.jsonl"
SAMPLE_KEY = ROOT / "examples" / "sample_labels.jsonl"
HELDOUT = ROOT / "bench" / "data" / "heldout_santapin.jsonl"
_LEVELS = ("none", "low", "medium", "high", "critical")


class _Classifies(Protocol):
    def classify(self, mentions: Sequence[Mention]) -> list[Classification]: ...


@dataclass(frozen=True, slots=True)
class Truth:
    complaint: bool
    urgency: str
    category: str | None
    lang: str
    kind: str


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, flagged: bool) -> None:
        if truth:
            self.tp += flagged
            self.fn += not flagged
        else:
            self.fp += flagged
            self.tn += not flagged

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / max(p + r, 1e-9)


@dataclass(slots=True)
class KeyReport:
    """How a classifier did against one key."""

    name: str
    overall: Counts = field(default_factory=Counts)
    by_lang: dict[str, Counts] = field(default_factory=dict)
    by_kind: dict[str, Counts] = field(default_factory=dict)
    critical: int = 0
    critical_flagged: int = 0
    critical_high: int = 0  # flagged and rated at least high
    critical_exact: int = 0  # flagged and rated critical
    urgency_exact: int = 0
    category_right: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    false_flags: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "precision": self.overall.precision,
            "recall": self.overall.recall,
            "f1": self.overall.f1,
            "complaints": self.overall.tp + self.overall.fn,
            "by_lang": {k: {"precision": c.precision, "recall": c.recall, "f1": c.f1} for k, c in self.by_lang.items()},
            "critical": self.critical,
            "critical_high": self.critical_high,
            "critical_exact": self.critical_exact,
        }


def load_sample_key() -> tuple[list[Mention], list[Truth]]:
    """The bundled sample stream and its hand-labelled key (kind: the key's urgency level, for complaints)."""
    with SAMPLE_KEY.open(encoding="utf-8") as handle:
        key = {(r["platform"], r["id"]): r for r in map(json.loads, handle)}
    with SAMPLE_MENTIONS.open(encoding="utf-8") as handle:
        mentions = [m for m in read_mentions(handle) if (m.platform, m.id) in key]
    truths = []
    for m in mentions:
        r = key[(m.platform, m.id)]
        kind = f"{r['urgency']} complaint" if r["complaint"] else "not a complaint"
        truths.append(Truth(bool(r["complaint"]), r["urgency"], r.get("category"), r.get("lang") or "?", kind))
    return mentions, truths


def load_heldout(path: Path = HELDOUT) -> tuple[list[Mention], list[Truth]]:
    """The evaluation-only held-out set. The source language tag is dropped: the detector decides, as for
    channels that give none."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    with path.open(encoding="utf-8") as handle:
        mentions = [m for m in read_mentions(handle)]
    mentions = [_without_lang(m) for m in mentions]
    truths = [Truth(bool(r["complaint"]), r["urgency"], r.get("category"), r["lang"], r["kind"]) for r in records]
    return mentions, truths


def _without_lang(mention: Mention) -> Mention:
    from dataclasses import replace

    return replace(mention, lang=None)


def score_key(name: str, classifier: _Classifies, mentions: Sequence[Mention], truths: Sequence[Truth]) -> KeyReport:
    report = KeyReport(name)
    verdicts = classifier.classify(list(mentions))
    for mention, verdict, truth in zip(mentions, verdicts, truths, strict=True):
        flagged = verdict.is_complaint
        report.overall.add(truth.complaint, flagged)
        report.by_lang.setdefault(truth.lang, Counts()).add(truth.complaint, flagged)
        report.by_kind.setdefault(truth.kind, Counts()).add(truth.complaint, flagged)
        if truth.complaint and not flagged:
            report.missed.append((truth.kind, mention.text))
        if flagged and not truth.complaint:
            report.false_flags.append((truth.kind, mention.text))
        if truth.complaint and flagged:
            report.urgency_exact += verdict.urgency.value == truth.urgency
            report.category_right += verdict.category == truth.category
        if truth.urgency == "critical":
            report.critical += 1
            report.critical_flagged += flagged
            rank = _LEVELS.index(verdict.urgency.value)
            report.critical_high += flagged and rank >= _LEVELS.index("high")
            report.critical_exact += flagged and rank == _LEVELS.index("critical")
    return report


def kinds_table(reports: Sequence[tuple[str, KeyReport]]) -> str:
    """Markdown: per kind of mention, how many there are and how many each classifier got wrong
    (a miss for complaints, a false flag for the rest)."""
    kinds: list[str] = []
    for _, report in reports:
        kinds.extend(k for k in report.by_kind if k not in kinds)
    head = "| kind | n | " + " | ".join(f"{label}: wrong" for label, _ in reports) + " |"
    lines = [head, "|---|---|" + "---|" * len(reports)]
    for kind in sorted(kinds, key=lambda k: (not _is_complaint_kind(reports, k), k)):
        counts = [report.by_kind.get(kind, Counts()) for _, report in reports]
        n = counts[0].tp + counts[0].fn + counts[0].fp + counts[0].tn
        complaint = _is_complaint_kind(reports, kind)
        cells = [f"{c.fn} missed" if complaint else f"{c.fp} false flags" for c in counts]
        lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _is_complaint_kind(reports: Sequence[tuple[str, KeyReport]], kind: str) -> bool:
    c = reports[0][1].by_kind.get(kind, Counts())
    return c.tp + c.fn > 0


def summary_line(report: KeyReport) -> str:
    o = report.overall
    langs = "; ".join(
        f"{lang} P {c.precision:.3f} R {c.recall:.3f}"
        for lang, c in sorted(report.by_lang.items())
        if lang in ("en", "id")
    )
    return (
        f"{report.name}: P {o.precision:.3f} R {o.recall:.3f} F1 {o.f1:.3f} ({langs}); critical {report.critical}: "
        f"flagged {report.critical_flagged}, ≥high {report.critical_high}, critical {report.critical_exact}"
    )
