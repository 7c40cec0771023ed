"""Incident detection: many people reporting the same problem, seen early as one incident.

`build_assigner(settings, alerts)` gives the pipeline's IncidentAssigner. The
grouping itself is a pure in-memory streaming engine (`engine.Engine`); the
database adapter (`store`) replays stored complaints through it in event time.

The store (and with it the burst statistics and alerting) is imported only when
an assigner is built: commands that only read incidents never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from monitor.incidents.settings import AlertSettings, IncidentSettings

if TYPE_CHECKING:
    from monitor.incidents.store import StoredIncidentAssigner


def build_assigner(
    settings: IncidentSettings, alerts: AlertSettings, brand_terms: Iterable[str] = ()
) -> StoredIncidentAssigner:
    """`brand_terms`: the brand's names and hashtags; every mention shares them, so they never group."""
    # imported here: the store pulls in numpy and the engine, which read-only commands do not need
    from monitor.incidents.store import StoredIncidentAssigner

    return StoredIncidentAssigner(settings, alerts, brand_terms)


def __getattr__(name: str) -> Any:
    # `monitor.incidents.StoredIncidentAssigner` stays importable, loaded on first use
    if name == "StoredIncidentAssigner":
        from monitor.incidents.store import StoredIncidentAssigner

        return StoredIncidentAssigner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AlertSettings", "IncidentSettings", "StoredIncidentAssigner", "build_assigner"]
