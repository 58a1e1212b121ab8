"""The acceptance targets of the shipped model and policy, checked against a model card.

The card lists every figure; this puts the ones the project committed to next to their bound,
with the 95 % bootstrap interval, so that a reader sees at once which targets are met, which
are missed, and which are within reach of sampling noise (the interval crosses the bound).
Targets are data here, not prose, so that the verdict is computed by the command that writes
the card, never typed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from akarclf.clusters import CLUSTERS

#: The shipped operating point: thresholds tuned on gold out-of-fold for these, minimising review.
DEFAULT_BLOCK_PRECISION: Final = 0.98
DEFAULT_PROTECTED_RECALL: Final = 0.97

#: Names of the data sets as the card's metrics and policy reports are keyed.
HELD_OUT: Final = "held-out split"
GOLD: Final = "gold_dev (out-of-fold)"
POLICY_GOLD: Final = "gold_dev (out-of-fold, tuning data)"
FOOD_FIXTURE: Final = "mainstream food fixture"


@dataclass(frozen=True)
class Target:
    """One committed bound on one figure of the card.

    ``value_path`` and ``interval_path`` are key paths into the card's JSON; ``interval_path``
    is empty for figures without an interval.
    """

    data: str
    figure: str
    at_least: bool
    bound: float
    value_path: tuple[str, ...]
    interval_path: tuple[str, ...] = ()


def _classifier_targets(data: str, key: str, macro: float, f1: Mapping[str, float]) -> list[Target]:
    metrics, intervals = ("metrics", key), ("metrics", key, "intervals")
    targets = [
        Target(data, "macro-F1", True, macro, (*metrics, "macro_f1"), (*intervals, "macro_f1"))
    ]
    for c in CLUSTERS:
        path = ("per_cluster", c, "f1")
        targets.append(Target(data, f"F1 {c}", True, f1[c], (*metrics, *path), (*intervals, *path)))
    return targets


def _cluster_targets(data: str, key: str, cluster: str, bound: float) -> list[Target]:
    metrics, intervals = ("metrics", key), ("metrics", key, "intervals")
    return [
        Target(
            data,
            f"{figure} {cluster}",
            True,
            bound,
            (*metrics, "per_cluster", cluster, figure),
            (*intervals, "per_cluster", cluster, figure),
        )
        for figure in ("recall", "precision")
    ]


def _policy_targets(data: str, precision: float, recall: float, review: float) -> list[Target]:
    report = ("policy", "reports", data, "metrics")
    bounds = (
        ("block_precision", True, precision),
        ("protected_recall", True, recall),
        ("review_rate", False, review),
    )
    return [
        Target(
            data,
            f"policy {name.replace('_', ' ')}",
            at_least,
            bound,
            (*report, name, "value"),
            (*report, name, "ci95"),
        )
        for name, at_least, bound in bounds
    ]


#: What the default model and policy must reach (issue 13): the classifier on gold_dev out of
#: fold, the shipped policy (tuned there) at its operating point, and culinary on the
#: mainstream food fixture (packaged food and drink against non-food neighbours).
DEFAULT_TARGETS: Final[tuple[Target, ...]] = (
    *_classifier_targets(
        GOLD,
        "gold_out_of_fold",
        macro=0.88,
        f1={"textile_fashion": 0.90, "culinary": 0.90, "crafts": 0.75, "other": 0.90},
    ),
    *_policy_targets(POLICY_GOLD, precision=0.98, recall=0.97, review=0.10),
    *_cluster_targets(FOOD_FIXTURE, "food_fixture", "culinary", 0.95),
)


def _lookup(card: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = card
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def check_targets(
    card: Mapping[str, Any], targets: Sequence[Target] = DEFAULT_TARGETS
) -> list[dict[str, Any]]:
    """Each target with the card's value, its interval and a verdict.

    Verdicts: ``met``; ``missed``; ``met, within noise`` / ``missed, within noise`` when the
    95 % interval crosses the bound; ``not measured`` when the card lacks the figure (a card
    trained without gold, say).
    """
    rows = []
    for target in targets:
        value = _lookup(card, target.value_path)
        interval = _lookup(card, target.interval_path) if target.interval_path else None
        if interval is not None and None in interval:
            interval = None
        if value is None:
            verdict = "not measured"
        else:
            met = value >= target.bound if target.at_least else value <= target.bound
            crosses = interval is not None and interval[0] <= target.bound <= interval[1]
            verdict = ("met" if met else "missed") + (", within noise" if crosses else "")
        rows.append(
            {
                "data": target.data,
                "figure": target.figure,
                "target": f"{'>=' if target.at_least else '<='} {target.bound:.2f}",
                "bound": target.bound,
                "value": value,
                "ci95": interval,
                "verdict": verdict,
            }
        )
    return rows
