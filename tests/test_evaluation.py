"""Metrics, calibration error, drift figures, labelled-CSV reading and the evaluation PNG."""

from __future__ import annotations

import csv
import json
import math
import struct
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from akarclf.clusters import (
    CLUSTERS,
    CRAFTS,
    CULINARY,
    OTHER,
    PROTECTABLE_CLUSTERS,
    TEXTILE_FASHION,
)
from akarclf.evaluation.metrics import (
    _scores_from_confusion,
    evaluate_model,
    evaluate_predictions,
    format_report,
)
from akarclf.evaluation.plots import save_evaluation_png
from akarclf.training.labelled import read_labelled_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Z95 = 1.959963984540054

#: scikit-learn's column order, deliberately not CLUSTERS order.
SORTED = sorted(CLUSTERS)


def onehot(labels: list[str], order: list[str] | tuple[str, ...] = CLUSTERS) -> np.ndarray:
    matrix = np.zeros((len(labels), len(order)))
    for row, label in enumerate(labels):
        matrix[row, list(order).index(label)] = 1.0
    return matrix


def row(cluster: str, p: float, order: list[str] | tuple[str, ...] = CLUSTERS) -> list[float]:
    """A probability row giving ``p`` to ``cluster`` and the rest evenly to the others."""
    rest = (1.0 - p) / (len(order) - 1)
    return [p if name == cluster else rest for name in order]


# --- metrics ---------------------------------------------------------------------------------


def test_perfect_predictor() -> None:
    labels = [TEXTILE_FASHION] * 3 + [CULINARY] * 2 + [CRAFTS] + [OTHER] * 4
    metrics = evaluate_predictions(labels, onehot(labels, SORTED), SORTED)
    assert metrics["n"] == 10
    assert metrics["accuracy"] == 1.0
    assert metrics["macro_f1"] == 1.0
    assert metrics["ece"] == 0.0
    assert metrics["classwise_ece"] == 0.0
    assert metrics["brier"] == 0.0
    assert metrics["confusion_matrix"]["clusters"] == list(CLUSTERS)
    assert metrics["confusion_matrix"]["counts"] == [
        [3, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 4],
    ]
    for cluster in CLUSTERS:
        stats = metrics["per_cluster"][cluster]
        assert stats["precision"] == stats["recall"] == stats["f1"] == 1.0
        assert stats["support"] == stats["predicted"] == labels.count(cluster)


def test_known_confusion() -> None:
    # true -> predicted pairs, counted by hand:
    #   textile: 3 right, 1 as other        culinary: 1 right, 1 as crafts
    #   crafts:  1 right                    other: 3 right, 1 as textile, 1 as crafts
    pairs = (
        [(TEXTILE_FASHION, TEXTILE_FASHION)] * 3
        + [(TEXTILE_FASHION, OTHER)]
        + [(CULINARY, CULINARY), (CULINARY, CRAFTS), (CRAFTS, CRAFTS)]
        + [(OTHER, OTHER)] * 3
        + [(OTHER, TEXTILE_FASHION), (OTHER, CRAFTS)]
    )
    labels = [truth for truth, _ in pairs]
    proba = np.array([row(pred, 0.7, SORTED) for _, pred in pairs])
    metrics = evaluate_predictions(labels, proba, SORTED)

    assert metrics["confusion_matrix"]["counts"] == [
        [3, 0, 0, 1],
        [0, 1, 1, 0],
        [0, 0, 1, 0],
        [1, 0, 1, 3],
    ]
    assert metrics["accuracy"] == pytest.approx(8 / 12)
    expected = {  # precision, recall, F1 = 2PR/(P+R)
        TEXTILE_FASHION: (3 / 4, 3 / 4, 3 / 4),
        CULINARY: (1 / 1, 1 / 2, 2 / 3),
        CRAFTS: (1 / 3, 1 / 1, 1 / 2),
        OTHER: (3 / 4, 3 / 5, 2 / 3),
    }
    for cluster, (precision, recall, f1) in expected.items():
        stats = metrics["per_cluster"][cluster]
        assert stats["precision"] == pytest.approx(precision)
        assert stats["recall"] == pytest.approx(recall)
        assert stats["f1"] == pytest.approx(f1)
    assert metrics["macro_f1"] == pytest.approx((3 / 4 + 2 / 3 + 1 / 2 + 2 / 3) / 4)
    # every row has confidence 0.7 and 8 of 12 are right: one occupied bin
    assert metrics["ece"] == pytest.approx(abs(8 / 12 - 0.7))


def test_column_order_follows_classes() -> None:
    labels = [TEXTILE_FASHION, CULINARY, CRAFTS, OTHER, OTHER]
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(4), size=len(labels))
    in_clusters_order = evaluate_predictions(labels, proba, CLUSTERS)
    permutation = [3, 1, 0, 2]
    permuted = evaluate_predictions(
        labels, proba[:, permutation], [CLUSTERS[i] for i in permutation]
    )
    assert permuted == in_clusters_order


def test_rounded_probabilities_are_accepted_and_renormalised() -> None:
    # as read back from a CSV written with 6 decimals: rows sum to 1 +- a few 1e-6
    labels = [OTHER, CRAFTS]
    proba = [[0.000001, 0.000002, 0.000004, 0.999991], [0.333334, 0.000001, 0.666667, 0.000001]]
    metrics = evaluate_predictions(labels, proba, CLUSTERS)
    assert metrics["accuracy"] == 1.0
    exact = np.array(proba) / np.array(proba).sum(axis=1, keepdims=True)
    assert metrics["brier"] == pytest.approx(((exact - onehot(labels)) ** 2).sum(axis=1).mean())


def test_cluster_missing_from_model_is_never_predicted() -> None:
    classes = [TEXTILE_FASHION, OTHER]
    labels = [TEXTILE_FASHION, OTHER, CRAFTS]
    proba = [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]
    metrics = evaluate_predictions(labels, proba, classes)
    assert metrics["per_cluster"][CRAFTS]["predicted"] == 0
    assert metrics["per_cluster"][CRAFTS]["precision"] is None
    assert metrics["per_cluster"][CRAFTS]["recall"] == 0.0
    assert metrics["per_cluster"][CULINARY]["f1"] is None  # in neither labels nor predictions
    assert metrics["macro_f1"] == pytest.approx((1.0 + 0.0 + 2 / 3) / 3)


def test_calibration_on_constructed_case() -> None:
    # Two textile and two other rows, all given [textile 0.7, the rest 0.1 each].
    labels = [TEXTILE_FASHION, TEXTILE_FASHION, OTHER, OTHER]
    proba = [row(TEXTILE_FASHION, 0.7)] * 4
    metrics = evaluate_predictions(labels, proba, CLUSTERS, n_bins=10)
    # top label: confidence 0.7, accuracy 0.5
    assert metrics["ece"] == pytest.approx(0.2)
    # per column |frequency - mean probability|: textile .5 vs .7, culinary 0 vs .1,
    # crafts 0 vs .1, other .5 vs .1
    per_cluster = metrics["classwise_ece_per_cluster"]
    assert per_cluster[TEXTILE_FASHION] == pytest.approx(0.2)
    assert per_cluster[CULINARY] == pytest.approx(0.1)
    assert per_cluster[CRAFTS] == pytest.approx(0.1)
    assert per_cluster[OTHER] == pytest.approx(0.4)
    assert metrics["classwise_ece"] == pytest.approx(0.2)
    # Brier: textile rows 0.3² + 3·0.1² = 0.12, other rows 0.7² + 0.9² + 2·0.1² = 1.32
    assert metrics["brier"] == pytest.approx((2 * 0.12 + 2 * 1.32) / 4)
    assert metrics["log_loss"] == pytest.approx(-(2 * math.log(0.7) + 2 * math.log(0.1)) / 4)


def test_ece_weights_bins_by_support() -> None:
    # 10 rows at confidence 0.8 with 6 right (gap 0.2); 5 rows at 0.4 with 4 right (gap 0.4)
    labels = [CULINARY] * 6 + [OTHER] * 4 + [CRAFTS] * 4 + [OTHER]
    proba = [row(CULINARY, 0.8)] * 10 + [row(CRAFTS, 0.4)] * 5
    metrics = evaluate_predictions(labels, proba, CLUSTERS, n_bins=5)
    assert metrics["ece"] == pytest.approx((10 * 0.2 + 5 * 0.4) / 15)
    bins = metrics["reliability"]["bins"]
    assert [b["count"] for b in bins] == [0, 5, 0, 10, 0]  # 0.4 in (0.2, 0.4], 0.8 in (0.6, 0.8]
    assert bins[3]["accuracy"] == pytest.approx(0.6)
    assert bins[3]["mean_confidence"] == pytest.approx(0.8)
    assert bins[0]["accuracy"] is None


def test_drift_on_other_titles() -> None:
    # 10 other titles: 2 predicted crafts, 1 culinary, 7 other.
    # 5 textile titles all right; 5 crafts titles: 4 right, 1 predicted other. No culinary.
    pairs = (
        [(OTHER, CRAFTS)] * 2
        + [(OTHER, CULINARY)]
        + [(OTHER, OTHER)] * 7
        + [(TEXTILE_FASHION, TEXTILE_FASHION)] * 5
        + [(CRAFTS, CRAFTS)] * 4
        + [(CRAFTS, OTHER)]
    )
    labels = [truth for truth, _ in pairs]
    proba = [row(pred, 0.6, SORTED) for _, pred in pairs]
    metrics = evaluate_predictions(labels, proba, SORTED, other_shares=[0.9])
    drift = metrics["other_drift"]
    assert drift["n_other"] == 10
    assert drift["eval_other_share"] == pytest.approx(10 / 20)
    assert set(drift["per_cluster"]) == set(PROTECTABLE_CLUSTERS)

    crafts = drift["per_cluster"][CRAFTS]
    assert crafts["predicted"] == 2
    assert crafts["rate"] == pytest.approx(0.2)
    assert crafts["mean_probability"] == pytest.approx((2 * 0.6 + 8 * 0.4 / 3) / 10)
    assert crafts["precision"] == pytest.approx(4 / 6)
    # Catalogue 90 % other; textile and crafts split the remaining 10 % evenly (5 and 5):
    # precision = 0.05·(4/5) / (0.05·(4/5) + 0.9·0.2 + 0.05·0) = 2/11
    (at_share,) = crafts["precision_at_other_share"]
    assert at_share["other_share"] == 0.9
    assert at_share["precision"] == pytest.approx(2 / 11)
    assert at_share["precision_lower"] < at_share["precision"]

    textile = drift["per_cluster"][TEXTILE_FASHION]
    assert textile["predicted"] == 0
    assert textile["rate"] == 0.0
    # Wilson upper bound of 0 successes in n trials is z² / (n + z²)
    upper = Z95**2 / (10 + Z95**2)
    assert textile["rate_upper95"] == pytest.approx(upper)
    (at_share,) = textile["precision_at_other_share"]
    assert at_share["precision"] == pytest.approx(1.0)
    assert at_share["precision_lower"] == pytest.approx(0.05 / (0.05 + 0.9 * upper))

    culinary = drift["per_cluster"][CULINARY]
    assert culinary["rate"] == pytest.approx(0.1)
    assert culinary["precision"] == 0.0  # predicted once, wrongly
    assert culinary["precision_at_other_share"][0]["precision"] is None  # no culinary support


def test_no_other_titles_gives_no_drift_rates() -> None:
    labels = [TEXTILE_FASHION, CRAFTS]
    metrics = evaluate_predictions(labels, onehot(labels), CLUSTERS)
    drift = metrics["other_drift"]
    assert drift["n_other"] == 0
    for stats in drift["per_cluster"].values():
        assert stats["rate"] is None
        assert stats["rate_upper95"] is None
        assert stats["mean_probability"] is None
        assert stats["precision_at_other_share"][0]["precision"] is None


DOCUMENTED_KEYS = {
    "n",
    "intervals",
    "clusters",
    "accuracy",
    "macro_f1",
    "per_cluster",
    "confusion_matrix",
    "ece",
    "classwise_ece",
    "classwise_ece_per_cluster",
    "reliability",
    "brier",
    "log_loss",
    "other_drift",
}


def test_result_is_plain_json_with_documented_keys() -> None:
    labels = [TEXTILE_FASHION, CULINARY, OTHER, OTHER, OTHER]
    proba = np.random.default_rng(0).dirichlet(np.ones(4), size=len(labels))
    metrics = evaluate_predictions(labels, proba, SORTED)
    assert set(metrics) == DOCUMENTED_KEYS
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics


@pytest.mark.parametrize(
    ("labels", "proba", "classes", "message"),
    [
        ([OTHER, "fashion"], [row(OTHER, 0.7)] * 2, CLUSTERS, "row 1"),
        ([OTHER, None], [row(OTHER, 0.7)] * 2, CLUSTERS, "row 1"),
        ([OTHER], [row(OTHER, 0.7)] * 2, CLUSTERS, "shape"),
        ([OTHER], [[0.5, 0.5]], [OTHER, "food"], "'food'"),
        ([OTHER], [[0.5, 0.5]], [OTHER, OTHER], "duplicates"),
        ([OTHER, OTHER], [row(OTHER, 0.7), [0.5, 0.5, 0.0, 0.01]], CLUSTERS, "row 1 sums to 1.01"),
        ([OTHER, OTHER], [row(OTHER, 0.7), [np.nan, 0, 0, 1]], CLUSTERS, "row 1 is not finite"),
        ([OTHER], [[1.5, -0.5, 0, 0]], CLUSTERS, "row 0 has a negative"),
        ([], np.zeros((0, 4)), CLUSTERS, "no rows"),
    ],
)
def test_bad_input_names_the_problem(
    labels: list[str], proba: object, classes: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate_predictions(labels, proba, classes)


@pytest.mark.parametrize("n_bins", [0, -1, 2.5, True])
def test_bad_bin_count(n_bins: object) -> None:
    with pytest.raises(ValueError, match="n_bins"):
        evaluate_predictions([OTHER], [row(OTHER, 0.7)], CLUSTERS, n_bins=n_bins)  # type: ignore[arg-type]


@pytest.mark.parametrize("share", [1.0, -0.1])
def test_bad_other_share(share: float) -> None:
    with pytest.raises(ValueError, match="other_shares"):
        evaluate_predictions([OTHER], [row(OTHER, 0.7)], CLUSTERS, other_shares=[share])


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_agrees_with_scikit_learn(labels: list[str], seed: int) -> None:
    proba = np.random.default_rng(seed).dirichlet(np.full(4, 0.5), size=len(labels))
    metrics = evaluate_predictions(labels, proba, SORTED)
    predicted = [SORTED[i] for i in np.argmax(proba, axis=1)]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert metrics["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    precision, recall, _f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(CLUSTERS), zero_division=np.nan
    )
    for i, cluster in enumerate(CLUSTERS):
        stats = metrics["per_cluster"][cluster]
        assert stats["support"] == support[i]
        for ours, theirs in ((stats["precision"], precision[i]), (stats["recall"], recall[i])):
            assert (ours is None) == bool(np.isnan(theirs))
            if ours is not None:
                assert ours == pytest.approx(theirs)
    assert 0.0 <= metrics["ece"] <= 1.0
    assert 0.0 <= metrics["classwise_ece"] <= 1.0
    assert 0.0 <= metrics["brier"] <= 2.0
    assert sum(b["count"] for b in metrics["reliability"]["bins"]) == len(labels)


class KeywordModel:
    """A stand-in classifier: a title is the cluster of the first keyword it contains."""

    classes_ = np.array(SORTED)
    model_version = "stub-1"
    KEYWORDS: ClassVar[dict[str, str]] = {
        "batik": TEXTILE_FASHION,
        "kopi": CULINARY,
        "anyaman": CRAFTS,
    }

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        self.calls += 1
        out = []
        for title in titles:
            hit = next((c for word, c in self.KEYWORDS.items() if word in title.lower()), OTHER)
            out.append(row(hit, 0.85, SORTED))
        return np.array(out)


def test_evaluate_model_predicts_and_records_version() -> None:
    titles = ["Kemeja Batik Pria", "Kopi Bubuk Toraja 250gr", "Tikar Anyaman Pandan", "Obeng Set"]
    labels = [TEXTILE_FASHION, CULINARY, CRAFTS, CULINARY]
    model = KeywordModel()
    metrics = evaluate_model(model, titles, labels)
    assert model.calls == 1
    assert metrics["model_version"] == "stub-1"
    assert metrics["accuracy"] == pytest.approx(3 / 4)
    assert metrics["per_cluster"][CULINARY]["recall"] == pytest.approx(1 / 2)


def test_evaluate_model_checks_labels_before_predicting() -> None:
    model = KeywordModel()
    with pytest.raises(ValueError, match="row 1"):
        evaluate_model(model, ["a", "b"], [OTHER, "makanan"])
    with pytest.raises(ValueError, match="2 titles but 1 labels"):
        evaluate_model(model, ["a", "b"], [OTHER])
    assert model.calls == 0


def test_format_report_lists_every_cluster_and_figure() -> None:
    labels = [TEXTILE_FASHION, CULINARY, CRAFTS, OTHER, OTHER]
    proba = np.random.default_rng(1).dirichlet(np.ones(4), size=len(labels))
    metrics = evaluate_predictions(labels, proba, SORTED)
    report = format_report(metrics)
    assert f"accuracy {metrics['accuracy']:.3f}" in report
    assert f"macro-F1 {metrics['macro_f1']:.3f}" in report
    assert f"{metrics['ece']:.3f}" in report
    table = {line.split()[0]: line.split() for line in report.splitlines() if line.strip()}
    for cluster in CLUSTERS:
        assert table[cluster][0] == cluster
    for cluster in PROTECTABLE_CLUSTERS:
        assert report.count(cluster) >= 3  # per-cluster table, confusion matrix, drift table


# --- labelled CSV ----------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


HEADER = ["hid", "source", "title", "category_path", "label", "note"]


def test_reads_gold_dev_shape(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "dev.csv",
        [
            HEADER,
            ["x1", "manual", "Kain Batik Tulis Pekalongan", "fashion/kain", "textile_fashion", ""],
            ["x2", "manual", "Sambal Roa  ", "makanan/sambal", " culinary ", "padded"],
            ["x3", "manual", "Charger HP 20W", "elektronik/charger", "other", ""],
        ],
    )
    titles, labels, ids = read_labelled_csv(path)
    assert titles == ["Kain Batik Tulis Pekalongan", "Sambal Roa  ", "Charger HP 20W"]
    assert labels == [TEXTILE_FASHION, CULINARY, OTHER]
    assert ids == ["x1", "x2", "x3"]


def test_custom_columns_and_line_number_ids(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "mine.csv",
        [["nama", "kelas"], ["Keripik Tempe", "culinary"], ["Wayang Kulit Arjuna", "crafts"]],
    )
    titles, labels, ids = read_labelled_csv(path, title_col="nama", label_col="kelas")
    assert titles == ["Keripik Tempe", "Wayang Kulit Arjuna"]
    assert labels == [CULINARY, CRAFTS]
    assert ids == ["2", "3"]


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["title", "cluster"], ["Kopi", "culinary"]])
    with pytest.raises(ValueError, match=r"a\.csv: no column 'label'; columns are: title, cluster"):
        read_labelled_csv(path)
    with pytest.raises(ValueError, match="no column 'judul'"):
        read_labelled_csv(path, title_col="judul", label_col="cluster")


def test_bad_label_names_its_line(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "b.csv",
        [
            ["title", "label"],
            ["Kopi Gayo", "culinary"],
            ["Tenun Ikat\nSumba", "textile_fashion"],  # one record over two lines
            ["Lampu LED", "elektronik"],
        ],
    )
    with pytest.raises(ValueError, match=r"b\.csv line 5: unknown 'label' value 'elektronik'"):
        read_labelled_csv(path)


@pytest.mark.parametrize(
    ("row_values", "message"),
    [
        (["", "other"], "line 3: empty 'title'"),
        (["Sendal Jepit", ""], "line 3: empty 'label'"),
        (["Sendal Jepit"], "line 3: 1 fields"),
    ],
)
def test_bad_rows_name_their_line(tmp_path: Path, row_values: list[str], message: str) -> None:
    path = write_csv(tmp_path / "c.csv", [["title", "label"], ["Kopi", "culinary"], row_values])
    with pytest.raises(ValueError, match=message):
        read_labelled_csv(path)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty file"):
        read_labelled_csv(empty)
    header_only = write_csv(tmp_path / "h.csv", [["title", "label"]])
    with pytest.raises(ValueError, match="no data rows"):
        read_labelled_csv(header_only)


def test_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("\ufefftitle,label\r\n\r\nHiasan Dinding Makrame,crafts\r\n", encoding="utf-8")
    titles, labels, ids = read_labelled_csv(path)
    assert (titles, labels, ids) == (["Hiasan Dinding Makrame"], [CRAFTS], ["3"])


def test_not_utf8_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("title,label\nObeng Caf\xe9,other\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        read_labelled_csv(path)


@pytest.mark.shared_data
def test_reads_the_real_gold_dev_set(shared_data: Path) -> None:
    gold_dev = shared_data / "gold_dev.csv"
    titles, labels, ids = read_labelled_csv(gold_dev)
    with gold_dev.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(titles) == len(labels) == len(ids) == len(rows)
    assert ids == [r["hid"] for r in rows]
    assert set(labels) == set(CLUSTERS)
    assert len(set(ids)) == len(ids)


# --- PNG ---------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_is_written(tmp_path: Path) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    labels = [TEXTILE_FASHION] * 4 + [CULINARY] * 3 + [CRAFTS] * 2 + [OTHER] * 8
    proba = np.random.default_rng(5).dirichlet(np.ones(4), size=len(labels))
    metrics = json.loads(json.dumps(evaluate_predictions(labels, proba, SORTED)))
    target = save_evaluation_png(metrics, tmp_path / "eval.png", title="stub on fixtures")
    data = target.read_bytes()
    assert len(data) > 0
    width, height = png_size(data)
    assert width > height > 100
    assert matplotlib.get_backend() == backend  # the caller's backend is left alone


def test_png_without_matplotlib_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    labels = [OTHER, CRAFTS]
    metrics = evaluate_predictions(labels, onehot(labels), CLUSTERS)
    with pytest.raises(ImportError, match=r"akarclf\[plots\]"):
        save_evaluation_png(metrics, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# --- bootstrap intervals ---------------------------------------------------------------------


def _confident(predicted: list[str]) -> np.ndarray:
    """Probability rows that put 0.97 on each predicted cluster (CLUSTERS order)."""
    return np.array([row(p, 0.97) for p in predicted])


def _rows_from_confusion(counts: np.ndarray) -> tuple[list[str], list[str]]:
    labels: list[str] = []
    predicted: list[str] = []
    for i, j in np.ndindex(*counts.shape):
        labels += [CLUSTERS[i]] * int(counts[i, j])
        predicted += [CLUSTERS[j]] * int(counts[i, j])
    return labels, predicted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=16, max_size=16).filter(lambda c: sum(c) > 0))
def test_scores_from_a_confusion_matrix_match_scikit_learn(cells: list[int]) -> None:
    counts = np.array(cells).reshape(4, 4)
    labels, predicted = _rows_from_confusion(counts)
    scores = _scores_from_confusion(counts[None])  # a batch of one table
    assert scores["accuracy"][0] == pytest.approx(accuracy_score(labels, predicted))
    assert scores["macro_f1"][0] == pytest.approx(f1_score(labels, predicted, average="macro"))
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, labels=list(CLUSTERS), zero_division=np.nan
    )
    for ours, theirs in ((scores["precision"][0], precision), (scores["recall"][0], recall)):
        np.testing.assert_allclose(ours, theirs, equal_nan=True)
    np.testing.assert_allclose(scores["f1"][0], f1, equal_nan=True)


def test_intervals_bracket_the_figures_and_match_resampling_rows() -> None:
    counts = np.array([[80, 2, 3, 15], [1, 40, 0, 9], [4, 0, 12, 8], [10, 5, 6, 300]])
    labels, predicted = _rows_from_confusion(counts)
    metrics = evaluate_predictions(labels, _confident(predicted), CLUSTERS)
    intervals = metrics["intervals"]
    low, high = intervals["macro_f1"]
    assert low < metrics["macro_f1"] < high
    for cluster in CLUSTERS:
        for name in ("precision", "recall", "f1"):
            low, high = intervals["per_cluster"][cluster][name]
            assert low <= metrics["per_cluster"][cluster][name] <= high
    # The same intervals by brute force: resample the rows themselves within each true
    # cluster, score with scikit-learn.
    rng = np.random.default_rng(1)
    truth, guess = np.array(labels), np.array(predicted)
    members = [np.flatnonzero(truth == c) for c in CLUSTERS]
    crafts_f1, macro_f1 = [], []
    for _ in range(1000):
        pick = np.concatenate([rng.choice(rows, len(rows)) for rows in members])
        crafts_f1.append(f1_score(truth[pick], guess[pick], labels=[CRAFTS], average="macro"))
        macro_f1.append(f1_score(truth[pick], guess[pick], average="macro"))
    for ours, brute in (
        (intervals["per_cluster"][CRAFTS]["f1"], crafts_f1),
        (intervals["macro_f1"], macro_f1),
    ):
        np.testing.assert_allclose(ours, np.percentile(brute, [2.5, 97.5]), atol=0.02)


def test_a_rare_cluster_cannot_drop_out_of_the_macro_interval() -> None:
    # One crafts title, wrongly predicted: crafts F1 is 0 in every resample, so macro-F1
    # stays near its point value instead of jumping to the mean of the other clusters.
    labels = [CRAFTS] + [OTHER] * 99
    predicted = [OTHER] * 100
    metrics = evaluate_predictions(labels, _confident(predicted), CLUSTERS)
    assert metrics["macro_f1"] == pytest.approx(0.4975, abs=1e-4)
    assert metrics["intervals"]["macro_f1"] == pytest.approx([0.4975, 0.4975], abs=1e-4)


def test_intervals_narrow_as_rows_grow() -> None:
    counts = np.array([[8, 0, 1, 1], [0, 9, 0, 1], [1, 0, 6, 3], [1, 1, 2, 30]])
    widths = []
    for scale in (1, 10):
        labels, predicted = _rows_from_confusion(counts * scale)
        low, high = evaluate_predictions(labels, _confident(predicted), CLUSTERS)["intervals"][
            "per_cluster"
        ][CRAFTS]["f1"]
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_intervals_are_seeded_and_can_be_turned_off() -> None:
    labels = [TEXTILE_FASHION, OTHER, OTHER, CRAFTS, OTHER, CULINARY] * 5
    predicted = [TEXTILE_FASHION, OTHER, CRAFTS, OTHER, OTHER, CULINARY] * 5
    proba = _confident(predicted)
    first = evaluate_predictions(labels, proba, CLUSTERS, seed=3)["intervals"]
    assert evaluate_predictions(labels, proba, CLUSTERS, seed=3)["intervals"] == first
    assert evaluate_predictions(labels, proba, CLUSTERS, seed=4)["intervals"] != first
    off = evaluate_predictions(labels, proba, CLUSTERS, n_bootstrap=0)["intervals"]
    assert off["replicates"] == 0
    assert off["macro_f1"] == [None, None]


def test_interval_of_a_figure_no_resample_defines_is_none() -> None:
    labels = [OTHER, OTHER, TEXTILE_FASHION]
    metrics = evaluate_predictions(labels, _confident(labels), CLUSTERS)
    assert metrics["intervals"]["per_cluster"][CRAFTS]["recall"] == [None, None]
    assert metrics["intervals"]["accuracy"] == [1.0, 1.0]


@pytest.mark.parametrize("n_bootstrap", [-1, 2.5, True])
def test_bad_bootstrap_count(n_bootstrap: object) -> None:
    with pytest.raises(ValueError, match="n_bootstrap"):
        evaluate_predictions([OTHER], [row(OTHER, 0.7)], CLUSTERS, n_bootstrap=n_bootstrap)  # type: ignore[arg-type]


def test_report_prints_the_intervals() -> None:
    labels = [TEXTILE_FASHION, OTHER, OTHER, CRAFTS, OTHER, CULINARY] * 5
    predicted = [TEXTILE_FASHION, OTHER, CRAFTS, OTHER, OTHER, CULINARY] * 5
    metrics = evaluate_predictions(labels, _confident(predicted), CLUSTERS)
    low, high = metrics["intervals"]["macro_f1"]
    text = format_report(metrics)
    assert f"macro-F1 {metrics['macro_f1']:.3f} [{low:.3f}, {high:.3f}]" in text
    assert "1000 resamples" in text
    quiet = evaluate_predictions(labels, _confident(predicted), CLUSTERS, n_bootstrap=0)
    assert "resamples" not in format_report(quiet)
