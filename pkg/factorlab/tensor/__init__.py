"""Tensor (CP) decomposition: ALS, nonnegative HALS and masked fits, built on tensorly's
conventions (``to_tensorly`` gives a ``CPTensor``)."""

from .cp import CP
from .cp_als import CPResult, cp_als

__all__ = ["CP", "CPResult", "cp_als"]
