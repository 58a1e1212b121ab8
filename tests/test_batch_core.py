"""The shared scoring core: output columns, their order, dtypes and probability mapping."""

from __future__ import annotations

import numpy as np
import pytest
from test_batch_stub import StubModel, stub_policy

from akarclf.clusters import CLUSTERS
from akarclf.gate.flags import UNKNOWN_FLAG
from akarclf.scoring import EVIDENCE_COLUMN, OUTPUT_COLUMNS, output_columns, score_columns
from akarclf.scoring.core import FLOAT_COLUMNS, format_evidence

TITLES = ["Kemeja batik tulis", "Keripik singkong balado", "Anyaman rotan keranjang", "Mouse"]


def test_output_columns_are_the_documented_ones() -> None:
    assert OUTPUT_COLUMNS == (
        "cluster",
        "confidence",
        "p_textile_fashion",
        "p_culinary",
        "p_crafts",
        "p_other",
        "decision",
        "reason",
        "known_share",
        "obfuscation",
        "model_version",
        "policy_version",
    )
    assert output_columns(explain=True) == (*OUTPUT_COLUMNS, EVIDENCE_COLUMN)


def test_probabilities_are_mapped_by_class_name_not_position() -> None:
    model = StubModel()
    flags = np.ones(len(TITLES), dtype=np.int8)
    columns = score_columns(TITLES, flags, model=model, policy=stub_policy())
    assert list(columns) == list(OUTPUT_COLUMNS)
    # The stub's classes_ are sorted (crafts first), CLUSTERS order differs: names must win.
    assert list(model.classes_) != list(CLUSTERS)
    assert columns["cluster"].tolist() == ["textile_fashion", "culinary", "crafts", "other"]
    assert columns["p_textile_fashion"][0] == pytest.approx(0.97)
    assert columns["p_culinary"][1] == pytest.approx(0.97)
    assert columns["p_crafts"][2] == pytest.approx(0.97)
    assert columns["p_other"][3] == pytest.approx(0.97)
    assert columns["decision"].tolist() == ["block", "block", "block", "allow"]


def test_dtypes_are_float64_and_str() -> None:
    columns = score_columns(
        TITLES, [1, 0, UNKNOWN_FLAG, 1], model=StubModel(), policy=stub_policy(), explain=True
    )
    for name, values in columns.items():
        assert len(values) == len(TITLES)
        if name in FLOAT_COLUMNS:
            assert values.dtype == np.float64, name
        else:
            assert values.dtype == object, name
            assert all(type(v) is str for v in values), name
    assert columns["reason"].tolist()[1:3] == ["DOMESTIC_SELLER", "UNKNOWN_SELLER"]
    assert set(columns["model_version"]) == {"stub-1"}
    assert set(columns["policy_version"]) == {stub_policy().label}
    assert columns[EVIDENCE_COLUMN][0] == "kemeja=+1.000; batik=+1.000"


def test_blank_titles_go_to_review_as_the_gate_decides() -> None:
    columns = score_columns(["!!!", "Kaos"], [1, 1], model=StubModel(), policy=stub_policy())
    assert columns["reason"].tolist()[0] == "EMPTY_TITLE"


class _CombinedStub(StubModel):
    """A model that computes the blank mask with its probabilities (one normalisation)."""

    def predict_proba_and_blank(self, titles: list[str]) -> tuple[np.ndarray, np.ndarray]:
        blank = np.array([t == "kosong" for t in titles])  # its own notion, to be visible
        return self.predict_proba(titles), blank


def test_the_models_own_blank_mask_is_used_when_it_has_one() -> None:
    columns = score_columns(
        ["kosong", "!!!", "Kaos"], [1, 1, 1], model=_CombinedStub(), policy=stub_policy()
    )
    assert columns["reason"].tolist() == ["EMPTY_TITLE", "NOT_PROTECTED", "PROTECTED_CLUSTER"]


def test_no_rows_gives_empty_columns_without_calling_the_model() -> None:
    model = StubModel()
    columns = score_columns([], np.zeros(0, dtype=np.int8), model=model, policy=stub_policy())
    assert list(columns) == list(OUTPUT_COLUMNS)
    assert all(len(v) == 0 for v in columns.values())
    assert model.calls == []


def test_flag_count_must_match_titles() -> None:
    with pytest.raises(ValueError, match="2 titles"):
        score_columns(["a", "b"], [1], model=StubModel(), policy=stub_policy())


def test_a_model_without_a_cluster_is_refused() -> None:
    model = StubModel()
    model.classes_ = np.array(["crafts", "culinary", "other", "toys"], dtype=object)
    with pytest.raises(ValueError, match="textile_fashion"):
        score_columns(["a"], [1], model=model, policy=stub_policy())


def test_evidence_format() -> None:
    assert format_evidence([("kain batik", 0.8421), ("~tenun", -0.1)]) == (
        "kain batik=+0.842; ~tenun=-0.100"
    )
    assert format_evidence([]) == ""
