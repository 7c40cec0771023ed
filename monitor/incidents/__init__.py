"""Incident detection: many people reporting the same problem, seen early as one incident.

`build_assigner(settings, alerts)` gives the pipeline's IncidentAssigner. The
grouping itself is a pure in-memory streaming engine (`engine.Engine`); the
database adapter (`store`) replays stored complaints through it in event time.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.incidents.settings import AlertSettings, IncidentSettings
from monitor.incidents.store import StoredIncidentAssigner


def build_assigner(
    settings: IncidentSettings, alerts: AlertSettings, brand_terms: Iterable[str] = ()
) -> StoredIncidentAssigner:
    """`brand_terms`: the brand's names and hashtags; every mention shares them, so they never group."""
    return StoredIncidentAssigner(settings, alerts, brand_terms)


__all__ = ["AlertSettings", "IncidentSettings", "StoredIncidentAssigner", "build_assigner"]
