"""Texts → hashed sparse features, computed for a whole batch at once with numpy.

Per-text Python work is what limits throughput, so the batch is joined into
one string, URLs are replaced and @handles marked with two regular
expressions over that string, and the rest (lower-casing aside) happens on an array of code
points: each number → "0", runs of one letter cut to two ("bangetttt" → "bangett"),
whitespace collapsed. Every n-gram is identified by a polynomial hash of its
span, computed from prefix sums so that all spans of a batch hash in a few
vectorised operations, and folded into `2**bits` columns. Hashes are stable
across processes and platforms (no Python `hash()`), so a model stays valid.

Features: character n-grams (`char_min`..`char_max`) and word unigrams and
bigrams after slang normalisation (`gk` → `tidak`). Every occurrence counts
(raw tf) weighted by idf; each family is scaled by the root of the summed
squared weights of its occurrences, so a linear score is a weighted
`bincount` over occurrences and needs no sparse matrix at inference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

_U64 = np.uint64
_BASE = 0x100000001B3
_BASE_INV = pow(_BASE, -1, 2**64)
_FOLD = _U64(0x9E3779B97F4A7C15)
_PAIR = _U64(0xBF58476D1CE4E5B9)
_CHAR_SALT = 0x51ED270B27A1F5C3
_WORD_SALT = _U64(0x2545F4914F6CDD1D)
_BIGRAM_SALT = _U64(0x6A09E667F3BCC909)
_SEP = "\x00"
_SPACE = 32

_URL = re.compile(r"(?:https?://|www\.)[^\s\x00]+")
_USER = re.compile(r"@\w+")
_HTML_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#39);|</?[a-z][a-z0-9]*(?:\s[^<>\x00]{0,200})?/?>")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    bits: int = 19
    char_min: int = 3
    char_max: int = 5
    char_weight: float = 1.0
    word_weight: float = 1.0
    char_within_words: bool = False
    """Only character n-grams inside one space-delimited word (padded by its spaces), like char_wb."""

    @property
    def n_features(self) -> int:
        return 1 << self.bits

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> "FeatureSpec":
        return cls(**dict(data))  # type: ignore[arg-type]


def prepare_batch(texts: Sequence[str]) -> str:
    """All texts lower-cased, URLs replaced, @handles marked, joined by NUL (one regex pass per batch)."""
    joined = _SEP.join(t.replace(_SEP, " ") for t in texts).lower()
    joined = _URL.sub(" httpurl ", joined)
    joined = _USER.sub(r" atuser \g<0> ", joined)  # the handle itself says a lot (brand support desk or not)
    return _HTML_ENTITY.sub(" ", joined)


def _normalised_codes(prepared: str) -> np.ndarray:
    """Code points of all texts, each padded with one space each side and separated by 0."""
    joined = " " + prepared.replace(_SEP, " \x00 ") + " "
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).copy()
    codes[(codes >= 49) & (codes <= 57)] = 48
    whitespace = (codes == 9) | (codes == 10) | (codes == 13) | (codes == 0xA0) | (codes == 0x3000)
    codes[whitespace | (codes == 11) | (codes == 12)] = _SPACE
    keep = np.ones(len(codes), dtype=bool)
    # a third repeat of the same character, or a second space, adds nothing
    keep[2:] &= ~((codes[2:] == codes[1:-1]) & (codes[1:-1] == codes[:-2]) & (codes[2:] != 0))
    keep[1:] &= ~((codes[1:] == _SPACE) & (codes[:-1] == _SPACE))
    keep[1:] &= ~((codes[1:] == 48) & (codes[:-1] == 48))  # any number is "0": "3x" and "12x" alike
    return codes[keep].astype(_U64)


def _powers(base: int, length: int) -> np.ndarray:
    out = np.full(length, base, dtype=_U64)
    if length:
        out[0] = 1
    with np.errstate(over="ignore"):
        np.cumprod(out, out=out)
    return out


@dataclass(slots=True)
class _Batch:
    codes: np.ndarray
    doc: np.ndarray  # text index of every position (a separator belongs to the next text)
    prefix: np.ndarray  # prefix[k] = sum(codes[:k] * BASE**i) mod 2**64
    inv_powers: np.ndarray

    @classmethod
    def of(cls, prepared: str) -> "_Batch":
        codes = _normalised_codes(prepared)
        doc = np.cumsum(codes == 0)
        prefix = np.zeros(len(codes) + 1, dtype=_U64)
        with np.errstate(over="ignore"):
            np.cumsum(codes * _powers(_BASE, len(codes)), out=prefix[1:])
        return cls(codes, doc, prefix, _powers(_BASE_INV, len(codes)))

    def span_hash(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Position-independent hash of codes[start:end] for every (start, end) pair."""
        with np.errstate(over="ignore"):
            return (self.prefix[end] - self.prefix[start]) * self.inv_powers[start]


def _is_word_char(codes: np.ndarray) -> np.ndarray:
    ascii_alnum = ((codes >= 48) & (codes <= 57)) | ((codes >= 97) & (codes <= 122))
    letters = (codes >= 0xC0) & ((codes < 0x2000) | ((codes >= 0x3040) & (codes < 0x1F000))) & (codes != 0xD7)
    return ascii_alnum | letters


def string_hashes(phrases: Sequence[str]) -> np.ndarray:
    """Hash of each phrase as one word unit, the way `Featurizer` hashes a word.

    A phrase of several words ("tidak tahu") hashes as the span from its first
    to its last word character; a phrase with no word character hashes to 0.
    """
    out = np.zeros(len(phrases), dtype=_U64)
    if not phrases:
        return out
    batch = _Batch.of(prepare_batch(phrases))
    positions = np.flatnonzero(_is_word_char(batch.codes))
    if not len(positions):
        return out
    docs = batch.doc[positions]
    present, first = np.unique(docs, return_index=True)
    last = len(docs) - 1 - np.unique(docs[::-1], return_index=True)[1]
    out[present] = batch.span_hash(positions[first], positions[last] + 1)
    return out


@dataclass(slots=True)
class Tokens:
    """The words of a batch: the text each belongs to, its raw and slang-normalised hash, and its span."""

    doc: np.ndarray
    raw: np.ndarray
    norm: np.ndarray
    start: np.ndarray
    end: np.ndarray
    batch: "_Batch | None" = None

    def prefix_hashes(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the tokens at least `length` long, and the raw hash of their first `length` characters."""
        if self.batch is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=_U64)
        which = np.flatnonzero(self.end - self.start >= length)
        return which, self.batch.span_hash(self.start[which], self.start[which] + length)


@dataclass(slots=True)
class _Part:
    """The occurrences of one feature family, rows in order: CSR arrays (a row may repeat a column)."""

    indptr: np.ndarray
    cols: np.ndarray
    weights: np.ndarray


@dataclass(slots=True)
class Occurrences:
    """Every feature occurrence of a batch, per feature family.

    A row may hold the same column more than once (raw tf); products with a
    weight vector sum them, which is what the model was trained on.
    """

    n_docs: int
    n_features: int
    parts: list[_Part]
    tokens: Tokens

    def matrix(self) -> sp.csr_matrix:
        total = None
        for part in self.parts:
            block = sp.csr_matrix((part.weights, part.cols, part.indptr), shape=(self.n_docs, self.n_features))
            total = block if total is None else total + block
        total = total.tocsr()
        total.sum_duplicates()
        return total

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """X @ weights for a (n_features,) or (n_features, k) array (scipy's CSR product, 3x numpy's reduceat)."""
        out = np.zeros((self.n_docs,) + weights.shape[1:], dtype=np.float64)
        for part in self.parts:
            block = sp.csr_matrix((part.weights, part.cols, part.indptr), shape=(self.n_docs, self.n_features))
            out += block @ weights
        return out


def _part(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n_docs: int) -> _Part:
    """CSR arrays from occurrences whose rows are already in order (no sorting needed)."""
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    return _Part(indptr, cols, weights)


class Featurizer:
    """Hashed, idf-weighted character and word n-gram features of texts."""

    def __init__(
        self,
        spec: FeatureSpec,
        slang_from: np.ndarray | None = None,
        slang_to: np.ndarray | None = None,
        idf: np.ndarray | None = None,
    ) -> None:
        self.spec = spec
        if slang_from is None or slang_to is None or not len(slang_from):
            self._slang_from = np.zeros(0, dtype=_U64)
            self._slang_to = np.zeros(0, dtype=_U64)
        else:
            order = np.argsort(slang_from)
            self._slang_from = np.asarray(slang_from, dtype=_U64)[order]
            self._slang_to = np.asarray(slang_to, dtype=_U64)[order]
        self.idf = None if idf is None else np.asarray(idf, dtype=np.float32)

    def _tokens(self, batch: _Batch) -> Tokens:
        word = _is_word_char(batch.codes)
        prev = np.r_[False, word[:-1]]
        nxt = np.r_[word[1:], False]
        starts = np.flatnonzero(word & ~prev)
        ends = np.flatnonzero(word & ~nxt) + 1
        raw = batch.span_hash(starts, ends)
        norm = raw
        if len(self._slang_from):
            where = np.searchsorted(self._slang_from, raw)
            where[where >= len(self._slang_from)] = 0
            found = self._slang_from[where] == raw
            norm = np.where(found, self._slang_to[where], raw)
        return Tokens(doc=batch.doc[starts], raw=raw, norm=norm, start=starts, end=ends, batch=batch)

    def tokens(self, texts: Sequence[str]) -> Tokens:
        return self._tokens(_Batch.of(prepare_batch(texts)))

    def _char_hashes(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        length = len(batch.codes)
        # room[i]: positions from i up to (not including) the next separator
        seps = np.flatnonzero(batch.codes == 0)
        next_sep = np.append(seps, length)[np.searchsorted(seps, np.arange(length))]
        room = next_sep - np.arange(length)
        if self.spec.char_within_words:
            # an n-gram may start and end on a space but hold none inside
            spaces = np.flatnonzero((batch.codes == _SPACE) | (batch.codes == 0))
            next_space = np.append(spaces, length)[np.searchsorted(spaces, np.arange(length) + 1)]
            room = np.minimum(room, next_space - np.arange(length) + 1)
        sizes = np.arange(self.spec.char_min, self.spec.char_max + 1)
        salts = np.array([(_CHAR_SALT * int(n)) % 2**64 for n in sizes], dtype=_U64)
        # position-major order keeps the rows sorted
        start, which = np.nonzero(room[:, None] >= sizes[None, :])
        with np.errstate(over="ignore"):
            hashes = batch.span_hash(start, start + sizes[which]) + salts[which]
        return batch.doc[start], hashes

    @staticmethod
    def _word_hashes(tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        n = len(tokens.norm)
        grams = np.zeros((n, 2), dtype=_U64)
        valid = np.ones((n, 2), dtype=bool)
        with np.errstate(over="ignore"):
            grams[:, 0] = tokens.norm + _WORD_SALT
            grams[:-1, 1] = tokens.norm[:-1] * _PAIR + tokens.norm[1:] + _BIGRAM_SALT
        valid[:-1, 1] = tokens.doc[1:] == tokens.doc[:-1]
        valid[-1:, 1] = False
        # token-major order (unigram, then the bigram it starts) keeps the rows sorted
        token, which = np.nonzero(valid)
        return tokens.doc[token], grams[token, which]

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((hashes * _FOLD) >> _U64(64 - self.spec.bits)).astype(np.int32)

    def _weighted(self, rows: np.ndarray, cols: np.ndarray, n_docs: int, family_weight: float) -> np.ndarray:
        weights = self.idf[cols] if self.idf is not None else np.ones(len(cols), dtype=np.float32)
        norms = np.sqrt(np.bincount(rows, weights=weights.astype(np.float64) ** 2, minlength=n_docs))
        norms[norms == 0] = 1.0
        return (weights * (family_weight / norms)[rows]).astype(np.float32)

    def occurrences(self, texts: Sequence[str], prepared: str | None = None) -> Occurrences:
        """Feature occurrences of `texts` (`prepared`: their `prepare_batch`, if already computed)."""
        n_docs = len(texts)
        size = self.spec.n_features
        if not n_docs:
            empty_i = np.zeros(0, dtype=np.int64)
            empty_h = np.zeros(0, dtype=_U64)
            tokens = Tokens(empty_i, empty_h, empty_h, empty_i, empty_i)
            return Occurrences(0, size, [], tokens)
        batch = _Batch.of(prepare_batch(texts) if prepared is None else prepared)
        tokens = self._tokens(batch)
        char_rows, char_hashes = self._char_hashes(batch)
        word_rows, word_hashes = self._word_hashes(tokens)
        char_cols = self._columns(char_hashes)
        word_cols = self._columns(word_hashes)
        char = _part(char_rows, char_cols, self._weighted(char_rows, char_cols, n_docs, self.spec.char_weight), n_docs)
        words = _part(word_rows, word_cols, self._weighted(word_rows, word_cols, n_docs, self.spec.word_weight), n_docs)
        return Occurrences(n_docs, size, [char, words], tokens)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The CSR feature matrix (for training)."""
        return self.occurrences(texts).matrix()
