"""Choose the policy thresholds from labelled data, and report how a policy performs on it.

Every labelled listing is treated as if a cross-border seller had posted it: the thresholds act
only on cross-border listings, and the labels say which of them are truly in a protected
cluster (closed on the decision date). Titles without usable words (``blank``) are left out of
the choice, because the policy's ``empty_title`` action decides them, not the thresholds; the
report still counts them.

Block threshold: the *lowest* cut ``t`` whose block precision (share of blocked listings that
are truly protected) is at least the target **at t and at every higher cut** that blocks at
least ``min_support`` listings. Precision is not monotone in the cut: scanning upwards and
stopping at the first cut that happens to pass would let a noisy dip pick a threshold whose
neighbours just above fail. Cuts blocking fewer than ``min_support`` listings (default
``ceil(1 / (1 - target))``, 100 for 0.99) are not checked, because there a single mislabelled
or confidently wrong listing moves precision by more than the tolerance allows: a precision of
0.99 cannot be measured on fewer than 100 listings.

If no cut meets the block precision target, no listing is blocked automatically: the block
threshold becomes 1.0 and the status ``block_precision_not_met`` (in the policy's provenance
and the report) says why, while the review threshold below still sends protected listings to
people. Failing loudly here instead would lose a long training run at its last step.

Review threshold: the *highest* cut whose protected recall (share of protected listings
blocked or reviewed) is at least the target. Recall can only fall as the cut rises, so this
choice needs no such guard. If the block threshold alone already meets the recall target the
review threshold equals the block threshold (no review band).

Review budget: a marketplace staffs its queue by capacity, so ``review_budget`` (a share of
the listings tuned on) caps the review band. The review cut is then the higher of the recall
cut above and the lowest cut whose band (protected mass at or above it, below the block cut)
holds at most that share; the report says which recall the budget buys, and the status
``protected_recall_not_met_within_review_budget`` when it is below the target.

Both cuts are observed protected-mass values; each is then rounded down to 3 decimals (more if
needed) as long as the rounded value still lies above the next lower observed mass, so the
rounding changes no decision on the tuning data while keeping the policy file readable.

Confidence intervals are 95 % percentile bootstrap intervals over listings with the thresholds
held fixed; the threshold intervals re-run the choice on each resample. Figures measured on the
data the thresholds were tuned on are optimistic: report a held-out split with
:func:`gate_report` too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from akarclf.clusters import CLUSTERS, check_cluster
from akarclf.errors import AkarclfError
from akarclf.evaluation.bootstrap import (
    DEFAULT_RESAMPLES,
    number_or_none,
    percentile_interval,
    ratio,
    resample_table,
)
from akarclf.evaluation.targets import DEFAULT_BLOCK_PRECISION, DEFAULT_PROTECTED_RECALL
from akarclf.gate.decision import DECISIONS, gate, protected_mass
from akarclf.gate.policy import Policy, as_date, today_utc

DEFAULT_BOOTSTRAP: Final = DEFAULT_RESAMPLES
#: Decimals a chosen threshold is rounded down to when no decision on the data changes.
THRESHOLD_DECIMALS: Final = 3

_EPS: Final = 1e-12
#: Threshold bootstraps loop over resamples; beyond this many rows x replicates they are
#: skipped (the metric intervals, computed from cell counts, are always given).
_MAX_THRESHOLD_BOOTSTRAP_WORK: Final = 50_000_000

BLOCK_RULE: Final = (
    "lowest cut t such that block precision >= target at t and at every higher cut that "
    "blocks at least min_support listings"
)
REVIEW_RULE: Final = "highest cut t such that protected recall (block or review) >= target"


class TuningError(AkarclfError, ValueError):
    """The data cannot give thresholds that meet the targets (the message says why)."""


@dataclass(frozen=True)
class TuningResult:
    """The tuned policy and the report of how it performs on the tuning data."""

    policy: Policy
    report: dict[str, Any]


def default_min_support(target: float) -> int:
    """Fewest blocked listings on which a block precision of ``target`` is measurable."""
    if target >= 1.0:
        return 1
    return max(1, math.ceil(1.0 / (1.0 - target) - 1e-9))


def _check_target(name: str, value: float) -> float:
    if isinstance(value, bool) or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} target must be within (0, 1], got {value!r}")
    return float(value)


def _check_labels(labels: Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels, dtype=object)
    if labels.shape != (n,):
        raise ValueError(f"labels have shape {labels.shape}, expected ({n},) like proba")
    for row, label in enumerate(labels.tolist()):
        try:
            check_cluster(label)
        except (ValueError, TypeError):
            raise ValueError(
                f"label at row {row} is {label!r}, not a cluster ({', '.join(CLUSTERS)})"
            ) from None
    return labels.astype(str)


def _check_blank(blank: np.ndarray | None, n: int) -> np.ndarray:
    if blank is None:
        return np.zeros(n, dtype=bool)
    blank = np.asarray(blank)
    if blank.dtype != np.bool_ or blank.shape != (n,):
        raise ValueError(f"blank must be a boolean array of shape ({n},)")
    return blank


# --- threshold choice ---------------------------------------------------------------------------


def _check_inputs(
    proba: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    blank: np.ndarray | None,
    on: dt.date | str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dt.date]:
    """Validated probabilities (n, k), labels, blank mask and decision date (default today)."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"proba must be a 2-d array, got shape {proba.shape}")
    n = len(proba)
    return (
        proba,
        _check_labels(labels, n),
        _check_blank(blank, n),
        today_utc() if on is None else as_date(on),
    )


def _cut_table(mass: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct masses (descending) with the blocked and truly protected counts at each cut."""
    order = np.argsort(-mass, kind="stable")
    sorted_mass = mass[order]
    positives = np.cumsum(truth[order])
    ends = np.flatnonzero(np.append(sorted_mass[1:] != sorted_mass[:-1], True))
    return sorted_mass[ends], ends + 1, positives[ends]


def select_block_threshold(
    mass: np.ndarray, truth: np.ndarray, target: float, min_support: int
) -> tuple[float, float, dict[str, Any]]:
    """``(cut, next lower mass, details)`` for the block rule of the module docstring."""
    cuts, blocked, hits = _cut_table(mass, truth)
    if len(cuts) == 0:
        raise TuningError("no listing to tune on")
    precision = hits / blocked
    failing = (blocked >= min_support) & (precision < target - _EPS)
    still_ok = np.cumsum(failing) == 0  # no checked cut at or above this one fails
    valid = still_ok & (precision >= target - _EPS)
    if not valid.any():
        checked = blocked >= min_support
        best = float(precision[checked].max()) if checked.any() else float(precision.max())
        raise TuningError(
            f"no block threshold reaches block precision {target}: the best precision at a cut "
            f"blocking >= {min_support} listings is {best:.4f} (of {int(blocked[-1])} listings, "
            f"{int(hits[-1])} protected); lower --block-precision or improve the model"
        )
    j = int(np.flatnonzero(valid)[-1])
    lower = float(cuts[j + 1]) if j + 1 < len(cuts) else -math.inf
    details = {
        "cut": float(cuts[j]),
        "blocked": int(blocked[j]),
        "precision": float(precision[j]),
        "min_support": int(min_support),
        # False when the chosen cut blocks too few listings for its precision to be measured
        # at the target's resolution (a small or very cautious data set): read the CI.
        "verified": bool(blocked[j] >= min_support),
    }
    return float(cuts[j]), lower, details


def select_review_threshold(
    mass: np.ndarray, truth: np.ndarray, target: float
) -> tuple[float, float, dict[str, Any]]:
    """``(cut, next lower mass, details)`` for the review rule of the module docstring."""
    positives = np.sort(mass[truth])[::-1]
    if len(positives) == 0:
        raise TuningError("no protected listing in the data: protected recall is undefined")
    needed = max(1, math.ceil(target * len(positives) - 1e-9))
    cut = float(positives[needed - 1])
    below = mass[mass < cut]
    lower = float(below.max()) if len(below) else -math.inf
    recall = float(np.mean(positives >= cut))
    details = {"cut": cut, "recall": recall, "protected": len(positives)}
    return cut, lower, details


def select_budget_threshold(mass: np.ndarray, block_cut: float, budget: float) -> float:
    """The lowest observed cut whose review band ``[cut, block_cut)`` holds at most
    ``budget`` of the listings; ``block_cut`` (no band) when even the highest cut below it
    holds more."""
    allowed = math.floor(budget * len(mass) + 1e-9)
    below = np.sort(mass[mass < block_cut])[::-1]
    if allowed <= 0 or len(below) == 0:
        return block_cut
    if allowed >= len(below):
        return float(below[-1])
    cut = float(below[allowed - 1])
    if below[allowed] == cut:  # a tie straddles the cap: the band stops above it
        higher = below[below > cut]
        return float(higher[-1]) if len(higher) else block_cut
    return cut


def readable_threshold(cut: float, lower: float, decimals: int = THRESHOLD_DECIMALS) -> float:
    """``cut`` rounded down to ``decimals`` (or more) decimals while staying above ``lower``."""
    for places in range(decimals, 10):
        scale = 10.0**places
        value = round(math.floor(cut * scale + 1e-9) / scale, places)
        if value > cut:
            value = round(value - 1.0 / scale, places)
        if lower < value <= cut:
            return max(0.0, min(1.0, value))
    return cut


# --- report ---------------------------------------------------------------------------------------


def _metrics_from_cells(cells: np.ndarray, protected_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics from counts shaped (..., len(CLUSTERS), len(DECISIONS))."""
    block, review, allow = (cells[..., DECISIONS.index(d)] for d in ("block", "review", "allow"))
    n = cells.sum(axis=(-1, -2))
    pb = block[..., protected_rows].sum(axis=-1)
    pr = review[..., protected_rows].sum(axis=-1)
    n_protected = cells[..., protected_rows, :].sum(axis=(-1, -2))
    n_blocked = block.sum(axis=-1)
    return {
        "block_precision": ratio(pb, n_blocked),
        "protected_recall": ratio(pb + pr, n_protected),
        "protected_block_recall": ratio(pb, n_protected),
        "unprotected_block_rate": ratio(n_blocked - pb, n - n_protected),
        "block_rate": ratio(n_blocked, n),
        "review_rate": ratio(review.sum(axis=-1), n),
        "allow_rate": ratio(allow.sum(axis=-1), n),
    }


_METRIC_DOCS: Final = {
    "block_precision": "share of blocked listings that are truly protected",
    "protected_recall": "share of protected listings that are blocked or reviewed",
    "protected_block_recall": "share of protected listings that are blocked",
    "unprotected_block_rate": "share of unprotected listings that are blocked",
    "block_rate": "share of all listings blocked",
    "review_rate": "share of all listings sent to review",
    "allow_rate": "share of all listings allowed",
}


def gate_report(
    proba: np.ndarray,
    classes: Sequence[str],
    labels: Sequence[str] | np.ndarray,
    policy: Policy,
    on: dt.date | str | None = None,
    *,
    blank: np.ndarray | None = None,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """How ``policy`` decides labelled listings, all treated as cross-border.

    Returns a JSON-ready dict: the policy, decision date and protected clusters, counts of
    each decision per true cluster, and block precision, protected recall (block or review),
    review rate, allow rate and a few more, each as ``{"value", "ci95"}`` with a percentile
    bootstrap interval over listings (``n_bootstrap`` resamples, seeded by ``seed``). A
    metric whose denominator is zero is ``None``.
    """
    proba, labels, blank, on = _check_inputs(proba, labels, blank, on)
    n = len(proba)
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    protected = policy.protected_on(on)
    result = gate(proba, classes, np.ones(n, dtype=np.int8), blank, policy, on)

    label_code = np.zeros(n, dtype=np.intp)
    for i, cluster in enumerate(CLUSTERS):
        label_code[labels == cluster] = i
    decision_code = np.zeros(n, dtype=np.intp)
    for i, decision in enumerate(DECISIONS):
        decision_code[result.decision == decision] = i
    cells = np.zeros((len(CLUSTERS), len(DECISIONS)), dtype=np.int64)
    np.add.at(cells, (label_code, decision_code), 1)
    protected_rows = np.array([c in protected for c in CLUSTERS])

    values = _metrics_from_cells(cells, protected_rows)
    samples: dict[str, np.ndarray] = {}
    cluster_samples: np.ndarray | None = None
    if n_bootstrap and n:
        # The thresholds are fixed, so resampling listings is resampling the label x decision
        # table.
        draws = resample_table(cells, n_bootstrap, seed)
        samples = _metrics_from_cells(draws, protected_rows)
        flagged = draws[..., DECISIONS.index("block")] + draws[..., DECISIONS.index("review")]
        cluster_samples = ratio(flagged, draws.sum(axis=-1))

    metrics = {
        name: {
            "value": number_or_none(float(value)),
            "ci95": percentile_interval(samples[name]) if samples else [None, None],
            "meaning": _METRIC_DOCS[name],
        }
        for name, value in values.items()
    }
    per_cluster: dict[str, Any] = {}
    for i, cluster in enumerate(CLUSTERS):
        row = cells[i]
        entry: dict[str, Any] = {
            "n": int(row.sum()),
            "protected": bool(protected_rows[i]),
            **{d: int(row[DECISIONS.index(d)]) for d in DECISIONS},
        }
        flagged_share = ratio(
            np.array(row[DECISIONS.index("block")] + row[DECISIONS.index("review")]),
            np.array(row.sum()),
        )
        entry["block_or_review_rate"] = {
            "value": number_or_none(float(flagged_share)),
            "ci95": percentile_interval(cluster_samples[:, i])
            if cluster_samples is not None
            else [None, None],
        }
        per_cluster[cluster] = entry

    return {
        "policy": policy_summary(policy),
        "decision_date": on.isoformat(),
        "protected_clusters": list(protected),
        "assumption": "every listing treated as posted by a cross-border seller",
        "n": n,
        "n_protected": int(cells[protected_rows].sum()),
        "n_blank_titles": int(blank.sum()),
        "counts": {d: int(cells[:, DECISIONS.index(d)].sum()) for d in DECISIONS},
        "metrics": metrics,
        "per_cluster": per_cluster,
        "bootstrap": {
            "replicates": int(n_bootstrap),
            "seed": int(seed),
            "method": "95% percentile interval; listings resampled with replacement, "
            "thresholds fixed",
        },
    }


def policy_summary(policy: Policy) -> dict[str, Any]:
    """The fields of ``policy`` a report must match (JSON-ready)."""
    return {
        "label": policy.label,
        "id": policy.policy_id,
        "version": policy.version,
        "thresholds": {"block": policy.block_threshold, "review": policy.review_threshold},
        "fallbacks": {"unknown_seller": policy.unknown_seller, "empty_title": policy.empty_title},
        "closures": {c: d.isoformat() for c, d in policy.closures.items()},
    }


# --- tuning -------------------------------------------------------------------------------------


def _choose(
    mass: np.ndarray,
    truth: np.ndarray,
    block_precision: float,
    protected_recall: float,
    min_support: int,
    review_budget: float | None = None,
) -> tuple[float, float, dict[str, Any]]:
    if not truth.any():
        raise TuningError("no protected listing in the data: nothing to tune the thresholds on")
    try:
        block_cut, block_lower, block_details = select_block_threshold(
            mass, truth, block_precision, min_support
        )
        block_details["met"] = True
        block = readable_threshold(block_cut, block_lower)
    except TuningError as error:
        # No cut is precise enough to block automatically: block nothing (threshold 1.0) and
        # let the review band, tuned for recall, send protected listings to people.
        block_cut, block = math.inf, 1.0
        block_details = {"met": False, "cut": None, "reason": str(error)}
    review_cut, review_lower, review_details = select_review_threshold(
        mass, truth, protected_recall
    )
    if review_budget is not None:
        budget_cut = select_budget_threshold(mass, block_cut, review_budget)
        binding = budget_cut > review_cut
        review_details["review_budget"] = review_budget
        review_details["budget_binding"] = bool(binding)
        if binding:
            review_cut = budget_cut
            below = mass[mass < review_cut]
            review_lower = float(below.max()) if len(below) else -math.inf
            review_details["cut"] = review_cut
            review_details["recall"] = float(np.mean(mass[truth] >= review_cut))
    if review_cut >= block_cut:
        review = block
        review_details["note"] = "the block threshold alone meets the recall target: no review band"
    else:
        review = readable_threshold(review_cut, review_lower)
    return block, review, {"block": block_details, "review": review_details}


def _threshold_intervals(
    mass: np.ndarray,
    truth: np.ndarray,
    block_precision: float,
    protected_recall: float,
    min_support: int,
    n_bootstrap: int,
    seed: int,
    review_budget: float | None = None,
) -> dict[str, Any]:
    n = len(mass)
    if n_bootstrap == 0 or n * n_bootstrap > _MAX_THRESHOLD_BOOTSTRAP_WORK:
        return {"skipped": True, "replicates": 0}
    rng = np.random.default_rng([seed, 1])
    blocks, reviews, failed, unmet = [], [], 0, 0
    for _ in range(n_bootstrap):
        pick = rng.integers(0, n, size=n)
        try:
            block, review, details = _choose(
                mass[pick],
                truth[pick],
                block_precision,
                protected_recall,
                min_support,
                review_budget,
            )
        except TuningError:
            failed += 1
            continue
        unmet += not details["block"]["met"]
        blocks.append(block)
        reviews.append(review)
    return {
        "replicates": int(n_bootstrap),
        "failed": failed,
        "block_precision_unmet": unmet,
        "block_ci95": percentile_interval(np.array(blocks, dtype=float)),
        "review_ci95": percentile_interval(np.array(reviews, dtype=float)),
    }


def tune_thresholds(
    proba: np.ndarray,
    classes: Sequence[str],
    labels: Sequence[str] | np.ndarray,
    *,
    policy: Policy,
    on: dt.date | str | None = None,
    block_precision: float = DEFAULT_BLOCK_PRECISION,
    protected_recall: float = DEFAULT_PROTECTED_RECALL,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    blank: np.ndarray | None = None,
    min_support: int | None = None,
    policy_id: str | None = None,
    version: str | None = None,
    provenance: Mapping[str, Any] | None = None,
    review_budget: float | None = None,
) -> TuningResult:
    """Thresholds for ``policy`` (clusters, dates, fallbacks kept) chosen on labelled data.

    ``proba`` (n, k) with columns named by ``classes``; ``labels`` the true clusters; ``on``
    the decision date that selects the protected clusters (default: today, UTC); ``blank``
    marks titles without usable words (left out of the choice). See the module docstring for
    the rules. The returned policy carries a ``provenance`` table with the targets, rules and
    chosen cuts, merged with ``provenance`` (data file, hash...).

    ``review_budget`` caps the share of listings in the review band (see the module
    docstring); the report's ``tuning.selection.review`` then says the recall it buys.

    When no cut reaches the block precision target, the policy blocks nothing automatically
    (block threshold 1.0), its provenance and report say ``status = "block_precision_not_met"``,
    and the review threshold still meets the recall target. Raises :class:`TuningError` when
    the data holds no protected listing (nothing to tune on).
    """
    block_precision = _check_target("block precision", block_precision)
    protected_recall = _check_target("protected recall", protected_recall)
    if review_budget is not None and not 0.0 <= review_budget <= 1.0:
        raise ValueError(f"review budget must be a share in [0, 1], got {review_budget}")
    proba, labels, blank, on = _check_inputs(proba, labels, blank, on)
    n = len(proba)
    protected = policy.protected_on(on)
    if not protected:
        raise TuningError(f"policy {policy.label} protects no cluster on {on.isoformat()}")
    support = default_min_support(block_precision) if min_support is None else int(min_support)
    if support < 1:
        raise ValueError(f"min_support must be >= 1, got {min_support}")

    usable = ~blank
    mass = protected_mass(proba, classes, protected)[usable]
    truth = np.isin(labels, protected)[usable]
    block, review, details = _choose(
        mass, truth, block_precision, protected_recall, support, review_budget
    )
    intervals = _threshold_intervals(
        mass, truth, block_precision, protected_recall, support, n_bootstrap, seed, review_budget
    )

    record: dict[str, Any] = {
        "method": "akarclf tune-policy",
        "status": "tuned",
        "tuned_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "decision_date": on,
        "rows": n,
        "rows_used": int(usable.sum()),
        "block_precision_target": block_precision,
        "protected_recall_target": protected_recall,
        "min_block_support": support,
        "block_rule": BLOCK_RULE,
        "review_rule": REVIEW_RULE,
        "review_budget": review_budget,
        "block_cut": details["block"]["cut"],
        "review_cut": details["review"]["cut"],
        "base_policy": policy.label,
        **(dict(provenance) if provenance else {}),
    }
    record = {key: value for key, value in record.items() if value is not None}
    if not details["block"]["met"]:
        record["status"] = "block_precision_not_met"
    elif details["review"].get("budget_binding") and (
        details["review"]["recall"] < protected_recall - _EPS
    ):
        record["status"] = "protected_recall_not_met_within_review_budget"
    tuned = policy.replace(
        policy_id=policy_id or policy.policy_id,
        version=version or policy.version,
        block_threshold=block,
        review_threshold=review,
        provenance=record,
    )
    report = {
        "status": record["status"],
        **gate_report(
            proba, classes, labels, tuned, on, blank=blank, n_bootstrap=n_bootstrap, seed=seed
        ),
    }
    report["tuning"] = {
        "targets": {
            "block_precision": block_precision,
            "protected_recall": protected_recall,
            "review_budget": review_budget,
        },
        "rules": {"block": BLOCK_RULE, "review": REVIEW_RULE},
        "selection": details,
        "threshold_bootstrap": intervals,
        "provenance": {k: _jsonable(v) for k, v in record.items()},
        "caveat": "figures measured on the tuning data itself are optimistic; report a "
        "held-out split too",
    }
    return TuningResult(policy=tuned, report=report)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- readable output ----------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:6.2f}%"


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text rendering of a :func:`gate_report` / tuning report for the terminal."""
    policy = report["policy"]
    lines = [
        f"policy {policy['label']}: block >= {policy['thresholds']['block']}, "
        f"review >= {policy['thresholds']['review']} (protected mass)",
        f"decision date {report['decision_date']}; protected: "
        f"{', '.join(report['protected_clusters']) or 'none'}",
        f"{report['n']} listings ({report['n_protected']} protected, "
        f"{report['n_blank_titles']} blank titles), all treated as cross-border",
        "decisions: " + ", ".join(f"{d} {report['counts'][d]}" for d in DECISIONS),
        "",
        f"{'metric':<24}{'value':>8}   95% CI",
    ]
    for name, metric in report["metrics"].items():
        low, high = metric["ci95"]
        ci = "" if low is None else f"[{_percent(low).strip()}, {_percent(high).strip()}]"
        lines.append(f"{name:<24}{_percent(metric['value']):>8}   {ci}")
    lines += ["", f"{'true cluster':<18}{'n':>6}{'block':>7}{'review':>7}{'allow':>7}"]
    for cluster, entry in report["per_cluster"].items():
        mark = "*" if entry["protected"] else " "
        lines.append(
            f"{cluster + mark:<18}{entry['n']:>6}{entry['block']:>7}{entry['review']:>7}"
            f"{entry['allow']:>7}"
        )
    lines.append("(* protected on the decision date)")
    tuning = report.get("tuning")
    if tuning:
        selection = tuning["selection"]
        lines += [
            "",
            f"targets: block precision >= {tuning['targets']['block_precision']}, "
            f"protected recall >= {tuning['targets']['protected_recall']}",
        ]
        if selection["block"]["met"]:
            lines.append(
                f"block cut {selection['block']['cut']:.6f} (precision "
                f"{selection['block']['precision']:.4f} on {selection['block']['blocked']} "
                f"blocked; cuts blocking < {selection['block']['min_support']} not checked)"
            )
        else:
            lines += [
                "WARNING: block precision target not met, so nothing is blocked automatically "
                "(block threshold 1.0); protected listings go to review.",
                f"  {selection['block']['reason']}",
            ]
        lines += [
            f"review cut {selection['review']['cut']:.6f} (recall "
            f"{selection['review']['recall']:.4f} of {selection['review']['protected']})",
        ]
        if selection["block"]["met"] and not selection["block"]["verified"]:
            lines.append(
                "WARNING: the block cut blocks fewer listings than min_support, so its "
                "precision is not measurable at the target's resolution"
            )
        if selection["review"].get("budget_binding"):
            lines.append(
                f"review budget {_percent(selection['review']['review_budget']).strip()} of "
                f"listings binds: it buys protected recall {selection['review']['recall']:.4f}"
                + (
                    f" (below the {tuning['targets']['protected_recall']} target)"
                    if selection["review"]["recall"] < tuning["targets"]["protected_recall"]
                    else ""
                )
            )
        elif "review_budget" in selection["review"]:
            lines.append(
                f"review budget {_percent(selection['review']['review_budget']).strip()} "
                "of listings is not binding: the recall target is met within it"
            )
        if "note" in selection["review"]:
            lines.append(selection["review"]["note"])
        boot = tuning["threshold_bootstrap"]
        if not boot.get("skipped"):
            lines.append(
                f"threshold 95% CI over {boot['replicates']} resamples ({boot['failed']} "
                f"failed, {boot['block_precision_unmet']} without a precise enough block cut): "
                f"block {boot['block_ci95']}, review {boot['review_ci95']}"
            )
        lines.append(tuning["caveat"])
    return "\n".join(lines)
