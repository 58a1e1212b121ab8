"""The training workbench: data sources, taxonomy, hand labels, splits, training, model card.

Not imported by the scoring runtime. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from akarclf._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "load_training_data": "akarclf.training.datasets",
    "load_gold": "akarclf.training.datasets",
    "load_taxonomy": "akarclf.training.taxonomy",
    "group_split": "akarclf.training.splits",
    "train": "akarclf.training.pipeline",
    "TrainingConfig": "akarclf.training.pipeline",
    "build_card": "akarclf.training.card",
    "write_card": "akarclf.training.card",
    "save_with_card": "akarclf.training.card",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from akarclf.training.card import build_card, save_with_card, write_card
    from akarclf.training.datasets import load_gold, load_training_data
    from akarclf.training.pipeline import TrainingConfig, train
    from akarclf.training.splits import group_split
    from akarclf.training.taxonomy import load_taxonomy

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
