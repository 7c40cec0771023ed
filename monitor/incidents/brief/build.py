"""An incident brief: what an investigator who never saw the mentions needs first.

Built on read from the incident's members: the facts they state, counted by distinct people; the
timeline; a few representative quotes with personal data masked; links to the first reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.incidents.brief.extract import Fact, clean, extract, mask_personal_data, mentions_update
from monitor.incidents.brief.lexicon import Lexicon
from monitor.incidents.brief.settings import BriefSettings
from monitor.incidents.brief.title import compose_title

_KINDS = "subject problem version os_device carrier place merchant merchant_type payment_method channel step amount"
_KINDS += " message error_code"
FACT_KINDS = tuple(_KINDS.split())
"""The kinds of fact a brief lists, in this order."""
FACT_LABELS = {
    "subject": "About",
    "problem": "What goes wrong",
    "version": "App version",
    "os_device": "OS / device",
    "carrier": "Mobile network",
    "place": "Place",
    "merchant": "Merchant / partner",
    "merchant_type": "Kind of merchant",
    "payment_method": "Payment method",
    "channel": "Channel",
    "step": "Step that failed",
    "amount": "Amount",
    "message": "Message quoted",
    "error_code": "Error code",
}
QUOTE_CHARS = 280
QUOTE_CANDIDATES = 400
REFS_PER_FACT = 5
HOURS_LISTED = 168


@dataclass(frozen=True, slots=True)
class BriefMention:
    """One member report, as the brief reads it."""

    ref: str
    """platform:id"""
    platform: str
    author: str
    created_at: datetime
    text: str
    url: str | None = None
    lang: str | None = None

    @property
    def person(self) -> tuple[str, str]:
        return (self.platform, self.author.casefold())


@dataclass
class FactCount:
    value: str
    people: int
    reports: int
    first_at: str
    within: str | None = None
    """For a place: the city or area it lies in."""
    refs: list[str] = field(default_factory=list)
    """The first few reports that state it."""


@dataclass
class Report:
    ref: str
    platform: str
    created_at: str
    url: str | None


@dataclass
class Timeline:
    first_report: Report
    became_incident: Report | None
    """The last report at or before the incident was raised (else the one from the min_authors-th person)."""
    last_report: Report
    peak_hour: str
    peak_reports: int
    last_hour_reports: int
    per_hour: list[tuple[str, int]]


@dataclass
class Quote:
    ref: str
    platform: str
    author: str
    lang: str
    created_at: str
    url: str | None
    text: str


@dataclass
class Brief:
    title: str
    language: str
    reports: int
    people: int
    read: int
    """Reports the facts and quotes were read from (all of them unless over briefs.max_members)."""
    facts: dict[str, list[FactCount]]
    timeline: Timeline
    quotes: list[Quote]
    first_reports: list[Report]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)  # stored times are UTC


def _iso(dt: datetime) -> str:
    return _utc(dt).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_url(url: str | None) -> str | None:
    """Only http(s) links, and none with characters that could break out of a link."""
    if not url:
        return None
    url = url.strip()
    if not url.lower().startswith(("https://", "http://")) or any(c in url for c in " <>\"'`\n\r\t\\"):
        return None
    return url


def _report(m: BriefMention) -> Report:
    return Report(m.ref, m.platform, _iso(m.created_at), safe_url(m.url))


def _label(kind: str, value: str, lexicon: Lexicon, language: str) -> str:
    """What the brief shows: subjects and problems in the team's language, every other fact as stated."""
    names = (
        lexicon.subjects.get(value) if kind == "subject" else lexicon.problems.get(value) if kind == "problem" else None
    )
    if names is None:
        return value
    return names.id if language == "id" else names.en


def _sample(members: Sequence[BriefMention], limit: int) -> Sequence[BriefMention]:
    """Evenly spaced over time, first and last included: the same members always give the same sample."""
    if len(members) <= limit:
        return members
    step = (len(members) - 1) / (limit - 1)
    return [members[round(i * step)] for i in range(limit)]


def _timeline(members: Sequence[BriefMention], min_authors: int, raised_at: datetime | None) -> Timeline:
    per_hour: Counter[datetime] = Counter(m.created_at.replace(minute=0, second=0, microsecond=0) for m in members)
    became = None
    if raised_at is not None:  # the grouping's own word: the last report at or before it raised the incident
        raised = raised_at if raised_at.tzinfo else raised_at.replace(tzinfo=UTC)
        became = next((m for m in reversed(members) if _utc(m.created_at) <= raised), None)
    if became is None:
        seen: set[tuple[str, str]] = set()
        for m in members:
            seen.add(m.person)
            if len(seen) >= min_authors:
                became = m
                break
    peak_hour, peak = min(per_hour.items(), key=lambda hc: (-hc[1], hc[0]))
    first, last = members[0], members[-1]
    hours: list[tuple[str, int]] = []
    start = min(per_hour)
    span = int((max(per_hour) - start).total_seconds() // 3600) + 1
    if span <= HOURS_LISTED:
        hours = [(_iso(start + timedelta(hours=i)), per_hour.get(start + timedelta(hours=i), 0)) for i in range(span)]
    else:
        hours = [(_iso(h), n) for h, n in sorted(per_hour.items())][-HOURS_LISTED:]
    cutoff = last.created_at - timedelta(hours=1)
    return Timeline(
        first_report=_report(first),
        became_incident=_report(became) if became else None,
        last_report=_report(last),
        peak_hour=_iso(peak_hour),
        peak_reports=peak,
        last_hour_reports=sum(1 for m in members if m.created_at > cutoff),
        per_hour=hours,
    )


def _quotes(
    read: Sequence[BriefMention],
    persons: list[tuple[str, str]],
    facts_of: list[frozenset[Fact]],
    wanted: int,
    top: set[Fact],
) -> list[Quote]:
    """Greedy cover: each next quote brings the most facts, languages and platforms not shown yet.

    Candidates: each of the first QUOTE_CANDIDATES people's report that states the most top facts."""
    best_of_person: dict[tuple[str, str], tuple[int, int]] = {}
    for i, person in enumerate(persons):
        known = best_of_person.get(person)
        if known is None and len(best_of_person) >= QUOTE_CANDIDATES:
            continue
        shown = len(facts_of[i] & top)
        if known is None or shown > known[1]:
            best_of_person[person] = (i, shown)
    candidates = sorted(i for i, _ in best_of_person.values())
    covered: set[Fact] = set()
    langs: set[str] = set()
    platforms: set[str] = set()
    chosen: list[int] = []

    def gain(i: int, covered: set[Fact], langs: set[str], platforms: set[str]) -> tuple[float, int]:
        m = read[i]
        new = len((facts_of[i] & top) - covered)
        score: float = 3 * new + 2 * ((m.lang or "und") not in langs) + (m.platform not in platforms)
        score -= max(0, len(m.text) - QUOTE_CHARS) / 400  # long rants quote badly
        return (-score, i)

    while candidates and len(chosen) < wanted:
        pick = min(candidates, key=lambda i: gain(i, covered, langs, platforms))
        candidates.remove(pick)
        chosen.append(pick)
        covered |= facts_of[pick] & top
        langs.add(read[pick].lang or "und")
        platforms.add(read[pick].platform)
    quotes = []
    for i in sorted(chosen, key=lambda i: (read[i].created_at, read[i].ref)):
        m = read[i]
        text = clean(mask_personal_data(m.text))
        if len(text) > QUOTE_CHARS:
            text = text[: QUOTE_CHARS - 1].rstrip() + "…"
        quotes.append(Quote(m.ref, m.platform, m.author, m.lang or "und", _iso(m.created_at), safe_url(m.url), text))
    return quotes


def build_brief(
    members: Sequence[BriefMention],
    lexicon: Lexicon,
    settings: BriefSettings,
    category: str = "other",
    min_authors: int = 3,
    raised_at: datetime | None = None,
) -> Brief | None:
    """The brief of an incident from its member reports (any order). None for an incident with no members.

    `raised_at`: when the grouping made it an incident (the timeline names the report then); without it, the
    report from the `min_authors`-th distinct person."""
    if not members:
        return None
    ordered = sorted(members, key=lambda m: (m.created_at, m.platform, m.ref))
    read = _sample(ordered, settings.max_members)
    facts_of = [extract(m.text, lexicon) for m in read]

    persons = [m.person for m in read]
    people: dict[Fact, set[tuple[str, str]]] = {}
    reports: dict[Fact, int] = {}
    first: dict[Fact, int] = {}
    refs: dict[Fact, list[str]] = {}
    for i, facts in enumerate(facts_of):
        person = persons[i]
        for fact in facts:
            who = people.get(fact)
            if who is None:  # reports are in time order: the first one seen is the first
                people[fact] = {person}
                reports[fact] = 1
                first[fact] = i
                refs[fact] = [read[i].ref]
            else:
                who.add(person)
                reports[fact] += 1
                if len(refs[fact]) < REFS_PER_FACT:
                    refs[fact].append(read[i].ref)
    counts: dict[str, dict[str, int]] = {}
    for (kind, value), who in people.items():
        counts.setdefault(kind, {})[value] = len(who)
    n_people = len(set(persons))

    updated = 0
    versions = counts.get("version")
    if versions:
        top_version = ("version", min(versions, key=lambda v: (-versions[v], v)))
        updated = len(
            {persons[i] for i, f in enumerate(facts_of) if top_version in f and mentions_update(read[i].text)}
        )
    title = compose_title(counts, n_people, category, lexicon, settings.language, updated)

    listed: dict[str, list[FactCount]] = {}
    top: set[Fact] = set()
    for kind in FACT_KINDS:
        values = sorted(
            (-n, -lexicon.depth(v) if kind == "place" else 0, -reports[(kind, v)], v)
            for v, n in counts.get(kind, {}).items()
        )[: settings.values_per_fact]
        if values:
            top |= {(kind, v) for *_, v in values[:3]}
            listed[kind] = [
                FactCount(
                    value=_label(kind, v, lexicon, settings.language),
                    people=-n,
                    reports=-r,
                    first_at=_iso(read[first[(kind, v)]].created_at),
                    within=lexicon.parents.get(v) if kind == "place" else None,
                    refs=refs[(kind, v)],
                )
                for n, _, r, v in values
            ]
    return Brief(
        title=title,
        language=settings.language,
        reports=len(ordered),
        people=len({m.person for m in ordered}),
        read=len(read),
        facts=listed,
        timeline=_timeline(ordered, min_authors, raised_at),
        quotes=_quotes(read, persons, facts_of, settings.quotes, top),
        first_reports=[_report(m) for m in ordered[: settings.first_links]],
    )
