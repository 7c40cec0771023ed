"""Charts are inline SVG with every label escaped; the HTML digest carries them and loads nothing."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from monitor.charts import Bar, bar_list, column_chart, stacked_columns
from tests.inbox_support import SAMPLE

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_chart_labels_are_escaped() -> None:
    for svg in (
        bar_list([Bar(HOSTILE, 3), Bar("ok", 1)], HOSTILE),
        column_chart([Bar(HOSTILE, 2, highlight=True), Bar("b", 0)], HOSTILE, highlight_note=HOSTILE),
        stacked_columns(["h1", HOSTILE], {HOSTILE: [1, 2], "other": [0, 1]}, HOSTILE),
    ):
        soup = BeautifulSoup(str(svg), "html.parser")
        assert soup.find("script") is None and soup.find("img") is None
        assert HOSTILE in soup.get_text()


def test_empty_charts_render() -> None:
    assert "<svg" in bar_list([], "nothing")
    assert "<svg" in column_chart([], "nothing")
    assert "<svg" in stacked_columns([], {}, "nothing")


def test_html_digest_has_the_overview_charts_and_loads_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert cli("--db", db, "import", str(SAMPLE)).code == 0
    out = tmp_path / "digest.html"
    assert cli("--db", db, "digest", "--format", "html", "--out", str(out)).code == 0
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    charts = soup.select("#overview svg.chart")
    assert len(charts) == 4
    assert not soup.find_all(["script", "link", "img", "iframe"])
    assert not [t for t in soup.find_all(src=True)]
