"""X (Twitter) through tweepy's API v2 client: GET /2/tweets/search/recent.

The cursor holds `since_id` (the newest tweet already delivered). When a poll
stops after `max_pages` with more pages waiting, it keeps the old `since_id`
plus `next_token` and the newest id seen so far, so the next poll finishes the
same result set before moving `since_id` forward: nothing is lost.

Retweets are never mentions (`-is:retweet`): the original tweet matches the
query on its own. Quote tweets carry new text and are kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from html import unescape
from typing import Any

import requests
import tweepy
from pydantic import Field

from connectors.base import Batch, ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.brand_query import X_LANGUAGE_CODES, X_QUERY_LIMIT, is_excluded, language_allowed, x_query
from connectors.http import (
    HttpConnector,
    PagedOptions,
    TransientError,
    as_int,
    parse_time,
    rate_limited_message,
    reset_from_headers,
)
from monitor.models import Mention, Metrics

TWEEPY_HOST = "https://api.twitter.com"
TWEET_FIELDS = [
    "created_at",
    "lang",
    "public_metrics",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "author_id",
]
USER_FIELDS = ["username", "public_metrics"]
UNDETERMINED_LANGUAGES = {"und", "zxx", "qme", "qht", "qam", "qct", "qst"}
ISO_LANGUAGE_CODES = {x_code: iso for iso, x_code in X_LANGUAGE_CODES.items()}


class _RedactBearer(logging.Filter):
    """tweepy logs request headers at DEBUG; the bearer token must never reach a log."""

    _TOKEN = re.compile(r"(Bearer\s+)[^'\"\s,}]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1***", message), None
        return True


logging.getLogger("tweepy.client").addFilter(_RedactBearer())


class XOptions(PagedOptions):
    base_url: str = TWEEPY_HOST
    """The X API host (or a gateway in front of it)."""
    bearer_token_env: str = "X_BEARER_TOKEN"
    """Environment variable holding the app's Bearer Token."""
    query: str = ""
    """The whole search query; empty means built from the brand config."""
    query_extra: str = ""
    """Appended to the built query, e.g. `-is:reply` or `has:links`."""
    max_results: int = Field(100, ge=10, le=100)
    """Tweets per page (X allows 10–100)."""


class _RebasedSession(requests.Session):
    """tweepy always calls https://api.twitter.com and sets no timeout; this fixes both."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.default_timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith(TWEEPY_HOST):
            url = self.base_url + url[len(TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


class XConnector(HttpConnector):
    platform = "x"
    Options = XOptions
    default_base_url = TWEEPY_HOST
    options: XOptions

    def query(self) -> str:
        if self.options.query.strip():
            return self.options.query.strip()
        try:
            built = x_query(self.brand, self.options.query_extra)
        except ValueError as exc:
            raise ConnectorConfigError(f"connector '{self.name}': {exc}") from None
        if len(built) > X_QUERY_LIMIT:
            raise ConnectorConfigError(
                f"connector '{self.name}': the search query built from the brand is {len(built)} characters, "
                f"X allows {X_QUERY_LIMIT}; set `query` for this connector to a shorter one"
            )
        return built

    def _client(self) -> tweepy.Client:
        token = self.credential(self.options.bearer_token_env, "X bearer token")
        client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
        client.session = _RebasedSession(self.base_url, self.timeout)
        client.user_agent = self.options.user_agent
        return client

    def _search(
        self, client: tweepy.Client, query: str, since_id: str | None, next_token: str | None
    ) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            try:
                return client.search_recent_tweets(
                    query,
                    since_id=since_id,
                    next_token=next_token,
                    max_results=self.options.max_results,
                    expansions=["author_id"],
                    tweet_fields=TWEET_FIELDS,
                    user_fields=USER_FIELDS,
                )
            except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
                raise ConnectorAuthError(
                    f"connector '{self.name}': X refused the bearer token in {self.options.bearer_token_env}: "
                    f"HTTP {exc.response.status_code} {_problem(exc)}".rstrip()
                ) from None
            except tweepy.TooManyRequests as exc:
                reset = reset_from_headers(exc.response.headers)
                raise ConnectorUnavailable(rate_limited_message(self.name, reset)) from None
            except tweepy.BadRequest as exc:
                raise ConnectorConfigError(
                    f"connector '{self.name}': X rejected the search ({_problem(exc)}); query was: {query}"
                ) from None
            except tweepy.TwitterServerError as exc:
                raise TransientError(f"HTTP {exc.response.status_code} {_problem(exc)}".rstrip()) from None
            except tweepy.HTTPException as exc:
                raise ConnectorUnavailable(
                    f"connector '{self.name}': X search failed: HTTP {exc.response.status_code} {_problem(exc)}"
                ) from None
            except requests.Timeout:
                raise TransientError(f"timed out after {self.timeout:g}s") from None
            except requests.ConnectionError as exc:
                raise TransientError(f"cannot connect to {self.base_url}: {str(exc)[:160]}") from None
            except ValueError as exc:  # the body was not JSON
                raise ConnectorUnavailable(
                    f"connector '{self.name}': X returned a body that is not JSON: {exc}"
                ) from None

        return self.with_retries(attempt, "X recent search")

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        cursor = dict(cursor or {})
        since_id: str | None = cursor.get("since_id")
        next_token: str | None = cursor.get("next_token")
        newest_id: str | None = cursor.get("newest_id")
        query = self.query()
        client = self._client()
        batch = Batch()
        for _ in range(self.options.max_pages):
            page = self._search(client, query, since_id, next_token)
            meta = page.get("meta") or {}
            newest_id = _max_id(newest_id, meta.get("newest_id"))
            self._collect(page, batch)
            next_token = meta.get("next_token")
            if not next_token:
                break
        if next_token:
            batch.cursor = {"since_id": since_id, "next_token": next_token, "newest_id": newest_id}
        else:
            batch.cursor = {"since_id": _max_id(since_id, newest_id)}
        return batch

    def _collect(self, page: Mapping[str, Any], batch: Batch) -> None:
        users = {
            str(user.get("id")): user
            for user in (page.get("includes") or {}).get("users") or []
            if isinstance(user, dict)
        }
        for tweet in page.get("data") or []:
            try:
                mention = _to_mention(tweet, users)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                tweet_id = tweet.get("id", "?") if isinstance(tweet, dict) else "?"
                batch.skipped.append(f"X tweet {tweet_id}: {type(exc).__name__}: {exc}")
                continue
            if mention is None:  # a retweet slipped through
                continue
            if self.brand.is_own_account(mention.author) or is_excluded(mention.text, self.brand):
                continue
            if not language_allowed(mention.lang, self.brand):
                continue
            batch.mentions.append(mention)

    def check(self) -> str:
        page = self._search(self._client(), self.query(), None, None)
        count = as_int((page.get("meta") or {}).get("result_count"))
        return f"ok, search answered with {count} recent tweet(s)"


def _problem(exc: tweepy.HTTPException) -> str:
    messages = [m for m in exc.api_messages if m] if getattr(exc, "api_messages", None) else []
    return "; ".join(messages)[:200] if messages else (exc.response.reason or "")


def _max_id(a: str | None, b: str | None) -> str | None:
    """The larger of two tweet ids (they are numeric strings, compared as numbers)."""
    candidates = [x for x in (a, b) if x]
    return max(candidates, key=int) if candidates else None


def _to_mention(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Mention | None:
    tweet_id = str(tweet["id"])
    text = tweet["text"]
    if not isinstance(text, str):
        raise ValueError("text is not a string")
    references = tweet.get("referenced_tweets") or []
    if any(ref.get("type") == "retweeted" for ref in references):
        return None
    in_reply_to = next((str(ref["id"]) for ref in references if ref.get("type") == "replied_to"), None)
    author_id = str(tweet["author_id"])
    user = users.get(author_id) or {}
    username = user.get("username") or author_id
    tweet_metrics = tweet.get("public_metrics") or {}
    user_metrics = user.get("public_metrics") or {}
    lang = tweet.get("lang")
    raw: dict[str, Any] = {"author_id": author_id}
    for key in ("conversation_id", "in_reply_to_user_id"):
        if tweet.get(key):
            raw[key] = str(tweet[key])
    quoted = next((str(ref["id"]) for ref in references if ref.get("type") == "quoted"), None)
    if quoted:
        raw["quoted_id"] = quoted
    if "quote_count" in tweet_metrics:
        raw["quotes"] = as_int(tweet_metrics["quote_count"])
    return Mention(
        id=tweet_id,
        platform="x",
        author=username,
        # X escapes &, < and > in tweet text even in API v2.
        text=unescape(text),
        created_at=parse_time(tweet["created_at"]),
        url=f"https://x.com/{username}/status/{tweet_id}",
        lang=ISO_LANGUAGE_CODES.get(lang, lang) if lang and lang not in UNDETERMINED_LANGUAGES else None,
        metrics=Metrics(
            followers=as_int(user_metrics.get("followers_count")),
            likes=as_int(tweet_metrics.get("like_count")),
            reposts=as_int(tweet_metrics.get("retweet_count")),
            replies=as_int(tweet_metrics.get("reply_count")),
        ),
        in_reply_to=in_reply_to,
        raw=raw,
    )
