"""Score a Spark DataFrame of listings: :func:`akarclf.score_frame` through ``mapInPandas``.

Install with ``pip install "akarclf[spark]"`` (PySpark, pandas and pyarrow; Spark needs Java
17 or later). Every executor's Python workers need akarclf installed. The function shipped to
the executors carries the model's path, not the model: each Python worker process loads the
file once through :func:`akarclf.load_model`'s per-process cache and reuses it for every Arrow
batch it scores (Spark reuses Python workers across tasks by default,
``spark.python.worker.reuse=true``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from akarclf.scoring.core import DEFAULT_EVIDENCE_TOP, FLOAT_COLUMNS
from akarclf.scoring.distributed import ModelRef, ScoringSpec, make_spec

__all__ = ["output_schema", "score"]


def output_schema(schema: Any, spec: ScoringSpec) -> Any:
    """The input's schema with the output columns appended: ``double`` for confidence and the
    probabilities, ``string`` for the others (all non-null)."""
    types: Any = importlib.import_module("pyspark.sql.types")
    fields = list(schema.fields)
    for name in spec.output_columns():
        kind = types.DoubleType() if name in FLOAT_COLUMNS else types.StringType()
        fields.append(types.StructField(name, kind, nullable=False))
    return types.StructType(fields)


class _BatchScorer:
    """The function ``mapInPandas`` runs on the executors: pandas batches in, scored out.

    A small class rather than a closure, so what is serialised is visibly the spec alone.
    """

    def __init__(self, spec: ScoringSpec) -> None:
        self.spec = spec

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            yield self.spec.score(batch)


def score(
    df: Any,
    *,
    model: ModelRef = None,
    policy: Any = None,
    on: Any = None,
    title_col: str = "title",
    cross_border_col: str | None = "cross_border",
    explain: bool = False,
    explain_top: int = DEFAULT_EVIDENCE_TOP,
) -> Any:
    """A lazy Spark DataFrame with the output columns of ``akarclf score`` appended.

    ``model`` is the path of a model file readable by every executor (None: the default model
    packaged with akarclf on each executor); ``policy`` an :class:`akarclf.Policy`, a policy
    file read here on the driver, or None for the packaged default; ``on`` the decision date
    (a date or ``YYYY-MM-DD``; None: today in UTC, fixed here on the driver). The remaining
    arguments are those of :func:`akarclf.score_frame`. The title column must be a string
    column; the cross-border column may be string, boolean or integer.

    Read a CSV the way ``akarclf score`` does with ``spark.read.csv(path, header=True,
    multiLine=True, escape='"')`` (every column a string); Spark reads an empty cell as null,
    which akarclf treats like an empty one (a missing flag is an unknown seller).
    """
    sql: Any = importlib.import_module("pyspark.sql")
    types: Any = importlib.import_module("pyspark.sql.types")
    if not isinstance(df, sql.DataFrame):
        raise TypeError(f"df must be a pyspark.sql.DataFrame, got {type(df).__name__}")
    spec = make_spec(
        [str(c) for c in df.columns],
        model=model,
        policy=policy,
        on=on,
        title_col=title_col,
        cross_border_col=cross_border_col,
        explain=explain,
        explain_top=explain_top,
    )
    title_type = df.schema[title_col].dataType
    if not isinstance(title_type, types.StringType):
        raise TypeError(f"{title_col} must be a string column, got {title_type.simpleString()}")
    return df.mapInPandas(_BatchScorer(spec), schema=output_schema(df.schema, spec))
