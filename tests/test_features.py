"""The cached character n-gram vectorizer gives exactly scikit-learn's char_wb TF-IDF."""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from akarclf.model.features import CachedCharTfidfVectorizer, CachedWordTfidfVectorizer
from akarclf.text.normalize import WordAnalyzer, load_lexicon, normalize_title
from tests.handwritten_titles import TEXTS

DOCS = [normalize_title(t) for t in TEXTS]
NEW = [normalize_title(t) for t in ["kemeja tenun ikat", "zzz qqq", "", "kopi kopi kopi"]]


def _pair() -> tuple[TfidfVectorizer, CachedCharTfidfVectorizer]:
    options = {
        "analyzer": "char_wb",
        "ngram_range": (2, 5),
        "min_df": 1,
        "sublinear_tf": True,
        "dtype": np.float32,
    }
    return TfidfVectorizer(**options).fit(DOCS), CachedCharTfidfVectorizer(**options).fit(DOCS)


def test_fit_learns_sklearns_vocabulary_and_idf() -> None:
    reference, cached = _pair()
    assert cached.vocabulary_ == reference.vocabulary_
    np.testing.assert_allclose(cached.idf_, reference.idf_)
    options = {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 2, "max_df": 0.5}
    limited = CachedCharTfidfVectorizer(**options).fit(DOCS)
    assert limited.vocabulary_ == TfidfVectorizer(**options).fit(DOCS).vocabulary_


def test_transform_equals_sklearn_char_wb() -> None:
    reference, cached = _pair()
    for docs in (DOCS, NEW, NEW):  # the third pass is served from the cache
        expected = reference.transform(docs).toarray()
        np.testing.assert_allclose(cached.transform(docs).toarray(), expected, rtol=1e-6)


def test_cache_is_not_pickled() -> None:
    _, cached = _pair()
    cached.transform(NEW)
    assert cached.__dict__["_unit_cache"]
    restored = pickle.loads(pickle.dumps(cached))
    assert "_unit_cache" not in restored.__dict__
    np.testing.assert_allclose(restored.transform(NEW).toarray(), cached.transform(NEW).toarray())


def test_word_transform_equals_sklearn_with_the_same_analyzer() -> None:
    for features, head in (("surface", False), ("stem", True), ("both", True)):
        analyzer = WordAnalyzer(features, 2, load_lexicon()[1], head)  # type: ignore[arg-type]
        options = {"analyzer": analyzer, "min_df": 1, "sublinear_tf": True}
        reference = TfidfVectorizer(**options).fit(DOCS)
        cached = CachedWordTfidfVectorizer(**options).fit(DOCS)
        assert cached.vocabulary_ == reference.vocabulary_
        np.testing.assert_allclose(
            cached.fit_transform(DOCS).toarray(), reference.fit_transform(DOCS).toarray(), rtol=1e-6
        )
        for docs in (DOCS, NEW, NEW):
            np.testing.assert_allclose(
                cached.transform(docs).toarray(), reference.transform(docs).toarray(), rtol=1e-6
            )


def test_word_vectorizer_with_trigrams_takes_the_plain_path() -> None:
    analyzer = WordAnalyzer("surface", 3)
    reference = TfidfVectorizer(analyzer=analyzer, min_df=1).fit(DOCS)
    cached = CachedWordTfidfVectorizer(analyzer=analyzer, min_df=1).fit(DOCS)
    np.testing.assert_allclose(cached.transform(NEW).toarray(), reference.transform(NEW).toarray())
    assert "_unit_cache" not in cached.__dict__
