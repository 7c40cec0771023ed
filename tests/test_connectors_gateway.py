"""Every HTTP connector behind a gateway with a path prefix (`base_url: https://gateway.example/<prefix>`):
each request keeps the prefix, and the poll delivers what the platform served. Local fake servers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fakes import BRAND, NoSleep, fixture_bytes, fixture_json
from pytest_httpserver import HTTPServer
from werkzeug import Response

from connectors.bluesky import BlueskyConnector
from connectors.http import HttpConnector
from connectors.mastodon import MastodonConnector
from connectors.reddit import RedditConnector
from connectors.rss import RSSConnector
from connectors.x import XConnector

PREFIX = "/gw/v1"
REDDIT_ENV = {"REDDIT_CLIENT_ID": "p-jcoLKBynTLew", "REDDIT_CLIENT_SECRET": "gko_LXELoV07ZBNUXrvWZfzE3aI"}


def _json(name: str) -> Response:
    headers = {"x-ratelimit-used": "1", "x-ratelimit-remaining": "500", "x-ratelimit-reset": "300"}
    return Response(json.dumps(fixture_json(name)), content_type="application/json", headers=headers)


def _x(httpserver: HTTPServer, base: str) -> HttpConnector:
    httpserver.expect_request(f"{PREFIX}/2/tweets/search/recent").respond_with_handler(
        lambda _: _json("x_search_page1.json")
    )
    return XConnector("x", {"base_url": base, "max_pages": 1}, BRAND, env={"X_BEARER_TOKEN": "AAAA%2Ftest"})


def _reddit(httpserver: HTTPServer, base: str) -> HttpConnector:
    httpserver.expect_request(f"{PREFIX}/api/v1/access_token", method="POST").respond_with_json(
        fixture_json("reddit_token.json")
    )
    httpserver.expect_request(f"{PREFIX}/r/indonesia/search/").respond_with_handler(
        lambda _: _json("reddit_search_page2.json")
    )
    options = {"base_url": base, "auth_url": base, "subreddits": ["indonesia"], "include_comments": False}
    return RedditConnector("reddit", options, BRAND, env=REDDIT_ENV)


def _mastodon(httpserver: HTTPServer, base: str) -> HttpConnector:
    httpserver.expect_request(f"{PREFIX}/api/v1/timelines/tag/PayKita").respond_with_handler(
        lambda _: _json("mastodon_tag_page1.json")
    )
    return MastodonConnector("fedi", {"base_url": base, "max_pages": 1}, BRAND, env={})


def _bluesky(httpserver: HTTPServer, base: str) -> HttpConnector:
    httpserver.expect_request(f"{PREFIX}/xrpc/app.bsky.feed.searchPosts").respond_with_handler(
        lambda _: _json("bluesky_search_page2.json")
    )
    return BlueskyConnector("bsky", {"base_url": base, "service_url": base, "max_pages": 1}, BRAND, env={})


def _rss(httpserver: HTTPServer, base: str) -> HttpConnector:
    # a path from the server's root (`/feed.xml`) and a relative one both stay under the gateway's prefix
    httpserver.expect_request(f"{PREFIX}/feed.xml").respond_with_data(
        fixture_bytes("rss_news.xml"), content_type="application/rss+xml"
    )
    httpserver.expect_request(f"{PREFIX}/reviews/atom.xml").respond_with_data(
        fixture_bytes("atom_reviews.xml"), content_type="application/atom+xml"
    )
    options = {"base_url": base, "feeds": ["/feed.xml", "reviews/atom.xml"], "match_all": True}
    return RSSConnector("news", options, BRAND, env={})


CONNECTORS: dict[str, Callable[[HTTPServer, str], HttpConnector]] = {
    "x": _x,
    "reddit": _reddit,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "rss": _rss,
}


@pytest.mark.parametrize("trailing_slash", ["", "/"], ids=["no-slash", "slash"])
@pytest.mark.parametrize("platform", list(CONNECTORS))
def test_a_gateway_path_prefix_is_kept_for_every_request(
    httpserver: HTTPServer, platform: str, trailing_slash: str
) -> None:
    connector = CONNECTORS[platform](httpserver, httpserver.url_for(PREFIX) + trailing_slash)
    connector.timeout = 2.0
    connector.sleep = NoSleep()

    batch = connector.fetch(None)

    paths = [request.path for request, _ in httpserver.log]
    assert paths and all(path.startswith(PREFIX + "/") for path in paths), paths
    assert all(status == 200 for _, response in httpserver.log for status in [response.status_code]), paths
    assert batch.mentions, batch.skipped
