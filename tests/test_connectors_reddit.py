"""Reddit connector: praw (app-only OAuth) against a local server speaking Reddit's OAuth API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fakes import BRAND, NoSleep, fixture_json
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.reddit import RedditConnector

TOKEN = "/api/v1/access_token"
ENV = {"REDDIT_CLIENT_ID": "p-jcoLKBynTLew", "REDDIT_CLIENT_SECRET": "gko_LXELoV07ZBNUXrvWZfzE3aI"}
RATE_HEADERS = {"x-ratelimit-used": "3", "x-ratelimit-remaining": "597.0", "x-ratelimit-reset": "412"}


def make(httpserver: HTTPServer, env: dict[str, str] | None = None, **options: object) -> RedditConnector:
    base = httpserver.url_for("/").rstrip("/")
    connector = RedditConnector(
        "reddit", {"base_url": base, "auth_url": base, **options}, BRAND, env=ENV if env is None else env
    )
    connector.timeout = 0.5
    connector.sleep = NoSleep()
    return connector


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        content_type="application/json; charset=UTF-8",
        headers={**RATE_HEADERS, **(headers or {})},
    )


def serve_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TOKEN, method="POST").respond_with_json(fixture_json("reddit_token.json"))


def serve_search(httpserver: HTTPServer, path: str = "/r/indonesia+finansial/search/") -> None:
    def handler(request: Request) -> Response:
        after = request.args.get("after")
        if after == "t3_1h2abca" or after == "t3_1h2abcd":
            return json_response(fixture_json("reddit_search_page2.json"))
        return json_response(fixture_json("reddit_search_page1.json"))

    httpserver.expect_request(path, method="GET").respond_with_handler(handler)


def serve_comments(httpserver: HTTPServer, path: str = "/r/indonesia+finansial/comments/") -> None:
    httpserver.expect_request(path, method="GET").respond_with_handler(
        lambda r: json_response(fixture_json("reddit_comments.json"))
    )


def subreddit_connector(httpserver: HTTPServer, **options: object) -> RedditConnector:
    return make(httpserver, subreddits=["indonesia", "r/finansial"], **options)


def test_first_poll_reads_search_pages_and_comments(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver)
    serve_comments(httpserver)

    batch = subreddit_connector(httpserver).fetch(None)

    # Own account (PayKitaCare) and the crosspost of a delivered post are not mentions;
    # the comment that does not name the brand is dropped; the item without created_utc is skipped.
    assert [m.id for m in batch.mentions] == ["t3_1h2abcd", "t3_1h29zzz", "t1_lx1c2d3"]
    assert len(batch.skipped) == 1 and "t3_1h2abca" in batch.skipped[0] and "created_utc" in batch.skipped[0]

    post = batch.mentions[0]
    assert post.platform == "reddit"
    assert post.author == "budi_s"
    assert post.text == "PayKita saldo kepotong 2x\nUdah 2 hari refund gak masuk. CS PayKita gak bales. Ada yang sama?"
    assert post.created_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert post.url == "https://www.reddit.com/r/indonesia/comments/1h2abcd/paykita_saldo_kepotong_2x/"
    assert (post.metrics.likes, post.metrics.replies, post.metrics.reposts) == (42, 17, 1)
    assert post.in_reply_to is None
    comment = batch.mentions[2]
    assert comment.author == "yoga"
    assert comment.in_reply_to == "t3_1h2abcd"
    assert comment.url == "https://www.reddit.com/r/indonesia/comments/1h2abcd/ada_yang_pakai_paykita/lx1c2d3/"
    json.dumps(batch.cursor)  # the cursor is plain JSON


def test_requests_use_oauth_token_and_search_params(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver)
    serve_comments(httpserver)
    subreddit_connector(httpserver).fetch(None)

    token_request = httpserver.log[0][0]
    assert token_request.path == TOKEN and token_request.form["grant_type"] == "client_credentials"
    assert token_request.authorization.username == ENV["REDDIT_CLIENT_ID"]
    search = httpserver.log[1][0]
    assert search.headers["Authorization"].lower().startswith("bearer eyj")
    assert search.args["q"] == "PayKita OR PayKitaCare"
    assert (search.args["sort"], search.args["t"], search.args["restrict_sr"], search.args["limit"]) == (
        "new",
        "week",
        "on",
        "100",
    )


def test_without_subreddits_searches_all_of_reddit(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver, "/r/all/search/")
    batch = make(httpserver).fetch(None)
    assert {m.id for m in batch.mentions} == {"t3_1h2abcd", "t3_1h29zzz"}
    assert set(batch.cursor) == {"submissions"}


def test_match_all_reads_new_posts_of_the_brand_subreddit(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/r/PayKita/new/").respond_with_handler(
        lambda r: json_response(fixture_json("reddit_search_page2.json"))
    )
    httpserver.expect_request("/r/PayKita/comments/").respond_with_handler(
        lambda r: json_response(fixture_json("reddit_comments.json"))
    )
    batch = make(httpserver, subreddits=["PayKita"], match_all=True).fetch(None)
    assert [m.id for m in batch.mentions] == ["t3_1h29zzz", "t1_lx1c2d3", "t1_lx1c2d2"]


def test_incremental_poll_delivers_only_new_posts(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_comments(httpserver)
    connector = subreddit_connector(httpserver)
    serve_search(httpserver)
    first = connector.fetch(None)
    httpserver.clear_all_handlers()

    serve_token(httpserver)
    serve_comments(httpserver)

    def handler(request: Request) -> Response:
        if request.args.get("after") == "t3_1h2abcd":
            return json_response(fixture_json("reddit_search_page2.json"))
        return json_response(fixture_json("reddit_search_incremental.json"))

    httpserver.expect_request("/r/indonesia+finansial/search/").respond_with_handler(handler)
    second = connector.fetch(first.cursor)

    assert [m.id for m in second.mentions] == ["t3_1h2abce"]
    assert second.cursor["submissions"]["watermark"].startswith("2026-11-23T09:20:00")


def test_page_limit_resumes_next_poll_without_loss(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver, "/r/all/search/")
    connector = make(httpserver, max_pages=1)

    first = connector.fetch(None)
    assert [m.id for m in first.mentions] == ["t3_1h2abcd"]
    assert first.cursor["submissions"]["resume"] == "t3_1h2abca"

    second = connector.fetch(first.cursor)
    assert [m.id for m in second.mentions] == ["t3_1h29zzz"]
    assert "resume" not in second.cursor["submissions"]
    assert second.cursor["submissions"]["watermark"].startswith("2026-11-23T09:00:00")


def test_empty_listing(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/r/all/search/").respond_with_handler(
        lambda r: json_response(fixture_json("reddit_empty.json"))
    )
    batch = make(httpserver).fetch(None)
    assert batch.mentions == [] and batch.skipped == []


def test_rejected_app_credentials_are_an_auth_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TOKEN, method="POST").respond_with_json(fixture_json("reddit_error_401.json"), status=401)
    with pytest.raises(ConnectorAuthError, match="REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET"):
        make(httpserver).fetch(None)


def test_missing_secret_names_the_variable(httpserver: HTTPServer) -> None:
    with pytest.raises(ConnectorAuthError, match="REDDIT_CLIENT_SECRET"):
        make(httpserver, env={"REDDIT_CLIENT_ID": "x"}).fetch(None)


def test_rate_limit_reports_reset_time(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/r/all/search/").respond_with_handler(
        lambda r: json_response(
            fixture_json("reddit_error_429.json"),
            status=429,
            headers={"x-ratelimit-used": "600", "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "300"},
        )
    )
    connector = make(httpserver)
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="rate-limited until"):
        connector.fetch(None)
    assert time.monotonic() - started < 2


def test_exhausted_quota_stops_paging_and_resumes_later_without_sleeping(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    serve_token(httpserver)

    def handler(request: Request) -> Response:
        headers = {"x-ratelimit-used": "600", "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "300"}
        return json_response(fixture_json("reddit_search_page1.json"), headers=headers)

    httpserver.expect_request("/r/all/search/").respond_with_handler(handler)
    started = time.monotonic()
    batch = make(httpserver).fetch(None)
    assert time.monotonic() - started < 2
    assert [m.id for m in batch.mentions] == ["t3_1h2abcd"]
    assert batch.cursor["submissions"]["resume"] == "t3_1h2abca"
    assert not any("rate-limited" in line for line in batch.skipped)  # not a malformed item
    assert "rate-limited until" in caplog.text


def test_server_error_then_recovery(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_oneshot_request("/r/all/search/").respond_with_data("<html>upstream error</html>", status=503)
    httpserver.expect_request("/r/all/search/").respond_with_handler(
        lambda r: json_response(fixture_json("reddit_search_page2.json"))
    )
    connector = make(httpserver)
    started = time.monotonic()
    batch = connector.fetch(None)
    assert [m.id for m in batch.mentions] == ["t3_1h29zzz"]
    assert len(connector.sleep.delays) == 1
    assert time.monotonic() - started < 2  # prawcore's own retry sleeps are off


@pytest.mark.parametrize("status", [502, 503, 401])
def test_prawcore_never_retries_on_its_own(httpserver: HTTPServer, status: int) -> None:
    """prawcore would retry these up to twice, sleeping up to 4 s; with retries: 0 there is one request."""
    serve_token(httpserver)
    httpserver.expect_request("/r/all/search/").respond_with_data("<html>upstream</html>", status=status)
    connector = make(httpserver, retries=0)
    started = time.monotonic()
    with pytest.raises((ConnectorUnavailable, ConnectorAuthError)):
        connector.fetch(None)
    assert [r.path for r, _ in httpserver.log].count("/r/all/search/") == 1
    assert time.monotonic() - started < 1 and connector.sleep.delays == []


def test_crossposts_are_never_new_mentions_whatever_the_order(httpserver: HTTPServer) -> None:
    """Newest first, a crosspost comes before the post it repeats; one of a post not listed is a repost too."""
    listing = fixture_json("reddit_search_page1.json")
    parent = next(c for c in listing["data"]["children"] if c["data"]["name"] == "t3_1h2abcd")
    newer = json.loads(json.dumps(parent))
    newer["data"].update(
        id="1h2abcf",
        name="t3_1h2abcf",
        author="andi_rt",
        subreddit="finansial",
        created_utc=parent["data"]["created_utc"] + 600,
        crosspost_parent="t3_1h2abcd",
        crosspost_parent_list=[parent["data"]],
        permalink="/r/finansial/comments/1h2abcf/x/",
    )
    orphan = json.loads(json.dumps(newer))
    orphan["data"].update(id="1h2abcg", name="t3_1h2abcg", crosspost_parent="t3_0elsewhere", crosspost_parent_list=[])
    orphan["data"]["created_utc"] -= 1200
    listing["data"].update(children=[newer, parent, orphan], after=None)
    serve_token(httpserver)
    httpserver.expect_request("/r/all/search/").respond_with_handler(lambda r: json_response(listing))

    batch = make(httpserver).fetch(None)

    assert [m.id for m in batch.mentions] == ["t3_1h2abcd"]


def test_timeout_is_unavailable(httpserver: HTTPServer) -> None:
    serve_token(httpserver)

    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return json_response(fixture_json("reddit_empty.json"))

    httpserver.expect_request("/r/all/search/").respond_with_handler(slow)
    connector = make(httpserver, retries=0)
    connector.timeout = 0.1
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        connector.fetch(None)


def test_unknown_subreddit_is_a_config_error(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/r/nosuchsub/search/").respond_with_data(
        "", status=302, headers={"Location": "https://www.reddit.com/subreddits/search?q=nosuchsub"}
    )
    with pytest.raises(ConnectorConfigError, match="subreddits"):
        make(httpserver, subreddits=["nosuchsub"], include_comments=False).fetch(None)


def test_crash_between_fetch_and_store_redelivers(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver)
    serve_comments(httpserver)
    connector = subreddit_connector(httpserver)
    first = connector.fetch(None)
    again = connector.fetch(None)  # the cursor was never saved
    assert [m.key for m in again.mentions] == [m.key for m in first.mentions]


def test_check(httpserver: HTTPServer) -> None:
    serve_token(httpserver)
    serve_search(httpserver, "/r/all/search/")
    assert make(httpserver).check().startswith("ok")


def test_secrets_never_reach_the_debug_log(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    serve_token(httpserver)
    serve_search(httpserver, "/r/all/search/")
    with caplog.at_level("DEBUG"):
        make(httpserver).fetch(None)
    assert ENV["REDDIT_CLIENT_SECRET"] not in caplog.text
    assert fixture_json("reddit_token.json")["access_token"] not in caplog.text
