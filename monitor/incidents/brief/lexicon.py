"""The brief's word lists (data/*.yaml plus config), compiled once into lookup tables.

Matching is by tokens, not one regex per term: a mention is lower-cased and split into words once,
and each word is looked up in a dict of the phrases that start with it. That keeps a brief of
thousands of reports fast whatever the size of the gazetteer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from monitor.incidents.brief.settings import BriefSettings
from monitor.yaml_text import load_yaml

NEGATORS = frozenset("gak ga gk g nggak ngga nggk enggak engga tidak tdk tak ndak kagak belum blm blom not".split())
_VERSION_WORDS = (
    "versi version ver update updated upgrade diupdate rilis release ke to on pakai pake app aplikasi build"
)
VERSION_WORDS = tuple(_VERSION_WORDS.split())
"""Words after which a number like 5.2 is an app version (the brand's names too)."""
_TOKEN = re.compile(r"[^\W_]+")
_NT = re.compile(r"n['’]t\b")


def tokens(text: str) -> list[str]:
    """Lower-cased words with slang folded: negations -> 'not', 'masuk2' -> 'masuk', 'aplikasinya' -> 'aplikasi'."""
    low = text.lower().replace("can't", "can not").replace("can’t", "can not").replace("cannot", "can not")
    low = _NT.sub(" not", low)
    folded = _FOLDED
    out = []
    for tok in _TOKEN.findall(low):
        norm = folded.get(tok)
        if norm is None:
            norm = _fold(tok)
            if len(folded) < _FOLDED_MAX:
                folded[tok] = norm
        out.append(norm)
    return out


def _fold(tok: str) -> str:
    if len(tok) > 2 and tok[-1] == "2" and tok[-2].isalpha():
        tok = tok[:-1]
    if len(tok) > 5 and tok.endswith("nya"):
        tok = tok[:-3]
    return "not" if tok in NEGATORS else tok


_FOLDED: dict[str, str] = {}
"""Each word's folded form, remembered (words repeat endlessly across reports)."""
_FOLDED_MAX = 200_000


@dataclass(frozen=True, slots=True)
class Subject:
    key: str
    en: str
    id: str
    weight: float
    implies: str | None


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    en: str
    id: str


@dataclass
class Lexicon:
    phrases: dict[str, list[tuple[tuple[str, ...], str, str]]] = field(default_factory=dict)
    """first word -> (phrase words, kind, value), longest phrases first."""
    case_sensitive: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Names matched only as written ("DANA", "Solo") -> (kind, value)."""
    case_sensitive_pattern: re.Pattern[str] | None = None
    case_sensitive_words: frozenset[str] = frozenset()
    """Their lower-cased words: the pattern runs only on a report that has one."""
    parents: dict[str, str] = field(default_factory=dict)
    """place -> the area it lies in."""
    subjects: dict[str, Subject] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)
    merchant_subjects: frozenset[str] = frozenset()
    step_subjects: frozenset[str] = frozenset()
    subject_problem: dict[str, str] = field(default_factory=dict)
    categories: dict[str, dict[str, str]] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)
    makers: dict[str, str] = field(default_factory=dict)
    version_words: frozenset[str] = frozenset()

    def depth(self, place: str) -> int:
        """How far down the gazetteer a place is (an area 0, its city 1, a district 2)."""
        depth, seen = 0, {place}
        while (place := self.parents.get(place, "")) and place not in seen:
            seen.add(place)
            depth += 1
        return depth

    def add(self, phrase: str, kind: str, value: str) -> None:
        words = tuple(tokens(phrase))
        if not words:
            return
        bucket = self.phrases.setdefault(words[0], [])
        entry = (words, kind, value)
        if entry not in bucket:
            bucket.append(entry)
            bucket.sort(key=lambda e: -len(e[0]))


def _data(name: str) -> dict[str, Any]:
    text = resources.files("monitor.incidents.brief.data").joinpath(name).read_text(encoding="utf-8")
    return load_yaml(text) or {}


@lru_cache(maxsize=8)
def _bundled() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return _data("terms.yaml"), _data("places.yaml"), _data("devices.yaml")


def _same_name(a: str, b: str) -> bool:
    return "".join(a.lower().split()) == "".join(b.lower().split())


def build_lexicon(settings: BriefSettings, brand: str = "", brand_names: tuple[str, ...] = ()) -> Lexicon:
    return _build(settings.model_dump_json(), brand, brand_names)


@lru_cache(maxsize=16)
def _build(settings_json: str, brand: str, brand_names: tuple[str, ...]) -> Lexicon:
    settings = BriefSettings.model_validate_json(settings_json)
    terms, places, devices = _bundled()
    lex = Lexicon()
    for kind in ("steps", "channels", "payment_methods", "merchant_types"):
        for value, words in terms[kind].items():
            for word in words:
                lex.add(str(word), kind.rstrip("s") if kind != "payment_methods" else "payment_method", value)
    for value, words in (terms.get("payment_methods_case_sensitive") or {}).items():
        for word in words:
            lex.case_sensitive[word] = ("payment_method", value)
    merchants = [*terms["merchants"], *settings.merchants]
    own = [brand, *brand_names]
    merchants += [n for n in brand_names if brand and not _same_name(n, brand) and n.lstrip("@#")]
    for name in merchants:
        if any(_same_name(name, o) for o in own[:1]):
            continue
        lex.add(name, "merchant", name)
    for name in devices.get("carriers", []):
        lex.add(name, "carrier", name)
    lex.families = {w: fam for fam, words in devices["families"].items() for w in words}
    lex.makers = dict(devices["makers"])

    strict = set(places.get("case_sensitive") or [])

    def add_place(name: str, canonical: str) -> None:
        if name in strict:
            lex.case_sensitive[name] = ("place", canonical)
        else:
            lex.add(name, "place", canonical)

    for city, spec in (places.get("cities") or {}).items():
        spec = spec or {}
        add_place(city, city)
        if spec.get("in"):
            lex.parents[city] = spec["in"]
        for alias in spec.get("aliases") or []:
            add_place(alias, city)
        for district in spec.get("districts") or []:
            add_place(district, district)
            lex.parents.setdefault(district, city)
    for name, parent in settings.places.items():
        lex.add(name, "place", name)
        if parent:
            lex.parents[name] = parent

    for key, spec in terms["subjects"].items():
        lex.subjects[key] = Subject(key, spec["en"], spec["id"], float(spec.get("weight", 1)), spec.get("implies"))
        for word in spec["words"]:
            lex.add(str(word), "subject", key)
    for key, spec in terms["problems"].items():
        lex.problems[key] = Problem(key, spec["en"], spec["id"])
        for word in spec["words"]:
            lex.add(str(word), "problem", key)
    if lex.case_sensitive:
        names = "|".join(re.escape(n) for n in sorted(lex.case_sensitive, key=len, reverse=True))
        lex.case_sensitive_pattern = re.compile(rf"(?<!\w)(?:{names})(?!\w)")
        lex.case_sensitive_words = frozenset(w for n in lex.case_sensitive for w in tokens(n))
    lex.merchant_subjects = frozenset(terms.get("merchant_subjects") or [])
    lex.step_subjects = frozenset(terms.get("step_subjects") or [])
    lex.subject_problem = dict(terms.get("subject_problem_preference") or {})
    lex.categories = dict(terms.get("categories") or {})
    lex.version_words = frozenset(
        " ".join(w.lower().split()) for w in [*VERSION_WORDS, *settings.version_words, *own] if w and w.strip("@#")
    )
    return lex
