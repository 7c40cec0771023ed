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
import math
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import orjson

from monitor.models import MAX_TEXT_CHARS, Mention, MentionError, Metrics, utc

KNOWN_KEYS = {"id", "platform", "author", "text", "created_at", "url", "lang", "metrics", "in_reply_to"}
METRIC_KEYS = ("followers", "likes", "reposts", "replies")
MAX_METRIC = 2**63 - 1
"""A count above this is not a count (and does not fit a database integer)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No public post is older than this; an older `created_at` is a broken clock or a broken record."""
MAX_DEPTH = 32
"""Unknown keys nested deeper than this are refused (a hostile record could otherwise exhaust the stack)."""


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """How far ahead of the clock a mention's `created_at` may be (`ingest.max_future`), and what happens to
    one further ahead: rejected with a reason, or (`clamp`) stored at `now` with the claimed time kept."""

    now: datetime
    max_future: timedelta = timedelta(hours=1)
    clamp: bool = False

    @property
    def latest(self) -> datetime:
        return self.now + self.max_future


CLAIMED_KEY = "created_at_claimed"
"""Where a clamped mention keeps the `created_at` its source claimed (an unknown key, so it is exported too)."""


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_timestamp(value: Any) -> datetime:
    """An ISO-8601 timestamp (a trailing Z is fine) or epoch seconds, as aware UTC, not before 1970."""
    if isinstance(value, bool):
        raise MentionError(f"created_at is not a timestamp: {_short(value)}")
    if isinstance(value, (int, float)):
        try:
            parsed = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise MentionError(f"created_at is out of range: {_short(value)}") from exc
    elif not isinstance(value, str) or not value.strip():
        raise MentionError(f"created_at is not a timestamp: {_short(value)}")
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise MentionError(f"created_at is not an ISO-8601 timestamp: {_short(value)}") from exc
        try:
            parsed = utc(parsed)
        except OverflowError as exc:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
            raise MentionError(f"created_at is out of range: {_short(value)}") from exc
    if parsed < EARLIEST:
        raise MentionError(f"created_at is before 1970: {_short(value)}")
    return parsed


def check_time(mention: Mention, limits: TimeLimits | None) -> Mention:
    """`mention` if its time is plausible; clamped to `limits.now` or MentionError when it is too far ahead."""
    if mention.created_at.tzinfo is None or mention.created_at.utcoffset():  # a plug-in's naive or local time
        try:
            mention = replace(mention, created_at=utc(mention.created_at))
        except OverflowError as exc:
            raise MentionError(f"created_at is out of range: {mention.created_at!r}") from exc
    if mention.created_at < EARLIEST:
        raise MentionError(f"created_at is before 1970: {format_timestamp(mention.created_at)}")
    if limits is None or mention.created_at <= limits.latest:
        return mention
    claimed = format_timestamp(mention.created_at)
    if not limits.clamp:
        raise MentionError(
            f"created_at {claimed} is in the future (more than {_duration(limits.max_future)} "
            f"ahead of the clock, {format_timestamp(limits.now)})"
        )
    return replace(mention, created_at=limits.now, raw={**mention.raw, CLAIMED_KEY: claimed})


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cut_text(mention: Mention) -> tuple[Mention, str | None]:
    """A mention's text cut to MAX_TEXT_CHARS, and a note saying so when it was longer."""
    if len(mention.text) <= MAX_TEXT_CHARS:
        return mention, None
    note = f"text cut from {len(mention.text):,} to {MAX_TEXT_CHARS:,} characters"
    return replace(mention, text=mention.text[:MAX_TEXT_CHARS]), note


def clean_text(text: str, limit: int | None = MAX_TEXT_CHARS) -> str:
    """NFC-normalised text without NULs or lone surrogates, cut to `limit` (None: not cut)."""
    if text.isascii():  # most text: no surrogates, already NFC
        text = text.replace("\x00", "") if "\x00" in text else text
    else:
        text = text.replace("\x00", "")
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = unicodedata.normalize("NFC", text)
    return text if limit is None else text[:limit]


def clean_value(value: Any, depth: int = 0) -> Any:
    """An unknown key's value made storable in every database: NaN and infinities become null, strings (and
    keys) lose NULs and lone surrogates. Nested deeper than MAX_DEPTH: MentionError."""
    if depth > MAX_DEPTH:
        raise MentionError(f"unknown keys are nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value, None)
    if isinstance(value, dict):
        return {clean_text(str(k), None): clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v, depth + 1) for v in value]
    return value


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
        if isinstance(raw, bool) or isinstance(raw, (dict, list)):
            raise MentionError(f"metrics.{name} is not a number: {_short(raw)}")
        if isinstance(raw, float) and not math.isfinite(raw):
            raise MentionError(f"metrics.{name} is not a finite number: {raw!r}")
        try:
            number = int(raw)
        except (TypeError, ValueError, OverflowError) as exc:
            raise MentionError(f"metrics.{name} is not a number: {_short(raw)}") from exc
        if number > MAX_METRIC:
            raise MentionError(f"metrics.{name} is out of range: {_short(raw)}")
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
    if isinstance(mention_id, float) and not math.isfinite(mention_id):
        raise MentionError(f"id is not a usable number: {mention_id!r}")
    mention_id = clean_text(str(mention_id))[:200]
    if not mention_id.strip():
        raise MentionError("id is blank")
    return Mention(
        id=mention_id,
        platform=platform.lower()[:50],
        author=(_optional_str(record, "author") or "")[:200],
        text=clean_text(record["text"], None),  # cut (and reported) by `cut_text`
        created_at=parse_timestamp(record["created_at"]),
        url=_optional_str(record, "url"),
        lang=lang.lower()[:10] if lang else None,
        metrics=_metrics(record.get("metrics")),
        in_reply_to=_optional_str(record, "in_reply_to"),
        raw={clean_text(k, None): clean_value(v) for k, v in record.items() if k not in KNOWN_KEYS},
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
        try:
            return json.loads(line)
        except RecursionError:
            raise MentionError("nested too deeply to read") from None


def admit(mention: Mention, limits: TimeLimits | None) -> tuple[Mention, str | None]:
    """What the pipeline takes in of any mention, whatever its source: its time checked (MentionError when
    implausible, see `check_time`) and its text cut to MAX_TEXT_CHARS, with a note saying so."""
    return cut_text(check_time(mention, limits))


def read_numbered(
    lines: Iterable[str],
    default_platform: str = "file",
    errors: list[LineError] | None = None,
    first_line: int = 1,
    limits: TimeLimits | None = None,
    notes: list[LineError] | None = None,
) -> Iterator[tuple[int, Mention]]:
    """`read_mentions`, each mention with its line number; lines whose text was cut are named in `notes`."""
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            record = _loads(line)
            mention, note = admit(mention_from_dict(record, default_platform), limits)
        except json.JSONDecodeError as exc:
            if errors is not None:
                errors.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except MentionError as exc:
            if errors is not None:
                errors.append(LineError(number, str(exc)))
            continue
        if note is not None and notes is not None:
            notes.append(LineError(number, note))
        yield number, mention


def read_mentions(
    lines: Iterable[str],
    default_platform: str = "file",
    errors: list[LineError] | None = None,
    first_line: int = 1,
    limits: TimeLimits | None = None,
    notes: list[LineError] | None = None,
) -> Iterator[Mention]:
    """Yield the valid mentions of a JSONL stream; bad lines go to `errors` (blank lines are ignored).

    `first_line`: the number of the first of `lines` in its file (when reading a file piece by piece).
    `limits`: how far ahead of the clock a mention may be; `notes`: the lines whose text was cut."""
    for _, mention in read_numbered(lines, default_platform, errors, first_line, limits, notes):
        yield mention


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, default=str))
        out.write("\n")
        count += 1
    return count
