"""Finding personal data in a post: what a public reply must never repeat.

Deliberately greedy: a false alarm only moves a conversation to DM, a miss
publishes someone's phone number. Covers e-mail addresses, phone numbers
(Indonesian 08xx / +62 / 62 and international +CC), card numbers, the
16-digit Indonesian NIK, and order / transaction / account / tracking
references (labelled like "order #A1B2C3", "TRX-2026-88812", "resi JP123…",
or any long run of digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w.])@[A-Za-z0-9_.@-]+")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+?62|0)[\s.-]?8\d{1,3}(?:[\s.-]?\d{2,5}){2,4}"  # Indonesian mobile: 0812-3456-7890, +62 812 3456 7890
    r"|\(?0\d{1,3}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,5}"  # Indonesian landline: (021) 555-1234
    r"|\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,5}){2,4}"  # international: +1 (415) 555-0100
    r"|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}"  # North American: 415-555-0100
    r")(?!\w)"
)
# 13-19 digits, optionally in groups (cards), and any other long digit run.
_DIGIT_RUN = re.compile(r"(?<![\w])\d(?:[\s.-]?\d){5,}(?!\w)")
_REFERENCE_LABEL = (
    r"order|orders|pesanan|no\.?\s*pesanan|invoice|inv|trx|transaksi|transaction|txn|ref|reference|booking|"
    r"resi|awb|tracking|akun|account|acct|rekening|rek|no\.?\s*rek|va|virtual\s+account|customer\s+id|"
    r"id\s*pelanggan|nomor|no|kartu|card|nik|ktp|ticket|tiket|case|kasus|pnr"
)
_LABELLED_REFERENCE = re.compile(
    rf"\b(?:{_REFERENCE_LABEL})\b\.?\s*(?:number|no\.?|nomor|id)?\s*[:#]?\s*(?P<ref>[A-Za-z0-9][A-Za-z0-9/_-]{{3,}})",
    re.IGNORECASE,
)
# Unlabelled codes that mix letters and digits: TRX-2026-88812, INV/2026/03/0042, JP1234567890.
_CODE = re.compile(r"(?<![\w/])[A-Za-z0-9][A-Za-z0-9/_-]{5,}(?![\w/])")
_HAS_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"\d(?:[\s.-]?\d)*")

_DATE_OR_YEARS = re.compile(
    r"(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"  # 2026-03-10
    r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}"  # 10-03-2026
    r"|(?:19|20)\d{2}\s?-\s?(?:19|20)\d{2}"  # 2020-2024
)
_YEAR = re.compile(r"(?:19|20)\d{2}")
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_NOT_A_REFERENCE = {"number", "nomor", "nya", "saya", "kami", "anda", "yang", "sudah", "belum", "the", "your", "my"}


@dataclass(frozen=True, slots=True)
class PersonalDatum:
    kind: str
    value: str

    @property
    def digits(self) -> str:
        return re.sub(r"\D", "", self.value)


def _blank(match: re.Match[str]) -> str:
    # Same length, so offsets stay those of the original text.
    return " " * len(match.group())


def find_personal_data(text: str) -> list[PersonalDatum]:
    """Every piece of personal data in `text`, in order of appearance (URLs and @handles are not scanned)."""
    return list(_find_cached(text))


@lru_cache(maxsize=1024)
def _find_cached(text: str) -> tuple[PersonalDatum, ...]:
    scrubbed = _HANDLE.sub(_blank, _URL.sub(_blank, text))
    if "@" not in scrubbed and not _HAS_DIGIT.search(scrubbed):
        return ()  # every kind of personal data has a digit or an @
    found: list[tuple[int, PersonalDatum]] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, match: re.Match[str], group: int | str = 0) -> None:
        start, end = match.span(group)
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            return
        taken.append((start, end))
        found.append((start, PersonalDatum(kind, match.group(group))))

    for match in _EMAIL.finditer(scrubbed):
        add("email", match)
    for match in _PHONE.finditer(scrubbed):
        if len(re.sub(r"\D", "", match.group())) >= 8:
            add("phone", match)
    digit_runs = list(_DIGIT_RUN.finditer(scrubbed))
    for match in digit_runs:
        digits = re.sub(r"\D", "", match.group())
        if len(digits) == 16 and match.group().isdigit():
            add("nik_or_card", match)
        elif 13 <= len(digits) <= 19:
            add("card", match)
    for match in _CODE.finditer(scrubbed):
        code = match.group()
        if sum(ch.isdigit() for ch in code) >= 3 and any(ch.isalpha() for ch in code):
            add("reference", match)
    for match in _LABELLED_REFERENCE.finditer(scrubbed):
        ref = match.group("ref")
        if ref.lower() not in _NOT_A_REFERENCE and any(ch.isdigit() for ch in ref) and not _YEAR.fullmatch(ref):
            add("reference", match, "ref")
    for match in digit_runs:
        if not _looks_like_amount(scrubbed, match) and not _DATE_OR_YEARS.fullmatch(match.group()):
            add("number", match)
    return tuple(datum for _, datum in sorted(found, key=lambda pair: pair[0]))


def _looks_like_amount(text: str, match: re.Match[str]) -> bool:
    """Money, not an identifier: "Rp 150.000", "$1,500,000", "250000" (round, ≤ 9 digits)."""
    before = text[max(0, match.start() - 5) : match.start()].lower()
    if re.search(r"(rp\.?|idr|usd|\$)\s*$", before):
        return True
    if _THOUSANDS.fullmatch(match.group()):
        return True
    digits = re.sub(r"\D", "", match.group())
    return len(digits) <= 9 and digits.endswith("000")


def has_personal_data(text: str) -> bool:
    return bool(find_personal_data(text))


def leaked_data(draft: str, source: str) -> list[PersonalDatum]:
    """Personal data from `source` that reappears in `draft` (numbers compared without separators)."""
    secrets = find_personal_data(source)
    if not secrets:
        return []
    draft_lower = draft.lower()
    visible = _HANDLE.sub(" ", _URL.sub(" ", draft))
    numbers = [re.sub(r"\D", "", run) for run in _NUMBER.findall(visible)]
    leaks = []
    for datum in secrets:
        digits = datum.digits
        if datum.value.lower() in draft_lower or (len(digits) >= 6 and any(digits in n for n in numbers)):
            leaks.append(datum)
    return leaks
