"""akarclf: may a cross-border seller list this product in Indonesia under Gerakan AKAR?

The public API is what this module exports; everything else is internal.
"""

from akarclf._version import __version__
from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS

__all__ = ["CLUSTERS", "PROTECTABLE_CLUSTERS", "__version__"]
