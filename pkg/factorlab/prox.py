"""Proximal operators: soft thresholding and singular value thresholding.

These are the building blocks of sparse PCA, robust PCA (IALM, PCP) and the proximal losses of
the deep models. They work on NumPy arrays and torch tensors alike (same container out).
"""

from __future__ import annotations

import numpy as np
import torch

from ._backend import like_input, to_torch
from ._validate import check_nonnegative_number

__all__ = ["soft_threshold", "svt"]


def soft_threshold(x, threshold):
    """Soft thresholding, the proximal map of ``threshold * |x|``.

    ``soft(x, t) = sign(x) * max(|x| - t, 0)``: entries smaller than ``t`` in magnitude become
    exactly zero, the others shrink towards zero by ``t``.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
    threshold : float or array broadcastable to ``x``
        Must be nonnegative.

    Returns
    -------
    Same type as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([-2.0, -0.5, 0.5, 3.0]), 1.0).tolist()
    [-1.0, -0.0, 0.0, 2.0]
    """
    if isinstance(x, torch.Tensor):
        t = torch.as_tensor(threshold, dtype=x.dtype, device=x.device)
        if bool((t < 0).any()):
            raise ValueError("threshold must be nonnegative.")
        return torch.sign(x) * torch.clamp(x.abs() - t, min=0)
    t = np.asarray(threshold, dtype=float)
    if (t < 0).any():
        raise ValueError(f"threshold must be nonnegative, got {threshold!r}.")
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0)


def _thin_svd(X: torch.Tensor):
    """Thin SVD of a tall or wide matrix without forming anything of size m x m or n x n.

    For a tall ``m x n`` matrix (``m >> n``) a QR first reduces the work to an ``n x n`` SVD:
    O(m n^2) time and O(m n) memory, which is what makes SVT usable on movies with millions of
    pixels per frame.
    """
    m, n = X.shape
    if m >= n:
        Q, R = torch.linalg.qr(X, mode="reduced")
        Ur, s, Vh = torch.linalg.svd(R, full_matrices=False)
        return Q @ Ur, s, Vh
    U, s, Vh = _thin_svd(X.T)
    return Vh.T, s, U.T


def svt(X, threshold, return_rank: bool = False):
    """Singular value thresholding, the proximal map of ``threshold * ||X||_*``.

    ``svt(X, t) = U diag(max(s - t, 0)) V^T`` for the SVD ``X = U diag(s) V^T``. Tall-skinny and
    short-fat matrices go through a QR first, so only an SVD of the small side is computed.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, 2-D
    threshold : float
        Nonnegative threshold on the singular values.
    return_rank : bool
        Also return the number of singular values above the threshold.

    Returns
    -------
    Same type as ``X`` (and an int when ``return_rank``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.diag([3.0, 1.0, 0.5])
    >>> np.round(np.linalg.svd(svt(X, 0.8), compute_uv=False), 6).tolist()
    [2.2, 0.2, 0.0]
    """
    threshold = check_nonnegative_number(threshold, "threshold")
    T = to_torch(X)
    if T.ndim != 2:
        raise ValueError(f"X must be a 2-D matrix, got shape {tuple(T.shape)}.")
    U, s, Vh = _thin_svd(T)
    s_shrunk = torch.clamp(s - threshold, min=0)
    keep = int((s_shrunk > 0).sum())
    out = (U[:, :keep] * s_shrunk[:keep]) @ Vh[:keep]
    out = like_input(out, X)
    return (out, keep) if return_rank else out
