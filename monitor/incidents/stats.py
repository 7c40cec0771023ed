"""The one statistic incident detection needs: how unlikely a count is at a usual rate.

Pure Python (the regularised incomplete gamma function of Numerical Recipes), so that
commands which never detect anything do not pay for importing scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


def poisson_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean): the chance of seeing at least `count` at the usual rate."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    # P(X >= k) = P(k, mean), the regularised lower incomplete gamma function.
    if mean < count + 1:
        return min(1.0, _lower_series(count, mean))
    return max(0.0, 1.0 - _upper_fraction(count, mean))


def _log_prefactor(a: float, x: float) -> float:
    return -x + a * math.log(x) - math.lgamma(a)


def _lower_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(_log_prefactor(a, x))


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x) by Lentz's continued fraction (converges fast for x > a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(_log_prefactor(a, x)) * h


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    baseline_days: int = 7
    min_history_days: int = 3
    ratio: float = 3.0
    """Observed must be at least this many times the usual count…"""
    p_value: float = 0.001
    """…and this unlikely under a Poisson law at the usual rate."""
    least_usual: float = 0.1
    """The usual count assumed when history shows none (a problem never seen is not impossible)."""
    coincidence: float = 0.01
    """…and at least this share of all complaints in the window: the more reports arrive, the more
    of them look alike by chance."""


@dataclass(frozen=True, slots=True)
class Usual:
    """The usual count for a window, and how it was judged."""

    expected: float
    days: int
    """Covered days it averages over (0: the trailing-day fallback or no history)."""
    how: str
    """'same time of day', 'trailing day' or 'no history'."""


def is_anomalous(observed: int, usual: Usual, settings: AnomalySettings, least: int = 1) -> bool:
    """Whether `observed` reports are clearly above `usual` (and at least `least`)."""
    if observed < least or observed < settings.ratio * usual.expected:
        return False
    return poisson_tail(observed, max(usual.expected, settings.least_usual)) < settings.p_value


def needed_count(usual: Usual, settings: AnomalySettings, least: int = 1) -> int:
    """The fewest reports that are anomalous against `usual` (what `is_anomalous` asks, solved for the count)."""
    needed = max(least, math.ceil(settings.ratio * usual.expected), 1)
    while not is_anomalous(needed, usual, settings, least):
        needed += 1
    return needed


def excess_share(observed: int, usual: Usual) -> float:
    """The share of what is observed that is above the usual level (0 when nothing is)."""
    if observed <= 0:
        return 0.0
    return max(0.0, 1.0 - usual.expected / observed)
