"""Exact (censored) least squares for data with missing entries.

With a mask ``M`` (True = observed), row ``i`` of ``U`` in ``X ≈ U V^T`` solves its own small
normal equation ``G_i u_i = p_i`` with ``G_i = V^T diag(M_i) V`` and ``p_i = V^T (M_i * X_i)``.
Every solver in :mod:`factorlab.matrix` is written on such ``(G, P)`` pairs, with ``G`` either
one shared ``(r, r)`` Gram matrix (no mask) or a batch ``(n_rows, r, r)`` (mask), so the same
code fits complete and incomplete data. Masked entries enter only through ``M * X``, so their
values can never change a result. The updates for ``V`` use the same functions on ``X.T``.

The solvers call these functions in every iteration, so they accept the mask either as bool or
already converted to a 0/1 float tensor (convert it once per fit, not once per call), and
:func:`loss_from_normal_equations` gives the loss from the last block's ``(G, P)`` without
reconstructing ``U V^T``. The normal equations and their solver live in
:mod:`factorlab._linalg` (shared with the tensor models) and are re-exported here.
"""

from __future__ import annotations

import torch

from .._linalg import blas_matmul, float_mask, gram_and_rhs, solve_gram

__all__ = ["float_mask", "gram_and_rhs", "solve_gram", "censored_lstsq", "masked_residual_norm",
           "loss_from_normal_equations"]


def censored_lstsq(X: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None):
    """``argmin_U ||M * (X - U V^T)||_F``, exactly, one small system per row.

    Examples
    --------
    >>> import torch
    >>> V = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    >>> X = torch.tensor([[1.0, 2.0], [3.0, 999.0]], dtype=torch.float64)
    >>> mask = torch.tensor([[True, True], [True, False]])
    >>> censored_lstsq(X, V, mask)[:, 0].tolist()
    [1.0, 3.0]
    """
    return solve_gram(*gram_and_rhs(X, V, mask))


def masked_residual_norm(X, U, V, mask=None) -> torch.Tensor:
    """``||M * (X - U V^T)||_F`` (all entries when ``mask`` is None)."""
    R = X - U @ V.T
    if mask is not None:
        R = R * float_mask(mask, R.dtype)
    return torch.linalg.norm(R)


def loss_from_normal_equations(norm_sq: float, G: torch.Tensor, P: torch.Tensor,
                               A: torch.Tensor) -> float:
    """``||M * (X - B A^T)||_F^2`` from the normal equations ``(G, P)`` of the block ``A``.

    With ``G, P = gram_and_rhs(X.T, B, M.T)`` and ``norm_sq = ||M * X||_F^2`` the squared error
    expands to ``norm_sq - 2 sum_j a_j.p_j + sum_j a_j^T G_j a_j``: r x r work per row instead
    of a full reconstruction. (Rounding limits it to about ``1e-16 * norm_sq``, far below any
    error that matters for a stopping rule.) Clipped at 0.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    >>> mask = torch.tensor([[True, False], [True, True]])
    >>> B, A = torch.ones(2, 1, dtype=torch.float64), torch.ones(2, 1, dtype=torch.float64)
    >>> G, P = gram_and_rhs(X.T, B, mask.T)
    >>> norm_sq = float(((X * mask) ** 2).sum())
    >>> loss_from_normal_equations(norm_sq, G, P, A)  # observed residuals 0, 2, 4
    20.0
    """
    if G.ndim == 2:
        quad = float((blas_matmul(A.T, A) * G).sum())
    else:
        quad = float(((G @ A[:, :, None])[:, :, 0] * A).sum())
    return max(norm_sq - 2 * float((P * A).sum()) + quad, 0.0)
