"""Model assessment: choosing and trusting a factorization.

Similarity across restarts, ensembles of restarts over ranks, cross-validation by speckled
hold-out, and the SVD lower bound on the error of any rank-r model. (Scores against a ground
truth live in :mod:`factorlab.metrics`.)
"""

from .bounds import svd_bound
from .crossval import CVResult, cross_validate, speckled_mask
from .ensemble import Ensemble
from .similarity import align, similarity

__all__ = ["similarity", "align", "Ensemble", "cross_validate", "speckled_mask", "CVResult",
           "svd_bound"]
