"""The database side of incident assignment: the in-memory engine, kept live, saved and restored.

In the usual case (batches in event-time order, one writer) the engine lives on in
memory between batches and each batch costs only its own reports: no history is
re-read. The `incident_state` row's generation, bumped by every batch in the same
transaction, tells a process whether its engine is still the current one; when it is
not (another process wrote, a batch rolled back, the process is new) or a batch
reaches back before what the engine has placed, the engine is rebuilt:

1. load the newest checkpoint (`incident_checkpoints`, the engine's saved state)
   that lies before the batch's first report, or start empty;
2. refill its baselines from the stored complaints before that point;
3. replay every stored complaint after it, in event-time order.

Everything the old engine wrote after that checkpoint (member rows and checkpoints
with a later epoch) is replaced, and incidents it announced that the replay no longer
makes point to their heir. Because the engine is causal, the result is the one a
single in-order pass would give, whatever order the batches arrived in; a crash
loses nothing, since the checkpoint, the rows and the generation commit together.

Several writers at once place complaints only up to the watermark (monitor.incidents.watermark):
the rest waits in `incident_pending`, so batches reach the engine in event order and a rebuild is
rare. `incident_state` also keeps the last complaint placed (the frontier) and how many replays
rewrote placed history: an engine that saw the same number catches up by feeding the complaints
placed after its own last one, and never needs its checkpoint.

Only incidents are stored; a hidden candidate group lives in the engine (and its
checkpoints) alone.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.incidents import bursts, describe, snapshot, watermark
from monitor.incidents.alerts import Notifier, compose, due_thresholds
from monitor.incidents.baseline import DAY_S, HOUR_S, timestamp, to_datetime
from monitor.incidents.engine import Changes, Engine, EngineConfig, make_report
from monitor.incidents.groups import Group, Report
from monitor.incidents.settings import AlertSettings, IncidentSettings
from monitor.incidents.text import TextFeatures, features, tokens
from monitor.incidents.visibility import BURST_PREFIX, OPEN_STATUSES
from monitor.models import IncidentContext, Urgency, size_bucket, utc
from monitor.stages import IncidentOutcome, StoredComplaint, WriterProgress
from monitor.storage.bulk import insert_rows
from monitor.storage.repository import labelled_category, labelled_is_complaint, newest_mention_time, with_verdict
from monitor.storage.schema import (
    ClassificationRow,
    IncidentCheckpointRow,
    IncidentMemberRow,
    IncidentRow,
    IncidentStateRow,
    LabelRow,
    MentionRow,
    now_utc,
)

log = logging.getLogger(__name__)

EMERGING = "emerging"
ACTIVE = "active"
RESOLVED = "resolved"
MERGED = "merged"
VISIBLE_STATUSES = (EMERGING, ACTIVE, RESOLVED, MERGED)
REPLAY_CHUNK = 2000
"""Reports replayed between two writes (bounds memory when a whole history is replayed)."""
CHECKPOINT_EVERY = 5000
"""Complaints between two checkpoints (a rebuild replays at most about this many)."""
CHECKPOINT_KEEP = timedelta(days=30)
FEATURES_KEPT = 10_000
"""Stored complaints whose text features a process keeps once it has replayed them (a few MB; only
replays fill it, so a single writer in time order keeps none)."""
_IN_CHUNK = 500

OrderKey = tuple[datetime, str, str]


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
        anomaly=settings.anomaly.engine_settings(),
        surge_weight=settings.surge_weight,
        category_baseline_days=settings.burst.baseline_days,
        recur_within=settings.recur_within,
        key_terms=frozenset(t.lower() for t in settings.key_terms),
        ignore_terms=brand_words(brand_terms),
    )


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Keeps each IN (...) under every database's bound-parameter limit."""
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _order_key(created_at: datetime, platform: str, external_id: str) -> OrderKey:
    return (utc(created_at), platform, external_id)


def _frontier(state: IncidentStateRow) -> OrderKey | None:
    """The last complaint placed, as stored."""
    if state.frontier_at is None or state.frontier_platform is None or state.frontier_external_id is None:
        return None
    return _order_key(state.frontier_at, state.frontier_platform, state.frontier_external_id)


@dataclass(slots=True)
class _Lineage:
    """The live engine of this process and what it corresponds to in the store."""

    engine: Engine
    generation: int
    epoch: int
    """The checkpoint the engine descends from (rows it writes carry it)."""
    rewrites: int = 0
    """How many replays the store had seen when this engine was built (incident_state.rewrites)."""
    since_checkpoint: int = 0


class StoredIncidentAssigner:
    """IncidentAssigner backed by the incidents / incident_members tables and engine checkpoints."""

    def __init__(self, settings: IncidentSettings, alerts: AlertSettings, brand_terms: Iterable[str] = ()) -> None:
        self.settings = settings
        self.alert_settings = alerts
        self.notifier = Notifier(alerts)
        self.config = engine_config(settings, brand_terms)
        self._live: _Lineage | None = None
        self._recomputed: set[int] = set()
        self._features: OrderedDict[int, tuple[str, TextFeatures]] = OrderedDict()
        self.rebuilds = 0
        self.deferred = 0
        """Complaints left waiting for the watermark (both counters are logged by the pipeline)."""

    # ---- reports -------------------------------------------------------------------------------

    def _report(
        self,
        *,
        pk: int,
        platform: str,
        external_id: str,
        author: str | None,
        created_at: datetime,
        text: str,
        lang: str,
        category: str | None,
        urgency: str | None,
        feats: TextFeatures | None = None,
        remember: bool = False,
    ) -> Report:
        try:
            rank = Urgency(urgency or "low").rank
        except ValueError:
            rank = Urgency.LOW.rank
        if feats is None and remember:  # a stored complaint, read back for a replay
            feats = self._remember_features(pk, text)
        return make_report(
            self.config,
            pk=pk,
            platform=platform,
            external_id=external_id,
            author=(author or f"?{platform}:{external_id}").lower(),
            created_at=utc(created_at),
            category=category or "other",
            text=text,
            urgency_rank=rank,
            lang=lang,
            feats=feats,
        )

    def _remember_features(self, pk: int, text: str) -> TextFeatures:
        """The text features of a complaint, worked out once per process: a replay (a late batch, writers
        whose batches overlap in time) goes over the same recent complaints again."""
        cache = self._features
        known = cache.get(pk)
        if known is not None and known[0] == text:
            cache.move_to_end(pk)
            return known[1]
        feats = features(text, self.config.key_terms, self.config.ignore_terms)
        cache[pk] = (text, feats)
        if len(cache) > FEATURES_KEPT:
            cache.popitem(last=False)
        return feats

    def _keep_features(self, reports: Iterable[Report]) -> None:
        """Remember the text features of complaints left waiting: this process reads them back when it places
        them or catches up after another writer did."""
        cache = self._features
        for report in reports:
            cache[report.pk] = (report.text, report.features)
        while len(cache) > FEATURES_KEPT:
            cache.popitem(last=False)

    def _from_complaint(self, complaint: StoredComplaint) -> Report:
        mention, verdict = complaint.mention, complaint.classification
        return self._report(
            pk=complaint.mention_pk,
            platform=mention.platform,
            external_id=mention.id,
            author=mention.author,
            created_at=mention.created_at,
            text=mention.text,
            lang=verdict.lang or mention.lang or "",
            category=verdict.category,
            urgency=verdict.urgency.value,
            feats=complaint.features,
        )

    def _stored_reports(self, session: Session, where: Any, order: bool = True) -> Iterator[Report]:
        """Complaints (a person's label winning) as Reports, streamed."""
        stmt = with_verdict(
            select(
                MentionRow.pk,
                MentionRow.platform,
                MentionRow.external_id,
                MentionRow.author,
                MentionRow.created_at,
                MentionRow.text,
                MentionRow.source_lang,
                ClassificationRow.lang,
                labelled_category(),
                func.coalesce(LabelRow.urgency, ClassificationRow.base_urgency),
            )
        ).where(labelled_is_complaint().is_(True), where)
        if order:
            stmt = stmt.order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
        for (
            pk,
            platform,
            external_id,
            author,
            created_at,
            text,
            source_lang,
            lang,
            category,
            urgency,
        ) in session.execute(stmt.execution_options(yield_per=REPLAY_CHUNK)):
            yield self._report(
                pk=pk,
                platform=platform,
                external_id=external_id,
                author=author,
                created_at=created_at,
                text=text,
                lang=lang or source_lang or "",
                category=category,
                urgency=urgency,
                remember=True,
            )

    def _reports_by_pk(self, session: Session) -> Any:
        def fetch(pks: Iterable[int]) -> dict[int, Report]:
            out: dict[int, Report] = {}
            for chunk in _chunks(sorted(pks)):
                for report in self._stored_reports(session, MentionRow.pk.in_(chunk), order=False):
                    out[report.pk] = report
            return out

        return fetch

    # ---- the live engine, or a rebuilt one --------------------------------------------------------

    def _generation(self, session: Session) -> IncidentStateRow:
        stmt = select(IncidentStateRow).where(IncidentStateRow.id == 1)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # one assignment at a time per database
        row = session.scalar(stmt)
        if row is None:
            row = IncidentStateRow(id=1, generation=0)
            session.add(row)
            session.flush()
        return row

    def _checkpoint_before(self, session: Session, key: OrderKey) -> IncidentCheckpointRow | None:
        rows = session.execute(
            select(
                IncidentCheckpointRow.id,
                IncidentCheckpointRow.position_at,
                IncidentCheckpointRow.position_platform,
                IncidentCheckpointRow.position_external_id,
            )
            .where(IncidentCheckpointRow.position_at <= key[0])
            .order_by(IncidentCheckpointRow.position_at.desc(), IncidentCheckpointRow.id.desc())
        )
        for cid, at, platform, external_id in rows:
            if _order_key(at, platform, external_id) < key:
                return session.get(IncidentCheckpointRow, cid)
        return None

    def _fill_baselines(self, session: Session, engine: Engine, position: OrderKey | None) -> None:
        """The complaints before `position` that the baselines look back on."""
        if position is None:
            return
        text_from = position[0] - timedelta(seconds=engine.history.span)
        rate_from = position[0] - timedelta(seconds=engine.rates.span)
        rows = session.execute(
            with_verdict(
                select(
                    MentionRow.pk,
                    MentionRow.created_at,
                    MentionRow.platform,
                    MentionRow.external_id,
                    labelled_category(),
                )
            )
            .where(
                labelled_is_complaint().is_(True),
                MentionRow.created_at >= rate_from,
                MentionRow.created_at <= position[0],
            )
            .order_by(MentionRow.created_at, MentionRow.platform, MentionRow.external_id)
        )
        for pk, created_at, platform, external_id, category in rows:
            if _order_key(created_at, platform, external_id) <= position:
                engine.rates.add(category or "other", timestamp(utc(created_at)), pk)
        text_rows = self._stored_reports(
            session, (MentionRow.created_at >= text_from) & (MentionRow.created_at <= position[0])
        )
        for report in text_rows:
            if report.order_key <= position:
                engine.history.add(
                    report.at, report.author, report.category, report.features.vector, report.features.norm2
                )
                engine.words.add(report.at, report.author, report.features.words)

    def _rebuild(self, session: Session, first: OrderKey) -> tuple[Engine, int, OrderKey | None, set[str]]:
        """A fresh engine at the newest checkpoint before `first`; returns it, its epoch, its position and
        the incidents open in it (their rows are rewritten after the replay)."""
        self.rebuilds += 1
        engine = Engine(self.config)
        checkpoint = self._checkpoint_before(session, first)
        position: OrderKey | None = None
        epoch = 0
        if checkpoint is not None:
            try:
                snapshot.load(checkpoint.state, engine, self._reports_by_pk(session))
                position = snapshot.position(checkpoint.state)
                epoch = checkpoint.id
            except snapshot.SnapshotError as exc:
                log.warning(
                    "incident checkpoint %s unreadable (%s): replaying all stored complaints", checkpoint.id, exc
                )
                engine = Engine(self.config)
        self._fill_baselines(session, engine, position)
        # What the previous engine wrote after this checkpoint is redone by the replay.
        session.execute(delete(IncidentCheckpointRow).where(IncidentCheckpointRow.id > epoch))
        redone = (IncidentMemberRow.epoch >= epoch) & IncidentMemberRow.incident_id.notlike(BURST_PREFIX + "%")
        self._recomputed = set(session.scalars(select(IncidentMemberRow.mention_pk).where(redone)))
        session.execute(delete(IncidentMemberRow).where(redone))
        restored = {g.id for g in engine.open.values() if g.raised}
        return engine, epoch, position, restored

    # ---- the stage -----------------------------------------------------------------------------

    def assign(
        self, session: Session, complaints: Sequence[StoredComplaint], progress: WriterProgress | None = None
    ) -> IncidentOutcome:
        """Place `complaints` (and waiting ones) in incidents, in event order, up to the watermark."""
        outcome = IncidentOutcome()
        if not complaints and progress is None:
            return outcome
        session.flush()
        if progress is not None:
            watermark.register(session, progress)
        upto = watermark.oldest(session)
        return self._place_upto(session, [self._from_complaint(c) for c in complaints], upto, outcome)

    def settled(self, session: Session, writer: str) -> bool:
        return not watermark.is_registered(session, writer) and not watermark.any_pending(session)

    def finish(self, session: Session, writer: str) -> IncidentOutcome:
        session.flush()
        watermark.deregister(session, writer)
        return self._place_upto(session, [], watermark.oldest(session), IncidentOutcome())

    def _place_upto(
        self, session: Session, reports: list[Report], upto: OrderKey | None, outcome: IncidentOutcome
    ) -> IncidentOutcome:
        """Place the reports and waiting complaints up to the watermark `upto` (all when None); the rest waits.

        While a writer is behind what is placed already (it joined late, or stores older data), everything
        waits: once it has caught up, or ended, one replay places all of it, instead of one per batch."""
        state = self._generation(session)
        frontier = _frontier(state)
        behind = upto is not None and frontier is not None and upto < frontier
        ready = [r for r in reports if not behind and (upto is None or r.order_key <= upto)]
        waiting = [r for r in reports if behind or (upto is not None and r.order_key > upto)]
        if waiting:
            watermark.defer(session, [r.pk for r in waiting])
            self.deferred += len(waiting)
            self._keep_features(waiting)
        if behind:
            return outcome
        taken = watermark.take(session, upto)
        if taken:
            ready.extend(self._reports_by_pk(session)(taken).values())
        if not ready:
            return outcome
        ready.sort(key=lambda r: r.order_key)
        newest = utc(newest_mention_time(session) or ready[-1].created_at)
        if upto is not None:
            newest = min(newest, max(upto[0], ready[-1].created_at))
        return self._place(session, state, ready, newest, outcome)

    def _place(
        self,
        session: Session,
        state: IncidentStateRow,
        reports: list[Report],
        newest: datetime,
        outcome: IncidentOutcome,
    ) -> IncidentOutcome:
        live = self._live
        fresh = live is not None and (
            (
                live.generation == state.generation
                and (live.engine.last_key is None or reports[0].order_key > live.engine.last_key)
            )
            or self._catch_up(session, live, state, reports[0].order_key)
        )
        writer = _Writer(self, session, newest, outcome)
        try:
            if fresh:
                assert live is not None
                engine = live.engine
                writer.epoch = live.epoch
                for report in reports:
                    engine.add(report)
                writer.write(engine.drain())
                slots = bursts.touched_slots(reports)
                placed = len(reports)
            else:
                self._live = None
                engine, epoch, position, restored = self._rebuild(session, reports[0].order_key)
                frontier = _frontier(state)
                if frontier is not None and reports[0].order_key <= frontier:
                    state.rewrites = (state.rewrites or 0) + 1  # placed history changes: no catching up past it
                live = _Lineage(engine, state.generation, epoch, state.rewrites)
                writer.epoch = epoch
                slots, placed = self._replay(session, engine, writer, position)
                writer.rewrite([g for g in engine.open.values() if g.id in restored and g.id not in writer.produced])
                writer.finish()
                outcome.changed_incidents |= writer.retire_vanished(epoch)
                outcome.recomputed, self._recomputed = self._recomputed, set()
                slots = bursts.follow(slots, self.settings.burst.baseline_days)
            writer.finish()
            outcome.changed_incidents |= self._resolve_due(session, newest, outcome)
            if self.settings.burst.enabled:
                outcome.changed_incidents |= bursts.update(session, self.settings, engine.rates, slots, newest)
                outcome.changed_incidents |= bursts.resolve_due(session, self.settings, newest)
            state.generation += 1
            live.generation = state.generation
            if engine.last_key is not None:
                state.frontier_at, state.frontier_platform, state.frontier_external_id = engine.last_key
            live.since_checkpoint += placed
            if live.since_checkpoint >= CHECKPOINT_EVERY:
                self._checkpoint(session, state, live)
        except BaseException:
            self._live = None  # half-applied: the next batch rebuilds from the store
            raise
        self._live = live
        return outcome

    def _catch_up(self, session: Session, live: _Lineage, state: IncidentStateRow, first: OrderKey) -> bool:
        """Bring the live engine up to date with what other writers placed since it last wrote, when they only
        appended (no replay since) and all of it lies before this batch: feeding those complaints is what a
        rebuild would replay, without the checkpoint. Their rows are already written by the writer that placed
        them, so the engine's changes are dropped. False otherwise: rebuild."""
        frontier = _frontier(state)
        engine = live.engine
        last = engine.last_key
        if state.rewrites != live.rewrites or frontier is None or first <= frontier:
            return False
        if last is not None and last > frontier:
            return False
        where = (MentionRow.created_at <= frontier[0]) & watermark.not_pending()
        if last is not None:
            where = where & (MentionRow.created_at >= last[0])
        others = [
            r
            for r in self._stored_reports(session, where)
            if (last is None or r.order_key > last) and r.order_key <= frontier
        ]
        for report in others:
            engine.add(report)
        engine.drain()
        newest_checkpoint = session.scalar(select(func.max(IncidentCheckpointRow.id)))
        if newest_checkpoint is not None and newest_checkpoint > live.epoch:
            live.epoch = newest_checkpoint  # another writer saved the state this engine now holds too
            live.since_checkpoint = 0
        live.since_checkpoint += len(others)
        return True

    def _replay(
        self, session: Session, engine: Engine, writer: _Writer, position: OrderKey | None
    ) -> tuple[dict[str, set[datetime]], int]:
        """Every stored complaint after `position`, through the engine, written in chunks."""
        where = MentionRow.created_at >= position[0] if position is not None else MentionRow.created_at.isnot(None)
        where = where & watermark.not_pending()
        slots: dict[str, set[datetime]] = {}
        chunk: list[Report] = []
        placed = 0
        for report in self._stored_reports(session, where):
            if position is not None and report.order_key <= position:
                continue
            engine.add(report)
            chunk.append(report)
            if len(chunk) >= REPLAY_CHUNK:
                writer.write(engine.drain())
                bursts.merge_slots(slots, bursts.touched_slots(chunk))
                placed += len(chunk)
                chunk = []
        writer.write(engine.drain())
        bursts.merge_slots(slots, bursts.touched_slots(chunk))
        return slots, placed + len(chunk)

    def _checkpoint(self, session: Session, state: IncidentStateRow, live: _Lineage) -> None:
        engine = live.engine
        if engine.last_key is None:
            return
        at, platform, external_id = engine.last_key
        newest = session.scalar(select(func.max(IncidentCheckpointRow.id))) or 0
        state.checkpoint_seq = max(state.checkpoint_seq or 0, newest) + 1
        row = IncidentCheckpointRow(
            id=state.checkpoint_seq,
            position_at=at,
            position_platform=platform,
            position_external_id=external_id,
            state=snapshot.dump(engine),
        )
        session.add(row)
        session.flush()
        live.epoch = row.id
        live.since_checkpoint = 0
        self._prune_checkpoints(session, at)

    def _prune_checkpoints(self, session: Session, now: datetime) -> None:
        """Keep every checkpoint of the last two days, one a day before that, none older than CHECKPOINT_KEEP."""
        rows = session.execute(
            select(IncidentCheckpointRow.id, IncidentCheckpointRow.position_at).order_by(
                IncidentCheckpointRow.position_at.desc(), IncidentCheckpointRow.id.desc()
            )
        ).all()
        keep_days: set[Any] = set()
        doomed = []
        for cid, at in rows:
            at = utc(at)
            if now - at <= timedelta(days=2):
                continue
            if now - at > CHECKPOINT_KEEP or at.date() in keep_days:
                doomed.append(cid)
            else:
                keep_days.add(at.date())
        for chunk in _chunks(doomed):
            session.execute(delete(IncidentCheckpointRow).where(IncidentCheckpointRow.id.in_(chunk)))

    def _resolve_due(self, session: Session, newest: datetime, outcome: IncidentOutcome) -> set[str]:
        """Incidents whose calm period ended by the stream's newest mention, though no report closed them."""
        ids = list(
            session.scalars(
                select(IncidentRow.id).where(
                    IncidentRow.status.in_(OPEN_STATUSES),
                    IncidentRow.resolves_at.isnot(None),
                    IncidentRow.resolves_at <= newest,
                    IncidentRow.id.notlike(BURST_PREFIX + "%"),
                )
            )
        )
        if not ids:
            return set()
        for chunk in _chunks(ids):
            session.execute(
                update(IncidentRow).where(IncidentRow.id.in_(chunk)).values(status=RESOLVED, updated_at=now_utc())
            )
        for incident_id, pk in session.execute(
            select(IncidentMemberRow.incident_id, IncidentMemberRow.mention_pk).where(
                IncidentMemberRow.incident_id.in_(ids)
            )
        ):
            outcome.memberships.setdefault(pk, IncidentContext(incident_id, "", "", 0, RESOLVED))
        return set(ids)

    def _alert(self, row: dict[str, Any], summary: dict[str, Any], born: bool, outcome: IncidentOutcome) -> None:
        """Record the thresholds reached in the row's summary and queue the alert until the batch commits."""
        if row["status"] not in OPEN_STATUSES:
            return
        sent = list(summary.get("alerts_sent") or [])
        due = due_thresholds(row["author_count"], self.settings.min_authors, self.alert_settings.thresholds, sent)
        if not due:
            return
        if self.notifier.enabled:
            alert = compose(
                {**row, "authors": row["author_count"], "summary": summary}, max(due), born=born and not sent
            )
            outcome.after_commit.append(_sender(self.notifier, alert))
        summary["alerts_sent"] = sorted({*sent, *due})


class _Writer:
    """Turns the engine's changes into rows: incidents, their members, and what the pipeline must redo."""

    def __init__(self, owner: StoredIncidentAssigner, session: Session, newest: datetime, outcome: IncidentOutcome):
        self.owner = owner
        self.settings = owner.settings
        self.session = session
        self.newest = newest
        self.outcome = outcome
        self.epoch = 0
        self.produced: set[str] = set()
        self._pending: dict[str, Group] = {}
        self._joins: dict[tuple[str, int], dict[str, Any]] = {}

    def write(self, changes: Changes) -> None:
        raised = {gid for gid, g in changes.groups.items() if g.raised}
        for join in changes.joins:
            group = changes.groups.get(join.group_id)
            if group is None or not group.raised:
                continue
            self._joins[(join.group_id, join.pk)] = {
                "incident_id": join.group_id,
                "mention_pk": join.pk,
                "similarity": join.similarity,
                "joined_at": join.joined_at,
                "epoch": self.epoch,
            }
        for gid in raised:
            self._pending[gid] = changes.groups[gid]
        if len(self._joins) >= REPLAY_CHUNK or len(self._pending) >= REPLAY_CHUNK:
            self._flush()

    def rewrite(self, groups: list[Group]) -> None:
        for group in groups:
            self._pending[group.id] = group

    def finish(self) -> None:
        self._flush()

    def _flush(self) -> None:
        session = self.session
        if self._pending:
            self._write_groups(list(self._pending.values()))
            self._pending = {}
        if self._joins:
            rows = list(self._joins.values())
            existing: set[tuple[str, int]] = set()
            for chunk in _chunks(rows):
                existing.update(
                    session.execute(
                        select(IncidentMemberRow.incident_id, IncidentMemberRow.mention_pk).where(
                            IncidentMemberRow.mention_pk.in_([r["mention_pk"] for r in chunk])
                        )
                    ).all()
                )
            fresh = [r for r in rows if (r["incident_id"], r["mention_pk"]) not in existing]
            if fresh:
                insert_rows(session, IncidentMemberRow.__table__, fresh)
            self._joins = {}

    def _status(self, group: Group, resolves_at: datetime | None) -> str:
        if group.close_reason == "merged":
            return MERGED
        if group.close_reason == "resolved" or (resolves_at is not None and resolves_at <= self.newest):
            return RESOLVED
        return ACTIVE if group.author_count >= self.settings.active_authors else EMERGING

    def _values(self, group: Group) -> dict[str, Any]:
        facts = group.facts
        assert facts is not None
        if group.close_reason in ("resolved", "merged"):
            resolves_at = group.closed_at
        else:
            resolves_at = to_datetime(group.hot_until + self.settings.resolve_after.total_seconds())
        terms = facts.key_terms()
        category = facts.leading_category()
        floor = self.settings.urgency_floor(len(facts.authors))
        highest = Urgency.from_rank(facts.max_urgency)
        return {
            "title": describe.title(facts, category, terms),
            "category": category,
            "status": self._status(group, resolves_at),
            "first_seen": group.first_seen,
            "last_seen": group.last_seen,
            "size": facts.size,
            "author_count": len(facts.authors),
            "urgency": (highest if highest.rank >= floor.rank else floor).value,
            "key_terms": terms,
            "summary": describe.summary(group, terms),
            "merged_into": group.merged_into,
            "raised_at": group.raised_at,
            "resolves_at": resolves_at,
        }

    def _write_groups(self, groups: list[Group]) -> None:
        session = self.session
        ids = [g.id for g in groups]
        stored: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            for gid, summary, status in session.execute(
                select(IncidentRow.id, IncidentRow.summary, IncidentRow.status).where(IncidentRow.id.in_(chunk))
            ):
                stored[gid] = {"summary": summary or {}, "status": status}
        inserts, updates = [], []
        for group in groups:
            values = self._values(group)
            before = stored.get(group.id)
            old_summary = before["summary"] if before else {}
            summary = values["summary"]
            if "alerts_sent" in old_summary:
                summary["alerts_sent"] = old_summary["alerts_sent"]
            state = [values["status"] in OPEN_STATUSES, size_bucket(values["size"]), values["urgency"]]
            summary["draft_state"] = state
            row = {"id": group.id, **values}
            self.owner._alert(row, summary, born=before is None, outcome=self.outcome)
            self._memberships(group, values, redraft_all=old_summary.get("draft_state") != state)
            self.produced.add(group.id)
            self.outcome.changed_incidents.add(group.id)
            row["updated_at"] = now_utc()
            if before is None:
                inserts.append({**row, "opened_epoch": self.epoch, "created_at": row["updated_at"]})
            else:
                updates.append({"b_id": group.id, **{k: v for k, v in row.items() if k != "id"}})
        if inserts:
            session.connection().execute(insert(IncidentRow.__table__), inserts)
        if updates:
            from sqlalchemy import bindparam

            columns = [k for k in updates[0] if k != "b_id"]
            stmt = (
                update(IncidentRow.__table__)
                .where(IncidentRow.__table__.c.id == bindparam("b_id"))
                .values({c: bindparam(c) for c in columns})
            )
            session.connection().execute(stmt, updates)

    def _memberships(self, group: Group, values: dict[str, Any], redraft_all: bool) -> None:
        """Members whose reply or urgency this change affects: all of them when the incident's draft state moved."""
        facts = group.facts
        assert facts is not None
        if values["status"] == MERGED:
            return
        context = IncidentContext(
            group.id, values["title"], values["category"], size_bucket(values["size"]), values["status"]
        )
        floor = self.settings.urgency_floor(values["author_count"])
        if redraft_all:
            pks: Iterable[int] = facts.member_pks
        else:
            pks = [pk for (gid, pk) in self._joins if gid == group.id]
        memberships, floors = self.outcome.memberships, self.outcome.urgency_floor
        for pk in pks:
            memberships[pk] = context
            if floor.rank > Urgency.NONE.rank:
                floors[pk] = floor

    def retire_vanished(self, epoch: int) -> set[str]:
        """Incidents written after the checkpoint that the replay no longer makes are deleted (their member
        rows already were): the store then holds exactly what one in-order pass gives, with no stray rows.
        Such an incident only existed because reports arrived out of order (a late batch, another writer)."""
        session = self.session
        ids = sorted(
            gid
            for gid in session.scalars(
                select(IncidentRow.id).where(
                    IncidentRow.opened_epoch >= epoch, IncidentRow.id.notlike(BURST_PREFIX + "%")
                )
            )
            if gid not in self.produced
        )
        for chunk in _chunks(ids):
            session.execute(delete(IncidentMemberRow).where(IncidentMemberRow.incident_id.in_(chunk)))
            session.execute(update(IncidentRow).where(IncidentRow.merged_into.in_(chunk)).values(merged_into=None))
            session.execute(delete(IncidentRow).where(IncidentRow.id.in_(chunk)))
        return set(ids)


def visible(rows: Iterable[IncidentRow]) -> list[IncidentRow]:
    return [r for r in rows if r.status in VISIBLE_STATUSES]


__all__ = [
    "DAY_S",
    "HOUR_S",
    "StoredIncidentAssigner",
    "brand_words",
    "engine_config",
    "features",
    "visible",
]


def _sender(notifier: Any, alert: Any) -> Callable[[], None]:
    """Send `alert` once the transaction has committed (an alert about rows a rollback undid would be false)."""

    def send() -> None:
        notifier.send(alert)

    return send
