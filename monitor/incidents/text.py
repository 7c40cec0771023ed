"""Turning a short, noisy EN/ID complaint into comparable features.

Texts are lower-cased, stripped of links and @handles, and each word is mapped
through a small bilingual synonym table ("gak"/"not", "dateng"/"masuk"/"arrive",
"kepotong"/"deducted"…) so that "OTP gak masuk" and "not receiving the OTP
code" share most of their features. Weights are integers so that sums over a
group are exact whatever order the reports arrive in (incident ids and
memberships must not depend on batch order).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

SCALE = 1000
"""Feature weights are integers: 1.0 == SCALE."""

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "not": (
        "gak",
        "ga",
        "gk",
        "gag",
        "nggak",
        "ngga",
        "ngak",
        "nga",
        "enggak",
        "engga",
        "tidak",
        "tdk",
        "tak",
        "kagak",
        "kaga",
        "no",
        "not",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "havent",
        "hasnt",
        "never",
        "belum",
        "blm",
        "blom",
        "belom",
        "nope",
        "without",
        "tanpa",
        "teu",
        "henteu",
    ),
    "cannot": (
        "gabisa",
        "gbs",
        "gbisa",
        "gakbisa",
        "nggakbisa",
        "cant",
        "cannot",
        "unable",
        "couldnt",
        "tdkbisa",
        "gabs",
    ),
    "arrive": (
        "masuk",
        "dateng",
        "datang",
        "nyampe",
        "nyampai",
        "sampai",
        "sampe",
        "terima",
        "diterima",
        "nerima",
        "menerima",
        "receive",
        "received",
        "receiving",
        "arrive",
        "arrived",
        "arriving",
        "arrives",
        "dapat",
        "dapet",
        "didapat",
        "muncul",
        "delivered",
        "kekirim",
        "terkirim",
    ),
    "deducted": (
        "kepotong",
        "terpotong",
        "dipotong",
        "potong",
        "kedebet",
        "terdebet",
        "didebet",
        "debited",
        "deducted",
        "deduct",
        "charged",
        "charge",
        "charges",
        "ketarik",
        "tertarik",
        "kesedot",
    ),
    "balance": ("saldo", "balance", "balances"),
    "money": ("uang", "duit", "money", "dana", "funds", "fund"),
    "refund": (
        "refund",
        "refunds",
        "refunded",
        "pengembalian",
        "balikin",
        "dibalikin",
        "dikembalikan",
        "kembalikan",
        "reimburse",
        "reimbursement",
    ),
    "late": ("telat", "terlambat", "lambat", "delay", "delayed", "delays", "late", "lama", "long", "overdue"),
    "slow": ("lemot", "lelet", "slow", "lag", "ngelag", "lagging", "loading", "lola"),
    "fail": ("error", "eror", "err", "errors", "gagal", "failed", "fail", "fails", "failing", "failure", "galat"),
    "login": ("login", "log", "signin", "logon", "logged", "logging"),
    "code": ("kode", "code", "codes", "kodenya"),
    "otp": ("otp", "otpnya", "2fa", "sms"),
    "app": ("aplikasi", "apk", "app", "apps", "application", "aplikasinya", "appnya"),
    "transfer": (
        "transfer",
        "tf",
        "trf",
        "transferan",
        "ditransfer",
        "kirim",
        "ngirim",
        "mengirim",
        "send",
        "sent",
        "sending",
    ),
    "pay": (
        "bayar",
        "pembayaran",
        "payment",
        "payments",
        "pay",
        "paid",
        "dibayar",
        "membayar",
        "checkout",
        "transaksi",
        "transaction",
        "transactions",
    ),
    "order": ("pesanan", "order", "orders", "orderan", "pesan", "ordered"),
    "package": ("paket", "package", "parcel", "kiriman", "paketnya", "shipment", "delivery", "pengiriman"),
    "network": ("sinyal", "signal", "jaringan", "network", "koneksi", "connection", "wifi", "connect"),
    "internet": ("inet", "internet", "kuota", "quota", "data"),
    "down": ("down", "mati", "tumbang", "outage", "offline", "gangguan", "maintenance", "disruption", "padam"),
    "water": ("air", "cai", "water", "ledeng"),
    "flow": ("mengalir", "ngalir", "ngocor", "ngucur", "kocor", "flow", "flowing", "running"),
    "power": ("listrik", "electricity", "power", "pln"),
    "light": ("lampu", "light", "lights", "pju"),
    "account": ("akun", "account", "accounts", "akunnya"),
    "blocked": (
        "blokir",
        "diblokir",
        "terblokir",
        "blocked",
        "suspended",
        "suspend",
        "locked",
        "terkunci",
        "dikunci",
        "banned",
    ),
    "missing": ("hilang", "ilang", "lost", "missing", "gone", "lenyap", "raib"),
    "verify": ("verifikasi", "verify", "verification", "verified", "validasi"),
    "password": ("password", "sandi", "pin", "passcode"),
    "topup": ("topup", "isi", "isiulang", "reload", "recharge"),
    "cancel": (
        "batal",
        "dibatalkan",
        "dibatalin",
        "cancel",
        "cancelled",
        "canceled",
        "cancellation",
        "cancelation",
        "cancelling",
        "canceling",
        "cancels",
        # how people shorten it in a tweet
        "cxl",
        "cxld",
        "cxled",
        "canx",
        "canxed",
        "cncl",
        "cncld",
        "cncled",
        "cancld",
    ),
    "flight": ("penerbangan", "flight", "flights", "flt", "flts", "pesawat", "plane"),
    "luggage": ("bagasi", "koper", "baggage", "luggage", "bag", "bags", "suitcase"),
    "wait": ("nunggu", "menunggu", "tunggu", "waiting", "wait", "waited", "hold"),
    "crash": (
        "crash",
        "crashes",
        "crashed",
        "crashing",
        "fc",
        "forceclose",
        "keluar",
        "hang",
        "freeze",
        "frozen",
        "stuck",
        "nyangkut",
        "macet",
    ),
    "pending": ("pending", "tertahan", "ketahan", "diproses", "proses", "processing"),
    "hour": ("jam", "hour", "hours", "hrs", "hr", "menit", "minute", "minutes", "mins"),
    "week": ("minggu", "seminggu", "week", "weeks", "bulan", "sebulan", "month", "months"),
    "day": ("hari", "day", "days"),
    "broken": ("rusak", "broken", "damaged", "cacat", "defect", "defective", "pecah"),
    "service": ("layanan", "pelayanan", "service", "cs", "agent", "support", "customer"),
    "call": ("telepon", "telpon", "call", "calls", "calling", "called", "phone", "nelpon"),
    "update": ("update", "updated", "versi", "version", "upgrade"),
    "response": ("respon", "respons", "response", "reply", "balas", "dibalas", "dibales", "bales", "answer"),
}

CANONICAL: dict[str, str] = {word: canon for canon, words in _SYNONYMS.items() for word in words}
CANONICAL_WORDS = frozenset(_SYNONYMS)

STOPWORDS = frozenset(
    """
    a an the i me my mine we our you your he she they them it its this that these those is are was were be been
    being am do does did have has had having will would should could can may might must shall to of for and or
    but if so as at by in on from with about into over after before again still just already also too very
    really what why how when where who which there here all any some more most other such only own same than
    then now get got getting please pls plz thanks thank hi hello hey help any anyone ok okay yes yeah im ive
    youre its lol omg via rt amp
    yang di ke dari dan ini itu aku saya sy gue gua gw ku kami kita kamu lo lu loe dia mereka ya yg nya sih deh
    dong kok lagi lg aja ajah juga jg udah udh sudah dah ada buat utk untuk sama sm kalo kalau klo tapi tp jadi
    jd bgt banget min mimin admin kak kakak gan sis bro mas mba mbak pak bu tolong mohon bantu bantuannya
    gimana gmn bagaimana kenapa knp napa kapan apa apakah mau mo pun lah kah tuh nih gitu gini terus trus
    trs masa emang memang cuma cm aja padahal soalnya karena krn pas waktu saat bisa bs dengan dgn atau
    akan sedang lagi semua bikin jadinya nyoba coba udahan dr pada oleh baru br telah punya
    tadi td kemarin kemaren kmrn sekarang skrg pagi siang sore malam today yesterday tonight morning
    evening night ago since week setelah sesudah abis habis after before sebelum keeps keep kept
    pakai pake make using use used pakek
    """.split()
)

GENERIC = frozenset({"not", "cannot", "hour", "day", "week", "wait", "service", "app", "update", "response", "call"})
"""Canonical words that appear in many unrelated complaints: they count, but little."""

_PHRASE_RULES = (
    (r"\bforce\s+close", "forceclose"),
    (r"\blog\s*-?\s*in\b", "login"),
    (r"\bsign\s*-?\s*in\b", "signin"),
    (r"\btop\s*-?\s*up\b", "topup"),
    (r"\b(?:ga|gak|gk|nggak|ngga|enggak|tidak|tdk|tak|can\s*not)\s+bisa\b", "cannot"),
    (r"\bcan\s+not\b", "cannot"),
    (r"\bnot\s+working\b", "broken"),
    (r"\bga\s+jalan\b|\bgak\s+jalan\b|\btidak\s+berfungsi\b", "broken"),
)
_PHRASES = re.compile("|".join(f"(?P<p{i}>{pattern})" for i, (pattern, _) in enumerate(_PHRASE_RULES)))
_PHRASE_WORD = {f"p{i}": word for i, (_, word) in enumerate(_PHRASE_RULES)}
"""Multi-word expressions read as one word before splitting."""
_PHRASE_HINT = re.compile(r"close|log|sign|top|bisa|not|jalan|berfungsi")
_LINK_OR_HANDLE = re.compile(r"https?://\S+|www\.\S+|@\w+")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+", re.UNICODE)
_REPEATS = re.compile(r"(.)\1{2,}")
_VERSION = re.compile(r"^\d+(?:[.,]\d+)+$")
_ID_SUFFIXES = ("nya", "kan", "lah")

UNIGRAM_WEIGHT = 1.0
GENERIC_WEIGHT = 0.3
KEY_TERM_WEIGHT = 2.0
STEM_WEIGHT = 0.5


@dataclass(slots=True)
class TextFeatures:
    """A complaint's comparable form: integer-weighted features, their squared norm, and its content words.

    Treated as immutable (not declared frozen: a frozen dataclass costs a few µs more to build, per complaint)."""

    vector: dict[str, int]
    norm2: int
    words: tuple[str, ...]
    """Canonical content words in order (no stopwords), for titles, key terms and indexing."""
    surfaces: dict[str, str]
    """Canonical word → the form the author wrote (keeps 'OTP', 'QRIS', '5.2' readable)."""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (self.__class__, (self.vector, self.norm2, self.words, self.surfaces))


# Caches: `_token_info` is the one every feature lookup goes through, sized for a stream's working
# vocabulary (32k surfaces cover 99.5% of the tokens of 150k volume-stream complaints); the ones behind it
# only see its misses. Each entry costs about 0.7 kB across the chain, so caches of 131k entries on every
# step held ~90 MB in a long import of a varied stream.
@lru_cache(maxsize=1 << 12)
def canonical_word(raw: str) -> str:
    word = _REPEATS.sub(r"\1\1", raw.lower())
    if word in CANONICAL:
        return CANONICAL[word]
    for suffix in _ID_SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and word[: -len(suffix)] in CANONICAL:
            return CANONICAL[word[: -len(suffix)]]
    if word.endswith("s") and len(word) > 4 and word[:-1] in CANONICAL:
        return CANONICAL[word[:-1]]
    return word


def _surfaces(text: str) -> list[str]:
    """The word tokens of `text` as written, links and @handles removed, multi-word phrases joined."""
    cleaned = _LINK_OR_HANDLE.sub(" ", text) if ("@" in text or "http" in text or "www." in text) else text
    lowered = cleaned.lower()
    if _PHRASE_HINT.search(lowered):
        phrased = _PHRASES.sub(lambda m: _PHRASE_WORD[m.lastgroup or ""], lowered)
        # Keep the author's casing for surfaces ('OTP') unless a phrase was joined (they are lower-case words).
        if phrased != lowered:
            cleaned = phrased
    return _TOKEN.findall(cleaned)


def tokens(text: str) -> list[tuple[str, str]]:
    """(canonical, surface) pairs for the content words of `text`."""
    out: list[tuple[str, str]] = []
    for surface in _surfaces(text):
        word = _content_word(surface)
        if word is not None:
            out.append((word, surface))
    return out


@lru_cache(maxsize=1 << 12)
def _content_word(surface: str) -> str | None:
    """The canonical word for a token, or None for stopwords and bare numbers."""
    if surface.isdigit():
        return None  # amounts, counts, order numbers: never what the problem is
    word = canonical_word(surface)
    if word in STOPWORDS or len(word) < 2:
        return None
    return word


def _word_weight(word: str, surface: str, key_terms: frozenset[str]) -> float:
    if word in key_terms or _VERSION.match(word) or (surface.isupper() and len(surface) >= 3):
        return KEY_TERM_WEIGHT
    if word in GENERIC:
        return GENERIC_WEIGHT
    return UNIGRAM_WEIGHT


@lru_cache(maxsize=1 << 15)
def _token_info(surface: str, key_terms: frozenset[str]) -> tuple[str, float, str | None] | None:
    """(canonical word, weight, stem) of a token as written, or None when it carries no content."""
    word = _content_word(surface)
    if word is None:
        return None
    return word, _word_weight(word, surface, key_terms), _stem(word)


def _stem(word: str) -> str | None:
    """A crude shared stem for inflected words the table does not know ('connecting', 'connection')."""
    if len(word) >= 7 and word not in CANONICAL_WORDS and not word[0].isdigit():
        return "~" + word[:5]
    return None


def features(text: str, key_terms: frozenset[str] = frozenset(), ignore: frozenset[str] = frozenset()) -> TextFeatures:
    """Word and stem features of `text` (each word once), L2-normalised to SCALE.

    `ignore`: words every mention shares (the brand's own names): never evidence of the same problem.
    """
    raw: dict[str, float] = {}
    surfaces: dict[str, str] = {}
    for surface in _surfaces(text):
        info = _token_info(surface, key_terms)
        if info is None:
            continue
        word, weight, stem = info
        if word in ignore:
            continue
        if word not in surfaces:
            surfaces[word] = surface
            raw[word] = weight
            if stem is not None:
                raw[stem] = STEM_WEIGHT
    norm = math.sqrt(sum([v * v for v in raw.values()])) or 1.0
    scale = SCALE / norm
    vector = {k: w for k, v in raw.items() if (w := round(v * scale))}
    return TextFeatures(
        vector=vector,
        norm2=sum([v * v for v in vector.values()]),
        words=tuple(surfaces),
        surfaces=surfaces,
    )


def index_words(feats: TextFeatures) -> list[str]:
    """The words a complaint is looked up by: its specific content words (generic ones match too much)."""
    specific = [w for w in feats.words if w not in GENERIC]
    return specific or list(feats.words)
