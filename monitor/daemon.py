"""`complaint-monitor run`: APScheduler polls each connector at its own interval and writes the digest on schedule.

Several daemons may run on one config and one PostgreSQL database (see monitor.fleet): a poll
goes ahead only in the daemon holding that connector's lease, and the digest is written by the
one daemon that claims each scheduled time.

SIGINT/SIGTERM stop it cleanly: no new job starts, a fetch under way is abandoned, the batch being
stored finishes (the cursor stays where it was, so the rest is fetched again next time), the
leases are given back and the process exits 0. A second signal exits at once with 128 + the
signal number: nothing committed is lost, and the cursor only ever moves after a commit.

Every `classifier.reload_interval` the model directory is looked at: a model that `train --out DIR` or
`models rollback` put there is loaded in full and swapped in between batches, without a restart; one that
fails to load is refused and the running model stays.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from monitor import fleet
from monitor.app import App
from monitor.commands._output import output_stream
from monitor.config import ConnectorSettings
from monitor.digest import build_digest, render_digest
from monitor.errors import UserError
from monitor.runner import PollResult, enabled_connectors, poll_once

if TYPE_CHECKING:
    from classifiers.reload import Reload, ReloadingClassifier

log = logging.getLogger("monitor.daemon")

DISABLING_OUTCOMES = ("auth failed", "config error")
STOP_GRACE = 20.0
"""Seconds a clean stop waits for the jobs under way (a batch being stored, a digest being written)."""


def parse_schedule(line: str, timezone: str) -> CronTrigger:
    """A crontab line (minute hour day month weekday), or six fields with seconds first.

    The seconds form ("*/10 * * * * *") is for tests and demonstrations of the schedule itself.
    """
    fields = line.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=timezone
        )
    return CronTrigger.from_crontab(line, timezone=timezone)


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime:
    """The schedule's most recent time at or before `now`: the same for every daemon of a fleet."""
    back = timedelta(seconds=2)
    while True:
        found = trigger.get_next_fire_time(None, now - back)
        if found is not None and found <= now:
            break
        if back > timedelta(days=800):
            return now.replace(microsecond=0)
        back *= 4
    while True:
        following = trigger.get_next_fire_time(found, found + timedelta(microseconds=1))
        if following is None or following > now:
            return found.astimezone(UTC)
        found = following


class Daemon:
    def __init__(self, app: App, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or fleet.new_holder_id()
        self.stop = threading.Event()
        self.disabled: dict[str, str] = {}
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.ttls: dict[str, timedelta] = {}
        self.every = fleet.MAX_HEARTBEAT
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition()
        self.model: ReloadingClassifier | None = None
        self._restart_preparer = False

    def use_reloading_model(self) -> ReloadingClassifier:
        """Make the app's classifier one that follows its model directory (before the pipeline first uses it)."""
        from classifiers.reload import ReloadingClassifier

        settings = self.app.settings
        self.model = ReloadingClassifier(settings.classifier, settings.base_dir)
        self.app.__dict__["classifier"] = self.model  # the pipeline reads app.classifier on first use
        return self.model

    def check_model(self) -> Reload | None:
        """Swap in a replaced model (if any). A long import's preparing process loaded the old one: it is closed
        when no poll is running, and the next long batch starts it again with the new model."""
        if self.model is None:
            return None
        result = self.model.check()
        with self._idle:
            self._restart_preparer = self._restart_preparer or result.outcome == "loaded"
            if self._restart_preparer and self._busy == 0 and "pipeline" in self.app.__dict__:
                self.app.pipeline.close()
                self._restart_preparer = False
        return result

    # -- jobs ------------------------------------------------------------------------------------

    @contextmanager
    def _running(self) -> Iterator[None]:
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def poll(self, entry: ConnectorSettings) -> None:
        if self.stop.is_set() or entry.name in self.disabled:
            return
        with self._running():
            if self.stop.is_set():  # checked again once counted: a stop waits for every poll it did not prevent
                return
            database, name, ttl = self.app.database, entry.name, self.ttls[entry.name]
            try:
                ours = fleet.acquire(database, name, self.holder, ttl)
            except SQLAlchemyError as exc:
                log.warning("%s: cannot take its lease, skipping this poll: %s", name, exc)
                return
            with self._lock:
                if not ours:
                    if name in self._held:
                        log.warning("%s: lease lost to another daemon", name)
                        self._held.discard(name)
                    log.debug("%s: polled by another daemon", name)
                    return
                if name not in self._held:
                    log.info("%s: lease taken by %s", name, self.holder)
                    self._held.add(name)
            if self.stop.is_set():
                return
            result = poll_once(
                self.app.settings,
                entry,
                self.app.pipeline,
                database,
                still_ours=lambda: fleet.renew(database, name, self.holder, ttl),
            )
            self._report(entry, result)

    def _report(self, entry: ConnectorSettings, result: PollResult) -> None:
        if result.ok:
            log.info(result.line(datetime.now(UTC)))
        else:
            log.warning(result.line())
        try:
            fleet.record_poll(self.app.database, entry.name, self.holder, result.outcome, result.summary, result.error)
        except SQLAlchemyError as exc:
            log.warning("%s: could not record the poll for `status`: %s", entry.name, exc)
        if result.outcome == "lease lost":
            with self._lock:
                self._held.discard(entry.name)
        if result.outcome in DISABLING_OUTCOMES:
            # A missing or rejected credential will not fix itself: stop asking, keep the others,
            # and let another daemon (perhaps with the credential) have the connector.
            self.disabled[entry.name] = result.message
            log.error("connector %s disabled until restart: %s", entry.name, result.message)
            try:
                self.scheduler.remove_job(f"poll:{entry.name}")
            except Exception:  # noqa: BLE001 - already gone
                pass
            with self._lock:
                self._held.discard(entry.name)
            try:
                fleet.release(self.app.database, entry.name, self.holder)
            except SQLAlchemyError:
                pass

    def scheduled(self, job: str, trigger: CronTrigger, work: Callable[[], str]) -> None:
        """Run `work` for this schedule time unless another daemon of the fleet claimed it first."""
        if self.stop.is_set():
            return
        with self._running():
            if self.stop.is_set():
                return
            scheduled_for = latest_fire_time(trigger, datetime.now(UTC))
            try:
                if not fleet.claim_job(self.app.database, job, scheduled_for, self.holder):
                    log.info("%s for %s: run by another daemon", job, scheduled_for.isoformat())
                    return
            except SQLAlchemyError as exc:
                log.warning("%s for %s: cannot claim it: %s", job, scheduled_for.isoformat(), exc)
                return
            outcome = work()
            try:
                fleet.finish_job(self.app.database, job, scheduled_for, outcome)
            except SQLAlchemyError as exc:
                log.warning("%s for %s: could not record its end: %s", job, scheduled_for.isoformat(), exc)

    def write_digest(self) -> str:
        settings = self.app.settings
        target = settings.resolve(settings.digest.out)
        try:
            with self.app.database.session() as session:
                digest = build_digest(session, settings)
            with output_stream(target) as stream:
                stream.write(render_digest(digest, settings.digest.format))
            log.info("wrote %s digest to %s", settings.digest.format, target)
            return f"wrote {target}"
        except (OSError, UserError) as exc:
            log.error("could not write the digest to %s: %s", target, exc)
            return f"failed: {exc}"

    def beat(self) -> None:
        """Renew the heartbeat and the leases held; forget the ones another daemon took."""
        with self._lock:
            held = {name: self.ttls[name] for name in self._held}
        try:
            still = fleet.heartbeat(self.app.database, self.holder, held)
        except SQLAlchemyError as exc:
            log.warning("heartbeat failed: %s", exc)
            return
        lost = set(held) - still
        if lost:
            with self._lock:
                self._held -= lost
            log.warning("lease lost to another daemon: %s", ", ".join(sorted(lost)))

    def _heartbeats(self) -> None:
        while not self.stop.wait(self.every):
            self.beat()

    # -- signals ---------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.error("received %s again: exiting now (committed batches stay; cursors only move after a commit)", name)
            logging.shutdown()
            os._exit(128 + signum)
        log.warning("received %s: finishing the batch being stored, then stopping (again to exit at once)", name)
        self.stop.set()
        self.app.pipeline.stop.set()

    # -- main loop -------------------------------------------------------------------------------

    def run(self) -> None:
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)  # a daemon says what it took in by default: one line per poll
        settings = self.app.settings
        entries = enabled_connectors(settings)
        if not entries:
            raise UserError("no enabled connector in the config (see the connectors: section)")
        database = self.app.database  # fail fast on a bad database, before scheduling
        self.app.check_model()  # and on a missing, corrupt or edited model: one line and exit 1, not a log per poll
        try:
            digest_trigger = parse_schedule(settings.digest.schedule, settings.digest.timezone)
        except (ValueError, LookupError) as exc:
            raise UserError(f"digest.schedule {settings.digest.schedule!r}: {exc}") from None
        self.ttls = {entry.name: fleet.lease_ttl(entry.interval) for entry in entries}
        self.every = fleet.heartbeat_every(entry.interval for entry in entries)
        fleet.prune_daemons(database)
        fleet.register_daemon(database, self.holder, self.every)
        now = datetime.now(UTC)
        for entry in entries:
            self.scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=entry.interval.total_seconds()),
                args=[entry],
                id=f"poll:{entry.name}",
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self.scheduler.add_job(
            self.scheduled,
            digest_trigger,
            args=["digest", digest_trigger, self.write_digest],
            id="digest",
            max_instances=1,
            coalesce=True,
        )
        try:
            model = self.use_reloading_model()
        except ValueError as exc:  # ModelError: a model that cannot be used at all is a start-up error
            raise UserError(str(exc)) from None
        reload_every = settings.classifier.reload_interval.total_seconds()
        if reload_every > 0:
            self.scheduler.add_job(
                self.check_model, IntervalTrigger(seconds=reload_every), id="model", max_instances=1, coalesce=True
            )
            log.info("model %s from %s; checked for a new one every %gs", model.version, model.directory, reload_every)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        beating = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        self.scheduler.start()
        beating.start()
        log.warning(
            "daemon %s running %d connector(s): %s; digest on '%s'",
            self.holder,
            len(entries),
            ", ".join(f"{e.name} every {e.interval}" for e in entries),
            settings.digest.schedule,
        )
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            self.stop.set()
            self.app.pipeline.stop.set()
            # Not wait=True: that would also wait for jobs queued behind the ones running.
            self.scheduler.shutdown(wait=False)
            if not self._wait_idle(STOP_GRACE):
                log.error("jobs still running %gs after the stop: exiting without them", STOP_GRACE)
                logging.shutdown()
                os._exit(1)
            beating.join(timeout=5)
            try:
                fleet.mark_stopped(database, self.holder)
            except SQLAlchemyError as exc:
                log.warning("could not give back the leases (they expire by themselves): %s", exc)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.warning("stopped")


def run_daemon(app: App) -> None:
    Daemon(app).run()
