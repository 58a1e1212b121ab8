"""akarclf: may a cross-border seller list this product in Indonesia under Gerakan AKAR?

The top level is the service API: load a model, decide listings one by one or score whole
catalogues, under a dated policy. The training and evaluation workbench lives in the
:mod:`akarclf.training` and :mod:`akarclf.evaluation` namespaces, which a scoring service never
imports. Names are imported on first use, so ``import akarclf`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from akarclf._lazy import lazy_exports
from akarclf._version import __version__
from akarclf.clusters import CLUSTERS
from akarclf.errors import AkarclfError

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "ClusterClassifier": "akarclf.model.classifier",
    "load_model": "akarclf.model.persistence",
    "save_model": "akarclf.model.persistence",
    "ModelFileError": "akarclf.model.errors",
    "Policy": "akarclf.gate.policy",
    "PolicyError": "akarclf.gate.policy",
    "load_policy": "akarclf.gate.policy",
    "DecisionRecord": "akarclf.gate.decision",
    "decide": "akarclf.gate.decision",
    "score_file": "akarclf.scoring",
    "score_records": "akarclf.scoring",
    "score_frame": "akarclf.scoring.frame",
}

__all__ = ["CLUSTERS", "AkarclfError", "__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from akarclf.gate.decision import DecisionRecord, decide
    from akarclf.gate.policy import Policy, PolicyError, load_policy
    from akarclf.model.classifier import ClusterClassifier
    from akarclf.model.errors import ModelFileError
    from akarclf.model.persistence import load_model, save_model
    from akarclf.scoring import score_file, score_records
    from akarclf.scoring.frame import score_frame

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
