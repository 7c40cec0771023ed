"""The `classifier:` section of config.yaml.

Every field has a default, so an empty (or absent) section gives the shipped
model with the default urgency rules and consumer-brand category taxonomy.
Keywords are matched case-insensitively on whole words; a trailing `*`
matches any ending ("refund*" also matches "refunded", "refunds"), a lone
`*` any one word and `#` any number ("udah #x" matches "udah 3x").
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.durations import Duration

DEFAULT_TARGET_RECALL = 0.90


class UrgencyKeywords(BaseModel):
    """Words that put a complaint at (at least) this urgency, in English and Indonesian."""

    model_config = ConfigDict(extra="forbid")

    # Keyword tables stay tables: several per line, grouped by theme.
    # fmt: off
    critical: list[str] = Field(
        default_factory=lambda: [
            # health and safety harm
            "food poisoning", "poisoned", "keracunan", "injured", "injury", "terluka", "luka", "hospital",
            "rumah sakit", "fire", "kebakaran", "terbakar", "exploded", "meledak", "electrocuted", "kesetrum",
            "allergic reaction", "alergi", "dangerous", "berbahaya", "unsafe", "accident", "kecelakaan",
            "muntah", "diare", "sakit perut", "igd", "ugd", "diinfus", "opname", "dirawat", "vomit*", "diarrh*",
            "emergency room", "in the er", "to the er", "got sick", "made me sick", "been sick", "sick all night",
            "allergic", "allergy", "clinic", "klinik", "puskesmas", "mual", "keracunan makanan", "burned", "burnt",
            "scald*", "melepuh", "luka bakar", "glass", "beling", "swallow*", "ketelen", "tertelan", "sparked",
            "korslet", "meleduk", "nyerempet", "keserempet", "diserempet", "almost crashed", "hampir jatuh",
            "ugal ugalan", "ugal-ugalan", "ulat", "belatung",
            # a spoiled, expired or contaminated product already eaten or drunk
            "already ate", "already eaten", "already drank", "already drunk", "had eaten", "had drunk",
            "ate some", "drank some", "took a sip", "stomach cramps", "udah minum", "sudah minum", "udah diminum",
            "sudah diminum", "udah dimakan", "sudah dimakan", "terlanjur minum", "terlanjur makan",
            "terlanjur diminum", "terlanjur dimakan", "sempet minum", "sempat minum", "sempet makan",
            "sempat makan", "keminum", "kemakan", "mules",
            # fraud, account takeover, stolen money
            "fraud", "penipuan", "scam", "scammer", "penipu", "tipu", "hacked", "dihack", "di hack", "kebobol",
            "dibobol", "bobol", "stolen", "dicuri", "hilang saldo", "saldo hilang", "saldo raib", "raib",
            "account takeover", "unauthori*", "tanpa izin", "phishing", "never authori*", "didn't authori*",
            "did not authori*", "didn't approve", "never approved", "without my consent", "without my permission",
            "tanpa persetujuan", "tanpa sepengetahuan", "didn't place", "never made", "didn't make",
            "tidak pernah transaksi", "gak pernah transaksi", "ga pernah transaksi", "gak transaksi", "bukan saya yang",
            "gak aku kenal", "ga aku kenal", "tidak saya kenal", "dibajak", "diambil alih", "someone got into",
            "someone logged into", "someone changed", "ada yang login", "ada yg login", "dipake orang",
            "dipakai orang", "knew my", "tau nama", "tahu nama", "tau saldo",
            # data leak
            "data leak", "data breach", "bocor", "kebocoran", "leaked", "data pribadi", "leaking",
            "customer data", "data orang lain", "someone else's",
            # legal or regulator threat
            "lawyer", "lawsuit", "sue", "suing", "legal action", "pengacara", "lapor polisi", "polisi",
            "somasi", "gugat", "ojk", "bpkn", "ylki", "kominfo", "regulator", "ombudsman", "fcc", "cfpb",
            "attorney", "court", "small claims", "police report", "laporan polisi", "jalur hukum", "kantor hukum",
            "ranah hukum", "tuntut", "menuntut", "pengadilan", "bpsk", "consumer protection",
            "perlindungan konsumen", "lembaga konsumen",
        ]
    )
    high: list[str] = Field(
        default_factory=lambda: [
            # money lost or locked
            "double charge*", "charged twice", "charged me twice", "billed twice", "charged * times", "double debit",
            "kepotong", "terpotong", "dipotong",
            "potong saldo", "saldo terpotong", "uang hilang", "money gone", "refund*", "belum di refund",
            "uang saya", "my money", "dana", "saldo", "chargeback", "overcharge*", "ditagih", "tagihan",
            "not received money", "transfer gagal", "gagal transfer", "pending",
            # cannot access account or service
            "locked out", "account locked", "akun terkunci", "terblokir", "diblokir", "blocked",
            "suspended", "can't log in", "cant log in", "can't login", "cant login", "cannot login",
            "gak bisa login", "ga bisa login", "gabisa login", "tidak bisa login", "gak bisa masuk",
            "ga bisa masuk", "tidak bisa masuk", "no service", "no signal", "no internet", "tidak ada sinyal",
            "gak ada sinyal", "ga ada sinyal", "mati total",
            # repeated, unanswered contact
            "no response", "no reply", "ignored", "ghosted", "gak dibales", "ga dibales", "tidak dibalas",
            "gak direspon", "ga direspon", "tidak direspon", "nggak direspon", "still waiting",
        ]
    )
    medium: list[str] = Field(
        default_factory=lambda: [
            # the service failed, nothing at stake yet
            "late", "delay*", "telat", "terlambat", "lama banget", "belum sampai", "belum datang",
            "never arrived", "not arrived", "hasn't arrived", "missing", "lost", "hilang",
            "crash*", "error", "eror", "down", "not working", "doesn't work", "broken", "rusak", "gangguan",
            "lemot", "lelet", "mati", "gagal", "failed", "cancel*", "dibatalkan", "rude", "kasar",
            "tidak sopan", "gak sopan", "wrong item", "salah kirim", "damaged", "defective", "cacat",
        ]
    )
    # fmt: on


class UrgencySettings(BaseModel):
    """How a complaint's urgency is set: keywords first, then reach and repetition raise it."""

    model_config = ConfigDict(extra="forbid")

    keywords: UrgencyKeywords = Field(default_factory=UrgencyKeywords)
    reach_followers: list[int] = Field(default_factory=lambda: [10_000, 100_000])
    """Each threshold the author's follower count reaches raises urgency one level."""
    # fmt: off
    repetition_keywords: list[str] = Field(
        default_factory=lambda: [
            "again", "second time", "third time", "fourth time", "fifth time", "once again", "every time",
            "for the * time", "multiple times", "many times", "keeps happening", "still not", "still waiting",
            "lagi lagi", "lagi-lagi", "berkali kali", "berkali-kali", "terus terusan", "terus-terusan",
            "mulu", "melulu", "udah #x", "sudah #x", "udah # kali", "sudah # kali", "ke # kalinya",
            "#x", "# kali", "#th time", "#rd time", "#nd time",
        ]
    )
    # fmt: on
    """Phrases that say the problem or the contact is repeated (`*` is any one word, `#` any number)."""
    repetition_raise: int = Field(1, ge=0, le=4)
    """Levels a repeated problem adds."""
    raise_limit: str = "high"
    """Reach and repetition raise urgency up to this level, never past it (a complaint is critical by its words)."""
    default_level: str = "model"
    """Urgency of a complaint with no keyword: `model` (the urgency model, learned from labelled complaints,
    reads the level in the words), `medium` (a service fell short) or `low`."""
    category_floor: dict[str, str] = Field(default_factory=lambda: {"access_login": "high"})
    """Least urgency of a complaint in a category: someone who cannot get into their account is locked out of
    their money and the service, whatever words they use."""

    @field_validator("reach_followers")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError("follower thresholds must be positive")
        return sorted(value)

    @field_validator("raise_limit")
    @classmethod
    def _known_limit(cls, value: str) -> str:
        if value not in ("low", "medium", "high", "critical"):
            raise ValueError("must be one of low, medium, high, critical")
        return value

    @field_validator("category_floor")
    @classmethod
    def _known_floors(cls, value: dict[str, str]) -> dict[str, str]:
        for category, level in value.items():
            if level not in ("low", "medium", "high", "critical"):
                raise ValueError(f"{category}: must be one of low, medium, high, critical")
        return value

    @field_validator("default_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in ("model", "low", "medium"):
            raise ValueError("must be one of model, low, medium")
        return value


# fmt: off
def _default_categories() -> dict[str, list[str]]:
    return {
        "access_login": [
            "login", "log in", "logged out", "sign in", "password", "kata sandi", "otp", "verification code",
            "kode verifikasi", "masuk akun", "gak bisa masuk", "ga bisa masuk", "tidak bisa masuk", "2fa",
        ],
        "payment_billing": [
            "payment", "pay", "paid", "charge*", "billing", "bill", "invoice", "refund*", "pembayaran", "bayar",
            "dibayar", "tagihan", "ditagih", "kepotong", "terpotong", "saldo", "top up", "topup", "isi ulang",
            "pulsa", "transfer", "debit", "credit card", "kartu kredit", "cashback", "dana",
        ],
        "delivery": [
            "delivery", "deliver*", "shipping", "shipment", "package", "parcel", "courier", "tracking",
            "arrive*", "pengiriman", "kirim", "dikirim", "paket", "kurir", "resi", "ekspedisi", "sampai",
            "belum sampai", "ongkir", "order", "pesanan", "luggage", "bagasi",
        ],
        "app_bug_outage": [
            "app", "aplikasi", "apk", "website", "site", "error", "eror", "bug", "crash*", "down", "outage",
            "not loading", "loading", "update", "server", "gangguan", "maintenance", "lemot", "lelet",
            "force close", "signal", "sinyal", "internet", "jaringan", "network", "wifi", "koneksi",
        ],
        "customer_service": [
            "customer service", "cs", "agent", "support", "call center", "callcenter", "hotline",
            "no response", "no reply", "ignored", "rude", "kasar", "dibales", "dibalas", "direspon",
            "respon", "pelayanan", "layanan", "admin", "operator", "staff", "petugas", "hold",
        ],
        "product_quality": [
            "broken", "damaged", "defective", "quality", "kualitas", "rusak", "cacat", "basi", "expired",
            "kadaluarsa", "wrong item", "salah", "size", "ukuran", "taste", "rasa", "fake", "palsu", "ori",
        ],
        "pricing_fees": [
            "price", "prices", "pricing", "expensive", "fee", "fees", "cost", "harga", "mahal", "biaya",
            "admin fee", "biaya admin", "tarif", "naik harga", "overpriced", "subscription", "langganan",
        ],
        "security_fraud": [
            "fraud", "scam", "scammer", "hacked", "hack", "phishing", "stolen", "penipuan", "penipu", "tipu",
            "dihack", "dibobol", "bobol", "kebobol", "dicuri", "data leak", "breach", "bocor", "unauthori*",
        ],
        "account": [
            "account", "akun", "profile", "profil", "blocked", "diblokir", "terblokir", "suspended",
            "locked", "terkunci", "deactivated", "nonaktif", "verifikasi", "verification", "upgrade akun",
            "ganti nomor", "change number", "email",
        ],
    }
# fmt: on


class ClassifierSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_dir: str | None = None
    """A trained model directory; empty means the model shipped in the package. `train --out` keeps the models
    it replaces in its `history/` folder; `models rollback` puts one back."""
    reload_interval: Duration = timedelta(seconds=30)
    """How often `run` looks for a new model in `model_dir` (swapped in without a restart); 0 never."""
    complaint_threshold: float | None = Field(None, gt=0, lt=1)
    """Calibrated score at or above which a mention is a complaint, for every language; empty means the model's
    own per-language thresholds (chosen at training time for `target_recall`)."""
    platform_threshold: dict[str, float] = Field(default_factory=lambda: {"rss": 0.75})
    """Per platform, the least complaint threshold its mentions get. A news feed brings articles about the brand:
    they report problems (an outage, a fee rise, a leak denied) without being a customer's complaint, and read
    like one to the model. A critical keyword does not lower it: an article about a data leak is news."""
    critical_threshold_factor: float = Field(0.5, ge=0, le=1)
    """A mention with a critical keyword (lawyer, OJK, data leak, dibobol, keracunan…) is flagged at this
    fraction of its language's threshold: missing one of those costs most. 1: no different; 0: always flagged."""
    target_recall: float | dict[str, float] = DEFAULT_TARGET_RECALL
    """`train` picks each language's threshold so that this share of the held-out complaints is flagged:
    one number for all, or per complaint head ({en: 0.9, id: 0.92, all: 0.9})."""
    stream_prior: float | None = Field(None, gt=0, lt=1)
    """The complaint share of your stream (`evaluate --prior` estimates it from stored mentions). Set, the
    complaint score is re-weighted from the training mix to it, and the thresholds move with it so that recall
    stays where training put it. Empty: scores as trained."""
    urgency: UrgencySettings = Field(default_factory=UrgencySettings)
    categories: dict[str, list[str]] = Field(default_factory=_default_categories)
    """Category name → keywords (both languages). `other` is the fallback and needs no entry."""
    category_keyword_weight: float = Field(0.5, ge=0)
    """How far keywords move the learned category: each category gets the model's probability plus this
    weight × its share of the keyword hits. 0: the model alone; large: keywords decide where any match.
    With a model that learned no categories, keywords alone decide."""
    # fmt: off
    languages: list[str] = Field(
        default_factory=lambda: [
            "en", "id", "ms", "jv", "su", "tl", "es", "pt", "fr", "de", "nl", "ja", "zh", "ko", "ar", "vi", "th",
        ]
    )
    # fmt: on
    """ISO 639-1 codes the language detector chooses between (when the source gave no language)."""

    @field_validator("target_recall")
    @classmethod
    def _recall_share(cls, value: float | dict[str, float]) -> float | dict[str, float]:
        for share in value.values() if isinstance(value, dict) else [value]:
            if not 0.5 <= share < 1:
                raise ValueError("target recall must be at least 0.5 and below 1")
        return value

    @field_validator("platform_threshold")
    @classmethod
    def _thresholds_are_scores(cls, value: dict[str, float]) -> dict[str, float]:
        for platform, threshold in value.items():
            if not 0 < threshold <= 1:
                raise ValueError(f"{platform}: a threshold is a score above 0 and at most 1")
        return value

    @field_validator("categories")
    @classmethod
    def _names_are_short(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in value:
            if not name or len(name) > 50:
                raise ValueError(f"category name must be 1-50 characters: {name!r}")
        return value
