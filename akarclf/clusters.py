"""The AKAR cluster vocabulary shared by the classifier, the gate and the batch scorer.

Every component names clusters with these ids; anything that orders probability columns
uses :data:`CLUSTERS` so that output files keep one column order across model versions.
"""

from __future__ import annotations

from typing import Final

TEXTILE_FASHION: Final = "textile_fashion"
CULINARY: Final = "culinary"
CRAFTS: Final = "crafts"
OTHER: Final = "other"

#: Output order of clusters (probability columns, reports). Not the estimator's ``classes_``
#: order, which follows scikit-learn's sorted labels: always index probabilities by name.
CLUSTERS: Final[tuple[str, ...]] = (TEXTILE_FASHION, CULINARY, CRAFTS, OTHER)

#: Clusters that a policy may close to cross-border sellers.
PROTECTABLE_CLUSTERS: Final[tuple[str, ...]] = (TEXTILE_FASHION, CULINARY, CRAFTS)


def check_cluster(name: str) -> str:
    """Return ``name`` if it is a known cluster id, else raise a ValueError listing valid ids."""
    if name not in CLUSTERS:
        raise ValueError(f"unknown cluster {name!r}; valid clusters: {', '.join(CLUSTERS)}")
    return name
