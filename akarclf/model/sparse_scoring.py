"""Calibrated probabilities of many normalised titles at once, by sparse algebra over a batch's
distinct words.

A fitted :class:`akarclf.ClusterClassifier` is, underneath, TF-IDF features that are sums over
a title's words and adjacent word pairs, one linear SVM, and one sigmoid per class. Going
through scikit-learn's vectorizers costs a Python loop over every word of every title plus a
sort of every row. Here a batch becomes two sparse count matrices, titles x indexed words and
titles x indexed pairs (the pairs that have features: vocabulary bigrams, lexicon phrases),
built with a few C-level passes; multiplying them by each word's and pair's feature columns,
kept in a per-process index, gives exactly the term counts scikit-learn would count, and
TF-IDF weighting, the SVM and the calibration are then a handful of vectorised operations.
``tests/test_sparse_scoring.py`` checks the result against scikit-learn's path. Catalogue
scoring spends most of its time here, so this is what makes ``akarclf score`` fast.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from akarclf.model.features import CachedWordTfidfVectorizer, _UnitCachedTfidf


@dataclass(frozen=True)
class LinearPart:
    """One TF-IDF block of the feature union and the SVM coefficients of its columns."""

    vectorizer: _UnitCachedTfidf
    #: Whether the block's units include adjacent word pairs (the word n-grams) or only words.
    pairs: bool
    #: Columns ``offset : offset + width`` of the SVM's coefficient matrix belong to this block.
    offset: int
    width: int


@dataclass(frozen=True)
class LinearView:
    """A fitted ClusterClassifier seen as TF-IDF blocks, one linear SVM and per-class sigmoids.

    The batch scorer computes from this view; it exists only for models of the shape it knows
    (see :func:`linear_view`).
    """

    parts: tuple[LinearPart, ...]
    #: SVM coefficients, classes x features, float64.
    coef: np.ndarray
    #: SVM intercepts, one per class.
    intercept: np.ndarray
    #: Sigmoid calibration ``1 / (1 + exp(a * score + b))`` per class.
    a: np.ndarray
    b: np.ndarray

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Per-class sigmoids of SVM scores, normalised to sum to one, as scikit-learn's
        ``CalibratedClassifierCV`` does (uniform where every sigmoid is zero)."""
        sigmoid = 1.0 / (1.0 + np.exp(self.a * scores + self.b))
        total = sigmoid.sum(axis=1, keepdims=True)
        uniform = np.full_like(sigmoid, 1.0 / sigmoid.shape[1])
        proba: np.ndarray = np.divide(sigmoid, total, out=uniform, where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba


def linear_view(model: Any) -> LinearView | None:
    """The linear view of a fitted ClusterClassifier, or None when it is of another shape
    (an ensemble of calibrated classifiers, isotonic calibration, weighted or non-cacheable
    feature blocks, a head-word feature, word n-grams over stems only, a binary problem),
    which then goes through scikit-learn."""
    calibrated = model.calibrated_.calibrated_classifiers_
    if len(calibrated) != 1 or calibrated[0].method != "sigmoid":
        return None
    union = model.features_
    if union.transformer_weights:
        return None
    svm = calibrated[0].estimator
    if list(svm.classes_) != list(calibrated[0].classes) or svm.coef_.shape[0] < 3:
        return None
    parts: list[LinearPart] = []
    offset = 0
    for _, vectorizer in union.transformer_list:
        if not isinstance(vectorizer, _UnitCachedTfidf) or not vectorizer._cacheable():
            return None
        is_word = isinstance(vectorizer, CachedWordTfidfVectorizer)
        # Pairs are looked up by their surface words (see _UnitIndex): stem bigrams are not.
        if is_word and (vectorizer.analyzer.head or vectorizer.analyzer.features == "stem"):
            return None
        if vectorizer.binary or vectorizer.norm not in ("l2", None):
            return None
        width = len(vectorizer.vocabulary_)
        parts.append(LinearPart(vectorizer, is_word, offset, width))
        offset += width
    if offset != svm.coef_.shape[1]:
        return None
    return LinearView(
        parts=tuple(parts),
        coef=np.asarray(svm.coef_, dtype=np.float64),
        intercept=np.asarray(svm.intercept_, dtype=np.float64),
        a=np.array([c.a_ for c in calibrated[0].calibrators], dtype=np.float64),
        b=np.array([c.b_ for c in calibrated[0].calibrators], dtype=np.float64),
    )


#: The scorer forgets the words it has indexed once it holds more than this many (the next
#: batch starts a fresh index), which bounds a long-running process's memory.
MAX_INDEXED_WORDS = 400_000


class BatchScorer:
    """Scores batches of normalised titles through a :class:`LinearView`.

    Every distinct word the scorer meets gets a row in an index of feature columns, so a
    catalogue pays the feature lookup of each word once, not once per batch; the adjacent pairs
    that have features are indexed when the index is made. The index is extended under a lock
    and only ever appended to, so threads can share one scorer; it is bounded by
    :data:`MAX_INDEXED_WORDS`.
    """

    def __init__(self, view: LinearView) -> None:
        self.view = view
        # Each block's coefficients as features x classes, for one sparse x dense product.
        self._coef_t = [
            np.ascontiguousarray(view.coef[:, p.offset : p.offset + p.width].T) for p in view.parts
        ]
        self._idf = [
            np.asarray(p.vectorizer.idf_, dtype=np.float64) if p.vectorizer.use_idf else None
            for p in view.parts
        ]
        self._lock = threading.Lock()
        self._index: _UnitIndex | None = None  # made by the first batch

    def prepare(self) -> None:
        """Make the index now (its pairs take a second for a large model) instead of in the
        first batch."""
        with self._lock:
            if self._index is None:
                self._index = _UnitIndex(self.view.parts)

    def proba(self, normalized: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities (before any prior shift), titles x classes."""
        return self.view.calibrate(self.scores(normalized))

    def scores(self, normalized: Sequence[str]) -> np.ndarray:
        """The linear SVM's decision scores, titles x classes."""
        return self.linear_scores(self.tfidf(self.resolve(normalized)))

    # The three stages of :meth:`scores`, public so that benchmarks can time them one by one.

    def resolve(self, normalized: Sequence[str]) -> ResolvedBatch:
        """Stage 1: the batch's words and adjacent pairs as rows of the index (words not seen
        before are stemmed, turned into n-grams and added; pairs without features drop out)."""
        n = len(normalized)
        words, lengths = _words_and_lengths(normalized)
        rows = np.repeat(np.arange(n, dtype=np.int32), lengths)
        same_title = rows[:-1] == rows[1:]
        with self._lock:
            if self._index is None or self._index.full():
                self._index = _UnitIndex(self.view.parts)
            word_units, pair_units, pair_hit = self._index.resolve(words, same_title)
            columns = [store.snapshot() for store in self._index.stores]
        pair_lengths = np.bincount(rows[:-1][same_title][pair_hit], minlength=n)
        units = _units_matrix(word_units, lengths, pair_units, pair_lengths, columns[0].shape[0])
        return ResolvedBatch(units, columns)

    def tfidf(self, batch: ResolvedBatch) -> list[TfidfBlock]:
        """Stage 2: each block's TF-IDF, titles x features, as scikit-learn's would be."""
        return [
            _tfidf(batch.units @ columns, idf, part.vectorizer)
            for part, idf, columns in zip(self.view.parts, self._idf, batch.columns, strict=True)
        ]

    def linear_scores(self, blocks: list[TfidfBlock]) -> np.ndarray:
        """Stage 3: the SVM's scores from the TF-IDF blocks."""
        n = blocks[0].weights.shape[0] if blocks else 0
        scores = np.tile(self.view.intercept, (n, 1))
        for block, coef_t in zip(blocks, self._coef_t, strict=True):
            scores += (block.weights @ coef_t) / block.norms[:, np.newaxis]
        return scores


def _words_and_lengths(normalized: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """All words of the batch, title after title, and each title's word count.

    Normalised titles are words joined by single spaces, so one split of the joined batch and
    a count of spaces per title give both without allocating a list per title (which, next to
    the large heap of a loaded model, costs more than the splitting; see the CHANGELOG).
    Whether the batch is spaced so is checked, not assumed: the words joined again must give
    back the joined batch; otherwise each title is split alone.
    """
    joined = " ".join(filter(None, normalized))
    words = joined.split()
    if " ".join(words) == joined:
        lengths = np.fromiter(
            (title.count(" ") + 1 if title else 0 for title in normalized),
            dtype=np.int64,
            count=len(normalized),
        )
        return words, lengths
    split = list(map(str.split, normalized))
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(normalized))
    return list(itertools.chain.from_iterable(split)), lengths


@dataclass(frozen=True)
class TfidfBlock:
    """One block's TF-IDF as unnormalised weights and each row's norm (1 for empty rows)."""

    weights: sp.csr_matrix
    norms: np.ndarray

    def normalized(self) -> sp.csr_matrix:
        """The block as scikit-learn's vectorizer returns it (rows divided by their norm)."""
        scaled: sp.csr_matrix = sp.diags(1.0 / self.norms) @ self.weights
        return scaled


@dataclass(frozen=True)
class ResolvedBatch:
    """A batch as counts over the index's units, with each block's columns of those units."""

    #: Titles x indexed units (pairs, then words), repeats allowed.
    units: sp.csr_matrix
    #: Per block: indexed units x features.
    columns: list[sp.csr_matrix]


class _UnitIndex:
    """Words seen so far and the adjacent pairs that have features, each with its feature
    columns in every block.

    Words are added as batches bring them. Pairs are fixed when the index is made: a pair has
    features only if it is a bigram of the vocabulary or a two-word lexicon phrase, so every
    other pair (most of a catalogue's) is known to count for nothing without being looked at.
    """

    def __init__(self, parts: Sequence[LinearPart]) -> None:
        self.parts = parts
        pairs = sorted(set().union(*(_pairs_with_features(p.vectorizer) for p in parts if p.pairs)))
        #: Units are rows of every block's store: the pairs, then the words as they come.
        self.stores = [_ColumnStore(p.width) for p in parts]
        for part, store in zip(parts, self.stores, strict=True):
            store.append(part.vectorizer.unit_columns(pairs) if part.pairs else [()] * len(pairs))
        self.first_word = len(pairs)
        self.word_ids: dict[str, int] = {}
        self.words: list[str] = []
        halves = [pair.split(" ") for pair in pairs]
        self._add_words(itertools.chain.from_iterable(halves))
        firsts = np.array([self.word_ids[a] for a, _ in halves], dtype=np.int64)
        seconds = np.array([self.word_ids[b] for _, b in halves], dtype=np.int64)
        codes = (firsts << 31) | seconds
        order = np.argsort(codes)
        # Pair codes (first word id << 31 | second word id), sorted, and their units.
        self.pair_codes = codes[order]
        self.pair_rows = order.astype(np.int32)

    def full(self) -> bool:
        return len(self.words) > MAX_INDEXED_WORDS

    def _add_words(self, words: Iterable[str]) -> None:
        known = self.word_ids
        new = [w for w in dict.fromkeys(words) if w not in known]
        known.update(zip(new, range(len(self.words), len(self.words) + len(new)), strict=True))
        self.words.extend(new)
        for part, store in zip(self.parts, self.stores, strict=True):
            store.append(part.vectorizer.unit_columns(new))

    def resolve(
        self, words: list[str], same_title: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Units of ``words`` (a batch's tokens, title after title, unseen ones added), the
        units of their adjacent pairs that have features (pairs are the positions where
        ``same_title`` is true), and which of those pairs they are."""
        found = list(map(self.word_ids.get, words))
        if None in found:
            self._add_words(w for w, i in zip(words, found, strict=True) if i is None)
            found = list(map(self.word_ids.__getitem__, words))
        ids = np.array(found, dtype=np.int32)
        codes = (ids[:-1][same_title].astype(np.int64) << 31) | ids[1:][same_title]
        if not len(self.pair_codes):
            return ids, np.empty(0, dtype=np.int32), np.zeros(len(codes), dtype=bool)
        at = np.minimum(np.searchsorted(self.pair_codes, codes), len(self.pair_codes) - 1)
        hit = self.pair_codes[at] == codes
        return ids + np.int32(self.first_word), self.pair_rows[at[hit]], hit


def _pairs_with_features(vectorizer: _UnitCachedTfidf) -> set[str]:
    """Adjacent word pairs that yield a feature in ``vectorizer`` (a word n-gram vectorizer
    on surface forms): its vocabulary's bigrams and its lexicon's two-word phrases."""
    analyzer = vectorizer.analyzer
    bigrams = {
        term
        for term in vectorizer.vocabulary_
        if " " in term and not term.startswith(("~", "lex=", "^"))
    }
    phrases = {entry for entry in (analyzer.lexicon or {}) if " " in entry}
    return {pair for pair in bigrams | phrases if len(pair.split(" ")) == 2}


class _ColumnStore:
    """Rows of feature columns, appended to and never changed: a growing CSR matrix whose
    snapshots stay valid while later rows are added."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows = 0
        self.nnz = 0
        self.indptr = np.zeros(1025, dtype=np.int32)
        self.indices = np.empty(8192, dtype=np.int32)
        self.ones = np.ones(8192, dtype=np.float32)
        self._snapshot: sp.csr_matrix | None = None

    def append(self, columns: list[tuple[int, ...]]) -> None:
        sizes = np.fromiter(map(len, columns), dtype=np.int64, count=len(columns))
        total = int(sizes.sum())
        flat = np.fromiter(itertools.chain.from_iterable(columns), dtype=np.int32, count=total)
        if self.rows + len(columns) + 1 > len(self.indptr):
            self.indptr = _grown(self.indptr, self.rows + len(columns) + 1)
        if self.nnz + total > len(self.indices):
            self.indices = _grown(self.indices, self.nnz + total)
            self.ones = np.ones(len(self.indices), dtype=np.float32)
        self.indptr[self.rows + 1 : self.rows + 1 + len(columns)] = self.nnz + np.cumsum(sizes)
        self.indices[self.nnz : self.nnz + total] = flat
        self.rows += len(columns)
        self.nnz += total

    def snapshot(self) -> sp.csr_matrix:
        """The rows so far as a CSR matrix sharing this store's arrays (made again only
        after rows were added)."""
        if self._snapshot is None or self._snapshot.shape[0] != self.rows:
            self._snapshot = sp.csr_matrix(
                (self.ones[: self.nnz], self.indices[: self.nnz], self.indptr[: self.rows + 1]),
                shape=(self.rows, self.width),
                copy=False,
            )
        return self._snapshot


def _grown(array: np.ndarray, needed: int) -> np.ndarray:
    """A copy of ``array`` with room for at least ``needed`` items (capacity doubles)."""
    grown = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _units_matrix(
    words: np.ndarray,
    word_lengths: np.ndarray,
    pairs: np.ndarray,
    pair_lengths: np.ndarray,
    width: int,
) -> sp.csr_matrix:
    """Titles x units counts from each title's word units and pair units, each laid end to end
    title after title (repeats allowed): a title's row holds its words, then its pairs."""
    indptr = np.zeros(len(word_lengths) + 1, dtype=np.int32)
    np.cumsum(word_lengths + pair_lengths, out=indptr[1:])
    if len(pairs):
        starts = indptr[:-1]
        units = np.empty(len(words) + len(pairs), dtype=np.int32)
        word_starts = np.cumsum(word_lengths) - word_lengths
        pair_starts = np.cumsum(pair_lengths) - pair_lengths
        units[np.arange(len(words)) + np.repeat(starts - word_starts, word_lengths)] = words
        at = np.arange(len(pairs)) + np.repeat(starts + word_lengths - pair_starts, pair_lengths)
        units[at] = pairs
        words = units
    return sp.csr_matrix(
        (np.ones(len(words), dtype=np.float32), words, indptr),
        shape=(len(word_lengths), width),
        copy=False,
    )


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray | None, vectorizer: Any) -> TfidfBlock:
    """scikit-learn's TF-IDF of term counts (optional sublinear tf, idf, optional l2 norm),
    with the norm kept aside: dividing the few scores is cheaper than every weight."""
    if vectorizer.sublinear_tf:
        values = np.log(counts.data, dtype=np.float64)
        values += 1.0
    else:
        values = counts.data.astype(np.float64)
    if idf is not None:
        values *= idf[counts.indices]
    norms = np.ones(counts.shape[0])
    if vectorizer.norm == "l2":
        starts = counts.indptr[:-1]
        filled = counts.indptr[1:] > starts
        if filled.any():
            # Segments from one filled row's start to the next filled row's are that row's.
            norms[filled] = np.sqrt(np.add.reduceat(values * values, starts[filled]))
    counts.data = values  # the weights, in the matrix the counts came in (made for this call)
    return TfidfBlock(counts, norms)
