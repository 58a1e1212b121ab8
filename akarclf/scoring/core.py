"""The one scoring step shared by every batch entry point: titles and flags in, output columns out.

``akarclf score`` (CSV and JSONL, one process or many), :func:`akarclf.scoring.score_records` and
:func:`akarclf.score_frame` all call :func:`score_columns`, so a listing gets the same cluster,
probabilities and decision whichever way it was submitted. The function works on plain columns
(a list of titles, an int8 array of cross-border flags) and keeps no state between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np

from akarclf.clusters import CLUSTERS

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy

#: Names of the probability columns, one per cluster, in :data:`akarclf.CLUSTERS` order.
PROBA_COLUMNS: Final[tuple[str, ...]] = tuple(f"p_{cluster}" for cluster in CLUSTERS)

#: Columns appended to every scored listing, in output order.
OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "cluster",
    "confidence",
    *PROBA_COLUMNS,
    "decision",
    "reason",
    "known_share",
    "obfuscation",
    "model_version",
    "policy_version",
)

#: Extra column appended after :data:`OUTPUT_COLUMNS` when evidence is asked for.
EVIDENCE_COLUMN: Final = "evidence"

#: Columns holding floats; every other output column holds ``str``.
FLOAT_COLUMNS: Final[frozenset[str]] = frozenset(("confidence", "known_share", *PROBA_COLUMNS))

#: How many n-grams the ``evidence`` column lists per listing by default.
DEFAULT_EVIDENCE_TOP: Final = 5


class Model(Protocol):
    """What batch scoring needs from a classifier (:class:`akarclf.ClusterClassifier` has it)."""

    @property
    def classes_(self) -> Any: ...

    @property
    def model_version(self) -> str: ...

    def predict_proba(self, titles: Sequence[str]) -> Any: ...

    def explain(self, title: str, top: int = ...) -> list[tuple[str, float]]: ...


def output_columns(explain: bool = False) -> tuple[str, ...]:
    """The appended column names, with ``evidence`` last when ``explain`` is true."""
    return (*OUTPUT_COLUMNS, EVIDENCE_COLUMN) if explain else OUTPUT_COLUMNS


def format_evidence(evidence: Sequence[tuple[str, float]]) -> str:
    """One cell of the ``evidence`` column: ``term=+weight`` pairs joined by ``"; "``."""
    return "; ".join(f"{term}={weight:+.3f}" for term, weight in evidence)


def score_columns(
    titles: Sequence[str],
    cross_border: np.ndarray | Sequence[int],
    *,
    model: Model,
    policy: Policy,
    on: date | None = None,
    explain: bool = False,
    explain_top: int = DEFAULT_EVIDENCE_TOP,
) -> dict[str, np.ndarray]:
    """Classify and gate a batch of listings; return the output columns by name.

    ``titles`` are raw title strings (blank ones are sent to review by the gate);
    ``cross_border`` holds one flag per title: 1, 0 or :data:`akarclf.gate.flags.UNKNOWN_FLAG`.
    The result has the keys of :func:`output_columns` in that order, each an array of length
    ``len(titles)``: float64 for ``confidence`` and the ``p_*`` columns, object arrays of ``str``
    for the rest. Probability columns are taken from the model by class name, never by position.
    """
    from akarclf.gate.decision import assess_for_gate, gate

    n = len(titles)
    flags = np.asarray(cross_border, dtype=np.int8)
    if flags.shape != (n,):
        raise ValueError(f"got {n} titles but cross_border has shape {flags.shape}")
    names = output_columns(explain)
    if n == 0:
        return {
            name: np.empty(0, dtype=np.float64 if name in FLOAT_COLUMNS else object)
            for name in names
        }
    classes = [str(c) for c in np.asarray(model.classes_)]
    missing = [c for c in CLUSTERS if c not in classes]
    if missing:
        raise ValueError(f"model has no probability for cluster(s) {', '.join(missing)}")
    proba, blank, evidence = assess_for_gate(model, titles, flags, classes, policy, on)
    if proba.shape != (n, len(classes)):
        raise ValueError(f"model returned probabilities of shape {proba.shape} for {n} titles")
    result = gate(proba, classes, flags, blank, policy, on, evidence)

    columns: dict[str, np.ndarray] = {
        "cluster": _str_array(result.cluster),
        "confidence": np.asarray(result.confidence, dtype=np.float64),
    }
    for cluster, name in zip(CLUSTERS, PROBA_COLUMNS, strict=True):
        columns[name] = np.ascontiguousarray(proba[:, classes.index(cluster)])
    columns["decision"] = _str_array(result.decision)
    columns["reason"] = _str_array(result.reason)
    columns["known_share"] = np.asarray(evidence.known_share, dtype=np.float64)
    columns["obfuscation"] = np.array(evidence.obfuscation, dtype=object)
    columns["model_version"] = _constant(str(model.model_version), n)
    columns["policy_version"] = _constant(str(policy.label), n)
    if explain:
        columns[EVIDENCE_COLUMN] = np.array(
            [format_evidence(model.explain(t, top=explain_top)) for t in titles], dtype=object
        )
    return columns


def _str_array(values: Any) -> np.ndarray:
    """An object array of Python ``str`` (the gate may hand back fixed-width unicode arrays)."""
    array = np.asarray(values)
    if array.dtype == object:
        return array
    return np.array(array.tolist(), dtype=object)


def _constant(value: str, n: int) -> np.ndarray:
    array = np.empty(n, dtype=object)
    array[:] = value
    return array
