"""Turning the brand config into platform queries, and checking a post against it.

Search APIs already match the brand; feeds and hashtag timelines do not, so
their posts are checked locally with `mentions_brand`. `is_excluded` and
`language_allowed` apply everywhere, because not every platform can filter by
them server-side.
"""

from __future__ import annotations

import re
from functools import lru_cache

from connectors.base import BrandFilter

X_QUERY_LIMIT = 512
"""Characters a recent-search query may have on the basic X API tiers."""

X_LANGUAGE_CODES = {"id": "in", "he": "iw"}
"""X still uses the old ISO 639 codes for Indonesian and Hebrew."""


def quoted(term: str) -> str:
    """The term, in double quotes when it has spaces (a phrase for Lucene-style and X search)."""
    term = term.replace('"', "")
    return f'"{term}"' if re.search(r"\s", term) else term


def search_terms(brand: BrandFilter) -> list[str]:
    """Names, #hashtags and @handles, without duplicates, in config order."""
    terms: list[str] = []
    for name in brand.names:
        terms.append(name.strip())
    for tag in brand.hashtags:
        terms.append("#" + tag.strip().lstrip("#"))
    for handle in brand.handles:
        terms.append("@" + handle.strip().lstrip("@"))
    seen: set[str] = set()
    unique = []
    for term in terms:
        if term and term.lower() not in seen:
            seen.add(term.lower())
            unique.append(term)
    return unique


def x_query(brand: BrandFilter, extra: str = "") -> str:
    """An X API v2 search query: the brand's terms, no retweets, not from its own accounts,
    without excluded words, in the brand's languages.

    (PayKita OR #PayKita OR @PayKitaCare) -is:retweet -from:PayKitaCare -"pay kita bar" (lang:id OR lang:en)
    """
    terms = [quoted(t) for t in search_terms(brand)]
    if not terms:
        raise ValueError("the brand has no names, hashtags or handles to search for")
    parts = ["(" + " OR ".join(terms) + ")" if len(terms) > 1 else terms[0], "-is:retweet"]
    parts += [f"-from:{h.strip().lstrip('@')}" for h in brand.handles if h.strip()]
    parts += [f"-{quoted(word)}" for word in brand.exclude if word.strip()]
    langs = [
        f"lang:{X_LANGUAGE_CODES.get(lang.strip().lower(), lang.strip())}" for lang in brand.languages if lang.strip()
    ]
    if langs:
        parts.append("(" + " OR ".join(langs) + ")" if len(langs) > 1 else langs[0])
    if extra.strip():
        parts.append(extra.strip())
    return " ".join(parts)


def or_query(brand: BrandFilter) -> str:
    """Terms (without # and @) joined by OR, quoted when needed, for engines with boolean syntax (Reddit)."""
    words: list[str] = []
    for term in search_terms(brand):
        word = term.lstrip("#@")
        if word and word.lower() not in {w.lower() for w in words}:
            words.append(word)
    if not words:
        raise ValueError("the brand has no names, hashtags or handles to search for")
    return " OR ".join(f'"{w}"' if re.search(r"\W", w) else w for w in words)


@lru_cache(maxsize=64)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = [t.strip().lstrip("#@") for t in terms if t.strip().lstrip("#@")]
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(cleaned, key=len, reverse=True))
    # Word boundaries that also work next to # and @, and inside "PayKita's".
    return re.compile(rf"(?<![\w]){'(?:' + alternatives + ')'}(?![\w])", re.IGNORECASE)


def mentions_brand(text: str, brand: BrandFilter) -> bool:
    pattern = _pattern(tuple(brand.names) + tuple(brand.hashtags) + tuple(brand.handles))
    return bool(pattern and pattern.search(text))


def is_excluded(text: str, brand: BrandFilter) -> bool:
    pattern = _pattern(tuple(brand.exclude))
    return bool(pattern and pattern.search(text))


def language_allowed(lang: str | None, brand: BrandFilter) -> bool:
    """True when the brand takes every language, the post has none, or its language is listed."""
    if not brand.languages or not lang:
        return True
    primary = lang.lower().split("-")[0].split("_")[0]
    return primary in {code.lower() for code in brand.languages}
