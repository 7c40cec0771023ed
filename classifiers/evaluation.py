"""The benchmark behind `complaint-monitor evaluate` and bench/bench_classifiers.py.

Every quality figure is stratified k-fold cross-validation (folds fixed by a
seed) or a train-on-the-rest / test-on-the-set split; the TF-IDF baseline is
measured on exactly the same folds in the same run. Hyperparameters of our
model are chosen inside each training fold (nested CV), never on a test fold.
Speed and memory are measured in a fresh subprocess on the shipped model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline, make_union

from classifiers import datasets
from classifiers.training import (
    DEFAULT_C,
    EXAMPLE_WEIGHT,
    TrainingSet,
    add_public_complaint_sets,
    add_review_sets,
    own_examples,
    train_complaint_scorer,
    train_severity_scorer,
)

Progress = Callable[[str], None]
# A recipe: train on (texts, labels, weights), return a scorer of new texts (higher = complaint).
Recipe = Callable[[list[str], np.ndarray, np.ndarray], Callable[[list[str]], np.ndarray]]


@dataclass(slots=True)
class Row:
    task: str
    metric: str
    baseline: float | None
    ours: float | None
    note: str = ""


def baseline_recipe(texts: list[str], y: np.ndarray, w: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """Word 1-2-gram + char 2-5-gram TF-IDF logistic regression (the usual strong linear baseline)."""
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=3000),
    )
    model.fit(texts, y, logisticregression__sample_weight=w)
    return lambda new: model.decision_function(new)


def baseline_multiclass(texts: list[str], labels: list[str]) -> Callable[[list[str]], list[str]]:
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=3000),
    )
    model.fit(texts, labels)
    return lambda new: list(model.predict(new))


@lru_cache(maxsize=1)
def _shipped():  # type: ignore[no-untyped-def]
    from classifiers import load_classifier

    return load_classifier()


def shipped_language(texts: Sequence[str]) -> list[str]:
    """The language the shipped classifier gives each text (it picks the complaint head)."""
    return _shipped().scores(list(texts)).langs


def ours_recipe(lang: str, auxiliary: TrainingSet | None = None) -> Recipe:
    def recipe(texts: list[str], y: np.ndarray, w: np.ndarray) -> Callable[[list[str]], np.ndarray]:
        # ACL and Bandung rows are stream-like in the shipped recipe (TrainingSet.stream)
        stream = [True] * len(texts)
        return train_complaint_scorer(texts, y, w, lang, shipped_language, auxiliary=auxiliary, stream=stream)

    return recipe


def _macro_f1(y: np.ndarray, scores: np.ndarray) -> float:
    return float(f1_score(y, (scores > 0).astype(int), average="macro"))


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |observed complaint rate - predicted probability| over equal-width bins, weighted by bin size."""
    which = np.minimum((probability * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(y[members].mean() - probability[members].mean())
    return float(error)


def cross_validate_scores(
    texts: Sequence[str], y: Sequence[int], recipes: dict[str, Recipe], folds: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Out-of-fold scores of each recipe (same folds for all)."""
    texts = list(texts)
    y_arr = np.asarray(y)
    scores = {name: np.zeros(len(texts)) for name in recipes}
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y_arr)), y_arr):
        train_texts = [texts[i] for i in train]
        test_texts = [texts[i] for i in test]
        for name, recipe in recipes.items():
            scorer = recipe(train_texts, y_arr[train], np.ones(len(train)))
            scores[name][test] = scorer(test_texts)
    return scores


def cross_validate(
    texts: Sequence[str], y: Sequence[int], recipes: dict[str, Recipe], folds: int, seed: int = 0
) -> dict[str, float]:
    scores = cross_validate_scores(texts, y, recipes, folds, seed)
    return {name: _macro_f1(np.asarray(y), s) for name, s in scores.items()}


def _auxiliary_for(exclude: str) -> TrainingSet:
    """The shippable training data minus one set (for cross-validating on that set)."""
    aux = TrainingSet()
    add_public_complaint_sets(aux, exclude)
    add_review_sets(aux)
    aux.add_labelled("examples", own_examples(), EXAMPLE_WEIGHT, balance=True)
    return aux


def _cross_domain(progress: Progress) -> list[Row]:
    train = _auxiliary_for("")
    texts, y, w = train.texts, np.array(train.labels), np.array(train.weights)
    progress("cross-domain: training on all shippable sets")
    ours = train_complaint_scorer([], np.zeros(0, dtype=int), np.zeros(0), None, shipped_language, auxiliary=train)
    base = baseline_recipe(texts, y, w)
    rows = []
    for loader, note in (
        (datasets.telco, "ID telco tweets, negative vs positive (eval-only set)"),
        (datasets.airline, "EN airline tweets, negative vs positive (eval-only set)"),
    ):
        ds = loader()
        truth = np.array(ds.complaint)
        rows.append(
            Row(
                f"cross-domain {ds.name}",
                "macro-F1",
                _macro_f1(truth, base(ds.texts)),
                _macro_f1(truth, ours(ds.texts)),
                note,
            )
        )
    return rows


def _severity(folds: int) -> Row:
    ds = datasets.cesamard()
    pairs = [(t, s) for t, s in zip(ds.texts, ds.severity, strict=False) if s is not None]
    texts = [t for t, _ in pairs]
    labels = np.array([s for _, s in pairs])
    base_pred = np.empty(len(labels), dtype=object)
    ours_pred = np.empty(len(labels), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(labels)), labels):
        train_texts = [texts[i] for i in train]
        test_texts = [texts[i] for i in test]
        base_pred[test] = baseline_multiclass(train_texts, list(labels[train]))(test_texts)
        ours_pred[test] = train_severity_scorer(train_texts, list(labels[train]))(test_texts)
    return Row(
        "CESAMARD severity (4 levels)",
        "macro-F1",
        float(f1_score(labels, base_pred.astype(str), average="macro")),
        float(f1_score(labels, ours_pred.astype(str), average="macro")),
        f"{folds}-fold over {len(labels)} complaints",
    )


def _language() -> Row:
    from monitor.models import Mention

    clf = _shipped()
    truth, texts = [], []
    for ds in (datasets.acl2019(), datasets.bandung()):
        texts.extend(ds.texts)
        truth.extend([ds.lang] * len(ds.texts))
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    verdicts = clf.classify([Mention(str(i), "x", "a", t, stamp) for i, t in enumerate(texts)])
    share = float(np.mean([v.lang == lang for v, lang in zip(verdicts, truth, strict=False)]))
    return Row("language (ACL en + Bandung id)", "accuracy", None, share, f"{len(texts)} texts, shipped model")


def _mentions(texts: Sequence[str]) -> list:  # type: ignore[type-arg]
    from monitor.models import Mention

    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    return [Mention(str(i), "x", "a", t, stamp) for i, t in enumerate(texts)]


def _keywords_only():  # type: ignore[no-untyped-def]
    """The shipped complaint model with the keyword rules alone for category and urgency (a complaint no
    urgency keyword places is medium): what the learned heads are measured against."""
    from dataclasses import replace

    from classifiers import Classifier, model_directory
    from classifiers.model import load_model
    from classifiers.settings import ClassifierSettings

    settings = ClassifierSettings()
    settings.urgency.default_level = "medium"
    bundle = replace(load_model(model_directory(settings)), category=None, urgency=None, severity=None)
    return Classifier(bundle, settings)


def _categories() -> list[Row]:
    """Category accuracy of the shipped model on sets it never saw, against the keyword rules alone."""
    rows = []
    learned, keywords = _shipped(), _keywords_only()
    for data, note in (
        (datasets.aspect_categories(("test",)), "IndoNLU hotel + car reviews, test split, aspect → category"),
        (datasets.airline_categories(), "EN airline complaints whose reason maps to a category (eval-only set)"),
    ):
        mentions = _mentions(data.texts)
        ours = [v.category for v in learned.classify(mentions)]
        base = [v.category for v in keywords.classify(mentions)]
        rows.append(
            Row(
                f"category: {data.name} ({len(data.texts)})",
                "accuracy",
                float(np.mean([p == t for p, t in zip(base, data.categories, strict=False)])),
                float(np.mean([p == t for p, t in zip(ours, data.categories, strict=False)])),
                f"{note}; baseline = keywords alone",
            )
        )
    return rows


def sample_key_scores(clf) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The bundled sample stream (examples/) against its hand-labelled key, as the pipeline classifies it."""
    from monitor.mention_io import read_mentions

    root = datasets.Path(__file__).resolve().parents[1] / "examples"
    with (root / "sample_labels.jsonl").open(encoding="utf-8") as handle:
        key = {(r["platform"], r["id"]): r for r in map(json.loads, handle)}
    with (root / "sample_mentions.jsonl").open(encoding="utf-8") as handle:
        mentions = [m for m in read_mentions(handle) if (m.platform, m.id) in key]
    levels = ["none", "low", "medium", "high", "critical"]
    tp = fp = fn = exact = near = right = 0
    for mention, verdict in zip(mentions, clf.classify(mentions), strict=True):
        truth = key[(mention.platform, mention.id)]
        tp += truth["complaint"] and verdict.is_complaint
        fp += not truth["complaint"] and verdict.is_complaint
        fn += truth["complaint"] and not verdict.is_complaint
        if truth["complaint"]:
            gap = abs(levels.index(truth["urgency"]) - levels.index(verdict.urgency.value))
            exact += gap == 0
            near += gap <= 1
            right += truth["category"] == verdict.category
    complaints = tp + fn
    precision, recall = tp / max(tp + fp, 1), tp / max(complaints, 1)
    return {
        "complaints": complaints,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-9),
        "urgency_exact": exact / complaints,
        "urgency_within_one": near / complaints,
        "category": right / complaints,
    }


def _sample_key() -> list[Row]:
    ours, base = sample_key_scores(_shipped()), sample_key_scores(_keywords_only())
    note = f"bundled sample stream vs its hand-labelled key ({ours['complaints']:.0f} complaints)"
    return [
        Row(
            "sample stream: complaint",
            "F1",
            None,
            ours["f1"],
            f"{note}; P {ours['precision']:.3f} R {ours['recall']:.3f}",
        ),
        Row(
            "sample stream: urgency",
            "exact",
            base["urgency_exact"],
            ours["urgency_exact"],
            f"within one level: {base['urgency_within_one']:.3f} → {ours['urgency_within_one']:.3f}; "
            "baseline = keyword rules alone",
        ),
        Row("sample stream: category", "accuracy", base["category"], ours["category"], "baseline = keywords alone"),
    ]


_SPEED_SCRIPT = r"""
import json, resource, sys, time
from datetime import datetime, timezone
t0 = time.perf_counter()
from classifiers import load_classifier
t1 = time.perf_counter()
clf = load_classifier()
load_s = time.perf_counter() - t1
import_s = t1 - t0
from monitor.models import Mention
texts = json.loads(sys.stdin.read())
now = datetime(2026, 1, 1, tzinfo=timezone.utc)
mentions = [Mention(id=str(i), platform="x", author="a", text=t, created_at=now) for i, t in enumerate(texts)]
clf.classify(mentions[:512])
best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for start in range(0, len(mentions), 4096):
        clf.classify(mentions[start:start + 4096])
    best = max(best, len(mentions) / (time.perf_counter() - t))
# peak RSS of this process (VmHWM: ru_maxrss would carry the parent's peak across exec)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                rss_mb = int(line.split()[1]) / 1024
except OSError:
    pass
print(json.dumps({"per_s": best, "load_s": load_s, "import_s": import_s, "rss_mb": rss_mb}))
"""


def _speed(texts: list[str], quick: bool) -> tuple[dict[str, float], float]:
    sample = texts if not quick else texts[:5000]
    result = subprocess.run(
        [sys.executable, "-c", _SPEED_SCRIPT],
        input=json.dumps(sample),
        capture_output=True,
        text=True,
        check=True,
        cwd=str(datasets.Path(__file__).resolve().parents[1]),
    )
    ours = json.loads(result.stdout.strip().splitlines()[-1])
    train = _auxiliary_for("")
    base = baseline_recipe(train.texts, np.array(train.labels), np.array(train.weights))
    base(sample[:512])
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for start in range(0, len(sample), 4096):
            base(sample[start : start + 4096])
        best = max(best, len(sample) / (time.perf_counter() - t))
    return ours, best


def run_benchmark(folds: int = 10, quick: bool = False, progress: Progress | None = None) -> str:
    say = progress or (lambda _msg: None)
    rows: list[Row] = []
    for loader in (datasets.acl2019, datasets.bandung):
        ds = loader()
        say(f"{ds.name}: {folds}-fold cross-validation")
        truth = np.asarray(ds.complaint)
        scores = cross_validate_scores(
            ds.texts,
            list(ds.complaint),
            {"baseline": baseline_recipe, "ours": ours_recipe(ds.lang, _auxiliary_for(ds.name))},
            folds,
        )
        rows.append(
            Row(
                f"{ds.name} ({len(ds.texts)})",
                f"{folds}-fold macro-F1",
                _macro_f1(truth, scores["baseline"]),
                _macro_f1(truth, scores["ours"]),
                "baseline: word+char TF-IDF LR; ours: trained on the training folds + the other shippable sets",
            )
        )
        rows.append(
            Row(
                f"{ds.name} calibration",
                "ECE (lower is better)",
                None,
                expected_calibration_error(truth, 1.0 / (1.0 + np.exp(-scores["ours"]))),
                "out-of-fold complaint_score vs observed complaint rate, 10 bins",
            )
        )
    rows.extend(_cross_domain(say))
    say("CESAMARD severity")
    rows.append(_severity(folds))
    rows.append(_language())
    say("categories and the sample stream (shipped model)")
    rows.extend(_categories())
    rows.extend(_sample_key())
    say("speed (shipped model, fresh process)")
    acl, bandung = datasets.acl2019(), datasets.bandung()
    texts = (acl.texts + bandung.texts) * (1 if quick else 3)
    speed, base_speed = _speed(texts, quick)
    rows.append(
        Row(
            "speed: lang+complaint+urgency+category",
            "mentions/s",
            base_speed,
            speed["per_s"],
            f"ratio {speed['per_s'] / base_speed:.2f}x; baseline = complaint score only; "
            f"{len(texts) if not quick else 5000} mentions, no source lang",
        )
    )
    rows.append(
        Row(
            "model load (shipped)",
            "seconds",
            None,
            speed["load_s"],
            f"plus {speed['import_s']:.2f} s importing the package (numpy, scipy, pydantic)",
        )
    )
    rows.append(Row("resident memory, peak (shipped, classifying)", "MB", None, speed["rss_mb"]))
    say("operating point: this model against the previous release, every evaluation set")
    from classifiers.operating_bench import kinds_tables, measure, operating_table

    operating = measure()
    return "\n\n".join(
        [
            format_table(rows),
            "Operating point (precision / recall; complaint = flagged):\n\n" + operating_table(operating),
            kinds_tables(operating),
        ]
    )


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    if metric == "mentions/s":
        return f"{value:,.0f}"
    if metric == "accuracy" or metric.startswith("ECE"):
        return f"{value:.3f}"
    if metric in ("seconds", "MB"):
        return f"{value:.2f}" if metric == "seconds" else f"{value:.0f}"
    return f"{value:.3f}"


def format_table(rows: Sequence[Row]) -> str:
    lines = ["| task | metric | baseline | ours | note |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.task} | {row.metric} | {_cell(row.baseline, row.metric)} | {_cell(row.ours, row.metric)} "
            f"| {row.note} |"
        )
    return "\n".join(lines)


__all__ = ["DEFAULT_C", "Row", "cross_validate", "format_table", "run_benchmark"]
