"""Surging words: the words people are suddenly using far more than usual at this time of day.

When the water stops in one district, fifty people describe it fifty ways, with their own
street names; what they share is a few words ("air", "ngalir", "pdam") that are suddenly
far more frequent than usual. Those words are given more weight in the similarity while
they surge, so the reports find each other; the street names, each used once, do not.

A word surges when the reports using it in the trailing `window` are anomalous
against its usual count for that time of day (the same clock hours on previous covered
days, busiest day left out) by the same test as incidents. Its weight is then multiplied
by 1 + surge_weight × (the share of its current use above the usual level). Before
`min_history_days` covered days exist nothing surges: a new installation learns first.

Everything is a function of the complaints before the moment asked about (in event
order), so a replay gives the same weights.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import replace

from monitor.incidents.baseline import DAY_S, HOUR_S, Coverage
from monitor.incidents.stats import AnomalySettings, Usual, excess_share, needed_count

SURGE_P_VALUE = 1e-6
SURGE_RATIO = 5.0
SURGE_MIN_AUTHORS = 5

Extra = dict[str, float]
"""Per surging word, its squared weight multiplier minus one (0 for every other word)."""


class WordRates:
    """Per-word use in the trailing window and per event hour, over the look-back of the baselines."""

    def __init__(self, settings: AnomalySettings, window: float, min_authors: int, surge_weight: float) -> None:
        # Thousands of words are tested on every report: only a surge no background wobble explains counts.
        self.settings = replace(settings, p_value=SURGE_P_VALUE, ratio=max(settings.ratio, SURGE_RATIO))
        self.least = max(min_authors, SURGE_MIN_AUTHORS)
        self.window = window
        self.min_authors = min_authors
        self.surge_weight = surge_weight
        self.span = settings.baseline_days * DAY_S + window + HOUR_S
        self.hours: dict[int, Counter[str]] = {}
        self.coverage = Coverage()
        self.recent: deque[tuple[float, str, tuple[str, ...]]] = deque()
        self.authors: Counter[str] = Counter()
        """Reports using each word within the window."""
        self.surging: Extra = {}
        self._usual: dict[tuple[str, int], float] = {}
        self._thresholds: dict[tuple[str, int], tuple[Usual | None, int]] = {}
        self._needed_hour = -1
        self._needed: dict[str, int] = {}
        """This hour's surge threshold per word already judged (a word below it needs no judging)."""

    def add(self, at: float, author: str, words: Iterable[str]) -> None:
        """Count a report's words (each once) and bring the surging set up to date.

        Within the window a word counts reports, not authors: cheaper, and a word one person
        repeats cannot raise anything alone (incidents count distinct authors)."""
        words = tuple(words)
        hour = int(at // HOUR_S)
        counts = self.hours.get(hour)
        if counts is None:
            counts = self.hours[hour] = Counter()
            self._evict(at)
        counts.update(words)
        self.coverage.add(at)
        recent = self.recent
        recent.append((at, author, words))
        window = self.authors
        window.update(words)
        least = self.least
        judge = self._judge
        if hour != self._needed_hour:
            self._needed_hour, self._needed = hour, {}
        needed = self._needed
        for word in words:
            count = window[word]
            if count >= needed.get(word, least) or (count >= least and word in self.surging):
                judge(word, at)
        horizon = at - self.window
        surging = self.surging
        while recent and recent[0][0] <= horizon:
            for word in recent.popleft()[2]:
                left = window[word] - 1
                if left:
                    window[word] = left
                else:
                    del window[word]
                if word in surging:
                    judge(word, at)

    def _evict(self, now: float) -> None:
        oldest = int((now - self.span) // HOUR_S)
        for hour in [h for h in self.hours if h < oldest]:
            del self.hours[hour]
        self.coverage.prune(now - self.span)
        # Memos are per clock hour and reports come in event-time order: an hour gone by is never asked
        # again, so it is dropped (kept whole, they grew by ~50 MB a million mentions).
        current = int(now // HOUR_S) - 1
        self._usual = {key: value for key, value in self._usual.items() if key[1] >= current}
        self._thresholds = {key: value for key, value in self._thresholds.items() if key[1] >= current}

    def usual(self, word: str, at: float) -> Usual | None:
        """The usual number of reports using `word` in the window's clock hours (None before enough history)."""
        offsets = self.coverage.covered_offsets(at, self.settings.baseline_days)
        if len(offsets) < self.settings.min_history_days:
            return None
        hour = int(at // HOUR_S)
        key = (word, hour)
        expected = self._usual.get(key)
        if expected is None:
            spanned = max(1, math.ceil(self.window / HOUR_S))
            per_day = []
            for k in offsets:
                base = hour - 24 * k
                per_day.append(sum(self.hours.get(h, _EMPTY).get(word, 0) for h in range(base - spanned + 1, base + 1)))
            per_day.sort()
            if len(per_day) >= 3:
                per_day = per_day[:-1]
            expected = self._usual[key] = sum(per_day) / len(per_day) * (self.window / (spanned * HOUR_S))
        return Usual(expected, len(offsets), "same time of day")

    def _judge(self, word: str, at: float) -> None:
        observed = self.authors.get(word, 0)
        extra = 0.0
        if observed >= self.least:
            hour = int(at // HOUR_S)
            judged = self._thresholds.get((word, hour))
            if judged is None:
                usual = self.usual(word, at)
                judged = self._thresholds[(word, hour)] = (
                    (None, 0) if usual is None else (usual, needed_count(usual, self.settings, self.least))
                )
            usual, needed = judged
            self._needed[word] = needed if usual is not None else 1 << 30
            if usual is not None and observed >= needed:
                multiplier = 1.0 + self.surge_weight * excess_share(observed, usual)
                extra = multiplier * multiplier - 1.0
        if extra:
            self.surging[word] = extra
        elif word in self.surging:
            del self.surging[word]


_EMPTY: Counter[str] = Counter()


def weighted_norm2(vector: dict[str, int], norm2: float, extra: Extra) -> float:
    """The squared norm of `vector` with the surging words weighted up."""
    if not extra:
        return norm2
    if len(extra) < len(vector):
        get = vector.get
        return norm2 + sum(e * get(w, 0) ** 2 for w, e in extra.items())
    return norm2 + sum(extra[w] * v * v for w, v in vector.items() if w in extra)


def weighted_cosine(a: dict[str, int], a_norm2: float, b: dict[str, int], b_norm2: float, extra: Extra) -> float:
    """Cosine of two feature vectors, the surging words weighted up in both."""
    if not a_norm2 or not b_norm2:
        return 0.0
    if len(a) > len(b):
        a, b, a_norm2, b_norm2 = b, a, b_norm2, a_norm2
    get = b.get
    dot = 0.0
    if extra:
        surge = extra.get
        for key, value in a.items():
            other = get(key)
            if other is not None:
                dot += value * other * (1.0 + surge(key, 0.0))
        a_norm2 = weighted_norm2(a, a_norm2, extra)
        b_norm2 = weighted_norm2(b, b_norm2, extra)
    else:
        for key, value in a.items():
            other = get(key)
            if other is not None:
                dot += value * other
    return dot / math.sqrt(a_norm2 * b_norm2)
