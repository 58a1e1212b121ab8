"""The shipped model on mainstream packaged food and drink and its non-food neighbours.

The fixture (``akarclf/training/data/food_fixture.csv``) is written by hand for this project.
The target (issue 13), culinary recall and precision >= 0.95 for the shipped model, is in the
model card's Targets table with its verdict.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from akarclf.model.persistence import load_model
from akarclf.training.datasets import title_key
from akarclf.training.food_fixture import load_food_fixture

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SHIPPED_CARD = Path(__file__).resolve().parents[1] / "models" / "akarclf-default.card.json"


def test_the_fixture_has_enough_food_and_non_food_titles() -> None:
    titles, labels = load_food_fixture()
    counts = Counter(labels)
    assert counts["culinary"] >= 60
    assert len(labels) - counts["culinary"] >= 60
    assert len(set(map(title_key, titles))) == len(titles)


def test_the_fixture_copies_no_title_of_the_data() -> None:
    if not DATA.is_dir():
        pytest.fail(f"the data folder {DATA} is missing (tests read ../shared/data)")
    fixture = {title_key(t) for t in load_food_fixture()[0]}
    for path in sorted(DATA.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            copied = [
                r["title"] for r in csv.DictReader(handle) if title_key(r["title"]) in fixture
            ]
        assert not copied, f"{path.name} holds fixture titles: {copied}"


def test_the_shipped_card_reports_what_the_shipped_model_does_on_the_fixture() -> None:
    """The card's fixture figures (and so its Targets verdict, checked in test_targets) are
    what the shipped model does on this fixture today: not a stale or hand-typed figure."""
    titles, labels = load_food_fixture()
    predicted = list(load_model().predict(titles))
    hits = sum(p == t == "culinary" for p, t in zip(predicted, labels, strict=True))
    recall = hits / labels.count("culinary")
    precision = hits / max(1, predicted.count("culinary"))
    card = json.loads(SHIPPED_CARD.read_text(encoding="utf-8"))
    reported = card["metrics"]["food_fixture"]["per_cluster"]["culinary"]
    assert (recall, precision) == pytest.approx((reported["recall"], reported["precision"]))
