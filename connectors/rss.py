"""RSS 2.0 and Atom feeds (news, review sites, alert feeds) through feedparser.

Feeds are fetched with requests (so timeouts and retries apply) and the body is
handed to feedparser. The cursor keeps, per feed, the ETag / Last-Modified for
conditional requests and the ids of recently delivered entries; an entry is
delivered once, whatever order the feed lists it in.

Unless `match_all` is set, only entries that name the brand are mentions.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlparse

import feedparser
from pydantic import Field

from connectors.base import Batch, ConnectorAuthError, ConnectorError, ConnectorUnavailable
from connectors.brand_query import is_excluded, language_allowed, mentions_brand
from connectors.http import HttpConnector, HttpOptions, SeenIds, html_to_text, join_url, raise_for_status, send
from monitor.models import Mention, utc

log = logging.getLogger(__name__)

SEEN_PER_FEED = 500


class RSSOptions(HttpOptions):
    feeds: list[str] = Field(min_length=1)
    """Feed URLs; a path (`/news.xml` or `news.xml`) is read under `base_url`, keeping its path prefix."""
    match_all: bool = False
    """Take every entry (for feeds that are already about the brand, e.g. alert feeds)."""
    auth_header_env: str | None = None
    """Environment variable holding an Authorization header value, for private feeds."""


class RSSConnector(HttpConnector):
    platform = "rss"
    Options = RSSOptions
    options: RSSOptions

    def feed_urls(self) -> list[str]:
        return [self._feed_url(url) for url in self.options.feeds]

    def _feed_url(self, url: str) -> str:
        """A full URL as given; a path (`/news.xml`, `feeds/news.xml`) under `base_url`, prefix and all."""
        if urlparse(url).scheme or not self.base_url:
            return url
        if url.startswith("//"):
            return urljoin(self.base_url, url)  # scheme-relative: another host
        return join_url(self.base_url, url)

    def _headers(self, state: Mapping[str, Any]) -> dict[str, str]:
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
        if self.options.auth_header_env:
            headers["Authorization"] = self.credential(self.options.auth_header_env, "feed Authorization header")
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        return headers

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        batch, failures = self._fetch_all(cursor)
        if failures and len(failures) == len(self.options.feeds):
            raise failures[0]
        return batch

    def _fetch_all(self, cursor: Mapping[str, Any] | None) -> tuple[Batch, list[ConnectorError]]:
        """Every feed once; a feed that fails is logged, keeps its old state, and is tried next poll."""
        states: dict[str, dict[str, Any]] = {k: dict(v) for k, v in ((cursor or {}).get("feeds") or {}).items()}
        batch = Batch()
        failures: list[ConnectorError] = []
        urls = self.feed_urls()
        session = self.session()
        for url in urls:
            state = states.get(url, {})
            try:
                states[url] = self._fetch_feed(session, url, state, batch)
            except ConnectorAuthError:
                raise
            except ConnectorError as exc:
                failures.append(exc)
                log.warning("%s", exc)
        # Feeds no longer configured are forgotten so the cursor stays small.
        batch.cursor = {"feeds": {url: states[url] for url in urls if url in states}}
        return batch, failures

    def _fetch_feed(self, session: Any, url: str, state: Mapping[str, Any], batch: Batch) -> dict[str, Any]:
        headers = self._headers(state)

        def attempt() -> Any:
            response = send(session, "GET", url, self.timeout, headers=headers)
            if response.status_code != 304:
                raise_for_status(self.name, response, f"GET {url}")
            return response

        response = self.with_retries(attempt, f"feed {url}")
        if response.status_code == 304:
            return dict(state)
        parsed = feedparser.parse(
            response.content, response_headers={k.lower(): v for k, v in response.headers.items()}
        )
        if parsed.bozo and not parsed.entries and not parsed.feed:
            raise ConnectorUnavailable(
                f"connector '{self.name}': {url} is not an RSS or Atom feed ({parsed.get('bozo_exception')})"
            )
        seen = SeenIds(state.get("seen") or [], limit=SEEN_PER_FEED)
        fallback_time = _feed_time(parsed.feed) or _header_time(response.headers.get("Date"))
        feed_lang = parsed.feed.get("language")
        feed_title = parsed.feed.get("title") or urlparse(url).netloc
        for position, entry in enumerate(parsed.entries, start=1):
            entry_id = entry.get("id") or entry.get("link")
            if entry_id and entry_id in seen:
                continue
            try:
                mention = _to_mention(entry, feed_title, feed_lang, fallback_time)
            except ValueError as exc:
                batch.skipped.append(f"feed {url} entry {position} ({entry_id or 'no id'}): {exc}")
                continue
            seen.add(mention.id)
            searchable = mention.text
            if not self.options.match_all and not mentions_brand(searchable, self.brand):
                continue
            if is_excluded(searchable, self.brand) or self.brand.is_own_account(mention.author):
                continue
            if not language_allowed(mention.lang, self.brand):
                continue
            mention.raw["feed"] = url
            batch.mentions.append(mention)
        new_state: dict[str, Any] = {"seen": seen.to_list()}
        if response.headers.get("ETag"):
            new_state["etag"] = response.headers["ETag"]
        if response.headers.get("Last-Modified"):
            new_state["modified"] = response.headers["Last-Modified"]
        return new_state

    def check(self) -> str:
        batch, failures = self._fetch_all(None)
        if failures:
            raise failures[0]
        return f"ok, {len(self.options.feeds)} feed(s) readable, {len(batch.mentions)} entry(ies) about the brand"


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def _feed_time(feed: Mapping[str, Any]) -> datetime | None:
    return _struct_to_datetime(feed.get("updated_parsed") or feed.get("published_parsed"))


def _header_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None


def _to_mention(entry: Mapping[str, Any], feed_title: str, feed_lang: str | None, fallback: datetime | None) -> Mention:
    link = entry.get("link")
    entry_id = entry.get("id") or link
    if not entry_id:
        raise ValueError("entry has neither an id/guid nor a link")
    title = html_to_text(entry.get("title") or "")
    summary_html = ""
    if entry.get("content"):
        summary_html = entry["content"][0].get("value") or ""
    summary_html = summary_html or entry.get("summary") or ""
    summary = html_to_text(summary_html)
    # Many feeds repeat the title as the start of the summary.
    text = summary if title and summary.startswith(title) else "\n".join(p for p in (title, summary) if p)
    if not text:
        raise ValueError("entry has no title and no summary")
    created = _struct_to_datetime(entry.get("published_parsed") or entry.get("updated_parsed")) or fallback
    if created is None:
        raise ValueError("entry has no date (published/updated) and the feed gives none")
    author = entry.get("author") or (entry.get("source") or {}).get("title") or feed_title
    lang = _entry_lang(entry) or feed_lang
    return Mention(
        id=str(entry_id),
        platform="rss",
        author=str(author),
        text=text,  # cut (and said so) where every mention is taken in: monitor.mention_io.admit
        created_at=created,
        url=link,
        lang=lang.split("-")[0].lower() if lang else None,
        raw={"feed_title": feed_title},
    )


def _entry_lang(entry: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key) or {}
        if detail.get("language"):
            return str(detail["language"])
    return None
