"""ClusterClassifier: the scikit-learn estimator contract, prediction, explanation, bad input."""

from __future__ import annotations

import math
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from akarclf.model.classifier import ClusterClassifier
from akarclf.model.persistence import load_model, save_model
from tests.handwritten_titles import LABELS, TEXTS

FAST = {"calibration_folds": 3, "min_df": 1, "char_ngrams": (2, 4)}


@pytest.fixture(scope="module")
def fitted() -> ClusterClassifier:
    return ClusterClassifier(**FAST).fit(TEXTS, LABELS)


def test_classes_are_the_four_clusters(fitted: ClusterClassifier) -> None:
    assert sorted(fitted.classes_) == ["crafts", "culinary", "other", "textile_fashion"]


def test_predict_proba_is_a_distribution_per_title(fitted: ClusterClassifier) -> None:
    proba = fitted.predict_proba(["Kemeja batik tulis", "kopi robusta", "", "🤖🤖"])
    assert proba.shape == (4, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(proba >= 0)


def test_learns_the_training_titles(fitted: ClusterClassifier) -> None:
    assert np.mean(fitted.predict(TEXTS) == np.asarray(LABELS)) >= 0.9


@pytest.mark.parametrize("bad", [None, math.nan, 42, b"kaos"])
def test_non_string_titles_raise_type_error_naming_the_position(
    fitted: ClusterClassifier, bad: object
) -> None:
    with pytest.raises(TypeError, match="position 1"):
        fitted.predict_proba(["kaos", bad])


def test_a_single_string_is_refused_not_split_into_characters(fitted: ClusterClassifier) -> None:
    with pytest.raises(TypeError, match="single str"):
        fitted.predict("kaos polos")


def test_empty_huge_and_foreign_titles_do_not_crash(fitted: ClusterClassifier) -> None:
    titles = ["", "   ", "kaos " * 25_000, "Ноутбук игровой", "游戏笔记本电脑", "كعك"]
    proba = fitted.predict_proba(titles)
    assert proba.shape == (len(titles), 4)
    assert np.isfinite(proba).all()


def test_unknown_labels_are_refused_with_the_valid_list() -> None:
    with pytest.raises(ValueError, match=r"unknown labels.*valid clusters"):
        ClusterClassifier(**FAST).fit(TEXTS, ["shoes", *LABELS[1:]])


def test_explain_returns_the_ngrams_that_pushed_the_decision(fitted: ClusterClassifier) -> None:
    evidence = fitted.explain("Keranjang anyaman rotan besar", top=5)
    assert 0 < len(evidence) <= 5
    names = [name for name, _ in evidence]
    weights = [weight for _, weight in evidence]
    assert weights == sorted(weights, reverse=True)
    assert all(w > 0 for w in weights)
    assert any("anyaman" in n or "rotan" in n or "lex=crafts" in n for n in names)


def test_prior_shift_moves_probability_towards_the_target_prior(fitted: ClusterClassifier) -> None:
    shifted = clone(fitted).set_params(
        class_prior={"other": 0.97, "textile_fashion": 0.01, "culinary": 0.01, "crafts": 0.01}
    )
    shifted.fit(TEXTS, LABELS)
    title = ["barang bagus ukuran sedang"]
    other = list(fitted.classes_).index("other")
    assert shifted.predict_proba(title)[0, other] > fitted.predict_proba(title)[0, other]


def test_sklearn_parameter_contract() -> None:
    estimator = ClusterClassifier()
    check_parameters_default_constructible("ClusterClassifier", estimator)
    check_no_attributes_set_in_init("ClusterClassifier", estimator)
    check_get_params_invariance("ClusterClassifier", estimator)
    params = estimator.get_params()
    assert params["word_features"] == "both"
    estimator.set_params(C=0.1, word_features="surface")
    assert estimator.get_params()["C"] == 0.1


def test_clone_pipeline_and_grid_search() -> None:
    pipeline = Pipeline([("clf", ClusterClassifier(**FAST))])
    search = GridSearchCV(
        pipeline, {"clf__word_features": ["surface", "stem"]}, cv=2, scoring="accuracy"
    )
    search.fit(TEXTS, LABELS)
    assert search.best_params_["clf__word_features"] in {"surface", "stem"}
    assert clone(search.best_estimator_).get_params()["clf__C"] == 0.5


def test_pickle_round_trip_keeps_predictions(fitted: ClusterClassifier) -> None:
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict_proba(TEXTS), fitted.predict_proba(TEXTS))


def test_prediction_is_thread_safe(fitted: ClusterClassifier) -> None:
    expected = fitted.predict_proba(TEXTS)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(fitted.predict_proba(TEXTS))
                fitted.explain(TEXTS[0])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for result in results:
        np.testing.assert_allclose(result, expected)


def test_unsaved_model_version(fitted: ClusterClassifier) -> None:
    assert fitted.model_version == "unsaved"


def test_save_and_load_round_trip(fitted: ClusterClassifier, tmp_path: Path) -> None:
    path = save_model(fitted, tmp_path / "m.akarclf", metadata={"note": "test"})
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS))
    assert loaded.metadata_["note"] == "test"
    # Restored to score: the scorer's index is made at load, not by the first request.
    assert loaded.__dict__["_scorer"]._index is not None
    assert "_scorer" not in pickle.loads(pickle.dumps(fitted.__getstate__()))
    assert loaded.model_version != "unsaved"


def test_predict_proba_and_blank_match_the_separate_calls(fitted: ClusterClassifier) -> None:
    from akarclf.model.classifier import predict_with_blank
    from akarclf.text.normalize import blank_mask

    titles = ["Kaos polos", "", "🎉", "kopi bubuk [COD]"]
    proba, blank = fitted.predict_proba_and_blank(titles)
    np.testing.assert_allclose(proba, fitted.predict_proba(titles))
    assert blank.tolist() == blank_mask(titles).tolist() == [False, True, True, False]

    class PlainModel:  # a model without the combined method takes the two-call path
        classes_ = fitted.classes_

        def predict_proba(self, titles: list[str]) -> np.ndarray:
            return fitted.predict_proba(titles)

    plain_proba, plain_blank = predict_with_blank(PlainModel(), titles)
    np.testing.assert_allclose(plain_proba, proba)
    assert plain_blank.tolist() == blank.tolist()


def test_few_titles_and_single_titles_equal_the_sklearn_path(fitted: ClusterClassifier) -> None:
    from akarclf.text.normalize import normalize_title

    titles = ["Kemeja batik tulis", "", "🎉", "keranjang anyaman rotan", "zzz qqq", "kopi kopi"]
    normalized = [normalize_title(t) for t in titles]
    # The model's float32 features round at about 1e-7 (tests/test_sparse_scoring.py compares
    # with float64 features to 1e-12).
    reference = fitted.calibrated_.predict_proba(fitted.features_.transform(normalized))
    np.testing.assert_allclose(fitted.predict_proba(titles), reference, rtol=0, atol=1e-6)
    singles = np.vstack([fitted.predict_proba([title]) for title in titles])
    np.testing.assert_allclose(singles, fitted.predict_proba(titles), rtol=0, atol=1e-12)


def test_a_fitted_model_scores_its_training_words_without_sastrawi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import akarclf.text.normalize as text

    model = ClusterClassifier(**FAST).fit(TEXTS, LABELS)
    table = model._word_analyzer().stem_table
    assert "kemasan\tkemas" in table.splitlines()
    expected = model.predict_proba(TEXTS[:40])
    loaded = load_model(save_model(model, tmp_path / "m.akarclf"))
    assert loaded._word_analyzer().stem_table == table

    def no_sastrawi(word: str) -> str:
        raise AssertionError(f"Sastrawi asked to stem {word!r}")

    text.stem_token.cache_clear()
    monkeypatch.setattr(text._Stemmer, "_stem_fn", no_sastrawi)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS[:40]), expected)
    text.stem_token.cache_clear()


def test_surface_models_keep_no_stem_table() -> None:
    model = ClusterClassifier(word_features="surface", **FAST).fit(TEXTS, LABELS)
    assert model._word_analyzer().stem_table == ""


@pytest.mark.parametrize("table", ["kerajinan", "kerajinan\t", "\trajin", "a b\tc", "a\tb\tc"])
def test_a_malformed_stem_table_is_refused(table: str) -> None:
    from akarclf.text.normalize import WordAnalyzer

    analyzer = WordAnalyzer()
    with pytest.raises(ValueError, match="malformed stem table line"):
        analyzer.__setstate__({**analyzer.__getstate__(), "stem_table": table})
