"""The review inbox over real HTTP: the server running, pages parsed as a browser would get them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from monitor.models import Urgency
from tests.inbox_support import (
    HOSTILE_AUTHOR,
    PASSWORD,
    Site,
    cli,
    csrf_of,
    login,
    mention_state,
    pk_of,
    prepare,
    running,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("inbox")
    with running(prepare(tmp, f"sqlite:///{tmp / 'inbox.db'}")) as s:
        yield s


@pytest.fixture
def agent(site: Site) -> Iterator[httpx.Client]:
    client = login(site, "ana")
    yield client
    client.close()


def rows(html: str) -> list[dict[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    out = []
    for tr in soup.select("table.inbox tr.item"):
        cells = tr.find_all("td")
        out.append({
            "pk": tr["data-pk"], "version": tr["data-version"], "urgency": cells[1].get_text(strip=True),
            "waited": cells[2].get_text(" ", strip=True), "status": cells[6].get_text(strip=True),
            "text": cells[4].get_text(" ", strip=True),
        })  # fmt: skip
    return out


def test_everything_needs_a_login(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    for path in ("/m/1", "/incidents", "/overview", "/waiting", "/incidents/export.json"):
        assert client.get(path, follow_redirects=False).status_code == 303, path
    page = client.get("/login")
    denied = client.post("/m/1/status", data={"status": "dismissed", "csrf": csrf_of(page.text)})
    assert denied.status_code == 401


def test_wrong_password_is_refused(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    page = client.get("/login")
    response = client.post("/login", data={"name": "ana", "password": "wrong password!", "csrf": csrf_of(page.text)})
    assert response.status_code == 401
    assert "Wrong name or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_security_headers_and_cookie(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    response = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf": csrf_of(page.text)})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # no inline script anywhere: the only script is the app's own file
    html = client.get("/").text
    scripts = BeautifulSoup(html, "html.parser").find_all("script")
    assert [s.get("src") for s in scripts] == ["/static/inbox.js"] and all(not s.string for s in scripts)


def test_inbox_order_is_urgency_then_longest_wait(agent: httpx.Client) -> None:
    html = agent.get("/?status=all").text
    items = rows(html)
    assert len(items) == 20  # the page size in this config
    ranks = [Urgency(i["urgency"]).rank for i in items]
    assert ranks == sorted(ranks, reverse=True)
    assert items[0]["urgency"] == "critical"


def test_keyset_pages_cover_every_complaint_once(agent: httpx.Client) -> None:
    html = agent.get("/?status=open").text
    total = int(BeautifulSoup(html, "html.parser").select_one("#total").get_text())
    seen: list[str] = []
    ranks: list[int] = []
    url = "/?status=open"
    for _ in range(100):
        page = agent.get(url).text
        seen += [r["pk"] for r in rows(page)]
        ranks += [Urgency(r["urgency"]).rank for r in rows(page)]
        link = BeautifulSoup(page, "html.parser").select_one("#next-page")
        if link is None:
            break
        assert "after=" in link["href"] and "offset" not in link["href"]
        url = "/" + link["href"]
    assert len(seen) == len(set(seen)) == total > 40
    assert ranks == sorted(ranks, reverse=True)


def test_filters_and_counts_agree(agent: httpx.Client) -> None:
    html = agent.get("/?status=all").text
    soup = BeautifulSoup(html, "html.parser")
    link = soup.select_one('a[data-facet="urgency=critical"]')
    count = int(link.select_one(".n").get_text())
    filtered = agent.get("/?status=all&urgency=critical").text
    assert int(BeautifulSoup(filtered, "html.parser").select_one("#total").get_text()) == count
    assert {r["urgency"] for r in rows(filtered)} == {"critical"}
    searched = rows(agent.get("/", params={"status": "all", "q": "QRIS"}).text)
    assert searched and all("qris" in r["text"].lower() for r in searched)
    # a LIKE wildcard is searched for, not expanded
    percent = rows(agent.get("/", params={"status": "all", "q": "%"}).text)
    assert all("%" in r["text"] for r in percent) and len(percent) < len(rows(agent.get("/?status=all").text))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("urgency=urgentest", "urgency: 'urgentest' is not one of"),
        ("status=maybe", "status: 'maybe' is not one of"),
        ("since=yesterdayish", "since:"),
        ("category=%3Cb%3Ebold%3C/b%3E", "unknown category"),
        ("after=not-a-cursor", "after: not a page position"),
        ("q=" + "x" * 300, "search: too long"),
    ],
)
def test_bad_filters_give_a_clear_error(agent: httpx.Client, query: str, message: str) -> None:
    response = agent.get("/?" + query)
    assert response.status_code == 400
    text = BeautifulSoup(response.text, "html.parser").select_one(".error").get_text()
    assert message in text
    assert "<b>" not in response.text


def test_hostile_mention_is_inert_everywhere(site: Site, agent: httpx.Client) -> None:
    pk = pk_of(site, site.hostile_ref)
    for path in ("/", "/?status=all&q=kepotong", f"/m/{pk}", "/waiting"):
        html = agent.get(path).text
        soup = BeautifulSoup(html, "html.parser")
        assert not [s for s in soup.find_all("script") if s.get("src") != "/static/inbox.js"], path
        assert not soup.find_all(attrs={"onerror": True}) and not soup.find_all(attrs={"onload": True}), path
        assert not [a for a in soup.find_all("a") if a.get("href", "").lower().startswith("javascript")], path
    page = BeautifulSoup(agent.get(f"/m/{pk}").text, "html.parser")
    assert "<script>alert('xss-text')</script>" in page.select_one("#mention-text").get_text()
    assert HOSTILE_AUTHOR in page.select_one("h1").get_text()
    assert page.select_one("#post-link") is None  # the javascript: URL is not a link


def test_huge_odd_unicode_mention_is_shown(site: Site, agent: httpx.Client) -> None:
    pk = pk_of(site, "x:666000002")
    response = agent.get(f"/m/{pk}")
    assert response.status_code == 200
    assert "\u202e" in BeautifulSoup(response.text, "html.parser").select_one("#mention-text").get_text()
    assert agent.get("/m/99999999").status_code == 400
    assert agent.get("/m/abc").status_code == 400


def test_post_without_csrf_is_refused(site: Site, agent: httpx.Client) -> None:
    ref = "x:666000002"
    before = mention_state(site, ref)
    pk = pk_of(site, ref)
    for data in ({"status": "dismissed"}, {"status": "dismissed", "csrf": "forged"}):
        response = agent.post(f"/m/{pk}/status", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert mention_state(site, ref) == before


def test_viewer_cannot_change_anything(site: Site) -> None:
    viewer = login(site, "vera")
    html = viewer.get("/").text
    token = csrf_of(html)
    pk = pk_of(site, "x:666000002")
    before = mention_state(site, "x:666000002")
    for path, data in (
        (f"/m/{pk}/status", {"status": "dismissed"}),
        (f"/m/{pk}/label", {"verdict": "not-complaint"}),
        (f"/m/{pk}/draft", {"text": "hello", "version": "x"}),
        ("/bulk", {"item": f"{pk}@0", "action": "status:dismissed"}),
        ("/incidents/INC-x/status", {"status": "resolved"}),
    ):
        response = viewer.post(path, data={**data, "csrf": token})
        assert response.status_code == 403, path
        assert "viewers cannot change anything" in response.text
    assert mention_state(site, "x:666000002") == before
    assert viewer.get("/overview").status_code == 200


def test_status_change_is_recorded_with_the_user_and_conflicts_are_refused(site: Site) -> None:
    ana, budi = login(site, "ana"), login(site, "budi")
    html = ana.get("/?status=todo").text
    row = rows(html)[-1]
    token_a, token_b = csrf_of(html), csrf_of(budi.get("/").text)
    json_only = {"accept": "application/json"}
    first = ana.post(f"/m/{row['pk']}/status", headers=json_only,
                     data={"status": "acknowledged", "version": row["version"], "csrf": token_a})  # fmt: skip
    assert first.status_code == 200 and first.json()["status"] == "acknowledged"
    second = budi.post(f"/m/{row['pk']}/status", headers=json_only,
                       data={"status": "dismissed", "version": row["version"], "csrf": token_b})  # fmt: skip
    assert second.status_code == 409
    assert second.json()["theirs"] == "acknowledged" and second.json()["yours"] == "dismissed"
    page = BeautifulSoup(ana.get(f"/m/{row['pk']}").text, "html.parser")
    history = [tr.get_text(" ", strip=True) for tr in page.select("table.history tbody tr")]
    assert "ana" in history[-1] and "new → acknowledged" in history[-1]


def test_draft_edit_lint_and_conflict(site: Site) -> None:
    ana, budi = login(site, "ana"), login(site, "budi")
    pk = pk_of(site, site.hostile_ref)
    page_a = ana.get(f"/m/{pk}").text
    page_b = budi.get(f"/m/{pk}").text
    soup = BeautifulSoup(page_a, "html.parser")
    version = soup.select_one('#draft-form input[name="version"]')["value"]
    original = soup.select_one("#draft-text").get_text()
    lint = ana.post(f"/m/{pk}/lint", data={"text": original + " panjang" * 60, "csrf": csrf_of(page_a)})
    assert lint.status_code == 200 and lint.json()["length"] > lint.json()["limit"]
    assert any(p.startswith("too long for x") for p in lint.json()["problems"])
    mine = original.replace("Kami", "Kami dengan tulus", 1)
    saved = ana.post(f"/m/{pk}/draft", data={"text": mine, "version": version, "csrf": csrf_of(page_a)})
    assert saved.status_code == 303
    theirs = "Halo, ini versi Budi"
    conflict = budi.post(f"/m/{pk}/draft", data={"text": theirs, "version": version, "csrf": csrf_of(page_b)})
    assert conflict.status_code == 409
    soup = BeautifulSoup(conflict.text, "html.parser")
    assert soup.select_one("pre.theirs").get_text() == mine and soup.select_one("pre.yours").get_text() == theirs
    assert "ana" in soup.get_text()
    shown = BeautifulSoup(ana.get(f"/m/{pk}").text, "html.parser")
    assert shown.select_one("#draft-text").get_text() == mine
    empty = ana.post(f"/m/{pk}/draft", data={"text": "   ", "version": version, "csrf": csrf_of(page_a)})
    assert empty.status_code == 400 and "empty" in empty.text


def test_label_not_a_complaint_leaves_the_inbox(site: Site, agent: httpx.Client) -> None:
    html = agent.get("/?status=todo&urgency=low").text
    row = rows(html)[0]
    response = agent.post(f"/m/{row['pk']}/label", data={"verdict": "not-complaint", "csrf": csrf_of(html)})
    assert response.status_code == 303
    assert row["pk"] not in [r["pk"] for r in rows(agent.get("/?status=all&urgency=low").text)]
    bad = agent.post(f"/m/{row['pk']}/label", data={"category": "nonsense", "csrf": csrf_of(html)})
    assert bad.status_code == 400 and "unknown category" in bad.text


def test_bulk_dismiss(site: Site, agent: httpx.Client) -> None:
    html = agent.get("/?status=todo&urgency=medium").text
    chosen = rows(html)[:3]
    data = {"csrf": csrf_of(html), "action": "status:dismissed", "item": [f"{r['pk']}@{r['version']}" for r in chosen]}
    response = agent.post("/bulk", data=data)
    assert response.status_code == 303
    left = [r["pk"] for r in rows(agent.get("/?status=todo&urgency=medium").text)]
    assert not {r["pk"] for r in chosen} & set(left)
    assert agent.post("/bulk", data={"csrf": csrf_of(html), "action": "status:dismissed"}).status_code == 400
    # the same versions again: they moved on, so nothing is overwritten
    stale = {"csrf": csrf_of(html), "action": "status:new", "item": [f"{chosen[0]['pk']}@{chosen[0]['version']}"]}
    again = agent.post("/bulk", data=stale)
    assert again.status_code == 409


def test_incidents_pages_export_and_changes(site: Site, agent: httpx.Client, tmp_path: Path) -> None:
    html = agent.get("/incidents").text
    ids = re.findall(r'href="/incidents/(INC-[^"]+)"', html)
    assert len(ids) >= 2
    detail = agent.get(f"/incidents/{ids[0]}").text
    assert "<svg" in detail and "Reports per hour" in detail
    assert 'id="brief"' in detail and "grouped as" in detail  # the incident brief (issue #17)
    exported = agent.get(f"/incidents/export.json?id={ids[0]}")
    out = tmp_path / "cli.json"
    assert cli("--config", str(site.config), "incidents", "export", "--id", ids[0], "--out", str(out)) == 0
    assert exported.json() == json.loads(out.read_text())
    assert agent.get("/incidents/export.csv").text.startswith("id,title,")
    token = csrf_of(detail)
    assert agent.post(f"/incidents/{ids[0]}/status", data={"status": "resolved", "csrf": token}).status_code == 303
    assert agent.post(f"/incidents/{ids[0]}/status", data={"status": "bogus", "csrf": token}).status_code == 400
    member = BeautifulSoup(detail, "html.parser").select_one('input[name="mention"]')["value"]
    size = len(BeautifulSoup(detail, "html.parser").select('input[name="mention"]'))
    assert agent.post(f"/incidents/{ids[0]}/drop", data={"mention": member, "csrf": token}).status_code == 303
    after = BeautifulSoup(agent.get(f"/incidents/{ids[0]}").text, "html.parser")
    assert len(after.select('input[name="mention"]')) == size - 1
    merged = agent.post(f"/incidents/{ids[0]}/merge", data={"other": ids[1], "csrf": token})
    assert merged.status_code == 303
    gone = agent.get(f"/incidents/{ids[1]}").text
    assert "merged into" in gone and ids[0] in gone
    assert agent.post(f"/incidents/{ids[0]}/merge", data={"other": ids[0], "csrf": token}).status_code == 400


def test_overview_and_still_waiting(agent: httpx.Client) -> None:
    overview = BeautifulSoup(agent.get("/overview").text, "html.parser")
    assert len(overview.select("svg.chart")) == 4
    waiting = BeautifulSoup(agent.get("/waiting").text, "html.parser")
    listed = waiting.select("table.inbox tr.item")
    assert 0 < len(listed) == int(waiting.select_one("#total").get_text())
    waited = [tr.find_all("td")[1].get_text() for tr in listed]
    assert all("h" in w or "d" in w for w in waited)  # all past the 4 h follow-up time


def test_users_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    assert cli("--db", db, "users", "add", "x", "--role", "admin", "--password-stdin", stdin=PASSWORD) != 0
    assert cli("--db", db, "users", "add", "x", "--role", "agent", "--password-stdin", stdin="short\n") == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert cli("--db", db, "users", "add", "<b>", "--role", "agent", "--password-stdin", stdin=PASSWORD) == 2
    assert cli("--db", db, "users", "add", "sari", "--role", "viewer", "--password-stdin", stdin=PASSWORD) == 0
    assert cli("--db", db, "users", "add", "sari", "--role", "agent", "--password-stdin", stdin=PASSWORD) == 2
    capsys.readouterr()
    assert cli("--db", db, "users", "list") == 0
    assert capsys.readouterr().out == "sari\tviewer\n"


@pytest.mark.slow
def test_usable_while_the_pipeline_writes(site: Site, agent: httpx.Client, tmp_path: Path) -> None:
    """The daemon and the inbox share the database: pages and changes keep working during an import."""
    import threading

    from tests.inbox_support import SAMPLE

    shifted = tmp_path / "more.jsonl"
    with SAMPLE.open(encoding="utf-8") as source, shifted.open("w", encoding="utf-8") as out:
        for line in source:
            record = json.loads(line)
            record["id"] = "again-" + str(record["id"])
            out.write(json.dumps(record) + "\n")
    codes: list[int] = []
    importer = threading.Thread(target=lambda: codes.append(cli("--config", str(site.config), "import", str(shifted))))
    importer.start()
    statuses = []
    while importer.is_alive() or len(statuses) < 5:
        html = agent.get("/?status=todo").text
        statuses.append(agent.get("/overview").status_code)
        first = rows(html)[-1]
        changed = agent.post(
            f"/m/{first['pk']}/status",
            headers={"accept": "application/json"},
            data={"status": "acknowledged", "version": first["version"], "csrf": csrf_of(html)},
        )
        statuses.append(changed.status_code)
    importer.join()
    assert codes == [0]
    assert set(statuses) == {200}


def test_odd_requests_get_clear_errors_not_crashes(site: Site, agent: httpx.Client) -> None:
    html = agent.get("/").text
    token = csrf_of(html)
    pk = rows(html)[0]["pk"]
    huge = agent.post(f"/m/{pk}/draft", data={"text": "x" * 100_000, "version": "v", "csrf": token})
    assert huge.status_code == 413
    upload = agent.post(f"/m/{pk}/status", data={"csrf": token}, files={"status": ("a.txt", b"dismissed")})
    assert upload.status_code == 400
    for path, data in (
        (f"/m/{pk}/status", {"status": "<b>gone</b>"}),
        (f"/m/{pk}/status", {"status": "dismissed", "version": "abc"}),
        ("/bulk", {"item": "1; DROP TABLE mentions", "action": "status:dismissed"}),
        ("/bulk", {"item": f"{pk}@0", "action": "explode"}),
        (f"/m/{pk}/label", {"verdict": "maybe"}),
        (f"/m/{pk}/label", {"verdict": "not-complaint", "urgency": "critical"}),
        ("/incidents/NOPE/status", {"status": "resolved"}),
        ("/incidents/NOPE/drop", {"mention": "x"}),
    ):
        response = agent.post(path, data={**data, "csrf": token})
        assert response.status_code == 400, (path, response.status_code)
        assert "<b>gone</b>" not in response.text
    assert agent.get("/incidents/%3Cscript%3E").status_code == 400
    assert agent.get("/nowhere").status_code == 404
    assert agent.get("/").status_code == 200  # still serving


def test_incident_commands_share_the_pages_actions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.inbox_support import SAMPLE

    db = f"sqlite:///{tmp_path / 'i.db'}"
    assert cli("--db", db, "import", str(SAMPLE)) == 0
    out = tmp_path / "incidents.json"
    assert cli("--db", db, "incidents", "export", "--out", str(out)) == 0
    incidents = json.loads(out.read_text())
    first, second = incidents[0], incidents[1]
    capsys.readouterr()
    assert cli("--db", db, "incidents", "status", first["id"], "active") == 0
    assert cli("--db", db, "incidents", "drop", first["id"], first["mention_ids"][0]) == 0
    assert cli("--db", db, "incidents", "merge", first["id"], second["id"]) == 0
    assert f"merged {second['id']} into {first['id']}" in capsys.readouterr().out
    assert cli("--db", db, "incidents", "export", "--id", first["id"], "--out", str(out)) == 0
    merged = json.loads(out.read_text())[0]
    assert merged["status"] == "active"
    assert first["mention_ids"][0] not in merged["mention_ids"]
    assert set(second["mention_ids"]) <= set(merged["mention_ids"])
    assert cli("--db", db, "incidents", "merge", first["id"], second["id"]) == 2
    assert "already merged" in capsys.readouterr().err


def test_a_label_keeps_the_draft_a_person_wrote(site: Site, agent: httpx.Client) -> None:
    html = agent.get("/?status=todo&urgency=high").text
    pk = rows(html)[0]["pk"]
    page = BeautifulSoup(agent.get(f"/m/{pk}").text, "html.parser")
    version = page.select_one('#draft-form input[name="version"]')["value"]
    mine = page.select_one("#draft-text").get_text() + " Terima kasih atas kesabaran Anda."
    token = csrf_of(html)
    assert agent.post(f"/m/{pk}/draft", data={"text": mine, "version": version, "csrf": token}).status_code == 303
    assert agent.post(f"/m/{pk}/label", data={"urgency": "critical", "csrf": token}).status_code == 303
    after = BeautifulSoup(agent.get(f"/m/{pk}").text, "html.parser")
    assert after.select_one("#draft-text").get_text() == mine.strip()
    assert "edited by ana" in after.select_one("#draft h2").get_text()
    assert "labelled by ana" in after.get_text().lower()


def test_password_guessing_is_slowed_down(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    token = csrf_of(client.get("/login").text)
    codes = [
        client.post("/login", data={"name": "vera", "password": f"guess {i}", "csrf": token}).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    locked = client.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token})
    assert locked.status_code == 429 and "Too many failed logins" in locked.text
    assert login(site, "ana").get("/").status_code == 200  # another name is not locked


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(site: Site, target: str) -> None:
    client = httpx.Client(base_url=site.url)
    page = client.get("/login", params={"next": target})
    assert 'value="/"' in page.text or target not in page.text
    response = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf": csrf_of(page.text),
                                           "next": target})  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/"
