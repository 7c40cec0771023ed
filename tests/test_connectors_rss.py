"""RSS/Atom connector: requests + feedparser against a local server serving RSS 2.0 and Atom."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fakes import BRAND, NoSleep, fixture_bytes
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import ConnectorAuthError, ConnectorConfigError, ConnectorUnavailable
from connectors.rss import RSSConnector

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def make(
    httpserver: HTTPServer, feeds: list[str], env: dict[str, str] | None = None, **options: object
) -> RSSConnector:
    connector = RSSConnector(
        "news", {"base_url": httpserver.url_for("/"), "feeds": feeds, **options}, BRAND, env=env or {}
    )
    connector.timeout = 0.5
    connector.sleep = NoSleep()
    return connector


def serve(httpserver: HTTPServer, path: str, fixture: str, content_type: str, **headers: str) -> None:
    httpserver.expect_request(path).respond_with_data(
        fixture_bytes(fixture), content_type=content_type, headers=headers
    )


def test_rss_first_poll_keeps_brand_entries_and_skips_malformed(httpserver: HTTPServer) -> None:
    serve(httpserver, "/feed.xml", "rss_news.xml", RSS)
    batch = make(httpserver, ["feed.xml"]).fetch(None)

    # Gold price: not about the brand. Job ad: excluded word. The item with no id/link: skipped.
    assert [m.id for m in batch.mentions] == [
        "https://news.example.id/2026/11/23/paykita-saldo-terpotong",
        "news-example-8812",
    ]
    assert len(batch.skipped) == 1 and "entry 4" in batch.skipped[0] and "id" in batch.skipped[0]

    news = batch.mentions[0]
    assert news.platform == "rss"
    assert news.author == "Redaksi"
    assert news.text == (
        "Pengguna PayKita keluhkan saldo terpotong ganda\n"
        "Sejumlah pengguna PayKita melaporkan saldo terpotong dua kali & belum dikembalikan.\n"
        "Pihak PayKita belum memberi keterangan."
    )
    assert news.created_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert news.url == "https://news.example.id/2026/11/23/paykita-saldo-terpotong"
    assert news.lang == "id"
    outage = batch.mentions[1]
    assert outage.author == "Berita Fintech"  # no per-item author: the feed's title
    assert outage.url == "https://news.example.id/2026/11/21/paykita-outage"


def test_atom_feed_with_match_all(httpserver: HTTPServer) -> None:
    serve(httpserver, "/apps/paykita/feed.atom", "atom_reviews.xml", ATOM)
    batch = make(httpserver, ["apps/paykita/feed.atom"], match_all=True).fetch(None)

    assert [m.author for m in batch.mentions] == ["dewi_k", "yoga"]
    review = batch.mentions[0]
    assert review.text == "1 star: cannot top up\nTop up via VA failed three times, money gone.\nFix this please!"
    assert review.created_at == datetime(2026, 11, 23, 2, 18, tzinfo=UTC)
    assert review.lang == "en"
    assert review.url == "https://reviews.example.com/apps/paykita/r/9001"
    assert batch.mentions[1].lang == "id"
    assert batch.mentions[1].text == "Bintang 2: aplikasi lemot\nAplikasinya lemot bgt sejak update kemarin."


def test_incremental_poll_delivers_only_new_entries(httpserver: HTTPServer) -> None:
    serve(httpserver, "/feed.xml", "rss_news.xml", RSS)
    connector = make(httpserver, ["feed.xml"])
    first = connector.fetch(None)

    second = connector.fetch(first.cursor)

    assert second.mentions == []
    assert second.skipped == first.skipped  # the broken item is reported each time it is served


def test_etag_makes_an_unchanged_feed_cost_nothing(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(fixture_bytes("rss_news.xml"), content_type=RSS, headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    connector = make(httpserver, ["feed.xml"])
    first = connector.fetch(None)
    assert first.cursor["feeds"][httpserver.url_for("/feed.xml")]["etag"] == '"v1"'

    second = connector.fetch(first.cursor)

    assert second.mentions == [] and second.skipped == []
    assert second.cursor == first.cursor


def test_empty_feed(httpserver: HTTPServer) -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title><link>https://e.example/</link><description>x</description></channel></rss>'
    httpserver.expect_request("/feed.xml").respond_with_data(empty, content_type=RSS)
    batch = make(httpserver, ["feed.xml"]).fetch(None)
    assert batch.mentions == [] and batch.skipped == []


def test_rejected_credentials_are_an_auth_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/private.xml").respond_with_data("Unauthorized", status=401)
    connector = make(httpserver, ["private.xml"], env={"FEED_AUTH": "Bearer nope"}, auth_header_env="FEED_AUTH")
    with pytest.raises(ConnectorAuthError, match="401"):
        connector.fetch(None)
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer nope"


def test_rate_limit_reports_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(ConnectorUnavailable, match="rate-limited until"):
        make(httpserver, ["feed.xml"]).fetch(None)


def test_server_error_then_recovery(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data("oops", status=502)
    serve(httpserver, "/feed.xml", "rss_news.xml", RSS)
    connector = make(httpserver, ["feed.xml"])
    batch = connector.fetch(None)
    assert len(batch.mentions) == 2
    assert len(connector.sleep.delays) == 1


def test_timeout_is_unavailable(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return Response(fixture_bytes("rss_news.xml"), content_type=RSS)

    httpserver.expect_request("/feed.xml").respond_with_handler(slow)
    connector = make(httpserver, ["feed.xml"], retries=0)
    connector.timeout = 0.1
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        connector.fetch(None)


def test_one_broken_feed_does_not_stop_the_others(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    serve(httpserver, "/feed.xml", "rss_news.xml", RSS)
    httpserver.expect_request("/gone.xml").respond_with_data("<html><body>Not a feed</body></html>", status=500)
    connector = make(httpserver, ["feed.xml", "gone.xml"], retries=0)
    batch = connector.fetch(None)
    assert len(batch.mentions) == 2
    assert "gone.xml" in caplog.text
    assert httpserver.url_for("/gone.xml") not in batch.cursor["feeds"]


def test_not_a_feed_is_unavailable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(b"\x00\x01 not xml at all {", content_type="text/plain")
    with pytest.raises(ConnectorUnavailable, match="not an RSS or Atom feed"):
        make(httpserver, ["feed.xml"]).fetch(None)


def test_crash_between_fetch_and_store_redelivers(httpserver: HTTPServer) -> None:
    serve(httpserver, "/feed.xml", "rss_news.xml", RSS)
    connector = make(httpserver, ["feed.xml"])
    first = connector.fetch(None)
    again = connector.fetch(None)  # cursor never saved
    assert [m.key for m in again.mentions] == [m.key for m in first.mentions]


def test_feeds_are_required() -> None:
    with pytest.raises(ConnectorConfigError, match="feeds"):
        RSSConnector("news", {}, BRAND)
