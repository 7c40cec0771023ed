"""Brand config → queries and local matching, shared by every live connector."""

from __future__ import annotations

import pytest

from connectors.base import BrandFilter
from connectors.brand_query import is_excluded, language_allowed, mentions_brand, or_query, x_query
from connectors.http import html_to_text, parse_time

BRAND = BrandFilter(
    names=("PayKita", "Pay Kita"),
    handles=("@PayKitaCare",),
    hashtags=("#PayKita",),
    exclude=("lowongan", "pay kitab"),
    languages=("id", "en"),
)


def test_x_query_quotes_phrases_and_excludes_own_accounts() -> None:
    assert x_query(BRAND, "-is:reply") == (
        '(PayKita OR "Pay Kita" OR #PayKita OR @PayKitaCare) -is:retweet -from:PayKitaCare '
        '-lowongan -"pay kitab" (lang:in OR lang:en) -is:reply'
    )


def test_or_query_for_reddit() -> None:
    assert or_query(BRAND) == 'PayKita OR "Pay Kita" OR PayKitaCare'


def test_a_brand_with_nothing_to_search_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing|no names"):
        x_query(BrandFilter())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("saldo #paykita kepotong", True),
        ("PayKita's app is down", True),
        ("@PayKitaCare tolong min", True),
        ("pay kita error lagi", True),
        ("PayKitaCareer fair", False),
        ("mypaykita", False),
    ],
)
def test_mentions_brand_matches_whole_words_any_case(text: str, expected: bool) -> None:
    assert mentions_brand(text, BRAND) is expected


def test_excluded_words() -> None:
    assert is_excluded("Info LOWONGAN PayKita", BRAND)
    assert not is_excluded("PayKita error", BRAND)


@pytest.mark.parametrize(("lang", "allowed"), [("id", True), ("en-US", True), ("ja", False), (None, True)])
def test_language_filter(lang: str | None, allowed: bool) -> None:
    assert language_allowed(lang, BRAND) is allowed


def test_html_to_text_keeps_paragraphs_and_decodes_entities() -> None:
    html = "<p>Saldo &amp; poin <b>hilang</b><br/>tolong</p><p>cek ya</p><script>x()</script>"
    assert html_to_text(html) == "Saldo & poin hilang\ntolong\ncek ya"


def test_parse_time_accepts_the_platform_formats() -> None:
    expected = "2026-11-23T09:15:02+00:00"
    assert parse_time("2026-11-23T09:15:02.000Z").isoformat() == expected
    assert parse_time("2026-11-23T16:15:02+07:00").isoformat() == expected
    assert parse_time(1795425302).isoformat() == expected
    assert parse_time("2026-11-23T09:15:02.123456789Z").microsecond == 123456
    with pytest.raises(ValueError):
        parse_time("yesterday")
