"""Tuning under a cap on the review share: the cap binds, and the report says what it buys."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from akarclf.cli import main
from akarclf.clusters import CLUSTERS
from akarclf.evaluation.tuning import (
    DEFAULT_BLOCK_PRECISION,
    DEFAULT_PROTECTED_RECALL,
    format_report,
    select_budget_threshold,
    tune_thresholds,
)
from akarclf.gate.decision import protected_mass
from tests.test_tuning import ON, POLICY, synthetic


def test_the_shipped_operating_point_is_the_default() -> None:
    assert (DEFAULT_BLOCK_PRECISION, DEFAULT_PROTECTED_RECALL) == (0.98, 0.97)


def test_budget_cut_is_the_lowest_whose_band_fits() -> None:
    mass = np.array([0.95, 0.9, 0.6, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert select_budget_threshold(mass, 0.9, 0.3) == 0.5  # 0.6, 0.5, 0.5: 3 of 10
    assert select_budget_threshold(mass, 0.9, 0.2) == 0.6  # the 0.5 tie would make 3
    assert select_budget_threshold(mass, 0.9, 0.05) == 0.9  # not even one: no band
    assert select_budget_threshold(mass, 0.9, 1.0) == 0.05


def _review_share(proba: np.ndarray, block: float, review: float) -> float:
    mass = protected_mass(proba, CLUSTERS, POLICY.protected_on(ON))
    return float(np.mean((mass >= review) & (mass < block)))


def test_a_binding_budget_caps_the_review_share_and_reports_the_recall_it_buys() -> None:
    proba, labels = synthetic(3000, seed=4, sharpness=2.0)
    free = tune_thresholds(
        proba, CLUSTERS, labels, policy=POLICY, on=ON, protected_recall=0.99, n_bootstrap=0
    )
    free_share = _review_share(proba, free.policy.block_threshold, free.policy.review_threshold)
    budget = free_share / 2
    capped = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=POLICY,
        on=ON,
        protected_recall=0.99,
        n_bootstrap=20,
        review_budget=budget,
    )
    policy = capped.policy
    assert policy.block_threshold == free.policy.block_threshold
    assert _review_share(proba, policy.block_threshold, policy.review_threshold) <= budget
    review = capped.report["tuning"]["selection"]["review"]
    assert review["budget_binding"] and review["recall"] < 0.99
    recall = capped.report["metrics"]["protected_recall"]["value"]
    assert recall == pytest.approx(review["recall"])
    assert capped.report["status"] == "protected_recall_not_met_within_review_budget"
    assert "binds: it buys protected recall" in format_report(capped.report)
    loose = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=POLICY,
        on=ON,
        protected_recall=0.99,
        n_bootstrap=0,
        review_budget=min(1.0, free_share * 2),
    )
    assert loose.policy.review_threshold == free.policy.review_threshold
    assert loose.report["status"] == "tuned"
    assert "not binding" in format_report(loose.report)
    with pytest.raises(ValueError, match="review budget"):
        tune_thresholds(proba, CLUSTERS, labels, policy=POLICY, on=ON, review_budget=1.5)


def test_tune_policy_command_takes_a_review_budget(tmp_path: Path) -> None:
    proba, labels = synthetic(2000, seed=5, sharpness=2.0)
    path = tmp_path / "oof.csv"
    lines = ["label," + ",".join(f"p_{c}" for c in CLUSTERS)]
    lines += [
        f"{y}," + ",".join(f"{p:.6f}" for p in row) for y, row in zip(labels, proba, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    base = tmp_path / "base.toml"
    base.write_text(POLICY.to_toml())
    report = tmp_path / "r.json"
    argv = ["tune-policy", "--predictions", str(path), "--base-policy", str(base)]
    argv += ["--on", ON.isoformat(), "--bootstrap", "0", "--out", str(tmp_path / "p.toml")]
    assert main([*argv, "--review-budget", "0.02", "--report", str(report)]) == 0
    tuning = json.loads(report.read_text())["tuning"]
    assert tuning["targets"]["review_budget"] == 0.02
    assert tuning["selection"]["review"]["budget_binding"]
    assert "review share <= 0.02" in (tmp_path / "p.toml").read_text()
    assert dt.date.fromisoformat(ON.isoformat()) == ON
