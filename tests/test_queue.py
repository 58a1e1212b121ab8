"""The review queue: uncertain, no near-duplicates, spread, a random slice, a fillable sheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from akarclf.cli import main
from akarclf.evaluation.queue import SHEET_COLUMNS, Scored, select, uncertainty
from akarclf.gate.policy import load_policy
from akarclf.training.datasets import title_key
from akarclf.training.reviews import REVIEW_COLUMNS, read_review_file
from tests.handwritten_titles import TITLES


def _item(uid: str, title: str, u: float) -> Scored:
    return Scored(uid, title, "other", (0.1, 0.1, 0.1, 0.7), 0.3, u)


def test_uncertainty_is_highest_at_a_threshold_and_between_two_clusters() -> None:
    policy = load_policy()
    proba = np.array(
        [
            [0.0, 0.0, 0.0, 1.0],  # sure, far from both thresholds
            [0.5, 0.0, 0.0, 0.5],  # a coin toss between two clusters
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    mass = np.array([0.0, 0.5, policy.review_threshold])
    scores = uncertainty(proba, mass, policy)
    assert scores[0] < 0.05
    assert scores[1] > 0.5
    assert scores[2] >= 0.5  # exactly at the review threshold
    assert np.all((scores >= 0) & (scores <= 1))


def test_select_skips_near_duplicates_and_reviewed_listings_and_marks_random() -> None:
    items = [
        _item(f"v:{i}", f"kopi bubuk robusta lampung 200 gram varian {i}", 0.9) for i in range(30)
    ]
    items += [
        _item(f"w:{i}", f"{word} khas daerah", 0.5)
        for i, word in enumerate(
            [
                "tas rotan",
                "kain tenun",
                "keripik pisang",
                "wayang kulit",
                "sepatu kulit",
                "madu hutan",
                "gelang perak",
                "piring bambu",
                "jaket denim",
                "sambal roa",
            ]
        )
    ]
    items.append(_item("x:1", "patung kayu ukir", 0.99))
    items.append(_item("x:2", "patung kayu ukir", 0.98))  # same words: a near-duplicate of x:1
    picks = select(items, 10, seed=1, random_share=0.2, exclude={"x:2"})
    uids = [p.item.uid for p in picks]
    assert len(uids) == 10 == len(set(uids))
    assert "x:1" not in uids and "x:2" not in uids  # reviewed, with its near-duplicate
    assert sum(p.reason == "random" for p in picks) == 2
    queued = [p for p in picks if p.reason != "random"]
    assert sum(p.item.uid.startswith("v:") for p in queued) <= 1  # one per duplicate group
    assert {p.reason for p in queued} <= {"uncertain", "diverse"}
    assert select(items, 10, seed=1, random_share=0.2, exclude={"x:2"}) == picks  # seeded
    by_key = select(items, 5, random_share=0.0, exclude_keys={title_key("patung kayu ukir")})
    assert all(not p.item.uid.startswith("x:") for p in by_key)


def test_select_rejects_bad_arguments() -> None:
    items = [_item("a", "kopi", 0.5)]
    with pytest.raises(ValueError, match="at least 1"):
        select(items, 0)
    with pytest.raises(ValueError, match="random share"):
        select(items, 1, random_share=1.5)


def _catalogue(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title"])
        for i, (title, _) in enumerate(TITLES):
            writer.writerow([f"L{i:04d}", title])
        writer.writerow(["L9999", ""])  # not scorable: reported, not queued
    return path


def test_queue_command_writes_a_sheet_that_becomes_a_review_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = _catalogue(tmp_path / "catalogue.csv")
    sheet = tmp_path / "sheet.csv"
    assert main(["queue", str(catalogue), "-o", str(sheet), "--size", "20", "--seed", "3"]) == 0
    assert "1 records not scored" in capsys.readouterr().err
    with sheet.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == SHEET_COLUMNS
    assert len(rows) == 20 and sum(r["reason"] == "random" for r in rows) == 2
    titles = dict(TITLES)
    for row in rows:
        assert row["title"] in titles and row["uid"].startswith("L")
        assert row["title_key"] == title_key(row["title"])
        assert sum(float(row[c]) for c in SHEET_COLUMNS if c.startswith("p_")) == pytest.approx(
            1, abs=1e-3
        )
        assert row["label"] == row["reviewer"] == row["reviewed_at"] == row["note"] == ""
    assert any(row["evidence"] for row in rows)
    # Filled in, the sheet is a review file; its listings are then never queued again.
    for row in rows:
        row.update(label="other", reviewer="ayu", reviewed_at="2026-12-02", round="queue-1")
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    assert len(read_review_file(sheet)) == 20 and set(REVIEW_COLUMNS) <= set(SHEET_COLUMNS)
    again = tmp_path / "again.csv"
    assert main(["queue", str(catalogue), "-o", str(again), "--size", "20"]) == 0
    with again.open(encoding="utf-8") as handle:
        second = {r["uid"] for r in csv.DictReader(handle)}
    assert (
        main(["queue", str(catalogue), "-o", str(again), "--size", "20", "--exclude", str(sheet)])
        == 0
    )
    with again.open(encoding="utf-8") as handle:
        excluded = {r["uid"] for r in csv.DictReader(handle)}
    assert second & {r["uid"] for r in rows}
    assert not excluded & {r["uid"] for r in rows}


def test_queue_reads_jsonl_and_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n".join(json.dumps({"sku": f"s{i}", "name": t}) for i, (t, _) in enumerate(TITLES[:30])),
        encoding="utf-8",
    )
    sheet = tmp_path / "s.csv"
    assert (
        main(
            [
                "queue",
                str(path),
                "-o",
                str(sheet),
                "--size",
                "5",
                "--title-col",
                "name",
                "--id-col",
                "sku",
            ]
        )
        == 0
    )
    with sheet.open(encoding="utf-8") as handle:
        assert all(r["uid"].startswith("s") for r in csv.DictReader(handle))
    assert main(["queue", str(path), "-o", str(sheet), "--size", "5"]) == 1
