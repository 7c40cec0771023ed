"""Texts → hashed sparse features, computed for a whole batch at once with numpy.

Per-text Python work is what limits throughput, so the batch is joined into
one string, URLs are replaced and @handles marked with two regular
expressions over that string, and the rest (lower-casing aside) happens on an array of code
points: each number → "0", runs of one letter cut to two ("bangetttt" → "bangett"),
whitespace collapsed. Every n-gram is identified by a polynomial hash of its
span (sum of code[k] * BASE**k, mod 2**64), folded into `2**bits` columns.
Character n-grams hash by Horner's rule over the whole batch, one size after
the next; words (any length) from prefix sums. Both give the same value for
the same span. Hashes are stable across processes and platforms (no Python
`hash()`), so a model stays valid.

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
_NEGATED_SALT = _U64(0x3C6EF372FE94F82B)
NEGATORS = (
    "no", "not", "never", "without", "nothing", "none", "nobody", "nor", "neither", "dont", "doesnt", "didnt",
    "isnt", "wasnt", "arent", "werent", "cant", "cannot", "wont", "havent", "hasnt",
    "tidak", "tak", "gak", "ga", "gk", "nggak", "ngga", "enggak", "engga", "kagak", "ndak", "tdk", "bukan", "belum",
    "blm", "jangan", "tanpa",
)  # fmt: skip
"""Words that negate what follows (slang forms too: the check is on the slang-normalised word)."""
_CLAUSE_ENDS = np.array([ord(c) for c in ".,!?;:"], dtype=_U64)
_SEP = "\x00"
_SPACE = 32

# Each pattern is a list of alternatives, as if joined by "|" (see `_sub`): one that starts with a
# literal is searched for much faster than an alternation is.
_URL = [re.compile(r"https?://[^\s\x00]+"), re.compile(r"www\.[^\s\x00]+")]
_USER = re.compile(r"(@\w+)")  # captured: `split` keeps the handles
_HTML_ENTITY = [re.compile(r"&(?:amp|lt|gt|quot|#39);"), re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>\x00]{0,200})?/?>")]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    bits: int = 19
    char_min: int = 3
    char_max: int = 5
    char_weight: float = 1.0
    word_weight: float = 1.0
    char_within_words: bool = False
    """Only character n-grams inside one space-delimited word (padded by its spaces), like char_wb."""
    negation_scope: int = 0
    """Words up to this many after a negator ("no", "never", "gak", "tanpa"…), within its clause, also count as
    negated words of their own ("no fee" and "gak ada drama" say something good). 0: none (older models)."""

    @property
    def n_features(self) -> int:
        return 1 << self.bits

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> FeatureSpec:
        return cls(**dict(data))  # type: ignore[arg-type]


def _sub(alternatives: Sequence[re.Pattern[str]], replacement: str, text: str) -> str:
    """`re.sub("alt1|alt2|…", replacement, text)`: the leftmost match, the earlier alternative on a tie."""
    found = [pattern.search(text) for pattern in alternatives]
    out: list[str] = []
    pos = 0
    while True:
        first = None
        for i, match in enumerate(found):
            if match is not None and match.start() < pos:  # overlapped by the last replacement: look again
                match = found[i] = alternatives[i].search(text, pos)
            if match is not None and (first is None or match.start() < first.start()):
                first = match
        if first is None:
            break
        out += (text[pos : first.start()], replacement)
        pos = first.end()
    out.append(text[pos:])
    return "".join(out)


def prepare_batch(texts: Sequence[str]) -> str:
    """All texts lower-cased, URLs replaced, @handles marked, joined by NUL (one regex pass per batch)."""
    # lower-casing text by text is faster (most are ASCII) and the same: NUL is no letter
    joined = _SEP.join([t.lower() for t in texts])
    if joined.count(_SEP) >= len(texts):  # a text holds a NUL itself
        joined = _SEP.join(t.replace(_SEP, " ") for t in texts).lower()
    joined = _sub(_URL, " httpurl ", joined)
    # " atuser @handle ": the handle itself says a lot (brand support desk or not). Split and join
    # rather than sub with a "\g<0>" template, which expands each match in Python.
    pieces = _USER.split(joined)
    pieces[1::2] = [f" atuser {handle} " for handle in pieces[1::2]]
    return _sub(_HTML_ENTITY, " ", "".join(pieces))


def _normalised_codes(prepared: str) -> np.ndarray:
    """Code points of all texts, each padded with one space each side and separated by 0."""
    joined = " " + prepared.replace(_SEP, " \x00 ") + " "
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).copy()
    # digits 1-9 → "0"; \t \n \v \f \r, no-break and ideographic spaces → " "
    # (unsigned: codes below a range wrap around to large numbers)
    codes[codes - np.uint32(49) <= 8] = 48
    codes[(codes - np.uint32(9) <= 4) | (codes == 0xA0) | (codes == 0x3000)] = _SPACE
    keep = np.ones(len(codes), dtype=bool)
    repeat = codes[1:] == codes[:-1]
    # a third repeat of the same character, or a second space, adds nothing; nor a second "0":
    # any number is "0" ("3x" and "12x" alike)
    keep[1:] = ~(repeat & ((codes[1:] == _SPACE) | (codes[1:] == 48)))
    keep[2:] &= ~(repeat[1:] & repeat[:-1] & (codes[2:] != 0))
    return codes[keep].astype(_U64)


def _powers(base: int, length: int) -> np.ndarray:
    out = np.full(length, base, dtype=_U64)
    if length:
        out[0] = 1
    with np.errstate(over="ignore"):
        np.cumprod(out, out=out)
    return out


_POWERS_CACHED = 1 << 20
"""Longest batch (in code points) whose power tables are kept between calls (2 x 8 MB at most)."""
_power_tables: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=_U64), np.zeros(0, dtype=_U64))


def _powers_upto(length: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i for i < length (views of a shared read-only table when it is big enough)."""
    global _power_tables
    tables = _power_tables  # one read: another thread may swap in a longer pair meanwhile
    if len(tables[0]) < length:
        if length > _POWERS_CACHED:
            return _powers(_BASE, length), _powers(_BASE_INV, length)
        size = min(_POWERS_CACHED, max(length, 2 * len(tables[0]), 1 << 16))
        tables = (_powers(_BASE, size), _powers(_BASE_INV, size))
        for table in tables:
            table.flags.writeable = False
        _power_tables = tables
    return tables[0][:length], tables[1][:length]


@dataclass(slots=True)
class _Batch:
    codes: np.ndarray
    doc: np.ndarray  # text index of every position (a separator belongs to the next text)
    seps: np.ndarray  # positions of the separators between texts
    prefix: np.ndarray  # prefix[k] = sum(codes[:k] * BASE**i) mod 2**64
    inv_powers: np.ndarray

    @classmethod
    def of(cls, prepared: str) -> _Batch:
        codes = _normalised_codes(prepared)
        is_sep = codes == 0
        powers, inv_powers = _powers_upto(len(codes))
        prefix = np.zeros(len(codes) + 1, dtype=_U64)
        with np.errstate(over="ignore"):
            np.cumsum(codes * powers, out=prefix[1:])
        return cls(codes, np.cumsum(is_sep), np.flatnonzero(is_sep), prefix, inv_powers)

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


class HashIndex:
    """Where each of many hashes sits in a fixed set of keys: a vectorised open-addressing hash table.

    A lookup costs one or two gathers per hash, several times faster than a binary search
    (`searchsorted`) in a sorted array. Repeated keys: the first one's index is found.
    """

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=_U64)
        bits = max(4, (4 * len(keys) - 1).bit_length())  # at most a quarter full: short probe runs
        self._mask = (1 << bits) - 1
        self._shift = _U64(64 - bits)
        entries = [-1] * (1 << bits)
        slot_keys = [0] * (1 << bits)
        for index, (key, slot) in enumerate(zip(keys.tolist(), self._home(keys).tolist(), strict=True)):
            while entries[slot] >= 0 and slot_keys[slot] != key:
                slot = (slot + 1) & self._mask  # linear probing
            if entries[slot] < 0:
                entries[slot], slot_keys[slot] = index, key
        self._entries = np.array(entries, dtype=np.int64)
        self._keys = np.array(slot_keys, dtype=_U64)

    def _home(self, hashes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((hashes * _FOLD) >> self._shift).astype(np.intp)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Index into `keys` of each hash, -1 where it is not a key."""
        slot = self._home(hashes)
        entry = self._entries[slot]
        out = np.where(self._keys[slot] == hashes, entry, -1)
        todo = np.flatnonzero((entry >= 0) & (out < 0))  # home slot taken by another key: probe on
        while len(todo):
            slot[todo] = (slot[todo] + 1) & self._mask
            entry = self._entries[slot[todo]]
            hit = self._keys[slot[todo]] == hashes[todo]
            out[todo[hit]] = entry[hit]
            todo = todo[(entry >= 0) & ~hit]
        return out


@dataclass(slots=True)
class Tokens:
    """The words of a batch: the text each belongs to, its raw and slang-normalised hash, and its span."""

    doc: np.ndarray
    raw: np.ndarray
    norm: np.ndarray
    start: np.ndarray
    end: np.ndarray
    batch: _Batch | None = None

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
        total = sp.csr_matrix((self.n_docs, self.n_features))
        for part in self.parts:
            total = total + sp.csr_matrix((part.weights, part.cols, part.indptr), shape=(self.n_docs, self.n_features))
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

    def dot_split(self, dense: np.ndarray, compact: np.ndarray, row_of: np.ndarray) -> np.ndarray:
        """X @ [dense | W] for W (n_features, k) held compactly: `compact[row_of[f]]` is feature f's row of W."""
        width = dense.shape[1]
        out = np.empty((self.n_docs, width + compact.shape[1]), dtype=np.float64)
        out[:, :width] = self.dot(dense)
        if compact.shape[1]:
            # the same occurrences, each feature renumbered to its row of `compact`
            parts = [_Part(part.indptr, row_of[part.cols], part.weights) for part in self.parts]
            out[:, width:] = Occurrences(self.n_docs, compact.shape[0], parts, self.tokens).dot(compact)
        return out


def _indptr(counts: np.ndarray) -> np.ndarray:
    """CSR row pointers from per-row counts (int32 when it fits: scipy would otherwise check and convert)."""
    total = int(counts.sum())
    indptr = np.zeros(len(counts) + 1, dtype=np.int32 if total < 2**31 else np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr


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
        self._slang = HashIndex(self._slang_from)
        self.idf = None if idf is None else np.asarray(idf, dtype=np.float32)
        negators = string_hashes(NEGATORS)
        if len(self._slang_from):  # the slang-normalised forms of the negators too
            where = self._slang.find(negators)
            negators = np.union1d(negators, self._slang_to[where[where >= 0]])
        self._negators = np.unique(negators)

    def _tokens(self, batch: _Batch) -> Tokens:
        step = np.diff(_is_word_char(batch.codes).view(np.int8), prepend=0, append=0)
        starts = np.flatnonzero(step == 1)
        ends = np.flatnonzero(step == -1)
        raw = batch.span_hash(starts, ends)
        norm = raw
        if len(self._slang_from):
            where = self._slang.find(raw)
            norm = np.where(where >= 0, self._slang_to[where], raw)
        return Tokens(doc=batch.doc[starts], raw=raw, norm=norm, start=starts, end=ends, batch=batch)

    def tokens(self, texts: Sequence[str]) -> Tokens:
        return self._tokens(_Batch.of(prepare_batch(texts)))

    def _char_columns(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        """Columns of every character n-gram, position-major (so rows stay sorted), and the row pointers."""
        spec = self.spec
        codes = batch.codes
        length = len(codes)
        cols = np.empty((length, spec.char_max - spec.char_min + 1), dtype=np.int32)  # read only where valid
        valid = np.zeros(cols.shape, dtype=bool)
        per_position = np.zeros(length, dtype=np.int32)
        in_text = codes != 0
        not_space = codes != _SPACE
        shift = _U64(64 - spec.bits)
        base = _U64(_BASE)
        # at size n: hashes[i] is the hash of codes[i:i+n] (Horner's rule, the same value as span_hash),
        # fits[i] says whether that span stays inside one text (and, within words, holds no inner space)
        hashes = codes
        fits = in_text
        with np.errstate(over="ignore"):
            for n in range(1, spec.char_max + 1):
                m = length - n + 1
                if m <= 0:
                    break
                if n > 1:
                    hashes = codes[:m] + base * hashes[1 : m + 1]
                    fits = fits[:m] & in_text[n - 1 :]
                if spec.char_within_words and n >= 3:
                    fits &= not_space[n - 2 : n - 2 + m]
                if n >= spec.char_min:
                    j = n - spec.char_min
                    salt = _U64((_CHAR_SALT * n) % 2**64)
                    cols[:m, j] = ((hashes + salt) * _FOLD) >> shift
                    valid[:m, j] = fits
                    per_position[:m] += fits
        # a separator starts no n-gram, so the running count at each separator closes a text
        running = np.cumsum(per_position)
        indptr = np.zeros(len(batch.seps) + 2, dtype=np.int32 if length * cols.shape[1] < 2**31 else np.int64)
        indptr[1:-1] = running[batch.seps]
        indptr[-1] = running[-1] if length else 0
        return cols[valid], indptr

    def _word_hashes(self, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        n = len(tokens.norm)
        negating = self.spec.negation_scope > 0
        width = 3 if negating else 2
        grams = np.zeros((n, width), dtype=_U64)
        valid = np.ones((n, width), dtype=bool)
        with np.errstate(over="ignore"):
            grams[:, 0] = tokens.norm + _WORD_SALT
            grams[:-1, 1] = tokens.norm[:-1] * _PAIR + tokens.norm[1:] + _BIGRAM_SALT
            if negating:
                grams[:, 2] = tokens.norm + _NEGATED_SALT
                valid[:, 2] = self._negated(tokens)
        valid[:-1, 1] = tokens.doc[1:] == tokens.doc[:-1]
        valid[-1:, 1] = False
        # token-major order (unigram, the bigram it starts, its negated form) keeps the rows sorted
        flat = valid.ravel()
        return np.repeat(tokens.doc, width)[flat], grams.ravel()[flat]

    def _negated(self, tokens: Tokens) -> np.ndarray:
        """Which tokens follow a negator by at most `negation_scope` words in the same clause (same text, no
        . , ! ? ; : between them)."""
        n = len(tokens.norm)
        negator = np.isin(tokens.norm, self._negators)
        starts_clause = np.ones(n, dtype=bool)
        if n > 1:
            starts_clause[1:] = tokens.doc[1:] != tokens.doc[:-1]
            if tokens.batch is not None:
                ends = np.concatenate(([0], np.cumsum(np.isin(tokens.batch.codes, _CLAUSE_ENDS))))
                starts_clause[1:] |= ends[tokens.start[1:]] > ends[tokens.end[:-1]]
        clause = np.cumsum(starts_clause)
        negated = np.zeros(n, dtype=bool)
        for k in range(1, min(self.spec.negation_scope, n - 1) + 1):
            negated[k:] |= negator[:-k] & (clause[k:] == clause[:-k])
        return negated & ~negator

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((hashes * _FOLD) >> _U64(64 - self.spec.bits)).astype(np.int32)

    def _part(
        self, cols: np.ndarray, indptr: np.ndarray, family_weight: float, rows: np.ndarray | None = None
    ) -> _Part:
        """The family's occurrences weighted by idf, each row scaled to norm `family_weight`."""
        counts = np.diff(indptr)
        if rows is None:
            rows = np.repeat(np.arange(len(counts)), counts)
        idf = self.idf.take(cols) if self.idf is not None else np.ones(len(cols), dtype=np.float32)
        weights = idf.astype(np.float64)
        # in float64, rounded to float32 once: bit for bit the values the model was trained on
        norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=len(counts)))
        norms[norms == 0] = 1.0
        weights *= np.repeat(family_weight / norms, counts)
        return _Part(indptr, cols, weights.astype(np.float32))

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
        char_cols, char_indptr = self._char_columns(batch)
        word_rows, word_hashes = self._word_hashes(tokens)
        word_indptr = _indptr(np.bincount(word_rows, minlength=n_docs))
        char = self._part(char_cols, char_indptr, self.spec.char_weight)
        words = self._part(self._columns(word_hashes), word_indptr, self.spec.word_weight, word_rows)
        return Occurrences(n_docs, size, [char, words], tokens)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The CSR feature matrix (for training)."""
        return self.occurrences(texts).matrix()
