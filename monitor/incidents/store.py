"""The database side of incident assignment: a thin adapter around the in-memory engine.

Each call replays, in event-time order, every stored complaint from the
earliest one in the batch onwards, starting from the groups as they stood
just before that moment (rebuilt from `incident_members`, whose `joined_at`
is the event time a mention joined). Because the engine is causal, this gives
the same groups and ids as one in-order pass over all history, whatever order
the batches arrived in. In-order polling replays only the new batch.

Groups that never had `min_authors` distinct authors within one `window`
are stored with status `candidate` (so the replay can resume them); they are
not incidents and are never exported, shown, alerted or counted.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from monitor.incidents import describe
from monitor.incidents.alerts import Notifier, compose, due_thresholds
from monitor.incidents.bursts import update_bursts
from monitor.incidents.engine import Engine, EngineConfig, Group, Member, Report, make_report
from monitor.incidents.settings import AlertSettings, IncidentSettings
from monitor.incidents.text import tokens
from monitor.models import IncidentContext, Urgency, utc
from monitor.stages import IncidentOutcome, StoredComplaint
from monitor.storage.repository import labelled_is_complaint, with_verdict
from monitor.storage.schema import (
    ClassificationRow,
    IncidentMemberRow,
    IncidentRow,
    LabelRow,
    MentionRow,
    now_utc,
)

log = logging.getLogger(__name__)

REPORT_CACHE = 50_000

CANDIDATE = "candidate"
EMERGING = "emerging"
ACTIVE = "active"
RESOLVED = "resolved"
MERGED = "merged"
VISIBLE_STATUSES = (EMERGING, ACTIVE, RESOLVED, MERGED)
"""Statuses of real incidents; `candidate` rows are internal bookkeeping."""


def brand_words(terms: Iterable[str]) -> frozenset[str]:
    """The canonical words of the brand's names and hashtags ('#PayKita' → 'paykita')."""
    return frozenset(word for term in terms for word, _ in tokens(term.replace("#", " ")))


def engine_config(settings: IncidentSettings, brand_terms: Iterable[str] = ()) -> EngineConfig:
    return EngineConfig(
        min_authors=settings.min_authors,
        window=settings.window,
        resolve_after=settings.resolve_after,
        similarity=settings.similarity,
        merge_similarity=settings.merge_similarity,
        category_penalty=settings.category_penalty,
        category_weight=settings.category_weight,
        category_window=settings.category_window,
        category_authors=settings.category_authors,
        key_terms=frozenset(t.lower() for t in settings.key_terms),
        ignore_terms=brand_words(brand_terms),
    )


@dataclass(slots=True)
class _Stored:
    """An incident row's facts before this call, to tell what changed."""

    size: int
    author_count: int
    status: str
    merged_into: str | None


class StoredIncidentAssigner:
    """IncidentAssigner backed by the incidents / incident_members tables."""

    def __init__(self, settings: IncidentSettings, alerts: AlertSettings, brand_terms: Iterable[str] = ()) -> None:
        self.settings = settings
        self.alert_settings = alerts
        self.notifier = Notifier(alerts)
        self.config = engine_config(settings, brand_terms)
        # Replays re-read the open incidents' reports every batch: keep their features.
        self._reports: OrderedDict[tuple[int, str | None, int], Report] = OrderedDict()

    # ---- reading -------------------------------------------------------------------------------

    def _report(self, mention: MentionRow, classification: ClassificationRow, label: LabelRow | None) -> Report:
        category = (label.category if label and label.category else None) or classification.category
        urgency = (label.urgency if label and label.urgency else None) or classification.base_urgency
        try:
            rank = Urgency(urgency).rank
        except ValueError:
            rank = Urgency.LOW.rank
        key = (mention.pk, category, rank)
        cached = self._reports.get(key)
        if cached is not None:
            self._reports.move_to_end(key)
            return cached
        report = self._build_report(mention, classification, category, rank)
        self._reports[key] = report
        if len(self._reports) > REPORT_CACHE:
            self._reports.popitem(last=False)
        return report

    def _build_report(
        self, mention: MentionRow, classification: ClassificationRow, category: str | None, rank: int
    ) -> Report:
        return make_report(
            self.config,
            pk=mention.pk,
            platform=mention.platform,
            external_id=mention.external_id,
            author=(mention.author or f"?{mention.platform}:{mention.external_id}").lower(),
            created_at=utc(mention.created_at),
            category=category or "other",
            text=mention.text,
            urgency_rank=rank,
            lang=classification.lang or mention.source_lang or "",
        )

    def _complaints_from(self, session: Session, start: datetime) -> list[Report]:
        rows = session.execute(
            with_verdict(select(MentionRow, ClassificationRow, LabelRow))
            .where(MentionRow.created_at >= start, labelled_is_complaint().is_(True))
            .order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
        ).all()
        return [self._report(m, c, lab) for m, c, lab in rows]

    def _restore_groups(self, session: Session, start: datetime, engine: Engine) -> dict[str, IncidentRow]:
        """Re-open every group as it stood just before `start`; returns the rows it came from."""
        horizon = start - max(self.settings.window, self.settings.resolve_after)
        rows = session.scalars(
            select(IncidentRow).where(
                IncidentRow.first_seen < start,
                IncidentRow.last_seen >= horizon,
            )
        ).all()
        alive = {}
        for row in rows:
            if (row.summary or {}).get("kind") == "burst":
                continue
            merged_at = (row.summary or {}).get("merged_at")
            if row.merged_into and merged_at and datetime.fromisoformat(merged_at) < start:
                continue
            alive[row.id] = row
        if not alive:
            return {}
        member_rows = session.execute(
            select(IncidentMemberRow, MentionRow, ClassificationRow, LabelRow)
            .join(MentionRow, MentionRow.pk == IncidentMemberRow.mention_pk)
            .join(ClassificationRow, ClassificationRow.mention_pk == MentionRow.pk)
            .outerjoin(LabelRow, LabelRow.mention_pk == MentionRow.pk)
            .where(IncidentMemberRow.incident_id.in_(list(alive)), IncidentMemberRow.joined_at < start)
        ).all()
        by_group: dict[str, list[Member]] = {}
        for member, mention, classification, label in member_rows:
            report = self._report(mention, classification, label)
            by_group.setdefault(member.incident_id, []).append(Member(report, member.similarity, utc(member.joined_at)))
        restored = {}
        for gid in sorted(by_group):
            members = sorted(by_group[gid], key=lambda m: (m.joined_at, m.report.order_key))
            group = Group(id=gid, first=min((m.report for m in members), key=lambda r: r.order_key))
            for member in members:
                group.add(member, self.settings.window)
            group.rebuild(self.settings.window)
            group.update_raised(self.settings.min_authors, self.settings.window, full=True)
            if engine._expires_at(group) < start:
                continue
            engine.restore(group)
            restored[gid] = alive[gid]
        return restored

    # ---- writing -------------------------------------------------------------------------------

    def _status(self, group: Group, newest: datetime) -> str:
        if not group.raised:
            return CANDIDATE  # even when absorbed by another group: it was never an incident
        if group.merged_into:
            return MERGED
        assert group.last_seen is not None
        if newest - group.last_seen >= self.settings.resolve_after:
            return RESOLVED
        if group.author_count < self.settings.active_authors:
            return EMERGING
        return ACTIVE

    def _urgency(self, group: Group) -> Urgency:
        highest = Urgency.from_rank(max((m.report.urgency_rank for m in group.members), default=0))
        floor = self.settings.urgency_floor(group.author_count)
        return highest if highest.rank >= floor.rank else floor

    def _values(self, group: Group, kept: dict[str, Any], newest: datetime) -> dict[str, Any]:
        """The incident row's columns for a group as the replay left it."""
        shown = group.raised
        terms = describe.key_terms(group.members) if shown else []
        return {
            "title": describe.title(group.members, group.category, terms) if shown else "",
            "category": group.category,
            "status": self._status(group, newest),
            "first_seen": group.first_seen,
            "last_seen": group.last_seen,
            "size": group.size,
            "author_count": group.author_count,
            "urgency": self._urgency(group).value,
            "key_terms": terms,
            "summary": describe.summary(group, kept, terms)
            if shown
            else {"kind": "text", "merged_at": group.merged_at.isoformat() if group.merged_at else None},
            "merged_into": group.merged_into,
        }

    def _write_groups(
        self, session: Session, groups: Sequence[Group], start: datetime, newest: datetime
    ) -> dict[str, IncidentRow]:
        """Write the replayed groups in a few statements: rows, then their members from `start` on.

        A replay rewrites every group open at `start` (hidden candidates included, since a later
        replay restores from them), so this is the adapter's hot path: one SELECT for the existing
        rows, UPDATEs only where a column changed, and bulk DELETE/INSERT for the members.
        """
        ids = [g.id for g in groups]
        existing: dict[str, IncidentRow] = {}
        for chunk in _chunks(ids):
            existing.update((r.id, r) for r in session.scalars(select(IncidentRow).where(IncidentRow.id.in_(chunk))))
        rows: dict[str, IncidentRow] = {}
        for group in groups:
            row = existing.get(group.id)
            kept = {k: v for k, v in (row.summary or {}).items() if k == "alerts_sent"} if row is not None else {}
            values = self._values(group, kept, newest)
            if row is None:
                row = IncidentRow(id=group.id, **values)
                session.add(row)
            else:
                changed = {k: v for k, v in values.items() if getattr(row, k) != v}
                for key, value in changed.items():
                    setattr(row, key, value)
                if changed:
                    row.updated_at = now_utc()
            rows[group.id] = row
        session.flush()
        for chunk in _chunks(ids):
            session.execute(
                delete(IncidentMemberRow).where(
                    IncidentMemberRow.incident_id.in_(chunk), IncidentMemberRow.joined_at >= start
                )
            )
        fresh = [
            {"incident_id": g.id, "mention_pk": m.report.pk, "similarity": m.similarity, "joined_at": m.joined_at}
            for g in groups
            for m in g.members
            if m.joined_at >= start
        ]
        if fresh:
            session.execute(IncidentMemberRow.__table__.insert(), fresh)
        return rows

    def _retire_vanished(
        self, session: Session, start: datetime, produced: dict[str, Group], stored: dict[str, _Stored]
    ) -> set[str]:
        """Stored groups the replay no longer makes: candidates go, announced incidents point to their heir."""
        changed: set[str] = set()
        rows = session.scalars(select(IncidentRow).where(IncidentRow.first_seen >= start)).all()
        owner = {m.report.pk: g.id for g in produced.values() if not g.merged_into for m in g.members}
        for row in rows:
            if row.id in produced or (row.summary or {}).get("kind") == "burst":
                continue
            if row.status == CANDIDATE:
                session.delete(row)
                continue
            pks = session.scalars(
                select(IncidentMemberRow.mention_pk).where(IncidentMemberRow.incident_id == row.id)
            ).all()
            heirs = sorted(owner[pk] for pk in pks if pk in owner)
            heir = max(set(heirs), key=lambda h: (heirs.count(h), h)) if heirs else None
            row.status = MERGED
            row.merged_into = heir
            row.summary = {**(row.summary or {}), "merged_at": start.isoformat(), "superseded": True}
            row.updated_at = now_utc()
            changed.add(row.id)
        return changed

    def _resolve_quiet(self, session: Session, newest: datetime) -> set[str]:
        cutoff = newest - self.settings.resolve_after
        rows = session.scalars(
            select(IncidentRow).where(IncidentRow.status.in_((EMERGING, ACTIVE)), IncidentRow.last_seen <= cutoff)
        ).all()
        for row in rows:
            row.status = RESOLVED
            row.updated_at = now_utc()
        return {row.id for row in rows}

    # ---- the stage -----------------------------------------------------------------------------

    def assign(self, session: Session, complaints: Sequence[StoredComplaint]) -> IncidentOutcome:
        outcome = IncidentOutcome()
        if not complaints:
            return outcome
        session.flush()
        start = min(utc(c.mention.created_at) for c in complaints)
        newest = session.scalar(select(func.max(MentionRow.created_at)))
        newest = utc(newest) if newest is not None else start

        closed: list[Group] = []
        engine = Engine(self.config, on_close=closed.append)
        restored = self._restore_groups(session, start, engine)
        stored = {
            row.id: _Stored(row.size, row.author_count, row.status, row.merged_into)
            for row in session.scalars(
                select(IncidentRow).where(or_(IncidentRow.id.in_(list(restored)), IncidentRow.first_seen >= start))
            )
        }
        for report in self._complaints_from(session, start - self.settings.category_window):
            if report.created_at < start:
                engine.observe(report)  # the category rates as they stood at `start`
            else:
                engine.add(report)
        engine.close_all()
        produced = {g.id: g for g in closed}

        rows = self._write_groups(session, [produced[gid] for gid in sorted(produced)], start, newest)
        outcome.changed_incidents |= self._retire_vanished(session, start, produced, stored)
        outcome.changed_incidents |= self._resolve_quiet(session, newest)

        for gid, group in produced.items():
            row = rows[gid]
            before = stored.get(gid)
            if row.status == CANDIDATE:
                continue
            if before is not None and (before.size, before.author_count, before.status, before.merged_into) == (
                row.size,
                row.author_count,
                row.status,
                row.merged_into,
            ):
                continue
            outcome.changed_incidents.add(gid)
            if row.status == MERGED:
                continue
            context = IncidentContext(gid, row.title, row.category, row.author_count, row.status)
            floor = self.settings.urgency_floor(row.author_count)
            for member in group.members:
                outcome.memberships[member.report.pk] = context
                if floor.rank > Urgency.NONE.rank:
                    outcome.urgency_floor[member.report.pk] = floor
            self._alert(row, born=before is None or before.status in (CANDIDATE, MERGED), outcome=outcome)

        if self.settings.burst.enabled:
            try:
                outcome.changed_incidents |= update_bursts(session, self.settings, complaints)
            except Exception:  # noqa: BLE001 - a burst statistic must not lose the batch
                log.exception("burst detection failed for this batch")
        return outcome

    def _alert(self, row: IncidentRow, born: bool, outcome: IncidentOutcome) -> None:
        """Record the thresholds reached in the row and queue the alert until the batch commits."""
        if row.status not in (EMERGING, ACTIVE):
            return
        summary = dict(row.summary or {})
        sent = list(summary.get("alerts_sent") or [])
        due = due_thresholds(row.author_count, self.settings.min_authors, self.alert_settings.thresholds, sent)
        if not due:
            return
        if self.notifier.enabled:
            from monitor.incidents.cli import incident_dict

            alert = compose(incident_dict(row), max(due), born=born and not sent)
            outcome.after_commit.append(functools.partial(self.notifier.send, alert))
        summary["alerts_sent"] = sorted({*sent, *due})
        row.summary = summary


def _chunks(ids: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    """Keeps each IN (...) under every database's bound-parameter limit."""
    for offset in range(0, len(ids), size):
        yield ids[offset : offset + size]


def visible(rows: Iterable[IncidentRow]) -> list[IncidentRow]:
    return [r for r in rows if r.status in VISIBLE_STATUSES]
