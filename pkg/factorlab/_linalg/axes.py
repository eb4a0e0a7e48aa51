"""Principal axes of a low-rank product ``U V^T``."""

from __future__ import annotations

import torch

__all__ = ["principal_axes"]


def principal_axes(U: torch.Tensor, V: torch.Tensor):
    """The SVD ``U V^T = L diag(s) R^T`` of a product of thin factors, without forming it.

    QR of both factors, ``U = Q_u R_u`` and ``V = Q_v R_v``, then the SVD of the small
    ``r x r`` core ``R_u R_v^T = A diag(s) B^T``: ``L = Q_u A`` and ``R = Q_v B`` have
    orthonormal columns and ``s`` comes out in decreasing order. Cost ``O((m + n) r^2)``.

    Parameters
    ----------
    U : tensor of shape (m, r)
    V : tensor of shape (n, r)

    Returns
    -------
    L : tensor of shape (m, r)
    s : tensor of shape (r,)
    R : tensor of shape (n, r)

    Examples
    --------
    >>> import torch
    >>> U = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    >>> L, s, R = principal_axes(U, torch.eye(2, dtype=torch.float64))
    >>> s.tolist(), bool(torch.allclose((L * s) @ R.T, U))
    ([2.0, 1.0], True)
    """
    Qu, Ru = torch.linalg.qr(U)
    Qv, Rv = torch.linalg.qr(V)
    A, s, Bt = torch.linalg.svd(Ru @ Rv.T)
    return Qu @ A, s, Qv @ Bt.T


def thin_svd(X: torch.Tensor):
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
    U, s, Vh = thin_svd(X.T)
    return Vh.T, s, U.T
