"""The operating point: which threshold reaches a target recall, what it costs in precision, and how the
complaint share of a stream (its prior) moves the calibrated score.

- `recall_threshold`: the highest threshold whose recall on held-out (out-of-fold) scores reaches the target.
- `em_prior`: the complaint share of an unlabelled stream, by EM prior adjustment (Saerens, Latinne and
  Decaestecker 2002, "Adjusting the outputs of a classifier to new a priori probabilities").
- `adjust`: calibrated probabilities re-weighted from the training prior to another prior.
- `wilson`: a 95 % confidence interval for a proportion (recall, precision, accuracy on a few labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    threshold: float
    recall: float
    precision: float
    complaints: int  # held-out complaints it was measured on
    rows: int
    precision_at_half: float  # the same rows at threshold 0.5, for the cost
    recall_at_half: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "threshold": round(self.threshold, 4),
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "complaints": self.complaints,
            "rows": self.rows,
            "recall_at_0.5": round(self.recall_at_half, 4),
            "precision_at_0.5": round(self.precision_at_half, 4),
        }


def _rates(probability: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    flagged = probability >= threshold
    tp = float(np.sum(flagged & (y == 1)))
    return tp / max(float(np.sum(y == 1)), 1.0), tp / max(float(np.sum(flagged)), 1.0)


def recall_threshold(probability: np.ndarray, y: np.ndarray, target: float) -> OperatingPoint:
    """The highest threshold (never above 0.5) at which at least `target` of the complaints score at or above it."""
    probability, y = np.asarray(probability, dtype=np.float64), np.asarray(y).astype(int)
    positives = np.sort(probability[y == 1])
    if not len(positives):
        raise ValueError("no complaints to choose a threshold on")
    # keep ceil(target * n) complaints: the threshold is the score of the lowest one kept
    keep = min(len(positives), max(1, math.ceil(target * len(positives) - 1e-9)))
    threshold = float(min(0.5, positives[len(positives) - keep]))
    recall, precision = _rates(probability, y, threshold)
    recall_half, precision_half = _rates(probability, y, 0.5)
    return OperatingPoint(threshold, recall, precision, int(len(positives)), int(len(y)), precision_half, recall_half)


@dataclass(frozen=True, slots=True)
class PriorEstimate:
    prior: float  # estimated complaint share of the stream
    training_prior: float
    naive: float  # share flagged at 0.5 before adjustment
    mentions: int
    iterations: int


def adjust(probability: np.ndarray, training_prior: float, prior: float) -> np.ndarray:
    """Posterior probabilities re-weighted from `training_prior` to `prior` (Bayes' rule, p(x|y) unchanged)."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-9, 1 - 1e-9)
    up = p * (prior / training_prior)
    down = (1 - p) * ((1 - prior) / (1 - training_prior))
    return up / (up + down)


def logit_shift(training_prior: float, prior: float) -> float:
    """What `adjust` adds to the log-odds."""
    return math.log(prior / (1 - prior)) - math.log(training_prior / (1 - training_prior))


def em_prior(probability: np.ndarray, training_prior: float, iterations: int = 100, tol: float = 1e-6) -> PriorEstimate:
    """EM: re-weight the posteriors to the current prior estimate, take their mean as the next one."""
    p = np.asarray(probability, dtype=np.float64)
    if not len(p):
        raise ValueError("no mentions to estimate the prior on")
    prior = training_prior
    steps = 0
    while steps < iterations:
        steps += 1
        new = min(max(float(np.mean(adjust(p, training_prior, prior))), 1e-4), 1 - 1e-4)
        converged = abs(new - prior) < tol
        prior = new
        if converged:
            break
    return PriorEstimate(prior, training_prior, float(np.mean(p >= 0.5)), len(p), steps)


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for successes / total (0, 1 when total is 0)."""
    if total <= 0:
        return 0.0, 1.0
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)
