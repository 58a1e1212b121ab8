"""``decide`` refuses containers it would misread, with a TypeError that says what to pass
(issue 15, item 9), and reads ``pandas.NA`` as an unknown seller."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_batch_stub import StubModel, stub_policy

from akarclf.gate.decision import UNKNOWN_SELLER, decide
from akarclf.gate.flags import parse_cross_border_many

ON = dt.date(2026, 1, 1)


@pytest.mark.parametrize(
    ("titles", "message"),
    [
        (pd.DataFrame({"title": ["Kemeja batik"], "cross_border": [1]}), "one-dimensional"),
        (np.array([["Kemeja batik"]]), "one-dimensional"),
        (b"Kemeja batik", "not bytes: decode it first"),
        (bytearray(b"Kemeja batik"), "not bytearray: decode it first"),
        ({"Kemeja batik", "Kopi robusta"}, "not a set: results are matched to inputs by position"),
        ({"title": "Kemeja batik"}, "not a dict"),
        (None, "must be a sequence .* got NoneType"),
        (5, "must be a sequence .* got int"),
    ],
)
def test_titles_it_would_misread_are_refused(titles: object, message: str) -> None:
    model = StubModel()
    with pytest.raises(TypeError, match=rf"^titles .*{message}"):
        decide(titles, True, model=model, policy=stub_policy(), on=ON)  # type: ignore[call-overload]
    assert model.calls == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({True, False}, "cross_border must be an ordered sequence"),
        (frozenset({True}), "cross_border must be an ordered sequence"),
        (pd.DataFrame({"a": [1, 0]}), "cross_border must be one-dimensional"),
        ({"Kemeja batik": True, "Kopi": False}, "not a dict"),
    ],
)
def test_flags_it_would_misread_are_refused(flags: object, message: str) -> None:
    model = StubModel()
    with pytest.raises(TypeError, match=message):
        decide(["Kemeja batik", "Kopi robusta"], flags, model=model, policy=stub_policy(), on=ON)
    assert model.calls == []


def test_pandas_na_is_an_unknown_seller() -> None:
    model, policy = StubModel(), stub_policy()
    assert decide("Kemeja batik", pd.NA, model=model, policy=policy, on=ON).reason == UNKNOWN_SELLER
    records = decide(
        ["Kemeja batik", "Kopi robusta"],
        pd.array([pd.NA, True], dtype="boolean"),
        model=model,
        policy=policy,
        on=ON,
    )
    assert records[0].reason == UNKNOWN_SELLER


@pytest.mark.parametrize("path", ["model.akarclf", Path("model.akarclf")])
def test_a_model_path_is_refused_with_what_to_pass(path: object) -> None:
    with pytest.raises(
        TypeError, match=r"model must be a loaded model.*akarclf\.load_model\(path\)"
    ):
        decide("Kemeja batik", True, model=path, policy=stub_policy(), on=ON)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["policy.toml", Path("policy.toml")])
def test_a_policy_path_is_refused_with_what_to_pass(path: object) -> None:
    with pytest.raises(TypeError, match=r"policy must be a Policy.*akarclf\.load_policy\(path\)"):
        decide("Kemeja batik", True, model=StubModel(), policy=path, on=ON)  # type: ignore[arg-type]


def test_objects_that_are_no_model_or_policy_are_named() -> None:
    with pytest.raises(TypeError, match=r"model must be a classifier .* got dict"):
        decide("Kemeja batik", True, model={}, policy=stub_policy(), on=ON)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"policy must be an akarclf Policy .* got dict"):
        decide("Kemeja batik", True, model=StubModel(), policy={}, on=ON)  # type: ignore[arg-type]


def test_ordered_containers_are_still_read() -> None:
    model, policy = StubModel(), stub_policy()
    titles = ["Kemeja batik", "Kopi robusta"]
    expected = [r.decision for r in decide(titles, [1, 0], model=model, policy=policy, on=ON)]
    for given in (tuple(titles), np.array(titles), pd.Series(titles), iter(titles)):
        records = decide(given, (1, 0), model=model, policy=policy, on=ON)
        assert [r.decision for r in records] == expected
    assert parse_cross_border_many(pd.Series([1, 0])).tolist() == [1, 0]
