"""Finding configured keyword phrases in a whole batch, vectorised over the batch's word hashes.

A phrase matches whole words, case-insensitively, after the same normalisation
the model uses (so slang spellings count: "ga bisa login" matches the phrase
"gak bisa login", "bangettt" matches "banget"). In a phrase, a trailing `*` on
a word matches any ending ("refund*"), a lone `*` any one word, and `#` any
number ("udah #x" matches "udah 3x"). Each phrase belongs to a group (an
urgency level, a category, "repetition"); a hit reports the group and the
phrase as written in the config.

Plain phrases are found with one hash-table lookup per phrase length over
rolling hashes of consecutive words (phrases of several words only where one
of their first words is); phrases with wildcards are checked one by one, also
vectorised. No per-text Python work except for the (rare) hits themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from classifiers.features import Featurizer, HashIndex, Tokens

_U64 = np.uint64
_CHAIN = _U64(0xD6E8FEB86659FD93)
_EXACT, _PREFIX, _ANY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Hit:
    group: str
    phrase: str


@dataclass(frozen=True, slots=True)
class _Word:
    kind: int
    hash: int = 0
    length: int = 0


def _chain(hashes: Iterable[int]) -> int:
    value = 0
    for h in hashes:
        value = (value * int(_CHAIN) + int(h)) % 2**64
    return value


class PhraseMatcher:
    def __init__(self, groups: Mapping[str, Iterable[str]], featurizer: Featurizer) -> None:
        self._hits: list[Hit] = []
        exact: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._wildcard: list[tuple[int, list[_Word]]] = []
        first_words: set[int] = set()
        for group, phrases in groups.items():
            for phrase in phrases:
                pattern = self._compile(phrase, featurizer)
                if not pattern:
                    continue
                self._hits.append(Hit(group, phrase))
                index = len(self._hits) - 1
                if all(w.kind == _EXACT for w in pattern):
                    exact[len(pattern)][_chain(w.hash for w in pattern)].append(index)
                    if len(pattern) > 1:
                        first_words.add(pattern[0].hash)
                else:
                    self._wildcard.append((index, pattern))
        # per phrase length: the window hashes and, for each, the phrases it stands for
        self._exact: dict[int, tuple[HashIndex, list[list[int]]]] = {}
        for length, table in exact.items():
            keys = sorted(table)
            self._exact[length] = (HashIndex(np.array(keys, dtype=_U64)), [table[k] for k in keys])
        # phrases of several words are only looked for where one of their first words is
        self._first_words = HashIndex(np.array(sorted(first_words), dtype=_U64))

    @staticmethod
    def _compile(phrase: str, featurizer: Featurizer) -> list[_Word]:
        pattern: list[_Word] = []
        for word in phrase.lower().replace("#", "0").split():
            if word == "*":
                pattern.append(_Word(_ANY))
                continue
            stem = word.endswith("*")
            tokens = featurizer.tokens([word.rstrip("*")])
            if not len(tokens.raw):
                continue
            if stem:
                for h in tokens.norm[:-1]:
                    pattern.append(_Word(_EXACT, int(h)))
                pattern.append(_Word(_PREFIX, int(tokens.raw[-1]), int(tokens.end[-1] - tokens.start[-1])))
            else:
                pattern.extend(_Word(_EXACT, int(h)) for h in tokens.norm)
        while pattern and pattern[-1].kind == _ANY:
            pattern.pop()
        while pattern and pattern[0].kind == _ANY:
            pattern.pop(0)
        return pattern

    def find(self, tokens: Tokens, n_docs: int) -> list[list[Hit]]:
        """The hits in each of the batch's `n_docs` texts, in order of appearance."""
        found: list[list[Hit]] = [[] for _ in range(n_docs)]
        n = len(tokens.norm)
        if not n:
            return found
        norm, doc = tokens.norm, tokens.doc
        # (first word positions, phrase ids at each): exact phrases by length, then wildcard phrases in
        # config order; the stable sort below keeps that order among hits at the same word
        matches: list[tuple[np.ndarray, list[list[int]]]] = []
        starts: np.ndarray | None = None
        for length, (keys, table) in self._exact.items():
            if n < length:
                continue
            if length == 1:
                slot = keys.find(norm)
                where = np.flatnonzero(slot >= 0)
                slot = slot[where]
            else:
                if starts is None:
                    starts = np.flatnonzero(self._first_words.find(norm) >= 0)
                where = starts[starts <= n - length]
                windows = norm[where]
                with np.errstate(over="ignore"):
                    for j in range(1, length):
                        windows = windows * _CHAIN + norm[where + j]
                slot = keys.find(windows)
                hit = (slot >= 0) & (doc[where] == doc[where + length - 1])
                where, slot = where[hit], slot[hit]
            if len(where):
                matches.append((where, [table[k] for k in slot.tolist()]))
        prefix_cache: dict[int, np.ndarray] = {}

        def values(word: _Word) -> np.ndarray:
            """What `word` is compared with at every token: its normalised hash, or the hash of its first
            `word.length` characters (0 for a shorter token)."""
            if word.kind == _EXACT:
                return norm
            if word.length not in prefix_cache:
                which, hashes = tokens.prefix_hashes(word.length)
                full = np.zeros(n, dtype=_U64)
                full[which] = hashes
                prefix_cache[word.length] = full
            return prefix_cache[word.length]

        for index, pattern in self._wildcard:
            length = len(pattern)
            if n < length:
                continue
            # the first word is never `*` (stripped when compiling): candidates by it, then the rest
            where = np.flatnonzero(values(pattern[0])[: n - length + 1] == _U64(pattern[0].hash))
            for j, word in enumerate(pattern[1:], start=1):
                if word.kind != _ANY and len(where):
                    where = where[values(word)[where + j] == _U64(word.hash)]
            where = where[doc[where] == doc[where + length - 1]]
            if len(where):
                matches.append((where, [[index]] * len(where)))
        if not matches:
            return found
        positions = np.concatenate([where for where, _ in matches])
        phrase_lists = [ids for _, lists in matches for ids in lists]
        order = np.argsort(positions, kind="stable")
        docs = doc[positions[order]].tolist()
        hits = self._hits
        for doc_index, k in zip(docs, order.tolist(), strict=False):
            for i in phrase_lists[k]:
                found[doc_index].append(hits[i])
        return found
