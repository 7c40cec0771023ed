"""What is usual: how many reports like these arrive at this time of day, from the stream's own past.

Downdetector's idea: a problem is an incident when reports of it arrive clearly above
its own usual level *for that time of day*. The usual level of a window ending at t is
the same window (same clock time) on each of the previous `baseline_days` days that
the store covers; before `min_history_days` such days exist (a new installation), it is
the trailing day before the window, scaled to the window's length.

Two kinds of "reports like these":

- `TextHistory`: complaints whose text is as alike to a group's centroid as a report
  must be to join it (the same problem in other people's words). Compact: one row of
  hashed feature weights per complaint, in hour buckets, scored with numpy.
- `CategoryRates`: complaints of one category (for a category's own anomaly and bursts).

Both are fed in event-time order and hold only the look-back span; everything is a pure
function of the complaints before the moment asked about, so a replay gives the same answers.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np

from monitor.incidents.stats import AnomalySettings, Usual

HOUR_S = 3600.0
DAY_S = 86400.0


def timestamp(dt: datetime) -> float:
    return dt.timestamp()


class Coverage:
    """The days (UTC) on which the store holds complaints: days before monitoring began are not 'zero'."""

    def __init__(self) -> None:
        self.days: set[int] = set()
        self.first: float | None = None

    def add(self, at: float) -> None:
        self.days.add(int(at // DAY_S))
        if self.first is None or at < self.first:
            self.first = at

    def covered_offsets(self, at: float, max_days: int) -> list[int]:
        today = int(at // DAY_S)
        return [k for k in range(1, max_days + 1) if today - k in self.days]

    def prune(self, before: float) -> None:
        cutoff = int(before // DAY_S)
        self.days = {d for d in self.days if d >= cutoff}


def usual_count(
    counter: _Counter,
    coverage: Coverage,
    at: float,
    window: float,
    settings: AnomalySettings,
) -> Usual:
    """The usual count in the window (at - window, at] from `counter`, by the rule in the module doc.

    Robust to one earlier incident: the busiest of the previous days is left out of the mean,
    and the trailing day is judged by the median of its window-long slots.
    """
    offsets = coverage.covered_offsets(at, settings.baseline_days)
    if len(offsets) >= settings.min_history_days:
        counts = sorted(counter.counts([(at - k * DAY_S - window, at - k * DAY_S) for k in offsets]))
        if len(counts) >= 3:
            counts = counts[:-1]
        return Usual(sum(counts) / len(counts), len(offsets), "same time of day")
    start = max(at - DAY_S, coverage.first if coverage.first is not None else at)
    slots = int(((at - window) - start) // window)
    if slots < 2:
        return Usual(0.0, 0, "no history")
    ends = [at - window * k for k in range(1, slots + 1)]
    counts = sorted(counter.counts([(end - window, end) for end in ends]))
    middle = len(counts) // 2
    median = counts[middle] if len(counts) % 2 else (counts[middle - 1] + counts[middle]) / 2
    return Usual(float(median), 0, "trailing day")


class _Counter:
    """Something that counts reports in half-open event-time ranges (lo, hi]."""

    def counts(self, ranges: list[tuple[float, float]]) -> list[int]:  # pragma: no cover - protocol
        raise NotImplementedError


# ---- category rates -------------------------------------------------------------------------------


class _Series(_Counter):
    """Times (and mention pks) of one category's complaints, in event order, trimmed from the front."""

    __slots__ = ("times", "pks", "start")

    def __init__(self) -> None:
        self.times = array("d")
        self.pks = array("q")
        self.start = 0

    def append(self, at: float, pk: int) -> None:
        self.times.append(at)
        self.pks.append(pk)

    def counts(self, ranges: list[tuple[float, float]]) -> list[int]:
        times, start = self.times, self.start
        n = len(times)
        return [bisect_left(times, hi, start, n) - bisect_left(times, lo, start, n) for lo, hi in ranges]

    def between(self, lo: float, hi: float) -> tuple[list[float], list[int]]:
        """Times and pks in [lo, hi)."""
        n = len(self.times)
        a = bisect_left(self.times, lo, self.start, n)
        b = bisect_left(self.times, hi, self.start, n)
        return list(self.times[a:b]), list(self.pks[a:b])

    def trim(self, before: float) -> None:
        self.start = bisect_left(self.times, before, self.start, len(self.times))
        if self.start > 4096 and self.start * 2 > len(self.times):
            del self.times[: self.start]
            del self.pks[: self.start]
            self.start = 0


class CategoryRates:
    """Complaint times per category over the look-back span (event time)."""

    def __init__(self, span_days: int) -> None:
        self.span = span_days * DAY_S + DAY_S
        self.series: dict[str, _Series] = {}
        self.coverage = Coverage()
        self._trimmed_at = -math.inf

    def add(self, category: str, at: float, pk: int) -> None:
        series = self.series.get(category)
        if series is None:
            series = self.series[category] = _Series()
        series.append(at, pk)
        self.coverage.add(at)
        if at - self._trimmed_at > HOUR_S:
            self._trim(at)

    def _trim(self, now: float) -> None:
        self._trimmed_at = now
        for series in self.series.values():
            series.trim(now - self.span)
        self.coverage.prune(now - self.span)

    def count(self, category: str, lo: float, hi: float) -> int:
        series = self.series.get(category)
        return series.counts([(lo, hi)])[0] if series is not None else 0

    def usual(self, category: str, at: float, window: float, settings: AnomalySettings) -> Usual:
        series = self.series.get(category)
        if series is None:
            return Usual(0.0, 0, "no history")
        return usual_count(series, self.coverage, at, window, settings)

    def hour(self, category: str, hour_start: float) -> tuple[list[float], list[int]]:
        series = self.series.get(category)
        return series.between(hour_start, hour_start + HOUR_S) if series is not None else ([], [])

    def categories(self) -> list[str]:
        return sorted(self.series)


# ---- text history ---------------------------------------------------------------------------------


class _Bucket:
    """One event hour of complaints: rows of hashed, unit-normalised feature weights."""

    __slots__ = ("times", "authors", "keys", "values", "rows", "_frozen", "_frozen_n")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.authors: list[int] = []
        self.keys: list[int] = []
        self.values: list[float] = []
        self.rows: list[int] = []
        self._frozen: tuple[np.ndarray, ...] | None = None
        self._frozen_n = 0

    def append(self, at: float, author: int, vector: dict[str, int], norm2: int) -> None:
        row = len(self.times)
        self.times.append(at)
        self.authors.append(author)
        scale = 1.0 / math.sqrt(norm2) if norm2 else 0.0
        for key, value in vector.items():
            self.keys.append(hash(key))
            self.values.append(value * scale)
            self.rows.append(row)

    def arrays(self) -> tuple[np.ndarray, ...]:
        n = len(self.times)
        if self._frozen is None or self._frozen_n != n:
            self._frozen = (
                np.asarray(self.times, dtype=np.float64),
                np.asarray(self.authors, dtype=np.int64),
                np.asarray(self.keys, dtype=np.int64),
                np.asarray(self.values, dtype=np.float64),
                np.asarray(self.rows, dtype=np.int64),
            )
            self._frozen_n = n
        return self._frozen


class TextHistory(_Counter):
    """The last `baseline_days` days of complaints, to count those alike to a centroid in a window."""

    def __init__(self, baseline_days: int, window: timedelta) -> None:
        self.window = window.total_seconds()
        self.span = baseline_days * DAY_S + self.window + HOUR_S
        self.buckets: dict[int, _Bucket] = {}
        self.coverage = Coverage()
        self._oldest = None
        self._query: tuple[np.ndarray, np.ndarray, float] | None = None

    def add(self, at: float, author: str, vector: dict[str, int], norm2: int) -> None:
        hour = int(at // HOUR_S)
        bucket = self.buckets.get(hour)
        if bucket is None:
            bucket = self.buckets[hour] = _Bucket()
            self._evict(at)
        bucket.append(at, hash(author), vector, norm2)
        self.coverage.add(at)

    def _evict(self, now: float) -> None:
        oldest = int((now - self.span) // HOUR_S)
        for hour in [h for h in self.buckets if h < oldest]:
            del self.buckets[hour]
        self.coverage.prune(now - self.span)

    def _hours(self, lo: float, hi: float) -> Iterator[_Bucket]:
        for hour in range(int(lo // HOUR_S), int(hi // HOUR_S) + 1):
            bucket = self.buckets.get(hour)
            if bucket is not None:
                yield bucket

    def counts(self, ranges: list[tuple[float, float]]) -> list[int]:
        """Distinct authors alike to the current query centroid in each (lo, hi] range."""
        assert self._query is not None
        keys, weights, threshold = self._query
        last = len(keys) - 1
        out = []
        for lo, hi in ranges:
            authors: set[int] = set()
            for bucket in self._hours(lo, hi):
                times, who, bucket_keys, values, rows = bucket.arrays()
                position = np.searchsorted(keys, bucket_keys)
                np.minimum(position, last, out=position)
                contribution = weights[position] * values
                contribution[keys[position] != bucket_keys] = 0.0
                dots = np.bincount(rows, weights=contribution, minlength=len(times))
                alike = (dots >= threshold) & (times > lo) & (times <= hi)
                if alike.any():
                    authors.update(who[alike].tolist())
            out.append(len(authors))
        return out

    def usual_alike(
        self, centroid: dict[str, int], norm2: int, at: float, threshold: float, settings: AnomalySettings
    ) -> Usual:
        """The usual number of distinct authors, in a window ending at `at`, alike to `centroid` (cosine)."""
        if not norm2 or not centroid:
            return Usual(0.0, 0, "no history")
        hashed = sorted((hash(k), v) for k, v in centroid.items())
        scale = 1.0 / math.sqrt(norm2)
        self._query = (
            np.fromiter((k for k, _ in hashed), dtype=np.int64, count=len(hashed)),
            np.fromiter((v * scale for _, v in hashed), dtype=np.float64, count=len(hashed)),
            threshold - 1e-9,
        )
        try:
            return usual_count(self, self.coverage, at, self.window, settings)
        finally:
            self._query = None


def to_datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
