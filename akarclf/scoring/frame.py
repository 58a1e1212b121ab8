"""``score_frame``: score a pandas DataFrame of listings with the batch scoring core.

A pure function: the frame, the model and the policy go in, a new frame with the output
columns of ``akarclf score`` (same names, float64 probabilities, ``str`` text columns) comes
out; nothing is read from or kept in global state. pandas is imported only when called.
"""

from __future__ import annotations

import importlib
import math
import warnings
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from akarclf.scoring.core import DEFAULT_EVIDENCE_TOP, Model, output_columns, score_columns

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy

_DEFAULT_FLAG_COLUMN = "cross_border"


def _titles(values: list[Any], labels: list[Any], column: str) -> list[str]:
    """Titles as ``str``; missing ones become "" (the gate sends them to review, EMPTY_TITLE)."""
    titles: list[str] = []
    for label, value in zip(labels, values, strict=True):
        if isinstance(value, str):
            titles.append(value)
        elif (
            value is None
            or (isinstance(value, float) and math.isnan(value))
            or (type(value).__name__ == "NAType")
        ):
            titles.append("")
        else:
            raise TypeError(
                f"{column} at row {label!r} must be a str, got {type(value).__name__}: "
                f"{value!r:.60}"
            )
    return titles


def score_frame(
    frame: Any,
    *,
    model: Model,
    policy: Policy,
    title_col: str = "title",
    cross_border_col: str | None = _DEFAULT_FLAG_COLUMN,
    on: date | None = None,
    explain: bool = False,
    explain_top: int = DEFAULT_EVIDENCE_TOP,
) -> Any:
    """A copy of ``frame`` with the output columns of ``akarclf score`` appended.

    ``title_col`` must exist; missing titles (None/NaN) are scored as empty titles, which the
    gate sends to review with reason EMPTY_TITLE; a non-text title raises ``TypeError`` naming
    the row. ``cross_border_col`` is read with :func:`akarclf.gate.flags.parse_cross_border`
    (missing values are unknown sellers; an unreadable value raises ``ValueError`` naming the
    row). When that column does not exist every listing is treated as cross-border, with a
    warning; pass ``cross_border_col=None`` to ask for that silently. The index is kept; the
    input frame is not modified.
    """
    pd: Any = importlib.import_module("pandas")

    from akarclf.gate.flags import parse_cross_border_many

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    names = output_columns(explain)
    clash = [name for name in names if name in frame.columns]
    if clash:
        raise ValueError(f"frame already has output column(s) {', '.join(clash)}")
    if title_col not in frame.columns:
        raise KeyError(f"frame has no column {title_col!r}; columns: {list(frame.columns)}")
    labels = frame.index.tolist()
    titles = _titles(frame[title_col].tolist(), labels, title_col)

    if cross_border_col is not None and cross_border_col in frame.columns:
        raw = frame[cross_border_col].to_numpy(dtype=object)
        try:
            flags = parse_cross_border_many(raw)
        except ValueError as error:
            raise ValueError(f"{cross_border_col}: {error} (rows are numbered from 0)") from error
    else:
        if cross_border_col is not None:
            warnings.warn(
                f"frame has no column {cross_border_col!r}: every listing is treated as "
                "cross-border",
                UserWarning,
                stacklevel=2,
            )
        flags = np.ones(len(titles), dtype=np.int8)

    columns = score_columns(
        titles,
        flags,
        model=model,
        policy=policy,
        on=on,
        explain=explain,
        explain_top=explain_top,
    )
    result = frame.copy()
    for name in names:
        result[name] = columns[name]
    return result
