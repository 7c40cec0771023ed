"""How the model does on the team's own labels, and what complaint share (prior) its stream has.

`label_report`: precision, recall and F1 of the model's own verdicts (before any label overrides them)
against the stored human labels, each with a 95 % Wilson interval, plus urgency and category accuracy.
`prior_report`: the stream's complaint share estimated from its unlabelled mentions by EM (Saerens et al.
2002), per complaint head, and the precision the operating point then has on that stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from classifiers.classifier import Classifier
from classifiers.model import HEAD_FOR_LANGUAGE
from classifiers.operating import PriorEstimate, em_prior, wilson
from monitor.models import Mention


@dataclass(frozen=True, slots=True)
class TeamLabel:
    mention: Mention
    is_complaint: bool | None
    urgency: str | None
    category: str | None


@dataclass(slots=True)
class LabelReport:
    labels: int = 0
    judged: int = 0  # labels that say complaint or not
    complaints: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    urgency_total: int = 0
    urgency_right: int = 0
    category_total: int = 0
    category_right: int = 0
    trained_on: int = 0  # stored labels the model in use was trained with

    def lines(self) -> list[str]:
        def share(k: int, n: int) -> str:
            if n == 0:
                return "–"
            low, high = wilson(k, n)
            return f"{k / n:.3f} (95% CI {low:.3f}–{high:.3f}, {k}/{n})"

        precision_n, recall_n = self.tp + self.fp, self.tp + self.fn
        p = self.tp / precision_n if precision_n else 0.0
        r = self.tp / recall_n if recall_n else 0.0
        out = [
            f"stored labels: {self.labels} ({self.judged} say complaint or not: {self.complaints} complaints)",
            f"complaint precision: {share(self.tp, precision_n)}",
            f"complaint recall:    {share(self.tp, recall_n)}",
            f"complaint F1:        {2 * p * r / (p + r):.3f}" if p + r else "complaint F1:        –",
            f"urgency (exact):     {share(self.urgency_right, self.urgency_total)}",
            f"category:            {share(self.category_right, self.category_total)}",
        ]
        if self.trained_on:
            out.append(
                f"note: the model in use was trained with {self.trained_on} stored labels, so these figures are "
                "optimistic for the labels it saw; new labels measure it fairly"
            )
        return out


def label_report(classifier: Classifier, labels: Sequence[TeamLabel], trained_on: int = 0) -> LabelReport:
    report = LabelReport(labels=len(labels), trained_on=trained_on)
    verdicts = classifier.classify([label.mention for label in labels]) if labels else []
    for label, verdict in zip(labels, verdicts, strict=True):
        if label.is_complaint is not None:
            report.judged += 1
            report.complaints += label.is_complaint
            report.tp += label.is_complaint and verdict.is_complaint
            report.fp += (not label.is_complaint) and verdict.is_complaint
            report.fn += label.is_complaint and not verdict.is_complaint
        if label.urgency and label.urgency != "none" and label.is_complaint is not False:
            report.urgency_total += 1
            report.urgency_right += verdict.urgency.value == label.urgency
        if label.category:
            report.category_total += 1
            report.category_right += verdict.category == label.category
    return report


MIN_MENTIONS = 50
"""A language needs at least this many stored mentions for its prior to be estimated."""


@dataclass(slots=True)
class PriorReport:
    mentions: int
    by_head: dict[str, PriorEstimate] = field(default_factory=dict)
    too_few: dict[str, int] = field(default_factory=dict)
    precision: dict[str, tuple[float, float]] = field(default_factory=dict)  # head: (at training prior, at stream)

    def lines(self) -> list[str]:
        out = [f"stream prior (EM, Saerens et al. 2002) over {self.mentions} stored mentions:"]
        for head, count in self.too_few.items():
            out.append(f"  {head}: {count} mentions, too few to estimate (at least {MIN_MENTIONS})")
        for head, est in self.by_head.items():
            trained, stream = self.precision.get(head, (float("nan"), float("nan")))
            out.append(
                f"  {head}: {est.mentions} mentions; training mix {est.training_prior:.2f}, flagged at 0.5 "
                f"{est.naive:.2f}, estimated complaint share {est.prior:.2f} ({est.iterations} EM steps); "
                f"precision at the operating point {trained:.2f} where it was measured → {stream:.2f} on this stream"
            )
        if self.by_head:
            estimated = sum(e.mentions for e in self.by_head.values())
            overall = sum(e.prior * e.mentions for e in self.by_head.values()) / estimated
            out.append(f"to score for this stream, set classifier.stream_prior: {overall:.2f}")
        return out


def precision_at(prior: float, training_prior: float, recall: float, precision: float) -> float:
    """The precision an operating point measured at `training_prior` has on a stream with `prior`
    (recall and the false-positive rate do not change with the prior)."""
    if recall <= 0 or precision <= 0:
        return 0.0
    false_positive_rate = recall * training_prior * (1 - precision) / (precision * (1 - training_prior))
    return prior * recall / (prior * recall + (1 - prior) * false_positive_rate)


def prior_report(
    classifier: Classifier,
    mentions: Sequence[Mention],
    operating: dict[str, dict[str, float]],
    priors: dict[str, float],
) -> PriorReport:
    """`classifier` must score as trained (no `stream_prior`); `operating`/`priors` come from the model's manifest."""
    report = PriorReport(len(mentions))
    if not mentions:
        return report
    scores = classifier.scores([m.text for m in mentions], [m.lang for m in mentions])
    heads = np.array([HEAD_FOR_LANGUAGE.get(lang, "all") for lang in scores.langs])
    for head in ("en", "id", "all"):
        rows = heads == head
        if not rows.any() or head not in priors:
            continue
        if rows.sum() < MIN_MENTIONS:
            report.too_few[head] = int(rows.sum())
            continue
        estimate = em_prior(scores.complaint[rows], priors[head])
        report.by_head[head] = estimate
        point = operating.get(head)
        if point:
            # the operating point was measured on held-out examples and team labels: their own complaint share
            measured_prior = float(point["complaints"]) / max(float(point["rows"]), 1.0)
            report.precision[head] = (
                float(point["precision"]),
                precision_at(estimate.prior, measured_prior, float(point["recall"]), float(point["precision"])),
            )
    return report
