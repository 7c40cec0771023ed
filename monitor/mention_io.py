"""The mention JSONL format: one JSON object a line.

    {"id": "…", "platform": "x", "author": "…", "text": "…",
     "created_at": "2026-03-10T08:05:00Z", "url": "…", "lang": "id",
     "metrics": {"followers": 0, "likes": 0, "reposts": 0, "replies": 0},
     "in_reply_to": "…"}

`id`, `text` and `created_at` are required; `platform` defaults to the
reader's default. Unknown keys are kept in `Mention.raw` and written back.
A bad line is reported with its number and skipped; the rest still goes in.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from monitor.models import MAX_TEXT_CHARS, Mention, MentionError, Metrics, utc

KNOWN_KEYS = {"id", "platform", "author", "text", "created_at", "url", "lang", "metrics", "in_reply_to"}
METRIC_KEYS = ("followers", "likes", "reposts", "replies")


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_timestamp(value: Any) -> datetime:
    """An ISO-8601 timestamp (a trailing Z is fine) or epoch seconds, as aware UTC."""
    if isinstance(value, bool):
        raise MentionError(f"created_at is not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise MentionError(f"created_at is out of range: {value!r}") from exc
    if not isinstance(value, str) or not value.strip():
        raise MentionError(f"created_at is not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise MentionError(f"created_at is not an ISO-8601 timestamp: {value!r}") from exc


def clean_text(text: str) -> str:
    """NFC-normalised text without NULs or lone surrogates, cut to MAX_TEXT_CHARS."""
    if text.isascii():  # most text: no surrogates, already NFC
        return (text.replace("\x00", "") if "\x00" in text else text)[:MAX_TEXT_CHARS]
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return text[:MAX_TEXT_CHARS]


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        raise MentionError(f"{key} must be a string, got {type(value).__name__}")
    return clean_text(str(value))


def _metrics(value: Any) -> Metrics:
    if value is None:
        return Metrics()
    if not isinstance(value, dict):
        raise MentionError("metrics must be an object")
    counts: dict[str, int] = {}
    for name in METRIC_KEYS:
        raw = value.get(name, 0)
        if raw is None:
            raw = 0
        try:
            number = int(raw)
        except (TypeError, ValueError) as exc:
            raise MentionError(f"metrics.{name} is not a number: {raw!r}") from exc
        counts[name] = max(0, number)
    return Metrics(**counts)


def mention_from_dict(record: Any, default_platform: str = "file") -> Mention:
    """Validate one decoded record and build a Mention (raises MentionError)."""
    if not isinstance(record, dict):
        raise MentionError("a mention must be a JSON object")
    for key in ("id", "text", "created_at"):
        if record.get(key) in (None, ""):
            raise MentionError(f"missing required field '{key}'")
    if not isinstance(record["text"], str):
        raise MentionError("text must be a string")
    mention_id = record["id"]
    if isinstance(mention_id, (dict, list, bool)):
        raise MentionError("id must be a string or a number")
    platform = _optional_str(record, "platform") or default_platform
    lang = _optional_str(record, "lang")
    return Mention(
        id=clean_text(str(mention_id))[:200],
        platform=platform.lower()[:50],
        author=(_optional_str(record, "author") or "")[:200],
        text=clean_text(record["text"]),
        created_at=parse_timestamp(record["created_at"]),
        url=_optional_str(record, "url"),
        lang=lang.lower()[:10] if lang else None,
        metrics=_metrics(record.get("metrics")),
        in_reply_to=_optional_str(record, "in_reply_to"),
        raw={k: v for k, v in record.items() if k not in KNOWN_KEYS},
    )


def format_timestamp(dt: datetime) -> str:
    """The canonical form used in every export: UTC with a trailing Z."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def mention_to_dict(mention: Mention) -> dict[str, Any]:
    record: dict[str, Any] = dict(mention.raw)
    record.update(
        {
            "id": mention.id,
            "platform": mention.platform,
            "author": mention.author,
            "text": mention.text,
            "created_at": format_timestamp(mention.created_at),
            "url": mention.url,
            "lang": mention.lang,
            "metrics": mention.metrics.to_dict(),
            "in_reply_to": mention.in_reply_to,
        }
    )
    return record


def _loads(line: str) -> Any:
    """orjson (3x faster), or the standard library for what only it accepts (NaN, Infinity) and for its
    error message."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def read_mentions(
    lines: Iterable[str], default_platform: str = "file", errors: list[LineError] | None = None, first_line: int = 1
) -> Iterator[Mention]:
    """Yield the valid mentions of a JSONL stream; bad lines go to `errors` (blank lines are ignored).

    `first_line`: the number of the first of `lines` in its file (when reading a file piece by piece)."""
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            record = _loads(line)
            yield mention_from_dict(record, default_platform)
        except json.JSONDecodeError as exc:
            if errors is not None:
                errors.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
        except MentionError as exc:
            if errors is not None:
                errors.append(LineError(number, str(exc)))


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, default=str))
        out.write("\n")
        count += 1
    return count
