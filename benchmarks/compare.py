"""akarclf against fastText and a plain scikit-learn baseline, on the same held-out split.

Every system is trained on the training part of akarclf's group split of a data folder
(:func:`akarclf.training.splits.group_split`, seed 0, 20 % test) and evaluated on its test part and on
the hand-labelled gold set (``gold_dev.csv``, never trained on here):

``akarclf``
    :class:`akarclf.model.classifier.ClusterClassifier` in its default configuration.
``sklearn_baseline``
    ``TfidfVectorizer()`` + ``LogisticRegression()`` on the raw titles, library defaults
    (``max_iter`` raised so it converges).
``fasttext_bigram`` / ``fasttext_subword``
    fastText supervised with word bigrams, and with character n-grams of 2-5 characters (the
    range akarclf's char n-grams use). ``dim=50, bucket=200000`` as in fastText's own
    text-classification tutorial (the default 2M buckets x 100 dimensions is an 800 MB model).
    Titles are lower-cased and split into word tokens, the tutorial's preprocessing. Epochs and
    learning rate are chosen on a validation split carved from the training part
    (``group_split(train, test_fraction=0.1, seed=1)``), never on the test part. One thread,
    because fastText is only reproducible single-threaded and akarclf fits on one core too
    (``--fasttext-threads`` changes it).

Each system is measured in its own child process (spawn), so ``peak_mb`` (the child's
``ru_maxrss``) is that system's alone: interpreter, libraries, the titles and the training.
In the child the model is trained ``--repeats`` times (``train_s`` is the median), saved
(``model_mb``), loaded back as a service would, and the loaded model is scored (accuracy,
macro-F1, F1 per cluster, gold macro-F1) and timed: batch ``predict_proba`` of the whole test
part (``predict_per_s``, median of the repeats; akarclf's stem cache is emptied before each
run, so this is a fresh process's figure), and ``predict_proba([title])`` called
``--latency-calls`` times on test titles, one title per call as a service calls it
(``latency_p50_ms`` / ``latency_p99_ms``, the median over the repeats of each run's
percentile). For akarclf the service path ``akarclf.gate.decision.decide(title, True)`` is timed the
same way, and the cost of ``predict_proba`` is split into its stages (``--profile-titles``
titles: normalising, stemming, word n-grams, char n-grams, the rest of vectorising, the SVM
and its calibration).

Run: ``python benchmarks/compare.py --data ../shared/data [--out benchmarks/results/compare.json]``
(needs the ``[bench]`` extra: ``fasttext-numpy2-wheel``). The JSON is a list with one object per
system; the Markdown next to it (same name, ``.md``) is the table printed at the end, with the
machine, the date, the load average during each system's run and the targets met or missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

#: Systems in the order they are run and shown; akarclf first, the ratios are to it.
SYSTEMS = ("akarclf", "sklearn_baseline", "fasttext_bigram", "fasttext_subword")
#: Cluster order of every per-cluster figure (as in akarclf.clusters.CLUSTERS).
CLUSTERS = ("textile_fashion", "culinary", "crafts", "other")
#: Timings that are also given as a ratio to akarclf's.
TIMING_KEYS = ("train_s", "predict_per_s", "latency_p50_ms", "latency_p99_ms")
#: fastText settings shared by both variants (see the module docstring).
FASTTEXT_COMMON: dict[str, Any] = {"dim": 50, "bucket": 200_000, "verbose": 0, "seed": 0}
FASTTEXT_VARIANTS: dict[str, dict[str, Any]] = {
    "fasttext_bigram": {"wordNgrams": 2},
    "fasttext_subword": {"minn": 2, "maxn": 5},
}
#: Validation grid of the fastText variants.
FASTTEXT_EPOCHS = (10, 25, 50)
FASTTEXT_LRS = (0.1, 0.3, 1.0)
MIB = 1024 * 1024

_WORD = re.compile(r"\w+")


# --- data ---------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Titles and labels of one part of the data."""

    titles: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.titles)


@dataclass
class BenchData:
    """Everything the systems see: train/test (the classifier's split), validation, gold."""

    train: Corpus
    test: Corpus
    gold: Corpus
    fit: Corpus  # training part minus the validation part: fastText's tuning fits
    valid: Corpus  # fastText's tuning is scored here, never on test


def _corpus(examples: Sequence[Any]) -> Corpus:
    return Corpus([e.title for e in examples], [e.label for e in examples])


def load_bench_data(data_dir: str | Path) -> BenchData:
    """Labelled titles of ``data_dir`` split as akarclf's classifier splits them."""
    from akarclf.training.datasets import load_gold, load_training_data
    from akarclf.training.splits import group_split

    data = load_training_data(data_dir)
    split = group_split(data.examples, test_fraction=0.2, seed=0)
    tuning = group_split(split.train, test_fraction=0.1, seed=1)
    return BenchData(
        train=_corpus(split.train),
        test=_corpus(split.test),
        gold=_corpus(load_gold(data_dir)),
        fit=_corpus(tuning.train),
        valid=_corpus(tuning.test),
    )


# --- systems ------------------------------------------------------------------------------------


class System:
    """A classifier over raw titles with the four operations the benchmark times."""

    classes_: np.ndarray

    def fit(self, titles: list[str], labels: list[str]) -> System:
        raise NotImplementedError

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        raise NotImplementedError

    def save(self, directory: Path) -> Path:
        raise NotImplementedError

    def load(self, path: Path) -> System:
        raise NotImplementedError

    def reset_caches(self) -> None:
        """Forget whatever makes a second prediction of the same titles cheaper."""

    def predict(self, titles: list[str]) -> np.ndarray:
        best = np.argmax(self.predict_proba(titles), axis=1)
        return np.asarray(np.asarray(self.classes_)[best])


class AkarclfSystem(System):
    """``ClusterClassifier()`` as shipped: default parameters, its own file format."""

    def __init__(self) -> None:
        self.model: Any = None

    def fit(self, titles: list[str], labels: list[str]) -> AkarclfSystem:
        from akarclf.model.classifier import ClusterClassifier

        self.model = ClusterClassifier().fit(titles, labels)
        self.classes_ = self.model.classes_
        return self

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(titles))

    def save(self, directory: Path) -> Path:
        from akarclf.model.persistence import save_model

        return save_model(self.model, directory / "model.akarclf")

    def load(self, path: Path) -> AkarclfSystem:
        from akarclf.model.persistence import load_model

        self.model = load_model(path)
        self.classes_ = self.model.classes_
        return self

    def reset_caches(self) -> None:
        reset_akarclf_caches(self.model)


def reset_akarclf_caches(model: Any) -> None:
    """Empty akarclf's stem cache, any per-word feature cache of the model's vectorizers and
    the model's batch scorer (with its index of words seen).

    These caches are private (``_unit_cache`` of ``akarclf.model.features``, ``_scorer`` of
    ``akarclf.model.classifier``): emptying them is what a freshly loaded model starts with. The stems
    the model stored at training time stay: a fresh process has them too.
    """
    from akarclf.text.normalize import stem_token

    stem_token.cache_clear()
    vars(model).pop("_scorer", None)
    features = getattr(model, "features_", None)
    for _, part in getattr(features, "transformer_list", []):
        vars(part).pop("_unit_cache", None)


class SklearnBaseline(System):
    """``TfidfVectorizer()`` + ``LogisticRegression()`` on raw titles, saved with joblib."""

    def __init__(self) -> None:
        self.pipeline: Any = None

    def fit(self, titles: list[str], labels: list[str]) -> SklearnBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000))
        self.pipeline.fit(titles, labels)
        self.classes_ = self.pipeline.classes_
        return self

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(titles))

    def save(self, directory: Path) -> Path:
        import joblib

        path = directory / "baseline.joblib"
        joblib.dump(self.pipeline, path)
        return path

    def load(self, path: Path) -> SklearnBaseline:
        import joblib

        self.pipeline = joblib.load(path)
        self.classes_ = self.pipeline.classes_
        return self


def fasttext_text(title: str) -> str:
    """A title as fastText reads it: lower-case word tokens separated by single spaces."""
    return " ".join(_WORD.findall(title.lower()))


def write_fasttext_file(path: Path, titles: Sequence[str], labels: Sequence[str]) -> Path:
    """fastText's training format: ``__label__<cluster> <tokens>`` per line."""
    with path.open("w", encoding="utf-8") as handle:
        for title, label in zip(titles, labels, strict=True):
            handle.write(f"__label__{label} {fasttext_text(title)}\n")
    return path


class FastTextSystem(System):
    """fastText supervised; ``options`` go to ``fasttext.train_supervised``."""

    def __init__(self, options: dict[str, Any], workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.model: Any = None

    def fit(self, titles: list[str], labels: list[str]) -> FastTextSystem:
        import fasttext

        # Writing the input file is part of fastText's training cost.
        path = write_fasttext_file(self.workdir / "train.txt", titles, labels)
        self.model = fasttext.train_supervised(str(path), **self.options)
        self._index()
        return self

    def _index(self) -> None:
        names = sorted(label.removeprefix("__label__") for label in self.model.labels)
        self.classes_ = np.asarray(names, dtype=object)
        self._column = {f"__label__{name}": i for i, name in enumerate(names)}

    def predict_proba(self, titles: list[str]) -> np.ndarray:
        labels, probs = self.model.predict([fasttext_text(t) for t in titles], k=-1)
        out = np.zeros((len(titles), len(self.classes_)))
        column = self._column
        for row, (names, values) in enumerate(zip(labels, probs, strict=True)):
            for name, value in zip(names, values, strict=True):
                out[row, column[name]] = value
        return out

    def save(self, directory: Path) -> Path:
        path = directory / "fasttext.bin"
        self.model.save_model(str(path))
        return path

    def load(self, path: Path) -> FastTextSystem:
        import fasttext

        self.model = fasttext.load_model(str(path))
        self._index()
        return self


def make_system(name: str, params: dict[str, Any], workdir: Path) -> System:
    """A fresh, unfitted system; ``params`` are the tuned fastText options (else ignored)."""
    if name == "akarclf":
        return AkarclfSystem()
    if name == "sklearn_baseline":
        return SklearnBaseline()
    if name in FASTTEXT_VARIANTS:
        return FastTextSystem({**FASTTEXT_COMMON, **FASTTEXT_VARIANTS[name], **params}, workdir)
    raise ValueError(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}")


# --- metrics ------------------------------------------------------------------------------------


def scores(labels: Sequence[str], predicted: Sequence[str] | np.ndarray) -> dict[str, Any]:
    """Macro-F1 over the four clusters, accuracy and F1 per cluster."""
    from sklearn.metrics import accuracy_score, f1_score

    per = f1_score(labels, predicted, labels=list(CLUSTERS), average=None, zero_division=0)
    return {
        "macro_f1": float(np.mean(per)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": {c: float(v) for c, v in zip(CLUSTERS, per, strict=True)},
    }


def latencies_ms(call: Callable[[str], object], titles: Sequence[str]) -> np.ndarray:
    """Milliseconds of ``call(title)`` for each title, one call at a time."""
    out = np.empty(len(titles))
    clock = time.perf_counter_ns
    for i, title in enumerate(titles):
        start = clock()
        call(title)
        out[i] = clock() - start
    return out / 1e6


def percentiles(samples_ms: np.ndarray) -> tuple[float, float]:
    """(p50, p99) of latency samples in milliseconds."""
    p50, p99 = np.percentile(samples_ms, [50, 99])
    return float(p50), float(p99)


def median_latency(
    call: Callable[[str], object], titles: Sequence[str], repeats: int
) -> tuple[float, float]:
    """Median over ``repeats`` runs of each run's (p50, p99)."""
    runs = [percentiles(latencies_ms(call, titles)) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (``ru_maxrss``: KiB on Linux, B on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """User + system CPU seconds this process has used (all its threads)."""
    times = os.times()
    return times.user + times.system


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- one system, in its own process -------------------------------------------------------------


@dataclass
class Settings:
    """How much to measure."""

    repeats: int = 3
    latency_calls: int = 10_000
    profile_titles: int = 20_000
    fasttext_threads: int = 1
    seed: int = 0


def latency_titles(test: Corpus, calls: int, seed: int) -> list[str]:
    """``calls`` test titles in a seeded random order (repeated if the test part is smaller)."""
    rng = np.random.default_rng(seed)
    index = rng.permutation(np.resize(np.arange(len(test)), max(calls, 1)))[:calls]
    return [test.titles[i] for i in index]


def measure_system(
    name: str, data: BenchData, settings: Settings, params: dict[str, Any]
) -> dict[str, Any]:
    """Train, save, load, score and time one system; returns its row of the table."""
    load_before = _load()
    base_mb = _rss_mb()
    with tempfile.TemporaryDirectory(prefix=f"akarclf-bench-{name}-") as tmp:
        workdir = Path(tmp)
        train_times = []
        system = make_system(name, params, workdir)
        for _ in range(settings.repeats):
            system = make_system(name, params, workdir)
            start = time.perf_counter()
            system.fit(data.train.titles, data.train.labels)
            train_times.append(time.perf_counter() - start)
        path = system.save(workdir)
        model_mb = path.stat().st_size / MIB
        del system
        served = make_system(name, params, workdir).load(path)

        row: dict[str, Any] = {"system": name}
        row.update(scores(data.test.labels, served.predict(data.test.titles)))
        gold = scores(data.gold.labels, served.predict(data.gold.titles))
        row["gold_macro_f1"] = gold["macro_f1"]
        row["gold_f1"] = gold["f1"]
        row["gold_accuracy"] = gold["accuracy"]

        batch_times = []
        for _ in range(settings.repeats):
            served.reset_caches()
            start = time.perf_counter()
            served.predict_proba(data.test.titles)
            batch_times.append(time.perf_counter() - start)
        warm_start = time.perf_counter()
        served.predict_proba(data.test.titles)
        warm_s = time.perf_counter() - warm_start

        titles = latency_titles(data.test, settings.latency_calls, settings.seed)
        p50, p99 = median_latency(lambda t: served.predict_proba([t]), titles, settings.repeats)
        row.update(
            train_s=statistics.median(train_times),
            predict_per_s=len(data.test) / statistics.median(batch_times),
            latency_p50_ms=p50,
            latency_p99_ms=p99,
            peak_mb=0.0,  # filled in last, after everything this process does
            model_mb=model_mb,
            gold_macro_f1=row.pop("gold_macro_f1"),
            train_s_runs=train_times,
            predict_s_runs=batch_times,
            predict_per_s_warm=len(data.test) / warm_s,
            base_mb=base_mb,
            params={k: v for k, v in params.items()},
        )
        if isinstance(served, FastTextSystem):
            row["params"] = {k: v for k, v in served.options.items() if k != "verbose"}
        if isinstance(served, AkarclfSystem):
            row.update(_akarclf_extras(served, data, titles, settings))
    row["peak_mb"] = peak_rss_mb()
    row["cpu_s"] = cpu_seconds()
    row["load_avg"] = {"before": load_before, "after": _load()}
    return row


def _akarclf_extras(
    served: AkarclfSystem, data: BenchData, titles: list[str], settings: Settings
) -> dict[str, Any]:
    """The service path (``decide``) latency and where ``predict_proba``'s time goes."""
    from akarclf.gate.decision import decide
    from akarclf.gate.policy import load_policy

    policy = load_policy()
    model = served.model
    p50, p99 = median_latency(
        lambda t: decide(t, True, model=model, policy=policy), titles, settings.repeats
    )
    extras: dict[str, Any] = {"decide_p50_ms": p50, "decide_p99_ms": p99}
    if settings.profile_titles > 0:
        sample = latency_titles(data.test, settings.profile_titles, settings.seed + 1)
        single = titles[: min(len(titles), 2000)]
        extras["profile"] = {
            "titles": len(sample),
            "cold": stage_seconds(model, sample, cold=True),
            "warm": stage_seconds(model, sample, cold=False),
            "batch_top": top_functions(lambda: model.predict_proba(sample)),
            "single_calls": len(single),
            "single_top": top_functions(lambda: [model.predict_proba([t]) for t in single]),
        }
    return extras


def stage_seconds(model: Any, titles: list[str], *, cold: bool) -> dict[str, float]:
    """Seconds per stage of ``model.predict_proba(titles)`` for a fitted ClusterClassifier.

    Each stage is timed on its own, without a profiler (whose per-call overhead inflates the
    many small Python calls of text processing): ``normalising`` (``normalize_title``),
    ``features`` (the batch scorer's word index and TF-IDF: stems, word and character n-grams
    of words not seen before, vocabulary look-ups, counts), ``classifier`` (the SVM's scores,
    their sigmoid calibration, the prior), and ``other`` (the rest of one plain
    ``predict_proba``). With ``cold`` every cache (stems, per-word features, the scorer's
    index) is emptied first, as in a fresh process.
    """
    from akarclf.model.classifier import _normalize_all

    clock = time.perf_counter
    if cold:
        reset_akarclf_caches(model)
    start = clock()
    model.predict_proba(titles)
    total = clock() - start

    start = clock()
    normalized = _normalize_all(titles)
    normalising = clock() - start
    if cold:
        reset_akarclf_caches(model)
    scorer = model._batch_scorer()
    start = clock()
    if scorer is None:
        matrix = model.features_.transform(normalized)
    else:
        blocks = scorer.tfidf(scorer.resolve(normalized))
    features = clock() - start
    start = clock()
    if scorer is None:
        model._apply_prior(model.calibrated_.predict_proba(matrix))
    else:
        model._apply_prior(scorer.view.calibrate(scorer.linear_scores(blocks)))
    classifier = clock() - start
    return {
        "total": total,
        "normalising": normalising,
        "features": features,
        "classifier": classifier,
        "other": max(total - normalising - features - classifier, 0.0),
    }


def top_functions(action: Callable[[], object], top: int = 12) -> list[dict[str, Any]]:
    """The functions with the most own time (cProfile ``tottime``) while ``action`` runs."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    out = []
    for (filename, line, function), (_, calls, own, cumulative, _) in rows:
        where = filename
        for marker in ("site-packages/", "akarclf/", "lib/python"):
            if marker in filename:
                where = filename.split(marker, 1)[1]
                where = ("akarclf/" + where) if marker == "akarclf/" else where
                break
        out.append(
            {
                "function": f"{where}:{line}({function})",
                "calls": calls,
                "own_s": own,
                "cumulative_s": cumulative,
                "share": own / total,
            }
        )
    return out


# --- fastText tuning ----------------------------------------------------------------------------


def tune_fasttext(name: str, data: BenchData, settings: Settings) -> dict[str, Any]:
    """Epochs and learning rate of one fastText variant with the best validation macro-F1.

    Fitted on ``data.fit`` and scored on ``data.valid`` (both carved from the training part);
    ties go to fewer epochs, then to the smaller learning rate.
    """
    results = []
    with tempfile.TemporaryDirectory(prefix=f"akarclf-tune-{name}-") as tmp:
        for epoch in FASTTEXT_EPOCHS:
            for lr in FASTTEXT_LRS:
                params = {"epoch": epoch, "lr": lr, "thread": settings.fasttext_threads}
                system = make_system(name, params, Path(tmp)).fit(data.fit.titles, data.fit.labels)
                f1 = scores(data.valid.labels, system.predict(data.valid.titles))["macro_f1"]
                results.append({"epoch": epoch, "lr": lr, "valid_macro_f1": f1})
    best = max(results, key=lambda r: (round(r["valid_macro_f1"], 6), -r["epoch"], -r["lr"]))
    return {
        "epoch": best["epoch"],
        "lr": best["lr"],
        "thread": settings.fasttext_threads,
        "grid": results,
        "cpu_s": cpu_seconds(),
    }


def child_context() -> Any:
    """Where child processes come from: a fork server started while this process is small.

    A child made by fork (or fork + exec, as ``spawn`` does) inherits the parent's resident set
    in its ``ru_maxrss`` (Linux keeps the high-water mark across exec), so a child of a parent
    holding the loaded data would report the parent's memory as its own peak. Children forked
    from a fork server started before the data is loaded start from the server's small
    footprint. Where there is no fork server (Windows), ``spawn``.
    """
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return get_context(method)


def start_child_server() -> None:
    """Start the fork server now (call before loading anything big)."""
    if child_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def in_child(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh child process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=child_context()) as pool:
        return pool.submit(function, *args).result()


# --- the table ----------------------------------------------------------------------------------


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each timing as a ratio to akarclf's (``ratio_to_akarclf``; akarclf's are 1.0)."""
    reference = next((r for r in rows if r["system"] == "akarclf"), None)
    for row in rows:
        row["ratio_to_akarclf"] = {
            key: (row[key] / reference[key] if reference and reference[key] else None)
            for key in (*TIMING_KEYS, "peak_mb", "model_mb")
        }


@dataclass
class Target:
    """One goal of the issue: ``value`` compared with ``limit``."""

    name: str
    value: float
    limit: float
    higher_is_better: bool
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit


def targets(rows: list[dict[str, Any]]) -> list[Target]:
    """The issue's targets, evaluated on the measured rows (those present)."""
    by = {r["system"]: r for r in rows}
    out: list[Target] = []
    a = by.get("akarclf")
    if a is None:
        return out
    ft = [by[n] for n in ("fasttext_bigram", "fasttext_subword") if n in by]
    if ft:
        best = max(r["macro_f1"] for r in ft)
        out.append(Target("macro-F1 >= best fastText + 0.01", a["macro_f1"], best + 0.01, True))
    if "sklearn_baseline" in by:
        base = by["sklearn_baseline"]["macro_f1"]
        out.append(Target("macro-F1 >= plain baseline + 0.01", a["macro_f1"], base + 0.01, True))
    if "fasttext_bigram" in by:
        b = by["fasttext_bigram"]
        out.append(
            Target(
                "throughput >= 0.5 x fastText bigram",
                a["predict_per_s"],
                0.5 * b["predict_per_s"],
                True,
                " titles/s",
            )
        )
    if "fasttext_subword" in by:
        s = by["fasttext_subword"]
        out.append(
            Target(
                "throughput >= 1.0 x fastText subword",
                a["predict_per_s"],
                s["predict_per_s"],
                True,
                " titles/s",
            )
        )
    if ft:
        slowest = max(r["train_s"] for r in ft)
        fastest = min(r["train_s"] for r in ft)
        out.append(
            Target(
                "training <= 2 x fastText (faster variant)", a["train_s"], 2 * fastest, False, " s"
            )
        )
        out.append(
            Target(
                "training <= 2 x fastText (slower variant)", a["train_s"], 2 * slowest, False, " s"
            )
        )
    out.append(Target("model size <= 15 MB", a["model_mb"], 15.0, False, " MB"))
    if "decide_p99_ms" in a:
        out.append(Target("decide() p99 < 1 ms", a["decide_p99_ms"], 1.0, False, " ms"))
    return out


def _fmt(value: float, digits: int = 3) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}g}" if value < 1 else f"{value:.2f}"


def _with_ratio(row: dict[str, Any], key: str) -> str:
    ratio = row["ratio_to_akarclf"][key]
    text = _fmt(row[key])
    return text if row["system"] == "akarclf" or ratio is None else f"{text} ({ratio:.2g}x)"


def markdown(rows: list[dict[str, Any]], run: dict[str, Any]) -> str:
    """The results as Markdown: the table, targets, akarclf's profile and the run's context."""
    header = [
        "system",
        "macro-F1",
        "gold macro-F1",
        "accuracy",
        *(f"F1 {c}" for c in CLUSTERS),
        "train s",
        "titles/s (batch)",
        "p50 ms",
        "p99 ms",
        "peak MB",
        "model MB",
    ]
    lines = [
        "# akarclf vs fastText vs a plain scikit-learn baseline",
        "",
        f"Command: `{run['command']}`  ",
        f"Date (UTC): {run['date']}  ",
        f"Machine: {run['machine']}  ",
        f"Software: {run['software']}  ",
        f"Commit: {run['commit']}  ",
        f"Data: {run['data']}  ",
        f"Load average (1/5/15 min) at start: {run['load_start']}, at end: {run['load_end']}  ",
        f"Run time: {run['wall_s']:.0f} s wall clock, {run['cpu_s']:.0f} s of CPU in this "
        "process and its children (one system at a time: on an idle machine the wall clock "
        "is close to the CPU time)",
        "",
        "Held-out test part of akarclf's group split; gold = `gold_dev.csv`, never trained on. "
        "Timings are medians of "
        f"{run['repeats']} runs; in brackets the ratio to akarclf measured in the same run. "
        "Latency: one `predict_proba([title])` per call, "
        f"{run['latency_calls']:,} calls per run. MB = MiB.",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    for r in rows:
        cells = [
            f"`{r['system']}`",
            f"{r['macro_f1']:.4f}",
            f"{r['gold_macro_f1']:.4f}",
            f"{r['accuracy']:.4f}",
            *(f"{r['f1'][c]:.4f}" for c in CLUSTERS),
            _with_ratio(r, "train_s"),
            _with_ratio(r, "predict_per_s"),
            _with_ratio(r, "latency_p50_ms"),
            _with_ratio(r, "latency_p99_ms"),
            _fmt(r["peak_mb"]),
            _fmt(r["model_mb"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    a = next((r for r in rows if r["system"] == "akarclf"), None)
    if a and "decide_p50_ms" in a:
        lines += [
            "",
            f"akarclf service path `decide(title, True)`: p50 {a['decide_p50_ms']:.3f} ms, "
            f"p99 {a['decide_p99_ms']:.3f} ms ({run['latency_calls']:,} calls, median of "
            f"{run['repeats']} runs). Batch throughput with warm caches (a long-running "
            f"process that has seen these words): {a['predict_per_s_warm']:,.0f} titles/s"
            + "".join(
                f", {a['predict_per_s_warm'] / r['predict_per_s']:.2f}x `{r['system']}`"
                for r in rows
                if r["system"] in FASTTEXT_VARIANTS
            )
            + ".",
        ]
    checks = targets(rows)
    if checks:
        lines += [
            "",
            "## Targets",
            "",
            "| target | measured | limit | met | gap |",
            "|---|---|---|---|---|",
        ]
        for t in checks:
            if t.met:
                gap = ""
            elif t.higher_is_better:
                gap = f"{t.limit / t.value:.1f}x short" if t.value > 0 else "n/a"
                if t.unit == "":
                    gap = f"{t.limit - t.value:+.4f}"
            else:
                gap = f"{t.value / t.limit:.1f}x over"
            lines.append(
                f"| {t.name} | {_fmt(t.value, 4)}{t.unit} | {_fmt(t.limit, 4)}{t.unit} | "
                f"{'yes' if t.met else 'no'} | {gap} |"
            )
    if a and "profile" in a:
        prof = a["profile"]
        lines += [
            "",
            f"## Where akarclf's `predict_proba` time goes ({prof['titles']:,} titles, "
            "each stage timed on its own)",
            "",
            "| stage | cold s | share | warm s | share |",
            "|---|---|---|---|---|",
        ]
        for stage in prof["cold"]:
            cold, warm = prof["cold"][stage], prof["warm"][stage]
            lines.append(
                f"| {stage} | {cold:.3f} | {cold / prof['cold']['total']:.0%} | {warm:.3f} | "
                f"{warm / prof['warm']['total']:.0%} |"
            )
        lines += [
            "",
            "Cold: stem cache and per-word feature caches emptied first (a fresh process); "
            "warm: a process that has seen these titles. The stages are separate passes, so "
            "`other` is what one plain `predict_proba` spends outside them.",
        ]
        for key, label in (
            ("single_top", f"one title per call, {prof['single_calls']:,} calls"),
            ("batch_top", f"one batch of {prof['titles']:,} titles, warm"),
        ):
            lines += [
                "",
                f"cProfile, own time per function ({label}; the profiler inflates Python calls):",
                "",
                "| function | calls | own s | share |",
                "|---|---|---|---|",
            ]
            for f in prof[key]:
                lines.append(
                    f"| `{f['function']}` | {f['calls']:,} | {f['own_s']:.3f} | {f['share']:.0%} |"
                )
    tuned = [r for r in rows if r["system"] in FASTTEXT_VARIANTS]
    if tuned:
        lines += ["", "## fastText settings (epochs and learning rate tuned on validation)", ""]
        for r in tuned:
            grid = r.get("tuning", {}).get("grid", [])
            best = max((g["valid_macro_f1"] for g in grid), default=float("nan"))
            lines.append(f"- `{r['system']}`: {r['params']} (validation macro-F1 {best:.4f})")
    lines += ["", "Load average per system (before / after its child process):", ""]
    for r in rows:
        lines.append(f"- `{r['system']}`: {r['load_avg']['before']} / {r['load_avg']['after']}")
    busiest = max([run["load_start"][0], *(x for r in rows for x in r["load_avg"]["after"][:1])])
    cores = run.get("cores") or 1
    if busiest > cores:
        lines += [
            "",
            f"The 1-minute load average reached {busiest:.1f} on {cores} cores: other processes "
            "were competing for the CPU, so timings (p99 latencies most) include waiting for "
            "it; ratios measured in the same run are the sturdier figures.",
        ]
    return "\n".join(lines) + "\n"


# --- run ----------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kib = int(handle.readline().split()[1])
        return f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown memory"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("akarclf", "scikit-learn", "numpy", "scipy", "fasttext-numpy2-wheel"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} not installed")
    return ", ".join(parts)


def _commit() -> str:
    """The checkout's commit, with ``+changes`` when the working tree differs from it."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "akarclf"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" +uncommitted changes under akarclf/" if dirty else "")


def run_info(args: argparse.Namespace, data: BenchData) -> dict[str, Any]:
    """Where, when and on what the benchmark ran."""
    return {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib()}, "
        f"{platform.system()} {platform.release()}",
        "software": _versions(),
        "commit": _commit(),
        "data": f"train {len(data.train):,} / test {len(data.test):,} titles "
        f"(tuning: fit {len(data.fit):,} / validation {len(data.valid):,}), "
        f"gold {len(data.gold):,}",
        "cores": os.cpu_count(),
        "repeats": args.repeats,
        "latency_calls": args.latency_calls,
        "load_start": _load(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default="../shared/data", help="data folder (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "compare.json",
        help="JSON output; the Markdown goes next to it with suffix .md (default: %(default)s)",
    )
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (default: 3)")
    parser.add_argument("--latency-calls", type=int, default=10_000, metavar="N")
    parser.add_argument(
        "--profile-titles",
        type=int,
        default=20_000,
        metavar="N",
        help="titles of akarclf's stage profile; 0 turns it off",
    )
    parser.add_argument("--fasttext-threads", type=int, default=1, metavar="N")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.latency_calls < 1:
        parser.error("--repeats and --latency-calls must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    start_child_server()
    data = load_bench_data(args.data)
    run = run_info(args, data)
    settings = Settings(
        repeats=args.repeats,
        latency_calls=args.latency_calls,
        profile_titles=args.profile_titles,
        fasttext_threads=args.fasttext_threads,
    )
    print(f"{run['data']}; load average {run['load_start']}", flush=True)
    rows = []
    for name in [s for s in SYSTEMS if s in args.systems]:
        tuning: dict[str, Any] = {}
        params: dict[str, Any] = {}
        if name in FASTTEXT_VARIANTS:
            tuning = in_child(tune_fasttext, name, data, settings)
            params = {k: tuning[k] for k in ("epoch", "lr", "thread")}
            print(f"{name}: tuned {params}", flush=True)
        row = in_child(measure_system, name, data, settings, params)
        if tuning:
            row["tuning"] = tuning
        rows.append(row)
        print(
            f"{name}: macro-F1 {row['macro_f1']:.4f}, train {row['train_s']:.1f} s, "
            f"{row['predict_per_s']:,.0f} titles/s ({time.perf_counter() - started:.0f} s so far)",
            flush=True,
        )
    add_ratios(rows)
    run["load_end"] = _load()
    run["wall_s"] = round(time.perf_counter() - started, 1)
    run["cpu_s"] = round(
        cpu_seconds() + sum(r["cpu_s"] + r.get("tuning", {}).get("cpu_s", 0.0) for r in rows), 1
    )
    for row in rows:
        row["run"] = run
    text = markdown(rows, run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')} in {run['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
