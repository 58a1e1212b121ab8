"""Targets checked against a model card: verdicts, and the shipped card's own table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from akarclf.evaluation.targets import DEFAULT_TARGETS, Target, check_targets

SHIPPED_CARD = Path(__file__).resolve().parents[1] / "models" / "akarclf-default.card.json"


def card_with(value: float | None, interval: list[float | None] | None) -> dict[str, object]:
    figure: dict[str, object] = {} if value is None else {"value": value}
    if interval is not None:
        figure["ci"] = interval
    return {"m": figure}


@pytest.mark.parametrize(
    ("at_least", "value", "interval", "verdict"),
    [
        (True, 0.96, [0.955, 0.965], "met"),
        (True, 0.96, [0.94, 0.97], "met, within noise"),
        (True, 0.90, [0.88, 0.92], "missed"),
        (True, 0.94, [0.93, 0.951], "missed, within noise"),
        (False, 0.04, [0.03, 0.045], "met"),
        (False, 0.06, [0.04, 0.07], "missed, within noise"),
        (False, 0.06, [0.055, 0.07], "missed"),
        (False, 0.04, [0.02, 0.05], "met, within noise"),
        (True, 0.95, [0.95, 0.96], "met, within noise"),  # on the bound counts as met
        (False, 0.05, [0.04, 0.05], "met, within noise"),
        (True, 0.96, None, "met"),
        (True, 0.96, [None, None], "met"),
        (True, None, None, "not measured"),
    ],
)
def test_verdicts(
    at_least: bool, value: float | None, interval: list[float | None] | None, verdict: str
) -> None:
    target = Target(
        "data", "figure", at_least, 0.95 if at_least else 0.05, ("m", "value"), ("m", "ci")
    )
    (row,) = check_targets(card_with(value, interval), [target])
    assert row["verdict"] == verdict
    assert row["target"] == (">= 0.95" if at_least else "<= 0.05")
    assert row["bound"] == target.bound


def test_every_default_target_is_measured_in_the_shipped_card() -> None:
    card = json.loads(SHIPPED_CARD.read_text(encoding="utf-8"))
    rows = check_targets(card)
    assert len(rows) == len(DEFAULT_TARGETS)
    assert all(row["verdict"] != "not measured" for row in rows), rows
    # Intervals where the card has them: every classifier F1 and every policy rate.
    assert all(row["ci95"] is not None for row in rows if row["figure"] != "ECE (top label)")


def test_the_shipped_card_carries_the_verdicts_its_figures_give() -> None:
    card = json.loads(SHIPPED_CARD.read_text(encoding="utf-8"))
    assert card["targets"] == check_targets(card)
    markdown = SHIPPED_CARD.with_name("akarclf-default.md").read_text(encoding="utf-8")
    for row in card["targets"]:
        assert f"| {row['data']} | {row['figure']} |" in markdown


def test_the_card_shows_four_decimals_where_three_would_hide_the_side_of_the_bound() -> None:
    from akarclf.training.card import _targets_section

    rows = [
        {"data": "d", "figure": "f", "target": ">= 0.99", "bound": 0.99,
         "value": 0.9918, "ci95": [0.98966, 0.9939], "verdict": "met, within noise"},
        {"data": "d", "figure": "g", "target": ">= 0.90", "bound": 0.90,
         "value": 0.61, "ci95": [0.48, 0.73], "verdict": "missed"},
    ]  # fmt: skip
    table = "\n".join(_targets_section(rows))
    assert "| 0.9918 [0.9897, 0.9939] | met, within noise |" in table
    assert "| 0.610 [0.480, 0.730] | missed |" in table
