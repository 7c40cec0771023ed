"""Secret values never leave the process: every configured secret is masked wherever text goes out.

A secret is the value of an environment variable the config names (every `*_env` key, in any section:
connector tokens and passwords, alert credentials) and the password in the database URL. Masking is by
value, not by header name: a server that echoes a request back (in an error body, a header, a redirect)
cannot carry one out through a log line, an error message, a stored error or a stored mention. The forms a
value takes on the wire are masked too: URL-encoded, JSON-escaped, and inside HTTP Basic credentials.

`mask(text)` is applied by the log handlers' filter (`install_log_filter`), the CLI's one error line, poll
results (printed and stored for `status`) and the mentions a connector hands over.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[secret]"
MIN_LENGTH = 4
"""Shorter values are not masked: "1" or "yes" would blot out half of every line."""

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_BASIC = re.compile(r"(?i)\b(basic\s+)([A-Za-z0-9+/_-]{6,}={0,2})")


def _variants(value: str) -> set[str]:
    out = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    if " " in value:  # "Bearer abc…": the token alone is a secret too
        token = value.split(" ", 1)[1].strip()
        if len(token) >= MIN_LENGTH:
            out |= _variants(token)
    return {v for v in out if len(v) >= MIN_LENGTH}


def register(*values: str | None) -> None:
    """Mask these values (and their encoded forms) from now on."""
    global _pattern
    fresh = set()
    for value in values:
        if value and len(value.strip()) >= MIN_LENGTH:
            fresh |= _variants(value.strip())
    with _lock:
        if fresh <= _values:
            return
        _values.update(fresh)
        ordered = sorted(_values, key=len, reverse=True)  # the longest first: no half-masked value
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_pair(user: str | None, password: str | None) -> None:
    """A user and password sent together as HTTP Basic credentials (Reddit's client id and secret)."""
    if user and password:
        register(base64.b64encode(f"{user}:{password}".encode()).decode())


def clear() -> None:
    """Forget every value (tests)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def _basic(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match[2] + "=" * (-len(match[2]) % 4), validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return match[0]
    pattern = _pattern
    if pattern is not None and pattern.search(decoded):
        return match[1] + MASK
    return match[0]


def mask(text: str) -> str:
    """`text` with every registered secret replaced by [secret]."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    text = _BASIC.sub(_basic, text)
    return pattern.sub(MASK, text)


def mask_value(value: Any) -> Any:
    """`mask` through strings, lists and dicts (a stored cursor or record)."""
    if _pattern is None:
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    return value


def configured(settings: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The values of every environment variable the config names in a `*_env` key, in any section."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if str(key).endswith("_env") and isinstance(value, str) and environ.get(value):
                    found.append(environ[value])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(settings)
    return found


def register_configured(
    settings: Mapping[str, Any], environ: Mapping[str, str], urls: Iterable[str] = (), whole: Iterable[str] = ()
) -> None:
    """Register every secret the config points at, the passwords in `urls` (the database URL), and `whole`
    values that are secrets through and through (alert URLs: `slack://TokenA/TokenB/…` carries its tokens)."""
    values = configured(settings, environ)
    register(*values)
    for first in values:  # a pair of them may travel as HTTP Basic credentials
        for second in values:
            if first != second:
                register_pair(first, second)
    for url in [*urls, *whole]:
        match = re.match(r"^[\w+.-]+://([^:/@]*):([^@/]*)@", url)
        if match:
            register(match[2])
    for value in whole:
        register(value.split("://", 1)[-1])


class MaskingFilter(logging.Filter):
    """Masks secrets in a record's message, its exception's traceback and its stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: leave it to the handler
            return True
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put the masking filter on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
