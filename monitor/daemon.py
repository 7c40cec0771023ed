"""`complaint-monitor run`: APScheduler polls each connector at its own interval and writes the digest on schedule.

SIGINT/SIGTERM stop it cleanly: no new job starts, the batch in progress finishes
and is stored (with its cursor), then the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.commands._output import output_stream
from monitor.config import ConnectorSettings
from monitor.digest import build_digest, render_digest
from monitor.errors import UserError
from monitor.runner import enabled_connectors, poll_once

log = logging.getLogger("monitor.daemon")

DISABLING_OUTCOMES = ("auth failed", "config error")


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = threading.Event()
        self.disabled: dict[str, str] = {}
        self.scheduler = BackgroundScheduler(timezone=UTC)

    def poll(self, entry: ConnectorSettings) -> None:
        if self.stop.is_set() or entry.name in self.disabled:
            return
        result = poll_once(self.app.settings, entry, self.app.pipeline, self.app.database)
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
        self.app.pipeline.stop.set()

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
