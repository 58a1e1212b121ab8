"""How much the restriction gate adds to the cost of prediction.

The goal is that gating adds less than 5 % to the cost of ``predict_proba``. This script times

* :func:`akarclf.gate.decision.gate` on ``--rows`` synthetic rows (random Dirichlet probabilities,
  random seller flags, a few blank titles), best of ``--repeat`` runs;
* :func:`akarclf.gate.flags.parse_cross_border_many` on the same number of flags, as arrays and as
  Python lists of text;
* :func:`akarclf.text.normalize.blank_mask`, which :func:`~akarclf.gate.decision.decide` runs to find titles
  without usable words (it normalises every title a second time);
* :func:`akarclf.gate.decision.decide` without the model (a stub returning precomputed probabilities),
  i.e. the cost of building one :class:`~akarclf.gate.decision.DecisionRecord` per listing;
* ``predict_proba`` of a model on ``--titles`` made-up titles: the model from ``--model PATH``,
  else the shipped default when ``akarclf.load_model`` can load it, else a
  ``ClusterClassifier`` fitted on made-up titles (the real feature pipeline with a toy
  vocabulary; a real model has far more features, so the ratios printed are pessimistic);
* :func:`akarclf.gate.decision.decide` of one title at a time with that model, as a service calls
  it: the latency of the first call after loading, then p50 / p99 / max over ``--singles``
  calls on titles of known words and on titles that each bring a word never seen before
  (goal: p99 < 1 ms).

Run: ``python benchmarks/bench_gate.py [--rows 1000000] [--model PATH]``. No real data is used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from akarclf.clusters import CLUSTERS
from akarclf.gate.decision import decide, gate
from akarclf.gate.flags import parse_cross_border_many
from akarclf.gate.policy import load_policy
from akarclf.text.normalize import blank_mask

SKLEARN_ORDER = ("crafts", "culinary", "other", "textile_fashion")
ON = dt.date(2026, 1, 1)
#: Made-up title words per cluster, for the stand-in model and the timing titles.
WORDS = {
    "textile_fashion": [
        "kaos",
        "kemeja",
        "batik",
        "gamis",
        "jilbab",
        "sepatu",
        "sandal",
        "tas",
        "dompet",
        "celana",
        "rok",
    ],
    "culinary": [
        "keripik",
        "kopi",
        "bubuk",
        "teh",
        "sambal",
        "kue",
        "kering",
        "rendang",
        "madu",
        "kerupuk",
        "bumbu",
    ],
    "crafts": [
        "anyaman",
        "rotan",
        "ukiran",
        "kayu",
        "gerabah",
        "wayang",
        "rajut",
        "hiasan",
        "dinding",
        "lukisan",
    ],
    "other": [
        "casing",
        "hp",
        "charger",
        "kabel",
        "laptop",
        "mouse",
        "obeng",
        "helm",
        "mainan",
        "buku",
        "lampu",
    ],
}
FILLER = [
    "murah",
    "original",
    "premium",
    "ready",
    "stock",
    "promo",
    "ukuran",
    "warna",
    "besar",
    "kecil",
    "1kg",
    "250gr",
]


def best_seconds(action: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs of ``action`` (the least disturbed by other processes)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def made_up_titles(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    labels = rng.choice(np.array(CLUSTERS), size=n).tolist()
    titles = []
    for label in labels:
        words = list(rng.choice(WORDS[label], size=3)) + list(rng.choice(FILLER, size=4))
        rng.shuffle(words)
        titles.append(" ".join(words))
    return titles, labels


def fitted_cluster_classifier(rng: np.random.Generator) -> Any:
    """An ``akarclf.ClusterClassifier`` (default settings) fitted on made-up titles: the real
    feature pipeline (normalisation, stemming, word and character n-grams), toy vocabulary."""
    from akarclf.model.classifier import ClusterClassifier

    titles, labels = made_up_titles(4000, rng)
    return ClusterClassifier().fit(titles, labels)


class StandInModel:
    """Word TF-IDF + logistic regression with the ClusterClassifier interface."""

    model_version = "stand-in"

    def __init__(self, rng: np.random.Generator) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        titles, labels = made_up_titles(4000, rng)
        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(max_iter=500),
        ).fit(titles, labels)
        self.classes_ = self.pipeline.classes_

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(list(titles)))


class FixedProbabilities:
    """A 'model' that returns precomputed rows: times decide() without prediction."""

    classes_ = np.array(SKLEARN_ORDER)
    model_version = "fixed"

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        return self.proba[: len(titles)]


def load_reference_model(path: str | None, rng: np.random.Generator) -> tuple[Any, str]:
    load_model = getattr(importlib.import_module("akarclf"), "load_model", None)
    if path is not None:
        if load_model is None:
            raise SystemExit("akarclf.load_model is not available to load --model")
        return load_model(path), f"model {path}"
    if load_model is not None:
        try:
            model = load_model()
            return model, f"shipped default model {model.model_version}"
        except Exception as error:  # no default model trained yet
            print(f"(default model not loadable: {type(error).__name__}: {error})")
    try:
        model = fitted_cluster_classifier(rng)
        return model, "ClusterClassifier fitted on made-up titles (real pipeline, toy vocabulary)"
    except ImportError as error:
        print(f"(akarclf.model.classifier not importable: {error})")
    return StandInModel(rng), "stand-in TF-IDF + logistic regression (no stemming)"


def _percentiles(call: Callable[[str], object], titles: list[str]) -> str:
    times = np.empty(len(titles))
    for i, title in enumerate(titles):
        start = time.perf_counter()
        call(title)
        times[i] = time.perf_counter() - start
    p50, p99 = np.percentile(times, [50, 99]) * 1e6
    return f"p50 {p50:6.0f} us  p99 {p99:6.0f} us  max {times.max() * 1e6:7.0f} us"


def single_title_latency(model: Any, policy: Any, n: int, rng: np.random.Generator) -> None:
    """Print the latency of ``decide`` on one title at a time (a service's request)."""

    def one(title: str) -> object:
        return decide(title, True, model=model, policy=policy, on=ON)

    start = time.perf_counter()
    one("kemeja batik tulis pria lengan panjang")
    print(f"decide() 1 title, first call: {1e3 * (time.perf_counter() - start):8.1f} ms")
    known, _ = made_up_titles(n, rng)
    for title in known[:200]:
        one(title)
    print(f"decide() 1 title, known words:  {_percentiles(one, known)}  (goal p99 < 1 ms)")
    unseen = [f"{title} zq{i}x" for i, title in enumerate(known)]
    print(f"decide() 1 title, 1 new word:   {_percentiles(one, unseen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for gate()")
    parser.add_argument("--titles", type=int, default=20_000, help="titles for predict_proba")
    parser.add_argument("--records", type=int, default=100_000, help="rows for decide()")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", default=None, help="model file (default: shipped/stand-in)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--singles", type=int, default=5000, help="one-title decide() calls")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    policy = load_policy()

    n = args.rows
    proba = rng.dirichlet(np.full(len(SKLEARN_ORDER), 0.5), size=n)
    flags = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=n, p=[0.01, 0.49, 0.5])
    blank = rng.random(n) < 0.001
    seconds = best_seconds(
        lambda: gate(proba, SKLEARN_ORDER, flags, blank, policy, ON), args.repeat
    )
    gate_us = 1e6 * seconds / n
    print(f"gate():                      {gate_us:8.3f} us/row  ({n:,} rows, {seconds:.3f} s)")

    bools = flags == 1
    seconds = best_seconds(lambda: parse_cross_border_many(bools), args.repeat)
    print(f"parse_cross_border_many bool:{1e6 * seconds / n:8.3f} us/row")
    words = np.array(["ya", "tidak", "true", "false", "1", "0", ""])[rng.integers(0, 7, n)]
    text = words.tolist()
    seconds = best_seconds(lambda: parse_cross_border_many(text), args.repeat)
    flag_text_us = 1e6 * seconds / n
    print(f"parse_cross_border_many text:{flag_text_us:8.3f} us/row  (Python list of str)")

    m = min(args.records, n)
    titles_m, _ = made_up_titles(m, rng)
    seconds = best_seconds(lambda: blank_mask(titles_m), args.repeat)
    blank_us = 1e6 * seconds / m
    print(f"blank_mask() (text.py):      {blank_us:8.3f} us/row  (normalises every title)")
    fixed = FixedProbabilities(proba[:m])
    raw_flags = np.where(flags[:m] == -1, np.nan, flags[:m])  # as read from a CSV column
    seconds = best_seconds(
        lambda: decide(titles_m, raw_flags, model=fixed, policy=policy, on=ON), args.repeat
    )
    decide_us = 1e6 * seconds / m
    print(
        f"decide() without prediction: {decide_us:8.3f} us/row  ({m:,} records, incl. blank_mask)"
    )

    model, description = load_reference_model(args.model, rng)
    single_title_latency(model, policy, args.singles, rng)
    titles, _labels = made_up_titles(args.titles, rng)
    seconds = best_seconds(lambda: model.predict_proba(titles), max(1, args.repeat - 1))
    predict_us = 1e6 * seconds / len(titles)
    print(f"predict_proba():             {predict_us:8.3f} us/row  ({len(titles):,} titles, "
          f"{description})")  # fmt: skip
    print()
    print(f"gate / predict_proba:            {100 * gate_us / predict_us:6.2f} %  (goal < 5 %)")
    print(f"flag parsing (text) / predict:   {100 * flag_text_us / predict_us:6.2f} %")
    print(f"blank_mask / predict:            {100 * blank_us / predict_us:6.2f} %")
    print(f"decide overhead / predict:       {100 * decide_us / predict_us:6.2f} %  "
          "(records + blank_mask + flags + gate)")  # fmt: skip


if __name__ == "__main__":
    main()
