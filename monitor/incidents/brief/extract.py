"""Facts one report states: versions, OS and devices, places, merchants, amounts, payment methods,
channels, the step that failed, and on-screen messages it quotes. Rules and word lists only."""

from __future__ import annotations

import re

from monitor.incidents.brief.lexicon import Lexicon, tokens
from monitor.replies.personal_data import find_personal_data

Fact = tuple[str, str]
"""(kind, value), e.g. ("version", "5.2"), ("place", "Jakarta Selatan")."""

_UNITS_AFTER_NUMBER = re.compile(
    r"\s*(?:jam|hours?|hrs?|juta|jt|rb|ribu|k\b|%|menit|mins?|minutes?|x\b|wib|wita|wit|am\b|pm\b|gb|mb|kg|km)"
)
_VERSION_NUMBER = re.compile(r"(?<![\w.,])v?(\d{1,2}\.\d{1,2}(?:\.\d{1,3})?)(?![\w.,]*\d)")
_DEVICE_HINT = re.compile(
    r"\b(?:ios|ipados|android|harmonyos|windows|macos|mac os|iphone|ipad|samsung|galaxy|xiaomi|redmi|poco|oppo|vivo"
    r"|realme|infinix|tecno|huawei|pixel|asus)\b"
)
_MODEL = re.compile(
    r"\s?((?:note\s|galaxy\s)?[a-z]{0,2}\d{1,3}[a-z]?(?:\s(?:pro max|pro|plus|ultra|mini|max|lite))?)\b"
)
_OS_VERSION = re.compile(r"\s?(\d{1,2}(?:\.\d{1,2})?)\b")
_MAKER_NAMES = {"iphone": "iPhone", "ipad": "iPad", "poco": "POCO", "oppo": "OPPO", "asus": "ASUS"}
_AMOUNT = re.compile(
    r"\b(?:rp\.?|idr)\s?(\d+(?:[.,]\d+)*)(?:\s?(rb|ribu|k|jt|juta)\b)?"  # Rp 245,000 / Rp 62k / IDR 12 juta
    r"|(?<![\w.,])(\d+(?:[.,]\d+)?)\s?(rb|ribu|k|jt|juta)\b"  # 38rb / 2jt / 1,5 juta
)
_VERSION_HINT = re.compile(r"\d\.\d")
_DOLLAR = re.compile(r"(?:\$|\busd\s?|\bus\$\s?)(\d+(?:[.,]\d+)*)(k\b)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_MULTIPLIER = {"rb": 1_000, "ribu": 1_000, "k": 1_000, "jt": 1_000_000, "juta": 1_000_000}
_QUOTED = re.compile(r"(?<![\w])['‘\"“«]([^'‘’\"“”«»\n]{2,80})['’\"”»](?![\w])")
_ERROR_CODE = re.compile(
    r"(?<![\w-])(?:[A-Z]{1,3}-\d{3,4}|(?i:error|err|kode error|error code)\s?#?\s?\d{3,4})(?![\w-])"
)
_DIGIT = re.compile(r"\d")
_QUOTE_CHAR = re.compile("['\"‘’“”«»]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_UPDATE_WORDS = ("update", "updated", "upgrade", "diupdate", "pembaruan", "ngupdate", "updating")


def clean(text: str) -> str:
    """One line, without zero-width and direction-changing characters."""
    return " ".join(_INVISIBLE.sub("", text).split())


def mask_personal_data(text: str) -> str:
    """The text with every phone number, e-mail, card, NIK and order/transaction reference replaced."""
    for datum in sorted(find_personal_data(text), key=lambda d: -len(d.value)):
        text = text.replace(datum.value, f"[{datum.kind.replace('_', ' ')} hidden]")
    return text


def _rupiah(number: str, unit: str | None) -> int | None:
    if _THOUSANDS.fullmatch(number) and not unit:
        value = float(re.sub(r"\D", "", number))
    else:
        cleaned = number.replace(",", ".")
        if cleaned.count(".") > 1:
            cleaned = cleaned.replace(".", "")
        try:
            value = float(cleaned)
        except ValueError:
            return None
        if _THOUSANDS.fullmatch(number) and unit:
            value = float(re.sub(r"\D", "", number))
    return round(value * _MULTIPLIER.get(unit or "", 1))


def format_rupiah(value: int) -> str:
    return "Rp " + f"{value:,}".replace(",", ".")


def _amounts(low: str) -> list[Fact]:
    found: list[Fact] = []
    for match in _AMOUNT.finditer(low):
        if match.group(1) is not None:
            value = _rupiah(match.group(1), match.group(2))
        else:
            value = _rupiah(match.group(3), match.group(4))
        if value and value >= 1_000:
            found.append(("amount", format_rupiah(value)))
    if "$" in low or "usd" in low:
        for match in _DOLLAR.finditer(low):
            dollars = _rupiah(match.group(1), "k" if match.group(2) else None)
            if dollars:
                found.append(("amount", f"USD {dollars:,}"))
    return found


def _devices(low: str, lex: Lexicon) -> tuple[list[Fact], str]:
    """OS families, OS versions and models; returns the text with them blanked (so 'iOS 17.4' is no app version)."""
    found: list[Fact] = []
    blanked = low
    for match in _DEVICE_HINT.finditer(low):
        word = match.group()
        end = match.end()
        if word in lex.families:
            family = lex.families[word]
            found.append(("os_device", family))
            version = _OS_VERSION.match(low, end)
            if version:
                found.append(("os_device", f"{family} {version.group(1)}"))
                end = version.end()
        elif word in lex.makers:
            family = lex.makers[word]
            found.append(("os_device", family))
            name = _MAKER_NAMES.get(word, word.capitalize())
            model = _MODEL.match(low, end)
            if model:
                found.append(("os_device", f"{name} {model.group(1).title().replace('Pro Max', 'Pro Max')}"))
                end = model.end()
            else:
                found.append(("os_device", name))
        blanked = blanked[: match.start()] + " " * (end - match.start()) + blanked[end:]
    return found, blanked


def _versions(low: str, lex: Lexicon) -> list[Fact]:
    """x.y after a version word ("versi 5.2", "update ke 5.2", "PayKita 5.2", "v5.2"), and any bare x.y.z."""
    found: list[Fact] = []
    for match in _VERSION_NUMBER.finditer(low):
        version = match.group(1)
        if _UNITS_AFTER_NUMBER.match(low, match.end()):
            continue
        if version.count(".") < 2 and not match.group().startswith("v"):
            tail = [w.strip(",;:()[]'\"") for w in low[max(0, match.start() - 30) : match.start()].split()[-2:]]
            if not tail or (tail[-1] not in lex.version_words and " ".join(tail) not in lex.version_words):
                continue
        found.append(("version", version))
    return found


def _messages(text: str) -> list[Fact]:
    found: list[Fact] = []
    for match in _QUOTED.finditer(text):
        value = match.group(1).strip(" .,!?;:")
        if len(value) >= 2 and any(ch.isalpha() for ch in value) and len(value.split()) <= 12 and "://" not in value:
            found.append(("message", mask_personal_data(value)))
    for match in _ERROR_CODE.finditer(text):
        found.append(("error_code", match.group().upper()))
    return found


def _phrases(words: list[str], lex: Lexicon) -> list[Fact]:
    found: list[Fact] = []
    place_until = -1
    for i, word in enumerate(words):
        entries = lex.phrases.get(word)
        if not entries:
            continue
        for phrase, kind, value in entries:
            n = len(phrase)
            if n > 1 and tuple(words[i : i + n]) != phrase:
                continue
            if kind == "place":
                if i < place_until:
                    continue  # inside a longer place name ("Kebayoran Baru", not also "Baru")
                place_until = i + n
            found.append((kind, value))
    return found


def extract(text: str, lex: Lexicon) -> frozenset[Fact]:
    """Every fact one report states (each once). Places bring their city and area along."""
    text = _INVISIBLE.sub("", text)
    low = text.lower()
    words = tokens(text)
    found = _phrases(words, lex)
    if lex.case_sensitive_pattern is not None and not lex.case_sensitive_words.isdisjoint(words):
        found += [lex.case_sensitive[m.group()] for m in lex.case_sensitive_pattern.finditer(text)]
    if _DIGIT.search(low):
        devices, blanked = _devices(low, lex) if _DEVICE_HINT.search(low) else ([], low)
        found += devices
        if _VERSION_HINT.search(blanked):
            found += _versions(blanked, lex)
        found += _amounts(low)
    elif _DEVICE_HINT.search(low):
        found += _devices(low, lex)[0]
    if _QUOTE_CHAR.search(text):
        found += _messages(text)
    places = [value for kind, value in found if kind == "place"]
    for place in places:
        parent = lex.parents.get(place)
        seen = {place}
        while parent and parent not in seen:
            found.append(("place", parent))
            seen.add(parent)
            parent = lex.parents.get(parent)
    return frozenset(found)


def mentions_update(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in _UPDATE_WORDS)
