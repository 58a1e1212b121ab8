"""TF-IDF vectorizers that compute the features of each distinct word (and word pair) once.

Catalogue titles reuse a small vocabulary of words. Character n-grams within word boundaries
(``char_wb``) are a sum over a title's words, and word features are a sum over its words and
adjacent word pairs, so caching the feature columns of each word and pair turns the most
expensive step of scoring (building a few hundred n-gram strings per title in Python) into a
few list extensions per title. Vocabulary, idf and output are exactly scikit-learn's
``TfidfVectorizer`` (see ``tests/test_features.py``); only the counting loop is replaced.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from akarclf.errors import AkarclfError
from akarclf.text.normalize import WordAnalyzer

#: Distinct words/pairs whose columns are remembered per vectorizer; the cache is emptied when
#: full, which bounds a long-running service's memory.
UNIT_CACHE_SIZE = 300_000


class _UnitCachedTfidf(TfidfVectorizer):
    """A TF-IDF vectorizer whose documents are sums of cacheable units (words, word pairs)."""

    def _cacheable(self) -> bool:
        raise NotImplementedError

    def _units(self, document: str) -> list[str]:
        raise NotImplementedError

    def _unit_features(self) -> Callable[[str], list[str]]:
        raise NotImplementedError

    def _count_vocab(self, raw_documents: Iterable[str], fixed_vocab: bool) -> Any:
        """Term counts (and, when fitting, the vocabulary) from per-unit features.

        Overrides scikit-learn's counting loop, the one place both ``fit`` and ``transform``
        analyse documents: when fitting, each distinct unit's n-gram strings are built once;
        when transforming, each unit's column indices are cached across calls.
        """
        if not self._cacheable():
            return super()._count_vocab(raw_documents, fixed_vocab)
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        features = self._unit_features()
        indices: list[int] = []
        indptr = [0]
        if fixed_vocab:
            vocabulary: dict[str, int] = self.vocabulary_
            cache = self._cache()
            for document in raw_documents:
                for unit in self._units(document):
                    columns = cache.get(unit)
                    if columns is None:
                        columns = self._columns_of(unit, features, cache)
                    indices.extend(columns)
                indptr.append(len(indices))
        else:
            growing: defaultdict[str, int] = defaultdict()
            growing.default_factory = growing.__len__
            grams_of: dict[str, list[str]] = {}
            for document in raw_documents:
                for unit in self._units(document):
                    grams = grams_of.get(unit)
                    if grams is None:
                        grams = grams_of[unit] = features(unit)
                    indices.extend(growing[g] for g in grams)
                indptr.append(len(indices))
            vocabulary = dict(growing)
            if not vocabulary:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        counts = sp.csr_matrix(
            (
                np.ones(len(indices), dtype=self.dtype),
                np.asarray(indices, dtype=np.int64),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(indptr) - 1, len(vocabulary)),
        )
        counts.sum_duplicates()
        return vocabulary, counts

    def _cache(self) -> dict[str, tuple[int, ...]]:
        cache: dict[str, tuple[int, ...]] | None = self.__dict__.get("_unit_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_unit_cache", {})
        return cache

    def _columns_of(
        self,
        unit: str,
        features: Callable[[str], list[str]],
        cache: dict[str, tuple[int, ...]],
    ) -> tuple[int, ...]:
        columns = self._lookup(unit, features)
        if len(cache) >= UNIT_CACHE_SIZE:
            cache.clear()
        cache[unit] = columns
        return columns

    def unit_columns(self, units: Sequence[str]) -> list[tuple[int, ...]]:
        """The vocabulary columns of each unit (a word, or an adjacent pair ``"a b"`` for the
        word vectorizer), one tuple per unit, a column repeated if the unit yields it twice.

        A document's term counts are the sum of its units' columns, which is what lets
        :mod:`akarclf.model.sparse_scoring` count whole batches with sparse products. Units in this
        vectorizer's cache are taken from it; the others are computed and not cached (the
        caller keeps its own index)."""
        cache = self._cache()
        found: list[tuple[int, ...] | None] = list(map(cache.get, units))
        missing = [i for i, columns in enumerate(found) if columns is None]
        if missing:
            features = self._unit_features()
            for i in missing:
                found[i] = self._lookup(units[i], features)
        return found  # type: ignore[return-value]

    def _lookup(self, unit: str, features: Callable[[str], list[str]]) -> tuple[int, ...]:
        """The vocabulary columns of the n-grams ``features`` makes of ``unit``."""
        vocabulary: dict[str, int] = self.vocabulary_
        return tuple(vocabulary[g] for g in features(unit) if g in vocabulary)

    def __getstate__(self) -> dict[str, Any]:
        """The state without the unit cache, the vocabulary packed (see :func:`pack`)."""
        state: dict[str, Any] = dict(super().__getstate__())
        state.pop("_unit_cache", None)
        packed = pack(state.get("vocabulary_"))
        if packed is not None:
            del state["vocabulary_"]
            state[PACKED_VOCABULARY] = packed
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if PACKED_VOCABULARY in state:
            state["vocabulary_"] = unpack(state.pop(PACKED_VOCABULARY))
        super().__setstate__(state)


#: State key of a packed vocabulary (format 1 model files used the same key).
PACKED_VOCABULARY = "_akarclf_packed_vocabulary"


class MalformedVocabularyError(AkarclfError, ValueError):
    """A packed vocabulary in a vectorizer's state is not one :func:`pack` wrote."""


def pack(vocabulary: object) -> dict[str, np.ndarray] | None:
    """A vocabulary (term -> column 0..n-1) as the UTF-8 bytes of its terms in column order
    plus offsets, or None if it is not such a vocabulary.

    skops writes a dict as one JSON node per entry, which makes a large model's file and load
    time grow by orders of magnitude; two arrays cost next to nothing.
    """
    if not isinstance(vocabulary, dict):
        return None
    terms: list[Any] = [None] * len(vocabulary)
    for term, column in vocabulary.items():
        if not (isinstance(term, str) and isinstance(column, (int, np.integer))):
            return None
        if not 0 <= column < len(terms) or terms[column] is not None:
            return None
        terms[column] = term.encode("utf-8")
    offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in terms], out=offsets[1:])
    return {"utf8": np.frombuffer(b"".join(terms), dtype=np.uint8), "offsets": offsets}


def unpack(packed: object) -> dict[str, int]:
    """The vocabulary :func:`pack` packed; :class:`MalformedVocabularyError` if it is not one."""
    data = packed.get("utf8") if isinstance(packed, dict) else None
    offsets = packed.get("offsets") if isinstance(packed, dict) else None
    if not (
        isinstance(data, np.ndarray)
        and isinstance(offsets, np.ndarray)
        and data.dtype == np.uint8
        and offsets.dtype == np.int64
        and data.ndim == offsets.ndim == 1
        and len(offsets) >= 1
        and offsets[0] == 0
        and offsets[-1] == len(data)
        and bool(np.all(np.diff(offsets) >= 0))
    ):
        raise MalformedVocabularyError("a packed TF-IDF vocabulary is malformed")
    raw, bounds = data.tobytes(), offsets.tolist()
    try:
        terms = [raw[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(len(bounds) - 1)]
    except UnicodeDecodeError:
        raise MalformedVocabularyError("a packed TF-IDF vocabulary is not UTF-8") from None
    vocabulary = dict(zip(terms, range(len(terms)), strict=True))
    if len(vocabulary) != len(terms):
        raise MalformedVocabularyError("a packed TF-IDF vocabulary repeats a term")
    return vocabulary


class CachedCharTfidfVectorizer(_UnitCachedTfidf):
    """``TfidfVectorizer(analyzer="char_wb")`` on normalised titles, cached per word."""

    def _cacheable(self) -> bool:
        return bool(self.analyzer == "char_wb")

    def _units(self, document: str) -> list[str]:
        return document.split()

    def _unit_features(self) -> Callable[[str], list[str]]:
        return self.build_analyzer()  # type: ignore[no-any-return]


class CachedWordTfidfVectorizer(_UnitCachedTfidf):
    """``TfidfVectorizer(analyzer=WordAnalyzer(...))``, cached per word and adjacent pair.

    Units are the words and the adjacent pairs (``"a b"``; a normalised word has no space, so
    the two kinds cannot collide). Analyzers with n-grams longer than two fall back to the
    plain path.
    """

    def _cacheable(self) -> bool:
        return isinstance(self.analyzer, WordAnalyzer) and self.analyzer.ngram_max <= 2

    def _units(self, document: str) -> list[str]:
        words = document.split()
        units = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        if words and self.analyzer.head:
            units.append("^" + words[0])
        return units

    def _unit_features(self) -> Callable[[str], list[str]]:
        analyzer = self.analyzer
        assert isinstance(analyzer, WordAnalyzer)

        def features(unit: str) -> list[str]:
            if unit.startswith("^"):
                return analyzer.head_grams(unit[1:])
            first, _, second = unit.partition(" ")
            return analyzer.pair_grams(first, second) if second else analyzer.word_grams(first)

        return features
