"""What-if analysis of the restriction policy on a scored catalogue.

A catalogue is scored once (probabilities, seller flags, blank-title mask); these functions then
answer "what would the gate decide if the policy were different" without scoring again:

* :func:`rates_over_thresholds`: block / review / allow rates over a grid of block and review
  thresholds, for every cell at once (one sort of the protected mass, then a binary search per
  threshold; no loop over listings or over grid cells);
* :func:`rates_by_closure`: the same rates at the policy's thresholds for each set of closed
  clusters (by default every subset of the protectable clusters);
* :func:`rates_over_dates`: the rates on a series of decision dates under the policy's own
  closing dates (AKAR closed clusters progressively).

Every figure comes from :func:`akarclf.gate.decision.gate`'s rule, so it is what the gate would
decide:
domestic sellers are always allowed, unknown sellers and blank titles get the policy's fallback
actions whatever the thresholds, and only cross-border listings with usable words move with
the thresholds.

With ``labels`` (the true clusters) each result also carries block precision and protected
recall. A listing *should be restricted* when its seller is cross-border (flag 1) and its true
cluster is closed on the decision date; block precision is the share of blocked listings that
should be restricted, protected recall the share of those that are blocked or reviewed. When
every listing is cross-border these are exactly
:func:`akarclf.evaluation.tuning.gate_report`'s metrics.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from akarclf.clusters import PROTECTABLE_CLUSTERS, check_cluster
from akarclf.evaluation.bootstrap import number_or_none, ratio
from akarclf.evaluation.metrics import check_labels
from akarclf.gate.decision import GateResult, gate
from akarclf.gate.flags import CROSS_BORDER, parse_cross_border_many
from akarclf.gate.policy import Policy, as_date, today_utc

__all__ = [
    "ScenarioRates",
    "ThresholdGrid",
    "closure_sets",
    "rates_by_closure",
    "rates_over_dates",
    "rates_over_thresholds",
]


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    proba: np.ndarray
    classes: list[str]
    flags: np.ndarray
    blank: np.ndarray
    labels: np.ndarray | None


def _catalogue(
    proba: np.ndarray,
    classes: Sequence[str],
    cross_border: Iterable[object] | np.ndarray,
    blank: np.ndarray | None,
    labels: Sequence[str] | np.ndarray | None,
) -> _Catalogue:
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"proba must be a 2-d array (rows x clusters), got shape {proba.shape}")
    n = len(proba)
    flags = parse_cross_border_many(cross_border)
    if flags.shape != (n,):
        raise ValueError(f"{len(flags)} cross_border flags for {n} probability rows")
    if blank is None:
        blank_mask = np.zeros(n, dtype=bool)
    else:
        blank_mask = np.asarray(blank)
        if blank_mask.dtype != np.bool_ or blank_mask.shape != (n,):
            raise ValueError(
                f"blank must be a boolean array of shape ({n},), got dtype {blank_mask.dtype} "
                f"and shape {blank_mask.shape}"
            )
    label_array = None
    if labels is not None:
        label_list = check_labels(list(labels))
        if len(label_list) != n:
            raise ValueError(f"{len(label_list)} labels for {n} probability rows")
        label_array = np.asarray(label_list, dtype=str)
    return _Catalogue(proba, [str(c) for c in classes], flags, blank_mask, label_array)


def _should_restrict(catalogue: _Catalogue, protected: Sequence[str]) -> np.ndarray | None:
    """Rows a perfect gate would restrict: cross-border seller, true cluster closed."""
    if catalogue.labels is None:
        return None
    closed = np.isin(catalogue.labels, list(protected))
    return np.asarray((catalogue.flags == CROSS_BORDER) & closed, dtype=bool)


def _thresholds(values: Iterable[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of thresholds")
    bad = ~np.isfinite(array) | (array < 0.0) | (array > 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {float(array[i])!r} is not a threshold within [0, 1]")
    return array


# --- thresholds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdGrid:
    """Gate outcomes over every (block, review) threshold pair.

    The 2-d arrays are indexed ``[i, j]`` for ``block_thresholds[i]`` and
    ``review_thresholds[j]``; a cell whose review threshold exceeds its block threshold is not
    a valid policy and holds NaN. ``block_precision`` and ``protected_recall`` are None
    without labels, and NaN where their denominator is zero.
    """

    block_thresholds: np.ndarray
    review_thresholds: np.ndarray
    n: int
    protected: tuple[str, ...]
    decision_date: dt.date
    block_rate: np.ndarray
    review_rate: np.ndarray
    allow_rate: np.ndarray
    block_precision: np.ndarray | None
    protected_recall: np.ndarray | None

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per valid cell (review <= block), e.g. for ``pandas.DataFrame``."""
        records = []
        for i, block in enumerate(self.block_thresholds.tolist()):
            for j, review in enumerate(self.review_thresholds.tolist()):
                if review > block:
                    continue
                record: dict[str, Any] = {
                    "block_threshold": block,
                    "review_threshold": review,
                    "block_rate": float(self.block_rate[i, j]),
                    "review_rate": float(self.review_rate[i, j]),
                    "allow_rate": float(self.allow_rate[i, j]),
                }
                if self.block_precision is not None and self.protected_recall is not None:
                    record["block_precision"] = number_or_none(self.block_precision[i, j])
                    record["protected_recall"] = number_or_none(self.protected_recall[i, j])
                records.append(record)
        return records


def _count_at_least(sorted_values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many of ``sorted_values`` are >= each threshold (the gate compares with >=)."""
    return len(sorted_values) - np.searchsorted(sorted_values, thresholds, side="left")


def rates_over_thresholds(
    proba: np.ndarray,
    classes: Sequence[str],
    cross_border: Iterable[object] | np.ndarray,
    policy: Policy,
    block_thresholds: Iterable[float] | np.ndarray,
    review_thresholds: Iterable[float] | np.ndarray,
    *,
    blank: np.ndarray | None = None,
    labels: Sequence[str] | np.ndarray | None = None,
    on: dt.date | str | None = None,
) -> ThresholdGrid:
    """Block / review / allow rates of ``policy`` with its thresholds replaced by each pair.

    ``proba`` is (n, k) with columns named by ``classes`` (e.g. a model's ``classes_``);
    ``cross_border`` one flag per row in any spelling :func:`akarclf.decide` accepts (None for
    unknown); ``blank`` the blank-title mask (e.g. from the model's
    ``predict_proba_and_blank``; None: no title is blank); ``labels`` the true clusters, for
    precision and recall; ``on`` the decision date that selects the closed clusters (default
    today, UTC). The closures and fallbacks of ``policy`` are kept.
    """
    catalogue = _catalogue(proba, classes, cross_border, blank, labels)
    blocks = _thresholds(block_thresholds, "block_thresholds")
    reviews = _thresholds(review_thresholds, "review_thresholds")
    on = today_utc() if on is None else as_date(on)
    protected = policy.protected_on(on)
    # The policy's own thresholds decide nothing below: gate() supplies the decisions that do
    # not depend on them (domestic, unknown seller, blank title) and the protected mass.
    base = gate(catalogue.proba, catalogue.classes, catalogue.flags, catalogue.blank, policy, on)
    n = len(base)
    moving = (catalogue.flags == CROSS_BORDER) & ~catalogue.blank
    if not protected:
        moving[:] = False  # nothing closed: every cross-border listing is allowed
    fixed = ~moving
    fixed_block = int(np.sum(fixed & (base.decision == "block")))
    fixed_review = int(np.sum(fixed & (base.decision == "review")))
    mass = np.sort(base.protected_mass[moving])
    blocked = fixed_block + _count_at_least(mass, blocks)  # (B,)
    flagged = fixed_block + fixed_review + _count_at_least(mass, reviews)  # (R,) block or review
    valid = reviews[None, :] <= blocks[:, None]  # (B, R)
    block_count = np.where(valid, blocked[:, None], np.nan)
    review_count = np.where(valid, flagged[None, :] - blocked[:, None], np.nan)
    allow_count = n - block_count - review_count

    precision = recall = None
    truth = _should_restrict(catalogue, protected)
    if truth is not None:
        true_mass = np.sort(base.protected_mass[moving & truth])
        true_blocked = int(np.sum(fixed & truth & (base.decision == "block")))
        true_flagged = true_blocked + int(np.sum(fixed & truth & (base.decision == "review")))
        hits = true_blocked + _count_at_least(true_mass, blocks)
        caught = true_flagged + _count_at_least(true_mass, reviews)
        precision = np.where(valid, ratio(hits, blocked)[:, None], np.nan)
        recall = np.where(valid, ratio(caught, np.array(truth.sum()))[None, :], np.nan)

    return ThresholdGrid(
        block_thresholds=blocks,
        review_thresholds=reviews,
        n=n,
        protected=protected,
        decision_date=on,
        block_rate=ratio(block_count, np.array(n)),
        review_rate=ratio(review_count, np.array(n)),
        allow_rate=ratio(allow_count, np.array(n)),
        block_precision=precision,
        protected_recall=recall,
    )


# --- closures and dates -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioRates:
    """Gate outcome counts and rates of one scenario (a set of closed clusters or a date).

    ``block_precision`` / ``protected_recall`` are None without labels or when their
    denominator is zero (no listing blocked; no listing that should be restricted).
    """

    scenario: str
    decision_date: dt.date
    protected: tuple[str, ...]
    n: int
    block: int
    review: int
    allow: int
    block_precision: float | None
    protected_recall: float | None

    @property
    def block_rate(self) -> float | None:
        return self.block / self.n if self.n else None

    @property
    def review_rate(self) -> float | None:
        return self.review / self.n if self.n else None

    @property
    def allow_rate(self) -> float | None:
        return self.allow / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        """Flat mapping (protected clusters joined with ``+``), e.g. for ``pandas.DataFrame``."""
        return {
            "scenario": self.scenario,
            "decision_date": self.decision_date.isoformat(),
            "protected": "+".join(self.protected),
            "n": self.n,
            "block": self.block,
            "review": self.review,
            "allow": self.allow,
            "block_rate": self.block_rate,
            "review_rate": self.review_rate,
            "allow_rate": self.allow_rate,
            "block_precision": self.block_precision,
            "protected_recall": self.protected_recall,
        }


def _scenario(
    name: str, result: GateResult, catalogue: _Catalogue, protected: tuple[str, ...], on: dt.date
) -> ScenarioRates:
    decision = result.decision
    block, review = decision == "block", decision == "review"
    precision = recall = None
    truth = _should_restrict(catalogue, protected)
    if truth is not None:
        precision = number_or_none(float(ratio(np.sum(block & truth), np.sum(block))))
        recall = number_or_none(float(ratio(np.sum((block | review) & truth), np.sum(truth))))
    return ScenarioRates(
        scenario=name,
        decision_date=on,
        protected=protected,
        n=len(decision),
        block=int(block.sum()),
        review=int(review.sum()),
        allow=int(np.sum(decision == "allow")),
        block_precision=precision,
        protected_recall=recall,
    )


def closure_sets(clusters: Sequence[str] = PROTECTABLE_CLUSTERS) -> list[tuple[str, ...]]:
    """Every subset of ``clusters``, smallest first (the empty set = nothing closed)."""
    for cluster in clusters:
        check_cluster(cluster)
    return [
        subset
        for size in range(len(clusters) + 1)
        for subset in itertools.combinations(clusters, size)
    ]


def rates_by_closure(
    proba: np.ndarray,
    classes: Sequence[str],
    cross_border: Iterable[object] | np.ndarray,
    policy: Policy,
    *,
    closed: Iterable[Collection[str]] | None = None,
    blank: np.ndarray | None = None,
    labels: Sequence[str] | np.ndarray | None = None,
    on: dt.date | str | None = None,
) -> list[ScenarioRates]:
    """Rates at ``policy``'s thresholds and fallbacks with exactly each set of clusters closed.

    ``closed`` lists the sets of closed clusters to compare (default :func:`closure_sets`,
    every subset of the protectable clusters); each scenario is named by its clusters joined
    with ``+``, or ``none``. Other arguments as in :func:`rates_over_thresholds`.
    """
    catalogue = _catalogue(proba, classes, cross_border, blank, labels)
    on = today_utc() if on is None else as_date(on)
    scenarios = closure_sets() if closed is None else [tuple(c) for c in closed]
    results = []
    for clusters in scenarios:
        for cluster in clusters:
            if cluster not in PROTECTABLE_CLUSTERS:
                raise ValueError(
                    f"cannot close {cluster!r}; protectable clusters: "
                    f"{', '.join(PROTECTABLE_CLUSTERS)}"
                )
        if clusters:
            closures = dict.fromkeys(clusters, on)
        else:
            # A policy must name a closure; one that starts after the decision date closes
            # nothing on it.
            closures = {PROTECTABLE_CLUSTERS[0]: on + dt.timedelta(days=1)}
        scenario_policy = policy.replace(closures=closures)
        protected = scenario_policy.protected_on(on)
        result = gate(
            catalogue.proba,
            catalogue.classes,
            catalogue.flags,
            catalogue.blank,
            scenario_policy,
            on,
        )
        name = "+".join(protected) or "none"
        results.append(_scenario(name, result, catalogue, protected, on))
    return results


def rates_over_dates(
    proba: np.ndarray,
    classes: Sequence[str],
    cross_border: Iterable[object] | np.ndarray,
    policy: Policy,
    dates: Iterable[dt.date | str],
    *,
    blank: np.ndarray | None = None,
    labels: Sequence[str] | np.ndarray | None = None,
) -> list[ScenarioRates]:
    """Rates of ``policy`` as it stands on each decision date in ``dates`` (its own closing
    dates decide which clusters are closed); each scenario is named by its ISO date."""
    catalogue = _catalogue(proba, classes, cross_border, blank, labels)
    results = []
    for value in dates:
        on = as_date(value)
        result = gate(
            catalogue.proba, catalogue.classes, catalogue.flags, catalogue.blank, policy, on
        )
        results.append(_scenario(on.isoformat(), result, catalogue, policy.protected_on(on), on))
    return results
