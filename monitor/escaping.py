"""Making stored text inert in what is written out: terminals, Markdown and spreadsheets.

Mention text, authors, URLs, ids and languages come from strangers. HTML is escaped by Jinja's
autoescape; this module covers the other outputs:

- `plain`: control characters (C0, DEL, C1: ESC sequences that recolour or retitle a terminal, BEL) and
  bidirectional overrides (text that reads differently than it is) are removed; line breaks and tabs
  become spaces, so a value can never forge a line of its own.
- `markdown`: `plain`, then every character Markdown gives a meaning inside a line escaped, so no HTML,
  link, image or emphasis gets through (the digest never starts a line with a value, so list and heading
  markers need no escape); `markdown_url` makes a link target that cannot break out.
- `formula_cell`: whether a spreadsheet would run a CSV cell as a formula (after leading whitespace or
  line breaks, and in full-width form: `＝`).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r\u2028\u2029\x85]+")
_MARKDOWN_SPECIAL = "\\`*_{}[]()!|~"
"""Backslash-escaped anywhere (what CommonMark and Python-Markdown both take as escapes, plus table pipes and
strikethrough). `&`, `<` and `>` become entities instead: Python-Markdown does not unescape `\\<`, and a
backslash before `<` would leave the tag itself as raw HTML."""
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
FORMULA_START = "=+-@"


def plain(text: object) -> str:
    """`text` as one line of inert characters (no control characters, no bidi overrides, no line breaks)."""
    value = "" if text is None else str(text)
    if value.isprintable() and value.isascii():  # the usual case: nothing to do
        return value
    return _CONTROLS.sub("", _BREAKS.sub(" ", value))


class MarkdownText(str):
    """Text already made inert for Markdown (the renderer leaves it alone)."""


def markdown(text: object) -> MarkdownText:
    """`text` for a Markdown document: one inert line in which no character has a Markdown meaning."""
    if isinstance(text, MarkdownText):
        return text
    value = " ".join(plain(text).split())
    out = "".join(_ENTITIES.get(ch) or ("\\" + ch if ch in _MARKDOWN_SPECIAL else ch) for ch in value)
    return MarkdownText(out)


def markdown_url(url: str | None) -> str | None:
    """An http(s) URL as a Markdown link target that cannot end the link or open HTML: every character
    outside the plain URL set is percent-encoded (quotes, brackets, parentheses, spaces, backslashes)."""
    if not url:
        return None
    value = plain(url).strip()
    if not value.lower().startswith(("https://", "http://")):
        return None
    return quote(value, safe="/:?#@!$&*+,;=%~.-_")


def formula_cell(text: str) -> bool:
    """Whether a spreadsheet would treat this cell as a formula: its first character after any whitespace
    or line breaks is = + - @ (or their full-width forms), or the cell starts with a tab or carriage return."""
    if not text:
        return False
    if text[0] in "\t\r":
        return True
    stripped = text.lstrip()
    if not stripped:
        return False
    return unicodedata.normalize("NFKC", stripped[0])[:1] in FORMULA_START
