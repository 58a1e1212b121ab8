"""The shared bootstrap helpers behind the evaluation's and the policy report's intervals."""

from __future__ import annotations

import numpy as np
import pytest

from akarclf.evaluation.bootstrap import percentile_interval, ratio, resample_table


def test_resamples_keep_the_shape_and_the_number_of_rows() -> None:
    cells = np.array([[5, 1], [0, 14]])
    draws = resample_table(cells, 200, seed=0)
    assert draws.shape == (200, 2, 2)
    assert (draws.sum(axis=(1, 2)) == 20).all()
    assert (draws[:, 1, 0] == 0).all()  # an empty cell stays empty
    assert draws.mean(axis=0) == pytest.approx(cells, abs=0.6)


def test_resamples_are_seeded() -> None:
    cells = np.array([3, 4, 5])
    assert (resample_table(cells, 10, seed=1) == resample_table(cells, 10, seed=1)).all()
    assert (resample_table(cells, 10, seed=1) != resample_table(cells, 10, seed=2)).any()


def test_an_empty_table_or_no_resamples() -> None:
    assert resample_table(np.zeros((2, 3), dtype=int), 4, seed=0).shape == (4, 2, 3)
    assert resample_table(np.ones((2, 3), dtype=int), 0, seed=0).shape == (0, 2, 3)
    assert resample_table(np.zeros((2, 3), dtype=int), 4, seed=0, within_rows=True).shape == (
        4,
        2,
        3,
    )


@pytest.mark.parametrize(
    ("cells", "resamples", "message"),
    [
        (np.ones(2, dtype=int), -1, "resamples"),
        (np.array([0.5, 2.0]), 3, "non-negative integers"),
        (np.array([-1, 2]), 3, "non-negative integers"),
        (np.ones(3, dtype=int), 3, "2-D"),
    ],
)
def test_bad_tables(cells: np.ndarray, resamples: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resample_table(cells, resamples, seed=0, within_rows=cells.shape == (3,))


def test_resampling_within_rows_keeps_each_row_total() -> None:
    cells = np.array([[1, 0, 0], [0, 0, 0], [3, 2, 95]])
    draws = resample_table(cells, 300, seed=0, within_rows=True)
    assert draws.shape == (300, 3, 3)
    assert (draws.sum(axis=2) == cells.sum(axis=1)).all()  # the rare row never vanishes
    assert (draws[:, 0] == [1, 0, 0]).all()
    free = resample_table(cells, 300, seed=0)
    assert (free[:, 0].sum(axis=1) == 0).any()  # unstratified, it does


def test_ratio_of_nothing_is_undefined() -> None:
    result = ratio(np.array([1, 0]), np.array([4, 0]))
    assert result[0] == 0.25
    assert np.isnan(result[1])


def test_percentile_interval_ignores_undefined_resamples() -> None:
    samples = np.concatenate([np.linspace(0, 1, 401), [np.nan] * 50])
    assert percentile_interval(samples) == pytest.approx([0.025, 0.975])
    assert percentile_interval(np.array([np.nan, np.nan])) == [None, None]
    assert percentile_interval(np.array([])) == [None, None]


def test_ratio_of_fractions_and_scalars() -> None:
    assert ratio(np.array([0.25]), np.array([0.5]))[0] == 0.5
    assert float(ratio(np.array(3), np.array(4))) == 0.75
