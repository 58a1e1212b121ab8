"""Measure a cluster classifier against labelled titles: the figures a model card reports.

:func:`evaluate_predictions` turns true labels and predicted probabilities into one plain,
JSON-serialisable ``dict`` (accuracy, macro-F1, per-cluster precision/recall/F1, confusion
matrix, calibration error, Brier score, and how far the model drifts towards the protected
clusters on titles that are really ``other``). :func:`evaluate_model` runs a model first;
:func:`format_report` renders the dict as a plain-text table for a terminal.

Everything here is pure numpy: no plotting, no file access. The same dict feeds the
``akarclf evaluate`` command, the PNG plot (:mod:`akarclf.evaluation.plots`) and the model card
written
at training time, so its key names are part of the public contract (see
:func:`evaluate_predictions`).

Predictions are the arg-max of the probabilities (ties go to the cluster listed first in
:data:`~akarclf.clusters.CLUSTERS`); the gate's block/review/allow thresholds are a separate
matter, evaluated by the policy tuner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from akarclf.clusters import CLUSTERS, OTHER, PROTECTABLE_CLUSTERS
from akarclf.evaluation.bootstrap import (
    DEFAULT_RESAMPLES,
    METHOD_WITHIN_ROWS,
    number_or_none,
    percentile_interval,
    ratio,
    resample_table,
)

#: Default number of equal-width confidence bins for the calibration error.
DEFAULT_N_BINS = 15

#: Shares of ``other`` listings at which protected-cluster precision is re-estimated. A real
#: cross-border catalogue is mostly ``other``; these are assumptions about that catalogue, not
#: measurements, and are written into the output next to each figure.
DEFAULT_OTHER_SHARES: tuple[float, ...] = (0.9, 0.95, 0.99)

#: Tolerance for probability rows that should sum to one. Loose enough for probabilities read
#: back from a CSV written with a few decimals (each rounded column adds its error); rows
#: within it are renormalised, rows outside it are an error (scores, not probabilities).
_SUM_TOLERANCE = 1e-3

#: Normal quantile for the two-sided 95 % Wilson score interval.
_Z95 = 1.959963984540054

#: Probabilities are clipped to this floor before taking logs for the log-loss.
_LOG_FLOOR = 1e-15


class ProbabilisticClassifier(Protocol):
    """What :func:`evaluate_model` needs from a model: ``classes_`` and ``predict_proba``."""

    classes_: Any

    def predict_proba(self, titles: Sequence[str]) -> Any: ...


def check_labels(labels: Sequence[object]) -> list[str]:
    """Return ``labels`` as a list of cluster ids; ValueError names the first bad row (0-based)."""
    checked: list[str] = []
    for row, label in enumerate(labels):
        if not isinstance(label, str) or label not in CLUSTERS:
            raise ValueError(
                f"row {row}: label {label!r} is not a cluster id; "
                f"valid clusters: {', '.join(CLUSTERS)}"
            )
        checked.append(label)
    return checked


def _proba_in_cluster_order(proba: object, classes: Sequence[object], n_rows: int) -> np.ndarray:
    """Validate ``proba`` and return it with columns reordered to :data:`CLUSTERS`.

    ``classes`` names the columns of ``proba`` (a model's ``classes_``). A cluster the model
    does not know gets a column of zeros: it is simply never predicted.
    """
    names = [str(name) for name in classes]
    for name in names:
        if name not in CLUSTERS:
            raise ValueError(
                f"classes contains {name!r}, not a cluster id; valid: {', '.join(CLUSTERS)}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"classes contains duplicates: {names}")
    matrix = np.asarray(proba, dtype=float)
    if matrix.ndim != 2 or matrix.shape != (n_rows, len(names)):
        raise ValueError(
            f"proba has shape {matrix.shape}; expected ({n_rows}, {len(names)}): "
            "one row per label, one column per class"
        )
    bad_rows = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad_rows.size:
        raise ValueError(f"proba row {bad_rows[0]} is not finite: {matrix[bad_rows[0]].tolist()}")
    bad_rows = np.flatnonzero((matrix < -_SUM_TOLERANCE).any(axis=1))
    if bad_rows.size:
        raise ValueError(f"proba row {bad_rows[0]} has a negative entry")
    sums = matrix.sum(axis=1)
    bad_rows = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOLERANCE)
    if bad_rows.size:
        row = bad_rows[0]
        raise ValueError(f"proba row {row} sums to {sums[row]:.6g}; probabilities must sum to 1")
    ordered = np.zeros((n_rows, len(CLUSTERS)))
    for column, name in enumerate(names):
        ordered[:, CLUSTERS.index(name)] = np.clip(matrix[:, column], 0.0, None)
    normalised: np.ndarray = ordered / ordered.sum(axis=1, keepdims=True)
    return normalised


def _ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` as a plain float, or None when the denominator is zero."""
    return float(numerator / denominator) if denominator else None


def _wilson_upper(successes: int, trials: int) -> float | None:
    """Upper end of the two-sided 95 % Wilson score interval of a binomial proportion."""
    if trials == 0:
        return None
    p = successes / trials
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = _Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return float(min(1.0, centre + half))


def _calibration_bins(
    scores: np.ndarray, hits: np.ndarray, n_bins: int
) -> tuple[float, list[dict[str, Any]]]:
    """Equal-width binning of ``scores`` in [0, 1]; returns (ECE, per-bin data).

    Bin ``i`` holds scores in ``(i/n_bins, (i+1)/n_bins]`` (the first bin also holds 0).
    ECE is the support-weighted mean of ``|mean hit rate - mean score|`` over the bins.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, scores, side="left") - 1, 0, n_bins - 1)
    total = scores.size
    ece = 0.0
    bins: list[dict[str, Any]] = []
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        if count:
            confidence = float(scores[members].mean())
            accuracy = float(hits[members].mean())
            ece += count / total * abs(accuracy - confidence)
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "mean_confidence": confidence if count else None,
                "accuracy": accuracy if count else None,
            }
        )
    return float(ece), bins


def _precision_at_other_share(
    rates: np.ndarray,
    support: np.ndarray,
    cluster: int,
    other_share: float,
    other_fpr: float,
) -> float | None:
    """Precision of ``cluster`` on a catalogue whose share of ``other`` is ``other_share``.

    ``rates[j, k]`` is P(predicted k | true j) from the evaluation set. Protected clusters keep
    their relative proportions from the evaluation set; ``other_fpr`` replaces
    P(predicted ``cluster`` | true ``other``) so that a pessimistic bound can be plugged in.
    """
    other = CLUSTERS.index(OTHER)
    protected_support = sum(int(support[j]) for j in range(len(CLUSTERS)) if j != other)
    if protected_support == 0 or support[other] == 0 or support[cluster] == 0:
        return None
    prior = np.array(
        [
            other_share if j == other else (1.0 - other_share) * support[j] / protected_support
            for j in range(len(CLUSTERS))
        ]
    )
    column = rates[:, cluster].copy()
    column[other] = other_fpr
    predicted_mass = float(prior @ column)
    return _ratio(prior[cluster] * rates[cluster, cluster], predicted_mass)


def evaluate_predictions(
    labels: Sequence[str],
    proba: object,
    classes: Sequence[object],
    *,
    n_bins: int = DEFAULT_N_BINS,
    other_shares: Sequence[float] = DEFAULT_OTHER_SHARES,
    n_bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Score predicted probabilities against true cluster labels.

    ``labels`` are true cluster ids; ``proba`` is an ``(n, len(classes))`` array whose columns
    are named by ``classes`` in any order (pass the model's ``classes_``); rows must sum to 1
    (within 1e-3, so probabilities read back from a CSV are accepted; they are renormalised).
    Bad input raises ValueError naming the row (0-based) or the field.

    The result contains only str keys, ints, floats, None, lists and dicts, so it can be
    written with ``json.dump`` as is. Every list or table indexed by cluster follows
    :data:`~akarclf.clusters.CLUSTERS` order. Keys:

    ``n``
        Number of rows.
    ``clusters``
        The cluster order used by every table below.
    ``accuracy``
        Share of rows whose arg-max prediction equals the label.
    ``macro_f1``
        Unweighted mean of the per-cluster F1 over the clusters that occur in the labels or the
        predictions (scikit-learn's convention); a cluster in neither has no F1 and is left out.
    ``per_cluster``
        ``{cluster: {"precision", "recall", "f1", "support", "predicted"}}``: ``support`` is
        the number of true rows, ``predicted`` the number of rows predicted as the cluster.
        A ratio whose denominator is zero is None (precision of a never-predicted cluster,
        recall of a cluster absent from the labels) instead of a made-up 0.
    ``confusion_matrix``
        ``{"clusters": [...], "counts": [[...]]}``: ``counts[i][j]`` is the number of rows whose
        true cluster is ``clusters[i]`` and predicted cluster is ``clusters[j]``.
    ``ece``
        Top-label expected calibration error: confidence = the largest probability, binned in
        ``n_bins`` equal-width bins over [0, 1]; the support-weighted mean over bins of
        ``|accuracy - mean confidence|``.
    ``classwise_ece``
        Mean over clusters of the same quantity computed on each cluster's own probability
        column against the indicator "label is this cluster" (all rows, ``n_bins`` bins);
        ``classwise_ece_per_cluster`` holds the per-cluster values.
    ``reliability``
        ``{"n_bins", "bins": [{"lower", "upper", "count", "mean_confidence", "accuracy"}]}``:
        the top-label bins behind ``ece`` (empty bins have None means), for a reliability plot.
    ``brier``
        Multi-class Brier score: mean over rows of the squared distance between the probability
        vector and the one-hot label (0 is perfect, 2 is the worst).
    ``log_loss``
        Mean negative natural log of the probability given to the true cluster (floored at
        1e-15).
    ``other_drift``
        How much the model pulls ``other`` titles into protected clusters, which matters most
        because a real cross-border catalogue is mostly ``other`` and every such error blocks a
        legitimate seller. Two views, per protected cluster ``c``:

        * On the titles whose true label is ``other`` (``n_other`` of them): ``predicted``, the
          number predicted ``c``; ``rate``, that count over ``n_other`` (a false-positive rate
          that does not depend on how many protected titles the evaluation set happens to
          hold); ``rate_upper95``, the upper end of its 95 % Wilson interval (so "0 of 900" is
          not read as "never"); ``mean_probability``, the mean probability given to ``c`` on
          those titles, which shows drift before it crosses the arg-max.
        * ``precision``: ordinary precision of ``c`` on the evaluation set, whose class balance
          (``eval_other_share``) is not a real catalogue's; and
          ``precision_at_other_share``: a list of ``{"other_share", "precision",
          "precision_lower"}`` re-estimating precision on a catalogue where a share
          ``other_share`` of titles is ``other`` and the protected clusters keep their relative
          proportions from the evaluation set. It assumes label shift (titles within a cluster
          look the same in both catalogues) and reweights the confusion matrix's rows:
          ``precision = pi_c * P(c|c) / sum_j pi_j * P(c|j)``. ``precision_lower`` plugs
          ``rate_upper95`` in for P(c|other), a pessimistic value for the dominant error term
          (it ignores the smaller uncertainty of the other rates). None when a needed support
          is zero.

        ``other_drift`` keys: ``n_other``, ``eval_other_share``, ``per_cluster``.
    ``intervals``
        How far the arg-max figures could move on another sample of the same size: 95 %
        percentile bootstrap intervals (``n_bootstrap`` resamples seeded by ``seed``; 0 turns
        them off), rows resampled within each true cluster so that every cluster keeps its
        size, as in a labelled test set, and a rare one cannot drop out of the macro average.
        Each is ``[low, high]``, or ``[None, None]`` when no resample defines the figure.
        Keys: ``accuracy``, ``macro_f1``, ``per_cluster`` (``{cluster: {"precision",
        "recall", "f1"}}``), ``replicates``, ``seed``, ``method``. Read differences between
        models against these: a cluster with a few dozen titles has a wide one.
    """
    checked = check_labels(labels)
    n = len(checked)
    if n == 0:
        raise ValueError("no rows to evaluate")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    shares = [float(share) for share in other_shares]
    for share in shares:
        if not 0.0 <= share < 1.0:
            raise ValueError(f"other_shares must lie in [0, 1), got {share!r}")
    matrix = _proba_in_cluster_order(proba, classes, n)

    k = len(CLUSTERS)
    truth = np.array([CLUSTERS.index(label) for label in checked])
    predicted = np.argmax(matrix, axis=1)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), truth] = 1.0

    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (truth, predicted), 1)
    support = counts.sum(axis=1)
    predicted_count = counts.sum(axis=0)
    scores = _scores_from_confusion(counts)
    per_cluster = {
        cluster: {
            **{name: number_or_none(scores[name][i]) for name in ("precision", "recall", "f1")},
            "support": int(support[i]),
            "predicted": int(predicted_count[i]),
        }
        for i, cluster in enumerate(CLUSTERS)
    }

    confidence = matrix[np.arange(n), predicted]
    correct = (predicted == truth).astype(float)
    ece, reliability_bins = _calibration_bins(confidence, correct, n_bins)
    classwise = {
        cluster: _calibration_bins(matrix[:, i], onehot[:, i], n_bins)[0]
        for i, cluster in enumerate(CLUSTERS)
    }

    other = CLUSTERS.index(OTHER)
    n_other = int(support[other])
    other_rows = truth == other
    rates = counts / np.maximum(support, 1)[:, None]
    drift: dict[str, dict[str, Any]] = {}
    for cluster in PROTECTABLE_CLUSTERS:
        c = CLUSTERS.index(cluster)
        false_positives = int(counts[other, c])
        upper = _wilson_upper(false_positives, n_other)
        drift[cluster] = {
            "predicted": false_positives,
            "rate": _ratio(false_positives, n_other),
            "rate_upper95": upper,
            "mean_probability": float(matrix[other_rows, c].mean()) if n_other else None,
            "precision": per_cluster[cluster]["precision"],
            "precision_at_other_share": [
                {
                    "other_share": share,
                    "precision": _precision_at_other_share(
                        rates, support, c, share, float(rates[other, c])
                    ),
                    "precision_lower": (
                        _precision_at_other_share(rates, support, c, share, upper)
                        if upper is not None
                        else None
                    ),
                }
                for share in shares
            ],
        }

    return {
        "n": n,
        "clusters": list(CLUSTERS),
        "accuracy": float(correct.mean()),
        "macro_f1": float(scores["macro_f1"]),
        "per_cluster": per_cluster,
        "confusion_matrix": {"clusters": list(CLUSTERS), "counts": counts.tolist()},
        "ece": ece,
        "classwise_ece": float(np.mean(list(classwise.values()))),
        "classwise_ece_per_cluster": classwise,
        "reliability": {"n_bins": n_bins, "bins": reliability_bins},
        "brier": float(((matrix - onehot) ** 2).sum(axis=1).mean()),
        "log_loss": float(-np.log(np.maximum(matrix[np.arange(n), truth], _LOG_FLOOR)).mean()),
        "other_drift": {
            "n_other": n_other,
            "eval_other_share": n_other / n,
            "per_cluster": drift,
        },
        "intervals": _confusion_intervals(counts, ~np.isnan(scores["f1"]), n_bootstrap, seed),
    }


def _scores_from_confusion(
    counts: np.ndarray, averaged: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 and per-cluster precision, recall and F1 of confusion matrices shaped
    ``(..., k, k)`` (true cluster x predicted cluster); NaN where a figure is undefined.

    Macro-F1 averages the clusters in ``averaged`` (a boolean mask; default: those present in
    the labels or the predictions, scikit-learn's convention), counting an undefined F1 as 0:
    with true-cluster sizes fixed, that happens only to a cluster absent from the labels, whose
    F1 is 0 whenever it is defined.
    """
    tp = np.diagonal(counts, axis1=-2, axis2=-1)
    support = counts.sum(axis=-1)
    predicted = counts.sum(axis=-2)
    f1 = ratio(2 * tp, support + predicted)
    if averaged is None:
        averaged = ~np.isnan(f1)
    averaged_f1 = np.where(averaged, np.nan_to_num(f1), 0.0).sum(axis=-1)
    return {
        "accuracy": ratio(tp.sum(axis=-1), support.sum(axis=-1)),
        "macro_f1": ratio(averaged_f1, averaged.sum(axis=-1)),
        "precision": ratio(tp, predicted),
        "recall": ratio(tp, support),
        "f1": f1,
    }


def _confusion_intervals(
    counts: np.ndarray, averaged: np.ndarray, n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """Percentile intervals of the figures of ``counts`` over resamples that keep each true
    cluster's size (see :func:`akarclf.evaluation.bootstrap.resample_table`); macro-F1 averages the
    clusters in ``averaged``, as the point figure does."""
    draws = resample_table(counts, n_bootstrap, seed, within_rows=True)
    scores = _scores_from_confusion(draws, averaged)
    return {
        "accuracy": percentile_interval(scores["accuracy"]),
        "macro_f1": percentile_interval(scores["macro_f1"]),
        "per_cluster": {
            cluster: {
                name: percentile_interval(scores[name][:, i])
                for name in ("precision", "recall", "f1")
            }
            for i, cluster in enumerate(CLUSTERS)
        },
        "replicates": n_bootstrap,
        "seed": seed,
        "method": METHOD_WITHIN_ROWS,
    }


def evaluate_model(
    model: ProbabilisticClassifier,
    titles: Sequence[str],
    labels: Sequence[str],
    *,
    n_bins: int = DEFAULT_N_BINS,
    other_shares: Sequence[float] = DEFAULT_OTHER_SHARES,
    n_bootstrap: int = DEFAULT_RESAMPLES,
) -> dict[str, Any]:
    """Predict ``titles`` with ``model`` and score them with :func:`evaluate_predictions`.

    Labels are checked before the (slower) prediction. When the model has a ``model_version``
    it is added to the result under ``model_version``.
    """
    if len(titles) != len(labels):
        raise ValueError(f"{len(titles)} titles but {len(labels)} labels")
    check_labels(labels)
    proba = model.predict_proba(titles)
    metrics = evaluate_predictions(
        labels,
        proba,
        list(model.classes_),
        n_bins=n_bins,
        other_shares=other_shares,
        n_bootstrap=n_bootstrap,
    )
    version = getattr(model, "model_version", None)
    if version is not None:
        metrics["model_version"] = str(version)
    return metrics


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def interval_text(interval: Sequence[float | None] | None, digits: int = 3) -> str:
    """`` [low, high]`` to follow a figure in a report, or nothing when there is no interval."""
    if not interval or len(interval) != 2 or interval[0] is None or interval[1] is None:
        return ""
    return f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def format_report(metrics: Mapping[str, Any]) -> str:
    """Render an :func:`evaluate_predictions` result as a plain-text report for a terminal."""
    clusters: list[str] = list(metrics["clusters"])
    width = max(len(name) for name in [*clusters, "cluster"]) + 2
    intervals = metrics.get("intervals") or {}
    headline = (
        f"rows {metrics['n']}   accuracy {_fmt(metrics['accuracy'])}"
        f"{interval_text(intervals.get('accuracy'))}   "
        f"macro-F1 {_fmt(metrics['macro_f1'])}{interval_text(intervals.get('macro_f1'))}"
    )
    calibration = (
        f"ECE (top-label, {metrics['reliability']['n_bins']} bins) {_fmt(metrics['ece'])}   "
        f"classwise ECE {_fmt(metrics['classwise_ece'])}   Brier {_fmt(metrics['brier'])}   "
        f"log-loss {_fmt(metrics['log_loss'])}"
    )
    table_head = (
        f"{'cluster':<{width}}{'precision':>10}{'recall':>8}{'F1':>8}{'F1 95 % interval':>18}"
        f"{'support':>9}{'predicted':>11}"
    )
    lines = [headline, calibration, "", table_head]
    for name in clusters:
        row = metrics["per_cluster"][name]
        f1_interval = intervals.get("per_cluster", {}).get(name, {}).get("f1")
        lines.append(
            f"{name:<{width}}{_fmt(row['precision']):>10}{_fmt(row['recall']):>8}"
            f"{_fmt(row['f1']):>8}{interval_text(f1_interval).strip() or '-':>18}"
            f"{row['support']:>9}{row['predicted']:>11}"
        )
    if intervals.get("replicates"):
        lines.append(f"(in brackets: {intervals['method']}, {intervals['replicates']} resamples)")

    confusion = metrics["confusion_matrix"]
    cell = max(len(name) for name in confusion["clusters"]) + 1
    lines += ["", "confusion matrix (rows: true cluster, columns: predicted cluster)"]
    lines.append(" " * width + "".join(f"{name:>{cell}}" for name in confusion["clusters"]))
    for name, row in zip(confusion["clusters"], confusion["counts"], strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{count:>{cell}}" for count in row))

    drift = metrics["other_drift"]
    first = next(iter(drift["per_cluster"].values()), None)
    shares = [entry["other_share"] for entry in first["precision_at_other_share"]] if first else []
    lines += [
        "",
        f"drift towards protected clusters on the {drift['n_other']} titles labelled other",
        "  rate: share of them predicted as the cluster; upper95: its 95 % upper bound;",
        "  mean p: mean probability of the cluster on them; precision@s: precision estimated",
        (
            f"  for a catalogue that is a share s other (this set: "
            f"{_fmt(drift['eval_other_share'], 2)}), in brackets the bound from upper95"
        ),
        f"{'cluster':<{width}}{'predicted':>10}{'rate':>8}{'upper95':>9}{'mean p':>8}"
        f"{'precision':>11}" + "".join(f"{'@' + format(s, 'g'):>16}" for s in shares),
    ]
    for name, row in drift["per_cluster"].items():
        at_share = "".join(
            f"{_fmt(entry['precision']) + ' (' + _fmt(entry['precision_lower']) + ')':>16}"
            for entry in row["precision_at_other_share"]
        )
        lines.append(
            f"{name:<{width}}{row['predicted']:>10}{_fmt(row['rate']):>8}"
            f"{_fmt(row['rate_upper95']):>9}{_fmt(row['mean_probability']):>8}"
            f"{_fmt(row['precision']):>11}{at_share}"
        )
    return "\n".join(lines) + "\n"
