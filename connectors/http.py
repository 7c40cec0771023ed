"""What every HTTP connector shares: options, retry with jittered backoff, rate-limit
messages, timestamps, HTML to text, and the capped set of already-seen ids.

A poll never sleeps long: transient failures (5xx, timeouts, refused connections)
are retried a few times within `retry_budget` seconds, and a rate limit is
reported as `ConnectorUnavailable("rate-limited until …")` for the next poll
rather than waited out.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any, ClassVar, TypeVar

import requests
from pydantic import Field

from connectors.base import (
    Connector,
    ConnectorAuthError,
    ConnectorError,
    ConnectorOptions,
    ConnectorUnavailable,
)
from monitor.models import utc

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 15.0
SEEN_IDS_LIMIT = 1000
"""How many recent ids a cursor remembers to drop reposts and re-served items.
Enough for several polls of a busy brand while keeping the cursor small."""


class HttpOptions(ConnectorOptions):
    """Options every HTTP connector accepts."""

    base_url: str = ""
    """Root of the API; empty means the platform's own. For proxies, gateways and self-hosted instances."""
    retries: int = Field(2, ge=0, le=10)
    """Extra attempts after a 5xx, a timeout or a refused connection."""
    retry_budget: float = Field(10.0, ge=0, le=300)
    """Seconds of backoff a poll may spend in total before giving up until the next poll."""
    user_agent: str = "complaint-monitor/0.1 (brand mention monitor)"
    """Sent with every request; some platforms ask you to name your app and a contact."""


class PagedOptions(HttpOptions):
    """Options of connectors that page through search results or timelines."""

    max_pages: int = Field(5, ge=1, le=100)
    """Pages fetched per poll at most; the rest is fetched on the next poll (nothing is lost)."""


class TransientError(Exception):
    """A failure worth retrying soon (5xx, timeout, connection refused)."""


class HttpConnector(Connector):
    """A connector that talks HTTP: a timeout, a sleep that tests can replace, and retries."""

    Options: ClassVar[type[ConnectorOptions]] = HttpOptions
    default_base_url: ClassVar[str] = ""

    timeout: float = DEFAULT_TIMEOUT_SECONDS
    """Seconds per HTTP request; the pipeline sets it from the connector's `timeout` entry."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)

    @property
    def base_url(self) -> str:
        return (getattr(self.options, "base_url", "") or self.default_base_url).rstrip("/")

    def with_retries(self, call: Callable[[], T], what: str) -> T:
        """Run `call`; retry TransientError with jittered exponential backoff inside the budget."""
        options = self.options
        retries: int = getattr(options, "retries", 2)
        budget: float = getattr(options, "retry_budget", 10.0)
        spent = 0.0
        attempt = 0
        while True:
            try:
                return call()
            except TransientError as exc:
                delay = min(2.0**attempt, 30.0) * random.uniform(0.5, 1.0)
                if attempt >= retries or spent + delay > budget:
                    tries = attempt + 1
                    raise ConnectorUnavailable(
                        f"connector '{self.name}': {what} failed after {tries} attempt(s): {exc}"
                    ) from None
                self.sleep(delay)
                spent += delay
                attempt += 1

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = getattr(self.options, "user_agent", "complaint-monitor")
        return session

    def get_json(
        self,
        session: requests.Session,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
        credential_hint: str = "",
    ) -> Any:
        """GET base_url+path and decode JSON, mapping HTTP failures onto connector errors."""
        body, _ = self.request_json(
            session, "GET", path, params=params, headers=headers, what=what, credential_hint=credential_hint
        )
        return body

    def request_json(
        self,
        session: requests.Session,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        what: str | None = None,
        credential_hint: str = "",
    ) -> tuple[Any, requests.Response]:
        """One JSON call with retries; returns the decoded body and the response (for headers/links)."""
        url = path if path.startswith(("http://", "https://")) else join_url(self.base_url, path)
        label = what or f"{method} {url}"

        def attempt() -> tuple[Any, requests.Response]:
            response = send(session, method, url, self.timeout, params=params, headers=headers, json=json_body)
            raise_for_status(self.name, response, label, credential_hint)
            try:
                return response.json(), response
            except ValueError:
                raise ConnectorUnavailable(
                    f"connector '{self.name}': {label} returned something that is not JSON "
                    f"(HTTP {response.status_code}, {response.headers.get('content-type', 'no content type')})"
                ) from None

        return self.with_retries(attempt, label)


def join_url(base_url: str, path: str) -> str:
    """`path` under `base_url`, keeping the base's own path: a gateway's prefix (`https://gw.example/reddit`)
    stays in front of every API path, even one that starts with `/` (where URL resolution would drop it)."""
    if not base_url:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def send(session: requests.Session, method: str, url: str, timeout: float, **kwargs: Any) -> requests.Response:
    """One request; timeouts and connection failures become TransientError."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise TransientError(f"timed out after {timeout:g}s ({url})") from None
    except requests.ConnectionError as exc:
        raise TransientError(f"cannot connect to {url}: {_short(exc)}") from None


def raise_for_status(name: str, response: requests.Response, what: str, credential_hint: str = "") -> None:
    """401/403 → ConnectorAuthError, 429 → ConnectorUnavailable with the reset time, 5xx → TransientError."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _error_detail(response)
    if status in (401, 403):
        hint = f" ({credential_hint})" if credential_hint else ""
        raise ConnectorAuthError(f"connector '{name}': {what} was refused: HTTP {status} {detail}{hint}".rstrip())
    if status == 429:
        raise ConnectorUnavailable(rate_limited_message(name, reset_from_headers(response.headers)))
    if status >= 500:
        raise TransientError(f"HTTP {status} {detail}".rstrip())
    raise ConnectorError(f"connector '{name}': {what} failed: HTTP {status} {detail}".rstrip())


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict):
        for key in ("detail", "error_description", "message", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:200]
    return response.reason or ""


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def reset_from_headers(headers: Mapping[str, str]) -> datetime | None:
    """When a rate limit ends, from the headers the platforms use.

    X: x-rate-limit-reset (epoch seconds). Reddit: x-ratelimit-reset (seconds from now).
    Mastodon: X-RateLimit-Reset (ISO 8601). Bluesky: ratelimit-reset (epoch seconds).
    Generic: Retry-After (seconds or an HTTP date).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time()
    for key in ("x-rate-limit-reset", "ratelimit-reset"):
        if key in lowered:
            parsed = _epoch_or_iso(lowered[key])
            if parsed is not None:
                return parsed
    if "x-ratelimit-reset" in lowered:
        value = lowered["x-ratelimit-reset"]
        try:
            seconds = float(value)
        except ValueError:
            return _epoch_or_iso(value)
        # Reddit sends seconds until reset; a huge number is an epoch from another server.
        return datetime.fromtimestamp(seconds if seconds > 10**9 else now + seconds, tz=UTC)
    if "retry-after" in lowered:
        value = lowered["retry-after"]
        try:
            return datetime.fromtimestamp(now + float(value), tz=UTC)
        except ValueError:
            try:
                return utc(parsedate_to_datetime(value))
            except (TypeError, ValueError):
                return None
    return None


def _epoch_or_iso(value: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        try:
            return parse_time(value)
        except ValueError:
            return None


def rate_limited_message(name: str, reset: datetime | None) -> str:
    if reset is None:
        return f"connector '{name}': rate-limited (no reset time given); will try again next poll"
    return f"connector '{name}': rate-limited until {reset.strftime('%Y-%m-%dT%H:%M:%SZ')}; will try again then"


def parse_time(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 text (with Z or an offset) or epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Some APIs send nanoseconds; datetime takes at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    return utc(parsed)


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept as lines."""
    if "<" not in html:
        return unescape(html).strip()
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


class SeenIds:
    """Ids delivered recently (newest last), capped; stored in the cursor as a list."""

    def __init__(self, ids: Iterable[Any] = (), limit: int = SEEN_IDS_LIMIT) -> None:
        self.limit = limit
        self._ids: dict[str, None] = {str(i): None for i in ids}

    def __contains__(self, item: object) -> bool:
        return str(item) in self._ids

    def add(self, item: str) -> None:
        self._ids.pop(item, None)
        self._ids[item] = None

    def to_list(self) -> list[str]:
        return list(self._ids)[-self.limit :]


def cursor_value(cursor: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    return (cursor or {}).get(key, default)


def as_int(value: Any) -> int:
    """A count from a payload; anything missing or odd counts as 0."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
