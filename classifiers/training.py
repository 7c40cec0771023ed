"""The training recipe: from labelled texts to a `ModelBundle`.

Default recipe (`default_training_set`): the English ACL-2019 complaint
tweets, the deduplicated Indonesian Bandung complaint tweets, IndoNLU SmSA
review sentences (negative = complaint, weight 0.3: consumer vocabulary the
city-government tweets lack), the CESAMARD reviews (complaint or not, weight
0.3; their severity, as low or medium urgency, weight 0.3), IndoNLU hotel and
car reviews that complain about one aspect (as a category, weight 0.3), the
project's own hand-written examples (classifiers/examples*.jsonl: complaint,
urgency, category) and any extra labelled rows (the user's own data, stored
human labels).
Evaluation-only sets are never used here.

Complaint heads: one over all rows, and one per language (en, id) over that
language's rows plus rows of unknown language; a mention is scored by the
head of its language. A "stream" head is trained on the rows addressed to a
brand or service account or found by a search like a brand's (the examples,
team labels, ACL's tweets, Bandung's tweets to the city's account; not the
review sentences); each language head is calibrated on 5-fold out-of-fold scores of
those rows with the stream head's score as a second input (Platt scaling,
stacked). Each language's threshold is then the one that reaches
`classifier.target_recall` on the out-of-fold scores of the examples and team
labels of that language (`operating_points`); team labels weigh LABEL_WEIGHT.
The urgency head (low…critical) and the category head are one-vs-rest
logistic regressions over the same features, so one pass over a mention's
features scores all of them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers import datasets
from classifiers.features import FeatureSpec, Featurizer, string_hashes
from classifiers.model import ALL_LANGUAGES, HEAD_FOR_LANGUAGE, STREAM_HEAD, LinearHead, ModelBundle
from classifiers.operating import OperatingPoint, recall_threshold
from classifiers.settings import DEFAULT_TARGET_RECALL

EXAMPLES_PATH = Path(__file__).resolve().parent / "examples.jsonl"
RECALL_EXAMPLES_PATH = Path(__file__).resolve().parent / "examples_recall.jsonl"
"""Hand-written examples of the kinds issue #15 found missed: outage warnings and questions, sarcasm, problems
stated as plain facts, calm legal/regulator/leak/health complaints, and their non-complaint look-alikes."""
STREAM_EXAMPLES_PATH = Path(__file__).resolve().parent / "examples_stream.jsonl"
"""Hand-written brand-stream posts that are not complaints though they use a problem's words (praise of a fast
delivery or refund, a problem already solved, news articles, how-to questions, chatter, advice to someone
else), with complaints stated as plainly or ironically; calm legal threats and harm from a product consumed."""
DEFAULT_C = 10.0
TRAINING_SPEC = FeatureSpec(negation_scope=3)
"""The features a new model is trained with (a loaded model keeps the ones in its manifest)."""
EXAMPLE_WEIGHT = 3.0
LABEL_WEIGHT = 10.0
"""Weight of a team label (stored with `label`, or a row of `train --data`): a public row weighs 1, a shipped
example 3. A team's labels come from its own stream, so they outweigh everything else."""
MIN_STREAM_ROWS = 40
"""Below this many stream-like complaints of a language (examples and team labels), its threshold is chosen on
all of that language's held-out rows instead."""
AUXILIARY_WEIGHT = 0.3
SEVERITY_C = 10.0
CATEGORY_C = 10.0
URGENCY_C = 10.0
URGENCY_LEVELS = ("low", "medium", "high", "critical")
"""Levels the urgency head chooses between (a complaint's urgency is never `none`)."""
# CESAMARD's severity levels as urgency: reviews of products, nothing stolen or unsafe in them
SEVERITY_AS_URGENCY = {"No explicit reproach": "low", "Disapproval": "low", "Accusation": "medium", "Blame": "medium"}
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    is_complaint: bool | None  # None: the label says only the urgency and/or category
    urgency: str | None = None
    category: str | None = None
    lang: str | None = None


@dataclass(slots=True)
class TrainingSet:
    """Texts with complaint labels and per-row weights; severity rows train the severity head."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    langs: list[str | None] = field(default_factory=list)
    severity_texts: list[str] = field(default_factory=list)
    severity_labels: list[str] = field(default_factory=list)
    category_rows: list[tuple[str, str, float]] = field(default_factory=list)
    """(text, category, weight): rows that train the category head."""
    urgency_rows: list[tuple[str, str, float]] = field(default_factory=list)
    """(text, urgency level of a complaint, weight): rows that train the urgency head."""
    stream: list[bool] = field(default_factory=list)
    """Per complaint row: a post like those a brand's search brings in (the shipped examples, team labels, ACL's
    tweets, Bandung's tweets to the city's account; not review sentences), so it trains the stream head and the
    calibration."""
    own: list[bool] = field(default_factory=list)
    """Per complaint row: written like a brand's stream (the shipped examples, team labels), so it picks the
    threshold for the target recall."""
    sources: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        name: str,
        texts: Sequence[str],
        labels: Sequence[int],
        weight: float = 1.0,
        lang: str | Sequence[str | None] | None = None,
        stream: bool = False,
        own: bool = False,
    ) -> None:
        self.langs.extend([lang] * len(texts) if lang is None or isinstance(lang, str) else lang)
        self.stream.extend([stream or own] * len(texts))
        self.own.extend([own] * len(texts))
        self.texts.extend(texts)
        self.labels.extend(int(v) for v in labels)
        self.weights.extend([weight] * len(texts))
        self.sources[name] += len(texts)

    def add_labelled(self, name: str, rows: Sequence[LabelledText], weight: float, balance: bool = False) -> None:
        """Rows with whatever they are labelled with: complaint, urgency (complaints only), category.

        `balance`: for the complaint head, both classes get the same total weight, so the share of complaints
        among these rows (an accident of how they were written) does not move the model's prior.
        """
        judged = [r for r in rows if r.is_complaint is not None]
        labels = [int(bool(r.is_complaint)) for r in judged]
        positives = sum(labels)
        if balance and 0 < positives < len(labels):
            negatives = len(labels) - positives
            per_class = {1: weight * len(labels) / (2 * positives), 0: weight * len(labels) / (2 * negatives)}
            groups = ((1, [r for r in judged if r.is_complaint]), (0, [r for r in judged if not r.is_complaint]))
            for label, group in groups:
                texts = [r.text for r in group]
                self.add(name, texts, [label] * len(group), per_class[label], [r.lang for r in group], own=True)
        else:
            self.add(name, [r.text for r in judged], labels, weight, [r.lang for r in judged], own=True)
        self.category_rows.extend((r.text, r.category, weight) for r in rows if r.category)
        self.urgency_rows.extend(
            (r.text, r.urgency, weight) for r in rows if r.urgency in URGENCY_LEVELS and r.is_complaint is not False
        )


def own_examples() -> list[LabelledText]:
    """The hand-written examples shipped with the package (clear cases in both languages)."""
    rows = []
    lines = EXAMPLES_PATH.read_text(encoding="utf-8").splitlines()
    lines += RECALL_EXAMPLES_PATH.read_text(encoding="utf-8").splitlines()
    lines += STREAM_EXAMPLES_PATH.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.strip():
            record = json.loads(line)
            rows.append(
                LabelledText(
                    record["text"],
                    bool(record["complaint"]),
                    record.get("urgency"),
                    record.get("category"),
                    record.get("lang"),
                )
            )
    return rows


def slang_table(pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Word-hash → word-hash arrays for single-word slang forms."""
    single = [(s, f) for s, f in pairs if len(s.split()) == 1 and s.isalnum()]
    keys = string_hashes([s for s, _ in single])
    values = string_hashes([f for _, f in single])
    keep = (keys != 0) & (values != 0) & (keys != values)
    keys, values = keys[keep], values[keep]
    _, first = np.unique(keys, return_index=True)
    return keys[first], values[first]


def language_vocabulary(
    featurizer: Featurizer,
    corpora: dict[str, Sequence[str]],
    extra: dict[str, Sequence[str]] | None = None,
    size: int = 4000,
) -> dict[str, np.ndarray]:
    """Per language, hashes of frequent words that are rare in the other languages' corpora."""
    counts: dict[str, Counter[int]] = {}
    totals: dict[str, int] = {}
    for lang, texts in corpora.items():
        tokens = featurizer.tokens(texts)
        per_doc = np.unique(np.stack([tokens.doc.astype(np.uint64), tokens.raw]), axis=1)[1]
        counts[lang] = Counter(per_doc.tolist())
        totals[lang] = len(texts)
    vocab: dict[str, np.ndarray] = {}
    for lang, counter in counts.items():
        chosen: list[int] = []  # word hashes
        for word, n in counter.most_common():
            if n < 3 or len(chosen) >= size:
                break
            rate = n / totals[lang]
            other = max((counts[o][word] / totals[o] for o in counts if o != lang), default=0.0)
            if rate >= 8 * other:
                chosen.append(word)
        hashes = set(chosen)
        if extra and lang in extra:
            others = set().union(*(set(counts[o]) for o in counts if o != lang))
            hashes.update(int(h) for h in string_hashes(list(extra[lang])) if int(h) not in others and h != 0)
        vocab[lang] = np.array(sorted(hashes), dtype=np.uint64)
    return vocab


def fit_idf(featurizer: Featurizer, texts: Sequence[str]) -> np.ndarray:
    """Smoothed idf of every column over `texts` (0 for columns never seen)."""
    X = featurizer.transform(texts)
    df = np.bincount(X.indices, minlength=featurizer.spec.n_features).astype(np.float64)
    n = len(texts)
    return np.where(df > 0, np.log((1 + n) / (1 + df)) + 1.0, 0.0).astype(np.float32)


def _used_columns(X) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Columns that occur in X: fitting on these alone is the same model, several times faster."""
    return np.flatnonzero(np.bincount(X.indices, minlength=X.shape[1]))


def fit_binary(X, y: np.ndarray, weights: np.ndarray, C: float) -> LinearHead:  # type: ignore[no-untyped-def]
    used = _used_columns(X)
    model = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=5000)
    model.fit(X[:, used], y, sample_weight=weights)
    coef = np.zeros(X.shape[1], dtype=np.float32)
    coef[used] = model.coef_[0]
    return LinearHead(coef, np.asarray(model.intercept_[0]))


def fit_platt(scores: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    model = LogisticRegression(C=1e4, solver="lbfgs").fit(scores.reshape(-1, 1), y, sample_weight=w)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def out_of_fold_scores(X, y: np.ndarray, weights: np.ndarray, C: float, folds: int = 5, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    scores = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        head = fit_binary(X[train], y[train], weights[train], C)
        scores[test] = X[test] @ head.coef + float(head.intercept)
    return scores


def fit_multiclass(  # type: ignore[no-untyped-def]
    X, labels: Sequence[str], C: float, weights: Sequence[float] | None = None, classes: Sequence[str] | None = None
) -> LinearHead:
    """One-vs-rest logistic regression: one column of weights per class (classes with no row score -inf)."""
    classes = list(classes) if classes is not None else sorted(set(labels))
    y = np.array(labels)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    coef = np.zeros((X.shape[1], len(classes)), dtype=np.float32)
    intercept = np.zeros(len(classes))
    for k, name in enumerate(classes):
        target = (y == name).astype(int)
        if target.all() or not target.any():
            intercept[k] = 30.0 if target.all() else -30.0
            continue
        head = fit_binary(X, target, w, C)
        coef[:, k] = head.coef
        intercept[k] = float(head.intercept)
    return LinearHead(coef, intercept, classes)


def fit_rows(
    featurizer: Featurizer, rows: Sequence[tuple[str, str, float]], C: float, classes: Sequence[str] | None = None
) -> LinearHead:
    """A one-vs-rest head over (text, class, weight) rows."""
    texts, labels, weights = zip(*rows, strict=False)
    return fit_multiclass(featurizer.transform(list(texts)), labels, C, weights, classes)


def fit_severity(X, labels: Sequence[str], C: float = SEVERITY_C) -> LinearHead:  # type: ignore[no-untyped-def]
    """One-vs-rest logistic regression over the severity levels."""
    return fit_multiclass(X, labels, C)


ASPECT_ROWS_PER_CATEGORY = 300
"""Hotel-room complaints (AC, linen, hot water) are four in five aspect rows; more of them made every
complaint look like product quality."""


def _evenly_capped(rows: list[tuple[str, str]], per_class: int) -> list[tuple[str, str]]:
    """At most `per_class` rows of each class, spread evenly over the list (deterministic)."""
    by_class: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row[1], []).append(row)
    kept: list[tuple[str, str]] = []
    for members in by_class.values():
        step = max(1.0, len(members) / per_class)
        kept.extend(members[int(i * step)] for i in range(min(per_class, len(members))))
    return kept


ACL_RANDOM = ("random_tweet", "random_reply")
"""ACL-2019 domains of tweets sampled at random rather than addressed to a brand."""


def add_acl(data: TrainingSet, texts: Sequence[str], labels: Sequence[int], domains: Sequence[str]) -> None:
    """ACL-2019 rows, all stream-like: its tweets to brands, and its random tweets, which stand for the off-topic
    posts a brand search also brings in (without them the stream head flags any tweet it has not seen)."""
    data.add("complaints_acl2019", list(texts), list(labels), lang="en", stream=True)


def add_public_complaint_sets(data: TrainingSet, exclude: str = "") -> None:
    """The shippable complaint sets: ACL-2019 (English) and Bandung (Indonesian, tweets to the city's account)."""
    if exclude != "complaints_acl2019":
        acl = datasets.acl2019()
        add_acl(data, acl.texts, acl.complaint, acl.group)
    if exclude != "id_bandung_complaint_tweets":
        bandung = datasets.bandung()
        data.add(bandung.name, bandung.texts, bandung.complaint, lang="id", stream=True)


def add_review_sets(data: TrainingSet) -> None:
    """Consumer reviews for the complaint heads, at a low weight: IndoNLU SmSA (negative sentiment stands in for
    "complaint") and CESAMARD's English product reviews (its complaint label). Both say that praise of a product
    in the words of a problem (fast, arrived, no fee, not bad) is not a complaint, which the tweet sets,
    where a post to a brand is mostly a complaint, hardly show."""
    smsa = datasets.smsa()
    data.add(smsa.name, smsa.texts, smsa.complaint, AUXILIARY_WEIGHT, "id")
    cesamard = datasets.cesamard()
    data.add("cesamard_complaints", cesamard.texts, cesamard.complaint, AUXILIARY_WEIGHT, "en")


def default_training_set(extra: Sequence[LabelledText] = (), include_shared: bool = True) -> TrainingSet:
    data = TrainingSet()
    if include_shared:
        add_public_complaint_sets(data)
        add_review_sets(data)
        cesamard = datasets.cesamard()
        for text, severity in zip(cesamard.texts, cesamard.severity, strict=False):
            if severity is not None:
                data.severity_texts.append(text)
                data.severity_labels.append(severity)
                data.urgency_rows.append((text, SEVERITY_AS_URGENCY[severity], AUXILIARY_WEIGHT))
        aspects = datasets.aspect_categories()
        kept = _evenly_capped(list(zip(aspects.texts, aspects.categories, strict=False)), ASPECT_ROWS_PER_CATEGORY)
        data.category_rows.extend((t, c, AUXILIARY_WEIGHT) for t, c in kept)
        data.sources[aspects.name] += len(kept)
    data.add_labelled("examples", own_examples(), EXAMPLE_WEIGHT, balance=True)
    if extra:
        data.add_labelled("labelled", extra, LABEL_WEIGHT)
    return data


@lru_cache(maxsize=1)
def _slang() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    try:
        pairs = datasets.slang_lexicon()
    except datasets.DataMissingError:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64), ()
    keys, values = slang_table(pairs)
    return keys, values, tuple(s for s, _ in pairs)


@dataclass(slots=True)
class ComplaintModel:
    featurizer: Featurizer
    heads: dict[str, LinearHead]
    held_out: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per head: (its training rows, their calibrated out-of-fold probabilities)."""
    priors: dict[str, float] = field(default_factory=dict)
    """Per head: the weighted complaint share of its training rows (the prior its calibration assumes)."""

    def logits(self, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """Log-odds of the calibrated complaint probability (> 0: complaint at threshold 0.5), head by language."""
        occ = self.featurizer.occurrences(texts)
        out = np.zeros(len(texts))
        stream = self.heads.get(STREAM_HEAD)
        stream_score = occ.dot(stream.coef) + float(stream.intercept) if stream is not None else None
        for name, head in self.heads.items():
            rows = np.array([i for i, lang in enumerate(langs) if _head_name(lang, self.heads) == name], dtype=np.int64)
            if len(rows) and name != STREAM_HEAD:
                raw = occ.dot(head.coef)[rows] + float(head.intercept)
                out[rows] = head.platt[0] * raw + head.platt[1]
                if stream_score is not None:
                    out[rows] += head.stream_weight * stream_score[rows]
        return out


def _head_name(lang: str | None, heads: Mapping[str, LinearHead]) -> str:
    name = HEAD_FOR_LANGUAGE.get(lang or "", ALL_LANGUAGES)
    return name if name in heads else ALL_LANGUAGES


OOF_REPEATS = 3
"""The shipped model's held-out scores (calibration, thresholds) average this many 5-fold splits: with one, the
threshold for the target recall moved by 0.03 when four examples were added."""
MIN_HEAD_ROWS = 200
"""A language gets its own complaint head only with at least this many labelled rows of it."""


def _fit_head(X, y: np.ndarray, w: np.ndarray, C: float, repeats: int = 1) -> tuple[LinearHead, np.ndarray]:  # type: ignore[no-untyped-def]
    """The head and its out-of-fold scores (held out: each row scored by a model trained without it), averaged
    over `repeats` different fold splits."""
    scores = np.mean([out_of_fold_scores(X, y, w, C, seed=seed) for seed in range(repeats)], axis=0)
    return fit_binary(X, y, w, C), scores


MIN_STREAM_HEAD_ROWS = 200
"""The stream head is trained only with at least this many stream-like rows (examples, team labels)."""


def _stack(scores: np.ndarray, stream: np.ndarray | None, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Calibration of a head's score, with the stream head's score as a second input: (a, stream weight, b)."""
    if stream is None:
        a, b = fit_platt(scores, y, w)
        return a, 0.0, b
    model = LogisticRegression(C=1e4, solver="lbfgs").fit(np.column_stack([scores, stream]), y, sample_weight=w)
    return float(model.coef_[0][0]), float(model.coef_[0][1]), float(model.intercept_[0])


def fit_complaint_model(
    texts: Sequence[str],
    y: np.ndarray,
    w: np.ndarray,
    langs: Sequence[str | None] | None = None,
    spec: FeatureSpec | None = None,
    C: float = DEFAULT_C,
    idf_texts: Sequence[str] = (),
    stream: Sequence[bool] | None = None,
    repeats: int = 1,
) -> ComplaintModel:
    """One complaint head over every row, plus one per language with enough rows (rows of unknown language join all)."""
    spec = spec or TRAINING_SPEC
    slang_from, slang_to, _ = _slang()
    idf = fit_idf(Featurizer(spec, slang_from, slang_to), list(texts) + list(idf_texts))
    featurizer = Featurizer(spec, slang_from, slang_to, idf)
    X = featurizer.transform(texts)
    y, w = np.asarray(y), np.asarray(w, dtype=np.float64)
    model = ComplaintModel(featurizer, {})
    langs = list(langs) if langs is not None else [None] * len(texts)
    stream_rows = np.flatnonzero(np.asarray(stream, dtype=bool)) if stream is not None else np.zeros(0, np.int64)
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    head, scores = _fit_head(X, y, w, C, repeats)
    model.heads[ALL_LANGUAGES], raw[ALL_LANGUAGES] = head, (np.arange(len(y)), scores)
    for name in sorted(set(HEAD_FOR_LANGUAGE.values())):
        own = np.array([HEAD_FOR_LANGUAGE.get(lang or "") == name for lang in langs])
        rows = np.flatnonzero(own | np.array([lang is None for lang in langs]))
        if own.sum() >= MIN_HEAD_ROWS and len(set(y[rows].tolist())) == 2:
            model.heads[name], scores = _fit_head(X[rows], y[rows], w[rows], C, repeats)
            raw[name] = (rows, scores)
    # the stream head: out-of-fold on its own rows, and never trained on the others (so held out for them too)
    stream_score: np.ndarray | None = None
    if len(stream_rows) >= MIN_STREAM_HEAD_ROWS and len(set(y[stream_rows].tolist())) == 2:
        stream_head, oof = _fit_head(X[stream_rows], y[stream_rows], w[stream_rows], C, repeats)
        stream_score = X @ stream_head.coef + float(stream_head.intercept)
        stream_score[stream_rows] = oof
        model.heads[STREAM_HEAD] = stream_head
    is_stream = np.zeros(len(y), dtype=bool)
    is_stream[stream_rows] = True
    for name, (rows, scores) in raw.items():
        # calibrate (and stack) on the stream-like rows where there are enough: they are what the model will see
        fit_on = np.flatnonzero(is_stream[rows]) if stream_score is not None else np.arange(len(rows))
        if stream_score is not None and len(set(y[rows][fit_on].tolist())) < 2:
            fit_on = np.arange(len(rows))
        extra = stream_score[rows] if stream_score is not None else None
        a, c, b = _stack(scores[fit_on], None if extra is None else extra[fit_on], y[rows][fit_on], w[rows][fit_on])
        model.heads[name].platt, model.heads[name].stream_weight = (a, b), c
        logit = a * scores + b + (c * extra if extra is not None else 0.0)
        model.held_out[name] = (rows, 1.0 / (1.0 + np.exp(-logit)))
        model.priors[name] = float(np.sum(w[rows][fit_on] * y[rows][fit_on]) / np.sum(w[rows][fit_on]))
    return model


def _target_for(target_recall: float | Mapping[str, float], head: str) -> float:
    if isinstance(target_recall, Mapping):
        return float(target_recall.get(head, target_recall.get(ALL_LANGUAGES, DEFAULT_TARGET_RECALL)))
    return float(target_recall)


def operating_points(
    model: ComplaintModel, data: TrainingSet, target_recall: float | Mapping[str, float] = DEFAULT_TARGET_RECALL
) -> dict[str, OperatingPoint]:
    """Per complaint head, the threshold that reaches its target recall on held-out (out-of-fold) scores of the
    rows written like a brand's stream (shipped examples, team labels) of its language; with too few of those,
    on all of its rows."""
    y = np.asarray(data.labels)
    own = np.asarray(data.own, dtype=bool)
    langs = data.langs
    points = {}
    for name, (rows, probability) in model.held_out.items():
        if name == ALL_LANGUAGES:
            mine = np.ones(len(rows), dtype=bool)
        else:
            mine = np.array([HEAD_FOR_LANGUAGE.get(langs[i] or "") == name for i in rows])
        chosen = mine & own[rows]
        if int(np.sum(y[rows][chosen])) < MIN_STREAM_ROWS:
            chosen = mine
        points[name] = recall_threshold(probability[chosen], y[rows][chosen], _target_for(target_recall, name))
    return points


def train_complaint_scorer(
    texts: Sequence[str],
    y: np.ndarray,
    w: np.ndarray,
    lang: str | None,
    route: Callable[[Sequence[str]], Sequence[str]],
    auxiliary: TrainingSet | None = None,
    C: float = DEFAULT_C,
    stream: Sequence[bool] | None = None,
) -> Callable[[Sequence[str]], np.ndarray]:
    """Train as the shipped recipe does (texts of language `lang`, plus `auxiliary`); return a logit scorer.

    `route` gives the language of new texts (the shipped detector), which picks the head as in production.
    `stream` marks which of `texts` are addressed to a brand or service account (see `TrainingSet.stream`).
    """
    all_texts, all_y, all_w = list(texts), np.asarray(y), np.asarray(w, dtype=np.float64)
    langs: list[str | None] = [lang] * len(all_texts)
    flags = list(stream) if stream is not None else [False] * len(all_texts)
    if auxiliary is not None and auxiliary.texts:
        all_texts += auxiliary.texts
        all_y = np.concatenate([all_y, np.array(auxiliary.labels)])
        all_w = np.concatenate([all_w, np.array(auxiliary.weights)])
        langs += auxiliary.langs
        flags += auxiliary.stream
    model = fit_complaint_model(all_texts, all_y, all_w, langs, C=C, stream=flags)
    return lambda new: model.logits(new, route(new))


def train_severity_scorer(texts: Sequence[str], labels: Sequence[str]) -> Callable[[Sequence[str]], list[str]]:
    slang_from, slang_to, _ = _slang()
    spec = TRAINING_SPEC
    featurizer = Featurizer(spec, slang_from, slang_to, fit_idf(Featurizer(spec, slang_from, slang_to), texts))
    head = fit_severity(featurizer.transform(texts), labels)

    def predict(new: Sequence[str]) -> list[str]:
        best = np.argmax(featurizer.occurrences(new).dot(head.coef) + head.intercept, axis=1)
        return [head.classes[k] for k in best]

    return predict


def train_bundle(
    data: TrainingSet,
    spec: FeatureSpec | None = None,
    C: float = DEFAULT_C,
    version: str | None = None,
    progress: Progress | None = None,
    target_recall: float | Mapping[str, float] = DEFAULT_TARGET_RECALL,
) -> ModelBundle:
    say = progress or (lambda _msg: None)
    spec = spec or TRAINING_SPEC
    if len(set(data.labels)) < 2:
        raise ValueError("training needs both complaints and non-complaints")
    slang_from, slang_to, slang_words = _slang()
    say(f"training on {len(data.texts)} texts ({', '.join(f'{k}: {v}' for k, v in data.sources.items())})")
    model = fit_complaint_model(
        data.texts,
        np.array(data.labels),
        np.array(data.weights, dtype=np.float64),
        data.langs,
        spec,
        C,
        data.severity_texts,
        data.stream,
        OOF_REPEATS,
    )
    say(f"complaint heads: {', '.join(model.heads)}")
    points = operating_points(model, data, target_recall)
    for name, point in points.items():
        say(
            f"threshold {name}: {point.threshold:.3f} reaches recall {point.recall:.3f} "
            f"(precision {point.precision:.3f}) "
            f"on {point.complaints} held-out complaints; at 0.5: recall {point.recall_at_half:.3f}, "
            f"precision {point.precision_at_half:.3f}"
        )
    category = urgency = None
    if len({c for _, c, _ in data.category_rows}) >= 2:
        say(f"fitting the category model on {len(data.category_rows)} texts")
        category = fit_rows(model.featurizer, data.category_rows, CATEGORY_C)
    if len({u for _, u, _ in data.urgency_rows}) >= 2:
        say(f"fitting the urgency model on {len(data.urgency_rows)} texts")
        urgency = fit_rows(model.featurizer, data.urgency_rows, URGENCY_C, URGENCY_LEVELS)
    en_texts = [t for t, lang in zip(data.texts, data.langs, strict=False) if lang == "en"] + data.severity_texts
    id_texts = [t for t, lang in zip(data.texts, data.langs, strict=False) if lang == "id"]
    vocab: dict[str, np.ndarray] = {}
    if en_texts and id_texts:
        try:
            id_texts = id_texts + datasets.indonesian_corpus()
        except datasets.DataMissingError:
            pass
        plain = Featurizer(spec, slang_from, slang_to)
        vocab = language_vocabulary(plain, {"en": en_texts, "id": id_texts}, {"id": slang_words})
    stamp = datetime.now(UTC)
    return ModelBundle(
        version=version or f"cm-{stamp:%Y%m%d.%H%M%S}",
        spec=spec,
        idf=model.featurizer.idf if model.featurizer.idf is not None else np.zeros(spec.n_features, np.float32),
        complaint=model.heads,
        threshold=0.5,
        thresholds={name: point.threshold for name, point in points.items()},
        priors=dict(model.priors),
        severity=None,
        category=category,
        urgency=urgency,
        slang_from=slang_from,
        slang_to=slang_to,
        lang_vocab=vocab,
        info={
            "trained_at": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sources": dict(data.sources),
            "C": C,
            "target_recall": dict(target_recall) if isinstance(target_recall, Mapping) else target_recall,
            "operating_points": {name: point.to_dict() for name, point in points.items()},
        },
    )
