"""Polling: one connector, once — fetch, store through the pipeline, then save the cursor.

The cursor is saved only after the batch is stored, so a crash in between
re-fetches rather than loses. A failing or slow channel is reported and
skipped; it never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors import (
    Batch,
    BrandFilter,
    Connector,
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    connector_class,
)
from connectors.brand_query import is_excluded
from monitor.config import ConnectorSettings, Settings
from monitor.models import Mention
from monitor.pipeline import IngestReport, Pipeline
from monitor.secrets import mask
from monitor.storage import Database
from monitor.storage.repository import load_cursor, save_cursor

log = logging.getLogger(__name__)


ERROR_OUTCOMES = ("auth failed", "config error", "unreachable", "timed out", "failed")


@dataclass
class PollResult:
    connector: str
    outcome: str  # ok | auth failed | config error | unreachable | timed out | failed | stopped | lease lost
    message: str = ""
    report: IngestReport = field(default_factory=IngestReport)
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # printed, logged and stored for `status`: a server's echo of a request never carries a secret out
        self.message = mask(self.message)
        self.skipped = [mask(item) for item in self.skipped]
        self.report.rejected[:] = [mask(item) for item in self.report.rejected]

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def error(self) -> str | None:
        """The failure, for `status`; None for a poll that worked, stopped or lost its lease."""
        return f"{self.outcome}: {self.message}" if self.outcome in ERROR_OUTCOMES else None

    @property
    def summary(self) -> str:
        return self.report.summary() if self.ok else f"{self.outcome}: {self.message}"

    def line(self, now: datetime | None = None) -> str:
        """One line for the log or the terminal; with `now`, how far the newest mention lags behind it."""
        if self.ok:
            skipped = f", {len(self.skipped)} malformed item(s) skipped" if self.skipped else ""
            newest = self.report.newest
            lag = f"; lag {format_lag(now - newest)}" if now is not None and newest is not None else ""
            return f"{self.connector}: {self.report.summary()}{skipped}{lag}"
        return f"{self.connector}: {self.outcome}: {self.message}"


def format_lag(lag: timedelta) -> str:
    seconds = max(0, int(lag.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def build_connector(settings: Settings, entry: ConnectorSettings) -> Connector:
    cls = connector_class(entry.type)
    connector = cls(entry.name, entry.options, settings.brand.filter(), base_dir=settings.base_dir)
    # Leave room for a retry or a second page inside the poll's own deadline.
    connector.timeout = max(1.0, entry.timeout.total_seconds() / 3)
    return connector


class _Fetch(threading.Thread):
    """Runs one fetch on a daemon thread so a hung channel cannot hold the process."""

    def __init__(self, connector: Connector, cursor: dict[str, Any] | None) -> None:
        super().__init__(name=f"fetch-{connector.name}", daemon=True)
        self.connector = connector
        self.cursor = cursor
        self.batch: Batch | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.batch = self.connector.fetch(self.cursor)
        except BaseException as exc:  # noqa: BLE001 - handed back to the poller
            self.error = exc


def _wanted(mention: Mention, brand: BrandFilter) -> bool:
    return not brand.is_own_account(mention.author) and not is_excluded(mention.text, brand)


FETCH_WAIT_STEP = 0.1
"""Seconds between looks at the stop flag while a fetch is under way."""


def poll_once(
    settings: Settings,
    entry: ConnectorSettings,
    pipeline: Pipeline,
    database: Database,
    still_ours: Callable[[], bool] | None = None,
) -> PollResult:
    """Fetch, store, then save the cursor.

    A stop (`pipeline.stop`) ends the wait for a fetch at once and the storing after the batch in
    progress; the cursor then stays where it was. `still_ours` (a daemon's lease check) is asked
    just before the cursor is saved: when it says no, what was stored stays and the cursor does not move.
    """
    try:
        connector = build_connector(settings, entry)
    except ConnectorError as exc:
        return PollResult(entry.name, "config error", str(exc))
    with database.session() as session:
        cursor = load_cursor(session, entry.name)
    fetch = _Fetch(connector, cursor)
    fetch.start()
    deadline = time.monotonic() + entry.timeout.total_seconds()
    while fetch.is_alive() and time.monotonic() < deadline:
        if pipeline.stop.is_set():
            # The fetch thread is a daemon thread: it is left to finish (or not) on its own.
            return PollResult(entry.name, "stopped", "stopped while fetching; nothing stored")
        fetch.join(min(FETCH_WAIT_STEP, max(0.0, deadline - time.monotonic())))
    if fetch.is_alive():
        return PollResult(
            entry.name, "timed out", f"no answer within {entry.timeout.total_seconds():g}s; will retry next poll"
        )
    if fetch.error is not None:
        error = fetch.error
        if isinstance(error, ConnectorAuthError):
            return PollResult(entry.name, "auth failed", str(error))
        if isinstance(error, ConnectorConfigError):
            return PollResult(entry.name, "config error", str(error))
        if isinstance(error, ConnectorError):
            return PollResult(entry.name, "unreachable", str(error))
        log.error("connector %s failed", entry.name, exc_info=error)
        return PollResult(entry.name, "failed", f"{type(error).__name__}: {error}")
    assert fetch.batch is not None
    batch = fetch.batch
    for item in batch.skipped:
        log.warning("%s: skipped malformed item: %s", entry.name, item)
    brand = settings.brand.filter()
    report = pipeline.process((m for m in batch.mentions if _wanted(m, brand)), source=entry.name)
    if report.stopped:
        # Stopped between batches: what was stored stays, the cursor stays put, and the rest of
        # this fetch comes again next time (storing is idempotent, so nothing is lost or doubled).
        return PollResult(entry.name, "stopped", "stopped before the whole fetch was stored", report=report)
    if still_ours is not None and not still_ours():
        # Another daemon took the connector over while this poll stored (our lease had expired):
        # what was stored stays (storing is idempotent), the cursor is the new holder's to move.
        return PollResult(
            entry.name, "lease lost", "another daemon took this connector over; cursor not saved", report=report
        )
    with database.writing() as session:
        save_cursor(session, entry.name, batch.cursor)
    return PollResult(entry.name, "ok", report=report, skipped=list(batch.skipped))


def enabled_connectors(settings: Settings) -> list[ConnectorSettings]:
    return [entry for entry in settings.connectors if entry.enabled]
