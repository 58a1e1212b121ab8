"""Score a ``dask.dataframe`` of listings: :func:`akarclf.score_frame` on every partition.

Install with ``pip install "akarclf[dask]"``. The model is not shipped in the task graph:
each task carries the model's path, and each worker process loads the file once through
:func:`akarclf.load_model`'s per-process cache, then reuses it for every partition it scores.
Works with any Dask scheduler (a ``distributed`` cluster, processes or threads).
"""

from __future__ import annotations

import importlib
from typing import Any

from akarclf.scoring.core import DEFAULT_EVIDENCE_TOP, FLOAT_COLUMNS
from akarclf.scoring.distributed import ModelRef, ScoringSpec, make_spec, text_dtype

__all__ = ["output_meta", "score"]


def output_meta(meta: Any, spec: ScoringSpec) -> Any:
    """The empty pandas frame describing the scored result: the input's columns and dtypes,
    then the output columns (float64 for confidence and probabilities, pandas' text dtype
    for the others - what :func:`akarclf.score_frame` returns)."""
    pd: Any = importlib.import_module("pandas")
    text = text_dtype()
    result = meta.iloc[:0].copy()
    for name in spec.output_columns():
        dtype = "float64" if name in FLOAT_COLUMNS else text
        result[name] = pd.Series([], index=result.index, dtype=dtype)
    return result


def _score_partition(frame: Any, spec: ScoringSpec) -> Any:
    """Task body: one pandas partition through the shared scorer."""
    return spec.score(frame)


def score(
    ddf: Any,
    *,
    model: ModelRef = None,
    policy: Any = None,
    on: Any = None,
    title_col: str = "title",
    cross_border_col: str | None = "cross_border",
    explain: bool = False,
    explain_top: int = DEFAULT_EVIDENCE_TOP,
) -> Any:
    """A lazy ``dask.dataframe`` with the output columns of ``akarclf score`` appended.

    ``model`` is the path of a model file readable by every worker (None: the default model
    packaged with akarclf on each worker); ``policy`` an :class:`akarclf.Policy`, a policy
    file read here on the client, or None for the packaged default; ``on`` the decision date
    (a date or ``YYYY-MM-DD``; None: today in UTC, fixed here so that all partitions use the
    same date). The remaining arguments are those of :func:`akarclf.score_frame`. Partitions,
    divisions and the index are kept; ``meta`` gives the exact dtypes ``score_frame`` returns.

    Read a CSV the way ``akarclf score`` does with
    ``dd.read_csv(path, dtype=str, keep_default_na=False)`` (every cell as text, "NA" is a
    title, not a missing value).
    """
    dd: Any = importlib.import_module("dask.dataframe")
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"ddf must be a dask.dataframe.DataFrame, got {type(ddf).__name__}")
    spec = make_spec(
        [str(c) for c in ddf.columns],
        model=model,
        policy=policy,
        on=on,
        title_col=title_col,
        cross_border_col=cross_border_col,
        explain=explain,
        explain_top=explain_top,
    )
    return ddf.map_partitions(
        _score_partition,
        spec,
        meta=output_meta(ddf._meta, spec),
        align_dataframes=False,
        enforce_metadata=True,
    )
