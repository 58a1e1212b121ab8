"""``benchmarks/review_loop.py`` on a small handwritten data folder: sheets, measures, curve."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from akarclf.training.datasets import read_pool, title_key
from akarclf.training.reviews import REVIEW_COLUMNS
from tests.test_training import data_dir  # noqa: F401  (module-scoped fixture)


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "review_loop.py"
    spec = importlib.util.spec_from_file_location("akarclf_review_loop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


loop = _load()


def _sheet(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_queue_rounds_exclude_the_arms_earlier_reviews(
    data_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out, reviews = tmp_path / "rounds", tmp_path / "reviews"
    reviews.mkdir()
    queue = ["queue", "--data", str(data_dir), "--size", "3", "--out", str(out)]
    loop.main([*queue, "--round", "1"])
    first = _sheet(out / "queue_r1.csv")
    assert list(first[0]) == ["uid", "title"] and len(first) == 3  # blind: no model output
    pool = dict(read_pool(data_dir))
    assert all(pool[row["uid"]] == row["title"] for row in first)
    with pytest.raises(SystemExit, match=r"queue_r1\.reviews\.csv"):
        loop.main([*queue, "--round", "2", "--reviews", str(reviews)])
    with (reviews / "queue_r1.reviews.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REVIEW_COLUMNS)
        for row in first:
            writer.writerow(
                [row["uid"], title_key(row["title"]), "other", "ayu", "2026-12-02", "queue-1", ""]
            )
    loop.main([*queue, "--round", "2", "--reviews", str(reviews)])
    second = {row["uid"] for row in _sheet(out / "queue_r2.csv")}
    assert second and not second & {row["uid"] for row in first}
    reasons = _sheet(out / "queue_r2.reasons.csv")
    assert {row["reason"] for row in reasons} <= {"uncertain", "diverse", "random"}


def test_measure_appends_per_arm_and_round_and_curve_draws_them(
    data_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    results = tmp_path / "loop.json"
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    with (reviews / "random_r1.reviews.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REVIEW_COLUMNS)
        key = title_key("Patung Kayu Ukir Kuda")
        writer.writerow(["qlapa_handmade_2016:2", key, "crafts", "ayu", "2026-12-02", "r1", ""])
        writer.writerow(["qlapa_handmade_2016:2", key, "crafts", "budi", "2026-12-02", "r1", ""])
    base = ["measure", "--data", str(data_dir), "--results", str(results), "--jobs", "1"]
    loop.main([*base, "--arm", "none", "--round", "0"])
    loop.main([*base, "--arm", "random", "--round", "1", "--reviews", str(reviews)])
    loop.main([*base, "--arm", "random", "--round", "1", "--reviews", str(reviews)])  # replaces
    entries = json.loads(results.read_text())
    assert [(e["arm"], e["round"]) for e in entries] == [("none", 0), ("random", 1)]
    assert entries[1]["reviewed_listings"] == 1 and entries[0]["reviewed_listings"] == 0
    for entry in entries:
        assert 0 <= entry["gold_oof_macro_f1"] <= 1 and 0 <= entry["review_rate"] <= 1
    with pytest.raises(SystemExit, match="round 0"):
        loop.main([*base, "--arm", "queue", "--round", "0"])
    out = tmp_path / "curve" / "review_loop"
    loop.main(["curve", "--results", str(results), "--out", str(out)])
    table = out.with_suffix(".md").read_text()
    assert "| random | 1 | 1 |" in table and "| none | 0 | 0 |" in table
    assert out.with_suffix(".png").stat().st_size > 0
