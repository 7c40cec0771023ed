"""The digest with hostile values in every field (text, author, url, platform, language, category, incident
title): the HTML runs no script in a real Chromium, the Markdown rendered by Python-Markdown holds no HTML
from the data, and no output carries a control character. Also the CSV exports' formula defusing."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import create_engine, text

from monitor.cli import main
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_mentions.jsonl"
ATTACK = (
    "<script>alert('s')</script><img src=x onerror=alert('i')><svg onload=alert('v')>"
    "\"'><iframe src=javascript:alert('f')></iframe>[click](javascript:alert('l'))"
    "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x08\x00\u202egnp.exe\u2066"
)
CONTROL_OK = {"\n"}
ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "blockquote", "a", "code", "table",
    "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample stream stored, then every field a stranger controls overwritten with an attack."""
    folder = tmp_path_factory.mktemp("hostile-digest")
    url = f"sqlite:///{folder / 'h.db'}"
    here = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["--db", url, "import", str(SAMPLE)]) == 0
    finally:
        os.chdir(here)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE mentions SET text = text || :attack, author = :attack || author, "
                "url = CASE WHEN pk % 2 = 0 THEN :js ELSE :breakout END, "
                "platform = platform || :tag, source_lang = :lang"
            ),
            {
                "attack": ATTACK,
                "js": "javascript:alert(1)//",
                "breakout": 'https://x.com/a"><script>alert(2)</script>',
                "tag": "<script>alert('p')</script>\x1b[1m",
                "lang": "<b>id</b>\x07",
            },
        )
        connection.execute(
            text("UPDATE classifications SET category = :c, lang = :l"),
            {"c": "payment<script>alert('c')</script>\x1b[5m", "l": "en<img src=x onerror=alert('g')>"},
        )
        connection.execute(
            text("UPDATE incidents SET title = :t, category = :c"),
            {"t": ATTACK, "c": "cat<svg onload=alert('t')>\x1b[0m"},
        )
    engine.dispose()
    yield folder


def _digest(folder: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    here = Path.cwd()
    os.chdir(folder)
    try:
        capsys.readouterr()
        assert main(["--db", f"sqlite:///{folder / 'h.db'}", "digest", "--format", fmt]) == 0
        return capsys.readouterr().out
    finally:
        os.chdir(here)


BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _controls(output: str) -> list[str]:
    found = {ch for ch in output if ch not in CONTROL_OK and (unicodedata.category(ch) == "Cc" or ch in BIDI)}
    return sorted(f"U+{ord(ch):04X}" for ch in found)


def test_text_digest_has_no_control_characters(hostile: Path, capsys) -> None:
    output = _digest(hostile, "text", capsys)
    assert "alert('s')" in output  # the hostile text is shown, as text
    assert _controls(output) == []


def test_markdown_digest_renders_no_html_from_the_data(hostile: Path, capsys) -> None:
    output = _digest(hostile, "md", capsys)
    assert _controls(output) == []
    html = markdown.markdown(output, extensions=["tables"])
    soup = BeautifulSoup(html, "html.parser")
    tags = {tag.name for tag in soup.find_all(True)}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for tag in soup.find_all(True):
        assert not any(name.lower().startswith("on") for name in tag.attrs), tag
    links = [a.get("href", "") for a in soup.find_all("a")]
    assert links and all(href.startswith(("https://", "http://")) for href in links), links
    assert all('"' not in href and "<" not in href for href in links)
    assert "alert('s')" in soup.get_text()  # shown as text


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.mark.browser
@pytest.mark.slow
def test_html_digest_runs_no_script_in_chromium(hostile: Path, capsys) -> None:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium not installed")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright not installed")
    page_file = hostile / "digest.html"
    page_file.write_text(_digest(hostile, "html", capsys), encoding="utf-8")
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            for link in page.query_selector_all("a")[:40]:
                href = link.get_attribute("href") or ""
                assert href.startswith(("https://", "http://", "#")), href
            scripts = page.eval_on_selector_all("script, iframe, img[onerror], svg[onload]", "els => els.length")
            body = page.inner_text("body")
        finally:
            browser.close()
    assert dialogs == [] and errors == []
    assert scripts == 0
    assert "alert('s')" in body  # shown as text


def test_csv_cells_a_spreadsheet_would_run_are_defused(cli, tmp_path: Path, fast_model) -> None:  # noqa: F811
    payloads = ["=1+1", "  =HYPERLINK(\"http://evil\")", "\n=cmd|' /C calc'!A0", "\t=x", "＝SUM(A1)", "＋1", "@SUM(1)",
                "-2+3", " \r\n @x", "\u3000=1", "plain text", "a = b"]  # fmt: skip
    lines = [
        json.dumps({"id": f"c{i}", "author": value, "text": value, "created_at": "2026-03-10T08:00:00Z"})
        for i, value in enumerate(payloads)
    ]
    (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli("import", "f.jsonl").code == 0
    result = cli("mentions", "export", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == len(payloads)
    for row in rows:
        for field in ("author", "text"):
            cell = row[field]
            first = cell.lstrip()[:1]
            if cell in ("plain text", "a = b"):
                continue
            assert cell.startswith("'"), (field, cell)
            assert unicodedata.normalize("NFKC", first) not in "=+-@" or cell.startswith("'")
