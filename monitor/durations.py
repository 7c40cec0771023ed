"""Human durations ("90s", "15m", "4h", "2d", "1w") and `--since` values."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from monitor.models import utc

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(value: Any) -> timedelta:
    """'15m' → 15 minutes; a bare number is seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            number, unit = match.groups()
            return timedelta(seconds=float(number) * _UNITS[(unit or "s").lower()])
    raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 15m, 4h, 2d)")


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]


def parse_since(value: str, now: datetime) -> datetime:
    """`--since`: an ISO date/time ('2026-03-10', '2026-03-10T08:00Z') or a duration back from `now` ('24h')."""
    text = value.strip()
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"--since: not a date, time or duration: {value!r} (e.g. 2026-03-10, 24h, 7d)") from None
