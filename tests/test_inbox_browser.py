"""The review inbox in a real headless Chromium (the OS package, driven by Playwright): what a person does
with the keyboard and the mouse, and what a hostile mention cannot do.

Skipped with the reason when Chromium or Playwright is missing; in CI (CI=true) that is a failure.
Set INBOX_SCREENSHOTS=DIR to keep the README's screenshots (a clean import of the sample stream).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inbox_support import PASSWORD, Site, mention_state, pk_of, prepare, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):  # fmt: skip
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (in CI the browser tests must run: .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        _missing("Chromium not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("inbox-browser")
    with running(prepare(tmp, f"sqlite:///{tmp / 'inbox.db'}")) as s:
        yield s


class Watch:
    """Every dialog (alert/confirm/prompt) and console message a page produced."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.dialogs: list[str] = []
        self.console: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.console.append(m.text))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))


def open_as(browser, site: Site, name: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    page.goto(site.url + "/")
    assert "/login" in page.url
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form.login button[type="submit"]')
    page.wait_for_url(site.url + "/")
    return page, watch


def row_pks(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all("table.inbox tr.item", "rows => rows.map(r => r.dataset.pk)")


def test_triage_three_complaints_with_the_keyboard(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, watch = open_as(browser, site, "ana")
    page.goto(site.url + "/?urgency=high")
    pks = row_pks(page)[:3]
    for step, (key, status) in enumerate((("a", "acknowledged"), ("r", "replied"), ("d", "dismissed"))):
        page.keyboard.press("j")
        current = page.locator("tr.item.current")
        assert current.get_attribute("data-pk") == pks[step]
        page.keyboard.press(key)
        page.locator(f'tr.item[data-pk="{pks[step]}"] td.status', has_text=status).wait_for()
    page.keyboard.press("k")
    assert page.locator("tr.item.current").get_attribute("data-pk") == pks[1]
    from tests.inbox_support import _status_by_pk

    assert [_status_by_pk(site, int(pk)) for pk in pks] == [
        ("acknowledged", "ana"), ("replied", "ana"), ("dismissed", "ana"),
    ]  # fmt: skip
    assert watch.dialogs == [] and not [c for c in watch.console if "error" in c.lower()]
    page.context.close()


def test_edit_a_draft_that_fails_the_length_check_then_fix_it(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_as(browser, site, "ana")
    page.goto(site.url + "/?platform=x&urgency=medium")
    first = row_pks(page)[0]
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.wait_for_url(f"{site.url}/m/{first}#draft")
    text = page.locator("#draft-text")
    assert page.evaluate("document.activeElement.id") == "draft-text"
    original = text.input_value()
    text.press("End")
    page.keyboard.type(" Mohon maaf sekali lagi atas ketidaknyamanan yang Anda alami hari ini." * 4)
    page.locator("#lint-problems li", has_text="too long for x").wait_for()
    assert "bad" in (page.locator("#lint-length").get_attribute("class") or "")
    # the fix: cut the added sentences back off, keeping the draft's own words
    text.fill(original)
    from playwright.sync_api import expect

    expect(page.locator("#lint-problems")).not_to_contain_text("too long")
    expect(page.locator("#lint-length")).not_to_have_class("bad")
    fixed = text.input_value()
    page.click("#save-draft")
    page.wait_for_url(f"{site.url}/m/{first}#draft")
    assert page.locator("#draft-text").input_value() == fixed
    assert "edited by ana" in page.locator("#draft h2").inner_text()
    page.context.close()


def test_bulk_dismiss(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_as(browser, site, "ana")
    page.goto(site.url + "/?urgency=low")
    pks = row_pks(page)[:3]
    for pk in pks:
        page.check(f'tr.item[data-pk="{pk}"] input[name="item"]')
    page.select_option("#bulk-action", "status:dismissed")
    page.click("#bulk-apply")
    page.wait_for_load_state()
    assert not set(pks) & set(row_pks(page))
    page.goto(site.url + "/?urgency=low&status=dismissed")
    assert set(pks) <= set(row_pks(page))
    page.context.close()


def test_label_a_false_positive_and_it_leaves_the_inbox(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_as(browser, site, "ana")
    page.goto(site.url + "/?urgency=medium")
    pk = row_pks(page)[-1]
    page.click(f'tr.item[data-pk="{pk}"] td.text a')
    page.select_option('#label-form select[name="verdict"]', "not-complaint")
    page.click('#label-form button[type="submit"]')
    page.wait_for_url(f"{site.url}/m/{pk}")
    assert "not a complaint" in page.locator("section.panel", has_text="Classification").inner_text()
    page.goto(site.url + "/?status=all&urgency=medium")
    assert pk not in row_pks(page)
    page.context.close()


def test_a_viewer_cannot_change_anything(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_as(browser, site, "vera")
    pk = row_pks(page)[0]
    before = page.locator(f'tr.item[data-pk="{pk}"] td.status').inner_text()
    page.keyboard.press("j")
    page.keyboard.press("d")
    page.locator("#flash", has_text="viewers cannot change anything").wait_for()
    assert page.locator(f'tr.item[data-pk="{pk}"] td.status').inner_text() == before
    page.goto(f"{site.url}/m/{pk}")
    page.click("#mark-replied")
    assert "viewers cannot change anything" in page.locator(".error").inner_text()
    page.goto(site.url + "/")
    assert page.locator(f'tr.item[data-pk="{pk}"] td.status').inner_text() == before
    page.context.close()


def test_a_post_without_the_csrf_token_is_refused(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_as(browser, site, "ana")
    pk = row_pks(page)[0]
    before = page.locator(f'tr.item[data-pk="{pk}"] td.status').inner_text()
    status = page.evaluate(
        """pk => { const body = new FormData(); body.append('status', 'dismissed');
                   return fetch('/m/' + pk + '/status', {method: 'POST', body}).then(r => r.status); }""",
        pk,
    )
    assert status == 403
    page.reload()
    assert page.locator(f'tr.item[data-pk="{pk}"] td.status').inner_text() == before
    page.context.close()


def test_hostile_mention_runs_nothing(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    page, watch = open_as(browser, site, "ana")
    pk = pk_of(site, site.hostile_ref)
    for path in ("/", "/?q=kepotong", f"/m/{pk}", "/waiting", "/overview"):
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(f"{site.url}/m/{pk}")
    assert "<script>alert('xss-text')</script>" in page.locator("#mention-text").inner_text()
    assert page.locator("#post-link").count() == 0
    page.hover("#mention-text")
    assert watch.dialogs == []
    assert not [c for c in watch.console if "xss" in c or "Content Security Policy" in c], watch.console
    assert page.evaluate("document.querySelectorAll('img[onerror], svg[onload]').length") == 0
    page.context.close()


def test_a_conflicting_edit_shows_the_conflict(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    ana, _ = open_as(browser, site, "ana")
    budi, _ = open_as(browser, site, "budi")
    pk = pk_of(site, "x:666000002")
    for page in (ana, budi):
        page.goto(f"{site.url}/m/{pk}")
    ana_text = ana.locator("#draft-text").input_value() + " Terima kasih."
    ana.fill("#draft-text", ana_text)
    ana.click("#save-draft")
    ana.wait_for_url(f"{site.url}/m/{pk}#draft")
    budi.fill("#draft-text", "Versi Budi: mohon maaf, kami akan bantu lewat DM?")
    budi.click("#save-draft")
    budi.locator("#conflict").wait_for()
    assert budi.locator("pre.theirs").inner_text() == ana_text.strip()
    assert "Versi Budi" in budi.locator("pre.yours").inner_text()
    assert "ana" in budi.locator("#conflict").inner_text() or "ana" in budi.locator("h2").first.inner_text()
    status, _ = mention_state(site, "x:666000002")
    assert status is not None
    ana.context.close()
    budi.context.close()


@pytest.fixture(scope="module")
def clean_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("inbox-clean")
    with running(prepare(tmp, f"sqlite:///{tmp / 'clean.db'}", page_size=50, hostile=False)) as s:
        yield s


def test_screenshots_of_the_sample_stream(browser, clean_site: Site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = Path(os.environ.get("INBOX_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page, watch = open_as(browser, clean_site, "ana")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.screenshot(path=str(out / "inbox.png"))
    pk = pk_of(clean_site, "x:2030962927337467969")
    page.goto(f"{clean_site.url}/m/{pk}")
    page.screenshot(path=str(out / "mention.png"), full_page=True)
    page.goto(f"{clean_site.url}/overview")
    page.screenshot(path=str(out / "overview.png"), full_page=True)
    assert all((out / f"{n}.png").stat().st_size > 10_000 for n in ("inbox", "mention", "overview"))
    assert watch.dialogs == []
    page.context.close()
