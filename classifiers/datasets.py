"""Readers for the shared research datasets used to train and evaluate the classifiers.

The data lives outside the repository (`../shared/data` beside it, or
$COMPLAINT_MONITOR_DATA) and is never copied in. Each reader returns plain
lists. Sets whose licence forbids commercial use are marked `eval_only` and
must never feed a shipped model.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

DATA_ENV_VAR = "COMPLAINT_MONITOR_DATA"
_CSV_FIELD_LIMIT = 10_000_000


class DataMissingError(FileNotFoundError):
    """The shared datasets are not where they are expected."""


def data_dir() -> Path:
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _path(*parts: str) -> Path:
    path = data_dir().joinpath(*parts)
    if not path.is_file():
        raise DataMissingError(
            f"dataset file not found: {path.resolve()} (set ${DATA_ENV_VAR} to the shared data folder)"
        )
    return path


@dataclass(slots=True)
class Dataset:
    name: str
    lang: str
    texts: list[str]
    complaint: list[int]
    severity: list[str | None] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    eval_only: bool = False


def acl2019() -> Dataset:
    """Complaints on Social Media (Preoţiuc-Pietro et al., ACL 2019): 3,449 English tweets."""
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    texts, labels, domains = [], [], []
    with _path("complaints_acl2019", "complaints-data.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            texts.append(row[1])
            labels.append(int(row[2]))
            domains.append(row[3])
    return Dataset("complaints_acl2019", "en", texts, labels, group=domains)


def _dedup(texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
    """One row per distinct text; texts whose copies disagree take the majority label (ties dropped)."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for text, label in zip(texts, labels, strict=False):
        votes[text.strip()][label] += 1
    out_texts, out_labels = [], []
    for text, counter in votes.items():
        (best, n), *rest = counter.most_common()
        if rest and rest[0][1] == n:
            continue
        out_texts.append(text)
        out_labels.append(best)
    return out_texts, out_labels


def bandung() -> Dataset:
    """Indonesian complaint tweets to the Bandung city government, deduplicated; keluhan = complaint."""
    with _path("id_bandung_complaint_tweets", "tweets_csv_siap.csv").open(encoding="utf-8-sig", newline="") as h:
        rows = list(csv.reader(h, delimiter=";"))
    texts, classes = _dedup([r[0] for r in rows[1:] if len(r) >= 2], [r[1] for r in rows[1:] if len(r) >= 2])
    return Dataset("id_bandung_complaint_tweets", "id", texts, [int(c == "keluhan") for c in classes], group=classes)


SEVERITY_LEVELS = ("No explicit reproach", "Disapproval", "Accusation", "Blame")


def cesamard() -> Dataset:
    """CESAMARD-Aspect product reviews (English): complaint label and 4-level severity."""
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    texts, labels, severity, domains = [], [], [], []
    with _path("cesamard_aspect_complaints", "CESAMARD-Aspect_Dataset.csv").open(encoding="utf-8", newline="") as h:
        rows = csv.reader(h)
        next(rows)
        for row in rows:
            title, body = row[5].strip(), row[6].replace("\\n", " ").strip()
            texts.append(f"{title}. {body}" if title else body)
            labels.append(int(row[7]))
            severity.append(row[11] if row[11] in SEVERITY_LEVELS else None)
            domains.append(row[4])
    return Dataset("cesamard_aspect_complaints", "en", texts, labels, severity=severity, group=domains)


def _indonlu_texts(folder: str, text_first: bool, delimiter: str) -> list[str]:
    texts = []
    for split in ("train", "valid"):
        name = f"{split}_preprocess.{'tsv' if delimiter == chr(9) else 'csv'}"
        with _path(folder, name).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            if delimiter != "\t":
                next(reader)
            for row in reader:
                if len(row) >= 2:
                    texts.append(row[0] if text_first else row[1])
    return texts


def indonesian_corpus() -> list[str]:
    """Unlabelled Indonesian text (IndoNLU sentiment and emotion sets) for vocabulary statistics."""
    return _indonlu_texts("indonlu_smsa", True, "\t") + _indonlu_texts("indonlu_emot", False, ",")


def smsa() -> Dataset:
    """IndoNLU SmSA review sentences; negative sentiment stands in for 'complaint' (an auxiliary signal)."""
    texts, labels = [], []
    for split in ("train", "valid"):
        with _path("indonlu_smsa", f"{split}_preprocess.tsv").open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) >= 2:
                    texts.append(row[0])
                    labels.append(int(row[1] == "negative"))
    return Dataset("indonlu_smsa", "id", texts, labels)


def smsa_test() -> Dataset:
    """IndoNLU SmSA test split (never trained on): negative review sentences vs the rest."""
    texts, labels = [], []
    with _path("indonlu_smsa", "test_preprocess.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) >= 2:
                texts.append(row[0])
                labels.append(int(row[1] == "negative"))
    return Dataset("indonlu_smsa_test", "id", texts, labels)


def telco() -> Dataset:
    """Indonesian cellular-provider tweets, negative vs positive. Personal use only: evaluation only."""
    texts, labels = [], []
    path = _path("id_telco_provider_sentiment", "dataset_tweet_sentiment_cellular_service_provider.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["Text Tweet"])
            labels.append(int(row["Sentiment"].strip() == "negative"))
    return Dataset("id_telco_provider_sentiment", "id", texts, labels, eval_only=True)


def airline() -> Dataset:
    """US airline tweets, negative (complaint) vs positive; neutral dropped. Non-commercial: evaluation only."""
    texts, labels, reasons = [], [], []
    with _path("twitter_us_airline_sentiment", "Tweets.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            sentiment = row["airline_sentiment"]
            if sentiment == "neutral":
                continue
            texts.append(row["text"])
            labels.append(int(sentiment == "negative"))
            reasons.append(row["negativereason"])
    return Dataset("twitter_us_airline_sentiment", "en", texts, labels, group=reasons, eval_only=True)


def slang_lexicon() -> list[tuple[str, str]]:
    """(slang, formal) pairs of the colloquial Indonesian lexicon, the most frequent formal form per slang."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    with _path("id_colloquial_lexicon", "colloquial-indonesian-lexicon.csv").open(encoding="utf-8", newline="") as h:
        for row in csv.DictReader(h):
            slang, formal = row["slang"].strip().lower(), row["formal"].strip().lower()
            if slang and formal and slang != formal:
                counts[slang][formal] += 1
    return sorted((slang, c.most_common(1)[0][0]) for slang, c in counts.items())


# Aspect → category of the default taxonomy. Aspects with no clear counterpart ("general",
# "others") are left out rather than guessed.
HOTEL_ASPECT_CATEGORY = {
    "ac": "product_quality",
    "air_panas": "product_quality",
    "bau": "product_quality",
    "kebersihan": "product_quality",
    "linen": "product_quality",
    "tv": "product_quality",
    "sunrise_meal": "product_quality",
    "service": "customer_service",
    "wifi": "app_bug_outage",
}
CAR_ASPECT_CATEGORY = {
    "fuel": "product_quality",
    "machine": "product_quality",
    "part": "product_quality",
    "price": "pricing_fees",
    "service": "customer_service",
}


@dataclass(slots=True)
class CategorySet:
    name: str
    lang: str
    texts: list[str]
    categories: list[str]
    eval_only: bool = False


def _aspect_rows(folder: str, splits: tuple[str, ...], mapping: dict[str, str]) -> tuple[list[str], list[str]]:
    """Texts whose negative aspects all map to one category (a review that complains about one thing)."""
    texts, categories = [], []
    for split in splits:
        with _path(folder, f"{split}_preprocess.csv").open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            text_column = (reader.fieldnames or ["review"])[0]
            for row in reader:
                negative = {a for a in row if a != text_column and (row[a] or "").startswith("neg")}
                found = {mapping[a] for a in negative if a in mapping}
                if len(found) == 1 and negative <= set(mapping):
                    texts.append(row[text_column])
                    categories.append(found.pop())
    return texts, categories


def aspect_categories(splits: tuple[str, ...] = ("train", "valid")) -> CategorySet:
    """IndoNLU hotel (HoASA) and car (CaSA) reviews that complain about one aspect, as a category."""
    hotel = _aspect_rows("indonlu_hoasa", splits, HOTEL_ASPECT_CATEGORY)
    car = _aspect_rows("indonlu_casa", splits, CAR_ASPECT_CATEGORY)
    return CategorySet("indonlu_aspects", "id", hotel[0] + car[0], hotel[1] + car[1])


AIRLINE_REASON_CATEGORY = {
    "Customer Service Issue": "customer_service",
    "Flight Attendant Complaints": "customer_service",
    "Lost Luggage": "delivery",
    "Damaged Luggage": "product_quality",
}
"""Airline complaint reasons with a clear counterpart in the default taxonomy (late or cancelled
flights, booking problems and "bad flight" have none, so they are not scored)."""


def airline_categories() -> CategorySet:
    """US airline complaints whose stated reason maps to a category. Non-commercial: evaluation only."""
    data = airline()
    texts, categories = [], []
    for text, label, reason in zip(data.texts, data.complaint, data.group, strict=False):
        if label and reason in AIRLINE_REASON_CATEGORY:
            texts.append(text)
            categories.append(AIRLINE_REASON_CATEGORY[reason])
    return CategorySet("twitter_us_airline_sentiment", "en", texts, categories, eval_only=True)
