"""Classifier bench: quality against the published complaint-detection results, and speed, in one run.

    python bench/bench_classifiers.py            # 10-fold, full speed sample (several minutes)
    python bench/bench_classifiers.py --quick    # 3-fold, small speed sample
    complaint-monitor evaluate [--quick]         # the same table

Rows (every figure comes from this run; the TF-IDF baseline, word 1-2-grams +
char_wb 2-5-grams with logistic regression, is measured on the same folds):

- complaints_acl2019 / id_bandung_complaint_tweets: stratified k-fold CV over
  the set (Bandung deduplicated first). In each fold our recipe trains on the
  training folds plus the other shippable sets, exactly as the shipped model
  is trained; the baseline trains on the training folds only.
- cross-domain: trained on every shippable set, tested on a set it never saw
  (telco and airline are evaluation-only licences: never used for training).
- CESAMARD severity: 4-level macro-F1, k-fold over its complaints.
- language: share of ACL (en) and Bandung (id) texts detected correctly.
- speed / load / memory: the shipped model in a fresh process, classifying
  mentions with no source language (language + complaint + urgency + category);
  the baseline figure is the TF-IDF pipeline's complaint score alone.
- operating point (issue #15), printed after the main table: precision and
  recall on every evaluation set (sample key, held-out Santapin set, IndoNLU
  SmSA test, US airline, ID telco), per language on the two keys, and the
  critical complaints rated at least high, for three contenders in the same
  run: the previous release's model (read from git `main`, at its own
  thresholds, with this release's rules), this model at a fixed 0.5, and this model at its shipped
  per-language thresholds (classifier.target_recall). Then the "kinds of
  misses" tables on the sample key and on bench/data/heldout_santapin.jsonl
  (eval-only: never trained on).

The shared data folder is ../shared/data beside the repository, or
$COMPLAINT_MONITOR_DATA.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers.evaluation import run_benchmark  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 folds and a small speed sample")
    parser.add_argument("--folds", type=int, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    table = run_benchmark(
        folds=args.folds or (3 if args.quick else 10),
        quick=args.quick,
        progress=lambda msg: print(f"[{time.perf_counter() - started:6.0f}s] {msg}", file=sys.stderr, flush=True),
    )
    print(table)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
