"""Language of each mention: the source's own tag, else a fast vocabulary check, else lingua.

Most mentions a brand receives are English or Indonesian. Words typical of
each (learned from the training corpora, Indonesian slang included) decide
those quickly and handle mixed English-Indonesian slang ("gak bisa login udah
3x min" is Indonesian). Whatever that check is unsure of goes to lingua,
restricted to the configured candidate languages.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from classifiers.features import HashIndex, Tokens

_ALIASES = {"in": "id", "ind": "id", "eng": "en", "msa": "ms", "zh-cn": "zh", "zh-tw": "zh", "iw": "he"}
_UNKNOWN = {"und", "unk", "unknown", "xx", "zxx", "qme", "qht", "qam", "art"}
UNDETERMINED = "und"


def normalise_source_lang(value: str | None) -> str | None:
    """The source's language tag as a plain ISO 639-1 code, or None when it says nothing."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-")
    if code in _UNKNOWN:
        return None
    code = _ALIASES.get(code, code)
    return code.split("-")[0] or None


class LanguageDetector:
    def __init__(self, vocab: Mapping[str, np.ndarray], candidates: Sequence[str]) -> None:
        self._vocab = {lang: np.sort(hashes) for lang, hashes in vocab.items()}
        # every vocabulary word in one table, with the languages it counts for
        per_language = [h.astype(np.uint64) for h in self._vocab.values()]
        words = np.unique(np.concatenate([np.zeros(0, np.uint64), *per_language]))
        self._words = HashIndex(words)
        self._word_of = {lang: np.isin(words, hashes) for lang, hashes in self._vocab.items()}
        self._candidates = [c.lower() for c in candidates]
        self._lingua = None
        self._lock = threading.Lock()

    def _fast(self, tokens: Tokens, n_docs: int) -> list[str | None]:
        if set(self._vocab) != {"en", "id"} or not len(tokens.raw):
            return [None] * n_docs
        word = self._words.find(tokens.raw)
        in_vocab = word >= 0
        doc, word = tokens.doc[in_vocab], word[in_vocab]
        counts = {lang: np.bincount(doc[of[word]], minlength=n_docs) for lang, of in self._word_of.items()}
        total = np.bincount(tokens.doc, minlength=n_docs)
        en, ind = counts["en"], counts["id"]
        known = (en + ind) >= np.maximum(2, 0.3 * total)
        is_id = known & (ind >= 2) & (ind >= 2 * en)
        is_en = known & (en >= 2) & (en >= 3 * ind)
        out: list[str | None] = [None] * n_docs
        for i in np.flatnonzero(is_id).tolist():
            out[i] = "id"
        for i in np.flatnonzero(is_en).tolist():
            out[i] = "en"
        return out

    def _lingua_detector(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._lingua is None:
                from lingua import IsoCode639_1, LanguageDetectorBuilder

                codes = []
                for code in self._candidates:
                    try:
                        codes.append(IsoCode639_1.from_str(code))
                    except ValueError:
                        continue
                builder = (
                    LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
                    if len(codes) >= 2
                    else LanguageDetectorBuilder.from_all_languages()
                )
                self._lingua = builder.with_low_accuracy_mode().build()
            return self._lingua

    def detect(self, texts: Sequence[str], tokens: Tokens, given: Sequence[str | None]) -> list[str]:
        """One language code per text: `given` where set, else detected (`und` if nothing fits)."""
        tagged = [normalise_source_lang(g) if g else None for g in given]
        out = [lang or guess for lang, guess in zip(tagged, self._fast(tokens, len(texts)), strict=True)]
        pending = [i for i, lang in enumerate(out) if lang is None]
        if pending:
            detector = self._lingua_detector()
            found = detector.detect_languages_in_parallel_of([texts[i] for i in pending])
            for i, language in zip(pending, found, strict=False):
                out[i] = language.iso_code_639_1.name.lower() if language is not None else UNDETERMINED
        return [lang or UNDETERMINED for lang in out]
