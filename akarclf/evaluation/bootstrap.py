"""Bootstrap intervals for figures computed from a table of counts.

The evaluation's F1 scores and the policy report's rates depend on the data only through a
contingency table (true cluster x predicted cluster, or true cluster x decision). Resampling the
rows with replacement is then the same as one multinomial draw of ``n`` rows over the table's
cells, so a thousand resamples cost a thousand small draws instead of a thousand passes over the
rows: exact, and cheap for any number of rows.

The intervals say how far a figure could move on another sample of the same size from the same
source; they say nothing about a catalogue that looks different (gold_dev against the training
mix, say). A figure that is the same in every resample (a cluster the sample never gets wrong)
gets a zero-width interval: the bootstrap cannot see errors the sample does not contain.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Resamples drawn when a caller does not say.
DEFAULT_RESAMPLES: Final = 1000

#: How the evaluation's intervals are made (``within_rows``), for reports that must say so.
METHOD_WITHIN_ROWS: Final = (
    "95% percentile interval; rows resampled with replacement within each true cluster"
)


def resample_table(
    cells: np.ndarray, resamples: int, seed: int | list[int], *, within_rows: bool = False
) -> np.ndarray:
    """``resamples`` bootstrap copies of the count table ``cells``, shaped
    ``(resamples, *cells.shape)``: each copy has the same number of rows, drawn with replacement.

    ``within_rows`` resamples each row of a 2-D table on its own, keeping its total: for a
    confusion matrix (true cluster x predicted) that fixes the size of every true cluster, as a
    labelled test set does, so that a rare cluster cannot vanish from a resample and change
    which clusters a macro average runs over.
    """
    table = np.asarray(cells)
    if not np.issubdtype(table.dtype, np.integer) or (table < 0).any():
        raise ValueError("a count table must hold non-negative integers")
    if resamples < 0:
        raise ValueError(f"resamples must be >= 0, got {resamples}")
    rng = np.random.default_rng(seed)
    if within_rows:
        if table.ndim != 2:
            raise ValueError(f"within_rows needs a 2-D table, got {table.ndim} dimensions")
        rows = [_multinomial(rng, row, resamples) for row in table]
        return np.stack(rows, axis=1) if rows else np.zeros((resamples, *table.shape), np.int64)
    return _multinomial(rng, table.ravel(), resamples).reshape(resamples, *table.shape)


def _multinomial(rng: np.random.Generator, counts: np.ndarray, resamples: int) -> np.ndarray:
    n = int(counts.sum())
    if n == 0 or resamples == 0:
        return np.zeros((resamples, len(counts)), dtype=np.int64)
    return rng.multinomial(n, counts / n, size=resamples)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` elementwise as floats, NaN where the denominator is zero (a
    share of nothing is undefined, not 0)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def number_or_none(value: float) -> float | None:
    """``value`` as a plain float for a JSON report, None where it is undefined (NaN)."""
    return None if np.isnan(value) else float(value)


def percentile_interval(samples: np.ndarray) -> list[float | None]:
    """The 2.5th and 97.5th percentiles of ``samples``, ignoring NaN (resamples where the figure
    is undefined); ``[None, None]`` when no resample defines it."""
    values = np.asarray(samples, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return [None, None]
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]
