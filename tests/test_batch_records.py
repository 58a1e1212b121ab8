"""score_records and score_frame: the Python batch API over the same core as the command."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_batch_stub import StubModel, stub_policy

from akarclf.scoring import OUTPUT_COLUMNS, Reject, RejectedRecordError, score_file, score_records
from akarclf.scoring.frame import score_frame
from akarclf.scoring.rows import BAD_CROSS_BORDER, BAD_RECORD, EMPTY_TITLE, OUTPUT_KEY_CLASH


def _records(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    return score_records(*args, policy=stub_policy(), **kwargs)


def _file(*args: Any, **kwargs: Any) -> Any:
    return score_file(*args, policy=stub_policy(), **kwargs)


RECORDS = [
    {"id": 1, "title": "Kemeja batik tulis", "cross_border": True},
    {"id": 2, "title": "Keripik tempe", "cross_border": "tidak"},
    {"id": 3, "title": "Anyaman rotan", "cross_border": None},
    {"id": 4, "title": "Kabel USB"},
]


def test_score_records_yields_records_with_output_columns() -> None:
    out = list(_records(RECORDS, model=StubModel(), chunk_size=3))
    assert [r["id"] for r in out] == [1, 2, 3, 4]
    assert list(out[0]) == ["id", "title", "cross_border", *OUTPUT_COLUMNS]
    assert [r["reason"] for r in out] == [
        "PROTECTED_CLUSTER",
        "DOMESTIC_SELLER",
        "UNKNOWN_SELLER",
        "NOT_PROTECTED",  # no cross_border key: treated as cross-border
    ]
    assert out[0]["p_textile_fashion"] == pytest.approx(0.97)
    assert RECORDS[0] == {"id": 1, "title": "Kemeja batik tulis", "cross_border": True}


def test_score_records_is_lazy() -> None:
    pulled = []

    def source() -> Iterator[dict[str, object]]:
        for i in range(100):
            pulled.append(i)
            yield {"title": f"Kaos {i}", "cross_border": 1}

    results = _records(source(), model=StubModel(), chunk_size=10)
    first = next(results)
    assert first["title"] == "Kaos 0"
    assert len(pulled) <= 11  # one chunk read ahead, not the whole source


def test_score_records_rejects_raise_or_go_to_the_callback() -> None:
    bad = [
        {"title": "Kaos", "cross_border": "maybe"},
        {"title": " ", "cross_border": 1},
        {"title": "Kaos", "decision": "allow"},
        ["not", "a", "mapping"],
        {"title": "Kemeja", "cross_border": 0},
    ]
    with pytest.raises(RejectedRecordError, match="record 1: BAD_CROSS_BORDER"):
        list(_records(bad, model=StubModel()))
    rejects: list[Reject] = []
    out = list(_records(bad, model=StubModel(), on_reject=rejects.append))  # type: ignore[arg-type]
    assert [r["title"] for r in out] == ["Kemeja"]
    assert [(r.line, r.reason) for r in rejects] == [
        (1, BAD_CROSS_BORDER),
        (2, EMPTY_TITLE),
        (3, OUTPUT_KEY_CLASH),
        (4, BAD_RECORD),
    ]


def test_score_records_matches_score_file(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    import json

    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    _file(source, tmp_path / "out.jsonl", model=StubModel())
    from_file = [
        json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()
    ]
    from_api = list(_records(RECORDS, model=StubModel()))
    for a, b in zip(from_file, from_api, strict=True):
        for key, value in b.items():
            if isinstance(value, float):
                assert a[key] == pytest.approx(value, abs=1e-6)
            else:
                assert a[key] == value


def test_score_frame_appends_columns_with_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "sku": ["a", "b", "c", "d"],
            "title": ["Kemeja batik", "Kopi luwak", None, "Mouse"],
            "cross_border": [1, 0, 1, np.nan],
        },
        index=[10, 20, 30, 40],
    )
    before = frame.copy()
    scored = score_frame(frame, model=StubModel(), policy=stub_policy())
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    assert list(scored.columns) == [*frame.columns, *OUTPUT_COLUMNS]
    assert list(scored.index) == [10, 20, 30, 40]
    assert scored["confidence"].dtype == np.float64
    assert scored["p_other"].dtype == np.float64
    for name in ("cluster", "decision", "reason", "model_version", "policy_version"):
        assert pd.api.types.is_string_dtype(scored[name]), name  # str (pandas 3) or object
    assert scored["reason"].tolist() == [
        "PROTECTED_CLUSTER",
        "DOMESTIC_SELLER",
        "EMPTY_TITLE",  # a missing title is an empty title to the library: review
        "UNKNOWN_SELLER",
    ]


def test_score_frame_matches_score_columns_path_of_the_command(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "title,cross_border\nKemeja batik,1\nKopi luwak,\nKabel USB,0\n", encoding="utf-8"
    )
    _file(source, tmp_path / "out.csv", model=StubModel())
    from_file = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    frame = pd.read_csv(source, keep_default_na=False)
    scored = score_frame(frame, model=StubModel(), policy=stub_policy())
    for name in OUTPUT_COLUMNS:
        if scored[name].dtype == np.float64:
            np.testing.assert_allclose(scored[name], from_file[name], atol=1e-6)
        else:
            assert scored[name].tolist() == from_file[name].tolist(), name


def test_score_frame_without_flag_column_warns_and_treats_as_cross_border() -> None:
    frame = pd.DataFrame({"title": ["Kemeja batik"]})
    with pytest.warns(UserWarning, match="cross-border"):
        scored = score_frame(frame, model=StubModel(), policy=stub_policy())
    assert scored["decision"].tolist() == ["block"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_frame(frame, model=StubModel(), policy=stub_policy(), cross_border_col=None)


def test_score_frame_errors_name_the_row() -> None:
    policy = stub_policy()
    with pytest.raises(TypeError, match="row 'b'"):
        score_frame(
            pd.DataFrame({"title": ["a", 5]}, index=["a", "b"]), model=StubModel(), policy=policy
        )
    with pytest.raises(ValueError, match="maybe"):
        score_frame(
            pd.DataFrame({"title": ["a"], "cross_border": ["maybe"]}),
            model=StubModel(),
            policy=policy,
        )
    with pytest.raises(ValueError, match="cluster"):
        score_frame(
            pd.DataFrame({"title": ["a"], "cluster": ["x"]}), model=StubModel(), policy=policy
        )
    with pytest.raises(KeyError, match="name"):
        score_frame(pd.DataFrame({"name": ["a"]}), model=StubModel(), policy=policy)


def test_score_frame_empty_frame() -> None:
    scored = score_frame(
        pd.DataFrame({"title": pd.Series([], dtype=object), "cross_border": []}),
        model=StubModel(),
        policy=stub_policy(),
    )
    assert len(scored) == 0 and list(scored.columns)[-1] == "policy_version"
