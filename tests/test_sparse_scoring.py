"""The batch scorer gives scikit-learn's probabilities, for every model shape it accepts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akarclf.model.classifier import ClusterClassifier
from akarclf.model.sparse_scoring import BatchScorer, _words_and_lengths, linear_view
from akarclf.text.normalize import normalize_title
from tests.handwritten_titles import LABELS, TEXTS

FAST = {"calibration_folds": 3, "min_df": 1}

#: Titles that exercise the counting: repeated words and pairs, one word, blanks, unknown words,
#: a word that is also part of a lexicon phrase, digits and units.
TRICKY = [
    "kopi kopi kopi bubuk kopi bubuk",
    "Kemeja batik tulis",
    "",
    "   ",
    "🎉🎉",
    "zzz qqq xxyyzz",
    "keranjang anyaman rotan asli",
    "Keripik Singkong Balado 250gr 2pcs",
    "a",
    "tas tas tas tas",
    "Чай 中文 tea",
    "patung kayu ukir jepara 30cm patung",
]


#: The scorer computes in float64; scikit-learn's path, made to compute in float64 too, must
#: give the same probabilities up to the order of floating-point sums.
IDENTICAL = 1e-12


@contextlib.contextmanager
def _float64(model: ClusterClassifier) -> Iterator[list[Any]]:
    """The model's vectorizers, making float64 TF-IDF while in the block (they make float32,
    whose rounding would hide any difference below 1e-7)."""
    vectorizers = [v for _, v in model.features_.transformer_list]
    dtypes = [v.dtype for v in vectorizers]
    try:
        for vectorizer in vectorizers:
            vectorizer.dtype = np.float64
        yield vectorizers
    finally:
        for vectorizer, dtype in zip(vectorizers, dtypes, strict=True):
            vectorizer.dtype = dtype


def _sklearn_proba(model: ClusterClassifier, normalized: list[str]) -> np.ndarray:
    """scikit-learn's probabilities (the test oracle) from float64 features."""
    with _float64(model):
        features = model.features_.transform(normalized)
    assert features.dtype == np.float64
    return np.asarray(model.calibrated_.predict_proba(features))


@pytest.fixture(scope="module", params=["both", "surface"])
def model(request: pytest.FixtureRequest) -> ClusterClassifier:
    return ClusterClassifier(word_features=request.param, **FAST).fit(TEXTS, LABELS)


def test_batch_scores_equal_the_sklearn_path(model: ClusterClassifier) -> None:
    titles = TRICKY + list(TEXTS)
    normalized = [normalize_title(t) for t in titles]
    scorer = model._batch_scorer()
    assert scorer is not None
    np.testing.assert_allclose(
        scorer.proba(normalized), _sklearn_proba(model, normalized), rtol=0, atol=IDENTICAL
    )


@pytest.mark.parametrize(
    "options",
    [
        {"char_ngrams": None},
        {"lexicon": False},
        {"word_ngram_max": 1},
        {"char_ngrams": (1, 3), "min_df": 2},
    ],
    ids=["no-char", "no-lexicon", "unigrams", "char-1-3"],
)
def test_other_model_shapes_equal_the_sklearn_path(options: dict[str, object]) -> None:
    fitted = ClusterClassifier(**{**FAST, **options}).fit(TEXTS, LABELS)
    normalized = [normalize_title(t) for t in TRICKY + list(TEXTS)]
    scorer = fitted._batch_scorer()
    assert scorer is not None
    np.testing.assert_allclose(
        scorer.proba(normalized), _sklearn_proba(fitted, normalized), rtol=0, atol=IDENTICAL
    )


@pytest.mark.parametrize("options", [{"head_word": True}, {"word_features": "stem"}])
def test_models_of_unknown_shape_go_through_sklearn(options: dict[str, object]) -> None:
    other = ClusterClassifier(**{**FAST, **options}).fit(TEXTS, LABELS)
    assert linear_view(other) is None
    assert other._batch_scorer() is None
    many = TRICKY * 3
    features = other.features_.transform([normalize_title(t) for t in many])
    np.testing.assert_array_equal(
        other.predict_proba(many), other._apply_prior(other.calibrated_.predict_proba(features))
    )


def test_one_title_and_many_go_through_the_batch_scorer(
    model: ClusterClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = BatchScorer.proba

    def counting(self: BatchScorer, normalized: list[str]) -> np.ndarray:
        calls.append(len(normalized))
        return original(self, normalized)

    monkeypatch.setattr(BatchScorer, "proba", counting)
    many = TRICKY * 3
    batch = model.predict_proba(many)
    singles = np.vstack([model.predict_proba([title]) for title in TRICKY])
    assert calls == [len(many)] + [1] * len(TRICKY)
    np.testing.assert_allclose(singles, batch[: len(TRICKY)], rtol=0, atol=IDENTICAL)


@pytest.fixture(scope="module")
def shipped() -> ClusterClassifier:
    from akarclf.model.persistence import load_model

    loaded: ClusterClassifier = load_model(expected_type=ClusterClassifier)
    return loaded


def test_the_shipped_model_gives_scikit_learn_s_probabilities_one_by_one_and_in_batches(
    shipped: ClusterClassifier,
) -> None:
    titles = TRICKY + list(TEXTS)
    normalized = [normalize_title(t) for t in titles]
    assert shipped._batch_scorer() is not None
    expected = shipped._apply_prior(_sklearn_proba(shipped, normalized))
    singles = np.vstack([shipped.predict_proba([title]) for title in titles])
    np.testing.assert_allclose(singles, expected, rtol=0, atol=IDENTICAL)
    np.testing.assert_allclose(shipped.predict_proba(titles), expected, rtol=0, atol=IDENTICAL)


def test_an_empty_batch_gives_an_empty_result(model: ClusterClassifier) -> None:
    scorer = model._batch_scorer()
    assert scorer is not None
    assert scorer.proba([]).shape == (0, len(model.classes_))


def test_a_batch_of_blank_titles_gives_the_empty_title_answer(model: ClusterClassifier) -> None:
    scorer = model._batch_scorer()
    assert scorer is not None
    blanks = [""] * 19
    np.testing.assert_allclose(
        scorer.proba(blanks), _sklearn_proba(model, blanks), rtol=0, atol=IDENTICAL
    )


def test_refitting_rebuilds_the_scorer() -> None:
    model = ClusterClassifier(**FAST).fit(TEXTS, LABELS)
    first = model._batch_scorer()
    model.set_params(char_ngrams=None).fit(TEXTS, LABELS)
    second = model._batch_scorer()
    assert second is not None and second is not first
    normalized = [normalize_title(t) for t in TRICKY]
    np.testing.assert_allclose(
        second.proba(normalized), _sklearn_proba(model, normalized), rtol=0, atol=IDENTICAL
    )


_WORDS = st.sampled_from(
    ["kopi", "bubuk", "batik", "kemeja", "anyaman", "rotan", "tas", "0", "gr", "zzz", "kayu"]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_WORDS, max_size=8).map(" ".join), min_size=1, max_size=30))
def test_any_batch_of_known_and_unknown_words_matches_sklearn(titles: list[str]) -> None:
    model = _shared_model()
    scorer = model._batch_scorer()
    assert scorer is not None
    np.testing.assert_allclose(
        scorer.proba(titles), _sklearn_proba(model, titles), rtol=0, atol=IDENTICAL
    )


_MODEL: list[ClusterClassifier] = []


def _shared_model() -> ClusterClassifier:
    if not _MODEL:
        _MODEL.append(ClusterClassifier(**FAST).fit(TEXTS, LABELS))
    return _MODEL[0]


def test_the_index_starts_afresh_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import akarclf.model.sparse_scoring as sparse_scoring

    monkeypatch.setattr(sparse_scoring, "MAX_INDEXED_WORDS", 5)
    model = ClusterClassifier(**FAST).fit(TEXTS, LABELS)
    scorer = model._batch_scorer()
    assert scorer is not None
    normalized = [normalize_title(t) for t in TRICKY + list(TEXTS)]
    first_index = None
    for start in range(0, len(normalized), 7):
        batch = normalized[start : start + 7]
        np.testing.assert_allclose(
            scorer.proba(batch), _sklearn_proba(model, batch), rtol=0, atol=IDENTICAL
        )
        first_index = first_index or scorer._index
    assert first_index is not None and scorer._index is not first_index


def test_threads_can_share_one_scorer() -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = ClusterClassifier(**FAST).fit(TEXTS, LABELS)
    scorer = model._batch_scorer()
    assert scorer is not None
    normalized = [normalize_title(t) for t in TRICKY + list(TEXTS)]
    batches = [normalized[i::8] for i in range(8)] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(scorer.proba, batches))
    for batch, proba in zip(batches, results, strict=True):
        np.testing.assert_allclose(proba, _sklearn_proba(model, batch), rtol=0, atol=IDENTICAL)


def test_each_tfidf_block_equals_the_vectorizer_output(model: ClusterClassifier) -> None:
    scorer = model._batch_scorer()
    assert scorer is not None
    normalized = [normalize_title(t) for t in TRICKY + list(TEXTS)]
    blocks = scorer.tfidf(scorer.resolve(normalized))
    with _float64(model) as vectorizers:
        expected_blocks = [v.transform(normalized).toarray() for v in vectorizers]
    assert len(blocks) == len(expected_blocks)
    for block, expected in zip(blocks, expected_blocks, strict=True):
        np.testing.assert_allclose(block.normalized().toarray(), expected, rtol=0, atol=IDENTICAL)


_SPACED = st.text(alphabet=st.sampled_from(list("ab \t\n\xa0")), max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.lists(_SPACED, max_size=12))
def test_batch_words_and_counts_equal_splitting_each_title(titles: list[str]) -> None:
    # Whatever the spacing (blank titles, double, leading, tab, no-break spaces), the joined
    # fast path must give what splitting title by title gives.
    words, lengths = _words_and_lengths(titles)
    split = [title.split() for title in titles]
    assert words == [word for title in split for word in title]
    assert lengths.tolist() == [len(title) for title in split]
