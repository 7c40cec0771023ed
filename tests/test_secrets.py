"""Secrets never leak: every connector, with distinctive fake credentials, polls a local server that echoes
each request back (method, URL, headers, body) in its error bodies, its headers and its redirects. At -vv,
the secrets appear nowhere: not on stdout or stderr, not in the log file, not in the database."""

from __future__ import annotations

import base64
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import secrets

SECRETS = {
    "T_X_BEARER": "xbearer-Zq81-SECRET-7f3a",
    "T_REDDIT_ID": "redditid-Kp22-SECRET",
    "T_REDDIT_SECRET": "redditsecret-Wm93-SECRET-b/+=",
    "T_MASTODON_TOKEN": "mastotoken-Hh47-SECRET-91",
    "T_BSKY_HANDLE": "secret-handle-Jx5.bsky.social",
    "T_BSKY_PASSWORD": "bskypass-abcd-efgh-SECRET",
    "T_RSS_AUTH": "Bearer rssauth-Tt66-SECRET-0c",
}


def _forms(value: str) -> set[str]:
    """What a secret looks like on the wire and in echoes."""
    forms = {value, quote(value, safe=""), quote_plus(value)}
    if value.startswith("Bearer "):
        forms.add(value.split(" ", 1)[1])
    return forms


def _leaked(text: str) -> list[str]:
    found = [form for value in SECRETS.values() for form in _forms(value) if form in text]
    pair = base64.b64encode(f"{SECRETS['T_REDDIT_ID']}:{SECRETS['T_REDDIT_SECRET']}".encode()).decode()
    return found + ([pair] if pair in text else [])


def _echo(request: Request) -> str:
    """The request, its credentials first (what a careless proxy puts at the start of its error page)."""
    auth = request.headers.get("Authorization", "")
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    return f"{auth} {request.get_data(as_text=True)} {request.method} {request.full_path}\n{headers}"


def _handler(status: int):  # type: ignore[no-untyped-def]
    def handle(request: Request) -> Response:
        echo = _echo(request)
        if status == 302 and not request.path.startswith("/bounced"):
            # a redirect that carries the request (its credentials) in the URL it sends the client to
            auth = request.headers.get("Authorization", "") + request.get_data(as_text=True)
            return Response("", status=302, headers={"Location": f"/bounced?echo={quote_plus(auth)}"})
        code = 400 if status == 302 else status
        body = echo if request.path.endswith((".xml", "feed")) else {"error": echo, "message": echo, "detail": echo}
        response = Response(
            body if isinstance(body, str) else __import__("json").dumps(body),
            status=code,
            content_type="text/plain" if isinstance(body, str) else "application/json",
        )
        response.headers["X-Echo"] = echo.replace("\n", " | ")[:4000]
        return response

    return handle


def _config(tmp: Path, base: str) -> Path:
    connectors = f"""\
        - name: x
          type: x
          base_url: {base}
          bearer_token_env: T_X_BEARER
          retries: 1
          retry_budget: 0.2
        - name: reddit
          type: reddit
          base_url: {base}
          auth_url: {base}
          client_id_env: T_REDDIT_ID
          client_secret_env: T_REDDIT_SECRET
          subreddits: [indonesia]
          retries: 1
          retry_budget: 0.2
        - name: mastodon
          type: mastodon
          base_url: {base}
          access_token_env: T_MASTODON_TOKEN
          search: true
          retries: 1
          retry_budget: 0.2
        - name: bluesky
          type: bluesky
          base_url: {base}
          service_url: {base}
          identifier_env: T_BSKY_HANDLE
          app_password_env: T_BSKY_PASSWORD
          retries: 1
          retry_budget: 0.2
        - name: rss
          type: rss
          base_url: {base}
          feeds: [private/feed.xml]
          auth_header_env: T_RSS_AUTH
          retries: 1
          retry_budget: 0.2
    """
    config = tmp / "config.yaml"
    config.write_text(
        "brand:\n  name: PayKita\n  names: [PayKita]\n  handles: [PayKitaCare]\n  hashtags: [PayKita]\n"
        "connectors:\n" + textwrap.indent(textwrap.dedent(connectors), "  "),
        encoding="utf-8",
    )
    return config


@pytest.fixture(autouse=True)
def _forget_secrets():  # type: ignore[no-untyped-def]
    secrets.clear()
    yield
    secrets.clear()


@pytest.mark.parametrize("status", [500, 401, 403, 404, 302])
def test_echoing_servers_never_get_a_secret_out(status: int, tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(re.compile(".*")).respond_with_handler(_handler(status))
    _config(tmp_path, httpserver.url_for("/").rstrip("/"))
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DB"} | SECRETS
    outputs = []
    for args in (["run", "--once"], ["connectors", "check"], ["status"]):
        # at -vv (debug: every request the HTTP clients make is logged); stderr is the log file
        log_file = tmp_path / f"{args[0]}.log"
        with log_file.open("w", encoding="utf-8") as log:
            done = subprocess.run(
                [sys.executable, "-m", "monitor", "-vv", *args],
                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log, text=True, timeout=120,
            )  # fmt: skip
        outputs.append((done.returncode, done.stdout, log_file.read_text(encoding="utf-8")))
    # the server really saw the secrets, and echoed them
    seen = "\n".join(_echo(request) for request, _ in httpserver.log)
    assert _leaked(seen), "the fake server never received a credential"
    assert outputs[0][0] == 1 and outputs[1][0] == 1  # channels failed (what worked is stored)
    assert "DEBUG" in outputs[0][2]  # -vv really logged the requests
    for _, out, log in outputs:
        assert not _leaked(out), out
        assert not _leaked(log), log
    dump = "\n".join(sqlite3.connect(tmp_path / "complaint-monitor.db").iterdump())
    assert not _leaked(dump)
    # and the echoes did reach the output, masked (not merely dropped)
    assert "[secret]" in "\n".join(out + log for _, out, log in outputs) + dump


def test_masking_covers_the_forms_a_secret_travels_in() -> None:
    secrets.register("s3cr/et+val ue", None, "ab")  # too short to mask: "ab"
    secrets.register_pair("client-id-1", "s3cr/et+val ue")
    basic = base64.b64encode(b"client-id-1:s3cr/et+val ue").decode()
    text = (
        f"raw s3cr/et+val ue, url {quote('s3cr/et+val ue', safe='')}, form {quote_plus('s3cr/et+val ue')}, "
        f'json "s3cr\\/et+val ue", basic {basic}, Authorization: Basic {basic}, ab stays'
    )
    masked = secrets.mask(text)
    assert "s3cr" not in masked.replace('"s3cr\\/et', "") and basic not in masked
    assert masked.endswith("ab stays")


def test_configured_secrets_are_env_values_the_db_password_and_alert_urls(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("T_HOOK_TOKEN", "hooktoken-Qa12-SECRET")
    (tmp_path / "config.yaml").write_text(
        "alerts:\n  urls: ['slack://TokA1234/TokB5678/TokC9012', 'mailto://me:mailpw-SECRET@example.com']\n"
        "connectors:\n  - name: custom\n    type: x\n    bearer_token_env: T_HOOK_TOKEN\n",
        encoding="utf-8",
    )
    result = cli("--db", "postgresql://monitor:dbpw-SECRET-77@127.0.0.1:9/x?connect_timeout=2", "status")
    assert result.code == 2 and "dbpw-SECRET-77" not in result.err
    masked = secrets.mask("hooktoken-Qa12-SECRET dbpw-SECRET-77 slack://TokA1234/TokB5678/TokC9012 mailpw-SECRET")
    assert "SECRET" not in masked and "TokB5678" not in masked


def test_the_review_inbox_server_logs_mask_secrets_too(tmp_path: Path) -> None:
    # `serve` runs uvicorn, whose loggers have handlers of their own (not the root logger's)
    import io
    import logging
    import logging.config

    from monitor.commands.web import _masked_log_config

    secrets.register("inbox-SECRET-token-42")
    logging.config.dictConfig(_masked_log_config())
    try:
        for name in ("uvicorn",):  # uvicorn.error logs through its handler
            logger = logging.getLogger(name)
            stream = io.StringIO()
            handler = logger.handlers[0]
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(stream)
            logger.warning("echo %s", "Authorization: Bearer inbox-SECRET-token-42")
            assert stream.getvalue() and "inbox-SECRET-token-42" not in stream.getvalue(), name
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
