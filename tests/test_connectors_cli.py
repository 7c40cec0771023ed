"""`complaint-monitor connectors check|list` against local fake channels."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fakes import fixture_bytes, fixture_json
from pytest_httpserver import HTTPServer

from monitor.cli import main


def write_config(tmp_path: Path, connectors: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            brand:
              name: PayKita
              names: [PayKita]
              handles: [PayKitaCare]
              hashtags: [PayKita]
            connectors:
            """
        )
        + textwrap.indent(textwrap.dedent(connectors), "  "),
        encoding="utf-8",
    )
    return config


def test_check_reports_each_connector_and_fails_when_any_failed(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json(fixture_json("x_search_page1.json"))
    httpserver.expect_request("/feed.xml").respond_with_data(
        fixture_bytes("rss_news.xml"), content_type="application/rss+xml"
    )
    httpserver.expect_request("/private.xml").respond_with_data("no", status=403)
    monkeypatch.setenv("TEST_X_TOKEN", "s3cret-x-value")
    monkeypatch.setenv("TEST_FEED_AUTH", "Bearer s3cret-feed-value")
    monkeypatch.delenv("TEST_MISSING_TOKEN", raising=False)
    base = httpserver.url_for("/")
    config = write_config(
        tmp_path,
        f"""\
        - name: x-ok
          type: x
          base_url: {base}
          bearer_token_env: TEST_X_TOKEN
        - name: x-no-token
          type: x
          base_url: {base}
          bearer_token_env: TEST_MISSING_TOKEN
        - name: news
          type: rss
          base_url: {base}
          feeds: [feed.xml]
        - name: private-feed
          type: rss
          base_url: {base}
          feeds: [private.xml]
          auth_header_env: TEST_FEED_AUTH
          retries: 0
        - name: typo
          type: rss
          feed: [oops.xml]
        - name: down
          type: rss
          base_url: http://127.0.0.1:9
          feeds: [feed.xml]
          retries: 0
        """,
    )

    code = main(["--config", str(config), "connectors", "check"])

    out, err = capsys.readouterr()
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines["x-ok (x)"].startswith("ok")
    assert lines["x-no-token (x)"].startswith("auth failed") and "TEST_MISSING_TOKEN" in lines["x-no-token (x)"]
    assert lines["news (rss)"].startswith("ok")
    assert lines["private-feed (rss)"].startswith("auth failed") and "403" in lines["private-feed (rss)"]
    assert lines["typo (rss)"].startswith("config error") and "feed" in lines["typo (rss)"]
    assert lines["down (rss)"].startswith("unreachable")
    assert code == 1
    assert "4 of 6 connector(s) failed" in err
    assert "s3cret" not in out + err


def test_check_one_named_connector_passes(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        fixture_bytes("rss_news.xml"), content_type="application/rss+xml"
    )
    config = write_config(
        tmp_path,
        f"""\
        - name: news
          type: rss
          base_url: {httpserver.url_for("/")}
          feeds: [feed.xml]
        - name: other
          type: rss
          base_url: http://127.0.0.1:9
          feeds: [feed.xml]
        """,
    )
    assert main(["--config", str(config), "connectors", "check", "news"]) == 0
    assert capsys.readouterr().out.startswith("news (rss): ok")


def test_check_unknown_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "- {name: news, type: rss, feeds: [x.xml]}\n")
    assert main(["--config", str(config), "connectors", "check", "nope"]) == 2  # a usage error
    assert "no connector named nope" in capsys.readouterr().err


def test_list_shows_every_builtin_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", "list"]) == 0
    listed = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert {"file", "x", "reddit", "mastodon", "bluesky", "rss"} <= set(listed)


def test_a_huge_post_from_a_channel_is_cut_and_the_run_says_so(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "PayKita saldo hilang " + "x" * 30_000
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>News</title><link>https://news.example/</link><description>d</description>
<item><title>PayKita</title><link>https://news.example/a/1</link><guid>https://news.example/a/1</guid>
<pubDate>Tue, 10 Mar 2026 08:00:00 GMT</pubDate><description>{huge}</description></item>
</channel></rss>"""
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    base = httpserver.url_for("/")
    config = write_config(tmp_path, f"- name: news\n  type: rss\n  base_url: {base}\n  feeds: [feed.xml]\n")
    monkeypatch.chdir(tmp_path)
    code = main(["--config", str(config), "--db", f"sqlite:///{tmp_path / 'm.db'}", "run", "--once"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "cut rss:" in err and "text cut from 30,021 to 20,000 characters" in err, err
