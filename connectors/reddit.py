"""Reddit through praw (app-only OAuth): new submissions and comments about the brand.

Submissions come from Reddit search (`/r/{subs}/search?sort=new`, or `/r/all`
when no subreddit is chosen) or, with `match_all`, from `/r/{subs}/new`.
Comments come from `/r/{subs}/comments` (chosen subreddits only) and are kept
when they name the brand. Listings are read as raw JSON through
`praw.Reddit.request`, so one malformed child is skipped rather than failing
the page, and walked with `connectors.paging` (watermark + seen ids + resume).

Retries and rate limits are handled here, not inside prawcore: prawcore has no
public setting for its own retries (they sleep up to 4 s each), so the requests
session handed to it through praw's documented `requestor_kwargs` reports every
failure prawcore would retry as one it does not know, and this connector retries
within its own budget. When Reddit's `x-ratelimit-remaining` runs out the poll
stops and resumes next time instead of sleeping until the reset.

Crossposts are reposts: they are never new mentions, whatever order the listing
gives them in (the post they repeat is a mention where it was posted).

`base_url` (and `auth_url`) may carry a path prefix (`https://gateway.example/reddit`):
API paths are sent relative to it, so prawcore's URL join keeps the prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import praw
import prawcore
import requests
from pydantic import Field, field_validator

from connectors.base import Batch, ConnectorAuthError, ConnectorConfigError, ConnectorError, ConnectorUnavailable
from connectors.brand_query import is_excluded, mentions_brand, or_query
from connectors.http import (
    HttpConnector,
    PagedOptions,
    TransientError,
    as_int,
    parse_time,
    rate_limited_message,
    reset_from_headers,
)
from connectors.paging import Page, describe, walk_newest_first
from monitor.models import Mention, Metrics

log = logging.getLogger(__name__)

PAGE_SIZE = 100
SITE = "https://www.reddit.com"


class RedditOptions(PagedOptions):
    base_url: str = "https://oauth.reddit.com"
    """The OAuth API host."""
    auth_url: str = "https://www.reddit.com"
    """Where access tokens come from (`/api/v1/access_token`)."""
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    user_agent: str = "python:complaint-monitor:0.1 (brand mention monitor)"
    """Reddit asks for `<platform>:<app id>:<version> (by /u/<your username>)`."""
    subreddits: list[str] = Field(default_factory=list)
    """Subreddit names without r/; empty: search all of Reddit (comments need chosen subreddits)."""
    query: str = ""
    """Reddit search query; empty means built from the brand config."""
    match_all: bool = False
    """Take every new post and comment in `subreddits` (for the brand's own community)."""
    include_comments: bool = True
    time_filter: str = "week"
    """How far back Reddit search looks: hour, day, week, month, year, all."""

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return [name.strip().removeprefix("/").removeprefix("r/") for name in value if name.strip()]

    @field_validator("time_filter")
    @classmethod
    def _known_filter(cls, value: str) -> str:
        if value not in ("hour", "day", "week", "month", "year", "all"):
            raise ValueError("must be one of hour, day, week, month, year, all")
        return value


class _NotRetried(Exception):
    """A failure prawcore would retry with its own sleeps (a connection error, a timeout, 5xx, 401),
    carried past prawcore's retry loop to the connector, which retries within its own budget."""

    def __init__(self, error: requests.RequestException | None = None, response: requests.Response | None = None):
        # (a Response is falsy when its status is an error: compare with None)
        super().__init__(str(error) if error is not None else f"HTTP {getattr(response, 'status_code', '?')}")
        self.error = error
        self.response = response


_PRAWCORE_RETRIES = frozenset({*prawcore.Session.RETRY_STATUSES, 401})
"""The statuses prawcore's Session retries (401: after dropping the token) — a public class attribute."""


class _WatchedSession(requests.Session):
    """Remembers Reddit's rate-limit headers, applies the request timeout, and keeps prawcore from retrying.

    prawcore offers no public way to switch its retries off (the strategy sits in the private
    `Session._retry_strategy_class`); it only retries what it recognises, so what it would retry reaches it
    as `_NotRetried`, which its Requestor wraps in a RequestException that the connector unwraps.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.remaining: float | None = None
        self.reset_headers: Mapping[str, str] = {}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = min(kwargs.get("timeout") or self.default_timeout, self.default_timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            raise _NotRetried(error=exc) from exc
        if "x-ratelimit-remaining" in response.headers:
            try:
                self.remaining = float(response.headers["x-ratelimit-remaining"])
            except ValueError:
                self.remaining = None
            self.reset_headers = dict(response.headers)
        if response.status_code in _PRAWCORE_RETRIES:
            raise _NotRetried(response=response)
        return response


class RedditConnector(HttpConnector):
    platform = "reddit"
    Options = RedditOptions
    options: RedditOptions

    def _reddit(self) -> tuple[praw.Reddit, _WatchedSession]:
        client_id = self.credential(self.options.client_id_env, "Reddit app client id")
        secret = self.credential(self.options.client_secret_env, "Reddit app client secret")
        session = _WatchedSession(self.timeout)
        reddit = praw.Reddit(
            client_id=client_id,
            client_secret=secret,
            user_agent=self.options.user_agent,
            oauth_url=self.base_url + "/",  # paths are sent relative to it, so a gateway's prefix stays
            reddit_url=self.options.auth_url.rstrip("/"),
            requestor_kwargs={"session": session},
            timeout=max(1, round(self.timeout)),  # praw wants whole seconds; the session applies the exact one
            check_for_updates=False,
            check_for_async=False,
        )
        return reddit, session

    def _subreddit_path(self) -> str:
        return "/r/" + ("+".join(self.options.subreddits) if self.options.subreddits else "all")

    def _query(self) -> str:
        if self.options.query.strip():
            return self.options.query.strip()
        try:
            return or_query(self.brand)
        except ValueError as exc:
            raise ConnectorConfigError(f"connector '{self.name}': {exc}") from None

    def _streams(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Each listing polled: name → (path, params)."""
        base = self._subreddit_path()
        streams: dict[str, tuple[str, dict[str, Any]]] = {}
        if self.options.match_all and self.options.subreddits:
            streams["submissions"] = (f"{base}/new/", {})
        else:
            streams["submissions"] = (
                f"{base}/search/",
                {
                    "q": self._query(),
                    "sort": "new",
                    "t": self.options.time_filter,
                    "restrict_sr": "on" if self.options.subreddits else "off",
                    "type": "link",
                },
            )
        if self.options.include_comments and self.options.subreddits:
            streams["comments"] = (f"{base}/comments/", {})
        return streams

    def _get(self, reddit: praw.Reddit, path: str, params: Mapping[str, Any]) -> Any:
        def attempt() -> Any:
            try:
                return reddit.request(method="GET", path=path.lstrip("/"), params={**params, "raw_json": 1})
            except prawcore.TooManyRequests as exc:
                raise ConnectorUnavailable(
                    rate_limited_message(self.name, reset_from_headers(exc.response.headers))
                ) from None
            except prawcore.ServerError as exc:
                raise TransientError(f"HTTP {exc.response.status_code} from {path}") from None
            except prawcore.RequestException as exc:
                original = exc.original_exception
                if isinstance(original, _NotRetried):
                    if original.response is not None:
                        raise self._response_error(original.response, path) from None
                    original = original.error or original
                if isinstance(original, requests.Timeout):
                    raise TransientError(f"timed out after {self.timeout:g}s ({path})") from None
                raise TransientError(f"cannot connect to Reddit: {str(original)[:160]}") from None
            except prawcore.OAuthException as exc:
                raise ConnectorAuthError(
                    f"connector '{self.name}': Reddit refused the app credentials in "
                    f"{self.options.client_id_env}/{self.options.client_secret_env}: {exc}"
                ) from None
            except (prawcore.Redirect, prawcore.NotFound):
                raise ConnectorConfigError(
                    f"connector '{self.name}': Reddit has no {path.rsplit('/', 1)[0]} (check `subreddits`)"
                ) from None
            except prawcore.ResponseException as exc:
                raise self._response_error(exc.response, path) from None

        return self.with_retries(attempt, f"Reddit {path}")

    def _response_error(self, response: requests.Response, path: str) -> Exception:
        status = response.status_code
        token_request = response.url.endswith("/api/v1/access_token")
        if status in (401, 403) and (token_request or status == 401):
            return ConnectorAuthError(
                f"connector '{self.name}': Reddit refused the app credentials in "
                f"{self.options.client_id_env}/{self.options.client_secret_env} (HTTP {status})"
            )
        if status == 403:
            return ConnectorAuthError(
                f"connector '{self.name}': Reddit refused access to {path} "
                "(HTTP 403: private, quarantined or banned subreddit?)"
            )
        if status >= 500 or status == 408:
            return TransientError(f"HTTP {status} from {'the token endpoint' if token_request else path}")
        return ConnectorError(f"connector '{self.name}': Reddit {path} failed: HTTP {status}")

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        reddit, session = self._reddit()
        states = dict(cursor or {})
        batch = Batch()
        new_states: dict[str, Any] = {}
        for stream, (path, params) in self._streams().items():
            if session.remaining is not None and session.remaining < 1:
                # prawcore would sleep until the reset before the next request: leave it for the next poll.
                new_states[stream] = states.get(stream) or {}
                reset = reset_from_headers(session.reset_headers)
                log.warning("Reddit %s: not read this poll, %s", path, rate_limited_message(self.name, reset))
                continue

            def fetch_page(token: str | None, path: str = path, params: dict[str, Any] = params) -> Page[Any]:
                query = {**params, "limit": PAGE_SIZE}
                if token:
                    query["after"] = token
                return _listing_page(self._get(reddit, path, query), path)

            def may_fetch_more() -> bool:
                return session.remaining is None or session.remaining >= 1

            walk = walk_newest_first(
                states.get(stream),
                fetch_page,
                _identify,
                max_pages=self.options.max_pages,
                may_fetch_more=may_fetch_more,
            )
            new_states[stream] = walk.state
            for item, exc in walk.malformed:
                where = describe(_data(item), keys=("name", "id", "permalink"))
                batch.skipped.append(f"Reddit {path} item {where}: {type(exc).__name__}: {exc}")
            for item_id, created, item in walk.new_items:
                try:
                    mention = _to_mention(item, created)
                except (KeyError, TypeError, ValueError) as exc:
                    batch.skipped.append(f"Reddit {path} item {item_id}: {type(exc).__name__}: {exc}")
                    continue
                if self._wanted(mention, item, stream):
                    batch.mentions.append(mention)
            if walk.stopped_early == "rate limit":
                reset = reset_from_headers(session.reset_headers)
                log.warning("Reddit %s: rest is read next poll, %s", path, rate_limited_message(self.name, reset))
        batch.cursor = new_states
        return batch

    def _wanted(self, mention: Mention, item: Mapping[str, Any], stream: str) -> bool:
        if self.brand.is_own_account(mention.author) or is_excluded(mention.text, self.brand):
            return False
        data = _data(item)
        if data.get("crosspost_parent") or data.get("crosspost_parent_list"):
            return False  # a repost of another post, wherever that one is in the listing (or not in it at all)
        if stream == "comments" and not self.options.match_all:
            return mentions_brand(mention.text, self.brand)  # the comments listing is not a search
        return True

    def check(self) -> str:
        reddit, _ = self._reddit()
        path, params = self._streams()["submissions"]
        listing = self._get(reddit, path, {**params, "limit": 1})
        page = _listing_page(listing, path)
        return f"ok, {self._subreddit_path()} answered ({len(page.items)} item(s) on a first page of 1)"


def _listing_page(listing: Any, path: str) -> Page[Any]:
    if not isinstance(listing, dict) or listing.get("kind") != "Listing":
        raise ConnectorUnavailable(f"Reddit {path} did not return a Listing")
    data = listing.get("data") or {}
    return Page(items=list(data.get("children") or []), next=data.get("after"))


def _data(item: Any) -> dict[str, Any]:
    if isinstance(item, dict) and isinstance(item.get("data"), dict):
        return item["data"]
    return {}


def _identify(item: Any) -> tuple[str, datetime]:
    if item.get("kind") not in ("t1", "t3"):
        raise ValueError(f"unexpected kind {item.get('kind')!r}")
    data = item["data"]
    name = data.get("name") or f"{item['kind']}_{data['id']}"
    return str(name), parse_time(data["created_utc"])


def _to_mention(item: Mapping[str, Any], created: datetime) -> Mention:
    kind = item["kind"]
    data = item["data"]
    name = data.get("name") or f"{kind}_{data['id']}"
    author = data.get("author") or "[deleted]"
    if kind == "t3":
        title = str(data["title"])
        body = str(data.get("selftext") or "")
        text = f"{title}\n{body}".strip()
        in_reply_to = None
        metrics = Metrics(
            likes=as_int(data.get("score")),
            replies=as_int(data.get("num_comments")),
            reposts=as_int(data.get("num_crossposts")),
        )
    else:
        text = str(data["body"])
        in_reply_to = data.get("parent_id")
        metrics = Metrics(likes=as_int(data.get("score")), replies=0)
    if not text:
        raise ValueError("no text")
    permalink = data.get("permalink")
    raw: dict[str, Any] = {"subreddit": data.get("subreddit")}
    for key in ("link_id", "crosspost_parent", "over_18", "link_title"):
        if data.get(key) is not None:
            raw[key] = data[key]
    return Mention(
        id=str(name),
        platform="reddit",
        author=str(author),
        text=text,  # cut (and said so) where every mention is taken in: monitor.mention_io.admit
        created_at=created,
        url=SITE + permalink if isinstance(permalink, str) and permalink.startswith("/") else permalink,
        lang=None,
        metrics=metrics,
        in_reply_to=str(in_reply_to) if in_reply_to else None,
        raw=raw,
    )
