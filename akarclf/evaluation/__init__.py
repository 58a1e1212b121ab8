"""The evaluation workbench: metrics, intervals, targets, policy tuning, what-if, plots.

Not imported by the scoring runtime. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from akarclf._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "evaluate_model": "akarclf.evaluation.metrics",
    "evaluate_predictions": "akarclf.evaluation.metrics",
    "save_evaluation_png": "akarclf.evaluation.plots",
    "tune_thresholds": "akarclf.evaluation.tuning",
    "gate_report": "akarclf.evaluation.tuning",
    "rates_over_thresholds": "akarclf.evaluation.whatif",
    "rates_by_closure": "akarclf.evaluation.whatif",
    "rates_over_dates": "akarclf.evaluation.whatif",
    "closure_sets": "akarclf.evaluation.whatif",
}

__all__ = sorted(_EXPORTS)

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
