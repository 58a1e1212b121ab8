"""Reading the cross-border flag: every usual spelling, missing values, and clear errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from akarclf.gate.flags import (
    FALSE_SPELLINGS,
    TRUE_SPELLINGS,
    UNKNOWN_FLAG,
    parse_cross_border,
    parse_cross_border_many,
)

TRUE_VALUES = [
    True,
    np.bool_(True),
    1,
    np.int64(1),
    1.0,
    np.float32(1.0),
    "true",
    "TRUE",
    " True ",
    "1",
    "yes",
    "Yes",
    "YA",
    "ya",
    "y",
    "t",
    "1.0",
]
FALSE_VALUES = [
    False,
    np.bool_(False),
    0,
    np.uint8(0),
    0.0,
    "false",
    "False",
    "0",
    "no",
    "NO",
    "tidak",
    "Tidak",
    " TIDAK",
    "n",
    "f",
    "0.0",
]
MISSING_VALUES = [None, math.nan, np.nan, np.float32("nan"), "", "   ", "\t", pd.NA]
BAD_VALUES = ["maybe", "2", "benar", "salah", "yess", 2, -1, 0.5, np.int64(7), b"yes", [], {}]


@pytest.mark.parametrize("value", TRUE_VALUES)
def test_true_spellings_are_cross_border(value: object) -> None:
    assert parse_cross_border(value) == 1


@pytest.mark.parametrize("value", FALSE_VALUES)
def test_false_spellings_are_domestic(value: object) -> None:
    assert parse_cross_border(value) == 0


@pytest.mark.parametrize("value", MISSING_VALUES)
def test_missing_values_are_unknown(value: object) -> None:
    assert parse_cross_border(value) == UNKNOWN_FLAG == -1


@pytest.mark.parametrize("value", BAD_VALUES)
def test_unreadable_value_is_an_error_naming_position_and_value(value: object) -> None:
    with pytest.raises(ValueError, match=r"position 7 is not readable") as error:
        parse_cross_border(value, 7)
    assert repr(value)[:20] in str(error.value)
    assert "ya/tidak" in str(error.value)


def test_error_without_position_still_names_value() -> None:
    with pytest.raises(ValueError, match=r"^cross_border flag is not readable: 'maybe'"):
        parse_cross_border("maybe")


def test_many_mixed_python_values() -> None:
    codes = parse_cross_border_many([True, "tidak", None, "YA", 0, math.nan, "", 1.0])
    assert codes.dtype == np.int8
    assert codes.tolist() == [1, 0, -1, 1, 0, -1, -1, 1]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([True, False, True]), [1, 0, 1]),
        (np.array([1, 0, 1], dtype=np.int64), [1, 0, 1]),
        (np.array([1.0, np.nan, 0.0]), [1, -1, 0]),
        (np.array(["yes", "no", "", "Ya"]), [1, 0, -1, 1]),
        (pd.Series([1.0, None, 0.0]), [1, -1, 0]),
        (pd.Series(["true", None, "tidak"], dtype=object), [1, -1, 0]),
        (pd.Series([True, pd.NA, False], dtype="boolean"), [1, -1, 0]),
        ((v for v in ["y", "n"]), [1, 0]),
        ([], []),
    ],
)
def test_many_array_kinds(values: object, expected: list[int]) -> None:
    codes = parse_cross_border_many(values)  # type: ignore[arg-type]
    assert codes.dtype == np.int8
    assert codes.tolist() == expected


@pytest.mark.parametrize(
    ("values", "position", "shown"),
    [
        (["yes", "no", "maybe", "perhaps"], 2, "'maybe'"),
        (np.array([0, 1, 1, 2, 3]), 3, "2"),
        (np.array([1.0, 0.5]), 1, "0.5"),
        ([True, None, [1]], 2, "[1]"),
    ],
)
def test_many_names_first_bad_position(values: object, position: int, shown: str) -> None:
    with pytest.raises(
        ValueError, match=rf"position {position} is not readable: {re.escape(shown)}"
    ):
        parse_cross_border_many(values)  # type: ignore[arg-type]


def test_many_rejects_a_single_string_and_2d_input() -> None:
    with pytest.raises(TypeError, match="not a single string"):
        parse_cross_border_many("yes")
    with pytest.raises(TypeError, match="one-dimensional"):
        parse_cross_border_many(np.ones((2, 2)))


spelling = st.sampled_from(sorted(TRUE_SPELLINGS | FALSE_SPELLINGS)).flatmap(
    lambda word: st.sampled_from([word, word.upper(), f" {word.title()} "])
)
valid_flag = st.one_of(
    st.booleans(), st.sampled_from([0, 1, 0.0, 1.0, None, math.nan, ""]), spelling
)


@given(st.lists(valid_flag, max_size=30))
def test_many_agrees_with_one_by_one(values: list[object]) -> None:
    expected = [parse_cross_border(v, i) for i, v in enumerate(values)]
    assert parse_cross_border_many(values).tolist() == expected
    assert set(expected) <= {-1, 0, 1}
