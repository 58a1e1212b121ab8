"""akarclf: may a cross-border seller list this product in Indonesia under Gerakan AKAR?

The public API is what this module exports; everything else is internal. Names are imported
on first use, so ``import akarclf`` (and ``akarclf --help``) stays fast for services and
command lines that need only part of the library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from akarclf._version import __version__
from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "ClusterClassifier": "akarclf.model.classifier",
    "TitleNormalizer": "akarclf.text.normalize",
    "normalize_title": "akarclf.text.normalize",
    "load_model": "akarclf.model.persistence",
    "save_model": "akarclf.model.persistence",
    "ModelFileError": "akarclf.model.errors",
    "Policy": "akarclf.gate.policy",
    "PolicyError": "akarclf.gate.policy",
    "load_policy": "akarclf.gate.policy",
    "DecisionRecord": "akarclf.gate.decide",
    "decide": "akarclf.gate.decide",
    "score_file": "akarclf.scoring",
    "score_records": "akarclf.scoring",
    "score_frame": "akarclf.scoring.frame",
    "evaluate_model": "akarclf.evaluation.metrics",
    "evaluate_predictions": "akarclf.evaluation.metrics",
    "save_evaluation_png": "akarclf.evaluation.plots",
    "load_training_data": "akarclf.training.datasets",
    "load_gold": "akarclf.training.datasets",
    "load_taxonomy": "akarclf.training.taxonomy",
    "group_split": "akarclf.training.splits",
    "train": "akarclf.training.train",
    "TrainingConfig": "akarclf.training.train",
    "build_card": "akarclf.training.card",
    "write_card": "akarclf.training.card",
    "save_with_card": "akarclf.training.card",
    "tune_thresholds": "akarclf.evaluation.tuning",
    "gate_report": "akarclf.evaluation.tuning",
    "rates_over_thresholds": "akarclf.evaluation.whatif",
    "rates_by_closure": "akarclf.evaluation.whatif",
    "rates_over_dates": "akarclf.evaluation.whatif",
    "closure_sets": "akarclf.evaluation.whatif",
}

__all__ = ["CLUSTERS", "PROTECTABLE_CLUSTERS", "__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from akarclf.evaluation.metrics import evaluate_model, evaluate_predictions
    from akarclf.evaluation.plots import save_evaluation_png
    from akarclf.evaluation.tuning import gate_report, tune_thresholds
    from akarclf.evaluation.whatif import (
        closure_sets,
        rates_by_closure,
        rates_over_dates,
        rates_over_thresholds,
    )
    from akarclf.gate.decide import DecisionRecord, decide
    from akarclf.gate.policy import Policy, PolicyError, load_policy
    from akarclf.model.classifier import ClusterClassifier
    from akarclf.model.errors import ModelFileError
    from akarclf.model.persistence import load_model, save_model
    from akarclf.scoring import score_file, score_records
    from akarclf.scoring.frame import score_frame
    from akarclf.text.normalize import TitleNormalizer, normalize_title
    from akarclf.training.card import build_card, save_with_card, write_card
    from akarclf.training.datasets import load_gold, load_training_data
    from akarclf.training.splits import group_split
    from akarclf.training.taxonomy import load_taxonomy
    from akarclf.training.train import TrainingConfig, train


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'akarclf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
