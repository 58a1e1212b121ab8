"""Tests of akarclf.evaluation.whatif: every figure must be what the gate itself would decide."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.evaluation.tuning import gate_report
from akarclf.evaluation.whatif import (
    closure_sets,
    rates_by_closure,
    rates_over_dates,
    rates_over_thresholds,
)
from akarclf.gate.decision import gate
from akarclf.gate.flags import parse_cross_border_many
from akarclf.gate.policy import Policy

# scikit-learn's sorted order, deliberately not CLUSTERS order.
CLASSES = ["crafts", "culinary", "other", "textile_fashion"]
ON = dt.date(2026, 1, 1)


def _policy(**changes: object) -> Policy:
    fields: dict[str, object] = {
        "policy_id": "test",
        "version": "1",
        "closures": dict.fromkeys(PROTECTABLE_CLUSTERS, dt.date(2021, 8, 1)),
        "block_threshold": 0.9,
        "review_threshold": 0.5,
        "unknown_seller": "review",
        "empty_title": "review",
    }
    fields.update(changes)
    return Policy(**fields)  # type: ignore[arg-type]


def _random_catalogue(
    n: int, seed: int, all_cross_border: bool = False
) -> tuple[np.ndarray, list[object], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(len(CLASSES), 0.4), size=n)
    proba[:5] = np.round(proba[:5], 1)  # some masses land exactly on grid thresholds
    proba[:5] /= proba[:5].sum(axis=1, keepdims=True)
    if all_cross_border:
        flags: list[object] = [True] * n
    else:
        flags = rng.choice(np.array([True, False, None], dtype=object), size=n).tolist()
    blank = rng.random(n) < 0.05
    labels = [CLASSES[i] for i in rng.integers(0, len(CLASSES), size=n)]
    return proba, flags, blank, labels


def _direct(
    proba: np.ndarray,
    flags: list[object],
    blank: np.ndarray,
    labels: list[str],
    policy: Policy,
) -> dict[str, float]:
    """Rates, precision and recall straight from gate() decisions (the reference)."""
    codes = parse_cross_border_many(flags)
    decision = gate(proba, CLASSES, codes, blank, policy, ON).decision
    truth = (codes == 1) & np.isin(labels, policy.protected_on(ON))
    block, review = decision == "block", decision == "review"
    n = len(decision)
    return {
        "block_rate": block.sum() / n,
        "review_rate": review.sum() / n,
        "allow_rate": (decision == "allow").sum() / n,
        "block_precision": (block & truth).sum() / block.sum() if block.any() else np.nan,
        "protected_recall": ((block | review) & truth).sum() / truth.sum(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_grid_matches_the_gate_cell_by_cell(seed: int) -> None:
    proba, flags, blank, labels = _random_catalogue(400, seed)
    policy = _policy(unknown_seller="block", empty_title="review")
    blocks = np.array([0.0, 0.3, 0.5, 0.7, 0.9, 1.0])
    reviews = np.array([0.0, 0.2, 0.5, 0.8, 1.0])
    grid = rates_over_thresholds(
        proba, CLASSES, flags, policy, blocks, reviews, blank=blank, labels=labels, on=ON
    )
    assert grid.block_precision is not None and grid.protected_recall is not None
    for i, b in enumerate(blocks):
        for j, r in enumerate(reviews):
            if r > b:
                assert np.isnan(grid.block_rate[i, j])
                assert np.isnan(grid.block_precision[i, j])
                continue
            expected = _direct(
                proba,
                flags,
                blank,
                labels,
                policy.replace(block_threshold=float(b), review_threshold=float(r)),
            )
            got = {
                "block_rate": grid.block_rate[i, j],
                "review_rate": grid.review_rate[i, j],
                "allow_rate": grid.allow_rate[i, j],
                "block_precision": grid.block_precision[i, j],
                "protected_recall": grid.protected_recall[i, j],
            }
            for key, value in expected.items():
                np.testing.assert_allclose(got[key], value, err_msg=f"{key} at ({b}, {r})")


def test_all_cross_border_grid_equals_gate_report() -> None:
    proba, flags, blank, labels = _random_catalogue(300, 7, all_cross_border=True)
    policy = _policy()
    grid = rates_over_thresholds(
        proba, CLASSES, flags, policy, [0.6, 0.95], [0.1, 0.6], blank=blank, labels=labels, on=ON
    )
    records = grid.to_records()
    assert len(records) == 4
    for record in records:
        tuned = policy.replace(
            block_threshold=record["block_threshold"], review_threshold=record["review_threshold"]
        )
        report = gate_report(proba, CLASSES, labels, tuned, ON, blank=blank, n_bootstrap=0)
        for key in ("block_rate", "review_rate", "allow_rate", "block_precision"):
            assert record[key] == pytest.approx(report["metrics"][key]["value"]), key
        assert record["protected_recall"] == pytest.approx(
            report["metrics"]["protected_recall"]["value"]
        )


def test_mass_equal_to_a_threshold_is_at_or_above_it() -> None:
    # Protected mass 0.5, 0.75 and 0.0 (sums exact in binary floating point).
    proba = np.array([[0.25, 0.0, 0.5, 0.25], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 1.0, 0.0]])
    grid = rates_over_thresholds(proba, CLASSES, [1, 1, 1], _policy(), [0.75], [0.5], on=ON)
    assert grid.block_rate[0, 0] == pytest.approx(1 / 3)
    assert grid.review_rate[0, 0] == pytest.approx(1 / 3)
    assert grid.allow_rate[0, 0] == pytest.approx(1 / 3)
    assert grid.block_precision is None and grid.protected_recall is None
    assert "block_precision" not in grid.to_records()[0]


def test_thresholds_do_not_matter_when_nothing_is_closed() -> None:
    proba, flags, blank, _ = _random_catalogue(50, 3, all_cross_border=True)
    later = _policy(closures={"crafts": dt.date(2030, 1, 1)})
    grid = rates_over_thresholds(
        proba, CLASSES, flags, later, [0.0, 1.0], [0.0], blank=blank, on=ON
    )
    assert grid.protected == ()
    # Only blank titles (fallback review) are not allowed.
    np.testing.assert_allclose(grid.review_rate[:, 0], blank.mean())
    np.testing.assert_allclose(grid.block_rate[:, 0], 0.0)


def test_grid_rejects_bad_input() -> None:
    proba, flags, blank, labels = _random_catalogue(10, 4)
    policy = _policy()
    with pytest.raises(ValueError, match=r"block_thresholds\[1\] = 1.5"):
        rates_over_thresholds(proba, CLASSES, flags, policy, [0.5, 1.5], [0.1], on=ON)
    with pytest.raises(ValueError, match="review_thresholds"):
        rates_over_thresholds(proba, CLASSES, flags, policy, [0.5], [float("nan")], on=ON)
    with pytest.raises(ValueError, match="non-empty"):
        rates_over_thresholds(proba, CLASSES, flags, policy, [], [0.1], on=ON)
    with pytest.raises(ValueError, match="9 cross_border flags for 10"):
        rates_over_thresholds(proba, CLASSES, flags[:9], policy, [0.5], [0.1], on=ON)
    with pytest.raises(ValueError, match="position 2"):
        bad_flags = [*flags[:2], "maybe", *flags[3:]]
        rates_over_thresholds(proba, CLASSES, bad_flags, policy, [0.5], [0.1], on=ON)
    with pytest.raises(ValueError, match="blank must be a boolean array"):
        rates_over_thresholds(
            proba, CLASSES, flags, policy, [0.5], [0.1], blank=blank.astype(int), on=ON
        )
    with pytest.raises(ValueError, match="row 3: label 'shoes'"):
        wrong = [*labels[:3], "shoes", *labels[4:]]
        rates_over_thresholds(proba, CLASSES, flags, policy, [0.5], [0.1], labels=wrong, on=ON)
    with pytest.raises(ValueError, match="columns"):
        rates_over_thresholds(proba, CLASSES[:3], flags, policy, [0.5], [0.1], on=ON)


def test_closure_sets_are_every_subset_smallest_first() -> None:
    sets = closure_sets()
    assert len(sets) == 2 ** len(PROTECTABLE_CLUSTERS)
    assert sets[0] == ()
    assert sets[-1] == tuple(PROTECTABLE_CLUSTERS)
    assert len(set(sets)) == len(sets)
    assert [len(s) for s in sets] == sorted(len(s) for s in sets)
    with pytest.raises(ValueError):
        closure_sets(["shoes"])


def test_rates_by_closure_match_the_gate_for_each_set() -> None:
    proba, flags, blank, labels = _random_catalogue(300, 5)
    policy = _policy()
    rows = rates_by_closure(proba, CLASSES, flags, policy, blank=blank, labels=labels, on=ON)
    assert rows[0].scenario == "none"
    assert len(rows) == 2 ** len(PROTECTABLE_CLUSTERS)
    for row in rows:
        if row.protected:
            closed = policy.replace(closures=dict.fromkeys(row.protected, ON))
            expected = _direct(proba, flags, blank, labels, closed)
            assert row.block_precision == pytest.approx(expected["block_precision"])
            assert row.protected_recall == pytest.approx(expected["protected_recall"])
        else:
            assert row.block_precision is None and row.protected_recall is None
            codes = parse_cross_border_many(flags)
            # Nothing closed: only the fallbacks (unknown seller, blank title) are not allowed.
            fallback = (codes == -1) | ((codes == 1) & blank)
            expected = {"block_rate": 0.0, "review_rate": fallback.mean()}
            expected["allow_rate"] = 1 - fallback.mean()
        assert row.block + row.review + row.allow == row.n == 300
        assert row.block_rate == pytest.approx(expected["block_rate"])
        assert row.review_rate == pytest.approx(expected["review_rate"])
        assert row.allow_rate == pytest.approx(expected["allow_rate"])
        assert row.to_dict()["protected"] == "+".join(row.protected)


def test_rates_by_closure_named_sets_and_errors() -> None:
    proba, flags, _, _ = _random_catalogue(20, 6)
    rows = rates_by_closure(
        proba, CLASSES, flags, _policy(), closed=[["crafts", "textile_fashion"]], on=ON
    )
    # Named in CLUSTERS order whatever order they were given in.
    assert [r.scenario for r in rows] == ["textile_fashion+crafts"]
    with pytest.raises(ValueError, match="cannot close 'other'"):
        rates_by_closure(proba, CLASSES, flags, _policy(), closed=[["other"]], on=ON)


def test_rates_over_dates_follow_the_closing_dates() -> None:
    # One confident title per cluster, all from cross-border sellers.
    proba = np.eye(len(CLASSES))
    labels = list(CLASSES)
    staged = _policy(
        closures={
            "textile_fashion": dt.date(2021, 8, 1),
            "culinary": dt.date(2022, 1, 1),
            "crafts": dt.date(2023, 1, 1),
        }
    )
    dates = ["2021-07-31", "2021-08-01", "2022-06-30", dt.date(2023, 1, 1)]
    rows = rates_over_dates(proba, CLASSES, [True] * 4, staged, dates, labels=labels)
    assert [r.scenario for r in rows] == ["2021-07-31", "2021-08-01", "2022-06-30", "2023-01-01"]
    assert [r.block for r in rows] == [0, 1, 2, 3]
    assert [r.protected for r in rows][-1] == ("textile_fashion", "culinary", "crafts")
    assert all(r.allow == 4 - r.block for r in rows)
    assert [r.block_precision for r in rows] == [None, 1.0, 1.0, 1.0]
    assert [r.protected_recall for r in rows] == [None, 1.0, 1.0, 1.0]
    assert rows[2].to_dict()["decision_date"] == "2022-06-30"


def test_domestic_sellers_never_count_as_should_restrict() -> None:
    # A domestic fashion listing is allowed and must not lower protected recall.
    proba = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    labels = ["textile_fashion", "textile_fashion"]
    grid = rates_over_thresholds(
        proba, CLASSES, [True, False], _policy(), [0.9], [0.5], labels=labels, on=ON
    )
    assert grid.protected_recall is not None and grid.block_precision is not None
    assert grid.protected_recall[0, 0] == 1.0
    assert grid.block_precision[0, 0] == 1.0
    assert grid.block_rate[0, 0] == 0.5


def test_cluster_order_of_columns_does_not_matter() -> None:
    proba, flags, blank, labels = _random_catalogue(100, 8)
    order = [CLASSES.index(c) for c in CLUSTERS]
    a = rates_over_thresholds(
        proba, CLASSES, flags, _policy(), [0.8], [0.3], blank=blank, labels=labels, on=ON
    )
    b = rates_over_thresholds(
        proba[:, order],
        list(CLUSTERS),
        flags,
        _policy(),
        [0.8],
        [0.3],
        blank=blank,
        labels=labels,
        on=ON,
    )
    assert a.to_records() == b.to_records()
