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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np

from monitor.incidents.groups import GENERIC_CATEGORIES
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
        self._offsets: dict[tuple[int, int], list[int]] = {}

    def add(self, at: float) -> None:
        day = int(at // DAY_S)
        if day not in self.days:
            self.days.add(day)
            self._offsets.clear()
        if self.first is None or at < self.first:
            self.first = at

    def covered_offsets(self, at: float, max_days: int) -> list[int]:
        key = (int(at // DAY_S), max_days)
        offsets = self._offsets.get(key)
        if offsets is None:
            today = key[0]
            offsets = self._offsets[key] = [k for k in range(1, max_days + 1) if today - k in self.days]
        return offsets

    def prune(self, before: float) -> None:
        cutoff = int(before // DAY_S)
        if any(d < cutoff for d in self.days):
            self.days = {d for d in self.days if d >= cutoff}
            self._offsets.clear()


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


class _Block(NamedTuple):
    """Rows of one bucket as numpy arrays: their entries sorted by key (an inverted index), or not."""

    times: np.ndarray
    authors: np.ndarray
    categories: np.ndarray
    specific: np.ndarray
    """Whether each row's category is a specific one (not `other` and the like)."""
    keys: np.ndarray
    values: np.ndarray
    rows: np.ndarray
    by_key: bool


class _Grow:
    """A numpy array that grows at the end (capacity doubling): the rows a bucket has converted so far."""

    __slots__ = ("data", "size")

    def __init__(self, dtype: type) -> None:
        self.data: np.ndarray = np.zeros(64, dtype=dtype)
        self.size = 0

    def extend(self, values: list) -> None:  # type: ignore[type-arg]
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def view(self, start: int = 0, end: int | None = None) -> np.ndarray:
        return self.data[start : self.size if end is None else end]


class _Bucket:
    """One event hour of complaints: rows of hashed, unit-normalised feature weights, and each row's category.

    While its hour runs it is read as two blocks: the rows seen at the last freeze, sorted by key,
    and those added since, unsorted (the current hour grows between queries: sorting it all again
    for each query would cost more than the query). New rows wait in lists until read. Once the
    hour is over the bucket is sealed: one sorted block of exact-size arrays, nothing else kept
    (history is days of complaints: lists of Python numbers would be ten times the size).
    """

    __slots__ = ("times", "authors", "categories", "keys", "values", "rows", "count", "_numpy", "_frozen")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.authors: list[int] = []
        self.categories: list[int] = []
        self.keys: list[int] = []
        self.values: list[float] = []
        self.rows: list[int] = []
        self.count = 0
        """Rows appended in all (the lists hold only those not yet read)."""
        self._numpy: tuple[_Grow, ...] | None = None
        self._frozen: tuple[int, _Block] | None = None

    def append(self, at: float, author: int, category: int, vector: dict[str, int], norm2: int) -> None:
        if self._numpy is None and self._frozen is not None:
            self._reopen()
        row = self.count
        self.count += 1
        self.times.append(at)
        self.authors.append(author)
        self.categories.append(category)
        scale = 1.0 / math.sqrt(norm2) if norm2 else 0.0
        self.keys.extend(map(hash, vector))
        self.values.extend([value * scale for value in vector.values()])
        self.rows.extend([row] * len(vector))

    def _converted(self, generic: set[int]) -> tuple[_Grow, ...]:
        """The rows as numpy arrays (times, authors, categories, specific, keys, values, rows), all of them."""
        if self._numpy is None:
            self._numpy = (
                _Grow(np.float64), _Grow(np.int64), _Grow(np.int32), _Grow(np.bool_),
                _Grow(np.int64), _Grow(np.float64), _Grow(np.int64),
            )  # fmt: skip
        times, authors, categories, specific, keys, values, rows = self._numpy
        if self.times:
            times.extend(self.times)
            authors.extend(self.authors)
            categories.extend(self.categories)
            specific.extend([c not in generic for c in self.categories])
            keys.extend(self.keys)
            values.extend(self.values)
            rows.extend(self.rows)
            for pending in (self.times, self.authors, self.categories, self.keys, self.values, self.rows):
                pending.clear()
        return self._numpy

    def blocks(self, generic: set[int]) -> list[_Block]:
        if self._numpy is None and self._frozen is not None:
            return [self._frozen[1]]  # sealed
        times, authors, categories, specific, keys, values, rows = self._converted(generic)
        total_rows = times.size
        frozen = self._frozen
        if frozen is None or total_rows - frozen[0] > max(64, frozen[0] // 4):
            order = np.argsort(keys.view(), kind="stable")
            block = _Block(
                times.view(), authors.view(), categories.view(), specific.view(),
                keys.view()[order], values.view()[order], rows.view()[order], True,
            )  # fmt: skip
            frozen = self._frozen = (total_rows, block)
        done_rows, block = frozen
        if done_rows == total_rows:
            return [block]
        done_entries = len(block.keys)
        tail = _Block(
            times.view(done_rows), authors.view(done_rows), categories.view(done_rows), specific.view(done_rows),
            keys.view(done_entries), values.view(done_entries), rows.view(done_entries) - done_rows, False,
        )  # fmt: skip
        return [block, tail]

    def seal(self, generic: set[int]) -> None:
        """The hour is over: keep one sorted block of exact-size arrays and nothing else."""
        if self._numpy is None and self._frozen is not None:
            return
        times, authors, categories, specific, keys, values, rows = self._converted(generic)
        order = np.argsort(keys.view(), kind="stable")
        block = _Block(
            times.view().copy(), authors.view().copy(), categories.view().copy(), specific.view().copy(),
            keys.view()[order], values.view()[order], rows.view()[order].astype(np.int32), True,
        )  # fmt: skip
        self._frozen = (times.size, block)
        self._numpy = None

    def _reopen(self) -> None:
        """A row for an hour already sealed (only when history is read out of order): grow it again."""
        assert self._frozen is not None
        block = self._frozen[1]
        grown = (
            _Grow(np.float64), _Grow(np.int64), _Grow(np.int32), _Grow(np.bool_),
            _Grow(np.int64), _Grow(np.float64), _Grow(np.int64),
        )  # fmt: skip
        for target, source in zip(
            grown,
            (block.times, block.authors, block.categories, block.specific, block.keys, block.values, block.rows),
            strict=True,
        ):
            target.extend(source.tolist())
        self._numpy = grown
        self._frozen = None


@dataclass(frozen=True, slots=True)
class Likeness:
    """What makes a complaint 'like' a group: the rule a report must meet to join it.

    cosine(report, centroid) + category term >= threshold, where the category term is `bonus`
    when the report has the group's specific category, minus `penalty` when it has another
    specific one, else 0 (see Engine._category_term).
    """

    centroid: dict[str, int]
    norm2: int
    threshold: float
    category: str = "other"
    bonus: float = 0.0
    penalty: float = 0.0
    extra: dict[str, float] | None = None
    """Surging words and their squared weight multiplier minus one (see `surges`)."""


_NO_INTS = np.zeros(0, dtype=np.int64)


def _sorted_matches(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a bucket's key-sorted entries holding any of `keys`, and which of `keys` each is."""
    start = np.searchsorted(sorted_keys, keys, "left")
    count = np.searchsorted(sorted_keys, keys, "right") - start
    total = int(count.sum())
    if not total:
        return _NO_INTS, _NO_INTS
    which = np.repeat(np.arange(len(keys)), count)
    positions = np.arange(total) + np.repeat(start - (np.cumsum(count) - count), count)
    return positions, which


def _unsorted_matches(block_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_sorted_matches` for a block whose entries are not sorted: each entry looked up among `keys`."""
    if not len(keys) or not len(block_keys):
        return _NO_INTS, _NO_INTS
    position = np.searchsorted(keys, block_keys)
    np.minimum(position, len(keys) - 1, out=position)
    hit = np.flatnonzero(keys[position] == block_keys)
    return hit, position[hit]


def _matches(block: _Block, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block's entries holding any of the sorted `keys`, and which of `keys` each is."""
    return (_sorted_matches if block.by_key else _unsorted_matches)(block.keys, keys)


class _Query(_Counter):
    """A Likeness compiled for numpy, counting distinct alike authors in time ranges of a TextHistory."""

    def __init__(self, history: TextHistory, like: Likeness) -> None:
        extra = like.extra or {}
        centroid = like.centroid
        count = len(centroid)
        keys = np.fromiter(map(hash, centroid), dtype=np.int64, count=count)
        weights = np.fromiter(centroid.values(), dtype=np.float64, count=count)
        norm2 = float(like.norm2)
        if extra:
            boost = np.fromiter((extra.get(k, 0.0) for k in centroid), dtype=np.float64, count=count)
            norm2 += float(np.dot(boost, weights * weights))
            weights *= 1.0 + boost
        order = np.argsort(keys)
        self.history = history
        self.keys = keys[order]
        self.weights = weights[order] / math.sqrt(norm2)
        surging = sorted((hash(k), e) for k, e in extra.items())
        self.surge_keys = np.fromiter((k for k, _ in surging), dtype=np.int64, count=len(surging))
        self.surge_extra = np.fromiter((e for _, e in surging), dtype=np.float64, count=len(surging))
        self.threshold = like.threshold - 1e-9
        specific = history.category_code(like.category) if like.category not in GENERIC_CATEGORIES else -1
        self.category = specific
        self.bonus = like.bonus
        self.penalty = like.penalty

    def now(self, at: float) -> int:
        """Distinct alike authors in the window ending at `at`."""
        (count,) = self.counts([(at - self.history.window, at)])
        return count

    def usual(self, at: float, settings: AnomalySettings) -> Usual:
        """The usual number of distinct alike authors in a window ending at this time of day."""
        return usual_count(self, self.history.coverage, at, self.history.window, settings)

    def counts(self, ranges: list[tuple[float, float]]) -> list[int]:
        out = []
        generic = self.history.generic
        for lo, hi in ranges:
            authors: set[int] = set()
            for bucket in self.history.hours(lo, hi):
                for block in bucket.blocks(generic):
                    self._alike_authors(block, lo, hi, authors)
            out.append(len(authors))
        return out

    def _alike_authors(self, block: _Block, lo: float, hi: float, authors: set[int]) -> None:
        n = len(block.times)
        positions, which = _matches(block, self.keys)
        with_category = self.category >= 0 and (self.bonus or self.penalty)
        if not len(positions) and not (with_category and self.bonus):
            return
        if len(positions):
            weights = self.weights[which] * block.values[positions]
            score: np.ndarray = np.bincount(block.rows[positions], weights=weights, minlength=n).astype(float)
        else:
            score = np.zeros(n)
        if len(self.surge_keys):
            positions, which = _matches(block, self.surge_keys)
            if len(positions):
                extra = self.surge_extra[which] * block.values[positions] ** 2
                score /= np.sqrt(1.0 + np.bincount(block.rows[positions], weights=extra, minlength=n))
        if with_category:
            same = block.categories == self.category
            score[same] += self.bonus
            if self.penalty:
                score[~same & block.specific] -= self.penalty
        alike = (score >= self.threshold) & (block.times > lo) & (block.times <= hi)
        if alike.any():
            authors.update(block.authors[alike].tolist())


class TextHistory:
    """The last `baseline_days` days of complaints, to count those alike to a group in a window."""

    def __init__(self, baseline_days: int, window: timedelta) -> None:
        self.window = window.total_seconds()
        self.span = baseline_days * DAY_S + self.window + HOUR_S
        self.buckets: dict[int, _Bucket] = {}
        self.coverage = Coverage()
        self._codes: dict[str, int] = {}
        self.generic: set[int] = set()
        """Codes of the generic categories (`other`…), which never earn a bonus or a penalty."""

    def category_code(self, category: str) -> int:
        code = self._codes.get(category)
        if code is None:
            code = self._codes[category] = len(self._codes)
            if category in GENERIC_CATEGORIES:
                self.generic.add(code)
        return code

    def add(self, at: float, author: str, category: str, vector: dict[str, int], norm2: int) -> None:
        hour = int(at // HOUR_S)
        bucket = self.buckets.get(hour)
        if bucket is None:
            for earlier in self.buckets.values():  # a new hour: the hours before it are complete
                earlier.seal(self.generic)
            bucket = self.buckets[hour] = _Bucket()
            self._evict(at)
        bucket.append(at, hash(author), self.category_code(category), vector, norm2)
        self.coverage.add(at)

    def _evict(self, now: float) -> None:
        oldest = int((now - self.span) // HOUR_S)
        for hour in [h for h in self.buckets if h < oldest]:
            del self.buckets[hour]
        self.coverage.prune(now - self.span)

    def hours(self, lo: float, hi: float) -> Iterator[_Bucket]:
        for hour in range(int(lo // HOUR_S), int(hi // HOUR_S) + 1):
            bucket = self.buckets.get(hour)
            if bucket is not None:
                yield bucket

    def word_counts(self, words: list[str], ranges: list[tuple[float, float]]) -> tuple[int, list[int]]:
        """The complaints in `ranges` using any of `words`, and how many of them use each."""
        if not words:
            return 0, []
        keys = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
        order = np.argsort(keys)
        keys = keys[order]
        total = 0
        counts = np.zeros(len(words), dtype=np.int64)
        for lo, hi in ranges:
            for bucket in self.hours(lo, hi):
                for block in bucket.blocks(self.generic):
                    positions, which = _matches(block, keys)
                    if not len(positions):
                        continue
                    rows = block.rows[positions]
                    times = block.times[rows]
                    inside = (times > lo) & (times <= hi)
                    total += len(np.unique(rows[inside]))
                    counts += np.bincount(which[inside], minlength=len(words))
        by_word = np.zeros(len(words), dtype=np.int64)
        by_word[order] = counts
        return total, by_word.tolist()

    def query(self, like: Likeness) -> _Query | None:
        """Counting complaints alike to `like` (None for an empty text)."""
        if not like.norm2 or not like.centroid:
            return None
        return _Query(self, like)


def to_datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
