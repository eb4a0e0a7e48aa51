"""Graph scores: how well an estimated coupling graph matches the true one."""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy

__all__ = ["support_f1"]


def support_f1(estimate, truth, off_diagonal=True, tol=0.0) -> float:
    """F1 score of the estimated coupling support (``|A| > tol``, any lag) against the truth.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[[0.9, 0.2], [0.0, 0.8]]])
    >>> support_f1(A, A), support_f1(np.abs(A) * 0 + 1, A)
    (1.0, 0.6666666666666666)
    """
    est = np.abs(to_numpy(estimate)).reshape(-1, *np.shape(estimate)[-2:]).max(0) > tol
    true = np.abs(to_numpy(truth)).reshape(-1, *np.shape(truth)[-2:]).max(0) > 0
    if est.shape != true.shape:
        raise ValueError(f"estimate and truth must have the same (d, d) shape, got {est.shape} "
                         f"and {true.shape}.")
    keep = ~np.eye(est.shape[0], dtype=bool) if off_diagonal else np.ones_like(est)
    tp = np.sum(est & true & keep)
    fp, fn = np.sum(est & ~true & keep), np.sum(~est & true & keep)
    return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 1.0
