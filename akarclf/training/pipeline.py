"""Train the default model from a data folder: labels, split, ablation, gold out-of-fold, fit.

One function, :func:`train`, does everything ``akarclf train`` needs and returns the fitted
model with a :class:`TrainingReport` that the model card is written from. Every figure in the
report is computed here from the data given; nothing is typed in by hand.

The gold set (``gold_dev.csv``) is the most representative labelled data there is, so the
shipped model trains on it too; every figure reported on it is therefore out-of-fold: each of
``gold_folds`` models trains on the training split plus the other gold folds and predicts its
own fold. Policy thresholds are tuned on those same out-of-fold probabilities.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from akarclf.clusters import CLUSTERS
from akarclf.evaluation.metrics import evaluate_predictions
from akarclf.model.classifier import ClusterClassifier
from akarclf.training.datasets import Example, LabelledData, load_gold, load_training_data
from akarclf.training.food_fixture import load_food_fixture
from akarclf.training.reviews import load_reviews, provenance
from akarclf.training.splits import REVIEW, Split, group_split

#: Word-feature variants compared in the ablation (issue: surface, stems, both; +/- chars).
ABLATION_GRID: tuple[dict[str, Any], ...] = tuple(
    {"word_features": words, "char_ngrams": chars}
    for words in ("surface", "stem", "both")
    for chars in (None, (2, 5))
)


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides the trained model; recorded in its metadata."""

    seed: int = 0
    test_fraction: float = 0.2
    gold_folds: int = 5
    gold_weight: float = 3.0
    use_gold: bool = True
    #: Shift probabilities to gold_dev's cluster shares (the closest thing to a real catalogue)
    #: instead of the training mix's; out-of-fold models take the shares of their own folds.
    prior_from_gold: bool = True
    #: How far towards gold's shares (see ClusterClassifier.prior_strength): halfway, because
    #: gold's shares are themselves an estimate of a catalogue from 1,319 titles.
    prior_strength: float = 0.5
    #: Weight of a title labelled by reviewers: the labels read twice, blind, on real catalogue
    #: slices, are worth more than the taxonomy's (like gold's weight, they pull the model
    #: towards a real catalogue).
    review_weight: float = 3.0
    ablation: bool = True
    n_jobs: int = 2
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingReport:
    """What the model card shows: data, split, predictions to score, ablation, timings."""

    config: TrainingConfig
    data: LabelledData
    split: Split
    gold: list[Example]
    test_proba: np.ndarray
    gold_oof_proba: np.ndarray | None
    ablation: list[dict[str, Any]]
    classes: list[str]
    seconds: float
    class_prior: dict[str, float] | None = None
    reviews: dict[str, Any] | None = None  # provenance of reviewer labels (reviews.provenance)
    #: Labels of the mainstream food fixture and the shipped model's probabilities on it.
    food_fixture: tuple[list[str], np.ndarray] | None = None


def _titles(examples: list[Example]) -> list[str]:
    return [e.title for e in examples]


def _labels(examples: list[Example]) -> list[str]:
    return [e.label for e in examples]


def _fit(
    params: dict[str, Any],
    train: list[Example],
    extra: list[Example],
    weight: float,
    seed: int,
    review_weight: float = 1.0,
) -> ClusterClassifier:
    examples = train + extra
    weights = [review_weight if e.mapped_by == REVIEW else 1.0 for e in train]
    weights += [weight] * len(extra)
    model = ClusterClassifier(random_state=seed, **params)
    return model.fit(_titles(examples), _labels(examples), sample_weight=weights)


def _fit_predict(
    params: dict[str, Any],
    train: list[Example],
    extra: list[Example],
    weight: float,
    seed: int,
    targets: list[list[Example]],
    review_weight: float = 1.0,
) -> list[np.ndarray]:
    model = _fit(params, train, extra, weight, seed, review_weight)
    return [_proba_in_cluster_order(model, _titles(t)) for t in targets]


def _proba_in_cluster_order(model: ClusterClassifier, titles: list[str]) -> np.ndarray:
    proba = model.predict_proba(titles)
    order = [list(model.classes_).index(c) for c in CLUSTERS]
    return proba[:, order]


def _macro_f1(labels: list[str], proba: np.ndarray) -> dict[str, Any]:
    """The ablation's summary of :func:`akarclf.evaluation.metrics.evaluate_predictions`."""
    metrics = evaluate_predictions(labels, proba, list(CLUSTERS))
    return {
        "macro_f1": metrics["macro_f1"],
        "accuracy": metrics["accuracy"],
        "f1": {c: metrics["per_cluster"][c]["f1"] for c in CLUSTERS},
    }


def train(
    data_dir: str | Path,
    config: TrainingConfig | None = None,
    reviews: Sequence[str | Path] = (),
) -> tuple[ClusterClassifier, TrainingReport]:
    """Train the model on ``data_dir`` and compute everything its card reports.

    ``reviews`` are reviewer-label files (:mod:`akarclf.training.reviews`): their settled
    labels override the taxonomy's and the hand labels, and their provenance goes in the card.
    """
    config = config or TrainingConfig()
    start = time.perf_counter()
    resolved = load_reviews(reviews) if reviews else None
    data = load_training_data(data_dir, reviews=resolved.labels if resolved else None)
    split = group_split(data.examples, test_fraction=config.test_fraction, seed=config.seed)
    gold = load_gold(data_dir)
    gold_labels = np.asarray(_labels(gold))

    jobs: list[tuple[str, Any]] = []
    # Final model: training split plus all of gold (when used).
    final_extra = gold if config.use_gold else []
    final_params = _with_prior(config, config.params, gold)
    jobs.append(
        (
            "final",
            delayed(_fit)(
                final_params,
                split.train,
                final_extra,
                config.gold_weight,
                config.seed,
                config.review_weight,
            ),
        )
    )
    if config.use_gold:
        folds = StratifiedKFold(config.gold_folds, shuffle=True, random_state=config.seed)
        fold_index = list(folds.split(np.zeros(len(gold)), gold_labels))
        for k, (fit_idx, held_idx) in enumerate(fold_index):
            jobs.append(
                (
                    f"gold_fold_{k}",
                    delayed(_fit_predict)(
                        _with_prior(config, config.params, [gold[i] for i in fit_idx]),
                        split.train,
                        [gold[i] for i in fit_idx],
                        config.gold_weight,
                        config.seed,
                        [[gold[i] for i in held_idx]],
                        config.review_weight,
                    ),
                )
            )
    if config.ablation:
        # Variants with character n-grams take longest: started first, so that the pool's
        # workers finish together (the run is bounded by its slowest worker).
        by_cost = sorted(
            range(len(ABLATION_GRID)), key=lambda i: not ABLATION_GRID[i]["char_ngrams"]
        )
        for i in by_cost:
            params = {**config.params, **ABLATION_GRID[i]}
            jobs.append(
                (
                    f"ablation_{i}",
                    delayed(_fit_predict)(
                        params,
                        split.train,
                        [],
                        1.0,
                        config.seed,
                        [split.test, gold],
                        config.review_weight,
                    ),
                )
            )
    results = Parallel(n_jobs=config.n_jobs)(job for _, job in jobs)
    model = results[0]

    gold_oof = None
    ablation: list[dict[str, Any]] = []
    by_name = dict(zip([name for name, _ in jobs], results, strict=True))
    if config.use_gold:
        gold_oof = np.zeros((len(gold), len(CLUSTERS)))
        for k, (_, held_idx) in enumerate(fold_index):
            gold_oof[held_idx] = by_name[f"gold_fold_{k}"][0]
    for i, variant in enumerate(ABLATION_GRID if config.ablation else ()):
        test_proba_i, gold_proba_i = by_name[f"ablation_{i}"]
        ablation.append(
            {
                "word_features": variant["word_features"],
                "char_ngrams": list(variant["char_ngrams"]) if variant["char_ngrams"] else None,
                "test": _macro_f1(_labels(split.test), test_proba_i),
                "gold_no_gold_training": _macro_f1(_labels(gold), gold_proba_i),
            }
        )
    test_proba = _proba_in_cluster_order(model, _titles(split.test))
    food_titles, food_labels = load_food_fixture()
    report = TrainingReport(
        config=config,
        data=data,
        split=split,
        gold=gold,
        test_proba=test_proba,
        gold_oof_proba=gold_oof,
        ablation=ablation,
        classes=list(CLUSTERS),
        class_prior=final_params.get("class_prior"),
        seconds=time.perf_counter() - start,
        food_fixture=(food_labels, _proba_in_cluster_order(model, food_titles)),
        reviews=None
        if resolved is None
        else provenance(
            resolved,
            reviews,
            applied=data.reviewed,
            changed=data.review_changed,
            stale=data.review_stale,
            unmatched=data.review_unmatched,
        ),
    )
    return model, report


def fit_model(
    data_dir: str | Path,
    config: TrainingConfig | None = None,
    reviews: Sequence[str | Path] = (),
) -> ClusterClassifier:
    """Only the model :func:`train` ships (training split plus gold, reviewer labels applied),
    without any evaluation: for loops that need a model, not its figures."""
    config = config or TrainingConfig()
    resolved = load_reviews(reviews) if reviews else None
    data = load_training_data(data_dir, reviews=resolved.labels if resolved else None)
    split = group_split(data.examples, test_fraction=config.test_fraction, seed=config.seed)
    gold = load_gold(data_dir) if config.use_gold else []
    params = _with_prior(config, config.params, gold)
    return _fit(params, split.train, gold, config.gold_weight, config.seed, config.review_weight)


def _with_prior(
    config: TrainingConfig, params: dict[str, Any], gold: list[Example]
) -> dict[str, Any]:
    """``params`` with ``class_prior`` set to the cluster shares of ``gold`` when configured."""
    if not config.prior_from_gold or not gold or "class_prior" in params:
        return params
    counts = label_counts(gold)
    total = sum(counts.values())
    return {
        **params,
        "class_prior": {c: n / total for c, n in counts.items()},
        "prior_strength": config.prior_strength,
    }


def label_counts(examples: list[Example]) -> dict[str, int]:
    """Examples per cluster, in :data:`CLUSTERS` order."""
    counts = Counter(e.label for e in examples)
    return {c: counts.get(c, 0) for c in CLUSTERS}
