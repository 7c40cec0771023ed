"""The review inbox on PostgreSQL: migration 0005, the inbox query and its pages, and the changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.inbox_support import Site, _status_by_pk, csrf_of, login, prepare, running
from tests.test_inbox_http import rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    with running(prepare(tmp_path, pg_url)) as site:
        yield site


def test_inbox_on_postgres(pg_site: Site) -> None:
    ana = login(pg_site, "ana")
    html = ana.get("/?status=open").text
    total = int(BeautifulSoup(html, "html.parser").select_one("#total").get_text())
    seen, url = [], "/?status=open"
    while url:
        page = ana.get(url).text
        seen += [r["pk"] for r in rows(page)]
        link = BeautifulSoup(page, "html.parser").select_one("#next-page")
        url = "/" + link["href"] if link else ""
    assert len(seen) == len(set(seen)) == total > 100
    searched = rows(ana.get("/", params={"q": "qris", "status": "all"}).text)
    assert searched and all("qris" in r["text"].lower() for r in searched)

    first = rows(html)[0]
    token = csrf_of(html)
    response = ana.post(
        f"/m/{first['pk']}/status",
        data={"status": "acknowledged", "version": first["version"], "csrf": token},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200
    stale = ana.post(
        f"/m/{first['pk']}/status",
        data={"status": "dismissed", "version": first["version"], "csrf": token},
        headers={"accept": "application/json"},
    )
    assert stale.status_code == 409
    assert _status_by_pk(pg_site, int(first["pk"])) == ("acknowledged", "ana")
    page = ana.get(f"/m/{first['pk']}").text
    version = BeautifulSoup(page, "html.parser").select_one('#draft-form input[name="version"]')["value"]
    saved = ana.post(
        f"/m/{first['pk']}/draft", data={"text": "Mohon maaf, kami bantu lewat DM?", "version": version, "csrf": token}
    )
    assert saved.status_code == 303
    assert "<svg" in ana.get("/overview").text
    incidents = ana.get("/incidents/export.json").json()
    assert incidents and incidents[0]["mention_ids"]
