"""Saving and restoring the engine's state (a checkpoint), so a new process resumes exactly.

What is saved: the open groups (their live members by mention pk, and an incident's
running totals), the categories' trailing windows, the recently resolved incidents (for
recurrence links), the ids in use and the position (the last report placed). What is not:
the reports' texts and features and the baselines' history, which are rebuilt from the
store (`load` takes a function that returns Reports by pk).

The format is compact JSON, zlib-compressed; datetimes are ISO strings (exact), floats
are Python's shortest round-trip form.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from monitor.incidents.engine import Engine
from monitor.incidents.groups import Facts, Group, Member, Report

FORMAT = 1


class SnapshotError(ValueError):
    """A checkpoint that cannot be read (another version, or damaged)."""


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _facts(facts: Facts) -> dict[str, Any]:
    return {
        "authors": sorted(facts.authors),
        "pks": facts.member_pks,
        "platforms": dict(facts.platforms),
        "languages": dict(facts.languages),
        "per_hour": {str(k): v for k, v in facts.per_hour.items()},
        "terms": dict(facts.term_authors),
        "surfaces": {k: dict(v) for k, v in facts.surfaces.items()},
        "negated": facts.negated,
        "cannot": facts.cannot,
        "max_urgency": facts.max_urgency,
        "examples": [r.pk for r in facts.examples],
        "categories": dict(facts.categories),
    }


def _resolved(group: Group) -> dict[str, Any]:
    """A resolved incident, as far as recurrence needs it."""
    return {
        "id": group.id,
        "centroid": group.centroid,
        "norm2": group.norm2,
        "closed_at": _iso(group.closed_at),
        "recurred_as": group.recurred_as,
    }


def _group(group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": group.id,
        "live": [[m.report.pk, m.similarity, _iso(m.joined_at)] for m in group.live],
        "size": group.size,
        "peak_authors": group.peak_authors,
        "first_seen": _iso(group.first_seen),
        "last_seen": _iso(group.last_seen),
        "now_memo": list(group.now_memo),
        "usual_hour": group.usual_hour,
        "usual_memo": group.usual_memo,
    }
    if group.facts is not None:
        out.update(
            facts=_facts(group.facts),
            raised_at=_iso(group.raised_at),
            raised_by=group.raised_by,
            usual=group.usual,
            usual_how=group.usual_how,
            usual_days=group.usual_days,
            observed=group.observed,
            calm_level=group.calm_level,
            judged_hour=group.judged_hour,
            signature=group.signature,
            hot_until=group.hot_until,
            recurred_from=group.recurred_from,
            recurred_as=group.recurred_as,
        )
    return out


def dump(engine: Engine) -> bytes:
    state = {
        "format": FORMAT,
        "last_key": [_iso(engine.last_key[0]), engine.last_key[1], engine.last_key[2]] if engine.last_key else None,
        "open": [_group(g) for g in sorted(engine.open.values(), key=lambda g: g.id)],
        "seeds": [[sid, report.pk] for sid, report in sorted(engine.seeds.items())],
        "resolved": [_resolved(g) for g in engine.resolved],
        "recent": {c: list(map(list, q)) for c, (q, _) in sorted(engine.recent.items())},
        "used_ids": engine.used_ids,
        "window": list(engine._window),
    }
    return zlib.compress(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode(), 6)


def needed_pks(blob: bytes) -> set[int]:
    """The mention pks whose Reports `load` will ask for."""
    state = _read(blob)
    pks: set[int] = set()
    pks.update(pk for _, pk in state["seeds"])
    for group in state["open"]:
        pks.update(pk for pk, _, _ in group["live"])
        if "facts" in group:
            pks.update(group["facts"]["examples"])
    return pks


def _read(blob: bytes) -> dict[str, Any]:
    try:
        state = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError) as exc:
        raise SnapshotError(f"damaged checkpoint: {exc}") from None
    if state.get("format") != FORMAT:
        raise SnapshotError(f"checkpoint format {state.get('format')!r}, expected {FORMAT}")
    return state


def position(blob: bytes) -> tuple[datetime, str, str] | None:
    key = _read(blob)["last_key"]
    return (datetime.fromisoformat(key[0]), key[1], key[2]) if key else None


def _load_facts(data: dict[str, Any], reports: dict[int, Report]) -> Facts:
    return Facts(
        authors=set(data["authors"]),
        member_pks=list(data["pks"]),
        platforms=Counter(data["platforms"]),
        languages=Counter(data["languages"]),
        per_hour=Counter({int(k): v for k, v in data["per_hour"].items()}),
        term_authors=Counter(data["terms"]),
        surfaces={k: Counter(v) for k, v in data["surfaces"].items()},
        negated=data["negated"],
        cannot=data["cannot"],
        max_urgency=data["max_urgency"],
        examples=[reports[pk] for pk in data["examples"] if pk in reports],
        categories=Counter(data["categories"]),
    )


def _load_group(data: dict[str, Any], reports: dict[int, Report], window: float) -> Group:
    group = Group(id=data["id"])
    for pk, similarity, joined_at in data["live"]:
        report = reports.get(pk)
        if report is None:
            continue  # the mention was deleted since: it no longer counts
        member = Member(report, similarity, datetime.fromisoformat(joined_at))
        group.add(member, window)
    # `add` counted the live members again: put back the saved totals
    group.size = data["size"]
    group.peak_authors = data["peak_authors"]
    group.first_seen = _dt(data["first_seen"])
    group.last_seen = _dt(data["last_seen"])
    group.now_memo = tuple(data["now_memo"])  # type: ignore[assignment]
    group.usual_hour = data["usual_hour"]
    group.usual_memo = data["usual_memo"]
    if "facts" in data:
        group.facts = _load_facts(data["facts"], reports)
        group.raised_at = _dt(data["raised_at"])
        group.raised_by = data["raised_by"]
        group.usual = data["usual"]
        group.usual_how = data["usual_how"]
        group.usual_days = data["usual_days"]
        group.observed = data["observed"]
        group.calm_level = data["calm_level"]
        group.judged_hour = data["judged_hour"]
        group.signature = dict(data.get("signature", {}))
        group.hot_until = data["hot_until"]
        group.recurred_from = data["recurred_from"]
        group.recurred_as = list(data["recurred_as"])
    return group


def load(blob: bytes, engine: Engine, reports_by_pk: Callable[[Iterable[int]], dict[int, Report]]) -> None:
    """Put the saved state into a new `engine` (whose baselines the caller fills from the store)."""
    state = _read(blob)
    reports = reports_by_pk(needed_pks(blob))
    window = engine.window_s
    for data in state["open"]:
        engine.restore(_load_group(data, reports, window))
    for sid, pk in state["seeds"]:
        if pk in reports:
            engine.restore_seed(sid, reports[pk])
    for data in state["resolved"]:
        group = Group(id=data["id"], centroid=dict(data["centroid"]), norm2=data["norm2"])
        group.closed_at = _dt(data["closed_at"])
        group.close_reason = "resolved"
        group.recurred_as = list(data["recurred_as"])
        engine.resolved.append(group)
    for category, items in state["recent"].items():
        queue: deque[tuple[float, str]] = deque((float(at), author) for at, author in items)
        engine.recent[category] = (queue, Counter(author for _, author in queue))
    engine.used_ids = {k: float(v) for k, v in state["used_ids"].items()}
    engine._window.extend(float(at) for at in state["window"])
    key = state["last_key"]
    engine.last_key = (datetime.fromisoformat(key[0]), key[1], key[2]) if key else None
