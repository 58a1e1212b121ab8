"""Output formatting: the fast float text equals Python's own formatting."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from akarclf.scoring.writers import FLOAT_DECIMALS, _unit_interval_text


def _python_text(values: list[float]) -> list[str]:
    return [f"{x:.{FLOAT_DECIMALS}f}" for x in values]


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=50))
def test_probabilities_are_written_as_python_writes_them(values: list[float]) -> None:
    assert _unit_interval_text(np.array(values, dtype=np.float64)) == _python_text(values)


def test_ties_and_edges_round_as_python_does() -> None:
    values = [0.0, 1.0, 0.9999995, 5e-7, 1.5e-6, 2.5e-6, 0.1234565, 1e-300]
    values += (np.arange(0, 20001) / 2e4).tolist()
    assert _unit_interval_text(np.array(values)) == _python_text(values)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_values_outside_the_unit_interval_fall_back_to_python(values: list[float]) -> None:
    assert _unit_interval_text(np.array(values, dtype=np.float64)) == _python_text(values)
