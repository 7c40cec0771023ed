"""Mastodon connector: requests against a local server speaking the Mastodon REST API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fakes import BRAND, NoSleep, fixture_json
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.mastodon import MastodonConnector

TAG = "/api/v1/timelines/tag/PayKita"


def make(httpserver: HTTPServer, env: dict[str, str] | None = None, **options: object) -> MastodonConnector:
    connector = MastodonConnector("fedi", {"base_url": httpserver.url_for("/"), **options}, BRAND, env=env or {})
    connector.timeout = 0.5
    connector.sleep = NoSleep()
    return connector


def serve_timeline(httpserver: HTTPServer) -> None:
    """Page 1 links to page 2 (max_id), page 2 links to an empty page 3, like a real instance."""
    base = httpserver.url_for(TAG)

    def handler(request: Request) -> Response:
        max_id = request.args.get("max_id")
        if max_id is None:
            body = fixture_json("mastodon_tag_page1.json")
            link = f'<{base}?max_id=113500000000000101>; rel="next", <{base}?min_id=113500000000000105>; rel="prev"'
        elif max_id == "113500000000000101":
            body = fixture_json("mastodon_tag_page2.json")
            link = f'<{base}?max_id=113500000000000100>; rel="next", <{base}?min_id=113500000000000100>; rel="prev"'
        else:
            body, link = [], ""
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": "2026-11-23T09:50:00.000Z",
        }
        if link:
            headers["Link"] = link
        return Response(json.dumps(body), content_type="application/json; charset=utf-8", headers=headers)

    httpserver.expect_request(TAG, method="GET").respond_with_handler(handler)


def test_first_poll_walks_the_hashtag_timeline(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    batch = make(httpserver).fetch(None)

    # The care account's post and the boost of a delivered post are not mentions; the bad timestamp is skipped.
    assert [m.id for m in batch.mentions] == ["113500000000000105", "113500000000000102", "113500000000000100"]
    assert len(batch.skipped) == 1 and "113500000000000101" in batch.skipped[0]

    budi = batch.mentions[0]
    assert budi.platform == "mastodon"
    # a local account: the domain is the instance's own (from the account's url), not the host that answered
    assert budi.author == "budi@mastodon.example"
    assert budi.text == "Saldo #PayKita kepotong 2x & belum balik 😭\nTolong dicek min"
    assert budi.created_at == datetime(2026, 11, 23, 9, 15, 2, tzinfo=UTC)
    assert budi.url == "https://mastodon.example/@budi/113500000000000105"
    assert budi.lang == "id"
    assert (budi.metrics.followers, budi.metrics.likes, budi.metrics.reposts, budi.metrics.replies) == (310, 12, 3, 1)
    sarah = batch.mentions[1]
    assert sarah.author == "sarah@fosstodon.example"
    assert sarah.text == "The #PayKita app logs me out every time. https://status.example.com/incidents/1"
    assert sarah.in_reply_to == "113500000000000001"
    assert batch.mentions[2].text == "keluhan\nRefund #PayKita udah 3 hari gak masuk"

    request = httpserver.log[0][0]
    assert request.args["limit"] == "40"
    assert "Authorization" not in request.headers
    json.dumps(batch.cursor)


def test_incremental_poll_and_boost_of_seen_post(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    connector = make(httpserver)
    first = connector.fetch(None)
    httpserver.clear_all_handlers()
    httpserver.expect_request(TAG).respond_with_json(fixture_json("mastodon_tag_incremental.json"))

    second = connector.fetch(first.cursor)

    assert [m.id for m in second.mentions] == ["113500000000000110"]


def test_page_limit_resumes_without_loss(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    connector = make(httpserver, max_pages=1)
    first = connector.fetch(None)
    assert [m.id for m in first.mentions] == ["113500000000000105", "113500000000000102"]
    assert first.cursor["tag:paykita"]["resume"] == "113500000000000101"

    second = connector.fetch(first.cursor)
    assert [m.id for m in second.mentions] == ["113500000000000100"]


def test_empty_timeline(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TAG).respond_with_json([])
    batch = make(httpserver).fetch(None)
    assert batch.mentions == [] and batch.skipped == []


def test_search_needs_and_sends_the_token(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    httpserver.expect_request("/api/v2/search").respond_with_json(fixture_json("mastodon_search.json"))
    with pytest.raises(ConnectorConfigError, match="access_token_env"):
        make(httpserver, search=True).fetch(None)

    batch = make(httpserver, search=True, access_token_env="MASTODON_TOKEN", env={"MASTODON_TOKEN": "tok-123"}).fetch(
        None
    )

    search = next(r for r, _ in httpserver.log if r.path == "/api/v2/search")
    assert search.headers["Authorization"] == "Bearer tok-123"
    assert (search.args["q"], search.args["type"]) == ("PayKita", "statuses")
    # sarah's post came from both the timeline and search: once. The job post is excluded ("lowongan").
    assert [m.id for m in batch.mentions].count("113500000000000102") == 1
    assert "113500000000000090" not in [m.id for m in batch.mentions]


def test_rejected_token_names_the_variable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TAG).respond_with_json(fixture_json("mastodon_error_401.json"), status=401)
    with pytest.raises(ConnectorAuthError, match="MASTODON_TOKEN"):
        make(httpserver, access_token_env="MASTODON_TOKEN", env={"MASTODON_TOKEN": "bad"}).fetch(None)


def test_instance_requiring_a_token_says_so(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TAG).respond_with_json(
        {"error": "This method requires an authenticated user"}, status=401
    )
    with pytest.raises(ConnectorAuthError, match="access_token_env"):
        make(httpserver).fetch(None)


def test_rate_limit_reports_reset(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TAG).respond_with_json(
        fixture_json("mastodon_error_429.json"),
        status=429,
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2026-11-23T09:55:00.000Z",
        },
    )
    with pytest.raises(ConnectorUnavailable, match="rate-limited until 2026-11-23T09:55:00Z"):
        make(httpserver).fetch(None)


def test_server_error_then_recovery(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(TAG).respond_with_data("<html>502 Bad Gateway</html>", status=502)
    serve_timeline(httpserver)
    connector = make(httpserver)
    assert len(connector.fetch(None).mentions) == 3
    assert len(connector.sleep.delays) == 1


def test_timeout(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return Response("[]", content_type="application/json")

    httpserver.expect_request(TAG).respond_with_handler(slow)
    connector = make(httpserver, retries=0)
    connector.timeout = 0.1
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        connector.fetch(None)


def test_crash_between_fetch_and_store_redelivers(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    connector = make(httpserver)
    first = connector.fetch(None)
    again = connector.fetch(None)
    assert [m.key for m in again.mentions] == [m.key for m in first.mentions]


def test_own_account_on_another_instance_is_matched_by_full_handle() -> None:
    from connectors.base import BrandFilter

    connector = MastodonConnector(
        "fedi", {}, BrandFilter(names=("PayKita",), handles=("@PayKitaCare@mastodon.social",))
    )
    assert connector._is_own("PayKitaCare@mastodon.social")
    assert not connector._is_own("PayKitaCare@elsewhere.example")


def test_check(httpserver: HTTPServer) -> None:
    serve_timeline(httpserver)
    assert make(httpserver).check().startswith("ok")
