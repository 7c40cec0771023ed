"""Walking a newest-first listing without losing or repeating items across polls.

Reddit listings, Mastodon timelines and Bluesky search all return the newest
items first, page by page. One poll walks pages until it reaches items older
than the previous poll's newest one (the watermark, minus a small overlap for
late-indexed items), dropping ids it delivered recently.

If a poll must stop early (page limit, rate limit), the state keeps the page
token to resume from and the watermark is NOT moved: the next poll finishes the
walk first, so the items in between are not lost. The state is plain JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from connectors.http import SeenIds, parse_time

Item = TypeVar("Item")

DEFAULT_OVERLAP = timedelta(minutes=10)


@dataclass
class Page(Generic[Item]):
    items: list[Item]
    next: str | None = None
    """Token for the next (older) page; None at the end of the listing."""


@dataclass
class Walk(Generic[Item]):
    """What one poll of one listing produced."""

    new_items: list[tuple[str, datetime, Item]] = field(default_factory=list)
    malformed: list[tuple[Item, Exception]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    stopped_early: str = ""
    """Why the walk stopped before the end ("page limit", "rate limit"), or empty."""


def walk_newest_first(
    state: dict[str, Any] | None,
    fetch_page: Callable[[str | None], Page[Item]],
    identify: Callable[[Item], tuple[str, datetime]],
    *,
    max_pages: int,
    overlap: timedelta = DEFAULT_OVERLAP,
    may_fetch_more: Callable[[], bool] = lambda: True,
    seen_limit: int = 500,
) -> Walk[Item]:
    """One poll of a newest-first listing.

    `identify` returns (id, created_at) and raises ValueError/KeyError/TypeError
    for a malformed item, which is reported in `Walk.malformed` and skipped.
    `may_fetch_more` is asked before every page after the first (e.g. a rate
    limit is near); False stops the walk early, to be resumed next poll.
    """
    state = dict(state or {})
    watermark = _time_or_none(state.get("watermark"))
    newest = _time_or_none(state.get("pending_newest"))
    token: str | None = state.get("resume")
    seen = SeenIds(state.get("seen") or [], limit=seen_limit)
    horizon = watermark - overlap if watermark else None

    walk: Walk[Item] = Walk()
    reached_end = False
    for page_number in range(max_pages):
        if page_number and not may_fetch_more():
            walk.stopped_early = "rate limit"
            break
        page = fetch_page(token)
        for item in page.items:
            try:
                item_id, created = identify(item)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                walk.malformed.append((item, exc))
                continue
            if horizon is not None and created < horizon:
                reached_end = True
                continue
            newest = created if newest is None or created > newest else newest
            if item_id in seen:
                continue
            seen.add(item_id)
            walk.new_items.append((item_id, created, item))
        token = page.next
        if reached_end or not token:
            reached_end = True
            break
    else:
        walk.stopped_early = "page limit"

    if reached_end:
        moved = max((t for t in (watermark, newest) if t is not None), default=None)
        walk.state = {"watermark": _iso(moved), "seen": seen.to_list()}
    else:
        walk.state = {
            "watermark": _iso(watermark),
            "resume": token,
            "pending_newest": _iso(newest),
            "seen": seen.to_list(),
        }
    walk.state = {k: v for k, v in walk.state.items() if v not in (None, [])}
    return walk


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _time_or_none(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def describe(item: Any, keys: Iterable[str] = ("id", "uri", "name", "url")) -> str:
    """A short way to point at a malformed item in a log line."""
    if isinstance(item, dict):
        for key in keys:
            if item.get(key):
                return f"{key}={str(item[key])[:120]}"
        return "keys=" + ",".join(sorted(map(str, item))[:8])
    return type(item).__name__
