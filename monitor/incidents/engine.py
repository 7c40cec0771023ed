"""The streaming grouping engine: pure, in memory, in event time.

Reports must be fed in event-time order, sorted by (created_at, platform,
external id). Each report joins the most similar open group or starts a new
one; a group is *raised* as an incident once `min_authors` distinct authors
reported within one `window` (the same person five times counts once).

Similarity is the cosine of the texts (EN/ID synonym-mapped words, see `text`)
plus a fixed bonus when report and group share a specific category *and* that
category runs hot (`category_authors` distinct authors in the trailing
`category_window`): when many people complain about payments within the hour,
their differently worded reports are one incident; a steady trickle of
unrelated payment complaints over two days is not.

The engine is causal and exact: where a report goes depends only on the
reports before it, and group sums use integer weights, so replaying the same
stream from a restored state gives the same groups and ids whatever order the
batches originally arrived in. Memory is bounded by the open groups: a
candidate group closes `window` after its last report, an incident after
`resolve_after`.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.incidents.text import TextFeatures, features, index_words

GENERIC_CATEGORIES = frozenset({"", "other", "unknown", "general", "none"})
MAX_CANDIDATES = 6
"""Groups scored in full per report (those sharing the most words with it)."""
COMMON_WORD_POSTINGS = 400
"""A word shared by more open groups than this is too common to find candidates by."""


@dataclass(slots=True)
class Report:
    """One complaint as the engine sees it."""

    pk: int
    platform: str
    external_id: str
    author: str
    created_at: datetime
    category: str
    urgency_rank: int
    features: TextFeatures
    lang: str = ""
    text: str = ""
    index: tuple[str, ...] = ()
    """The words the report is looked up by (see `text.index_words`)."""

    @property
    def order_key(self) -> tuple[datetime, str, str]:
        return (self.created_at, self.platform, self.external_id)


@dataclass(slots=True)
class Member:
    report: Report
    similarity: float
    joined_at: datetime
    """Event time the report joined this group: its own time, or the merge time if it came with a merge."""


@dataclass(slots=True)
class Group:
    id: str
    first: Report
    members: list[Member] = field(default_factory=list)
    authors: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    centroid: dict[str, int] = field(default_factory=dict)
    norm2: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    merged_into: str | None = None
    merged_at: datetime | None = None
    category: str = "other"
    """The most frequent specific category of its reports (kept up to date by `add`)."""
    raised: bool = False
    """Reached min_authors distinct authors within one window; never goes back."""
    live_from: int = 0
    """members[:live_from] are older than the window and no longer in the centroid."""
    forgotten: int = 0
    """Members dropped by `forget_old` (counted in `size`)."""
    words: Counter[str] = field(default_factory=Counter)
    """Lookup words of the members still in the centroid, with how many members use each."""
    gone: list[str] = field(default_factory=list)
    """Lookup words no member in the centroid uses any more (the engine un-indexes them)."""

    @property
    def author_count(self) -> int:
        return len(self.authors)

    def _leading_category(self) -> str:
        specific = [(n, c) for c, n in self.categories.items() if c not in GENERIC_CATEGORIES]
        pool = specific or [(n, c) for c, n in self.categories.items()]
        return min(pool, key=lambda nc: (-nc[0], nc[1]))[1] if pool else "other"

    @property
    def size(self) -> int:
        return self.forgotten + len(self.members)

    def _add_vector(self, features: TextFeatures, sign: int = 1) -> None:
        centroid = self.centroid
        get = centroid.get
        dot = 0
        for key, value in features.vector.items():
            old = get(key, 0)
            dot += old * value
            new = old + sign * value
            if new:
                centroid[key] = new
            else:
                del centroid[key]
        self.norm2 += 2 * sign * dot + features.norm2

    def add(self, member: Member, window: timedelta) -> None:
        """Add the newest report (in event time); the centroid keeps the last `window` before the newest report."""
        report = member.report
        self.members.append(member)
        self.authors[report.author] += 1
        self.categories[report.category] += 1
        self.category = self._leading_category()
        self._add_vector(report.features)
        words = self.words
        for word in report.index:
            words[word] += 1
        if self.first_seen is None or report.created_at < self.first_seen:
            self.first_seen = report.created_at
        if self.last_seen is None or report.created_at > self.last_seen:
            self.last_seen = report.created_at
        self._age(window)

    def _age(self, window: timedelta) -> None:
        """Take reports older than `window` before the newest out of the centroid: an incident is what
        people say now, and a long incident then costs no more to compare than a short one."""
        assert self.last_seen is not None
        horizon = self.last_seen - window
        members = self.members
        words = self.words
        while self.live_from < len(members) and members[self.live_from].report.created_at < horizon:
            old = members[self.live_from].report
            self._add_vector(old.features, -1)
            for word in old.index:
                words[word] -= 1
                if not words[word]:
                    del words[word]
                    self.gone.append(word)
            self.live_from += 1

    def rebuild(self, window: timedelta) -> None:
        """Recompute order and centroid from the members alone (after a merge or a restore)."""
        self.members.sort(key=lambda m: m.report.order_key)
        before = set(self.words)
        self.centroid, self.norm2, self.live_from, self.words = {}, 0, 0, Counter()
        assert self.last_seen is not None
        horizon = self.last_seen - window
        for member in self.members:
            if member.report.created_at < horizon:
                self.live_from += 1
            else:
                self._add_vector(member.report.features)
                self.words.update(member.report.index)
        self.gone.extend(before - set(self.words))

    def forget_old(self) -> None:
        """Drop reports that no longer count for anything (streaming without keeping history)."""
        if self.live_from:
            self.forgotten += self.live_from
            del self.members[: self.live_from]
            self.live_from = 0

    def update_raised(self, min_authors: int, window: timedelta, full: bool = False) -> bool:
        """Raise the group if some window-long stretch of its reports has min_authors distinct authors.

        Reports are appended in event-time order, so after an `add` only the stretch ending at the
        newest report is new; `full` rescans everything (after a merge or a restore).
        """
        if self.raised or len(self.authors) < min_authors:
            return self.raised
        members = self.members
        if full:
            members.sort(key=lambda m: m.report.order_key)
            inside: Counter[str] = Counter()
            left = 0
            for member in members:
                inside[member.report.author] += 1
                while members[left].report.created_at < member.report.created_at - window:
                    inside[members[left].report.author] -= 1
                    if not inside[members[left].report.author]:
                        del inside[members[left].report.author]
                    left += 1
                if len(inside) >= min_authors:
                    self.raised = True
                    break
            return self.raised
        newest = members[-1].report.created_at
        authors: set[str] = set()
        for member in reversed(members):
            if member.report.created_at < newest - window:
                break
            authors.add(member.report.author)
            if len(authors) >= min_authors:
                self.raised = True
                break
        return self.raised

    def similarity_to(self, other: Group) -> float:
        return _cosine(self.centroid, self.norm2, other.centroid, other.norm2)


def _cosine(a: dict[str, int], a_norm2: float, b: dict[str, int], b_norm2: float) -> float:
    if not a_norm2 or not b_norm2:
        return 0.0
    dot = sum([a[k] * b[k] for k in a.keys() & b.keys()])  # the view intersection walks the smaller dict
    return dot / math.sqrt(a_norm2 * b_norm2)


def group_id(first: Report) -> str:
    """Stable, readable id from the first report: INC-<yyyymmdd>-<hhmm>-<4 hex of its identity>."""
    digest = zlib.crc32(f"{first.platform}\x1f{first.external_id}".encode()) & 0xFFFF
    at = first.created_at
    return f"INC-{at.year:04d}{at.month:02d}{at.day:02d}-{at.hour:02d}{at.minute:02d}-{digest:04x}"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    min_authors: int = 3
    window: timedelta = timedelta(hours=2)
    resolve_after: timedelta = timedelta(hours=6)
    similarity: float = 0.35
    merge_similarity: float = 0.5
    category_penalty: float = 0.1
    category_weight: float = 0.5
    """Added to the text similarity when the complaint and the group share a specific category that runs hot."""
    category_window: timedelta = timedelta(hours=1)
    category_authors: int = 3
    """A category runs hot with this many distinct authors within the trailing `category_window`."""
    key_terms: frozenset[str] = frozenset()
    ignore_terms: frozenset[str] = frozenset()
    """Canonical words left out of the text features: the brand's names, which every mention shares."""
    keep_members: bool = True
    """False: groups drop reports older than the window (memory bounded by the window; sizes still count)."""


def make_report(
    config: EngineConfig,
    *,
    pk: int,
    platform: str,
    external_id: str,
    author: str,
    created_at: datetime,
    category: str,
    text: str,
    urgency_rank: int = 1,
    lang: str = "",
) -> Report:
    """A Report with its comparable text features; a specific category is also a lookup word (see `Engine.add`)."""
    feats = features(text, config.key_terms, config.ignore_terms)
    return Report(
        pk=pk,
        platform=platform,
        external_id=external_id,
        author=author,
        created_at=created_at,
        category=category or "other",
        urgency_rank=urgency_rank,
        features=feats,
        lang=lang,
        text=text,
        # the category goes last: Engine.add leaves it out of the lookup while the category is quiet
        index=tuple(index_words(feats)) + (("cat:" + category,) if category not in GENERIC_CATEGORIES else ()),
    )


@dataclass(frozen=True, slots=True)
class Placement:
    group_id: str
    similarity: float
    merged: tuple[str, ...] = ()


class Engine:
    """Assigns reports, fed in event-time order, to groups."""

    def __init__(self, config: EngineConfig, on_close: Callable[[Group], None] | None = None) -> None:
        self.config = config
        self.open: dict[str, Group] = {}
        self._postings: dict[str, set[str]] = {}
        self._expiry: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}
        """Each open group's latest expiry entry in `_expiry`; older entries for it are stale."""
        self._on_close = on_close
        self.now: datetime | None = None
        self._recent: dict[str, tuple[deque[tuple[datetime, str]], Counter[str]]] = {}
        """Per specific category: its reports within the trailing category window, and their authors."""

    # ---- state ---------------------------------------------------------------------------------

    def _ttl(self, group: Group) -> timedelta:
        if group.raised:
            return max(self.config.resolve_after, self.config.window)
        return self.config.window

    def _expires_at(self, group: Group) -> datetime:
        assert group.last_seen is not None
        return group.last_seen + self._ttl(group)

    def _index(self, group: Group, words: Iterable[str]) -> None:
        postings = self._postings
        for word in words:
            posting = postings.get(word)
            if posting is None:
                postings[word] = {group.id}
            else:
                posting.add(group.id)

    def _drop(self, group: Group, words: Iterable[str]) -> None:
        for word in words:
            posting = self._postings.get(word)
            if posting is not None:
                posting.discard(group.id)
                if not posting:
                    del self._postings[word]

    def _sync(self, group: Group) -> None:
        if group.gone:
            self._drop(group, [w for w in group.gone if w not in group.words])
            group.gone.clear()

    def _unindex(self, group: Group) -> None:
        self._drop(group, list(group.words))
        self._drop(group, group.gone)
        group.gone.clear()

    def _close(self, group: Group) -> None:
        self._unindex(group)
        del self.open[group.id]
        self._due.pop(group.id, None)
        if self._on_close is not None:
            self._on_close(group)

    def advance(self, now: datetime) -> None:
        """Close every group that has been quiet too long by `now` (event time)."""
        self.now = now if self.now is None or now > self.now else self.now
        while self._expiry and self._expiry[0][0] < now:
            due, gid = heapq.heappop(self._expiry)
            group = self.open.get(gid)
            if group is None or self._due.get(gid) != due:
                continue  # closed, or a later entry for it is in the heap
            if self._expires_at(group) < now:
                self._close(group)
            else:
                self._schedule(group)

    def _schedule(self, group: Group) -> None:
        due = self._expires_at(group)
        if self._due.get(group.id) != due:
            self._due[group.id] = due
            heapq.heappush(self._expiry, (due, group.id))

    def restore(self, group: Group) -> None:
        """Re-open a group as it stood before the next report (used when replaying from the store)."""
        self.open[group.id] = group
        group.gone.clear()
        self._index(group, group.words)
        self._schedule(group)

    def close_all(self) -> None:
        for group in sorted(self.open.values(), key=lambda g: g.id):
            self._close(group)

    # ---- assignment ----------------------------------------------------------------------------

    def _candidates(self, words: list[str]) -> list[Group]:
        shared: dict[str, int] = {}
        count = shared.get
        postings = self._postings
        for word in words:
            posting = postings.get(word)
            if posting and len(posting) <= COMMON_WORD_POSTINGS:
                for gid in posting:
                    shared[gid] = count(gid, 0) + 1
        if not shared:
            for word in words:
                for gid in postings.get(word, ()):
                    shared[gid] = count(gid, 0) + 1
        if not shared:
            return []
        # Groups sharing far fewer words than the best-sharing one are hardly ever the closest: skip them.
        floor = max(shared.values()) // 2
        ranked = sorted([(-count, gid) for gid, count in shared.items() if count >= floor])
        return [self.open[gid] for _, gid in ranked[:MAX_CANDIDATES]]

    def observe(self, report: Report) -> None:
        """Count a report towards its category's recent rate without assigning it (used to prime a replay)."""
        if report.category in GENERIC_CATEGORIES:
            return
        state = self._recent.get(report.category)
        if state is None:
            state = self._recent[report.category] = (deque(), Counter())
        recent, authors = state
        recent.append((report.created_at, report.author))
        authors[report.author] += 1
        horizon = report.created_at - self.config.category_window
        while recent[0][0] < horizon:
            _, author = recent.popleft()
            authors[author] -= 1
            if not authors[author]:
                del authors[author]

    def _hot(self, category: str) -> bool:
        """Whether `category` had `category_authors` distinct authors within the trailing `category_window`."""
        recent = self._recent.get(category)
        return recent is not None and len(recent[1]) >= self.config.category_authors

    def _category_term(self, a: str, b: str, hot: bool) -> float:
        """The bonus for sharing a specific category while it runs hot; the penalty for two different ones.

        A fixed term rather than a feature inside the centroid: there a category shared by every
        member outweighs the words as a group grows, and any complaint of that category joins it,
        so a steady trickle of unrelated payment complaints chains into one days-long "incident".
        """
        if a in GENERIC_CATEGORIES or b in GENERIC_CATEGORIES:
            return 0.0
        if a != b:
            return -self.config.category_penalty
        return self.config.category_weight if hot else 0.0

    def add(self, report: Report) -> Placement:
        self.advance(report.created_at)
        words = list(report.index)
        self.observe(report)
        hot = self._hot(report.category)
        vector, norm2, category = report.features.vector, report.features.norm2, report.category
        threshold = self.config.similarity
        matches = []
        # A quiet category adds nothing to a score: then its groups are found by shared words alone.
        lookup = words if hot or category in GENERIC_CATEGORIES else words[:-1]
        for group in self._candidates(lookup):
            score = _cosine(group.centroid, group.norm2, vector, norm2)
            score += self._category_term(group.category, category, hot)
            if score >= threshold:
                matches.append((score, group))
        matches.sort(key=lambda sg: (-sg[0], sg[1].first_seen, sg[1].id))
        if not matches:
            group = Group(id=group_id(report), first=report)
            while group.id in self.open:  # two first reports in the same minute with the same hash prefix
                group.id += "x"
            group.add(Member(report, 1.0, report.created_at), self.config.window)
            group.update_raised(self.config.min_authors, self.config.window)
            self.open[group.id] = group
            self._index(group, words)
            self._schedule(group)
            return Placement(group.id, 1.0)

        similarity, target = matches[0]
        target.add(Member(report, round(similarity, 4), report.created_at), self.config.window)
        target.update_raised(self.config.min_authors, self.config.window)
        if not self.config.keep_members:
            target.forget_old()
        self._index(target, words)
        self._sync(target)
        merged: list[str] = []
        for _, other in matches[1:]:
            if other.id not in self.open or target.id not in self.open:
                continue
            alike = target.similarity_to(other) + self._category_term(target.category, other.category, hot)
            if alike >= self.config.merge_similarity:
                survivor, absorbed = _survivor(target, other)
                self._merge(survivor, absorbed, report.created_at)
                merged.append(absorbed.id)
                target = survivor
        self._schedule(target)
        return Placement(target.id, round(similarity, 4), tuple(merged))

    def _merge(self, survivor: Group, absorbed: Group, at: datetime) -> None:
        for member in absorbed.members:
            survivor.add(Member(member.report, member.similarity, at), self.config.window)
        survivor.forgotten += absorbed.forgotten
        survivor.rebuild(self.config.window)
        self._sync(survivor)
        self._index(survivor, survivor.words)
        survivor.update_raised(self.config.min_authors, self.config.window, full=True)
        absorbed.merged_into = survivor.id
        absorbed.merged_at = at
        self._close(absorbed)


def _survivor(a: Group, b: Group) -> tuple[Group, Group]:
    """The group that keeps its id: more distinct authors, then the older one."""
    ranked = sorted((a, b), key=lambda g: (-g.author_count, g.first_seen, g.id))
    return ranked[0], ranked[1]
