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
    "ClusterClassifier": "akarclf.model",
    "TitleNormalizer": "akarclf.text",
    "normalize_title": "akarclf.text",
    "load_model": "akarclf.model",
    "save_model": "akarclf.persistence",
    "ModelFileError": "akarclf.persistence",
    "Policy": "akarclf.policy",
    "PolicyError": "akarclf.policy",
    "load_policy": "akarclf.policy",
    "DecisionRecord": "akarclf.gate",
    "decide": "akarclf.gate",
    "score_file": "akarclf.batch",
    "score_records": "akarclf.batch",
    "score_frame": "akarclf.frame",
    "evaluate_model": "akarclf.evaluation",
    "evaluate_predictions": "akarclf.evaluation",
    "save_evaluation_png": "akarclf.plots",
    "load_training_data": "akarclf.datasets",
    "load_gold": "akarclf.datasets",
    "load_taxonomy": "akarclf.taxonomy",
    "group_split": "akarclf.splits",
    "train": "akarclf.training",
    "TrainingConfig": "akarclf.training",
    "build_card": "akarclf.model_card",
    "write_card": "akarclf.model_card",
    "save_with_card": "akarclf.model_card",
    "tune_thresholds": "akarclf.tuning",
    "gate_report": "akarclf.tuning",
    "rates_over_thresholds": "akarclf.whatif",
    "rates_by_closure": "akarclf.whatif",
    "rates_over_dates": "akarclf.whatif",
    "closure_sets": "akarclf.whatif",
}

__all__ = ["CLUSTERS", "PROTECTABLE_CLUSTERS", "__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from akarclf.batch import score_file, score_records
    from akarclf.datasets import load_gold, load_training_data
    from akarclf.evaluation import evaluate_model, evaluate_predictions
    from akarclf.frame import score_frame
    from akarclf.gate import DecisionRecord, decide
    from akarclf.model import ClusterClassifier, load_model
    from akarclf.model_card import build_card, save_with_card, write_card
    from akarclf.persistence import ModelFileError, save_model
    from akarclf.plots import save_evaluation_png
    from akarclf.policy import Policy, PolicyError, load_policy
    from akarclf.splits import group_split
    from akarclf.taxonomy import load_taxonomy
    from akarclf.text import TitleNormalizer, normalize_title
    from akarclf.training import TrainingConfig, train
    from akarclf.tuning import gate_report, tune_thresholds
    from akarclf.whatif import (
        closure_sets,
        rates_by_closure,
        rates_over_dates,
        rates_over_thresholds,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'akarclf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
