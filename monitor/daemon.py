"""`complaint-monitor run`: APScheduler polls each connector at its own interval and writes the digest on schedule.

SIGINT/SIGTERM stop it cleanly: no new job starts, the batch in progress finishes
and is stored (with its cursor), then the process exits.

Every `classifier.reload_interval` the model directory is looked at: a model that `train --out DIR` or
`models rollback` put there is loaded in full and swapped in between batches, without a restart; one that
fails to load is refused and the running model stays.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.commands._output import output_stream
from monitor.config import ConnectorSettings
from monitor.digest import build_digest, render_digest
from monitor.errors import UserError
from monitor.runner import enabled_connectors, poll_once

if TYPE_CHECKING:
    from classifiers.reload import Reload, ReloadingClassifier

log = logging.getLogger("monitor.daemon")

DISABLING_OUTCOMES = ("auth failed", "config error")


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = threading.Event()
        self.disabled: dict[str, str] = {}
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.model: ReloadingClassifier | None = None
        self._polls = 0
        self._polls_lock = threading.Lock()
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
        with self._polls_lock:
            self._restart_preparer = self._restart_preparer or result.outcome == "loaded"
            if self._restart_preparer and self._polls == 0 and "pipeline" in self.app.__dict__:
                self.app.pipeline.close()
                self._restart_preparer = False
        return result

    def poll(self, entry: ConnectorSettings) -> None:
        if self.stop.is_set() or entry.name in self.disabled:
            return
        with self._polls_lock:
            self._polls += 1
        try:
            result = poll_once(self.app.settings, entry, self.app.pipeline, self.app.database)
        finally:
            with self._polls_lock:
                self._polls -= 1
        if result.ok:
            log.info(result.line())
        else:
            log.warning(result.line())
        if result.outcome in DISABLING_OUTCOMES:
            # A missing or rejected credential will not fix itself: stop asking, keep the others.
            self.disabled[entry.name] = result.message
            log.error("connector %s disabled until restart: %s", entry.name, result.message)
            try:
                self.scheduler.remove_job(f"poll:{entry.name}")
            except Exception:  # noqa: BLE001 - already gone
                pass

    def write_digest(self) -> None:
        settings = self.app.settings
        target = settings.resolve(settings.digest.out)
        try:
            with self.app.database.session() as session:
                digest = build_digest(session, settings)
            with output_stream(target) as stream:
                stream.write(render_digest(digest, settings.digest.format))
            log.info("wrote %s digest to %s", settings.digest.format, target)
        except (OSError, UserError) as exc:
            log.error("could not write the digest to %s: %s", target, exc)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.warning("received %s: finishing the current batch, then stopping", signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> None:
        settings = self.app.settings
        entries = enabled_connectors(settings)
        if not entries:
            raise UserError("no enabled connector in the config (see the connectors: section)")
        self.app.database  # noqa: B018 - fail fast on a bad database, before scheduling
        try:
            digest_trigger = CronTrigger.from_crontab(settings.digest.schedule, timezone=settings.digest.timezone)
        except (ValueError, LookupError) as exc:
            raise UserError(f"digest.schedule {settings.digest.schedule!r}: {exc}") from None
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
        self.scheduler.add_job(self.write_digest, digest_trigger, id="digest", max_instances=1, coalesce=True)
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
        self.scheduler.start()
        log.warning(
            "running %d connector(s): %s; digest on '%s'",
            len(entries),
            ", ".join(f"{e.name} every {e.interval}" for e in entries),
            settings.digest.schedule,
        )
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            self.scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.warning("stopped")


def run_daemon(app: App) -> None:
    Daemon(app).run()
