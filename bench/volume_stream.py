"""Reproducible high-volume mention stream with injected outages, for incident and import benchmarks.

    python bench/volume_stream.py --per-day 2000 --days 7 --seed 1 --out stream.jsonl --truth truth.json
    python bench/volume_stream.py --per-day 20000 --days 7 --check        # summary only, nothing written

From another bench script (bench/ is a package; its scripts put the repo root on sys.path):

    sys.path.insert(0, str(ROOT))
    from bench.volume_stream import StreamConfig, generate, iter_records

The stream
----------
For each of `days` UTC days from `start`, exactly `per_day` *background* mentions, plus the reports of
the injected *outages* (the ground truth). Output is the project's public mention format
(`monitor.mention_io`); the truth says, per record id, whether it is a complaint, its dataset and
its outage (or null), and per outage its window, member ids and distinct authors.

Real (public labelled datasets, read from ../shared/data or $COMPLAINT_MONITOR_DATA; nothing is copied
into the repo):

- Background complaints: complaints_acl2019 label 1 (EN), twitter_us_airline_sentiment negative (EN),
  id_bandung_complaint_tweets `keluhan` (ID), id_telco_provider_sentiment negative (ID).
- Background non-complaints: complaints_acl2019 label 0, airline positive/neutral,
  Bandung `bukan keluhan atau respon`, IndoNLU SmSA positive/neutral (ID, at most 400 characters).
- Outage "aa-cancelled-flights": the 183 American Airlines "Cancelled Flight" tweets of 2015-02-22/23
  UTC (the late-February 2015 winter storm), subsampled when fewer are wanted, in their real order.
- Outage "pdam-water-outage": Bandung `keluhan` tweets reporting that piped water (PDAM) does not
  flow ("air pdam tidak mengalir", "cai teu ngocor"), in file order (the set has no timestamps).
  Both real clusters are excluded from the background in full, whatever part of them is used, and so are
  the other airlines' "Cancelled Flight" tweets of those storm days (the same real outage).

Synthetic: every author, time, id, url, metric and platform; the brand handle (@PayKitaCare, the
care account of the fictional e-wallet PayKita in config.yaml); light text variation; and outages
"paykita-otp-not-arriving" and "paykita-qris-fails-after-update" (hand-written EN/ID templates with
slot fillers, every report text distinct).

Text clean-up of the real data: the airline's own handle (@AmericanAir, @united…) is replaced by the
brand handle (the tweets address the company's care account, as brand mentions do); the Bandung set
had its '@' removed upstream, so the account names cued by "rt/via/cc" or written with '_' get their
'@' back (otherwise "ridwankamil" would be a shared word in most Bandung complaints), leading
"rt name:" is dropped (listening queries exclude retweets), truncated retweet copies and duplicates are
dropped, and digit runs of 9+ (phone and customer numbers) are masked; telco placeholders become the
brand handle / a t.co link; SmSA's tokenised punctuation is re-attached.

Background: each text is drawn uniformly from its (language, complaint) pool; times are independent
draws from a smooth day/night profile in Asia/Jakarta time (UTC+7); authors from a Zipf-like pool of
`per_day * days / 2` (a few heavy posters, most post once or twice). No background text is placed on
purpose near a similar one, so the background holds no hidden incident. When a drawn text was
already used in the last hour, up to three other texts are tried, then the text is varied (brand
handle added/moved, trailing emoji), so exact duplicates by different authors within an hour are rare.

Everything is a function of the parameters and the seed: the same call gives the same records,
ids and order (sorted by created_at, platform, id). Generation runs one UTC day at a time, so
`iter_records` holds one day in memory whatever the length of the stream.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import operator
import os
import re
import resource
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.models import Mention, Metrics  # noqa: E402

DAY = 86_400
HOUR = 3_600
JAKARTA_UTC_OFFSET = 7
BRAND_HANDLE = "@PayKitaCare"
BRAND_NAME = "PayKita"
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DEFAULT_PLATFORMS: tuple[tuple[str, float], ...] = (
    ("x", 0.72),
    ("bluesky", 0.10),
    ("reddit", 0.08),
    ("mastodon", 0.06),
    ("rss", 0.04),
)
SYNTHETIC = "synthetic_templates"


def data_dir(override: Path | None = None) -> Path:
    """The shared datasets folder: `override`, else $COMPLAINT_MONITOR_DATA, else ../shared/data."""
    if override is not None:
        return Path(override).resolve()
    return Path(os.environ.get("COMPLAINT_MONITOR_DATA", ROOT / ".." / "shared" / "data")).resolve()


# ---- parameters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutageSpec:
    """One injected outage. `kind` picks the texts: see OUTAGE_KINDS."""

    name: str
    kind: str
    local_start: float  # hour of the day in Asia/Jakarta time
    hours: float  # window length; reports rise fast, then tail off inside it
    share: float = 0.025  # reports wanted, as a share of per_day (real clusters cap at their size)
    min_reports: int = 12
    day: int | None = None  # 0-based day of the stream; None: days 4-7 (the last day if days < 5)
    id_share: float = 0.65  # templated kinds: share of reports written in Indonesian
    repeat_share: float = 0.06  # share of reports by an author who already reported this outage


OUTAGE_KINDS = ("airline_cluster", "water_cluster", "otp_templates", "qris_templates")

DEFAULT_OUTAGES: tuple[OutageSpec, ...] = (
    OutageSpec("aa-cancelled-flights", "airline_cluster", local_start=19.5, hours=4, share=0.025),
    OutageSpec("pdam-water-outage", "water_cluster", local_start=7.5, hours=5, share=0.02),
    OutageSpec("paykita-otp-not-arriving", "otp_templates", local_start=10.0, hours=3, share=0.025),
    OutageSpec("paykita-qris-fails-after-update", "qris_templates", local_start=13.0, hours=4, share=0.02),
)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Everything the stream depends on; the same config always gives the same stream."""

    per_day: int = 2000
    days: int = 7
    seed: int = 1
    start: datetime = DEFAULT_START
    complaint_share: float = 0.5  # of the background
    id_share: float = 0.5  # of the background written in Indonesian (the rest English)
    platforms: tuple[tuple[str, float], ...] = DEFAULT_PLATFORMS
    outages: tuple[OutageSpec, ...] = DEFAULT_OUTAGES
    brand_handle: str = BRAND_HANDLE
    brand_name: str = BRAND_NAME
    handle_share: float = 0.35  # background texts given the brand handle (when they lack it)
    emoji_share: float = 0.12  # background texts given a trailing emoji
    authors: int | None = None  # author pool size; None: per_day * days // 2, at least 1,000
    data: Path | None = None  # datasets folder; None: see data_dir()

    def __post_init__(self) -> None:
        if self.per_day < 1 or self.days < 1:
            raise ValueError("per_day and days must be positive")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        for spec in self.outages:
            if spec.kind not in OUTAGE_KINDS:
                raise ValueError(f"outage {spec.name}: unknown kind {spec.kind!r}")

    @property
    def author_pool(self) -> int:
        return self.authors or max(1000, self.per_day * self.days // 2)

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    def params(self) -> dict[str, Any]:
        """The parameters as plain JSON values (recorded in the truth file)."""
        return {
            "per_day": self.per_day,
            "days": self.days,
            "seed": self.seed,
            "start": iso(self.start_ts),
            "complaint_share": self.complaint_share,
            "id_share": self.id_share,
            "platforms": dict(self.platforms),
            "brand_handle": self.brand_handle,
            "brand_name": self.brand_name,
            "handle_share": self.handle_share,
            "emoji_share": self.emoji_share,
            "author_pool": self.author_pool,
            "outages": [asdict(spec) for spec in self.outages],
            "data": str(data_dir(self.data)),
            "generator": "bench/volume_stream.py",
        }


def iso(ts: int) -> str:
    """Epoch seconds as the format's timestamp, e.g. 2026-01-05T08:05:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# ---- the real texts --------------------------------------------------------------------------------


class Text(NamedTuple):
    text: str
    lang: str  # "en" | "id"
    complaint: bool
    source: str  # dataset folder name
    problem: str | None = None  # the dataset's own label of what went wrong, where it has one


class ClusterTweet(NamedTuple):
    author: str  # the real author name (mapped to a synthetic author, never written out)
    text: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """Background pools by (lang, complaint) and the two real outage clusters, in their real order."""

    pools: dict[tuple[str, bool], list[Text]]
    airline_cluster: list[ClusterTweet]
    water_cluster: list[str]


_AIRLINE_HANDLE = re.compile(r"@(?:AmericanAir|united|USAirways|SouthwestAir|JetBlue|VirginAmerica)\b", re.I)
AIRLINE_SURGE = ("American", "Cancelled Flight", ("2015-02-22", "2015-02-23"))
AIRLINE_PROBLEM = "cancelled-flight"
"""The truth's name for the problem of the airline outage; background tweets the dataset gives the same reason
carry it too: during the outage they are reports of the same problem, though not injected ones."""


@lru_cache(maxsize=4)
def load_corpus(folder: Path, brand_handle: str = BRAND_HANDLE, brand_name: str = BRAND_NAME) -> Corpus:
    """Read every dataset once (under a second); the result is cached per folder and brand."""
    pools: dict[tuple[str, bool], list[Text]] = {key: [] for key in POOL_KEYS}
    acl = _read_acl(folder / "complaints_acl2019" / "complaints-data.csv")
    airline, airline_cluster = _read_airline(folder / "twitter_us_airline_sentiment" / "Tweets.csv", brand_handle)
    vocabulary = _id_vocabulary(folder)
    bandung, water_cluster = _read_bandung(folder / "id_bandung_complaint_tweets" / "tweets_csv_siap.csv", vocabulary)
    telco = _read_telco(
        folder / "id_telco_provider_sentiment" / "dataset_tweet_sentiment_cellular_service_provider.csv",
        brand_handle,
        brand_name,
    )
    smsa = _read_smsa(folder / "indonlu_smsa")
    for item in [*acl, *airline, *bandung, *telco, *smsa]:
        pools[(item.lang, item.complaint)].append(item)
    return Corpus(_dedupe_pools(pools), airline_cluster, water_cluster)


POOL_KEYS: tuple[tuple[str, bool], ...] = (("en", True), ("en", False), ("id", True), ("id", False))


def _dedupe_pools(pools: dict[tuple[str, bool], list[Text]]) -> dict[tuple[str, bool], list[Text]]:
    """Exact duplicates go; a text labelled both complaint and not goes from both pools."""
    labels: dict[str, set[bool]] = {}
    for items in pools.values():
        for item in items:
            labels.setdefault(item.text, set()).add(item.complaint)
    out: dict[tuple[str, bool], list[Text]] = {}
    for key, items in pools.items():
        seen: set[str] = set()
        kept = []
        for item in items:
            if item.text in seen or len(labels[item.text]) > 1 or not item.text.strip():
                continue
            seen.add(item.text)
            kept.append(item)
        out[key] = kept
    return out


def _read_acl(path: Path) -> list[Text]:
    """No header: tweet_id, text, label (1 = complaint), domain."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [Text(row[1].strip(), "en", row[2] == "1", "complaints_acl2019") for row in csv.reader(fh)]


def _read_airline(path: Path, brand_handle: str) -> tuple[list[Text], list[ClusterTweet]]:
    """Background texts (without the surge cluster) and the surge cluster in time order."""
    airline, reason, dates = AIRLINE_SURGE
    background: list[Text] = []
    cluster: list[tuple[datetime, str, ClusterTweet]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            text = _AIRLINE_HANDLE.sub(brand_handle, row["text"].strip(), count=1)
            created = datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
            if row["negativereason"] == reason and created.strftime("%Y-%m-%d") in dates:
                # The storm cancelled flights at every airline: those tweets are the same real outage, so none
                # of them is background (in one brand's stream they could not be told from the injected one).
                if row["airline"] == airline:
                    cluster.append((created, row["tweet_id"], ClusterTweet(row["name"], text)))
                continue
            complaint = row["airline_sentiment"] == "negative"
            problem = AIRLINE_PROBLEM if complaint and row["negativereason"] == reason else None
            background.append(Text(text, "en", complaint, "twitter_us_airline_sentiment", problem))
    cluster.sort()
    return background, [tweet for _, _, tweet in cluster]


_BANDUNG_RT = re.compile(r"^rt\s+@?[\w.]+\s*:\s*")
_ACCOUNT_CUE = re.compile(r"(?:^|\s)(?:rt|via|cc:?)\s+([a-z0-9_]{4,})\b")
_UNDERSCORE_NAME = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*_[a-z0-9_]*|_[a-z0-9_]*[a-z][a-z0-9_]*")
_BARE_WORD = re.compile(r"(?<![@\w/.#])([a-z0-9_]{4,})\b")
_LONG_NUMBER = re.compile(r"(?<!\d)\d[\da-z]{8,}")  # phone and customer numbers (7+ digits)
# Account names the cue rule misses (they only appear as leading addressees).
# Word and name tables stay tables: several per line.
# fmt: off
_KNOWN_BANDUNG_ACCOUNTS = ("ridwankamil", "pdamtirtawening", "odedmd", "dbmpkotabdg", "prfmnews", "infobdg",
                           "satpolppbdg", "pikiran_rakyat", "dishub_kotabdg", "iwginting", "aheryawan")
# fmt: on
WATER_WORDS = re.compile(r"\b(?:pdam\w*|air\w*|cai\w*|aer|ledeng\w*|pam)\b")
WATER_NOT_FLOWING = re.compile(
    r"\b(?:ngocor\w*|ngalir\w*|mengalir\w*|ngucur\w*|keluar\w*|kering\w*|mati)\b"
    r"|teu aya|(?:ga|gak|tidak|tdk|tak|gada) ada air|susah air|krisis air"
)
WATER_OTHER_TOPIC = re.compile(
    r"bocor|limbah|banjir|genangan|selokan|drainase|\bgot\b|angkot|macet|saluran|hujan lebat"
)


def _read_bandung(path: Path, vocabulary: frozenset[str]) -> tuple[list[Text], list[str]]:
    """`keluhan` → complaint, `bukan keluhan atau respon` → not; `respon` (agency replies) is left out."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        rows = [(row[0], row[1]) for row in reader if len(row) >= 2]
    accounts = _bandung_accounts([text for text, _ in rows], vocabulary)
    by_label: dict[str, list[str]] = {"keluhan": [], "bukan keluhan atau respon": []}
    for raw, label in rows:
        if label in by_label:
            by_label[label].append(_BANDUNG_RT.sub("", " ".join(raw.split())))
    complaints, others = (
        list(dict.fromkeys(_restore_bandung(t, accounts) for t in _drop_truncated_copies(by_label[label])))
        for label in ("keluhan", "bukan keluhan atau respon")
    )
    water = [text for text in complaints if is_water_outage(text)]
    water_set = set(water)
    background = [Text(t, "id", True, "id_bandung_complaint_tweets") for t in complaints if t not in water_set]
    background += [Text(t, "id", False, "id_bandung_complaint_tweets") for t in others]
    return background, water


def is_water_outage(text: str) -> bool:
    """A Bandung complaint that piped water does not flow (the real ID outage cluster)."""
    lowered = text.lower()
    return bool(
        WATER_WORDS.search(lowered) and WATER_NOT_FLOWING.search(lowered) and not WATER_OTHER_TOPIC.search(lowered)
    )


def _bandung_accounts(texts: Sequence[str], vocabulary: frozenset[str]) -> frozenset[str]:
    """Bare account names: cued by rt/via/cc, or written with '_' — unless they are ordinary words."""
    found: set[str] = set(_KNOWN_BANDUNG_ACCOUNTS)
    for text in texts:
        found.update(m.group(1) for m in _ACCOUNT_CUE.finditer(text))
        found.update(word for word in text.split() if _UNDERSCORE_NAME.fullmatch(word))
    found -= {"http", "https", "www"}
    return frozenset(w for w in found if not w.isdigit() and (w not in vocabulary or w in _KNOWN_BANDUNG_ACCOUNTS))


def _restore_bandung(text: str, accounts: frozenset[str]) -> str:
    """Give account names their '@' back and mask long numbers."""
    text = _BARE_WORD.sub(lambda m: "@" + m.group(1) if m.group(1) in accounts else m.group(1), text)
    return _LONG_NUMBER.sub(_mask_number, text)


def _mask_number(match: re.Match[str]) -> str:
    token = match.group()
    if sum(c.isdigit() for c in token) < 7:
        return token
    return token[:4] + "x" * (len(token) - 4)


def _drop_truncated_copies(texts: Iterable[str]) -> list[str]:
    """Unique texts in file order, without the "…"-truncated copies of a longer text (retweet cut-offs)."""
    unique = list(dict.fromkeys(texts))
    ordered = sorted(unique)
    kept = []
    for text in unique:
        if text.endswith(("…", "...")):
            core = text.rstrip(".… ").strip()
            i = bisect.bisect_left(ordered, core)
            if any(other != text and other.startswith(core) for other in ordered[i : i + 3]):
                continue
        kept.append(text)
    return kept


def _id_vocabulary(folder: Path) -> frozenset[str]:
    """Indonesian words (SmSA text and the colloquial lexicon): a bare token among them is no handle."""
    words: set[str] = set()
    for split in ("train", "valid", "test"):
        with (folder / "indonlu_smsa" / f"{split}_preprocess.tsv").open(encoding="utf-8") as fh:
            for line in fh:
                words.update(line.split("\t", 1)[0].split())
    with (folder / "id_colloquial_lexicon" / "colloquial-indonesian-lexicon.csv").open(
        encoding="utf-8", newline=""
    ) as fh:
        for row in csv.DictReader(fh):
            words.add(row["slang"].strip().lower())
            words.add(row["formal"].strip().lower())
    return frozenset(words)


def _read_telco(path: Path, brand_handle: str, brand_name: str) -> list[Text]:
    """Negative rows only (complaints about a cellular provider, anonymised upstream)."""
    out = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for number, row in enumerate(csv.DictReader(fh)):
            if row["Sentiment"] != "negative":
                continue
            text = re.sub(r"(?<=[#\w])<PROVIDER_NAME>", brand_name, row["Text Tweet"])
            text = text.replace("<PROVIDER_NAME>", brand_handle).replace("<USER_MENTION>", "")
            text = text.replace("<URL>", f"https://t.co/{_base36(7_700_000_000 + number * 7_919)}")
            out.append(Text(" ".join(text.split()), "id", True, "id_telco_provider_sentiment"))
    return out


_SMSA_SPACED = re.compile(r" ([.,!?;:%)])")
SMSA_MAX_CHARS = 400


def _read_smsa(folder: Path) -> list[Text]:
    """Positive and neutral rows (train, valid, test), at most 400 characters, punctuation re-attached."""
    out = []
    for split in ("train", "valid", "test"):
        with (folder / f"{split}_preprocess.tsv").open(encoding="utf-8") as fh:
            for line in fh:
                text, _, label = line.rstrip("\n").rpartition("\t")
                if label not in ("positive", "neutral") or len(text) > SMSA_MAX_CHARS:
                    continue
                text = _SMSA_SPACED.sub(r"\1", text).replace("( ", "(")
                out.append(Text(text.strip(), "id", False, "indonlu_smsa"))
    return out


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


# ---- templated outages (synthetic) -------------------------------------------------------------------
# {h}: optional leading brand handle; {brand}: how people write the brand; {emo}: optional emoji;
# {t}: a time near the outage start. The other slots are in SLOTS below.

OTP_TEMPLATES: dict[str, tuple[str, ...]] = {
    "id": (
        "{h}kode OTP gak masuk2 udah {mins} menit, mau login aja susah bgt {emo}",
        "{h}min OTP nya ga dateng2, udah kirim ulang {n}x tetep nihil. pake {op}",
        "otp {brand} ga masuk dari {t}, saldo ada di dalem tapi gabisa login {emo}",
        "{brand} kenapa sih OTP gak masuk? udah ganti dari wifi ke data tetep sama aja",
        "login {brand} minta OTP tapi SMS nya gak pernah sampe. {device}, kartu {op}. tolong min",
        "mau bayar {thing} tapi ke-logout, OTP {brand} ga masuk2. malu bgt diliatin yg antri {emo}",
        "udah {mins} menit nungguin kode verifikasi {brand} ga nongol juga. lagi gangguan ya?",
        "{h}OTP lagi error kah? aku di {city}, dari {t} ga dapet kode sama sekali",
        "OTP via WA ga masuk, via SMS juga ga. {brand} lagi down? {emo}",
        "ga bisa masuk akun {brand}, kode OTP gak dikirim2. {n}x klik kirim ulang malah disuruh nunggu {mins} menit",
        "min tolong cek, OTP {brand} gak masuk ke nomor {op} saya. hp {device}",
        "{brand} otp nya telat bgt, nyampe pas udah expired. {mins} menit baru masuk {emo}",
        "kok kode OTP {brand} ga masuk ya? temen di {city} juga sama katanya",
        "dari {t} gak bisa login {brand} gara2 OTP ga masuk. mau bayar {thing} jadi ketunda {emo}",
        "parah, OTP {brand} gak masuk sama sekali. udah restart hp, udah reinstall, tetep aja",
        "{h}kode OTP ga kunjung masuk padahal sinyal full. mohon dicek min",
        "lagi ada gangguan OTP ya {brand}? dari {t} nyoba login gagal terus {emo}",
        "gue kira hp gue yg rusak, ternyata OTP {brand} emang lagi ga masuk. {mins} menit nunggu",
    ),
    "en": (
        "{h}OTP codes not arriving, can't log in to {brand} for the last {mins} minutes {emo}",
        "is {brand} down? login asks for an OTP and the SMS never comes. {device}, {op} sim",
        "tried {n} times to resend the verification code, nothing. {brand} please fix {emo}",
        "{brand} OTP not coming through since {t}. stuck at the login screen in {city}",
        "anyone else not getting {brand} OTP codes today? thought it was my phone but my friend has the same",
        "can't log into {brand}, the one-time code never arrives. need to pay {thing_en} and I'm locked out",
        "{h}no OTP by SMS or WhatsApp. waited {mins} min. what's going on?",
        "got logged out of {brand} and the OTP won't arrive. {mins} minutes and counting {emo}",
        "{brand} login OTP arrives after it expires. {n} tries now, every code comes {mins} min late",
        "{h}please check your OTP service, nobody in my office can log in to {brand} right now",
        "verification code from {brand} just isn't sending. reinstalled the app on my {device}, still nothing",
        "stuck at 'enter OTP' on {brand} since {t}, the code never shows up {emo}",
    ),
}

QRIS_TEMPLATES: dict[str, tuple[str, ...]] = {
    "id": (
        "{h}abis update {ver} bayar QRIS gagal terus, tapi saldo kepotong {amt} {emo}",
        "min QRIS error di {merchant}, transaksi gagal tp saldo udah kepotong {amt}. tolong refund",
        "semenjak update {brand} {ver} scan QRIS selalu 'transaksi gagal'. saldo berkurang {amt}",
        "bayar di {merchant} pake QRIS {brand} gagal, saldo kepotong {amt}, kasir bilang dana blm masuk",
        "{brand} versi {ver} bermasalah ya? QRIS gagal {n}x, saldo kepotong tiap kali {emo}",
        "udah update app {brand} ke {ver}, skrg malah ga bisa bayar QRIS. saldo ilang {amt}",
        "tolong min, QRIS gagal di {merchant} {city} tapi saldo {amt} kepotong. status 'diproses' terus",
        "mau bayar {merchant} pake qris, gagal, duit kepotong {amt}. mana lagi buru2 {emo}",
        "kenapa tiap scan qris abis update {ver} muter2 trus gagal? saldo kepotong pula",
        "{h}saldo kepotong {amt} tp pembayaran QRIS gagal. kejadian setelah update {ver} di {device}",
        "jadi malu di {merchant}, qris {brand} gagal padahal saldo udah kepotong {amt}",
        "QRIS {brand} error setelah update {ver}. gagal bayar, uang {amt} ga balik2 {emo}",
        "apa cuma aku yg abis update {ver} qris gagal mulu? saldo kepotong {amt} di {merchant}",
        "bayar parkir pake qris {brand} gagal, saldo tetep kepotong {amt}. {ver} ini bug ya min?",
        "{h}transaksi QRIS gagal tapi saldo berkurang {amt}, mohon dicek. app versi {ver}, {device}",
        "rollback dong update {ver}, QRIS jadi gagal terus. saldo ku kepotong {amt} {emo}",
        "{n}x coba bayar qris di {merchant}, {n}x gagal, saldo kepotong semua. {brand} {ver} kenapa sih",
    ),
    "en": (
        "{h}QRIS payment fails after update {ver} but my balance was still deducted {amt} {emo}",
        "since the {ver} update every QRIS scan says 'transaction failed' and I'm charged anyway",
        "paid {amt} at {merchant} with QRIS, app says failed, money gone. {brand} please refund",
        "{brand} {ver} broke QRIS payments. {n} failed attempts, deducted each time {emo}",
        "is QRIS down on {brand}? updated to {ver} and now payments fail at {merchant}",
        "QRIS failed at {merchant} in {city}, balance deducted {amt}, the cashier says nothing came in",
        "{h}after updating to {ver} QRIS keeps failing. {amt} taken from my balance, no refund yet",
        "transaction failed but balance deducted ({amt}). started right after app update {ver} on my {device}",
        "had to pay cash at {merchant} because {brand} QRIS failed twice. both times {amt} got deducted",
        "{brand} please roll back {ver}, QRIS payments fail and money disappears from the wallet {emo}",
        "update {ver} + QRIS = failed payment and {amt} missing. great start to the day {emo}",
        "anyone else? QRIS on {brand} {ver} fails at checkout but the balance still drops by {amt}",
    ),
}

# fmt: off
SLOTS: dict[str, tuple[str, ...]] = {
    "mins": ("5", "10", "15", "20", "30", "45", "60"),
    "n": ("2", "3", "4", "5", "6"),
    "op": ("Telkomsel", "Indosat", "XL", "Tri", "Smartfren", "by.U", "Axis"),
    "device": ("iPhone 11", "iPhone 13", "iPhone 15", "Samsung A54", "Samsung A15", "Redmi Note 12", "Xiaomi 13T",
               "Oppo A78", "Vivo Y36", "Infinix Hot 40", "Realme C55", "Poco X6"),
    "city": ("Jakarta", "Bekasi", "Depok", "Tangerang", "Bogor", "Bandung", "Surabaya", "Jogja", "Semarang",
             "Medan", "Makassar", "Denpasar", "Malang", "Palembang", "Balikpapan"),
    "thing": ("token listrik", "BPJS", "pulsa", "belanjaan", "makan siang", "ongkir", "kos"),
    "thing_en": ("my electricity token", "for lunch", "my phone bill", "rent", "for groceries", "for a ride home"),
    "merchant": ("Indomaret", "Alfamart", "warkop", "Kopi Kenangan", "Janji Jiwa", "angkringan", "kantin kantor",
                 "SPBU", "tukang bakso", "Mixue", "apotek", "parkiran mall", "minimarket"),
    "amt": ("38rb", "Rp 50.000", "25rb", "Rp12.500", "150rb", "Rp 75.000", "18rb", "Rp 9.000", "62.500",
            "Rp 120.000", "45k", "Rp 33.000", "27rb", "Rp 8.500"),
    "ver": ("6.1", "6.1.0", "v6.1", "6.1 (6100)"),
    "emo": ("", "", "", "", "", "", "🙏", "😭", "😤", "😡", "🥲", "🙄", "😩", "‼️"),
}
# fmt: on


def _time_phrases(hour: int, lang: str) -> tuple[str, ...]:
    """How a reporter refers to when it started, given the outage's local start hour."""
    if lang == "id":
        part = "pagi" if hour < 11 else "siang" if hour < 15 else "sore" if hour < 18 else "malem"
        return (f"jam {hour}", f"jam {hour}an", f"tadi {part}", "tadi", f"jam {hour} tadi")
    suffix = "am" if hour < 12 else "pm"
    twelve = hour if hour <= 12 else hour - 12
    part = "this morning" if hour < 12 else "this afternoon" if hour < 18 else "this evening"
    return (f"{twelve}{suffix}", f"{twelve} {suffix}", part, f"about {twelve}{suffix}")


def _brand_forms(handle: str, name: str) -> tuple[str, ...]:
    return (name, name, name.lower(), handle)


def render_template(template: str, lang: str, rng: np.random.Generator, handle: str, name: str, hour: int) -> str:
    """Fill a template's slots with random choices; ID texts are sometimes all lower-case."""
    values = {key: _pick(rng, choices) for key, choices in SLOTS.items()}
    values["h"] = handle + " " if rng.random() < 0.35 else ""
    values["brand"] = _pick(rng, _brand_forms(handle, name))
    values["t"] = _pick(rng, _time_phrases(hour, lang))
    text = " ".join(template.format(**values).split())
    return text.lower() if lang == "id" and rng.random() < 0.3 else text


def _pick(rng: np.random.Generator, choices: Sequence[str]) -> str:
    return choices[int(rng.integers(len(choices)))]


# ---- authors (synthetic) ------------------------------------------------------------------------------

# fmt: off
_FIRST = ("rina", "dewi", "budi", "agus", "sari", "putri", "andi", "rizky", "fajar", "dimas", "ayu", "indah", "wahyu",
          "eka", "nanda", "tiara", "bayu", "yoga", "intan", "citra", "reza", "gilang", "nadia", "salsa", "aldi",
          "rahma", "hendra", "yuni", "arif", "lestari", "bagus", "kevin", "michelle", "grace", "mark", "josh",
          "emily", "sarah", "david", "chris", "jess", "tom", "amanda", "ryan", "lisa", "nick", "kate", "alex")
_SECOND = ("putri", "saputra", "pratama", "wijaya", "kusuma", "nugroho", "hidayat", "santoso", "lestari", "official",
           "jkt", "bdg", "sby", "id", "real", "aja", "online", "design", "writes", "travels", "smith", "jones", "lee",
           "miller", "nguyen", "tan", "lim", "keren", "nya", "ku", "world", "life", "daily", "art", "dev", "cuy")
# fmt: on
_MASTODON_INSTANCES = ("mastodon.social", "mastodon.online", "mstdn.social", "hachyderm.io", "mas.to")
_SUBREDDITS = ("indonesia", "indonesia", "finansial", "jakarta", "personalfinance", "fintech")
_ZIPF_EXPONENT = 1.0


class AuthorPool:
    """`size` synthetic authors; author i's name, platform and follower count are functions of i.

    Posting activity is Zipf-like over the index (p ∝ 1/(i + r0), r0 = size/100): a few heavy
    posters, most authors post once or twice.
    """

    def __init__(self, size: int, platforms: Sequence[tuple[str, float]]) -> None:
        self.size = size
        index = np.arange(size, dtype=np.uint64)
        weights = 1.0 / (index.astype(np.float64) + max(10.0, size / 100)) ** _ZIPF_EXPONENT
        self._cdf = np.cumsum(weights / weights.sum())
        names = [name for name, _ in platforms]
        shares = np.array([share for _, share in platforms], dtype=np.float64)
        slots = np.searchsorted(np.cumsum(shares / shares.sum()), _units(index, 1), side="right")
        self._platform = [names[i] for i in np.minimum(slots, len(names) - 1).tolist()]
        followers = np.minimum(2_000_000, 30 * (1.0 - _units(index, 2) * 0.999) ** -1.1)
        self._followers = followers.astype(np.int64).tolist()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` author indexes, heavy posters more often."""
        return np.minimum(np.searchsorted(self._cdf, rng.random(n)), self.size - 1)

    def distinct(self, rng: np.random.Generator, n: int) -> list[int]:
        """`n` different authors, uniformly (anyone may report an outage)."""
        return [int(i) for i in rng.choice(self.size, size=min(n, self.size), replace=False)]

    def platform(self, index: int) -> str:
        """The one platform this author posts on."""
        return self._platform[index]

    @staticmethod
    def name(index: int, platform: str) -> str:
        first, rest = index % len(_FIRST), index // len(_FIRST)
        second, number = rest % len(_SECOND), rest // len(_SECOND)
        digits = str(number) if number else ""
        if platform == "bluesky":
            return f"{_FIRST[first]}-{_SECOND[second]}{digits}.bsky.social"
        return f"{_FIRST[first]}_{_SECOND[second]}{digits}"

    def followers(self, index: int) -> int:
        """Pareto-like: median about 60, one in a hundred above 4,000."""
        return self._followers[index]


def _mix64(index: int, salt: int) -> int:
    """A fixed pseudo-random 64-bit number for (index, salt) (splitmix64 finaliser)."""
    z = (index * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _units(index: np.ndarray, salt: int) -> np.ndarray:
    """`_mix64` over an array of indexes, as numbers in [0, 1) (uint64 arithmetic wraps as intended)."""
    z = index * np.uint64(0x9E3779B97F4A7C15) + np.uint64((salt * 0xBF58476D1CE4E5B9 + 1) & 0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


# ---- time profile ----------------------------------------------------------------------------------


def local_rate(local_hour: np.ndarray) -> np.ndarray:
    """Relative posting rate by Asia/Jakarta hour: quiet 01-05, busy late morning and evening."""

    def bump(mu: float, k: float) -> np.ndarray:
        return np.exp(k * (np.cos(2 * np.pi * (local_hour - mu) / 24) - 1))

    return 0.04 + bump(12.0, 1.4) + 0.8 * bump(20.5, 2.2)


def minute_weights(start: datetime) -> np.ndarray:
    """Probability of each minute of a 24-hour day that begins at `start` (UTC)."""
    offset = start.hour + start.minute / 60 + JAKARTA_UTC_OFFSET
    minutes = np.arange(1440, dtype=np.float64)
    rate = local_rate((offset + (minutes + 0.5) / 60) % 24)
    return rate / rate.sum()


def arrival_offsets(rng: np.random.Generator, n: int, seconds: float) -> np.ndarray:
    """Sorted report offsets in [0, seconds): a fast rise, then a long tail (Beta(1.6, 3.6))."""
    return np.sort(rng.beta(1.6, 3.6, size=n) * seconds).astype(np.int64)


# ---- ids and urls (synthetic, unique for any stream below a billion records) ------------------------

TWITTER_EPOCH_MS = 1_288_834_974_657
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
LANG_TAGGED = frozenset({"x", "bluesky", "mastodon"})  # platforms whose API gives a language


def make_id(platform: str, ts: int, seq: int, author: str, author_index: int) -> tuple[str, str]:
    """(id, url) in the platform's own shape; `seq` is the record's unique sequence number."""
    if platform == "x":
        snowflake = ((ts * 1000 + seq % 1000 - TWITTER_EPOCH_MS) << 22) | ((seq // 1000) & 0x3FFFFF)
        return str(snowflake), f"https://x.com/{author}/status/{snowflake}"
    if platform == "mastodon":
        status = ((ts * 1000 + seq % 1000) << 16) | ((seq // 1000) & 0xFFFF)
        instance = _MASTODON_INSTANCES[author_index % len(_MASTODON_INSTANCES)]
        return str(status), f"https://{instance}/@{author}/{status}"
    if platform == "bluesky":
        tid = _tid(ts * 1_000_000 + seq % 1_000_000, (seq // 1_000_000) & 0x3FF)
        did = _did(author_index)
        return f"at://did:plc:{did}/app.bsky.feed.post/{tid}", f"https://bsky.app/profile/{author}/post/{tid}"
    if platform == "reddit":
        post = _base36(2_000_000_000 + seq)
        subreddit = _SUBREDDITS[author_index % len(_SUBREDDITS)]
        return f"t3_{post}", f"https://www.reddit.com/r/{subreddit}/comments/{post}/"
    url = f"https://forum.komunitas-dompet.example/t/{10_000_000 + seq}"
    return url, url


def _tid(micros: int, clock: int) -> str:
    value = (micros << 10) | clock
    return "".join(_TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


@lru_cache(maxsize=1 << 16)
def _did(author_index: int) -> str:
    value = (_mix64(author_index, 3) << 64) | _mix64(author_index, 4)
    return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in range(24))


# ---- records -----------------------------------------------------------------------------------------


class Draft(NamedTuple):
    """A record before it has an id: what was said, by whom, when."""

    ts: int
    platform: str
    author: int
    text: str
    lang: str
    complaint: bool
    source: str
    outage: str | None
    problem: str | None = None


class StreamRecord(NamedTuple):
    """One generated mention with its truth."""

    id: str
    platform: str
    author: str
    text: str
    ts: int  # created_at, epoch seconds
    url: str
    lang: str  # the truth: "en" | "id"
    lang_tag: str | None  # what the platform reports (None on reddit and rss)
    followers: int
    likes: int
    reposts: int
    replies: int
    complaint: bool
    source: str
    outage: str | None
    problem: str | None = None

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"

    def to_mention(self) -> Mention:
        return Mention(
            id=self.id,
            platform=self.platform,
            author=self.author,
            text=self.text,
            created_at=self.created_at,
            url=self.url,
            lang=self.lang_tag,
            metrics=Metrics(self.followers, self.likes, self.reposts, self.replies),
        )

    def to_dict(self) -> dict[str, Any]:
        """The public JSONL record (same keys and order as monitor.mention_io.mention_to_dict)."""
        return {
            "id": self.id,
            "platform": self.platform,
            "author": self.author,
            "text": self.text,
            "created_at": iso(self.ts),
            "url": self.url,
            "lang": self.lang_tag,
            "metrics": {
                "followers": self.followers,
                "likes": self.likes,
                "reposts": self.reposts,
                "replies": self.replies,
            },
            "in_reply_to": None,
        }

    def truth(self) -> dict[str, Any]:
        return {
            "complaint": self.complaint,
            "source": self.source,
            "outage": self.outage,
            "lang": self.lang,
            "problem": self.problem,
        }

    def to_json(self) -> str:
        """`json.dumps(self.to_dict(), ensure_ascii=False)`, about four times faster."""
        lang = "null" if self.lang_tag is None else f'"{self.lang_tag}"'
        return (
            f'{{"id": {_json_str(self.id)}, "platform": "{self.platform}", "author": {_json_str(self.author)}, '
            f'"text": {_json_str(self.text)}, "created_at": "{iso(self.ts)}", "url": {_json_str(self.url)}, '
            f'"lang": {lang}, "metrics": {{"followers": {self.followers}, "likes": {self.likes}, '
            f'"reposts": {self.reposts}, "replies": {self.replies}}}, "in_reply_to": null}}'
        )

    def truth_json(self) -> str:
        return _truth_json(self.complaint, self.source, self.outage, self.lang, self.problem)


_json_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for strings


@lru_cache(maxsize=256)
def _truth_json(complaint: bool, source: str, outage: str | None, lang: str, problem: str | None) -> str:
    return json.dumps(
        {"complaint": complaint, "source": source, "outage": outage, "lang": lang, "problem": problem},
        ensure_ascii=False,
    )


# ---- outages ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class OutagePlan:
    """Where an outage sits and its reports (ids come when the stream is generated)."""

    spec: OutageSpec
    start: int
    end: int
    requested: int
    available: int | None  # size of the real cluster; None for templated outages
    source: str
    reports: list[Draft] = field(default_factory=list)


def outage_day(position: int, days: int) -> int:
    """Default placement: days 4-7 in turn (0-based 3-6), or the last day of a stream under 5 days."""
    candidates = list(range(3, min(days, 7))) if days >= 5 else [days - 1]
    return candidates[position % len(candidates)]


def _next_local_time(ts: int, local_hour: float) -> int:
    """The first moment at or after `ts` when the Asia/Jakarta clock shows `local_hour`."""
    local_seconds = (ts + JAKARTA_UTC_OFFSET * HOUR) % DAY
    return ts + (round(local_hour * HOUR) - local_seconds) % DAY


def plan_outages(config: StreamConfig, corpus: Corpus, authors: AuthorPool) -> list[OutagePlan]:
    plans = []
    stream_end = config.start_ts + config.days * DAY
    for position, spec in enumerate(config.outages):
        rng = np.random.default_rng([config.seed, 1_000_003, position])
        day = spec.day if spec.day is not None else outage_day(position, config.days)
        start = min(_next_local_time(config.start_ts + day * DAY, spec.local_start), stream_end - HOUR)
        end = min(start + int(spec.hours * HOUR), stream_end)
        requested = max(spec.min_reports, round(spec.share * config.per_day))
        chosen = _outage_texts(spec, corpus, config, rng, requested, start)
        offsets = arrival_offsets(rng, len(chosen.texts), end - start)
        who = _outage_authors(rng, authors, len(chosen.texts), chosen.real_authors, spec.repeat_share)
        plan = OutagePlan(spec, start, end, requested, chosen.available, chosen.source)
        for offset, text, lang, author in zip(offsets.tolist(), chosen.texts, chosen.langs, who, strict=True):
            plan.reports.append(
                Draft(start + offset, authors.platform(author), author, text, lang, True, chosen.source, spec.name)
            )
        plans.append(plan)
    return plans


class OutageTexts(NamedTuple):
    texts: list[str]  # in arrival order
    langs: list[str]
    real_authors: list[str] | None  # the real cluster's author per text (airline only)
    available: int | None  # size of the real cluster
    source: str


def _outage_texts(
    spec: OutageSpec, corpus: Corpus, config: StreamConfig, rng: np.random.Generator, requested: int, start: int
) -> OutageTexts:
    if spec.kind == "airline_cluster":
        tweets = _ordered_subset(rng, corpus.airline_cluster, requested)
        texts = [_vary_real(rng, t.text, config) for t in tweets]
        return OutageTexts(
            texts,
            ["en"] * len(texts),
            [t.author for t in tweets],
            len(corpus.airline_cluster),
            "twitter_us_airline_sentiment",
        )
    if spec.kind == "water_cluster":
        texts = [_vary_real(rng, t, config) for t in _ordered_subset(rng, corpus.water_cluster, requested)]
        return OutageTexts(texts, ["id"] * len(texts), None, len(corpus.water_cluster), "id_bandung_complaint_tweets")
    return _templated_texts(spec, config, rng, requested, start)


def _templated_texts(
    spec: OutageSpec, config: StreamConfig, rng: np.random.Generator, requested: int, start: int
) -> OutageTexts:
    """`requested` distinct reports from the kind's EN/ID templates."""
    templates = OTP_TEMPLATES if spec.kind == "otp_templates" else QRIS_TEMPLATES
    hour = int((datetime.fromtimestamp(start, UTC).hour + JAKARTA_UTC_OFFSET) % 24)
    texts, langs, seen = [], [], set()
    for _ in range(requested):
        lang = "id" if rng.random() < spec.id_share else "en"
        text = ""
        for _attempt in range(50):
            text = render_template(_pick(rng, templates[lang]), lang, rng, config.brand_handle, config.brand_name, hour)
            if text not in seen:
                break
        else:
            text = f"{text} ({len(texts) + 1})"
        seen.add(text)
        texts.append(text)
        langs.append(lang)
    return OutageTexts(texts, langs, None, None, SYNTHETIC)


def _ordered_subset(rng: np.random.Generator, items: Sequence[Any], n: int) -> list[Any]:
    """`n` of `items` (all when n >= len), keeping their order."""
    if n >= len(items):
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), size=n, replace=False).tolist())]


def _vary_real(rng: np.random.Generator, text: str, config: StreamConfig) -> str:
    """The background's variation applied to a real outage text, so variation tells nothing apart."""
    has_handle = config.brand_handle.lower() in text.lower()
    return vary_text(
        text, True, has_handle, float(rng.random()), float(rng.random()), int(rng.integers(1 << 30)), False, config
    )


def _outage_authors(
    rng: np.random.Generator, authors: AuthorPool, n: int, keys: list[str] | None, repeat_share: float
) -> list[int]:
    """Real airline cluster: each real author becomes one synthetic author (their repeats stay).
    Otherwise distinct authors, except `repeat_share` of the reports (never the first) by someone
    who already reported, as people do when it is still broken."""
    if keys is not None:
        unique = list(dict.fromkeys(keys))
        mapping = dict(zip(unique, authors.distinct(rng, len(unique)), strict=True))
        return [mapping[key] for key in keys]
    repeats = round(repeat_share * n) if n >= 10 else 0
    fresh = iter(authors.distinct(rng, n - repeats))
    repeat_at = set(rng.choice(np.arange(1, n), size=repeats, replace=False).tolist()) if repeats else set()
    out: list[int] = []
    for position in range(n):
        out.append(out[int(rng.integers(len(out)))] if position in repeat_at else next(fresh))
    return out


# ---- background -------------------------------------------------------------------------------------

COMPLAINT_EMOJI = ("🙏", "😡", "😤", "😭", "🙄", "😩", "🥲", "😑", "‼️", "🤦")
OTHER_EMOJI = ("🙂", "👍", "😂", "❤️", "🙏", "😊", "🤣", "✨", "😁", "👌")
RECENT = HOUR  # a text used within this long is not drawn again if another can be
TRIES = 4  # texts drawn before falling back to a variation


def vary_text(
    text: str,
    complaint: bool,
    has_handle: bool,
    handle_u: float,
    emoji_u: float,
    alt: int,
    forced: bool,
    config: StreamConfig,
) -> str:
    """Add the brand handle (front or back) and/or a trailing emoji, as real mentions vary.

    `forced`: the text was used in the last hour, so always add an emoji and pick the handle
    position from `alt`, which makes an exact repeat unlikely.
    """
    emojis = COMPLAINT_EMOJI if complaint else OTHER_EMOJI
    if forced:
        mode = 0 if has_handle else (alt >> 8) % 3
        emoji: str | None = emojis[(alt >> 4) % len(emojis)]
    else:
        mode = 0
        if not has_handle and handle_u < config.handle_share:
            mode = 1 if handle_u < config.handle_share * 0.75 else 2
        emoji = emojis[alt % len(emojis)] if emoji_u < config.emoji_share else None
    if mode == 1:
        text = f"{config.brand_handle} {text}"
    elif mode == 2:
        text = f"{text} {config.brand_handle}"
    return f"{text} {emoji}" if emoji else text


class TextPicker:
    """Draws background texts from the four pools, avoiding texts used in the last hour."""

    def __init__(self, corpus: Corpus, config: StreamConfig) -> None:
        self.config = config
        self.pools = [corpus.pools[key] for key in POOL_KEYS]
        for key, pool in zip(POOL_KEYS, self.pools, strict=True):
            if not pool:
                raise ValueError(f"no background texts for {key} in {data_dir(config.data)}")
        handle = config.brand_handle.lower()
        self.has_handle = [[handle in item.text.lower() for item in pool] for pool in self.pools]
        self.last_used = [[-(10**12)] * len(pool) for pool in self.pools]

    def pick(self, pool_id: int, ts: int, draws: Sequence[float]) -> tuple[Text, bool, bool]:
        """(text, it carries the brand handle, it was used within the last hour anyway)."""
        pool, last = self.pools[pool_id], self.last_used[pool_id]
        index = 0
        for u in draws:
            index = int(u * len(pool))
            if ts - last[index] >= RECENT:
                last[index] = ts
                return pool[index], self.has_handle[pool_id][index], False
        last[index] = ts
        return pool[index], self.has_handle[pool_id][index], True


def background_day(
    day_start: int,
    config: StreamConfig,
    picker: TextPicker,
    authors: AuthorPool,
    weights: np.ndarray,
    rng: np.random.Generator,
) -> list[Draft]:
    """`per_day` background drafts for the 24 hours from `day_start`, in time order."""
    n = config.per_day
    minutes = rng.choice(1440, size=n, p=weights)
    times = np.sort(day_start + minutes * 60 + rng.integers(0, 60, size=n)).tolist()
    is_id = rng.random(n) < config.id_share
    complaint = rng.random(n) < config.complaint_share
    pool_ids = (is_id.astype(np.int64) * 2 + (~complaint).astype(np.int64)).tolist()
    draws = rng.random((n, TRIES)).tolist()
    handle_u, emoji_u = rng.random(n).tolist(), rng.random(n).tolist()
    alts = rng.integers(0, 1 << 30, size=n).tolist()
    who = authors.sample(rng, n).tolist()
    pick, platform_of, draft = picker.pick, authors.platform, Draft  # local names: this loop runs per mention
    drafts = []
    for i in range(n):
        item, has_handle, forced = pick(pool_ids[i], times[i], draws[i])
        text = vary_text(item.text, item.complaint, has_handle, handle_u[i], emoji_u[i], alts[i], forced, config)
        author = who[i]
        drafts.append(
            draft(
                times[i], platform_of(author), author, text, item.lang, item.complaint, item.source, None, item.problem
            )
        )
    return drafts


# ---- the stream -------------------------------------------------------------------------------------


_ORDER = operator.itemgetter(4, 1, 0)  # StreamRecord (ts, platform, id)


class VolumeStream:
    """A planned stream: data loaded and outages placed at construction; records made on iteration.

    Iterating twice gives the same records (each iteration starts from the seed again).
    """

    def __init__(self, config: StreamConfig | None = None) -> None:
        self.config = config or StreamConfig()
        self.corpus = load_corpus(data_dir(self.config.data), self.config.brand_handle, self.config.brand_name)
        self.authors = AuthorPool(self.config.author_pool, self.config.platforms)
        self.outages = plan_outages(self.config, self.corpus, self.authors)

    def __iter__(self) -> Iterator[StreamRecord]:
        config = self.config
        picker = TextPicker(self.corpus, config)
        weights = minute_weights(config.start)
        by_day: dict[int, list[Draft]] = {}
        for plan in self.outages:
            for draft in plan.reports:
                by_day.setdefault((draft.ts - config.start_ts) // DAY, []).append(draft)
        seq = 0
        for day in range(config.days):
            rng = np.random.default_rng([config.seed, day])
            drafts = background_day(config.start_ts + day * DAY, config, picker, self.authors, weights, rng)
            drafts += by_day.get(day, [])
            records = self._finish_day(drafts, seq, rng)
            seq += len(records)
            yield from records

    def _finish_day(self, drafts: list[Draft], seq: int, rng: np.random.Generator) -> list[StreamRecord]:
        """Ids (in time order, ties broken at random), metrics, then the final order."""
        tiebreak = rng.random(len(drafts)).tolist()
        order = [
            i
            for *_, i in sorted(
                zip([d.ts for d in drafts], [d.platform for d in drafts], tiebreak, range(len(drafts)), strict=True)
            )
        ]
        likes = (rng.geometric(0.45, len(drafts)) - 1).tolist()
        reposts = (rng.geometric(0.8, len(drafts)) - 1).tolist()
        replies = (rng.geometric(0.7, len(drafts)) - 1).tolist()
        records = []
        name_of, followers_of, record = self.authors.name, self.authors.followers, StreamRecord
        for k, i in enumerate(order):
            d = drafts[i]
            author = name_of(d.author, d.platform)
            mention_id, url = make_id(d.platform, d.ts, seq + k, author, d.author)
            records.append(
                record(
                    mention_id,
                    d.platform,
                    author,
                    d.text,
                    d.ts,
                    url,
                    d.lang,
                    d.lang if d.platform in LANG_TAGGED else None,
                    followers_of(d.author),
                    likes[k],
                    reposts[k],
                    replies[k],
                    d.complaint,
                    d.source,
                    d.outage,
                    d.problem,
                )
            )
        records.sort(key=_ORDER)
        return records

    def outage_truth(self, members: dict[str, list[StreamRecord]]) -> list[dict[str, Any]]:
        """Per outage: its window, reports and distinct authors, from the records seen."""
        out = []
        for plan in self.outages:
            seen = members.get(plan.spec.name, [])
            out.append(
                {
                    "name": plan.spec.name,
                    "kind": plan.spec.kind,
                    "source": plan.source,
                    "problem": AIRLINE_PROBLEM if plan.spec.kind == "airline_cluster" else plan.spec.name,
                    "start": iso(plan.start),
                    "end": iso(plan.end),
                    "first_report": iso(seen[0].ts) if seen else None,
                    "last_report": iso(seen[-1].ts) if seen else None,
                    "reports": len(seen),
                    "requested": plan.requested,
                    "available": plan.available,
                    "authors": len({(r.platform, r.author) for r in seen}),
                    "langs": dict(sorted(Counter(r.lang for r in seen).items())),
                    "members": [r.id for r in seen],
                }
            )
        return out


def iter_records(config: StreamConfig | None = None) -> Iterator[StreamRecord]:
    """Every record with its truth, in (created_at, platform, id) order; one day in memory at a time."""
    return iter(VolumeStream(config))


def iter_mentions(config: StreamConfig | None = None) -> Iterator[Mention]:
    """The stream as `monitor.models.Mention`s, in (created_at, platform, id) order."""
    return (record.to_mention() for record in iter_records(config))


def generate_mentions(config: StreamConfig | None = None) -> list[Mention]:
    """The whole stream as a list (for up to a few hundred thousand mentions; else iter_mentions)."""
    return list(iter_mentions(config))


def generate(config: StreamConfig | None = None) -> tuple[list[Mention], dict[str, Any]]:
    """The mentions and the truth (same shape as the --truth file)."""
    stream = VolumeStream(config)
    mentions, records_truth = [], {}
    members: dict[str, list[StreamRecord]] = {}
    for record in stream:
        mentions.append(record.to_mention())
        records_truth[record.id] = record.truth()
        if record.outage:
            members.setdefault(record.outage, []).append(record)
    truth = {"params": stream.config.params(), "records": records_truth, "outages": stream.outage_truth(members)}
    return mentions, truth


def write_stream(
    config: StreamConfig | None,
    out: IO[str] | None,
    truth: IO[str] | None = None,
    stats: StreamStats | None = None,
) -> dict[str, Any]:
    """Write the JSONL (and the truth JSON) as the stream is generated; returns the truth without
    the per-record part. Memory stays at one day of records whatever the size."""
    stream = VolumeStream(config)
    members: dict[str, list[StreamRecord]] = {}
    count = 0
    if truth is not None:
        truth.write('{"params": ' + json.dumps(stream.config.params(), ensure_ascii=False) + ',\n "records": {')
    for record in stream:
        if out is not None:
            out.write(record.to_json() + "\n")
        if truth is not None:
            truth.write(("\n  " if count == 0 else ",\n  ") + _json_str(record.id) + ": " + record.truth_json())
        if record.outage:
            members.setdefault(record.outage, []).append(record)
        if stats is not None:
            stats.add(record)
        count += 1
    outages = stream.outage_truth(members)
    if truth is not None:
        truth.write('\n },\n "outages": ' + json.dumps(outages, ensure_ascii=False) + "}\n")
    return {"params": stream.config.params(), "count": count, "outages": outages}


# ---- --check: a sanity summary --------------------------------------------------------------------------

_STOPWORDS = frozenset(
    "the and for you your that this with are was have has not but can get got just what when will from they "
    "our out all now how why who its it's i'm don't can't been one any there their been would could about "
    "yang dan di ke dari ini itu ada aja juga sudah udah tidak tdk gak ga nya untuk utk dengan sama saya "
    "aku kami kita mau bisa lagi tapi tp kok kalau kalo jadi karena krn pak min kang yg dgn dr sdh jg pa "
    "atau akan masih belum blm buat sih deh dong banget bgt mohon tolong punten nuhun teh amp http https "
    "sangat lebih".split()
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NOT_WORDS = re.compile(r"https?://\S+|@\w+")


class DuplicateWindow:
    """The same text posted by different authors less than an hour apart (sliding window)."""

    def __init__(self) -> None:
        self._recent: dict[str, deque[tuple[int, str]]] = {}
        self._next_prune = 0
        self.max_authors, self.worst, self.repeats = 1, "", 0

    def add(self, ts: int, author: str, text: str) -> None:
        if ts >= self._next_prune:
            self._recent = {t: q for t, q in self._recent.items() if ts - q[-1][0] < HOUR}
            self._next_prune = ts + 600
        queue = self._recent.setdefault(text, deque())
        while queue and ts - queue[0][0] >= HOUR:
            queue.popleft()
        earlier = {who for _, who in queue}
        if earlier and author not in earlier:
            self.repeats += 1
        queue.append((ts, author))
        distinct = len(earlier | {author})
        if distinct > self.max_authors:
            self.max_authors, self.worst = distinct, text

    def describe(self, total: int) -> str:
        worst = f"; worst {self.worst[:80]!r}" if self.max_authors > 1 else ""
        return (
            f"max {self.max_authors} authors on one text; {self.repeats:,} of {total:,} mentions repeat "
            f"another author's text of the last hour{worst}"
        )


class StreamStats:
    """One pass over the records: counts and shares, outage spans, background duplicates, top words."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.background_by_day: Counter[int] = Counter()
        self.outage_by_day: Counter[int] = Counter()
        self.total = self.complaints = self.background = self.background_complaints = 0
        self.langs: Counter[str] = Counter()
        self.lang_tagged = 0
        self.platforms: Counter[str] = Counter()
        self.local_hours: Counter[int] = Counter()
        self.posts: Counter[tuple[str, str]] = Counter()
        self.sources: Counter[str] = Counter()
        self.words: Counter[str] = Counter()
        self.outage_times: dict[str, list[int]] = {}
        self.exact = DuplicateWindow()
        self.base = DuplicateWindow()  # the same, ignoring the added brand handle and emoji
        self._variation = re.compile(
            "|".join(re.escape(x) for x in (config.brand_handle, *COMPLAINT_EMOJI, *OTHER_EMOJI)), re.I
        )

    def add(self, r: StreamRecord) -> None:
        self.total += 1
        self.complaints += r.complaint
        self.langs[r.lang] += 1
        self.lang_tagged += r.lang_tag is not None
        self.platforms[r.platform] += 1
        self.posts[(r.platform, r.author)] += 1
        day = (r.ts - self.config.start_ts) // DAY
        if r.outage:
            self.outage_by_day[day] += 1
            self.outage_times.setdefault(r.outage, []).append(r.ts)
            return
        self.background += 1
        self.background_complaints += r.complaint
        self.background_by_day[day] += 1
        self.sources[r.source] += 1
        self.local_hours[((r.ts // HOUR) + JAKARTA_UTC_OFFSET) % 24] += 1
        self.words.update(
            w for w in _WORD.findall(_NOT_WORDS.sub(" ", r.text.lower())) if len(w) > 2 and w not in _STOPWORDS
        )
        self.exact.add(r.ts, r.author, r.text)
        self.base.add(r.ts, r.author, " ".join(self._variation.sub(" ", r.text).lower().split()))

    def report(self, outages: list[dict[str, Any]]) -> str:
        lines = [self._header()]
        lines += self._days()
        lines += self._shares()
        lines += self._outages(outages)
        lines.append("background duplicates by different authors less than 1 h apart (sliding window):")
        lines.append(f"  exact text:               {self.exact.describe(self.background)}")
        lines.append(f"  ignoring handle and emoji: {self.base.describe(self.background)}")
        top = ", ".join(f"{w} {n:,}" for w, n in self.words.most_common(10))
        lines.append(f"top background words (stopwords, handles, links removed): {top}")
        return "\n".join(lines)

    def _header(self) -> str:
        c = self.config
        return (
            f"stream: per_day={c.per_day:,} days={c.days} seed={c.seed} start={iso(c.start_ts)} -> "
            f"{self.total:,} mentions ({self.background:,} background + {self.total - self.background:,} "
            f"outage reports)"
        )

    def _days(self) -> list[str]:
        out = ["per day (UTC date: background + outage = total):"]
        for day in range(self.config.days):
            date = iso(self.config.start_ts + day * DAY)[:10]
            bg, ot = self.background_by_day[day], self.outage_by_day[day]
            out.append(f"  {date}  {bg:>8,} + {ot:>5,} = {bg + ot:>8,}")
        return out

    def _shares(self) -> list[str]:
        def share(counter: Counter[str], total: int) -> str:
            return ", ".join(f"{k} {v / total:.3f}" for k, v in counter.most_common())

        authors = len(self.posts)
        once = sum(1 for n in self.posts.values() if n == 1)
        hours = [self.local_hours[h] / max(1, self.background) * 100 for h in range(24)]
        return [
            f"complaint share: all {self.complaints / self.total:.3f}, background "
            f"{self.background_complaints / max(1, self.background):.3f}",
            f"language share (truth): {share(self.langs, self.total)}; lang field set on "
            f"{self.lang_tagged / self.total:.3f} (x, bluesky, mastodon)",
            f"platform share: {share(self.platforms, self.total)}",
            f"background sources: {share(self.sources, max(1, self.background))}",
            f"authors: {authors:,} distinct, {once / authors:.2f} posted once, busiest posted "
            f"{max(self.posts.values()):,} times ({max(self.posts.values()) / self.config.days:.1f}/day)",
            "background by Asia/Jakarta hour (% of background, 00..23): " + " ".join(f"{h:.1f}" for h in hours),
        ]

    def _outages(self, outages: list[dict[str, Any]]) -> list[str]:
        out = ["outages:"]
        for o in outages:
            span = "-"
            if o["first_report"]:
                first = datetime.fromisoformat(o["first_report"].replace("Z", "+00:00"))
                last = datetime.fromisoformat(o["last_report"].replace("Z", "+00:00"))
                span = f"{o['first_report']} -> {o['last_report'][11:]} ({(last - first).total_seconds() / 3600:.1f} h)"
            cap = f", real cluster {o['available']}" if o["available"] is not None else ""
            out.append(
                f"  {o['name']}: {o['reports']} reports (wanted {o['requested']}{cap}), "
                f"{o['authors']} authors, window {o['start']} -> {o['end'][11:]}, reports {span}, "
                f"langs {o['langs']}"
            )
            start = int(datetime.fromisoformat(o["start"].replace("Z", "+00:00")).timestamp())
            bins = Counter((ts - start) // 1800 for ts in self.outage_times.get(o["name"], []))
            curve = " ".join(str(bins[i]) for i in range(max(bins, default=-1) + 1))
            out.append(f"    reports per 30 min from the window start: {curve}")
        return out


# ---- CLI -----------------------------------------------------------------------------------------------


def _parse_start(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-day", type=int, default=2000, help="background mentions per day")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=_parse_start, default=DEFAULT_START, help="ISO time, default 2026-01-05T00:00Z")
    parser.add_argument("--complaint-share", type=float, default=0.5)
    parser.add_argument("--id-share", type=float, default=0.5, help="share of the background in Indonesian")
    parser.add_argument("--authors", type=int, default=None, help="author pool (default per_day*days/2)")
    parser.add_argument("--no-outages", action="store_true", help="background only")
    parser.add_argument(
        "--data", type=Path, default=None, help="datasets folder (default $COMPLAINT_MONITOR_DATA or ../shared/data)"
    )
    parser.add_argument("--out", help="mention JSONL to write ('-': stdout)")
    parser.add_argument("--truth", type=Path, help="truth JSON to write")
    parser.add_argument("--check", action="store_true", help="print a sanity summary")
    args = parser.parse_args(argv)
    if not (args.out or args.truth or args.check):
        parser.error("nothing to do: give --out, --truth and/or --check")
    config = StreamConfig(
        per_day=args.per_day,
        days=args.days,
        seed=args.seed,
        start=args.start,
        complaint_share=args.complaint_share,
        id_share=args.id_share,
        authors=args.authors,
        outages=() if args.no_outages else DEFAULT_OUTAGES,
        data=args.data,
    )
    started = time.perf_counter()
    stats = StreamStats(config) if args.check else None
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8") if args.out else None
    truth = args.truth.open("w", encoding="utf-8") if args.truth else None
    try:
        result = write_stream(config, out, truth, stats)
    finally:
        for handle in (out, truth):
            if handle is not None and handle is not sys.stdout:
                handle.close()
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if stats is not None:
        print(stats.report(result["outages"]), file=sys.stdout if args.out != "-" else sys.stderr)
    print(
        f"{result['count']:,} mentions in {elapsed:.1f} s ({result['count'] / elapsed:,.0f}/s), "
        f"peak RSS {peak_mb:.0f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
