"""Threshold tuning, the gate report, and the ``tune-policy`` command.

All data here is synthetic (probabilities drawn from seeded Dirichlet distributions, titles
made up), so the expected thresholds can be worked out by hand.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akarclf.cli import tune_policy
from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.evaluation.tuning import (
    TuningError,
    default_min_support,
    format_report,
    gate_report,
    readable_threshold,
    select_block_threshold,
    select_review_threshold,
    tune_thresholds,
)
from akarclf.gate.decision import protected_mass
from akarclf.gate.policy import Policy, load_policy

ON = dt.date(2026, 1, 1)
POLICY = Policy("tune-test", "0", {c: dt.date(2021, 8, 1) for c in PROTECTABLE_CLUSTERS}, 0.9, 0.5)


def synthetic(n: int, seed: int, sharpness: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (CLUSTERS order) and labels from a seeded, imperfect 'model'."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array(CLUSTERS), size=n, p=[0.2, 0.07, 0.05, 0.68])
    proba = np.empty((n, len(CLUSTERS)))
    for i, label in enumerate(labels):
        alpha = np.full(len(CLUSTERS), 0.4)
        alpha[CLUSTERS.index(label)] = sharpness
        proba[i] = rng.dirichlet(alpha)
    return proba, labels


def mass_table(masses: list[float], truth: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(masses), np.array(truth)


# --- the block rule ------------------------------------------------------------------------------

HAND = mass_table(
    [0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.85, 0.80, 0.70],
    [True, True, False, True, True, True, True, False, False],
)
# precision at each cut: 1, 1, 2/3, 3/4, 4/5, 5/6, 6/7, 6/8, 6/9


def test_block_rule_every_higher_cut_must_hold() -> None:
    cut, lower, details = select_block_threshold(*HAND, target=0.8, min_support=1)
    # 0.97 fails (2/3), so no lower cut may be chosen even though 0.85 reaches 6/7.
    assert (cut, lower) == (0.98, 0.97)
    assert details["blocked"] == 2 and details["precision"] == 1.0


def test_block_rule_ignores_cuts_with_too_little_support() -> None:
    cut, lower, details = select_block_threshold(*HAND, target=0.8, min_support=5)
    # Cuts blocking < 5 listings (0.97: 2/3, 0.96: 3/4) are not checked; 0.80 (6/8) fails.
    assert (cut, lower) == (0.85, 0.80)
    assert details["precision"] == pytest.approx(6 / 7)


def test_noisy_dip_does_not_give_a_too_low_threshold() -> None:
    masses = [0.95] * 10 + [0.6] * 3 + [0.5] * 6
    truth = [True] * 10 + [False] * 3 + [True] * 6
    # Precision 1.0 down to 0.95, 10/13 = 0.77 at 0.6, back to 16/19 = 0.84 at 0.5: a rule that
    # took the lowest passing cut would block at 0.5, through the failing 0.6.
    cut, _lower, _ = select_block_threshold(*mass_table(masses, truth), 0.8, min_support=1)
    assert cut == 0.95


def test_block_rule_without_any_passing_cut_is_an_error() -> None:
    masses, truth = mass_table([0.9, 0.8, 0.7], [False, True, False])
    with pytest.raises(TuningError, match=r"no block threshold reaches block precision 0.99"):
        select_block_threshold(masses, truth, 0.99, min_support=1)


@pytest.mark.parametrize(("target", "support"), [(0.99, 100), (0.95, 20), (0.5, 2), (1.0, 1)])
def test_default_min_support(target: float, support: int) -> None:
    assert default_min_support(target) == support


# --- the review rule -----------------------------------------------------------------------------


def test_review_rule_is_the_highest_cut_meeting_recall() -> None:
    masses = np.array([0.9, 0.8, 0.75, 0.7, 0.65, 0.6, 0.1, 0.05])
    truth = np.array([True, True, False, True, False, True, True, False])
    cut, lower, details = select_review_threshold(masses, truth, target=0.8)
    # 5 protected listings, 4 needed: the 4th highest protected mass is 0.6.
    assert (cut, lower) == (0.6, 0.1)
    assert details["recall"] == 0.8


def test_review_rule_without_protected_listings_is_an_error() -> None:
    with pytest.raises(TuningError, match="no protected listing"):
        select_review_threshold(np.array([0.5]), np.array([False]), 0.99)


@given(
    st.floats(0.0, 1.0),
    st.one_of(st.just(-math.inf), st.floats(-1.0, 1.0)),
)
def test_readable_threshold_stays_in_its_gap(cut: float, lower: float) -> None:
    if lower >= cut:
        lower = -math.inf
    value = readable_threshold(cut, lower)
    assert lower < value <= cut


@pytest.mark.parametrize(
    ("cut", "lower", "expected"),
    [
        (0.6837190000000001, 0.5, 0.683),
        (0.68372, 0.6837, 0.68372),
        (0.5, -math.inf, 0.5),
        (1.0, 0.2, 1.0),
    ],
)
def test_readable_threshold_examples(cut: float, lower: float, expected: float) -> None:
    assert readable_threshold(cut, lower) == expected


# --- tune_thresholds -----------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    st.integers(0, 10_000),
    st.integers(150, 600),
    st.sampled_from([0.8, 0.9, 0.95]),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_tuned_thresholds_meet_targets_and_are_extreme(
    seed: int, n: int, precision: float, recall: float
) -> None:
    proba, labels = synthetic(n, seed)
    result = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=POLICY,
        on=ON,
        block_precision=precision,
        protected_recall=recall,
        n_bootstrap=0,
        min_support=10,
    )
    policy, metrics = result.policy, result.report["metrics"]
    assert policy.review_threshold <= policy.block_threshold
    assert metrics["protected_recall"]["value"] >= recall
    if result.report["status"] == "block_precision_not_met":
        assert policy.block_threshold == 1.0  # a weak synthetic model: nothing blocked
        return
    assert metrics["block_precision"]["value"] >= precision
    mass = protected_mass(proba, CLUSTERS, PROTECTABLE_CLUSTERS)
    truth = np.isin(labels, PROTECTABLE_CLUSTERS)
    # Lowest: blocking from the next lower observed mass would miss the precision target.
    below = mass[mass < policy.block_threshold]
    if len(below):
        blocked = mass >= below.max()
        assert truth[blocked].mean() < precision
    # Highest: reviewing only from the next higher protected mass would miss the recall target.
    if policy.review_threshold < policy.block_threshold:
        above = mass[truth & (mass > policy.provenance["review_cut"])]
        assert np.mean(mass[truth] >= above.min()) < recall


def test_tuned_policy_keeps_the_base_and_records_provenance() -> None:
    proba, labels = synthetic(800, seed=3)
    base = load_policy(Path(__file__).parent / "fixtures" / "policy_staggered.toml")
    result = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=base,
        on=ON,
        block_precision=0.95,
        protected_recall=0.95,
        n_bootstrap=50,
        seed=1,
        version="9.9",
        provenance={"data_file": "x.csv"},
    )
    tuned = result.policy
    assert tuned.label == "test-staggered@9.9"
    assert tuned.closures == base.closures
    assert (tuned.unknown_seller, tuned.empty_title) == (base.unknown_seller, base.empty_title)
    assert (tuned.block_threshold, tuned.review_threshold) != (0.8, 0.4)
    record = tuned.provenance
    assert record["data_file"] == "x.csv"
    assert record["block_precision_target"] == 0.95
    assert record["decision_date"] == ON
    assert record["base_policy"] == base.label
    assert record["block_cut"] >= tuned.block_threshold
    report = result.report
    assert report["policy"]["thresholds"] == {
        "block": tuned.block_threshold,
        "review": tuned.review_threshold,
    }
    assert report["tuning"]["provenance"]["decision_date"] == "2026-01-01"
    boot = report["tuning"]["threshold_bootstrap"]
    low, high = boot["block_ci95"]
    assert low <= high and boot["replicates"] == 50
    json.dumps(report, allow_nan=False)  # JSON-ready


def test_blank_titles_do_not_move_the_thresholds() -> None:
    proba, labels = synthetic(600, seed=5)
    kwargs: dict[str, Any] = {"policy": POLICY, "on": ON, "n_bootstrap": 0, "min_support": 10}
    kwargs.update(block_precision=0.95, protected_recall=0.95)
    plain = tune_thresholds(proba, CLUSTERS, labels, **kwargs).policy
    # Confident 'textile_fashion' predictions of 'other' listings, but their titles are blank.
    noise = np.tile([[1.0, 0.0, 0.0, 0.0]], (30, 1))
    blank = np.r_[np.zeros(600, bool), np.ones(30, bool)]
    noisy = tune_thresholds(
        np.r_[proba, noise], CLUSTERS, np.r_[labels, ["other"] * 30], blank=blank, **kwargs
    )
    assert (noisy.policy.block_threshold, noisy.policy.review_threshold) == (
        plain.block_threshold,
        plain.review_threshold,
    )
    assert noisy.report["n_blank_titles"] == 30


def test_unreachable_precision_blocks_nothing_and_undefined_targets_are_errors() -> None:
    # A useless model whose most confident 'protected' listing is not protected: no cut up to
    # 100 blocked listings can reach 0.99, and beyond that the labels are a coin toss.
    mass = np.linspace(0.01, 0.99, 300)
    proba = np.c_[mass, np.zeros((300, 2)), 1 - mass]
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(300) < 0.5, "textile_fashion", "other")
    labels[-1] = "other"
    result = tune_thresholds(
        proba,
        CLUSTERS,
        labels,
        policy=POLICY,
        on=ON,
        n_bootstrap=20,
        block_precision=0.99,
        protected_recall=0.99,
    )
    # Nothing is blocked automatically; the review band still catches protected listings.
    assert result.policy.block_threshold == 1.0
    assert result.policy.provenance["status"] == "block_precision_not_met"
    assert "block_cut" not in result.policy.provenance
    assert result.report["status"] == "block_precision_not_met"
    assert result.report["counts"]["block"] == 0
    assert result.report["metrics"]["protected_recall"]["value"] >= 0.99
    assert "lower --block-precision" in result.report["tuning"]["selection"]["block"]["reason"]
    # Most resamples keep the confidently wrong top listing and cannot block either.
    assert result.report["tuning"]["threshold_bootstrap"]["block_precision_unmet"] >= 15
    assert "WARNING: block precision target not met" in format_report(result.report)
    with pytest.raises(TuningError, match="protects no cluster on 2020-01-01"):
        tune_thresholds(proba, CLUSTERS, labels, policy=POLICY, on="2020-01-01")
    with pytest.raises(TuningError, match="no protected listing"):
        tune_thresholds(
            proba, CLUSTERS, ["other"] * 300, policy=POLICY, on=ON, block_precision=0.01
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_precision": 1.2}, "block precision target must be within (0, 1], got 1.2"),
        ({"protected_recall": 0.0}, "protected recall target must be within (0, 1], got 0.0"),
        ({"labels": ["other", "fashion", "other"]}, "label at row 1 is 'fashion', not a cluster"),
        ({"labels": ["other"]}, "labels have shape (1,), expected (3,)"),
        ({"min_support": 0}, "min_support must be >= 1"),
        ({"blank": np.array([1, 0, 0])}, "blank must be a boolean array of shape (3,)"),
    ],
)
def test_tuning_input_errors(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "proba": np.eye(4)[:3],
        "classes": CLUSTERS,
        "labels": ["textile_fashion", "culinary", "crafts"],
        "policy": POLICY,
        "on": ON,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        tune_thresholds(**arguments)


# --- gate_report ---------------------------------------------------------------------------------


def test_gate_report_counts_and_metrics_by_hand() -> None:
    policy = POLICY.replace(block_threshold=0.8, review_threshold=0.5)
    # CLUSTERS order: textile_fashion, culinary, crafts, other. Masses: .9 .9 .6 .6 .2 .95 .1
    proba = np.array(
        [
            [0.9, 0, 0, 0.1],
            [0, 0.5, 0.4, 0.1],
            [0.6, 0, 0, 0.4],
            [0, 0, 0.6, 0.4],
            [0.2, 0, 0, 0.8],
            [0.95, 0, 0, 0.05],
            [0.1, 0, 0, 0.9],
        ]
    )
    labels = ["textile_fashion", "other", "textile_fashion", "other", "crafts", "other", "other"]
    blank = np.array([False] * 6 + [True])  # the last goes to review as an empty title
    report = gate_report(proba, CLUSTERS, labels, policy, ON, blank=blank, n_bootstrap=200)
    assert report["counts"] == {"block": 3, "review": 3, "allow": 1}
    assert (report["n"], report["n_protected"], report["n_blank_titles"]) == (7, 3, 1)
    metrics = report["metrics"]
    assert metrics["block_precision"]["value"] == pytest.approx(1 / 3)
    assert metrics["protected_recall"]["value"] == pytest.approx(2 / 3)
    assert metrics["protected_block_recall"]["value"] == pytest.approx(1 / 3)
    assert metrics["unprotected_block_rate"]["value"] == pytest.approx(2 / 4)
    assert metrics["review_rate"]["value"] == pytest.approx(3 / 7)
    assert metrics["allow_rate"]["value"] == pytest.approx(1 / 7)
    assert report["per_cluster"]["crafts"] == {
        "n": 1,
        "protected": True,
        "block": 0,
        "review": 0,
        "allow": 1,
        "block_or_review_rate": report["per_cluster"]["crafts"]["block_or_review_rate"],
    }
    for metric in metrics.values():
        low, high = metric["ci95"]
        assert low <= metric["value"] <= high
    assert report["policy"]["label"] == "tune-test@0"
    assert report["protected_clusters"] == list(PROTECTABLE_CLUSTERS)


def test_gate_report_bootstrap_is_seeded_and_optional() -> None:
    proba, labels = synthetic(300, seed=9)
    first = gate_report(proba, CLUSTERS, labels, POLICY, ON, n_bootstrap=100, seed=4)
    again = gate_report(proba, CLUSTERS, labels, POLICY, ON, n_bootstrap=100, seed=4)
    other = gate_report(proba, CLUSTERS, labels, POLICY, ON, n_bootstrap=100, seed=5)
    assert first == again
    assert first["metrics"] != other["metrics"]
    none = gate_report(proba, CLUSTERS, labels, POLICY, ON, n_bootstrap=0)
    assert none["metrics"]["block_precision"]["ci95"] == [None, None]


def test_gate_report_with_nothing_blocked_has_no_precision() -> None:
    report = gate_report(np.array([[0, 0, 0, 1.0]]), CLUSTERS, ["other"], POLICY, ON)
    assert report["metrics"]["block_precision"] == {
        "value": None,
        "ci95": [None, None],
        "meaning": "share of blocked listings that are truly protected",
    }


# --- the command ---------------------------------------------------------------------------------


def write_predictions(path: Path, proba: np.ndarray, labels: np.ndarray) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "label", *(f"p_{c}" for c in CLUSTERS)])
        for i, (row, label) in enumerate(zip(proba, labels, strict=True)):
            writer.writerow([f"produk contoh {i}", label, *(f"{p:.6f}" for p in row)])
    return path


def run_command(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    tune_policy.register(parser.add_subparsers())
    args = parser.parse_args(["tune-policy", *argv])
    return int(args.func(args))


def test_command_writes_policy_and_matching_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_predictions(tmp_path / "oof.csv", *synthetic(1500, seed=11))
    out, report_path = tmp_path / "policy.toml", tmp_path / "report.json"
    status = run_command(
        "--predictions",
        str(data),
        "--out",
        str(out),
        "--report",
        str(report_path),
        "--on",
        "2026-01-01",
        "--block-precision",
        "0.97",
        "--protected-recall",
        "0.98",
        "--bootstrap",
        "100",
        "--policy-version",
        "2026.11.1",
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "block_precision" in printed and "protected_recall" in printed
    policy = Policy.from_toml(out)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert policy.label == "akar-default@2026.11.1"
    assert report["policy"]["thresholds"] == {
        "block": policy.block_threshold,
        "review": policy.review_threshold,
    }
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    assert policy.provenance["data_sha256"] == sha == report["tuning"]["provenance"]["data_sha256"]
    assert policy.provenance["block_precision_target"] == 0.97
    assert policy.provenance["decision_date"] == ON
    assert report["status"] == "tuned"
    assert report["metrics"]["block_precision"]["value"] >= 0.97
    assert out.read_text(encoding="utf-8").startswith("# Restriction policy akar-default@2026")


def test_command_runs_a_model_on_labelled_titles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proba, labels = synthetic(400, seed=12)
    order = ["crafts", "culinary", "other", "textile_fashion"]
    titles = [f"judul {i}" for i in range(len(labels))]
    lookup = dict(zip(titles, proba[:, [CLUSTERS.index(c) for c in order]], strict=True))

    class Model:
        classes_ = np.array(order)
        model_version = "stub@7"

        def predict_proba(self, batch: list[str]) -> np.ndarray:
            return np.array([lookup[t] for t in batch])

    monkeypatch.setattr(tune_policy, "_load_model", lambda path: Model())
    data = tmp_path / "labelled.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hid", "title", "label"])
        writer.writerows(
            [i, t, label] for i, (t, label) in enumerate(zip(titles, labels, strict=True))
        )
    out = tmp_path / "p.toml"
    assert (
        run_command(
            "--model",
            "m.zip",
            "--data",
            str(data),
            "--on",
            "2026-01-01",
            "--bootstrap",
            "0",
            "--block-precision",
            "0.95",
            "--protected-recall",
            "0.95",
            "--out",
            str(out),
        )
        == 0
    )
    assert "400 labelled listings" in capsys.readouterr().out
    policy = Policy.from_toml(out)
    assert policy.provenance["model_version"] == "stub@7"
    assert policy.provenance["input"] == "model"


def test_command_reads_predictions_without_titles(tmp_path: Path) -> None:
    """The out-of-fold file of ``akarclf train`` has ids, labels and probabilities only."""
    proba, labels = synthetic(600, seed=13)
    path = tmp_path / "oof.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hid", "label", *(f"p_{c}" for c in CLUSTERS)])
        for i, (row, label) in enumerate(zip(proba, labels, strict=True)):
            writer.writerow([f"h{i:05d}", label, *(f"{p:.6f}" for p in row)])
    out, report_path = tmp_path / "p.toml", tmp_path / "r.json"
    args = ["--predictions", str(path), "--out", str(out), "--report", str(report_path)]
    args += ["--on", "2026-01-01", "--bootstrap", "0", "--block-precision", "0.95"]
    assert run_command(*args) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["n_blank_titles"] == 0
    assert Policy.from_toml(out).provenance["rows_used"] == 600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title,label,p_textile_fashion\nx,other,0.1\n", "missing column(s) p_culinary"),
        (
            "title,label,p_textile_fashion,p_culinary,p_crafts,p_other\n"
            "a,other,0.1,0.1,0.1,0.7\nb,other,0.1,abc,0.1,0.7\n",
            "line 3: p_culinary = 'abc' is not a probability",
        ),
        (
            "title,label,p_textile_fashion,p_culinary,p_crafts,p_other\na,food,0.1,0.1,0.1,0.7\n",
            "line 2: label 'food' is not a cluster",
        ),
        ("title,label,p_textile_fashion,p_culinary,p_crafts,p_other\n", "no data rows"),
        ("", "empty file"),
    ],
)
def test_command_input_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        run_command("--predictions", str(path))


def test_command_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--model needs --data"):
        run_command("--model", "m.zip")
    with pytest.raises(ValueError, match="--bootstrap must be >= 0"):
        run_command("--predictions", "x.csv", "--bootstrap", "-1")
