"""The engine's state: reports, and groups of reports of one problem.

A `Group` keeps what it needs to judge the next report in compact form: the
members of the last `window` (their centroid, their authors), and, once it is
an incident, running totals for what people see (authors, platforms, languages,
reports per hour, the words most people used, the first examples) plus the ids
of every member. Nothing grows with how long a candidate has been chaining.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.incidents.text import GENERIC, TextFeatures, features, index_words

GENERIC_CATEGORIES = frozenset({"", "other", "unknown", "general", "none"})
NEGATIONS = frozenset({"not", "cannot"})
EXAMPLES = 3


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
    at: float = 0.0
    """created_at as a POSIX timestamp (compared often)."""

    @property
    def order_key(self) -> tuple[datetime, str, str]:
        return (self.created_at, self.platform, self.external_id)


def new_report(
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
    key_terms: frozenset[str] = frozenset(),
    ignore_terms: frozenset[str] = frozenset(),
    feats: TextFeatures | None = None,
) -> Report:
    """A Report with its comparable text features (`feats` when already worked out with the same terms);
    a specific category is also a lookup word."""
    if feats is None:
        feats = features(text, key_terms, ignore_terms)
    category = category or "other"
    return Report(
        pk=pk,
        platform=platform,
        external_id=external_id,
        author=author,
        created_at=created_at,
        category=category,
        urgency_rank=urgency_rank,
        features=feats,
        lang=lang,
        text=text,
        # the category goes last: the engine leaves it out of the lookup unless the category is anomalous
        index=tuple(index_words(feats)) + (("cat:" + category,) if category not in GENERIC_CATEGORIES else ()),
        at=created_at.timestamp(),
    )


@dataclass(slots=True)
class Member:
    report: Report
    similarity: float
    joined_at: datetime
    """Event time the report joined this group: its own time, or the time it was moved here."""


def group_id(first: Report, salt: str = "") -> str:
    """Stable, readable id from a report: INC-<yyyymmdd>-<hhmm>-<4 hex of its identity>."""
    digest = zlib.crc32(f"{first.platform}\x1f{first.external_id}{salt}".encode()) & 0xFFFF
    at = first.created_at
    return f"INC-{at.year:04d}{at.month:02d}{at.day:02d}-{at.hour:02d}{at.minute:02d}-{digest:04x}"


def cosine(a: dict[str, int], a_norm2: float, b: dict[str, int], b_norm2: float) -> float:
    if not a_norm2 or not b_norm2:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    get = b.get
    dot = 0
    for key, value in a.items():
        other = get(key)
        if other is not None:
            dot += value * other
    return dot / math.sqrt(a_norm2 * b_norm2)


@dataclass(slots=True)
class Facts:
    """Running totals of an incident for the people who read it; grows with distinct words, not members."""

    authors: set[str] = field(default_factory=set)
    member_pks: list[int] = field(default_factory=list)
    platforms: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    per_hour: Counter[int] = field(default_factory=Counter)
    """Reports per event hour (hours since the epoch)."""
    term_authors: Counter[str] = field(default_factory=Counter)
    """How many distinct authors used each word (counted on each author's first report)."""
    surfaces: dict[str, Counter[str]] = field(default_factory=dict)
    negated: int = 0
    cannot: int = 0
    max_urgency: int = 0
    examples: list[Report] = field(default_factory=list)
    """The first reports of the first distinct authors."""
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, report: Report) -> None:
        self.member_pks.append(report.pk)
        self.platforms[report.platform] += 1
        self.languages[report.lang or "?"] += 1
        self.per_hour[int(report.at // 3600)] += 1
        self.categories[report.category] += 1
        words = report.features.words
        if "not" in words or "cannot" in words:
            self.negated += 1
        if "cannot" in words:
            self.cannot += 1
        if report.urgency_rank > self.max_urgency:
            self.max_urgency = report.urgency_rank
        if report.author in self.authors:
            return
        self.authors.add(report.author)
        for word in words:
            if word not in NEGATIONS:
                self.term_authors[word] += 1
        for word, surface in report.features.surfaces.items():
            forms = self.surfaces.get(word)
            if forms is None:
                forms = self.surfaces[word] = Counter()
            forms[surface] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(report)

    def absorb(self, other: Facts) -> None:
        """Add another incident's totals (a merge). Examples stay the earliest ones of both."""
        new_authors = other.authors - self.authors
        self.member_pks.extend(other.member_pks)
        self.platforms.update(other.platforms)
        self.languages.update(other.languages)
        self.per_hour.update(other.per_hour)
        self.categories.update(other.categories)
        self.negated += other.negated
        self.cannot += other.cannot
        self.max_urgency = max(self.max_urgency, other.max_urgency)
        if new_authors:
            self.term_authors.update(other.term_authors)
            for word, forms in other.surfaces.items():
                self.surfaces.setdefault(word, Counter()).update(forms)
        self.authors |= other.authors
        examples = {r.pk: r for r in (*self.examples, *other.examples)}
        seen: set[str] = set()
        chosen = []
        for report in sorted(examples.values(), key=lambda r: r.order_key):
            if report.author not in seen:
                seen.add(report.author)
                chosen.append(report)
        self.examples = chosen[:EXAMPLES]

    @property
    def size(self) -> int:
        return len(self.member_pks)

    def leading_category(self) -> str:
        """The most frequent specific category of all members ('other' only when there is none)."""
        return leading(self.categories)

    def key_terms(self, limit: int = 5) -> list[str]:
        ranked = sorted(self.term_authors.items(), key=lambda wc: (-wc[1], wc[0] in GENERIC, wc[0]))
        return [_surface(word, self.surfaces.get(word)) for word, _ in ranked[:limit]]


def leading(categories: Counter[str]) -> str:
    specific = [(n, c) for c, n in categories.items() if c not in GENERIC_CATEGORIES]
    pool = specific or [(n, c) for c, n in categories.items()]
    return min(pool, key=lambda nc: (-nc[0], nc[1]))[1] if pool else "other"


VERB_FORMS_KEEP = frozenset({"arrive", "login", "pay", "transfer", "verify", "topup", "response", "update", "call"})


def _surface(word: str, forms: Counter[str] | None) -> str:
    if word in VERB_FORMS_KEEP or not forms:
        return word
    best = min(forms.items(), key=lambda fc: (-fc[1], fc[0]))[0]
    return best if best.isupper() or any(ch.isdigit() for ch in best) else word


@dataclass(slots=True)
class Group:
    """Reports of one problem: a hidden candidate until its rate is anomalous, then an incident."""

    id: str
    live: deque[Member] = field(default_factory=deque)
    """Members within `window` of the newest one: they make the centroid."""
    centroid: dict[str, int] = field(default_factory=dict)
    norm2: int = 0
    words: Counter[str] = field(default_factory=Counter)
    """Lookup words of the live members, with how many members use each."""
    gone: list[str] = field(default_factory=list)
    """Lookup words no live member uses any more (the engine un-indexes them)."""
    live_authors: Counter[str] = field(default_factory=Counter)
    live_categories: Counter[str] = field(default_factory=Counter)
    category: str = "other"
    """The most frequent specific category of the live members."""
    size: int = 0
    peak_authors: int = 0
    """The most distinct authors it ever had within one window."""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    # -- as an incident --
    facts: Facts | None = None
    """None while a candidate; the running totals once raised."""
    raised_at: datetime | None = None
    raised_by: int | None = None
    """The mention pk whose arrival made it an incident."""
    usual: float = 0.0
    usual_how: str = ""
    usual_days: int = 0
    observed: int = 0
    """Distinct authors within the window when it was raised."""
    calm_level: int = 1
    """At most this many distinct authors within a window is its usual rate: not 'hot'."""
    now_memo: tuple[int, int, int] = (-1, 0, 0)
    """(event hour, its own distinct authors, alike authors in the window) when last judged as a candidate."""
    usual_hour: int = -1
    usual_memo: float = 0.0
    """The usual level judged for it (while a candidate) in event hour `usual_hour`."""
    judged_hour: int = -1
    """The event hour its usual level was last judged (once an hour while it is an incident)."""
    signature: dict[str, float] = field(default_factory=dict)
    """As an incident: the words that tell its reports apart from the everyday complaints on its topic, each
    with the share of the two rates that is its own (see `Engine._sign`)."""
    hot_until: float = 0.0
    """Event time (POSIX) of the last report that kept it above its usual level (see `last_hot`)."""
    recurred_from: str | None = None
    recurred_as: list[str] = field(default_factory=list)
    # -- how it ended --
    merged_into: str | None = None
    closed_at: datetime | None = None
    close_reason: str = ""
    """'' while open; 'expired' (a candidate), 'resolved', 'merged', or 'raised' (moved into a new incident)."""

    @property
    def raised(self) -> bool:
        return self.facts is not None

    @property
    def author_count(self) -> int:
        return len(self.facts.authors) if self.facts is not None else self.peak_authors

    @property
    def member_count(self) -> int:
        return self.facts.size if self.facts is not None else self.size

    def _add_vector(self, feats: TextFeatures, sign: int = 1) -> None:
        centroid = self.centroid
        get = centroid.get
        dot = 0
        for key, value in feats.vector.items():
            old = get(key, 0)
            dot += old * value
            new = old + sign * value
            if new:
                centroid[key] = new
            else:
                del centroid[key]
        self.norm2 += 2 * sign * dot + feats.norm2

    def add(self, member: Member, window: float) -> None:
        """Add the newest report (in event time); members older than `window` before it leave the centroid."""
        report = member.report
        self.live.append(member)
        self.live_authors[report.author] += 1
        categories = self.live_categories
        categories[report.category] += 1
        self._add_vector(report.features)
        self.words.update(report.index)
        self.size += 1
        created = report.created_at
        if self.first_seen is None or created < self.first_seen:
            self.first_seen = created
        if self.last_seen is None or created > self.last_seen:
            self.last_seen = created
        if self.facts is not None:
            self.facts.add(report)
        leader = self.category
        aged = self._age(report.at - window)
        # the leading category only changes when its own count fell or another's rose
        if aged or (
            report.category != leader
            and (categories[report.category] >= categories.get(leader, 0) or leader in GENERIC_CATEGORIES)
        ):
            self.category = self._leading_category()
        if len(self.live_authors) > self.peak_authors:
            self.peak_authors = len(self.live_authors)

    def _age(self, horizon: float) -> bool:
        """Take members older than `horizon` out of the centroid; whether any left."""
        live = self.live
        if not live or live[0].report.at >= horizon:
            return False
        words = self.words
        while live and live[0].report.at < horizon:
            old = live.popleft().report
            self._add_vector(old.features, -1)
            for word in old.index:
                words[word] -= 1
                if not words[word]:
                    del words[word]
                    self.gone.append(word)
            self.live_authors[old.author] -= 1
            if not self.live_authors[old.author]:
                del self.live_authors[old.author]
            self.live_categories[old.category] -= 1
            if not self.live_categories[old.category]:
                del self.live_categories[old.category]
        return True

    def category_share(self) -> float:
        """How much of the live members share the leading category (1.0 for a group of one)."""
        return self.live_categories.get(self.category, 0) / len(self.live) if self.live else 1.0

    def _leading_category(self) -> str:
        return leading(self.live_categories)

    def raise_with(self, at: datetime, by: int, usual: float, how: str, days: int, calm_level: int) -> None:
        """Become an incident now: the totals start from the live members."""
        self.facts = Facts()
        for member in self.live:
            self.facts.add(member.report)
        self.raised_at = at
        self.judged_hour = int(at.timestamp() // 3600)
        self.raised_by = by
        self.usual = usual
        self.usual_how = how
        self.usual_days = days
        self.observed = len(self.live_authors)
        self.calm_level = calm_level

    def last_hot(self) -> float:
        """The time of the last report that kept it above its usual level: more than `calm_level` distinct
        authors within the window. It resolves `resolve_after` later unless that happens again."""
        if len(self.live_authors) <= self.calm_level:
            return self.hot_until
        latest: dict[str, float] = {}
        for member in self.live:
            latest[member.report.author] = member.report.at
        times = sorted(latest.values(), reverse=True)
        return max(self.hot_until, times[self.calm_level])

    def without(self, feats: TextFeatures) -> tuple[dict[str, int], int]:
        """The live centroid (and its squared norm) with one member's features taken out."""
        rest = dict(self.centroid)
        dot = 0
        for key, value in feats.vector.items():
            old = rest.get(key, 0)
            dot += old * value
            if old == value:
                rest.pop(key, None)
            else:
                rest[key] = old - value
        return rest, self.norm2 - 2 * dot + feats.norm2

    def similarity_to(self, other: Group) -> float:
        return cosine(self.centroid, self.norm2, other.centroid, other.norm2)


def live_span(window: timedelta) -> float:
    return window.total_seconds()
