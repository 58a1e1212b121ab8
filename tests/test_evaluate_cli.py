"""``akarclf evaluate`` end to end with a stand-in model (titles written for these tests)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from akarclf.cli import evaluate as evaluate_command
from akarclf.clusters import CLUSTERS, CRAFTS, CULINARY, OTHER, TEXTILE_FASHION
from akarclf.evaluation.metrics import evaluate_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ROWS = [
    ("t1", "Kemeja Batik Pria Lengan Panjang", TEXTILE_FASHION),
    ("t2", "Kain Tenun Ikat Sumba", TEXTILE_FASHION),
    ("t3", "Kopi Arabika Gayo 200gr", CULINARY),
    ("t4", "Keripik Singkong Balado", CULINARY),
    ("t5", "Keranjang Anyaman Rotan Bulat", CRAFTS),
    ("t6", "Patung Ukir Kayu Jati", CRAFTS),
    ("t7", "Kabel Data USB Type C", OTHER),
    ("t8", "Casing HP Motif Batik", OTHER),  # the stub gets this one wrong
    ("t9", "Obeng Set 12 in 1", OTHER),
]


class StubModel:
    """A title belongs to the cluster of the first keyword it contains, else ``other``."""

    classes_ = np.array(sorted(CLUSTERS))
    model_version = "stub-2026.1"
    metadata_: dict[str, Any]
    KEYWORDS: ClassVar[dict[str, str]] = {
        "batik": TEXTILE_FASHION,
        "tenun": TEXTILE_FASHION,
        "kopi": CULINARY,
        "keripik": CULINARY,
        "anyaman": CRAFTS,
        "ukir": CRAFTS,
    }

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        rows = []
        for title in titles:
            words = title.lower().split()
            hit = next((c for word, c in self.KEYWORDS.items() if word in words), OTHER)
            rows.append([0.8 if name == hit else 0.2 / 3 for name in self.classes_])
        return np.array(rows)


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hid", "title", "label"])
        writer.writerows(ROWS)
    return path


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Replace model loading with the stub; records the paths asked for."""
    asked: list[str | None] = []

    def fake_load(path: str | None) -> StubModel:
        asked.append(path)
        return StubModel()

    monkeypatch.setattr(evaluate_command, "_load", fake_load)
    return asked


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="akarclf")
    evaluate_command.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["evaluate", *argv])


def test_prints_report_and_writes_json_and_png(
    labelled_csv: Path,
    tmp_path: Path,
    loaded: list[str | None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_json, out_png = tmp_path / "m.json", tmp_path / "m.png"
    args = parse(
        [
            *("--data", str(labelled_csv), "--json", str(out_json)),
            *("--png", str(out_png), "--name", "fixture-set"),
        ]
    )
    assert args.func(args) == 0
    assert loaded == [None]  # no --model: the shipped default

    expected = evaluate_model(StubModel(), [r[1] for r in ROWS], [r[2] for r in ROWS])
    stdout = capsys.readouterr().out
    assert "stub-2026.1" in stdout
    assert "fixture-set" in stdout
    assert f"accuracy {expected['accuracy']:.3f}" in stdout
    assert f"macro-F1 {expected['macro_f1']:.3f}" in stdout

    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert document["metrics"] == expected
    assert document["model"] == {"path": None, "version": "stub-2026.1"}
    assert document["data"]["name"] == "fixture-set"
    assert document["warnings"] == []
    # the stub misreads one `other` title as textile: the drift figure must show it
    drift = document["metrics"]["other_drift"]["per_cluster"][TEXTILE_FASHION]
    assert drift["predicted"] == 1
    assert drift["rate"] == pytest.approx(1 / 3)

    data = out_png.read_bytes()
    assert len(data) > 0
    assert data[:8] == PNG_MAGIC


def test_model_path_custom_columns_and_bins(
    tmp_path: Path, loaded: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nama_produk", "kelas"])
        writer.writerows((title, label) for _, title, label in ROWS)
    out_json = tmp_path / "m.json"
    args = parse(
        [
            *("--model", "models/x.skops", "--data", str(path), "--title-col", "nama_produk"),
            *("--label-col", "kelas", "--bins", "4", "--json", str(out_json)),
        ]
    )
    assert args.func(args) == 0
    assert loaded == ["models/x.skops"]
    metrics = json.loads(out_json.read_text(encoding="utf-8"))["metrics"]
    assert metrics["reliability"]["n_bins"] == 4
    assert metrics["n"] == len(ROWS)
    assert "mine.csv" in capsys.readouterr().out
    assert not (tmp_path / "m.png").exists()


def test_bad_label_stops_before_loading_the_model(tmp_path: Path, loaded: list[str | None]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("title,label\nKopi Luwak,culinary\nSepatu Lari,sepatu\n", encoding="utf-8")
    args = parse(["--data", str(path)])
    with pytest.raises(ValueError, match="line 3"):
        args.func(args)
    assert loaded == []


def test_a_directory_without_training_files_names_the_missing_file(
    tmp_path: Path, loaded: list[str | None]
) -> None:
    args = parse(["--data", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match=r"tokopedia_umkm\.csv"):
        args.func(args)


def test_missing_data_file(tmp_path: Path, loaded: list[str | None]) -> None:
    args = parse(["--data", str(tmp_path / "nope.csv")])
    with pytest.raises(FileNotFoundError):
        args.func(args)


def test_png_without_matplotlib_fails_before_work(
    labelled_csv: Path,
    tmp_path: Path,
    loaded: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    args = parse(["--data", str(labelled_csv), "--png", str(tmp_path / "m.png")])
    assert args.func(args) == 1
    assert "akarclf[plots]" in capsys.readouterr().err
    assert loaded == []


def test_data_is_required() -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse([])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--bootstrap", "-1", "at least 0"), ("--bins", "0", "at least 1"), ("--bins", "x", "not an")],
)
def test_bad_counts_are_usage_errors(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(["--data", "x.csv", option, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert option in error
    assert message in error


def test_bootstrap_resamples_reach_the_json(
    labelled_csv: Path, tmp_path: Path, loaded: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    for resamples in ("0", "50"):
        out_json = tmp_path / f"m{resamples}.json"
        args = parse(
            ["--data", str(labelled_csv), "--bootstrap", resamples, "--json", str(out_json)]
        )
        assert args.func(args) == 0
        intervals = json.loads(out_json.read_text(encoding="utf-8"))["metrics"]["intervals"]
        assert intervals["replicates"] == int(resamples)
    assert intervals["macro_f1"][0] is not None
    assert "50 resamples" in capsys.readouterr().out


def test_warns_when_the_model_was_trained_on_the_data(
    labelled_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = hashlib.sha256(labelled_csv.read_bytes()).hexdigest()
    model = StubModel()
    model.metadata_ = {"training_files": {"train.csv": "0" * 64, labelled_csv.name: digest}}
    monkeypatch.setattr(evaluate_command, "_load", lambda path: model)
    out_json = tmp_path / "m.json"
    args = parse(["--data", str(labelled_csv), "--json", str(out_json)])
    assert args.func(args) == 0
    assert "in-sample" in capsys.readouterr().err
    (warning,) = json.loads(out_json.read_text(encoding="utf-8"))["warnings"]
    assert labelled_csv.name in warning

    model.metadata_["training_files"][labelled_csv.name] = "f" * 64  # edited copy, same name
    assert "different bytes" in evaluate_command.in_sample_warnings(model, labelled_csv)[0]
    model.metadata_["training_files"] = {"train.csv": "0" * 64}
    assert evaluate_command.in_sample_warnings(model, labelled_csv) == []


# --- with a real (tiny) model, through the console entry point ------------------------------

TRAIN = {
    TEXTILE_FASHION: ["Kemeja Batik Pria", "Kain Tenun Ikat", "Kaos Polos Hitam", "Kebaya Brokat"],
    CULINARY: ["Kopi Arabika Gayo", "Keripik Singkong Pedas", "Sambal Roa", "Kue Nastar Nanas"],
    CRAFTS: ["Keranjang Anyaman Rotan", "Patung Ukir Kayu", "Wayang Kulit", "Vas Gerabah"],
    OTHER: ["Kabel Data USB", "Obeng Set Lengkap", "Charger HP Fast", "Mouse Wireless"],
}


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ClusterClassifier fitted on 16 titles and saved the way `akarclf train` saves."""
    from akarclf.model.classifier import ClusterClassifier
    from akarclf.model.persistence import save_model

    titles = [title for group in TRAIN.values() for title in group]
    labels = [cluster for cluster, group in TRAIN.items() for _ in group]
    model = ClusterClassifier(min_df=1, calibration_folds=2).fit(titles, labels)
    path = tmp_path_factory.mktemp("model") / "tiny.akarclf"
    return save_model(model, path, metadata={"purpose": "test_evaluate_cli"})


def test_console_command_with_a_saved_model(
    tiny_model_file: Path, labelled_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from akarclf import load_model
    from akarclf.cli import main

    out_json = tmp_path / "m.json"
    argv = ["evaluate", "--model", str(tiny_model_file), "--data", str(labelled_csv)]
    assert main([*argv, "--json", str(out_json)]) == 0
    model = load_model(tiny_model_file)
    expected = evaluate_model(model, [r[1] for r in ROWS], [r[2] for r in ROWS])
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert document["metrics"] == expected
    assert document["model"] == {"path": str(tiny_model_file), "version": model.model_version}
    assert model.model_version in capsys.readouterr().out


def test_console_command_reports_a_bad_model_file(
    labelled_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from akarclf.cli import main

    not_a_model = tmp_path / "fake.akarclf"
    not_a_model.write_text("hello", encoding="utf-8")
    assert main(["evaluate", "--model", str(not_a_model), "--data", str(labelled_csv)]) == 1
    assert "fake.akarclf" in capsys.readouterr().err
