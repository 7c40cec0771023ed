"""Bluesky connector: requests against a local server speaking XRPC (searchPosts, createSession)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fakes import BRAND, NoSleep, fixture_json
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import connectors.bluesky as bluesky_module
from connectors.base import ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.bluesky import BlueskyConnector

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
LOGIN_ENV = {"BSKY_HANDLE": "monitor.bsky.social", "BSKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}


@pytest.fixture(autouse=True)
def _no_cached_sessions() -> None:
    bluesky_module._sessions.clear()


def make(httpserver: HTTPServer, env: dict[str, str] | None = None, **options: object) -> BlueskyConnector:
    base = httpserver.url_for("/").rstrip("/")
    options = {"base_url": base, "service_url": base, **options}
    connector = BlueskyConnector("bsky", options, BRAND, env=env or {})
    connector.timeout = 0.5
    connector.sleep = NoSleep()
    return connector


def respond(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8", headers=headers)


def serve_search(httpserver: HTTPServer, incremental: bool = False) -> None:
    def handler(request: Request) -> Response:
        q, cursor = request.args.get("q"), request.args.get("cursor")
        if q == "#PayKita":
            return respond(fixture_json("bluesky_search_hashtag.json"))
        if cursor == "25":
            return respond(fixture_json("bluesky_search_page2.json"))
        return respond(fixture_json("bluesky_search_incremental.json" if incremental else "bluesky_search_page1.json"))

    httpserver.expect_request(SEARCH, method="GET").respond_with_handler(handler)


def test_first_poll_searches_each_query_and_fills_mentions(httpserver: HTTPServer) -> None:
    serve_search(httpserver)
    batch = make(httpserver).fetch(None)

    # Own account, the bare quote of a delivered post and the job ad are not mentions;
    # the post without indexedAt is skipped; budi's post found by both queries comes once.
    assert [m.author for m in batch.mentions] == ["budi.bsky.social", "sarah.example.com", "rina.bsky.social"]
    assert len(batch.skipped) == 1 and "3lbq2gccccc2k" in batch.skipped[0]

    budi = batch.mentions[0]
    assert budi.platform == "bluesky"
    assert budi.id == "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbq2kxv7ab2k"
    assert budi.text == "Saldo PayKita kepotong 2x, belum balik 😭 #PayKita"
    assert budi.created_at == datetime(2026, 11, 23, 9, 15, 2, 123000, tzinfo=UTC)
    assert budi.url == "https://bsky.app/profile/budi.bsky.social/post/3lbq2kxv7ab2k"
    assert budi.lang == "id"
    assert (budi.metrics.likes, budi.metrics.reposts, budi.metrics.replies) == (12, 3, 1)
    sarah = batch.mentions[1]
    assert sarah.in_reply_to == "at://did:plc:other/app.bsky.feed.post/3lbq00000002k"
    # Her client claimed a 2027 createdAt; the AppView indexed it at 09:10.
    assert sarah.created_at == datetime(2026, 11, 23, 9, 10, tzinfo=UTC)

    first = httpserver.log[0][0]
    assert (first.args["q"], first.args["sort"], first.args["limit"]) == ("PayKita", "latest", "100")
    assert "Authorization" not in first.headers
    json.dumps(batch.cursor)


def test_incremental_poll(httpserver: HTTPServer) -> None:
    serve_search(httpserver)
    connector = make(httpserver)
    first = connector.fetch(None)
    httpserver.clear_all_handlers()
    serve_search(httpserver, incremental=True)

    second = connector.fetch(first.cursor)

    assert [m.text for m in second.mentions] == ["Update: saldo PayKita udah balik, makasih"]


def test_page_limit_resumes_without_loss(httpserver: HTTPServer) -> None:
    serve_search(httpserver)
    connector = make(httpserver, max_pages=1, queries=["PayKita"])
    first = connector.fetch(None)
    assert first.cursor["q:paykita"]["resume"] == "25"
    assert "rina.bsky.social" not in [m.author for m in first.mentions]

    second = connector.fetch(first.cursor)
    assert [m.author for m in second.mentions] == ["rina.bsky.social"]


def test_empty_result(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("bluesky_search_empty.json"))
    batch = make(httpserver).fetch(None)
    assert batch.mentions == [] and batch.skipped == []


def test_login_with_app_password_and_reuse_of_the_session(httpserver: HTTPServer) -> None:
    httpserver.expect_request(LOGIN, method="POST").respond_with_json(fixture_json("bluesky_session.json"))
    serve_search(httpserver)
    options = {"identifier_env": "BSKY_HANDLE", "app_password_env": "BSKY_APP_PASSWORD"}

    make(httpserver, env=LOGIN_ENV, **options).fetch(None)
    make(httpserver, env=LOGIN_ENV, **options).fetch(None)

    logins = [r for r, _ in httpserver.log if r.path == LOGIN]
    assert len(logins) == 1
    assert logins[0].json == {"identifier": "monitor.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
    searches = [r for r, _ in httpserver.log if r.path == SEARCH]
    assert all(r.headers["Authorization"].startswith("Bearer eyJ0eXAiOiJhdCtqd3Qi") for r in searches)


def test_expired_session_is_renewed_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request(LOGIN, method="POST").respond_with_json(fixture_json("bluesky_session.json"))
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(fixture_json("bluesky_error_expired.json"), status=400)
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("bluesky_search_empty.json"))
    connector = make(
        httpserver,
        env=LOGIN_ENV,
        identifier_env="BSKY_HANDLE",
        app_password_env="BSKY_APP_PASSWORD",
        queries=["PayKita"],
    )
    connector.fetch(None)
    assert len([r for r, _ in httpserver.log if r.path == LOGIN]) == 2


def test_wrong_app_password_names_the_variables(httpserver: HTTPServer) -> None:
    httpserver.expect_request(LOGIN, method="POST").respond_with_json(
        fixture_json("bluesky_error_401.json"), status=401
    )
    connector = make(httpserver, env=LOGIN_ENV, identifier_env="BSKY_HANDLE", app_password_env="BSKY_APP_PASSWORD")
    with pytest.raises(ConnectorAuthError, match="BSKY_HANDLE and BSKY_APP_PASSWORD"):
        connector.fetch(None)


def test_search_refused_without_login_suggests_one(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(
        {"error": "AuthMissing", "message": "Authentication Required"}, status=401
    )
    with pytest.raises(ConnectorAuthError, match="identifier_env"):
        make(httpserver).fetch(None)


def test_login_options_go_together() -> None:
    with pytest.raises(ConnectorConfigError, match="both or neither"):
        BlueskyConnector("bsky", {"identifier_env": "BSKY_HANDLE"}, BRAND)


def test_rate_limit_reports_reset(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 300
    httpserver.expect_request(SEARCH).respond_with_json(
        fixture_json("bluesky_error_429.json"),
        status=429,
        headers={
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "ratelimit-policy": "3000;w=300",
        },
    )
    expected = datetime.fromtimestamp(reset, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(ConnectorUnavailable, match=f"rate-limited until {expected}"):
        make(httpserver).fetch(None)


def test_server_error_then_recovery(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(
        {"error": "InternalServerError", "message": "Internal Server Error"}, status=500
    )
    serve_search(httpserver)
    connector = make(httpserver)
    assert len(connector.fetch(None).mentions) == 3
    assert len(connector.sleep.delays) == 1


def test_timeout(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return respond(fixture_json("bluesky_search_empty.json"))

    httpserver.expect_request(SEARCH).respond_with_handler(slow)
    connector = make(httpserver, retries=0)
    connector.timeout = 0.1
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        connector.fetch(None)


def test_crash_between_fetch_and_store_redelivers(httpserver: HTTPServer) -> None:
    serve_search(httpserver)
    connector = make(httpserver)
    first = connector.fetch(None)
    again = connector.fetch(None)
    assert [m.key for m in again.mentions] == [m.key for m in first.mentions]


def test_check(httpserver: HTTPServer) -> None:
    serve_search(httpserver)
    assert make(httpserver).check().startswith("ok")


def test_app_password_never_reaches_the_debug_log(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request(LOGIN, method="POST").respond_with_json(fixture_json("bluesky_session.json"))
    serve_search(httpserver)
    with caplog.at_level("DEBUG"):
        make(httpserver, env=LOGIN_ENV, identifier_env="BSKY_HANDLE", app_password_env="BSKY_APP_PASSWORD").fetch(None)
    assert LOGIN_ENV["BSKY_APP_PASSWORD"] not in caplog.text
    assert fixture_json("bluesky_session.json")["accessJwt"] not in caplog.text
