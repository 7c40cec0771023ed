"""Bluesky over XRPC: `app.bsky.feed.searchPosts` (sort=latest), one walk per search query.

Without credentials the public AppView is used; some hosts require a login for
search, so an optional handle + app password (from environment variables) opens
a session with `com.atproto.server.createSession` and searches through the
user's PDS. The session token is reused across polls in this process (Bluesky
limits logins per day) and renewed when it expires.

Search never returns reposts (they are separate records); a quote post with no
text of its own is a repost in effect and is not a mention (the quoted post is,
if it names the brand). A post found by several queries is delivered once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import requests
from pydantic import Field, model_validator

from connectors.base import Batch, ConnectorAuthError, ConnectorConfigError, ConnectorError
from connectors.brand_query import is_excluded, language_allowed, quoted, search_terms
from connectors.http import HttpConnector, PagedOptions, SeenIds, as_int, parse_time
from connectors.paging import Page, describe, walk_newest_first
from monitor.models import Mention, Metrics

PAGE_SIZE = 100
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
SESSION_REUSE = timedelta(minutes=60)
"""Access tokens live about two hours; renew well before."""
FUTURE_TOLERANCE = timedelta(minutes=5)

_sessions: dict[tuple[str, str], tuple[str, float]] = {}
_sessions_lock = threading.Lock()


class BlueskyOptions(PagedOptions):
    base_url: str = "https://public.api.bsky.app"
    """Where search is called; with a login and no explicit base_url, `service_url` is used."""
    service_url: str = "https://bsky.social"
    """The PDS that logs in (com.atproto.server.createSession)."""
    identifier_env: str | None = None
    """Environment variable with the account handle or e-mail (optional)."""
    app_password_env: str | None = None
    """Environment variable with an app password (Settings → Privacy and security → App passwords)."""
    queries: list[str] = Field(default_factory=list)
    """Search queries; empty: the brand's names and #hashtags."""

    @model_validator(mode="after")
    def _login_pair(self) -> BlueskyOptions:
        if bool(self.identifier_env) != bool(self.app_password_env):
            raise ValueError("identifier_env and app_password_env go together (both or neither)")
        return self


class BlueskyConnector(HttpConnector):
    platform = "bluesky"
    Options = BlueskyOptions
    options: BlueskyOptions

    @property
    def logs_in(self) -> bool:
        return bool(self.options.identifier_env)

    @property
    def base_url(self) -> str:
        if self.logs_in and "base_url" not in self.options.model_fields_set:
            return self.options.service_url.rstrip("/")
        return self.options.base_url.rstrip("/")

    def queries(self) -> list[str]:
        queries = self.options.queries or [quoted(t) for t in search_terms(self.brand) if not t.startswith("@")]
        if not queries:
            raise ConnectorConfigError(f"connector '{self.name}': no search queries (set `queries` or the brand names)")
        return list(dict.fromkeys(q.strip() for q in queries if q.strip()))

    # -- session -------------------------------------------------------------------------

    def _login(self, session: requests.Session, renew: bool = False) -> None:
        if not self.logs_in:
            return
        identifier = self.credential(self.options.identifier_env, "Bluesky handle")
        password = self.credential(self.options.app_password_env, "Bluesky app password")
        key = (self.options.service_url, identifier)
        with _sessions_lock:
            cached = _sessions.get(key)
        if cached and not renew and time.monotonic() - cached[1] < SESSION_REUSE.total_seconds():
            session.headers["Authorization"] = f"Bearer {cached[0]}"
            return
        hint = f"check {self.options.identifier_env} and {self.options.app_password_env}"
        body, _ = self.request_json(
            session,
            "POST",
            self.options.service_url.rstrip("/") + CREATE_SESSION,
            json_body={"identifier": identifier, "password": password},
            what="Bluesky login",
            credential_hint=hint,
        )
        token = body.get("accessJwt") if isinstance(body, dict) else None
        if not token:
            raise ConnectorAuthError(f"connector '{self.name}': Bluesky login returned no access token ({hint})")
        with _sessions_lock:
            _sessions[key] = (token, time.monotonic())
        session.headers["Authorization"] = f"Bearer {token}"

    def _session(self) -> requests.Session:
        session = self.session()
        self._login(session)
        return session

    def _search(self, session: requests.Session, query: str, cursor: str | None) -> Page[Any]:
        params: dict[str, Any] = {"q": query, "sort": "latest", "limit": PAGE_SIZE}
        if cursor:
            params["cursor"] = cursor
        if len(self.brand.languages) == 1:
            params["lang"] = self.brand.languages[0]
        try:
            body = self.get_json(session, SEARCH, params, what="Bluesky search", credential_hint=self._hint())
        except ConnectorError as exc:
            if not (self.logs_in and "expired" in str(exc).lower()):
                raise
            self._login(session, renew=True)
            body = self.get_json(session, SEARCH, params, what="Bluesky search", credential_hint=self._hint())
        if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
            raise ConnectorConfigError(f"connector '{self.name}': {self.base_url}{SEARCH} did not return posts")
        return Page(body["posts"], body.get("cursor") if body["posts"] else None)

    def _hint(self) -> str:
        if self.logs_in:
            return f"check {self.options.identifier_env} and {self.options.app_password_env}"
        return "this host may require a login for search: set identifier_env and app_password_env"

    # -- polling -------------------------------------------------------------------------

    def fetch(self, cursor: Mapping[str, Any] | None) -> Batch:
        session = self._session()
        states = dict(cursor or {})
        batch = Batch()
        new_states: dict[str, Any] = {}
        delivered = SeenIds(states.get("delivered") or [])
        for query in self.queries():
            key = f"q:{query.lower()}"
            walk = walk_newest_first(
                states.get(key),
                partial(self._search, session, query),
                _identify,
                max_pages=self.options.max_pages,
            )
            new_states[key] = walk.state
            for item, exc in walk.malformed:
                batch.skipped.append(f"Bluesky search {query!r} post {describe(item)}: {type(exc).__name__}: {exc}")
            for uri, indexed_at, post in walk.new_items:
                if uri in delivered:
                    continue  # found by an earlier query
                try:
                    mention = _to_mention(post, indexed_at)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    batch.skipped.append(f"Bluesky search {query!r} post {uri}: {type(exc).__name__}: {exc}")
                    continue
                delivered.add(uri)
                if self._wanted(mention):
                    batch.mentions.append(mention)
        new_states["delivered"] = delivered.to_list()
        batch.cursor = new_states
        return batch

    def _wanted(self, mention: Mention) -> bool:
        if self.brand.is_own_account(mention.author) or _own_by_domain(mention.author, self.brand.handles):
            return False
        if not mention.text.strip():
            return False  # a bare quote (a repost in effect) or an image-only post: nothing to read
        return not is_excluded(mention.text, self.brand) and language_allowed(mention.lang, self.brand)

    def check(self) -> str:
        session = self._session()
        query = self.queries()[0]
        page = self._search(session, query, None)
        who = "logged in" if self.logs_in else "without login"
        return f"ok, search for {query!r} answered {who} ({len(page.items)} recent post(s))"


def _own_by_domain(handle: str, own_handles: tuple[str, ...]) -> bool:
    """`paykitacare.bsky.social` belongs to the brand when `PayKitaCare` is one of its handles."""
    first_label = handle.lower().split(".")[0]
    return "." in handle and any(first_label == h.lstrip("@").lower() for h in own_handles if "." not in h)


def _identify(post: Any) -> tuple[str, datetime]:
    return str(post["uri"]), parse_time(post["indexedAt"])


def _to_mention(post: Mapping[str, Any], indexed_at: datetime) -> Mention:
    uri = str(post["uri"])
    author = post["author"]
    handle = str(author["handle"])
    record = post["record"]
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("record has no text")
    # createdAt is set by the client and may be wrong; the AppView's indexedAt bounds it.
    try:
        created = parse_time(record["createdAt"])
    except (KeyError, ValueError):
        created = indexed_at
    if created > indexed_at + FUTURE_TOLERANCE:
        created = indexed_at
    langs = record.get("langs") or []
    reply = record.get("reply") or {}
    raw: dict[str, Any] = {"cid": post.get("cid"), "did": author.get("did")}
    if post.get("quoteCount") is not None:
        raw["quotes"] = as_int(post["quoteCount"])
    quoted = _quoted_uri(record.get("embed"))
    if quoted:
        raw["quoted_uri"] = quoted
    if reply.get("root", {}).get("uri"):
        raw["thread_root"] = reply["root"]["uri"]
    rkey = uri.rsplit("/", 1)[-1]
    return Mention(
        id=uri,
        platform="bluesky",
        author=handle,
        text=text,  # cut (and said so) where every mention is taken in: monitor.mention_io.admit
        created_at=created,
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        lang=str(langs[0]).split("-")[0].lower() if langs else None,
        metrics=Metrics(
            followers=as_int(author.get("followersCount")),
            likes=as_int(post.get("likeCount")),
            reposts=as_int(post.get("repostCount")),
            replies=as_int(post.get("replyCount")),
        ),
        in_reply_to=(reply.get("parent") or {}).get("uri"),
        raw=raw,
    )


def _quoted_uri(embed: Any) -> str | None:
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return (embed.get("record") or {}).get("uri")
    if kind == "app.bsky.embed.recordWithMedia":
        return ((embed.get("record") or {}).get("record") or {}).get("uri")
    return None
