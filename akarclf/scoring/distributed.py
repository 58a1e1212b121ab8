"""Scale-out scoring: the same :func:`akarclf.score_frame` on Dask and on Spark.

- :func:`akarclf.scoring.dask.score` - a ``dask.dataframe`` through ``map_partitions``
  (extra ``[dask]``);
- :func:`akarclf.scoring.spark.score` - a Spark DataFrame through ``mapInPandas``
  (extra ``[spark]``).

Both send each worker a small, picklable :class:`ScoringSpec` - the model's *path* (not the
model), the policy as plain data and an explicit decision date - and score each partition
with :func:`akarclf.score_frame`, the code path ``akarclf score`` uses. The model is loaded by
:func:`akarclf.load_model`, which caches per process and file, so each worker process loads it
once however many partitions it scores. The decision date is fixed on the driver (today in UTC
when not given), so workers never disagree around midnight.

This module imports neither Dask nor Spark; each integration imports its engine when called.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akarclf.scoring.core import DEFAULT_EVIDENCE_TOP, FLOAT_COLUMNS, output_columns

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy

#: What the ``model`` argument of the integrations accepts: a model file, or None for the
#: default model packaged with akarclf on each worker.
ModelRef = str | os.PathLike[str] | None

__all__ = ["ModelRef", "ScoringSpec", "make_spec", "text_dtype"]


def _model_path(model: object) -> str | None:
    """The model file as an absolute path string, or None for each worker's default model.

    A loaded model object is refused: shipped inside the task graph it would be serialised
    with the tasks, whereas a path is a few bytes and each worker process loads (and caches)
    the file once.
    """
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        return str(Path(os.fspath(model)).expanduser().absolute())
    raise TypeError(
        f"model must be the path of a model file or None (the packaged default), got "
        f"{type(model).__name__}; save a trained model with akarclf.save_model and pass its "
        "path, so that each worker process loads it once"
    )


def _policy(policy: object) -> Policy:
    from akarclf.gate.policy import Policy, load_policy

    if policy is None:
        return load_policy()
    if isinstance(policy, (str, os.PathLike)):
        return load_policy(Path(os.fspath(policy)))
    if isinstance(policy, Policy):
        return policy
    raise TypeError(
        f"policy must be an akarclf.Policy, a policy file path or None, got {type(policy).__name__}"
    )


def _decision_date(on: object) -> dt.date:
    from akarclf.gate.policy import as_date, today_utc

    return today_utc() if on is None else as_date(on)


@dataclass(frozen=True)
class ScoringSpec:
    """Everything a worker needs to score a partition, as small picklable values.

    The policy travels as its :meth:`akarclf.Policy.to_dict` form (plus its source) and is
    rebuilt, and validated, where it is used: a :class:`~akarclf.Policy` holds read-only
    mappings that the standard pickle cannot serialise.
    """

    model_path: str | None
    policy_data: dict[str, Any]
    policy_source: str | None
    on: dt.date
    title_col: str
    cross_border_col: str | None
    explain: bool
    explain_top: int

    def policy(self) -> Policy:
        """The policy, rebuilt from its data (microseconds; done once per partition)."""
        from akarclf.gate.policy import Policy

        return Policy.from_dict(self.policy_data, source=self.policy_source)

    def output_columns(self) -> tuple[str, ...]:
        """Names of the columns appended to every partition, in order."""
        return output_columns(self.explain)

    def score(self, frame: Any) -> Any:
        """Score one pandas partition with :func:`akarclf.score_frame`.

        The model is loaded through :func:`akarclf.load_model`, cached per process and file,
        so this costs one load per worker process, not one per partition.
        """
        from akarclf.model.persistence import load_model
        from akarclf.scoring.frame import score_frame

        result = score_frame(
            frame,
            model=load_model(self.model_path),
            policy=self.policy(),
            title_col=self.title_col,
            cross_border_col=self.cross_border_col,
            on=self.on,
            explain=self.explain,
            explain_top=self.explain_top,
        )
        if len(result) == 0:
            # score_frame gives text columns of an empty frame the object dtype; align them
            # with the dtype they have on every other partition.
            result = result.astype(dict.fromkeys(self.text_columns(), text_dtype()))
        return result

    def text_columns(self) -> tuple[str, ...]:
        """The appended columns holding text (all but confidence and the probabilities)."""
        return tuple(name for name in self.output_columns() if name not in FLOAT_COLUMNS)


def text_dtype() -> Any:
    """The dtype pandas gives a column of Python ``str`` values (``str`` on pandas 3, object
    before), which is what :func:`akarclf.score_frame` returns for its text columns."""
    pd: Any = importlib.import_module("pandas")
    probe = pd.DataFrame(index=[0])
    probe["text"] = pd.Series(["x"], dtype=object).to_numpy()
    return probe["text"].dtype


def make_spec(
    columns: list[str],
    *,
    model: ModelRef,
    policy: object,
    on: object,
    title_col: str,
    cross_border_col: str | None,
    explain: bool,
    explain_top: int = DEFAULT_EVIDENCE_TOP,
) -> ScoringSpec:
    """Check the call on the driver and freeze it into a :class:`ScoringSpec`.

    ``columns`` are the input's column names: a missing title column or an input that already
    has an output column is an error here, before any task runs. A ``cross_border_col`` that
    the input lacks warns once (every listing is then treated as cross-border, as
    ``akarclf score`` does) instead of once per partition.
    """
    if not isinstance(title_col, str):
        raise TypeError(f"title_col must be a str, got {type(title_col).__name__}")
    if title_col not in columns:
        raise KeyError(f"input has no column {title_col!r}; columns: {columns}")
    clash = [name for name in output_columns(explain) if name in columns]
    if clash:
        raise ValueError(f"input already has output column(s) {', '.join(clash)}")
    if explain_top < 1:
        raise ValueError(f"explain_top must be at least 1, got {explain_top}")
    if cross_border_col is not None and cross_border_col not in columns:
        warnings.warn(
            f"input has no column {cross_border_col!r}: every listing is treated as cross-border",
            UserWarning,
            stacklevel=3,
        )
        cross_border_col = None
    chosen = _policy(policy)
    return ScoringSpec(
        model_path=_model_path(model),
        policy_data=chosen.to_dict(),
        policy_source=chosen.source,
        on=_decision_date(on),
        title_col=title_col,
        cross_border_col=cross_border_col,
        explain=bool(explain),
        explain_top=int(explain_top),
    )
