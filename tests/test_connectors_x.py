"""X connector: tweepy's real client against a local server speaking X API v2 recent search."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fakes import BRAND, NoSleep, fixture_json
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.brand_query import x_query
from connectors.x import XConnector

SEARCH = "/2/tweets/search/recent"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest%2Fbearer"


def make(httpserver: HTTPServer, env: dict[str, str] | None = None, **options: object) -> XConnector:
    connector = XConnector(
        "x-main",
        {"base_url": httpserver.url_for("/"), **options},
        BRAND,
        env={"X_BEARER_TOKEN": TOKEN} if env is None else env,
    )
    connector.timeout = 0.5
    connector.sleep = NoSleep()
    return connector


def serve_pages(httpserver: HTTPServer) -> None:
    """Page 1 without next_token, page 2 for its next_token, the incremental page after since_id."""

    def handler(request: Request) -> Response:
        args = request.args
        if args.get("next_token") == "b26v89c19zqg8o3fpzbkk4i8e7pb8r2q0l4bnjtk3o9q1":
            body = fixture_json("x_search_page2.json")
        elif args.get("since_id") == "1861000000000000005":
            body = fixture_json("x_search_incremental.json")
        elif args.get("since_id") == "1861000000000000006":
            body = fixture_json("x_search_empty.json")
        else:
            body = fixture_json("x_search_page1.json")
        return Response(__import__("json").dumps(body), content_type="application/json")

    httpserver.expect_request(SEARCH, method="GET").respond_with_handler(handler)


def test_first_poll_reads_every_page_and_fills_mentions(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    batch = make(httpserver).fetch(None)

    ids = [m.id for m in batch.mentions]
    # Own account (PayKitaCare) and the retweet are not mentions; the tweet without created_at is skipped.
    assert ids == ["1861000000000000005", "1861000000000000002", "1861000000000000001"]
    assert len(batch.skipped) == 1 and "1861000000000000000" in batch.skipped[0]
    assert batch.cursor == {"since_id": "1861000000000000005"}

    budi = batch.mentions[0]
    assert budi.platform == "x"
    assert budi.author == "budi_s"
    assert budi.text == "@PayKitaCare saldo saya kepotong 2x & belum balik, tolong min!"
    assert budi.created_at == datetime(2026, 11, 23, 9, 15, 2, tzinfo=UTC)
    assert budi.url == "https://x.com/budi_s/status/1861000000000000005"
    assert budi.lang == "id"  # X says "in" for Indonesian
    assert budi.in_reply_to == "1860999999999999990"
    assert (budi.metrics.followers, budi.metrics.likes, budi.metrics.reposts, budi.metrics.replies) == (250, 12, 3, 1)
    assert budi.raw["conversation_id"] == "1860999999999999990"


def test_request_carries_query_fields_and_bearer_token(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    make(httpserver).fetch(None)

    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.args["query"] == x_query(BRAND)
    assert request.args["expansions"] == "author_id"
    assert "public_metrics" in request.args["tweet.fields"].split(",")
    assert "referenced_tweets" in request.args["tweet.fields"].split(",")
    assert request.args["user.fields"] == "username,public_metrics"
    assert request.args["max_results"] == "100"
    assert "since_id" not in request.args


def test_built_query_matches_brand_config() -> None:
    assert (
        x_query(BRAND)
        == "(PayKita OR #PayKita OR @PayKitaCare) -is:retweet -from:PayKitaCare -lowongan (lang:in OR lang:en)"
    )


def test_incremental_poll_sends_since_id_and_advances(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    connector = make(httpserver)
    batch = connector.fetch({"since_id": "1861000000000000005"})

    assert [m.id for m in batch.mentions] == ["1861000000000000006"]
    assert httpserver.log[0][0].args["since_id"] == "1861000000000000005"
    assert batch.cursor == {"since_id": "1861000000000000006"}

    empty = connector.fetch(batch.cursor)
    assert empty.mentions == [] and empty.skipped == []
    assert empty.cursor == {"since_id": "1861000000000000006"}


def test_pagination_beyond_max_pages_resumes_next_poll_without_loss(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    connector = make(httpserver, max_pages=1)

    first = connector.fetch(None)
    assert [m.id for m in first.mentions] == ["1861000000000000005", "1861000000000000002"]
    assert first.cursor == {
        "since_id": None,
        "next_token": "b26v89c19zqg8o3fpzbkk4i8e7pb8r2q0l4bnjtk3o9q1",
        "newest_id": "1861000000000000005",
    }

    second = connector.fetch(first.cursor)
    assert [m.id for m in second.mentions] == ["1861000000000000001"]
    assert second.cursor == {"since_id": "1861000000000000005"}


def test_empty_result(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("x_search_empty.json"))
    batch = make(httpserver).fetch({"since_id": "42"})
    assert batch.mentions == [] and batch.skipped == []
    assert batch.cursor == {"since_id": "42"}


def test_rejected_token_is_an_auth_error_naming_the_variable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("x_error_401.json"), status=401)
    with pytest.raises(ConnectorAuthError, match="X_BEARER_TOKEN"):
        make(httpserver).fetch(None)


def test_missing_token_is_an_auth_error_naming_the_variable(httpserver: HTTPServer) -> None:
    with pytest.raises(ConnectorAuthError, match="MY_X_TOKEN"):
        make(httpserver, env={}, bearer_token_env="MY_X_TOKEN").fetch(None)
    assert httpserver.log == []


def test_rate_limit_reports_reset_time_without_sleeping(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 900
    httpserver.expect_request(SEARCH).respond_with_json(
        fixture_json("x_error_429.json"),
        status=429,
        headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    connector = make(httpserver)
    with pytest.raises(ConnectorUnavailable, match="rate-limited until") as excinfo:
        connector.fetch(None)
    expected = datetime.fromtimestamp(reset, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert expected in str(excinfo.value)
    assert connector.sleep.delays == []
    assert len(httpserver.log) == 1


def test_server_error_is_retried_with_backoff_then_recovers(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(fixture_json("x_error_503.json"), status=503)
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("x_search_incremental.json"))
    connector = make(httpserver)

    batch = connector.fetch({"since_id": "1861000000000000005"})

    assert [m.id for m in batch.mentions] == ["1861000000000000006"]
    assert len(connector.sleep.delays) == 1 and 0 < connector.sleep.delays[0] <= 1.0


def test_server_errors_beyond_retries_make_the_channel_unavailable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(fixture_json("x_error_503.json"), status=503)
    connector = make(httpserver, retries=2)
    with pytest.raises(ConnectorUnavailable, match="3 attempt"):
        connector.fetch(None)
    assert len(httpserver.log) == 3
    assert sum(connector.sleep.delays) <= connector.options.retry_budget


def test_timeout_makes_the_channel_unavailable(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(SEARCH).respond_with_handler(slow)
    connector = make(httpserver, retries=0)
    connector.timeout = 0.1
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        connector.fetch(None)


def test_unreachable_host_makes_the_channel_unavailable() -> None:
    connector = XConnector(
        "x-main", {"base_url": "http://127.0.0.1:9", "retries": 0}, BRAND, env={"X_BEARER_TOKEN": "t"}
    )
    connector.timeout = 0.5
    with pytest.raises(ConnectorUnavailable, match="cannot connect"):
        connector.fetch(None)


def test_crash_between_fetch_and_store_redelivers_everything(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    connector = make(httpserver)
    cursor = {"since_id": "1861000000000000004"}

    first = connector.fetch(cursor)
    # The pipeline crashed before storing: the cursor was never saved, so it polls with the old one.
    again = connector.fetch(cursor)

    assert [m.key for m in again.mentions] == [m.key for m in first.mentions]
    assert again.cursor == first.cursor


def test_bad_query_is_a_config_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(
        {
            "errors": [
                {
                    "parameters": {"query": ["(("]},
                    "message": "There were errors processing your request: Unmatched parenthesis",
                }
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        status=400,
    )
    with pytest.raises(ConnectorConfigError, match="Unmatched parenthesis"):
        make(httpserver, query="((").fetch(None)


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConnectorConfigError, match="bearer_token"):
        XConnector("x-main", {"bearer_token": "secret-in-config"}, BRAND)


def test_check_reports_ok(httpserver: HTTPServer) -> None:
    serve_pages(httpserver)
    assert make(httpserver).check().startswith("ok")


def test_bearer_token_never_reaches_the_debug_log(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    serve_pages(httpserver)
    with caplog.at_level("DEBUG"):
        make(httpserver).fetch({"since_id": "1861000000000000005"})
    assert "Bearer ***" in caplog.text
    assert TOKEN not in caplog.text
