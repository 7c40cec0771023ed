"""The streaming grouping engine: pure, in memory, in event time.

Reports must be fed in event-time order, sorted by (created_at, platform,
external id). Each report joins the most similar open group or starts a new
one. Similarity is the cosine of the texts (EN/ID synonym-mapped words, see
`text`), plus a bonus for sharing a specific category *only while that
category is itself anomalous* (more distinct authors in the trailing
`category_window` than usual for that time of day, see `baseline`), scaled by
how much of the category's current volume is above its usual level.

A group becomes an **incident** when the distinct authors of its last
`window` are clearly above the usual number of such reports for that time of
day: the same window on previous days, counting complaints whose text is as
alike to the group as a report must be to join it. A problem that runs at its
normal rate (refunds are slow every day) is never an incident, however many
people report it; a problem never seen before is one from `min_authors`
people. When a long-running candidate is raised, the incident starts from the
reports of its last window (a new id); the older ones are not part of it.

Once raised, an incident has a **signature**: the words of its topic (used by a good part of its
reports) that its reports use far more often than the everyday complaints on that topic did in the same
window of previous days. When flights are cancelled, "flight" is in the incident's reports and in the
everyday delays alike; "cancelled" is in its reports far more. A report (or a candidate group, by most
of its reports) joins an incident with a signature only when it uses one of those words, unless it is as
alike as merging groups must be; reports and candidates from before its onset stay out.

An incident **resolves** once it has been back at its usual level (at most
`calm_level` distinct authors within a window) for `resolve_after`. A later
rise of the same problem is a new incident that records which one it recurred
from.

The engine is causal and exact: where a report goes depends only on the
reports before it, and group sums use integer weights, so replaying the same
stream from a saved state gives the same groups and ids whatever order the
batches originally arrived in. Memory is bounded by the look-back of the
baselines and the open groups, not by history.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.incidents.baseline import DAY_S, CategoryRates, Likeness, TextHistory, to_datetime
from monitor.incidents.groups import (
    GENERIC_CATEGORIES,
    Group,
    Member,
    Report,
    group_id,
    new_report,
)
from monitor.incidents.stats import AnomalySettings, Usual, excess_share, is_anomalous, needed_count
from monitor.incidents.surges import WordRates, weighted_cosine

MAX_CANDIDATES = 6
"""Groups scored in full per report (those sharing the most words with it)."""
COMMON_WORD_POSTINGS = 40
"""A word shared by more open groups than this is too common to find candidates by."""
FRAGMENTS = 2
"""A problem described in many ways may at first be split over groups; a group with fewer than 1/FRAGMENTS of
the alike reports an incident needs is not yet worth searching the history for."""
SIGNATURE_SHARE = 4
"""A word is on an incident's topic when at least 1/SIGNATURE_SHARE of its live reports use it."""
SIGNATURE_LIFT = 2.0
"""A topic word is in the incident's signature when its reports use it this many times as often as everyday ones."""
SIGNATURE_WEIGHT = 0.1
"""Added to a report's similarity to an incident, times the weight of the signature word it uses. Chosen on the
volume stream's seed 1 (0, 0.1 and 0.25 tried); seed 2 and the airline section are the check."""
CHANGE_TOLERANCE = 2.0
"""How much less likely (log) a rise's start may be than the likeliest one and still be taken (see `rate_change`)."""
SMOOTHING = 0.5
"""Added to a word's everyday count (and to the number of everyday complaints) when rates are compared."""
CATEGORY_P_FACTOR = 1.0
CATEGORY_MIN_EXCESS = 0.5
"""A category helps only when it is anomalous at a tenth of the p-value and at least twice its usual level:
it is tested on every report, so it gets far more chances to look anomalous by luck than a group does."""


def make_report(config: EngineConfig, **fields: Any) -> Report:
    """A Report for this engine's settings (its key terms weigh extra, the brand's names not at all)."""
    return new_report(key_terms=config.key_terms, ignore_terms=config.ignore_terms, **fields)


class OutOfOrder(ValueError):
    """A report older than one the engine already placed: replay from a saved state instead."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    min_authors: int = 3
    window: timedelta = timedelta(hours=2)
    resolve_after: timedelta = timedelta(hours=6)
    similarity: float = 0.35
    merge_similarity: float = 0.5
    category_penalty: float = 0.1
    category_weight: float = 0.25
    """Added to the text similarity, times the category's share above its usual level, while that is anomalous."""
    category_window: timedelta = timedelta(hours=1)
    category_authors: int = 3
    """A category is never anomalous with fewer distinct authors than this within `category_window`."""
    anomaly: AnomalySettings = AnomalySettings()
    surge_weight: float = 2.0
    """A word used far more than usual at this time of day weighs up to 1 + this much (see `surges`)."""
    category_baseline_days: int = 14
    recur_within: timedelta = timedelta(days=7)
    key_terms: frozenset[str] = frozenset()
    ignore_terms: frozenset[str] = frozenset()
    """Canonical words left out of the text features: the brand's names, which every mention shares."""


@dataclass(frozen=True, slots=True)
class Join:
    """A report became a member of a group (the adapter stores these as incident_members rows)."""

    group_id: str
    pk: int
    similarity: float
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Placement:
    group_id: str
    similarity: float
    merged: tuple[str, ...] = ()


@dataclass(slots=True)
class Changes:
    """What happened since the last `drain`: joins, and every group that changed (closed ones included)."""

    joins: list[Join] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)
    baseline_queries: int = 0


class Engine:
    """Assigns reports, fed in event-time order, to groups, and raises the anomalous ones."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.window_s = config.window.total_seconds()
        self.open: dict[str, Group] = {}
        self.incidents: set[str] = set()
        """The ids of the open groups that are incidents (few): always candidates for a report sharing a word."""
        self.seeds: dict[str, Report] = {}
        """Reports alone so far, by the id of the group each would start (promoted by `_grown`)."""
        self._postings: dict[str, set[str]] = {}
        """Lookup word → the open groups and seeds using it."""
        self._group_postings: dict[str, set[str]] = {}
        """Lookup word → the open groups (not seeds) using it: far fewer, so a common word can still find them."""
        self._expiry: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self.history = TextHistory(config.anomaly.baseline_days, config.window)
        self.rates = CategoryRates(max(config.category_baseline_days, config.anomaly.baseline_days))
        self.words = WordRates(config.anomaly, self.window_s, config.min_authors, config.surge_weight)
        self.recent: dict[str, tuple[deque[tuple[float, str]], Counter[str]]] = {}
        """Per specific category: its reports within the trailing category window, and their authors."""
        self.resolved: deque[Group] = deque()
        """Incidents resolved within `recur_within`, oldest first: what a new incident may be a recurrence of."""
        self.used_ids: dict[str, float] = {}
        self.last_key: tuple[datetime, str, str] | None = None
        self.changes = Changes()
        self._needed_memo: dict[float, int] = {}
        self._category_thresholds: dict[tuple[str, int], tuple[Usual, int]] = {}
        self._window: deque[float] = deque()
        """Times of the complaints within the trailing window (their number sets the chance level)."""
        self._category_anomaly = replace(config.anomaly, p_value=config.anomaly.p_value * CATEGORY_P_FACTOR)

    # ---- bookkeeping ---------------------------------------------------------------------------

    def drain(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes

    def _touch(self, group: Group) -> None:
        self.changes.groups[group.id] = group

    def _join(self, group: Group, member: Member) -> None:
        self.changes.joins.append(Join(group.id, member.report.pk, member.similarity, member.joined_at))

    def _index(self, group: Group, words: Iterator[str] | list[str] | tuple[str, ...]) -> None:
        words = list(words)
        self._index_id(group.id, words)
        postings = self._group_postings
        for word in words:
            posting = postings.get(word)
            if posting is None:
                postings[word] = {group.id}
            else:
                posting.add(group.id)

    def _index_id(self, gid: str, words: Iterator[str] | list[str] | tuple[str, ...]) -> None:
        postings = self._postings
        for word in words:
            posting = postings.get(word)
            if posting is None:
                postings[word] = {gid}
            else:
                posting.add(gid)

    def _drop(self, group: Group, words: list[str] | tuple[str, ...]) -> None:
        self._drop_id(group.id, words)
        postings = self._group_postings
        for word in words:
            posting = postings.get(word)
            if posting is not None:
                posting.discard(group.id)
                if not posting:
                    del postings[word]

    def _drop_id(self, gid: str, words: list[str] | tuple[str, ...]) -> None:
        for word in words:
            posting = self._postings.get(word)
            if posting is not None:
                posting.discard(gid)
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

    def _expires_at(self, group: Group) -> float:
        if group.raised:
            return group.hot_until + self.config.resolve_after.total_seconds()
        assert group.last_seen is not None
        return group.last_seen.timestamp() + self.window_s

    def _schedule(self, group: Group) -> None:
        self._schedule_id(group.id, self._expires_at(group))

    def _schedule_id(self, gid: str, due: float) -> None:
        if self._due.get(gid) != due:
            self._due[gid] = due
            heapq.heappush(self._expiry, (due, gid))

    def _close(self, group: Group, at: datetime, reason: str) -> None:
        self._unindex(group)
        del self.open[group.id]
        self.incidents.discard(group.id)
        self._due.pop(group.id, None)
        group.closed_at = at
        group.close_reason = reason
        self._touch(group)
        if reason == "resolved":
            self.resolved.append(group)

    def advance(self, now: float) -> None:
        """Close every group that has been quiet (or calm) too long by `now` (event time)."""
        while self._expiry and self._expiry[0][0] < now:
            due, gid = heapq.heappop(self._expiry)
            if self._due.get(gid) != due:
                continue  # closed, or a later entry for it is in the heap
            seed = self.seeds.get(gid)
            if seed is not None:  # alone for a whole window: it will never be part of anything
                del self.seeds[gid], self._due[gid]
                self._drop_id(gid, seed.index)
                continue
            group = self.open.get(gid)
            if group is None:
                continue
            if self._expires_at(group) < now:
                self._close(group, to_datetime(due), "resolved" if group.raised else "expired")
            else:
                self._schedule(group)
        horizon = now - self.config.recur_within.total_seconds()
        while self.resolved and _closed_at(self.resolved[0]) < horizon:
            self.resolved.popleft()
        cutoff = now - DAY_S
        used = self.used_ids
        while used:  # ids go in in event order: the oldest is first
            first = next(iter(used))
            if used[first] >= cutoff:
                break
            del used[first]

    def _new_id(self, report: Report, salt: str = "") -> str:
        gid = group_id(report, salt)
        while gid in self.open or gid in self.seeds or gid in self.used_ids:  # a clash within the minute
            gid += "x"
        self.used_ids[gid] = report.at
        return gid

    def restore(self, group: Group) -> None:
        """Re-open a group as it was saved (see `snapshot`)."""
        self.open[group.id] = group
        if group.raised:
            self.incidents.add(group.id)
        group.gone.clear()
        self._index(group, list(group.words))
        self._schedule(group)

    def restore_seed(self, sid: str, report: Report) -> None:
        self.seeds[sid] = report
        self._index_id(sid, report.index)
        self._schedule_id(sid, report.at + self.window_s)

    # ---- categories ----------------------------------------------------------------------------

    def observe(self, report: Report) -> None:
        """Count a report towards its category's trailing rate (every report passes here once)."""
        if report.category in GENERIC_CATEGORIES:
            return
        state = self.recent.get(report.category)
        if state is None:
            state = self.recent[report.category] = (deque(), Counter())
        recent, authors = state
        recent.append((report.at, report.author))
        authors[report.author] += 1
        horizon = report.at - self.config.category_window.total_seconds()
        while recent[0][0] <= horizon:
            _, author = recent.popleft()
            authors[author] -= 1
            if not authors[author]:
                del authors[author]

    def category_excess(self, category: str, at: float) -> float:
        """The share of the category's trailing volume above its usual level, when that is anomalous; else 0."""
        if category in GENERIC_CATEGORIES:
            return 0.0
        state = self.recent.get(category)
        observed = len(state[1]) if state is not None else 0
        if observed < self.config.category_authors:
            return 0.0
        hour = int(at // 3600)
        judged = self._category_thresholds.get((category, hour))
        if judged is None:
            # judged once an hour, for the window ending with the hour (a pure function of the hour and history)
            window = self.config.category_window.total_seconds()
            usual = self.rates.usual(category, (hour + 1) * 3600.0, window, self.config.anomaly)
            needed = 1 << 30  # nothing to compare with yet: a new installation learns its categories' rates first
            if usual.how != "no history":
                needed = needed_count(usual, self._category_anomaly, self.config.category_authors)
            if len(self._category_thresholds) > 10_000:
                self._category_thresholds.clear()
            judged = self._category_thresholds[(category, hour)] = (usual, needed)
        usual, needed = judged
        if observed < needed:
            return 0.0
        excess = excess_share(observed, usual)
        return excess if excess >= CATEGORY_MIN_EXCESS else 0.0

    def _category_term(self, a: str, b: str, excess: float, share: float = 1.0) -> float:
        """The category's part of a similarity: a bonus while the shared category is anomalous, a penalty
        when they differ, scaled by `share`, how much of the group(s) compared hold their leading category
        (a problem the classifier files under many categories is not told apart by them)."""
        if a in GENERIC_CATEGORIES or b in GENERIC_CATEGORIES:
            return 0.0
        if a != b:
            return -self.config.category_penalty * share
        return self.config.category_weight * excess

    # ---- assignment ----------------------------------------------------------------------------

    def _candidates(self, words: list[str] | tuple[str, ...]) -> list[str]:
        """The open groups and seeds sharing the most lookup words with `words` (ids; at most MAX_CANDIDATES),
        then every open incident sharing a word with them.

        An incident is about the words everybody is using right now, which are the words too common to
        find candidates by: without the second part, at a big brand's volume, most reports of an outage
        never meet the incident about it."""
        shared: Counter[str] = Counter()
        postings = self._postings
        found = [(w, p) for w in words if (p := postings.get(w))]
        for word, posting in found:
            if len(posting) <= COMMON_WORD_POSTINGS:
                shared.update(posting)
            else:  # too common among seeds: the groups using it may still be few enough
                groups = self._group_postings.get(word)
                if groups and len(groups) <= COMMON_WORD_POSTINGS:
                    shared.update(groups)
        if not shared:
            for _, posting in found:
                shared.update(posting)
        ranked: list[str] = []
        if shared:
            # Groups sharing far fewer words than the best-sharing one are hardly ever the closest: skip them.
            floor = max(shared.values()) // 2
            ranked = [gid for _, gid in heapq.nsmallest(MAX_CANDIDATES, [(-n, gid) for gid, n in shared.items()
                                                                          if n >= floor])]  # fmt: skip
        for gid in sorted(self.incidents):
            if gid not in ranked and any(word in self.open[gid].words for word in words):
                ranked.append(gid)
        return ranked

    def add(self, report: Report) -> Placement:
        key = report.order_key
        if self.last_key is not None and key <= self.last_key:
            raise OutOfOrder(f"{key} is not after {self.last_key}")
        self.last_key = key
        self.advance(report.at)
        self.observe(report)
        self.words.add(report.at, report.author, report.features.words)
        surging = self.words.surging
        category = report.category
        excess = self.category_excess(category, report.at)
        words = report.index
        lookup = words if excess > 0 or category in GENERIC_CATEGORIES else words[:-1]
        vector, norm2 = report.features.vector, report.features.norm2
        threshold = self.config.similarity
        matches = []
        for gid in self._candidates(lookup):
            group = self.open.get(gid)
            if group is not None:
                if group.raised and _back_to_usual(group, report, self.window_s):
                    continue
                score = self._signed_score(group, report, weighted_cosine(group.centroid, group.norm2, vector, norm2,
                                                                           surging))  # fmt: skip
                if score is None:
                    continue  # alike in the words it shares with everyday complaints only
                score += self._category_term(group.category, category, excess, group.category_share())
                first_seen = group.first_seen
            else:
                seed = self.seeds[gid]
                score = weighted_cosine(seed.features.vector, seed.features.norm2, vector, norm2, surging)
                score += self._category_term(seed.category, category, excess)
                first_seen = seed.created_at
            if score >= threshold:
                matches.append((score, first_seen, gid))
        matches.sort(key=lambda m: (-m[0], m[1], m[2]))
        self.history.add(report.at, report.author, category, vector, norm2)
        self._window.append(report.at)
        self.rates.add(category, report.at, report.pk)
        if not matches:
            # alone so far: a seed, not yet a group (most reports stay alone; a group costs far more)
            sid = self._new_id(report)
            self.seeds[sid] = report
            self._index_id(sid, words)
            self._schedule_id(sid, report.at + self.window_s)
            return Placement(sid, 1.0)
        similarity, _, tid = matches[0]
        target = self._grown(tid)
        member = Member(report, round(similarity, 4), report.created_at)
        target.add(member, self.window_s)
        self._index(target, words)
        self._sync(target)
        self._join(target, member)
        merged: list[str] = []
        for _, _, oid in matches[1:]:
            if target.id not in self.open or (oid not in self.open and oid not in self.seeds):
                continue
            other = self.open.get(oid)
            if other is None:
                seed = self.seeds[oid]
                alike = weighted_cosine(target.centroid, target.norm2, seed.features.vector, seed.features.norm2,
                                        surging)  # fmt: skip
                alike += self._category_term(target.category, seed.category, excess, target.category_share())
                raised = target.raised
            else:
                alike = self.similarity(target, other) + self._category_term(
                    target.category, other.category, excess, min(target.category_share(), other.category_share())
                )
                raised = target.raised or other.raised
            # an incident takes in a group as alike as a report must be to join it
            needed = min(self.config.merge_similarity, threshold) if raised else self.config.merge_similarity
            if alike >= needed and (other is None or self._belongs(target, other) and self._belongs(other, target)):
                survivor, absorbed = _survivor(target, other if other is not None else self._grown(oid))
                self._merge(survivor, absorbed, report.created_at)
                merged.append(absorbed.id)
                target = survivor
        placement = Placement(target.id, round(similarity, 4), tuple(merged))
        if not target.raised:
            target = self._maybe_raise(target, report)
        if target.raised:
            self._rejudge(target, report.at)
            target.hot_until = target.last_hot()
        self._schedule(target)
        self._touch(target)
        if target.id != placement.group_id:
            placement = Placement(target.id, placement.similarity, placement.merged)
        return placement

    def _grown(self, gid: str) -> Group:
        """The open group `gid`; a seed becomes the group it stands for (its report its first member)."""
        group = self.open.get(gid)
        if group is not None:
            return group
        report = self.seeds.pop(gid)
        group = Group(id=gid)
        member = Member(report, 1.0, report.created_at)
        group.add(member, self.window_s)
        self.open[gid] = group
        self._index(group, list(group.words))
        self._join(group, member)
        return group

    # ---- becoming an incident ------------------------------------------------------------------

    def similarity(self, a: Group, b: Group) -> float:
        """How alike two groups' texts are now (surging words weighted up)."""
        return weighted_cosine(a.centroid, a.norm2, b.centroid, b.norm2, self.words.surging)

    def _belongs(self, incident: Group, group: Group) -> bool:
        """Whether most of a group's live reports use a word of the incident's signature (always, for a
        candidate or an incident without one): else it is another problem sharing everyday words with it,
        which may become an incident of its own."""
        if not incident.raised or not incident.signature:
            return True
        signed = sum(1 for member in group.live if self._signed(incident, member.report))
        return signed * 2 >= len(group.live)

    def _signed_score(self, incident: Group, report: Report, alike: float) -> float | None:
        """`alike` with the bonus for a report using the incident's signature; None when it may not join (it
        uses no signature word and is not as alike as merging groups must be)."""
        if not incident.signature:
            return alike
        signed = self._signed(incident, report)
        if not signed and alike < self.config.merge_similarity:
            return None
        return alike + SIGNATURE_WEIGHT * signed

    def _signed(self, incident: Group, report: Report) -> float:
        """The largest weight (see `_sign`) among the incident's signature words the report uses; 0 for none."""
        signature = incident.signature
        if not signature:
            return 0.0
        return max((signature[word] for word in report.features.words if word in signature), default=0.0)

    def _sign(self, group: Group, at: float) -> None:
        """Its signature now: the words that tell its reports apart from the everyday complaints on its topic.

        Its topic is the words at least 1/SIGNATURE_SHARE of its live reports use; the everyday complaints on
        it are those using any of them in the same window of the previous days. A topic word it uses at
        least SIGNATURE_LIFT times as often as they do is a signature word, weighted by the share of the
        two rates that is its own. When flights are cancelled, "flight" is in its reports and in the
        everyday delays alike; "cancelled" is in its reports far more."""
        group.signature = {}
        live = len(group.live)
        common = max(self.config.min_authors, live / SIGNATURE_SHARE)
        topic = sorted(w for w, n in group.words.items() if n >= common and not w.startswith("cat:"))
        window = self.window_s
        days = self.history.coverage.covered_offsets(at, self.config.anomaly.baseline_days)
        everyday, counts = self.history.word_counts(topic, [(at - k * DAY_S - window, at - k * DAY_S) for k in days])
        if everyday < self.config.min_authors:
            return  # no everyday complaints on its topic to tell it apart from
        for word, used in zip(topic, counts, strict=True):
            rate, usual_rate = group.words[word] / live, (used + SMOOTHING) / (everyday + SMOOTHING)
            if rate >= SIGNATURE_LIFT * usual_rate:
                group.signature[word] = round(rate / (rate + usual_rate), 6)

    def likeness(self, group: Group, at: float) -> Likeness:
        """The rule a report must meet to join `group` now (its category's bonus as it stands now)."""
        excess = self.category_excess(group.category, at)
        return Likeness(
            centroid=group.centroid,
            norm2=group.norm2,
            threshold=self.config.similarity,
            category=group.category,
            bonus=self.config.category_weight * excess,
            penalty=self.config.category_penalty,
            extra=dict(self.words.surging),
        )

    def _maybe_raise(self, group: Group, report: Report) -> Group:
        """Raise the group when reports like it, in the window, are clearly above their usual number.

        Reports like it count whichever group they landed in: a problem described in many ways
        is split over several groups at first, and its rate is theirs together.
        """
        judged = self._judge(group, report.at)
        if judged is None:
            return group
        observed, usual = judged
        incident = self._alike_incident(group, report.at)
        if incident is not None:  # another part of a problem already raised: it joins that incident
            self._merge(incident, group, report.created_at)
            incident.hot_until = max(incident.hot_until, report.at)
            return incident
        expected = usual.expected
        calm = calm_level(expected)
        # its reports alike the rest of it, using a word that sets it apart from the everyday ones, since the
        # rise began
        self._sign(group, report.at)
        fitting = [m for m in self._fitting(group, report.at) if not group.signature or self._signed(group, m.report)]
        fitting = since_onset(fitting, expected / self.window_s, report.at, self.window_s)
        if len({m.report.author for m in fitting}) < self.config.min_authors:
            return group  # what made it look anomalous was mostly reports it had drifted away from
        if group.size > len(fitting):
            group = self._restart(group, report.created_at, fitting)
            self._sign(group, report.at)  # of the reports it kept
        else:
            for member in group.live:  # its members so far were a hidden candidate's: now they are news
                self._join(group, member)
        group.raise_with(report.created_at, report.pk, round(expected, 3), usual.how, usual.days, calm)
        self.incidents.add(group.id)
        group.observed = observed
        group.hot_until = report.at
        self._gather(group, report)
        self._link_recurrence(group)
        return group

    def _chance_level(self, at: float) -> float:
        """The usual count no problem is below: this share of all complaints in the window look alike by chance."""
        horizon = at - self.window_s
        window = self._window
        while window and window[0] <= horizon:
            window.popleft()
        return self.config.anomaly.coincidence * len(window)

    def _judge(self, group: Group, at: float) -> tuple[int, Usual] | None:
        """(alike authors now, usual level) when the group may be anomalous now; None when it cannot be.

        The cheap reasons it cannot come first: too few authors of its own for even its alike reports
        to reach what the chance level needs, too few alike reports in the window, or (within the same
        hour) too few for the usual level judged earlier in that hour. Only then is the history searched.
        """
        own = len(group.live_authors)
        if own < 2:
            return None
        floor = self._chance_level(at)
        needed = self._needed(floor)
        if own * FRAGMENTS < needed:
            return None
        hour = int(at // 3600)
        seen_hour, seen_own, seen_alike = group.now_memo
        if seen_hour == hour and own - seen_own <= 1 and seen_alike + own - seen_own < needed:
            return None  # judged within the hour with as many authors of its own: still short (checkpointed)
        query = self.history.query(self.likeness(group, at))
        if query is None:
            return None
        self.changes.baseline_queries += 1
        alike = query.now(at)
        group.now_memo = (hour, own, alike)
        observed = max(alike, own)
        if observed < needed:
            return None
        if group.usual_hour == hour and observed < self._needed(max(floor, group.usual_memo)):
            return None
        usual = query.usual(at, self.config.anomaly)
        if usual.how == "no history":
            return None  # nothing to be above yet: a new installation learns first
        if usual.expected < floor:
            usual = replace(usual, expected=floor, how=usual.how + ", chance level")
        group.usual_hour, group.usual_memo = hour, usual.expected
        if not is_anomalous(observed, usual, self.config.anomaly, self.config.min_authors):
            return None
        return observed, usual

    def _needed(self, floor: float) -> int:
        """The fewest alike authors that can be anomalous when the usual level is at least `floor`."""
        key = round(floor, 2)
        needed = self._needed_memo.get(key)
        if needed is None:
            settings = self.config.anomaly
            usual = Usual(key, 0, "")
            needed = max(self.config.min_authors, math.ceil(settings.ratio * key))
            while not is_anomalous(needed, usual, settings, self.config.min_authors):
                needed += 1
            self._needed_memo[key] = needed
        return needed

    def _rejudge(self, incident: Group, at: float) -> None:
        """Once an event hour: what the incident's usual level is now (it resolves when back at it)."""
        hour = int(at // 3600)
        if incident.judged_hour == hour:
            return
        incident.judged_hour = hour
        self._sign(incident, at)
        self.changes.baseline_queries += 1
        query = self.history.query(self.likeness(incident, at))
        if query is None:
            return
        usual = query.usual(at, self.config.anomaly)
        if usual.how != "no history":
            expected = max(usual.expected, self._chance_level(at))
            incident.calm_level = max(incident.calm_level, calm_level(expected))

    def _alike_incident(self, group: Group, at: float) -> Group | None:
        best: tuple[float, Group] | None = None
        for oid in self._candidates(list(group.words)):
            other = self.open.get(oid)
            if other is None or other is group or not other.raised:
                continue
            excess = self.category_excess(other.category, at)
            alike = self.similarity(other, group) + self._category_term(
                other.category, group.category, excess, min(other.category_share(), group.category_share())
            )
            if alike >= self.config.similarity and self._belongs(other, group) and (best is None or alike > best[0]):
                best = (alike, other)
        return best[1] if best is not None else None

    def _gather(self, incident: Group, report: Report) -> None:
        """Merge into a new incident the candidate groups and lone reports that hold other reports of the same
        problem: by the rule a report arriving now would join it by (its signature included)."""
        threshold = self.config.similarity
        excess = self.category_excess(incident.category, report.at)
        for oid in self._sharing(incident.words):
            other = self.open.get(oid)
            if other is None:
                seed = self.seeds.get(oid)
                if seed is None:
                    continue
                cosine = weighted_cosine(incident.centroid, incident.norm2, seed.features.vector, seed.features.norm2,
                                         self.words.surging)  # fmt: skip
                alike = self._signed_score(incident, seed, cosine)
                if alike is None:
                    continue
                alike += self._category_term(incident.category, seed.category, excess, incident.category_share())
                if alike >= threshold:
                    self._merge(incident, self._grown(oid), report.created_at)
                continue
            if other is incident or other.raised or not self._belongs(incident, other):
                continue
            alike = self.similarity(incident, other) + self._category_term(
                incident.category, other.category, excess, min(incident.category_share(), other.category_share())
            )
            if incident.signature and other.live:  # most of its reports use the signature: as they would join
                alike += SIGNATURE_WEIGHT * sum(self._signed(incident, m.report) for m in other.live) / len(other.live)
            if alike >= threshold:
                self._merge(incident, other, report.created_at)

    def _fitting(self, group: Group, at: float) -> list[Member]:
        """The live members as alike the rest of the group as a report must be to join it.

        A candidate can start from one report and drift: its first members may share only a common
        word with what it became (a luggage complaint in front of a run of cancelled flights). Those
        are not reports of the problem being raised."""
        surging = self.words.surging
        excess = self.category_excess(group.category, at)
        threshold = self.config.similarity
        fitting = []
        for member in group.live:
            feats = member.report.features
            rest, rest_norm2 = group.without(feats)
            alike = weighted_cosine(rest, rest_norm2, feats.vector, feats.norm2, surging)
            alike += self._category_term(group.category, member.report.category, excess, group.category_share())
            if alike >= threshold:
                fitting.append(member)
        return fitting

    def _sharing(self, words: Counter[str]) -> list[str]:
        """Every open group and seed sharing a lookup word with `words`, those sharing most first.

        At a big brand's volume one problem is at first split over far more fragments than the few
        candidates a report is compared with; an incident being raised looks at all of them, once."""
        shared: Counter[str] = Counter()
        for word in words:
            posting = self._postings.get(word)
            if posting:
                shared.update(posting)
        return [gid for gid, _ in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))]

    def _restart(self, old: Group, at: datetime, members: list[Member]) -> Group:
        """A candidate turns anomalous with members that are not part of it (older than the window, or
        drifted away from): the incident is the rest, under a new id."""
        first = members[0].report
        fresh = Group(id=self._new_id(first, salt="raised"))
        for member in members:
            moved = Member(member.report, member.similarity, at)
            fresh.add(moved, self.window_s)
            self._join(fresh, moved)
        old.merged_into = fresh.id
        self._close(old, at, "raised")
        self.open[fresh.id] = fresh
        self._index(fresh, list(fresh.words))
        return fresh

    def _link_recurrence(self, group: Group) -> None:
        best: tuple[float, float, Group] | None = None
        for old in self.resolved:
            alike = self.similarity(group, old)
            if alike >= self.config.merge_similarity:
                closed = old.closed_at.timestamp() if old.closed_at else 0.0
                if best is None or (alike, closed) > (best[0], best[1]):
                    best = (alike, closed, old)
        if best is not None:
            old = best[2]
            group.recurred_from = old.id
            old.recurred_as.append(group.id)
            self._touch(old)

    # ---- merging -------------------------------------------------------------------------------

    def _merge(self, survivor: Group, absorbed: Group, at: datetime) -> None:
        """`absorbed` moves into `survivor`: its live members (and, for an incident, all its members)."""
        moved_pks: set[int] = set()
        taken = list(absorbed.live)
        if survivor.raised and not absorbed.raised:
            if len(taken) >= 3:
                # a candidate may have drifted: only its reports alike the rest of it are reports of its problem
                taken = self._fitting(absorbed, at.timestamp())
            # before the incident's onset its problem ran at its usual level: those reports are everyday ones
            onset = survivor.first_seen
            taken = [m for m in taken if onset is None or m.report.created_at >= onset]
        members = sorted([*survivor.live, *taken], key=lambda m: m.report.order_key)
        absorbed_live = {id(m) for m in taken}
        if survivor.raised and absorbed.raised:
            assert survivor.facts is not None and absorbed.facts is not None
            survivor.facts.absorb(absorbed.facts)
            moved_pks.update(absorbed.facts.member_pks)
        elif absorbed.raised:
            # a candidate survivor never absorbs an incident (see _survivor)
            raise AssertionError("an incident can only merge into an incident")
        elif survivor.raised:
            assert survivor.facts is not None
            for member in taken:
                survivor.facts.add(member.report)
        live_pks: dict[int, Member] = {}
        for member in members:
            if id(member) in absorbed_live:
                member = Member(member.report, member.similarity, at)
                live_pks[member.report.pk] = member
            moved_pks.discard(member.report.pk)
        for member in sorted(live_pks.values(), key=lambda m: m.report.order_key):
            self._join(survivor, member)
        for pk in sorted(moved_pks):
            self.changes.joins.append(Join(survivor.id, pk, 0.0, at))
        whole = len(taken) == len(absorbed.live)
        survivor.size += absorbed.size if whole else len(taken)
        before = list(survivor.words)
        self._rebuild_live(survivor, [live_pks.get(m.report.pk, m) for m in members])
        survivor.gone.extend(w for w in before if w not in survivor.words)
        self._sync(survivor)
        self._index(survivor, list(survivor.words))
        # a candidate brings its live reports only: the incident starts no earlier than the first of them
        first_seen = (absorbed.first_seen if absorbed.raised
                      else min((m.report.created_at for m in taken), default=None))  # fmt: skip
        if first_seen is not None and (survivor.first_seen is None or first_seen < survivor.first_seen):
            survivor.first_seen = first_seen
        if survivor.raised:
            survivor.hot_until = max(survivor.hot_until, absorbed.hot_until)
        absorbed.merged_into = survivor.id
        self._close(absorbed, at, "merged")
        self._touch(survivor)

    def _rebuild_live(self, group: Group, members: list[Member]) -> None:
        group.live.clear()
        group.centroid, group.norm2, group.words = {}, 0, Counter()
        group.live_authors, group.live_categories = Counter(), Counter()
        assert group.last_seen is not None
        newest = max([group.last_seen, *(m.report.created_at for m in members)])
        group.last_seen = newest
        horizon = newest.timestamp() - self.window_s
        for member in members:
            if member.report.at < horizon:
                continue
            report = member.report
            group.live.append(member)
            group._add_vector(report.features)
            group.words.update(report.index)
            group.live_authors[report.author] += 1
            group.live_categories[report.category] += 1
        group.category = group._leading_category()
        group.peak_authors = max(group.peak_authors, len(group.live_authors))

    def close_all(self, at: datetime | None = None) -> None:
        """End of a finite stream (benchmarks): close what is still open, as expiry would (seeds just go)."""
        for sid, seed in list(self.seeds.items()):
            self._drop_id(sid, seed.index)
        self.seeds.clear()
        for group in sorted(self.open.values(), key=lambda g: g.id):
            when = at or group.last_seen
            assert when is not None
            self._close(group, when, "resolved" if group.raised else "expired")


def calm_level(expected: float) -> int:
    """The most distinct authors within a window that is still the usual level (about 2 sigma above it)."""
    return max(1, math.ceil(expected + 2 * math.sqrt(expected)))


def since_onset(members: list[Member], usual_rate: float, now: float, window: float) -> list[Member]:
    """The members from the start of the rise: where the count above the usual rate (`usual_rate`
    reports a second) up to `now` is largest (the CUSUM change point), and no earlier than where the
    members' own rate changes (`rate_change`: the usual level counts only the reports as alike as the
    incident is now, and its everyday reports often came faster than that). Before it, the problem ran at
    its usual level, and those reports are the everyday ones, not the incident's."""
    if usual_rate * 3600 < 0.5 or len(members) < 2:
        return members  # a problem with no real baseline: every report of it is news
    best, start = -math.inf, 0
    for index, member in enumerate(members):
        excess = (len(members) - index) - usual_rate * (now - member.report.at)
        if excess > best:
            best, start = excess, index
    return members[max(start, rate_change([m.report.at for m in members], now - window, now)) :]


def rate_change(times: list[float], start: float, now: float) -> int:
    """Where a run of report times (sorted, within start..now) goes from one steady rate to a faster one:
    the index of the first report of the faster part, 0 when there is no clear change.

    Two Poisson rates, before and after each report, by maximum likelihood; of the splits whose likelihood
    is within CHANGE_TOLERANCE (log) of the best, the earliest, so that a rise that ramps up keeps its start.
    """
    n = len(times)
    scores = []
    for k, at in enumerate(times):
        before, after = max(at - start, 1.0), max(now - at, 1.0)
        if k / before >= (n - k) / after:
            scores.append(-math.inf)  # not a rise
            continue
        scores.append((k * math.log(k / before) if k else 0.0) + (n - k) * math.log((n - k) / after))
    best = max(scores)
    for k, score in enumerate(scores):
        if score >= best - CHANGE_TOLERANCE:
            return k
    return 0


def _back_to_usual(incident: Group, report: Report, window: float) -> bool:
    """Whether the report would leave the incident at its usual level, judged over the last half window (so
    that the end of a storm shows within the hour): a problem reported every day (cancelled flights) is not
    the incident once the rise is over, and its everyday reports stay out of it. A rise again starts as a
    candidate, which joins the incident once it is anomalous."""
    if incident.usual < 1:
        return False  # never reported as a rule: every report of it is news
    since = report.at - window / 2
    authors = {m.report.author for m in incident.live if m.report.at >= since}
    return len(authors) + (report.author not in authors) <= calm_level(incident.usual / 2)


def _closed_at(group: Group) -> float:
    return group.closed_at.timestamp() if group.closed_at is not None else 0.0


def _survivor(a: Group, b: Group) -> tuple[Group, Group]:
    """The group that keeps its id: an incident over a candidate, then more distinct authors, then the older."""
    ranked = sorted((a, b), key=lambda g: (not g.raised, -g.author_count, g.first_seen, g.id))
    return ranked[0], ranked[1]
