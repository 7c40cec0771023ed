"""Mastodon (any instance) over its REST API: hashtag timelines, and full-text search with a token.

`GET /api/v1/timelines/tag/:hashtag` is public on most instances; `GET
/api/v2/search?type=statuses` needs an access token (and finds only what the
instance has indexed). Timelines are walked newest first with `max_id` from the
`Link` header (see `connectors.paging`). A boost is never a mention itself; the
boosted post is, unless it was already delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import requests
from pydantic import Field, field_validator

from connectors.base import Batch, ConnectorConfigError
from connectors.brand_query import is_excluded, language_allowed, mentions_brand
from connectors.http import HttpConnector, PagedOptions, SeenIds, as_int, html_to_text, parse_time
from connectors.paging import Page, describe, walk_newest_first
from monitor.models import Mention, Metrics

PAGE_SIZE = 40  # the most Mastodon returns per page


class MastodonOptions(PagedOptions):
    base_url: str = "https://mastodon.social"
    """The instance to read from (any Mastodon-compatible server)."""
    hashtags: list[str] = Field(default_factory=list)
    """Hashtags to follow, without #; empty: the brand's hashtags."""
    search: bool = False
    """Also run full-text search for the brand's names (needs `access_token_env`)."""
    access_token_env: str | None = None
    """Environment variable with an access token (Preferences → Development → New application, scope `read`)."""
    local_only: bool = False
    """Only posts made on this instance."""

    @field_validator("hashtags")
    @classmethod
    def _bare(cls, value: list[str]) -> list[str]:
        return [tag.strip().lstrip("#") for tag in value if tag.strip().lstrip("#")]


class MastodonConnector(HttpConnector):
    platform = "mastodon"
    Options = MastodonOptions
    options: MastodonOptions

    @property
    def instance_host(self) -> str:
        return urlparse(self.base_url).hostname or self.base_url

    def hashtags(self) -> list[str]:
        tags = self.options.hashtags or [tag.lstrip("#") for tag in self.brand.hashtags]
        return list(dict.fromkeys(t for t in tags if t))

    def _session(self) -> requests.Session:
        session = self.session()
        if self.options.access_token_env:
            token = self.credential(self.options.access_token_env, "Mastodon access token")
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    def _hint(self) -> str:
        if self.options.access_token_env:
            return f"check the token in {self.options.access_token_env}"
        return "this instance may require an access token: set access_token_env"

    def _streams(self) -> dict[str, tuple[str, dict[str, Any]]]:
        streams: dict[str, tuple[str, dict[str, Any]]] = {}
        for tag in self.hashtags():
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if self.options.local_only:
                params["local"] = "true"
            streams[f"tag:{tag.lower()}"] = (f"/api/v1/timelines/tag/{quote(tag, safe='')}", params)
        if self.options.search:
            if not self.options.access_token_env:
                raise ConnectorConfigError(
                    f"connector '{self.name}': `search: true` needs `access_token_env` "
                    "(Mastodon search requires a token)"
                )
            for name in self.brand.names:
                streams[f"search:{name.lower()}"] = (
                    "/api/v2/search",
                    {"q": name, "type": "statuses", "limit": PAGE_SIZE, "resolve": "false"},
                )
        if not streams:
            raise ConnectorConfigError(
                f"connector '{self.name}': nothing to follow: set `hashtags`, brand hashtags, or `search: true`"
            )
        return streams

    def _page(self, session: requests.Session, path: str, params: Mapping[str, Any], token: str | None) -> Page[Any]:
        query = dict(params)
        searching = path.startswith("/api/v2/search")
        if token:
            query["offset" if searching else "max_id"] = token
        body, response = self.request_json(session, "GET", path, params=query, credential_hint=self._hint())
        if searching:
            statuses = body.get("statuses") if isinstance(body, dict) else None
            if not isinstance(statuses, list):
                raise ConnectorConfigError(f"connector '{self.name}': {path} did not return search results")
            offset = int(token or 0) + len(statuses)
            return Page(statuses, str(offset) if len(statuses) >= PAGE_SIZE else None)
        if not isinstance(body, list):
            raise ConnectorConfigError(
                f"connector '{self.name}': {self.base_url}{path} did not return a list of statuses"
            )
        return Page(body, _next_max_id(response) if body else None)

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        session = self._session()
        states = dict(cursor or {})
        batch = Batch()
        new_states: dict[str, Any] = {}
        delivered = SeenIds(states.get("delivered") or [])
        for stream, (path, params) in self._streams().items():
            walk = walk_newest_first(
                states.get(stream),
                partial(self._page, session, path, params),
                _identify,
                max_pages=self.options.max_pages,
            )
            new_states[stream] = walk.state
            for item, exc in walk.malformed:
                batch.skipped.append(f"Mastodon {path} status {describe(item)}: {type(exc).__name__}: {exc}")
            for _, _, status in walk.new_items:
                original = status.get("reblog") or status
                try:
                    mention = self._to_mention(original)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    batch.skipped.append(f"Mastodon {path} status {describe(original)}: {type(exc).__name__}: {exc}")
                    continue
                # A post reached twice (two hashtags, a boost of it, search) is one mention.
                if mention.id in delivered:
                    continue
                delivered.add(mention.id)
                if self._wanted(mention, stream):
                    batch.mentions.append(mention)
        new_states["delivered"] = delivered.to_list()
        batch.cursor = new_states
        return batch

    def _wanted(self, mention: Mention, stream: str) -> bool:
        if self._is_own(mention.author) or is_excluded(mention.text, self.brand):
            return False
        if not language_allowed(mention.lang, self.brand):
            return False
        if stream.startswith("search:"):
            return mentions_brand(mention.text, self.brand)
        return True

    def _is_own(self, acct: str) -> bool:
        username, _, domain = acct.lstrip("@").partition("@")
        for handle in self.brand.handles:
            own_user, _, own_domain = handle.strip().lstrip("@").partition("@")
            if own_user.lower() == username.lower() and (not own_domain or own_domain.lower() == domain.lower()):
                return True
        return False

    def _to_mention(self, status: Mapping[str, Any]) -> Mention:
        account = status["account"]
        acct = str(account["acct"])
        if "@" not in acct:
            # A local account: its domain is the instance's own, which the account's profile URL names
            # (base_url may be a gateway or an internal address, e.g. 127.0.0.1:8080).
            acct = f"{acct}@{urlparse(str(account.get('url') or '')).hostname or self.instance_host}"
        text = html_to_text(str(status["content"]))
        warning = (status.get("spoiler_text") or "").strip()
        if warning:
            text = f"{warning}\n{text}"
        if not text:
            raise ValueError("empty content")
        raw: dict[str, Any] = {"uri": status.get("uri"), "instance": self.instance_host}
        if status.get("in_reply_to_account_id"):
            raw["in_reply_to_account_id"] = str(status["in_reply_to_account_id"])
        tags = [t.get("name") for t in status.get("tags") or [] if isinstance(t, dict)]
        if tags:
            raw["tags"] = tags
        return Mention(
            id=str(status["id"]),
            platform="mastodon",
            author=acct,
            text=text,  # cut (and said so) where every mention is taken in: monitor.mention_io.admit
            created_at=parse_time(status["created_at"]),
            url=status.get("url") or status.get("uri"),
            lang=status.get("language") or None,
            metrics=Metrics(
                followers=as_int(account.get("followers_count")),
                likes=as_int(status.get("favourites_count")),
                reposts=as_int(status.get("reblogs_count")),
                replies=as_int(status.get("replies_count")),
            ),
            in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            raw=raw,
        )

    def check(self) -> str:
        session = self._session()
        streams = self._streams()
        stream, (path, params) = next(iter(streams.items()))
        page = self._page(session, path, {**params, "limit": 1}, None)
        return f"ok, {self.instance_host} answered for {stream} ({len(page.items)} recent post(s) on a page of 1)"


def _identify(status: Any) -> tuple[str, datetime]:
    return str(status["id"]), parse_time(status["created_at"])


def _next_max_id(response: requests.Response) -> str | None:
    """The max_id of the `Link: <…?max_id=…>; rel="next"` header, if any."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    values = parse_qs(urlparse(link).query).get("max_id")
    return values[0] if values else None
