"""Training end to end on a small data folder written by the test (handwritten titles)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from akarclf.cli import main
from akarclf.clusters import CLUSTERS
from akarclf.model.persistence import load_model
from akarclf.training.datasets import load_gold, load_training_data
from akarclf.training.pipeline import TrainingConfig, train
from tests.handwritten_titles import TITLES

COLOURS = ["merah", "biru", "hijau", "hitam", "putih", "kuning", "ungu", "coklat muda"]
SLUG = {
    "textile_fashion": "fashion-pria/atasan-pria/kemeja",
    "culinary": "makanan-minuman/kue",
    "crafts": "mainan-hobi/boneka/boneka-rajut",
    "other": "handphone-tablet/aksesoris",
}
FAST = {"calibration_folds": 3, "min_df": 1, "char_ngrams": None}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    umkm = [
        [str(i * 10 + k), f"{colour} {title}", SLUG[label], "q", "Kota"]
        for i, (title, label) in enumerate(TITLES)
        for k, colour in enumerate(COLOURS)
    ]
    _write(
        root / "tokopedia_umkm.csv",
        ["id", "title", "category_path", "source_query", "shop_city"],
        umkm,
    )
    _write(
        root / "tokopedia_electronics.csv",
        ["title", "category_path"],
        [["Speaker Aktif Bluetooth Bass", "Elektronik > Audio > Speaker"]],
    )
    _write(
        root / "lazada_electronics_2019.csv",
        ["id", "title", "search_category", "brand"],
        [["1", "Smart TV 43 Inch", "beli-smart-tv", "X"]],
    )
    _write(
        root / "tokopedia_departments_2025.csv",
        ["id", "title", "department", "shop_city"],
        [["1", "Piyama Anak Katun", "fashion anak", "Kota"]],
    )
    _write(
        root / "bukalapak_products.csv",
        ["id", "title", "category"],
        [["1", "Sepeda Lipat 20 Inch", "Sepeda Lipat"], ["2", "Jersey Sepeda", "Jersey"]],
    )
    _write(
        root / "tokopedia_keywords_2025.csv",
        ["id", "title", "search_keyword", "category"],
        [
            ["1", "Minuman Soda Jeruk Kaleng 330ml isi 6", "minuman", "Soft Drink"],
            ["2", "Vitamin C 1000mg isi 30 tablet", "kesehatan", "Multivitamin"],
            ["3", "Kotak Serbaguna Plastik Susun", "rumah tangga", "Kotak"],
        ],
    )
    _write(
        root / "shopee_keywords_2023.csv",
        ["id", "title", "search_keyword"],
        [
            ["1", "Kaos Polos Lengan Pendek Katun", "Kaos"],
            ["2", "Sablon Plastik Gantungan Kaos", "Kaos"],
            ["3", "Air Mineral Botol 600ml isi 24", "Le Minerale"],
            ["4", "Tutup Galon Air Minum", "Le Minerale"],
            ["5", "Bantal Leher Travel", "Bantal"],
        ],
    )
    _write(
        root / "tokopedia_sample_2025.csv",
        ["id", "title", "category_path"],
        [["1", "Susu UHT Coklat 1 Liter", "Makanan & Minuman/Susu & Olahan Susu/Susu UHT"]],
    )
    _write(root / "qlapa_handmade_2016.csv", ["id", "title"], [["q1", "Patung Kayu Ukir Kuda"]])
    gold = [
        [f"h{i:03d}", "hand", f"{title} edisi spesial", "", label, ""]
        for i, (title, label) in enumerate(TITLES)
    ]
    _write(
        root / "gold_dev.csv", ["hid", "source", "title", "category_path", "label", "note"], gold
    )
    return root


def test_training_data_is_labelled_through_the_taxonomy(data_dir: Path) -> None:
    data = load_training_data(data_dir)
    labels = {e.uid: e.label for e in data.examples}
    assert labels["bukalapak_products:2"] == "other"
    assert labels["bukalapak_products:3"] == "textile_fashion"
    assert labels["tokopedia_departments_2025:2"] == "textile_fashion"
    # The review pool: a leaf or a keyword decides only what it can; the rest is dropped.
    assert labels["tokopedia_keywords_2025:2"] == "culinary"
    assert labels["tokopedia_keywords_2025:3"] == "other"
    assert "tokopedia_keywords_2025:4" not in labels
    assert labels["shopee_keywords_2023:2"] == "textile_fashion"
    assert "shopee_keywords_2023:3" not in labels
    assert labels["shopee_keywords_2023:4"] == "culinary"
    assert labels["shopee_keywords_2023:5"] == "other"
    assert "shopee_keywords_2023:6" not in labels
    assert labels["tokopedia_sample_2025:2"] == "culinary"
    assert data.dropped["qlapa_handmade_2016"] == 1
    assert data.read["tokopedia_umkm"] == len(TITLES) * len(COLOURS)
    assert len(data.fingerprint) == 64


def test_missing_training_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"tokopedia_umkm\.csv"):
        load_training_data(tmp_path)


def test_train_reports_out_of_fold_gold_and_ablation(data_dir: Path) -> None:
    config = TrainingConfig(gold_folds=3, n_jobs=1, params=FAST)
    model, report = train(data_dir, config)
    gold = load_gold(data_dir)
    assert report.gold_oof_proba is not None
    assert report.gold_oof_proba.shape == (len(gold), len(CLUSTERS))
    np.testing.assert_allclose(report.gold_oof_proba.sum(axis=1), 1.0, rtol=1e-6)
    assert len(report.ablation) == 6
    assert {row["word_features"] for row in report.ablation} == {"surface", "stem", "both"}
    assert report.test_proba.shape == (len(report.split.test), len(CLUSTERS))
    assert set(model.classes_) == set(CLUSTERS)


def test_training_is_reproducible(data_dir: Path) -> None:
    config = TrainingConfig(gold_folds=3, n_jobs=1, ablation=False, params=FAST)
    _, first = train(data_dir, config)
    _, second = train(data_dir, config)
    np.testing.assert_allclose(first.test_proba, second.test_proba)
    np.testing.assert_allclose(first.gold_oof_proba, second.gold_oof_proba)


def test_train_command_writes_model_card_and_oof(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "m.akarclf"
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
        ]
    )
    assert status == 0
    model = load_model(out)
    assert model.predict(["Kopi Bubuk Arabika Gayo 200 gram"])[0] == "culinary"
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["model"]["model_version"] == model.model_version
    assert set(card["metrics"]) == {"test", "gold_out_of_fold", "food_fixture"}
    assert card["metrics"]["gold_out_of_fold"]["intervals"]["replicates"] == 1000
    verdicts = {(row["data"], row["figure"]): row["verdict"] for row in card["targets"]}
    assert verdicts[("gold_dev (out-of-fold)", "macro-F1")] != "not measured"
    assert verdicts[("mainstream food fixture", "recall culinary")] != "not measured"
    assert verdicts[("gold_dev (out-of-fold, tuning data)", "policy review rate")] == (
        "not measured"  # no policy tuned
    )
    markdown = out.with_suffix(".md").read_text()
    assert "gold_dev (out-of-fold)" in markdown and "## Split" in markdown
    assert "## Targets" in markdown and "95 % bootstrap intervals over titles" in markdown
    with out.with_suffix(".gold_oof.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(TITLES)
    assert "title" not in rows[0]  # ids and probabilities only, never the titles
    assert model.metadata_["training_data_sha256"] == card["data"]["fingerprint_sha256"]
    assert set(model.metadata_["training_files"]) >= {"tokopedia_umkm.csv", "gold_dev.csv"}


def test_evaluate_rebuilds_the_held_out_split_of_a_data_folder(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.akarclf"
    assert (
        main(
            [
                "train",
                "--data",
                str(data_dir),
                "--out",
                str(out),
                "--no-ablation",
                "--no-gold",
                "--jobs",
                "1",
                "--params",
                json.dumps(FAST),
            ]
        )
        == 0
    )
    card = json.loads(out.with_suffix(".card.json").read_text())
    capsys.readouterr()
    metrics_path = tmp_path / "metrics.json"
    assert (
        main(
            ["evaluate", "--model", str(out), "--data", str(data_dir), "--json", str(metrics_path)]
        )
        == 0
    )
    assert "test split, seed 0" in capsys.readouterr().out
    metrics = json.loads(metrics_path.read_text())["metrics"]
    assert metrics["n"] == card["split"]["test_rows"]
    assert metrics["macro_f1"] == pytest.approx(card["metrics"]["test"]["macro_f1"])
