"""The rules every reply draft obeys, as checks that return readable problems.

Used on every draft the pipeline makes (a draft with problems is shown as
"needs review", not ready) and by `complaint-monitor replies lint` over the
whole template matrix.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from monitor.models import Classification, Mention, Urgency
from monitor.replies.personal_data import find_personal_data, has_personal_data, leaked_data
from monitor.replies.settings import ReplySettings

BUILTIN_BANNED = (
    # blaming, arguing, dismissing
    "your fault", "you should have", "you should've", "user error", "calm down", "as we already said",
    "as i said", "as per our last", "obviously", "clearly you", "read the faq", "not our fault",
    "not our problem", "nothing we can do", "deal with it", "whatever", "lol", "lmao", "haha",
    "kesalahan anda", "salah anda", "salah kakak", "kesalahan kakak", "bukan salah kami", "bukan urusan kami",
    "makanya", "seharusnya anda", "seharusnya kakak", "tenang saja", "sabar saja", "wkwk", "hehe",
)  # fmt: skip
"""Phrases no draft may contain, whatever the config says."""

INDONESIAN_SLANG = (
    "gak", "ga", "nggak", "ngga", "enggak", "kagak", "udah", "udh", "blm", "bgt", "banget", "min", "mimin",
    "gan", "sis", "bro", "sob", "aja", "doang", "dong", "sih", "deh", "kok", "yg", "tdk", "gk", "utk", "dgn",
    "lg", "gue", "gua", "gw", "lo", "lu", "bikin", "kayak", "gimana", "cuma", "nih", "tuh", "btw", "plis",
    "pls", "mantap", "santai",
)  # fmt: skip
"""Informal words an Indonesian draft never uses ("Kak" is the courteous address, not slang)."""


def _cues(table: dict[str, dict[str, str]]) -> dict[str, dict[str, re.Pattern[str]]]:
    return {key: {lang: re.compile(p, re.IGNORECASE) for lang, p in by_lang.items()} for key, by_lang in table.items()}


_STEP_CUES = _cues(
    {
        "acknowledge": {"en": r"\bsorry\b|\bapologi[sz]e", "id": r"\bmaaf\b"},
        "clarify": {"en": r"\bDM\b|direct message|private message", "id": r"\bDM\b|pesan langsung|pesan pribadi"},
        "resolve": {"en": r"\bwe'll\b|\bwe will\b|\bwill\b", "id": r"\bakan\b"},
        "incident": {"en": r"\bworking on\b", "id": r"\bsedang (?:memperbaiki|menangani|bekerja)"},
        "privacy": {"en": r"\bprivacy\b|\bsafe\b|\bpersonal\b", "id": r"keamanan data|data pribadi|kolom publik"},
    }
)
OFFER_CUES = _cues(
    {
        "refund": {"en": r"\brefund", "id": r"\brefund|pengembalian dana"},
        "replacement": {"en": r"\breplacement\b|\breplace\b", "id": r"\bpenggantian\b|\bpengganti\b"},
        "specialist": {"en": r"\bspecialist", "id": r"\bspesialis\b"},
    }
)
"""What each offer sounds like: a draft may only sound like the offers its category allows."""
_REGISTER = {"anda": re.compile(r"\bAnda\b"), "kak": re.compile(r"\bKak(?:ak)?\b")}
_MARKERS = {
    "en": {"the", "we", "we're", "we'll", "you", "your", "and", "to", "is", "that", "it", "our", "for", "with",
           "please", "sorry", "us", "this", "does", "could"},
    "id": {"kami", "dan", "yang", "untuk", "ini", "mohon", "maaf", "atas", "akan", "dengan", "di", "ke",
           "anda", "kakak", "melalui", "lewat", "sudah", "apakah", "kendala", "tim"},
}  # fmt: skip
_URL = re.compile(r"https?://\S+")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>|&(?:[a-z]+|#\d+);")
_WORD = re.compile(r"[A-Za-z']+")

# X counts these ranges as one character, everything else (CJK, emoji) as two, and every URL as 23.
_X_HEAVY = re.compile(r"[^\u0000-\u10FF\u2000-\u200D\u2010-\u201F\u2032-\u2037]")
_X_URL_LENGTH = 23
_EMOJI = re.compile(r"[\u2190-\u21FF\u2300-\u23FF\u2460-\u27BF\u2B00-\u2BFF\uFE0F\U0001F000-\U0001FAFF]")


def reply_length(text: str, platform: str) -> int:
    """Length as the platform counts it (X: weighted, URLs 23); code points elsewhere."""
    if platform.lower() != "x":
        return len(text)
    urls = _URL.findall(text)
    rest = _URL.sub("", text)
    return len(rest) + len(_X_HEAVY.findall(rest)) + _X_URL_LENGTH * len(urls)


def normalise_language(lang: str | None, default: str) -> str:
    """English or Indonesian ("in", "id-ID", "EN_us" included); anything else is the team's default."""
    code = re.split(r"[-_]", (lang or "").strip().lower())[0]
    code = {"in": "id", "ind": "id", "eng": "en"}.get(code, code)
    return code if code in ("en", "id") else default


def _has_emoji(text: str) -> bool:
    return _EMOJI.search(text) is not None


def _looks_like(text: str, lang: str) -> bool:
    words = [w.lower() for w in _WORD.findall(_URL.sub(" ", text))]
    own = sum(w in _MARKERS[lang] for w in words)
    other = sum(w in _MARKERS["id" if lang == "en" else "en"] for w in words)
    return own > other


@lru_cache(maxsize=64)
def _phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({" ".join(p.lower().split()) for p in phrases if p.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in cleaned) + r")(?!\w)")


def _found_phrases(text: str, phrases: Iterable[str]) -> list[str]:
    pattern = _phrases_pattern(tuple(phrases))
    if pattern is None:
        return []
    return sorted({m.group() for m in pattern.finditer(" ".join(text.lower().split()))})


def _content(text: str, signature: str) -> str:
    """The draft without the signature, so the check-back can be found at the end."""
    body = text.strip()
    sig = " ".join(signature.split())
    if sig and body.endswith(sig):
        body = body[: -len(sig)].rstrip()
    return body


def _ends_with_question(body: str) -> bool:
    return _EMOJI.sub("", body[-20:]).rstrip().endswith("?")


def lint_draft(
    text: str,
    mention: Mention,
    classification: Classification,
    settings: ReplySettings,
    *,
    incident: bool = False,
    lang: str | None = None,
    addressee: str = "",
    content_checks: Callable[[str, str, str, Urgency, bool, bool], list[str]] | None = None,
    shares_personal_data: bool | None = None,
) -> list[str]:
    """Every rule this draft breaks, as one readable line each (empty: ready to send).

    `addressee`: the @handle the draft starts with. It counts towards the length but is
    not read as content (a handle like @min_ayu is not slang, @maaf_ya not an apology).
    `content_checks`: a memoised `content_problems` (the drafter's), else it is computed.
    `shares_personal_data`: whether the mention has personal data, when the caller knows already.
    """
    lang = lang or normalise_language(classification.lang, settings.default_language)
    if not text.strip():
        return ["empty draft"]
    content = text[len(addressee) :].lstrip() if addressee and text.startswith(addressee) else text
    if shares_personal_data is None:
        shares_personal_data = has_personal_data(mention.text)
    check = content_checks or functools.partial(content_problems, settings=settings)
    problems = list(
        check(content, lang, classification.category, classification.urgency, incident, shares_personal_data)
    )
    limit = settings.limit_for(mention.platform)
    length = reply_length(text, mention.platform)
    if length > limit:
        problems.insert(
            sum(p in _FORM_PROBLEMS for p in problems),
            f"too long for {mention.platform}: {length} characters, limit {limit}",
        )
    if shares_personal_data:
        leaks = leaked_data(_scan(content, settings), mention.text)
        if leaks:
            kinds = sorted({d.kind for d in leaks})
            problems.append("repeats personal data from the mention: " + ", ".join(kinds))
            own = [d for d in find_personal_data(_URL.sub(" ", _scan(content, settings))) if d not in leaks]
            problems = [p for p in problems if not p.startswith(_OWN_DATA)]
            if own:
                problems.append(_OWN_DATA + ", ".join(sorted({d.kind for d in own})))
    return problems


_SYNTAX = "leftover template syntax"
_MARKUP_FOUND = "contains markup (HTML tag or entity)"
_FORM_PROBLEMS = (_SYNTAX, _MARKUP_FOUND)
_OWN_DATA = "contains personal data: "


def _scan(content: str, settings: ReplySettings) -> str:
    """The draft's own words: without the status link and the signature."""
    status_url = settings.status_page_url or ""
    scan = content.replace(status_url, " ") if status_url else content
    return scan.replace(" ".join(settings.signature.split()), " ") if settings.signature.strip() else scan


def content_problems(
    content: str,
    lang: str,
    category: str,
    urgency: Urgency,
    incident: bool,
    shares_personal_data: bool,
    *,
    settings: ReplySettings,
) -> list[str]:
    """The rules that depend on the draft's words alone (not on who it is addressed to or how long that is)."""
    problems: list[str] = []
    if _TEMPLATE_SYNTAX.search(content):
        problems.append(_SYNTAX)
    if _MARKUP.search(content):
        problems.append(_MARKUP_FOUND)
    if not _looks_like(content, lang):
        problems.append(f"not written in the expected language ({lang})")

    body = _content(content, settings.signature)
    if not _STEP_CUES["acknowledge"][lang].search(body):
        problems.append("step missing: acknowledgement with an apology")
    if not _STEP_CUES["clarify"][lang].search(body):
        problems.append("step missing: clarification asked privately (DM)")
    resolution = _STEP_CUES["incident" if incident else "resolve"][lang]
    if not resolution.search(body):
        problems.append("step missing: " + ("incident note (the team is working on it)" if incident else "resolution"))
    if not _ends_with_question(body):
        problems.append("step missing: check-back question at the end")

    own = find_personal_data(_URL.sub(" ", _scan(content, settings)))
    if own:
        problems.append(_OWN_DATA + ", ".join(sorted({d.kind for d in own})))
    if shares_personal_data and not _STEP_CUES["privacy"][lang].search(body):
        problems.append("the mention shares personal data but the draft does not ask to keep it private (DM)")

    strategy = settings.strategy_for(category)
    banned = _found_phrases(content, [*BUILTIN_BANNED, *settings.banned_phrases, *strategy.never_promise])
    if banned:
        problems.append("banned phrase: " + ", ".join(banned))
    for offer, cues in OFFER_CUES.items():
        if offer not in strategy.offers and cues[lang].search(content):
            problems.append(f"offers {offer}, which is not allowed for category {category}")
    status_url = settings.status_page_url or ""
    if incident and status_url and status_url not in content:
        problems.append("incident draft without the status page link")

    if lang == "id":
        problems.extend(_indonesian_register(content, settings))
    if urgency is Urgency.CRITICAL and _has_emoji(content):
        problems.append("emoji in a reply to a critical complaint")
    return problems


def _indonesian_register(text: str, settings: ReplySettings) -> list[str]:
    problems = []
    plain = _URL.sub(" ", text)
    if settings.signature.strip():
        plain = plain.replace(settings.signature.strip(), " ")
    words = set(re.findall(r"[a-z]+", plain.lower()))
    slang = sorted(words & set(INDONESIAN_SLANG))
    if slang:
        problems.append("slang in an Indonesian draft: " + ", ".join(slang))
    wanted = settings.address
    other = "kak" if wanted == "anda" else "anda"
    if not _REGISTER[wanted].search(text):
        problems.append(f"Indonesian draft does not address the customer as {'Anda' if wanted == 'anda' else 'Kak'}")
    if re.search(_REGISTER[other].pattern, text, re.IGNORECASE):
        problems.append(f"Indonesian draft mixes registers (config says {wanted!r})")
    return problems


def lint_steps(parts: Mapping[str, str], lang: str, *, incident: bool) -> list[str]:
    """Each rendered step carries its own cue (catches a template edit that drops one)."""
    problems = []
    for step in ("acknowledge", "clarify"):
        if not _STEP_CUES[step][lang].search(parts.get(step, "")):
            problems.append(f"step {step} lost its cue")
    if not _STEP_CUES["incident" if incident else "resolve"][lang].search(parts.get("resolve", "")):
        problems.append("step resolve lost its cue")
    if not _ends_with_question(parts.get("check_back", "")):
        problems.append("step check_back is not a question")
    return problems
