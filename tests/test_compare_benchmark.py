"""Smoke tests of ``benchmarks/compare.py``'s pieces on handwritten titles (no real data).

The benchmark's figures come from running it on ``../shared/data``; these tests check that its
parts compute what they say (metrics, percentiles, ratios, targets, the JSON keys the issue
requires) on a dataset small enough to train in a second.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.handwritten_titles import LABELS, TEXTS

REQUIRED_KEYS = {
    "system",
    "macro_f1",
    "accuracy",
    "f1",
    "train_s",
    "predict_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "peak_mb",
    "model_mb",
}


def _load_compare() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
    spec = importlib.util.spec_from_file_location("akarclf_compare_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


compare = _load_compare()


@pytest.fixture(scope="module")
def tiny_data() -> Any:
    corpus = compare.Corpus(list(TEXTS), list(LABELS))
    return compare.BenchData(train=corpus, test=corpus, gold=corpus, fit=corpus, valid=corpus)


def _settings(**overrides: Any) -> Any:
    values = {"repeats": 1, "latency_calls": 7, "profile_titles": 0}
    values.update(overrides)
    return compare.Settings(**values)


def test_fasttext_text_lowercases_and_keeps_word_tokens_only() -> None:
    assert (
        compare.fasttext_text("Kopi Bubuk [READY] 250gr!!\nBaru") == "kopi bubuk ready 250gr baru"
    )


def test_fasttext_file_has_one_labelled_line_per_title(tmp_path: Path) -> None:
    path = compare.write_fasttext_file(
        tmp_path / "t.txt", ["Kaos Polos, Hitam", "Kopi  Gayo"], ["textile_fashion", "culinary"]
    )
    assert path.read_text(encoding="utf-8").splitlines() == [
        "__label__textile_fashion kaos polos hitam",
        "__label__culinary kopi gayo",
    ]


def test_scores_per_cluster_and_macro() -> None:
    labels = ["crafts", "crafts", "culinary", "other", "textile_fashion"]
    predicted = ["crafts", "other", "culinary", "other", "textile_fashion"]
    result = compare.scores(labels, predicted)
    # crafts: precision 1, recall 1/2 -> 2/3; other: precision 1/2, recall 1 -> 2/3.
    assert result["f1"] == pytest.approx(
        {"textile_fashion": 1.0, "culinary": 1.0, "crafts": 2 / 3, "other": 2 / 3}
    )
    assert result["macro_f1"] == pytest.approx((2 + 4 / 3) / 4)
    assert result["accuracy"] == pytest.approx(4 / 5)


def test_percentiles_of_known_samples() -> None:
    p50, p99 = compare.percentiles(np.arange(1.0, 101.0))
    assert p50 == pytest.approx(50.5)
    assert p99 == pytest.approx(99.01)


def test_latency_titles_are_seeded_and_cover_a_small_test_part() -> None:
    corpus = compare.Corpus(["a", "b", "c"], ["other"] * 3)
    first = compare.latency_titles(corpus, 7, seed=0)
    assert first == compare.latency_titles(corpus, 7, seed=0)
    assert len(first) == 7 and set(first) == {"a", "b", "c"}


def test_ratios_are_relative_to_akarclf() -> None:
    rows = [
        {
            "system": "akarclf",
            "train_s": 10.0,
            "predict_per_s": 100.0,
            "latency_p50_ms": 1.0,
            "latency_p99_ms": 2.0,
            "peak_mb": 500.0,
            "model_mb": 3.0,
        },
        {
            "system": "fasttext_bigram",
            "train_s": 5.0,
            "predict_per_s": 400.0,
            "latency_p50_ms": 0.1,
            "latency_p99_ms": 0.5,
            "peak_mb": 250.0,
            "model_mb": 30.0,
        },
    ]
    compare.add_ratios(rows)
    assert rows[0]["ratio_to_akarclf"]["train_s"] == 1.0
    assert rows[1]["ratio_to_akarclf"] == pytest.approx(
        {
            "train_s": 0.5,
            "predict_per_s": 4.0,
            "latency_p50_ms": 0.1,
            "latency_p99_ms": 0.25,
            "peak_mb": 0.5,
            "model_mb": 10.0,
        }
    )


def _row(system: str, **values: float) -> dict[str, Any]:
    base = {"macro_f1": 0.9, "predict_per_s": 1000.0, "train_s": 10.0, "model_mb": 3.0}
    return {"system": system, **base, **values}


def test_targets_met_and_missed() -> None:
    rows = [
        _row("akarclf", macro_f1=0.905, predict_per_s=600.0, train_s=30.0, decide_p99_ms=0.8),
        _row("sklearn_baseline", macro_f1=0.80),
        _row("fasttext_bigram", macro_f1=0.90, predict_per_s=1000.0, train_s=10.0),
        _row("fasttext_subword", macro_f1=0.85, predict_per_s=700.0, train_s=20.0),
    ]
    verdicts = {t.name: t.met for t in compare.targets(rows)}
    assert verdicts == {
        "macro-F1 >= best fastText + 0.01": False,  # 0.905 < 0.90 + 0.01
        "macro-F1 >= plain baseline + 0.01": True,
        "throughput >= 0.5 x fastText bigram": True,  # 600 >= 500
        "throughput >= 1.0 x fastText subword": False,  # 600 < 700
        "training <= 2 x fastText (faster variant)": False,  # 30 > 20
        "training <= 2 x fastText (slower variant)": True,  # 30 <= 40
        "model size <= 15 MB": True,
        "decide() p99 < 1 ms": True,
    }


def test_unknown_system_is_named() -> None:
    with pytest.raises(ValueError, match="unknown system 'bert'"):
        compare.make_system("bert", {}, Path("."))


@pytest.mark.parametrize("name", ["sklearn_baseline", "akarclf"])
def test_measure_system_returns_every_required_key(name: str, tiny_data: Any) -> None:
    row = compare.measure_system(name, tiny_data, _settings(profile_titles=20), {})
    assert row.keys() >= REQUIRED_KEYS
    assert row["system"] == name
    assert set(row["f1"]) == set(compare.CLUSTERS)
    assert 0.0 <= row["macro_f1"] <= 1.0 and 0.0 <= row["gold_macro_f1"] <= 1.0
    # The training titles are the test titles here: any working classifier gets most right.
    assert row["accuracy"] > 0.5
    for key in ("train_s", "predict_per_s", "latency_p50_ms", "latency_p99_ms", "model_mb"):
        assert row[key] > 0, key
    assert row["latency_p50_ms"] <= row["latency_p99_ms"]
    assert row["peak_mb"] >= row["base_mb"] > 0
    if name == "akarclf":
        assert 0 < row["decide_p50_ms"] <= row["decide_p99_ms"]
        stages = row["profile"]["warm"]
        assert set(stages) == {"total", "normalising", "features", "classifier", "other"}
        assert row["profile"]["single_top"] and row["profile"]["batch_top"]


def test_fasttext_system_round_trips(tmp_path: Path, tiny_data: Any) -> None:
    pytest.importorskip("fasttext", reason="fastText comes with the [bench] extra")
    system = compare.make_system("fasttext_bigram", {"epoch": 25, "lr": 1.0, "thread": 1}, tmp_path)
    system.fit(tiny_data.train.titles, tiny_data.train.labels)
    proba = system.predict_proba(tiny_data.test.titles)
    assert proba.shape == (len(tiny_data.test), 4)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)
    assert sorted(system.classes_) == sorted(compare.CLUSTERS)
    loaded = compare.make_system("fasttext_bigram", {}, tmp_path).load(system.save(tmp_path))
    assert np.allclose(loaded.predict_proba(tiny_data.test.titles), proba)


def test_main_writes_json_list_and_markdown(
    tmp_path: Path,
    tiny_data: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(compare, "load_bench_data", lambda _: tiny_data)
    monkeypatch.setattr(compare, "in_child", lambda function, *args: function(*args))
    monkeypatch.setattr(compare, "start_child_server", lambda: None)
    out = tmp_path / "results" / "compare.json"
    status = compare.main(
        [
            "--data",
            "unused",
            "--out",
            str(out),
            "--systems",
            "akarclf",
            "sklearn_baseline",
            "--repeats",
            "1",
            "--latency-calls",
            "5",
            "--profile-titles",
            "10",
        ]
    )
    assert status == 0
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["system"] for r in rows] == ["akarclf", "sklearn_baseline"]
    for row in rows:
        assert row.keys() >= REQUIRED_KEYS
        assert row["run"]["machine"] and row["run"]["date"]
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| `sklearn_baseline` |" in text and "## Targets" in text
    assert text in capsys.readouterr().out
