"""Independent reads of the held-out hand labels: the fixture's shape and consistency with the
shipped hand labels, and the agreement figures the model card reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from akarclf.clusters import CLUSTERS
from akarclf.training.datasets import load_hand_labels, load_training_data
from akarclf.training.reader_agreement import (
    READ_COLUMNS,
    AgreementError,
    adjudicated,
    cohen_kappa,
    read_reads,
    summarise_agreement,
)
from akarclf.training.splits import group_split

FIXTURE = Path(__file__).resolve().parents[1] / "akarclf" / "training" / "data" / "second_read.csv"
HAND_LABELS = (
    Path(__file__).resolve().parents[1] / "akarclf" / "training" / "data" / "hand_labels.csv"
)
ADJUDICATED_ORIGIN = "second-read-2026-11-22"


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(READ_COLUMNS)
        writer.writerows(rows)
    return path


def test_fixture_holds_ids_and_clusters_only() -> None:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == READ_COLUMNS
        rows = list(reader)
    assert len(rows) >= 600
    for row in rows:
        assert row["uid"].rsplit(":", 1)[1].isdigit()
        assert {row["first_read"], row["second_read"]} <= set(CLUSTERS)
        assert row["third_read"] in {"", *CLUSTERS}


def test_shipped_hand_labels_are_the_adjudicated_reads() -> None:
    hand = load_hand_labels()
    rows = read_reads(FIXTURE)
    wrong = [r["uid"] for r in rows if hand[r["uid"]][0] != adjudicated(r)]
    assert wrong == []


#: Origins of the hand labels that were read a second time on the training side (the rest,
#: read where a model disagreed with the label, were not: that read was not blind).
SECOND_READ_TRAIN_ORIGINS = {"craft-read-2026-11-22", "hand-2026-11-22", "label-audit-2026-11-22"}


def test_the_reads_cover_the_hand_labels_they_claim(shared_data: Path) -> None:
    # Every held-out hand label, and on the training side every label of the blind-read
    # origins (labels the adjudication changed carry its origin now).
    split = group_split(load_training_data(shared_data).examples, test_fraction=0.2, seed=0)
    with HAND_LABELS.open(encoding="utf-8", newline="") as handle:
        origin = {r["uid"]: r["origin"] for r in csv.DictReader(handle)}
    read_again = SECOND_READ_TRAIN_ORIGINS | {ADJUDICATED_ORIGIN}
    expected = {e.uid for e in split.test if e.uid in origin} | {
        e.uid for e in split.train if origin.get(e.uid) in read_again
    }
    assert {r["uid"] for r in read_reads(FIXTURE)} == expected


def test_adjudication_is_the_majority_of_three() -> None:
    def row(a: str, b: str, c: str) -> dict[str, str]:
        return {"first_read": a, "second_read": b, "third_read": c}

    assert adjudicated(row("crafts", "crafts", "")) == "crafts"
    assert adjudicated(row("crafts", "other", "other")) == "other"
    assert adjudicated(row("crafts", "other", "crafts")) == "crafts"
    assert adjudicated(row("crafts", "other", "culinary")) == "culinary"


def test_kappa_of_known_tables() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    # Agreement 0.5 where chance gives 0.5: kappa 0.
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    # Observed 0.8, expected 0.6*0.6 + 0.4*0.4 = 0.52: (0.8 - 0.52) / 0.48.
    first = ["a", "a", "a", "b", "b"] * 2
    second = ["a", "a", "b", "b", "a"] * 2
    assert cohen_kappa(first, second) == pytest.approx((0.6 - 0.52) / 0.48)


def test_summary_counts_and_f1(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "reads.csv",
        [
            ("x:1", "crafts", "crafts", ""),
            ("x:2", "crafts", "other", "other"),
            ("x:3", "other", "crafts", "other"),
            ("x:4", "other", "other", ""),
        ],
    )
    summary = summarise_agreement(path)["sides"]["all"]
    assert summary["rows"] == 4 and summary["disagreements"] == 2
    assert summary["agreement"] == 0.5
    crafts = summary["per_cluster"]["crafts"]
    assert (crafts["first"], crafts["second"], crafts["both"]) == (2, 2, 1)
    assert crafts["f1"] == 0.5
    # Majorities: crafts, other, other, other; each reader named one extra crafts title.
    assert crafts["first_vs_adjudicated_f1"] == pytest.approx(2 / 3)
    assert crafts["second_vs_adjudicated_f1"] == pytest.approx(2 / 3)
    assert summary["per_cluster"]["other"]["first_vs_adjudicated_f1"] == pytest.approx(0.8)
    assert summary["per_cluster"]["culinary"]["f1"] is None
    assert summary["changed_by_adjudication"] == [
        {"first_read": "crafts", "adjudicated": "other", "count": 1}
    ]
    sides = summarise_agreement(path, {"x:1": "train", "x:2": "train", "x:3": "test"})["sides"]
    assert {side: part["rows"] for side, part in sides.items()} == {
        "test": 1,
        "train": 2,
        "unknown": 1,
    }
    assert sides["train"]["agreement"] == 0.5 and sides["test"]["agreement"] == 0.0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("x:1", "crafts", "other", "")], "reads.csv:2: the first two reads differ"),
        ([("x:1", "craft", "craft", "")], "reads.csv:2: first_read 'craft' is not a cluster"),
        ([("x:1", "other", "other", ""), ("x:1", "other", "other", "")], "repeats line 2"),
        ([("", "other", "other", "")], "reads.csv:2: empty uid"),
        ([("x:1", "other", "", "")], "reads.csv:2: second_read is empty"),
        ([], "no rows"),
    ],
)
def test_malformed_reads_name_the_line(
    tmp_path: Path, rows: list[tuple[str, ...]], message: str
) -> None:
    path = _write(tmp_path / "reads.csv", rows)
    with pytest.raises(AgreementError, match=message):
        read_reads(path)
