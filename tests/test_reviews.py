"""Reviewer labels: checked reading, majority per listing, training override, card provenance."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from akarclf.cli import main
from akarclf.training.datasets import load_training_data, title_key
from akarclf.training.reviews import (
    REVIEW_COLUMNS,
    ReviewError,
    load_reviews,
    read_reviews,
    reader_agreement,
)
from tests.test_training import FAST, data_dir  # noqa: F401  (module-scoped fixture)

KEY = title_key("Minuman Soda Jeruk Kaleng 330ml isi 6")
STATUE = title_key("Patung Kayu Ukir Kuda")


def _write(path: Path, rows: list[list[str]], header: tuple[str, ...] = REVIEW_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(
    uid: str,
    label: str,
    reviewer: str,
    key: str = KEY,
    when: str = "2026-12-02",
    round_: str = "queue-1",
) -> list[str]:
    return [uid, key, label, reviewer, when, round_, ""]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (["", KEY, "culinary", "ayu", "2026-12-02", "r", ""], "uid"),
        (["a:2", "XYZ", "culinary", "ayu", "2026-12-02", "r", ""], "title_key"),
        (["a:2", KEY, "food", "ayu", "2026-12-02", "r", ""], "label"),
        (["a:2", KEY, "culinary", "", "2026-12-02", "r", ""], "reviewer"),
        (["a:2", KEY, "culinary", "ayu", "2 Dec 2026", "r", ""], "reviewed_at"),
        (["a:2", KEY, "culinary", "ayu", "2026-12-02", "", ""], "round"),
    ],
)
def test_a_bad_row_is_named_by_file_line_and_field(
    tmp_path: Path, row: list[str], field: str
) -> None:
    path = _write(tmp_path / "r.csv", [_read("a:1", "other", "ayu"), row])
    with pytest.raises(ReviewError, match=rf"r\.csv:3: field {field}"):
        read_reviews([path])


def test_missing_column_same_reader_twice_and_empty_file_are_errors(tmp_path: Path) -> None:
    short = _write(tmp_path / "short.csv", [["a:1", KEY, "other"]], REVIEW_COLUMNS[:3])
    with pytest.raises(ReviewError, match=r"short\.csv: missing column\(s\) reviewer"):
        read_reviews([short])
    twice = _write(tmp_path / "twice.csv", [_read("a:1", "other", "ayu")] * 2)
    with pytest.raises(ReviewError, match=r"twice\.csv:3: field reviewer: 'ayu' already read"):
        read_reviews([twice])
    with pytest.raises(ReviewError, match=r"empty\.csv: no review rows"):
        read_reviews([_write(tmp_path / "empty.csv", [])])


def test_a_reviewer_reading_again_in_another_round_counts_once(tmp_path: Path) -> None:
    first = _write(
        tmp_path / "r1.csv",
        [
            _read("a:1", "other", "ayu"),
            _read("a:1", "crafts", "budi"),
            _read("a:2", "other", "ayu"),
        ],
    )
    second = _write(
        tmp_path / "r2.csv",
        [
            _read("a:1", "other", "ayu"),
            _read("a:2", "culinary", "ayu"),
            _read("a:2", "other", "budi"),
        ],
    )
    resolved = load_reviews([first, second])
    assert "a:1" in resolved.ties  # ayu counts once: one vote each way
    assert resolved.reviewer_conflicts == ["a:2"]  # ayu said other, then culinary
    assert resolved.labels == {}
    agreement = reader_agreement(resolved.reads)
    assert agreement["listings_read_twice"] == 2  # by two reviewers, each counted once
    assert agreement["third_reader"] == 0  # a second read by ayu is not a third reader


def test_majority_settles_and_ties_and_title_conflicts_are_reported(tmp_path: Path) -> None:
    other_key = title_key("another title")
    rows = [
        _read("a:1", "culinary", "ayu"),
        _read("a:1", "other", "budi"),
        _read("a:1", "culinary", "citra", when="2026-12-03"),
        _read("a:2", "crafts", "ayu"),
        _read("a:2", "other", "budi"),
        _read("a:3", "other", "ayu"),
        _read("a:3", "other", "budi", key=other_key),
        _read("a:4", "textile_fashion", "ayu"),
    ]
    resolved = load_reviews([_write(tmp_path / "r.csv", rows)])
    assert resolved.labels == {"a:1": ("culinary", KEY), "a:4": ("textile_fashion", KEY)}
    assert resolved.ties == ["a:2"]
    assert resolved.title_conflicts == ["a:3"]
    agreement = reader_agreement(resolved.reads)
    assert agreement["listings_read_twice"] == 3
    assert agreement["raw_agreement"] == pytest.approx(1 / 3)
    assert agreement["third_reader"] == 1
    assert agreement["cohen_kappa"] < 0.5


def test_reviews_override_taxonomy_only_for_the_title_read(data_dir: Path) -> None:  # noqa: F811
    reviews = {
        "tokopedia_keywords_2025:2": ("other", KEY),  # taxonomy: culinary
        "tokopedia_keywords_2025:4": ("other", title_key("Kotak Serbaguna Plastik Susun")),
        "shopee_keywords_2023:2": ("crafts", "0" * 12),  # stale: another title
        "nowhere:1": ("other", KEY),
    }
    data = load_training_data(data_dir, reviews=reviews)
    by_uid = {e.uid: e for e in data.examples}
    soda = by_uid["tokopedia_keywords_2025:2"]
    assert (soda.label, soda.mapped_by, soda.taxonomy_label) == ("other", "review", "culinary")
    assert by_uid["tokopedia_keywords_2025:4"].label == "other"  # the taxonomy dropped it
    assert by_uid["shopee_keywords_2023:2"].label == "textile_fashion"
    assert (data.reviewed, data.review_changed) == (2, 2)
    assert data.review_stale == ["shopee_keywords_2023:2"]
    assert data.review_unmatched == ["nowhere:1"]


def test_train_with_reviews_writes_their_provenance_in_the_card(
    data_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    rows = [
        _read("tokopedia_keywords_2025:2", "other", "ayu"),
        _read("tokopedia_keywords_2025:2", "culinary", "budi"),
        _read("tokopedia_keywords_2025:2", "other", "citra", when="2026-12-03"),
        _read("qlapa_handmade_2016:2", "crafts", "ayu", key=STATUE, round_="random-1"),
        _read("qlapa_handmade_2016:2", "crafts", "budi", key=STATUE, round_="random-1"),
    ]
    path = _write(tmp_path / "reviews.csv", rows)
    out = tmp_path / "m.akarclf"
    status = main(
        [
            "train",
            "--data",
            str(data_dir),
            "--out",
            str(out),
            "--no-ablation",
            "--jobs",
            "1",
            "--params",
            json.dumps(FAST),
            "--reviews",
            str(path),
        ]
    )
    assert status == 0
    card = json.loads(out.with_suffix(".card.json").read_text())
    reviews = card["reviews"]
    assert reviews["rounds"] == {"queue-1": 3, "random-1": 2}
    assert (reviews["reads"], reviews["settled"], reviews["applied"]) == (5, 2, 2)
    assert reviews["agreement"]["listings_read_twice"] == 2
    assert reviews["agreement"]["raw_agreement"] == pytest.approx(0.5)
    assert reviews["agreement"]["third_reader"] == 1
    assert card["data"]["rows_read"]["qlapa_handmade_2016"] == 1
    markdown = out.with_suffix(".md").read_text()
    assert "## Reviewer labels" in markdown and "1 went to a third reader" in markdown


def test_train_rejects_a_bad_review_file_naming_it(data_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    path = _write(tmp_path / "bad.csv", [_read("a:1", "snacks", "ayu")])
    status = main(
        [
            "train",
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path / "m.akarclf"),
            "--no-ablation",
            "--jobs",
            "1",
            "--reviews",
            str(path),
        ]
    )
    assert status == 1


def test_a_reviewed_title_wins_its_duplicates_and_always_trains() -> None:
    from akarclf.training.datasets import Example
    from akarclf.training.splits import group_split

    def ex(uid: str, title: str, label: str, by: str = "path") -> Example:
        return Example(uid, title, label, "s", "", by)

    examples = [
        ex(f"s:{i}", f"kaos polos warna {i} lengan pendek", "textile_fashion") for i in range(40)
    ]
    examples += [
        ex("s:100", "air mineral botol 600ml", "other"),
        ex("s:101", "Air Mineral Botol 600ml", "culinary", "review"),
        ex("s:102", "air mineral botol 600ml!", "textile_fashion"),
    ]
    for seed in range(5):
        split = group_split(examples, test_fraction=0.5, seed=seed)
        water = [e for e in split.train + split.test if "mineral" in e.title.lower()]
        assert [(e.uid, e.label) for e in water] == [("s:101", "culinary")]
        assert water[0] in split.train
        assert split.conflicting_removed == 0
