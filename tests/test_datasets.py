"""Hand labels: they override the taxonomy only for the title they were read for."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from akarclf.training.datasets import load_hand_labels, load_training_data, title_key
from tests.test_training import data_dir  # noqa: F401  (module-scoped fixture)


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "title_key", "label", "origin", "note"])
        writer.writerows(rows)
    return path


def test_title_key_ignores_marketplace_noise_but_not_words() -> None:
    assert title_key("Kopi Bubuk [COD]") == title_key("kopi bubuk")
    assert title_key("kopi bubuk") != title_key("kopi biji")
    assert len(title_key("x")) == 12


def test_packaged_hand_labels_load() -> None:
    labels = load_hand_labels()
    assert len(labels) >= 400
    assert {label for label, _ in labels.values()} <= {
        "textile_fashion",
        "culinary",
        "crafts",
        "other",
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["f:2", "abc", "shoes", "x", ""]], "bad hand label"),
        ([["", "abc", "other", "x", ""]], "bad hand label"),
        ([["f:2", "", "other", "x", ""]], "bad hand label"),
        ([["f:2", "abc", "other", "x", ""], ["f:2", "abc", "crafts", "x", ""]], "two different"),
    ],
)
def test_malformed_hand_labels_name_the_line(
    tmp_path: Path, rows: list[list[str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_hand_labels(_write(tmp_path / "h.csv", rows))


def test_hand_label_applies_only_to_its_title(data_dir: Path) -> None:  # noqa: F811
    plain = {e.uid: e for e in load_training_data(data_dir, hand_labels={}).examples}
    target = plain["tokopedia_umkm:2"]
    assert target.label != "crafts"
    matching = {"tokopedia_umkm:2": ("crafts", title_key(target.title))}
    data = load_training_data(data_dir, hand_labels=matching)
    relabelled = {e.uid: e for e in data.examples}["tokopedia_umkm:2"]
    assert (relabelled.label, relabelled.mapped_by, relabelled.taxonomy_label) == (
        "crafts",
        "hand",
        target.label,
    )
    assert (data.hand_labelled, data.hand_changed, data.hand_stale) == (1, 1, 0)
    stale = load_training_data(data_dir, hand_labels={"tokopedia_umkm:2": ("crafts", "0" * 12)})
    assert {e.uid: e for e in stale.examples}["tokopedia_umkm:2"].label == target.label
    assert stale.hand_stale == 1
