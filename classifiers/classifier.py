"""The classify stage: language, complaint score, urgency and category for a batch of mentions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from classifiers.features import Featurizer, Occurrences, prepare_batch
from classifiers.keywords import Hit, PhraseMatcher
from classifiers.language import LanguageDetector
from classifiers.model import ALL_LANGUAGES, HEAD_FOR_LANGUAGE, STREAM_HEAD, ModelBundle
from classifiers.operating import adjust, logit_shift
from classifiers.settings import ClassifierSettings
from monitor.models import Classification, Mention, Urgency

OTHER = "other"
_REPETITION = "repetition"
_CATEGORY = "category:"
CHUNK = 1024
"""Mentions featurised together: big enough to amortise numpy calls, small enough to bound memory."""
_KEYWORD_LEVELS = (Urgency.CRITICAL, Urgency.HIGH, Urgency.MEDIUM)
# (level, its group name): an enum's `.value` is a slow property lookup, and this runs per complaint
_KEYWORD_GROUPS = tuple((level, level.value) for level in _KEYWORD_LEVELS)
# CESAMARD severity levels (Jin & Aletras' taxonomy) → urgency when no keyword says more.
_SEVERITY_URGENCY = {
    "No explicit reproach": Urgency.LOW,
    "Disapproval": Urgency.LOW,
    "Accusation": Urgency.MEDIUM,
    "Blame": Urgency.MEDIUM,
}
_TONE = {
    severity: (level, f"tone: {severity.lower()} → {level.value}") for severity, level in _SEVERITY_URGENCY.items()
}
_NOT_URGENT = Urgency.NONE
_CRITICAL = Urgency.CRITICAL.value
_LEVEL_NAMES = {level.value: level for level in (Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH, Urgency.CRITICAL)}
# `_classify_chunk` builds Classification positionally (keyword arguments cost a sixth of its loop)
_FIELDS = ("lang", "is_complaint", "complaint_score", "urgency", "category", "reasons", "model_version")
if tuple(f.name for f in fields(Classification)) != _FIELDS:
    raise RuntimeError("monitor.models.Classification fields changed: update Classifier._classify_chunk")


@dataclass(frozen=True, slots=True)
class Scores:
    """What the model says about a batch, before any rule: calibrated complaint probability, the urgency
    level (or older models' severity) it reads in the words, and its category probabilities."""

    complaint: np.ndarray
    severity: list[str | None]
    occurrences: Occurrences
    langs: list[str]
    categories: np.ndarray | None = None  # (n, len(Classifier.category_names)): probabilities, rows sum to 1
    thresholds: np.ndarray | None = None  # (n,): each mention's complaint threshold (its language's)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="classify")


@dataclass(frozen=True, slots=True)
class WeightTable:
    """The model's weight columns side by side, as float32: the complaint heads' columns dense (one row per
    feature), the urgency and category columns compact (only the rows of features with a weight in any of
    them, `row_of[feature]` their row, the zero last row for every other feature).

    Most features carry complaint weight but no urgency or category weight: stored dense, those 14 columns
    took 28 MB of every process that classifies; compact, 11 MB (the shipped model)."""

    dense: np.ndarray  # (n_features, n_dense)
    compact: np.ndarray  # (n_rows + 1, n_compact)
    row_of: np.ndarray  # (n_features,) int32

    @classmethod
    def build(cls, dense: Sequence[np.ndarray], compact: Sequence[np.ndarray]) -> WeightTable:
        n_features = dense[0].shape[0]
        dense = [block.reshape(n_features, -1) for block in dense]
        compact = [block.reshape(n_features, -1) for block in compact]
        used_mask = np.zeros(n_features, dtype=bool)
        for block in compact:
            used_mask |= (block != 0).any(axis=1)
        used = np.flatnonzero(used_mask)
        row_of = np.full(n_features, len(used), dtype=np.int32)
        row_of[used] = np.arange(len(used), dtype=np.int32)
        rows = np.zeros((len(used) + 1, _width(compact)), dtype=np.float32)
        _side_by_side(compact, rows[: len(used)], used)
        return cls(_side_by_side(dense, np.empty((n_features, _width(dense)), dtype=np.float32)), rows, row_of)


def _width(blocks: Sequence[np.ndarray]) -> int:
    return sum(block.shape[1] for block in blocks)


def _side_by_side(blocks: Sequence[np.ndarray], out: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Rows `rows` of the (n, k) column blocks side by side into `out`, copied block by block: a stacked
    temporary of every column would be the load's peak."""
    column = 0
    for block in blocks:
        out[:, column : column + block.shape[1]] = block[rows]
        column += block.shape[1]
    return out


def _raise(level: Urgency, steps: int, limit: Urgency) -> tuple[Urgency, str]:
    """`level` raised by `steps` but not past `limit` (never lowered), and how to say so."""
    raised = Urgency.from_rank(max(level.rank, min(level.rank + steps, limit.rank)))
    if raised is level:
        return level, f"+0 (rules raise no higher than {limit.value})" if level.rank >= limit.rank else "+0"
    return raised, f"+{raised.rank - level.rank}"


def _followers(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M".replace(".0M", "M")
    if count >= 1_000:
        return f"{count // 1_000}k"
    return str(count)


class Classifier:
    """A loaded model plus the configured rules. Thread-safe for concurrent `classify` calls."""

    def __init__(self, bundle: ModelBundle, settings: ClassifierSettings) -> None:
        # the bundle itself is not kept: its dense per-head weights are copied into one table below
        self.version = bundle.version
        self.settings = settings
        self.threshold = settings.complaint_threshold or bundle.threshold
        self._featurizer = Featurizer(bundle.spec, bundle.slang_from, bundle.slang_to, bundle.idf)
        self._heads = list(bundle.complaint)
        columns = [bundle.complaint[name].coef[:, None] for name in self._heads]
        intercepts = [np.atleast_1d(bundle.complaint[name].intercept) for name in self._heads]
        self._platt = np.array([bundle.complaint[name].platt for name in self._heads], dtype=np.float64)
        # per head: the threshold for the target recall, and (with `stream_prior`) the shift to the stream's prior
        self.thresholds = {
            name: settings.complaint_threshold or bundle.thresholds.get(name, bundle.threshold)
            for name in self._heads
            if name != STREAM_HEAD
        }
        self.prior_shift = {name: 0.0 for name in self._heads}
        if settings.stream_prior is not None:
            for name in self.thresholds:
                trained = bundle.priors.get(name)
                if trained is not None:
                    self.prior_shift[name] = logit_shift(trained, settings.stream_prior)
                    if settings.complaint_threshold is None:
                        # p(x | complaint) does not change with the prior: the same mentions stay flagged
                        moved = adjust(np.array([self.thresholds[name]]), trained, settings.stream_prior)
                        self.thresholds[name] = float(moved[0])
        self._platt[:, 1] += [self.prior_shift[name] for name in self._heads]
        self._critical_factor = settings.critical_threshold_factor
        self._head_thresholds = np.array([self.thresholds.get(name, 0.5) for name in self._heads], dtype=np.float64)
        self._head_of_lang = {
            lang: self._heads.index(name) for lang, name in HEAD_FOR_LANGUAGE.items() if name in self._heads
        }
        # the stream head's column (if any) is stacked into every language head's probability
        self._stream_column = self._heads.index(STREAM_HEAD) if STREAM_HEAD in self._heads else None
        self._stream_weight = np.array([bundle.complaint[name].stream_weight for name in self._heads], dtype=np.float64)
        self._all_head = self._heads.index(ALL_LANGUAGES)
        # the urgency head (older models: the severity head), then the category head, after the complaint heads
        tone = bundle.urgency or bundle.severity
        self._tone_classes: list[str] = tone.classes if tone is not None else []
        self._tone_columns = slice(len(self._heads), len(self._heads) + len(self._tone_classes))
        if tone is not None:
            columns.append(tone.coef)
            intercepts.append(np.atleast_1d(tone.intercept))
        # the learned categories the config's taxonomy still has (a category dropped from the config is never chosen)
        known = [*settings.categories, OTHER]
        learned = bundle.category.classes if bundle.category is not None else []
        self.category_names = [name for name in learned if name in known]
        self._category_columns = slice(self._tone_columns.stop, self._tone_columns.stop + len(self.category_names))
        if self.category_names and bundle.category is not None:
            keep = [learned.index(name) for name in self.category_names]
            columns.append(bundle.category.coef[:, keep])
            intercepts.append(np.asarray(bundle.category.intercept, dtype=np.float64)[keep])
        self._category_index = {name: k for k, name in enumerate(self.category_names)}
        # complaint heads dense; urgency and category compact (few features carry their weight)
        self._weights = WeightTable.build(columns[: len(self._heads)], columns[len(self._heads) :])
        self._intercepts = np.concatenate(intercepts).astype(np.float64)
        self._languages = LanguageDetector(bundle.lang_vocab, settings.languages)
        keywords = settings.urgency.keywords
        # one matcher for every rule: urgency levels, repetition and categories (group names tell them apart)
        groups: dict[str, list[str]] = {
            Urgency.CRITICAL.value: keywords.critical,
            Urgency.HIGH.value: keywords.high,
            Urgency.MEDIUM.value: keywords.medium,
            _REPETITION: settings.urgency.repetition_keywords,
        }
        groups.update({_CATEGORY + name: words for name, words in settings.categories.items()})
        self._phrases = PhraseMatcher(groups, self._featurizer)
        self._category_order = {_CATEGORY + name: i for i, name in enumerate(settings.categories)}

    # -- model ----------------------------------------------------------------------------------
    def scores(
        self, texts: Sequence[str], given_langs: Sequence[str | None] | None = None, prepared: str | None = None
    ) -> Scores:
        """Model scores; each text's complaint head is chosen by its language (given, else detected)."""
        occ = self._featurizer.occurrences(texts, prepared)
        langs = self._languages.detect(texts, occ.tokens, given_langs or [None] * len(texts))
        # complaint, urgency and category weights side by side: one pass over the features scores all
        values = occ.dot_split(self._weights.dense, self._weights.compact, self._weights.row_of) + self._intercepts
        head = np.array([self._head_of_lang.get(lang, self._all_head) for lang in langs], dtype=np.int64)
        rows = np.arange(len(texts))
        a, b = self._platt[head, 0], self._platt[head, 1]
        logit = a * values[rows, head] + b
        if self._stream_column is not None:
            logit += self._stream_weight[head] * values[:, self._stream_column]
        probability = 1.0 / (1.0 + np.exp(-logit))
        severity: list[str | None] = [None] * len(texts)
        if self._tone_classes and len(texts):
            best = np.argmax(values[:, self._tone_columns], axis=1)
            classes = self._tone_classes
            severity = [classes[k] for k in best.tolist()]
        categories = None
        if self.category_names:
            # one-vs-rest log-odds, made a distribution with a softmax
            logits = values[:, self._category_columns]
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            categories = exp / exp.sum(axis=1, keepdims=True)
        return Scores(probability, severity, occ, langs, categories, self._head_thresholds[head])

    def complaint_probability(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts).complaint

    # -- rules ----------------------------------------------------------------------------------
    def _urgency(
        self, mention: Mention, severity: str | None, hits: list[Hit], category: str
    ) -> tuple[Urgency, list[str]]:
        rules = self.settings.urgency
        reasons: list[str] = []
        level: Urgency | None = None
        if hits:
            for candidate, group in _KEYWORD_GROUPS:
                phrase = next((h.phrase for h in hits if h.group == group), None)
                if phrase is not None:
                    level = candidate
                    reasons.append(f"keyword: {phrase} → {group}")
                    break
        if level is None:
            if rules.default_level == "model" and severity in _LEVEL_NAMES:
                level = _LEVEL_NAMES[severity]
                reasons.append(f"model: reads as {severity}")
            elif rules.default_level == "model" and severity in _TONE:
                level, reason = _TONE[severity]
                reasons.append(reason)
            else:
                level = Urgency.MEDIUM if rules.default_level == "medium" else Urgency.LOW
        floor = rules.category_floor.get(category)
        if floor is not None and Urgency(floor).rank > level.rank:
            level = Urgency(floor)
            reasons.append(f"category: {category} → at least {floor}")
        repeat = next((h.phrase for h in hits if h.group == _REPETITION), None) if hits else None
        if repeat is not None and rules.repetition_raise:
            level, note = _raise(level, rules.repetition_raise, Urgency(rules.raise_limit))
            reasons.append(f"repeated: {repeat} → {note}")
        followers = mention.metrics.followers
        steps = 0
        for threshold in rules.reach_followers:
            steps += followers >= threshold
        if steps:
            level, note = _raise(level, steps, Urgency(rules.raise_limit))
            reasons.append(f"reach: {_followers(followers)} followers → {note}")
        return level, reasons

    def _category(self, hits: list[Hit]) -> tuple[str, str | None]:
        """By keywords alone: the category with most hits (ties: the one listed first in the config)."""
        if not hits:
            return OTHER, None
        if len(hits) == 1:
            best, phrase = hits[0].group, hits[0].phrase
        else:
            counts: dict[str, int] = {}
            for hit in hits:
                counts[hit.group] = counts.get(hit.group, 0) + 1
            best = max(counts, key=lambda group: (counts[group], -self._category_order.get(group, 0)))
            phrase = next(h.phrase for h in hits if h.group == best)
        name = best[len(_CATEGORY) :]
        return name, f"category: {phrase} → {name}"

    def _learned_category(self, hits: list[Hit], probabilities: list[float]) -> tuple[str, str]:
        """The model's probability per category plus `category_keyword_weight` × each category's share of the
        keyword hits; the highest total wins (ties: the model's order). A keyword hit rules out `other`, the
        category of mentions about none of the rest (and lets a category the model never learned win)."""
        totals = dict(zip(self.category_names, probabilities, strict=False))
        weight = self.settings.category_keyword_weight
        first_phrase: dict[str, str] = {}
        if hits and weight:
            totals.pop(OTHER, None)
            share = weight / len(hits)
            for hit in hits:
                name = hit.group[len(_CATEGORY) :]
                totals[name] = totals.get(name, 0.0) + share
                first_phrase.setdefault(name, hit.phrase)
        best = max(totals, key=totals.__getitem__)
        model = probabilities[self._category_index[best]] if best in self._category_index else 0.0
        phrase = first_phrase.get(best)
        if phrase is None:
            return best, f"category: model {model:.2f} → {best}"
        return best, f"category: {phrase} + model {model:.2f} → {best}"

    # -- the stage ------------------------------------------------------------------------------
    def classify(self, mentions: Sequence[Mention]) -> list[Classification]:
        chunks = [mentions[start : start + CHUNK] for start in range(0, len(mentions), CHUNK)]
        if len(chunks) <= 1:
            return self._classify_chunk(mentions)
        # numpy releases the GIL in the heavy parts, so chunks overlap well on several cores
        return [verdict for part in _pool().map(self._classify_chunk, chunks) for verdict in part]

    def _classify_chunk(self, mentions: Sequence[Mention]) -> list[Classification]:
        if not mentions:
            return []
        texts = [m.text for m in mentions]
        prepared = prepare_batch(texts)
        scores = self.scores(texts, [m.lang for m in mentions], prepared)
        hits = self._phrases.find(scores.occurrences.tokens, len(texts))
        version = self.version
        thresholds = scores.thresholds.tolist() if scores.thresholds is not None else [self.threshold] * len(texts)
        # a platform's least threshold (news feeds) holds for critical keywords too: an article about a leak
        # is news, not a customer's complaint
        critical_at = [threshold * self._critical_factor for threshold in thresholds]
        floors = self.settings.platform_threshold
        if floors:
            for i, mention in enumerate(mentions):
                floor = floors.get(mention.platform)
                if floor is not None and floor > thresholds[i]:
                    thresholds[i] = floor
                    critical_at[i] = floor
        out = []
        # plain Python floats from here: the same values, cheaper to compare, round and format
        category_rows = scores.categories.tolist() if scores.categories is not None else None
        for i, (mention, probability, lang, severity, found) in enumerate(
            zip(mentions, scores.complaint.tolist(), scores.langs, scores.severity, hits, strict=True)
        ):
            reasons = [f"complaint score {probability:.2f}"]
            category, category_reason = OTHER, None
            if category_rows is not None:
                category_hits = [h for h in found if h.group.startswith(_CATEGORY)] if found else []
                category, category_reason = self._learned_category(category_hits, category_rows[i])
            elif found:
                category, category_reason = self._category([h for h in found if h.group.startswith(_CATEGORY)])
            is_complaint = probability >= thresholds[i]
            if not is_complaint and found and probability >= critical_at[i]:
                critical = next((h.phrase for h in found if h.group == _CRITICAL), None)
                if critical is not None:
                    is_complaint = True
                    reasons.append(f"critical keyword: {critical} → flagged at a lower threshold")
            urgency = _NOT_URGENT
            if is_complaint:
                urgency, urgency_reasons = self._urgency(mention, severity, found, category)
                reasons += urgency_reasons
            if category_reason:
                reasons.append(category_reason)
            # positional: the field order is checked at import
            out.append(
                Classification(lang, is_complaint, round(probability, 4), urgency, category, tuple(reasons), version)
            )
        return out
