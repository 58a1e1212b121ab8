"""``ClusterClassifier``: the scikit-learn estimator that reads a title and predicts its cluster.

Word n-gram TF-IDF (surface forms, Sastrawi stems or both) and, optionally, character n-gram
TF-IDF feed a linear SVM whose scores are turned into probabilities by a sigmoid calibration
fitted on cross-validated scores, i.e. on titles the scoring model did not see. Class imbalance
(crafts is a fraction of a percent of the training mix) is handled by balanced class weights;
the shift from the training mix to a real catalogue by an optional target prior.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from akarclf.clusters import CLUSTERS
from akarclf.model.features import CachedCharTfidfVectorizer, CachedWordTfidfVectorizer
from akarclf.model.sparse_scoring import BatchScorer, linear_view
from akarclf.text.normalize import (
    WordAnalyzer,
    blank_mask,
    check_title,
    load_lexicon,
    normalize_title,
)

#: Version label of a model that was never saved (a saved model carries its file's label).
UNSAVED = "unsaved"


def _normalize_all(titles: Iterable[object]) -> list[str]:
    if isinstance(titles, str):
        raise TypeError("expected a sequence of titles, got a single str; wrap it in a list")
    return [normalize_title(check_title(t, i)) for i, t in enumerate(titles)]


class ClusterClassifier(ClassifierMixin, BaseEstimator):
    """Predict the AKAR cluster of Indonesian product titles, with calibrated probabilities.

    Parameters
    ----------
    word_features : "surface", "stem" or "both"
        Which word forms the word n-grams are built from (see
        :class:`akarclf.text.normalize.WordAnalyzer`).
    word_ngram_max : int
        Longest word n-gram.
    char_ngrams : tuple (min, max) or None
        Character n-grams within word boundaries; None turns them off.
    min_df : int
        Features seen in fewer training titles are ignored (bounds model size, drops typos).
    C : float
        Inverse regularisation strength of the linear SVM.
    calibration_folds : int
        Folds of the cross-validated scores that the sigmoid calibration is fitted on.
    class_prior : mapping cluster -> probability, or None
        Expected share of each cluster where the model is used. Probabilities are re-weighted
        from the training mix's prior to this one (a real cross-border catalogue is mostly
        ``other``); None keeps the training mix's prior.
    prior_strength : float
        How far to move towards ``class_prior``: probabilities are multiplied by
        ``(class_prior / training prior) ** prior_strength`` and renormalised; 1 is the full
        Bayes correction, 0.5 goes halfway (in log space) when the target prior is itself only
        an estimate.
    lexicon : bool
        Add ``lex=<cluster>`` features from the packaged product-noun lexicon
        (``akarclf/text/data/lexicon.toml``); the lexicon is copied into the fitted model, so a
        later edit of the file does not change a saved model's features.
    head_word : bool
        Add a feature for the title's first word, which usually names the product.
    random_state : int
        Seed of the calibration folds.
    """

    def __init__(
        self,
        word_features: str = "both",
        word_ngram_max: int = 2,
        char_ngrams: tuple[int, int] | None = (2, 5),
        min_df: int = 2,
        C: float = 0.5,
        calibration_folds: int = 5,
        class_prior: Mapping[str, float] | None = None,
        prior_strength: float = 1.0,
        lexicon: bool = True,
        head_word: bool = False,
        random_state: int = 0,
    ) -> None:
        self.word_features = word_features
        self.word_ngram_max = word_ngram_max
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.C = C
        self.calibration_folds = calibration_folds
        self.class_prior = class_prior
        self.prior_strength = prior_strength
        self.lexicon = lexicon
        self.head_word = head_word
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------

    def _make_features(self) -> FeatureUnion:
        lexicon = None
        if self.lexicon:
            self.lexicon_version_, lexicon = load_lexicon()
        parts: list[tuple[str, Any]] = [
            (
                "word",
                CachedWordTfidfVectorizer(
                    analyzer=WordAnalyzer(
                        self.word_features,  # type: ignore[arg-type]
                        self.word_ngram_max,
                        lexicon,
                        self.head_word,
                    ),
                    min_df=self.min_df,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            )
        ]
        if self.char_ngrams is not None:
            parts.append(
                (
                    "char",
                    CachedCharTfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=tuple(self.char_ngrams),
                        min_df=max(self.min_df, 3),
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                )
            )
        return FeatureUnion(parts)

    def fit(
        self, X: Iterable[object], y: Sequence[str], sample_weight: Sequence[float] | None = None
    ) -> ClusterClassifier:
        """Learn features and classifier from raw titles ``X`` and cluster labels ``y``."""
        for derived in ("_scorer", "_feature_names_cache"):  # built from the previous fit
            self.__dict__.pop(derived, None)
        normalized = _normalize_all(X)
        labels = np.asarray(y, dtype=object)
        if len(labels) != len(normalized):
            raise ValueError(f"X has {len(normalized)} titles but y has {len(labels)} labels")
        unknown = sorted(set(labels) - set(CLUSTERS))
        if unknown:
            raise ValueError(f"unknown labels {unknown}; valid clusters: {', '.join(CLUSTERS)}")
        self.features_ = self._make_features()
        matrix = self.features_.fit_transform(normalized)
        analyzer = self._word_analyzer()
        # The training words and the lexicon's: the scorer indexes lexicon phrases up front.
        texts = itertools.chain(normalized, analyzer.lexicon or ())
        analyzer.remember_stems(itertools.chain.from_iterable(map(str.split, texts)))
        folds = StratifiedKFold(
            self.calibration_folds, shuffle=True, random_state=self.random_state
        )
        self.calibrated_ = CalibratedClassifierCV(
            LinearSVC(C=self.C, class_weight="balanced", random_state=self.random_state),
            method="sigmoid",
            cv=folds,
            ensemble=False,
        )
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.calibrated_.fit(matrix, labels, sample_weight=weights)
        self.classes_ = self.calibrated_.classes_
        row_weights = np.ones(len(labels)) if weights is None else weights
        counts = np.array([row_weights[labels == c].sum() for c in self.classes_], dtype=float)
        self.train_prior_ = counts / counts.sum()
        self.n_features_ = matrix.shape[1]
        self.metadata_: dict[str, Any] = {}
        return self

    def _word_analyzer(self) -> WordAnalyzer:
        analyzer: WordAnalyzer = self.features_.named_transformers["word"].analyzer
        return analyzer

    # -- prediction --------------------------------------------------------------------------

    def _prior_ratio(self) -> np.ndarray | None:
        if self.class_prior is None:
            return None
        target = np.array([float(self.class_prior.get(c, 0.0)) for c in self.classes_])
        if np.any(target < 0) or target.sum() <= 0:
            raise ValueError(
                f"class_prior must be non-negative and not all zero: {self.class_prior}"
            )
        ratio: np.ndarray = (target / target.sum()) / np.maximum(self.train_prior_, 1e-12)
        return np.asarray(ratio**self.prior_strength)

    def transform_titles(self, X: Iterable[object]) -> Any:
        """The sparse feature matrix of raw titles (for inspection and benchmarks)."""
        check_is_fitted(self, "calibrated_")
        return self.features_.transform(_normalize_all(X))

    def predict_proba(self, X: Iterable[object]) -> np.ndarray:
        """Calibrated probabilities, one column per entry of ``classes_``.

        Titles with no usable words get the model's answer for an empty title; use
        :func:`akarclf.text.normalize.blank_mask` to find them (the gate sends them to review).
        """
        check_is_fitted(self, "calibrated_")
        return self._proba_of_normalized(_normalize_all(X))

    def _proba_of_normalized(self, normalized: list[str]) -> np.ndarray:
        """Probabilities of normalised titles, one or many, from the sparse batch scorer
        (equal to scikit-learn's path, which serves only models of shapes it does not know)."""
        scorer = self._batch_scorer()
        if scorer is None:
            proba = self.calibrated_.predict_proba(self.features_.transform(normalized))
        else:
            proba = scorer.proba(normalized)
        return self._apply_prior(proba)

    _scorer_lock = threading.Lock()

    def _batch_scorer(self) -> BatchScorer | None:
        """The model's :class:`akarclf.model.sparse_scoring.BatchScorer`, built on first use, or
        None
        when the fitted model is not of the shape it knows."""
        if "_scorer" not in self.__dict__:
            with self._scorer_lock:
                if "_scorer" not in self.__dict__:
                    view = linear_view(self)
                    self.__dict__["_scorer"] = None if view is None else BatchScorer(view)
        scorer: BatchScorer | None = self.__dict__["_scorer"]
        return scorer

    def _apply_prior(self, proba: np.ndarray) -> np.ndarray:
        ratio = self._prior_ratio()
        if ratio is not None:
            proba = proba * ratio
            proba /= proba.sum(axis=1, keepdims=True)
        return np.asarray(proba)

    def predict_proba_and_blank(self, X: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict_proba` and :func:`akarclf.text.normalize.blank_mask` from one pass.

        The gate needs both; normalising every title once instead of twice is a fifth of the
        cost of scoring.
        """
        check_is_fitted(self, "calibrated_")
        normalized = _normalize_all(X)
        blank = np.fromiter((not t for t in normalized), dtype=bool, count=len(normalized))
        return self._proba_of_normalized(normalized), blank

    def predict_proba_normalized(self, normalized: Sequence[str]) -> np.ndarray:
        """:meth:`predict_proba` of titles already through :func:`normalize_title` (the gate's
        evidence normalises each title once for the probabilities, windows and known words)."""
        check_is_fitted(self, "calibrated_")
        return self._proba_of_normalized(list(normalized))

    def predict(self, X: Iterable[object]) -> np.ndarray:
        """The most probable cluster of each title."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def decision_function(self, X: Iterable[object]) -> np.ndarray:
        """Uncalibrated linear scores of the final SVM, one column per class."""
        return np.asarray(self._svm().decision_function(self.transform_titles(X)))

    # -- explanation -------------------------------------------------------------------------

    def _svm(self) -> LinearSVC:
        check_is_fitted(self, "calibrated_")
        svm: LinearSVC = self.calibrated_.calibrated_classifiers_[0].estimator
        return svm

    _names_lock = threading.Lock()

    def _feature_names(self) -> np.ndarray:
        names = self.__dict__.get("_feature_names_cache")
        if names is None:
            with self._names_lock:
                names = self.__dict__.get("_feature_names_cache")
                if names is None:
                    names = np.asarray(self.features_.get_feature_names_out(), dtype=object)
                    self.__dict__["_feature_names_cache"] = names
        return names

    def explain(self, title: str, top: int = 10) -> list[tuple[str, float]]:
        """The n-grams of ``title`` that pushed the predicted cluster most, with their weights.

        A weight is the feature's TF-IDF value times the linear coefficient of the predicted
        cluster: the share of the decision score that n-gram contributed. ``word__`` features
        are word n-grams (``~`` marks a stem), ``char__`` features character n-grams.
        """
        check_title(title)
        row = self.transform_titles([title])
        scores = self._svm().decision_function(row)[0]
        svm = self._svm()
        winner = int(np.argmax(scores)) if scores.ndim else 0
        coef = svm.coef_[winner]
        indices = row.indices
        contributions = row.data * coef[indices]
        order = np.argsort(-contributions)
        names = self._feature_names()
        return [
            (str(names[indices[i]]), float(contributions[i]))
            for i in order[:top]
            if contributions[i] > 0
        ]

    # -- metadata ----------------------------------------------------------------------------

    @property
    def model_version(self) -> str:
        """Version label of the model: its saved file's label, or ``unsaved``."""
        return str(getattr(self, "metadata_", {}).get("model_version", UNSAVED))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_feature_names_cache", None)
        state.pop("_scorer", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a saved (or pickled) model and make its scorer's index at once: a restored
        model is there to score, and a service's first request should not pay for the index."""
        super().__setstate__(state)
        scorer = self._batch_scorer() if "calibrated_" in self.__dict__ else None
        if scorer is not None:
            scorer.prepare()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def predict_with_blank(model: Any, titles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and the blank-title mask of ``titles`` for any model.

    Uses the model's ``predict_proba_and_blank`` when it has one (one normalisation pass),
    else ``predict_proba`` plus :func:`akarclf.text.normalize.blank_mask`; the gate and the batch
    scorer
    both go through here.
    """
    combined = getattr(model, "predict_proba_and_blank", None)
    if combined is not None:
        proba, blank = combined(titles)
    else:
        proba, blank = model.predict_proba(titles), blank_mask(titles)
    return np.asarray(proba, dtype=np.float64), np.asarray(blank, dtype=bool)
