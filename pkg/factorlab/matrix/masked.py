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
reconstructing ``U V^T``.
"""

from __future__ import annotations

import torch

__all__ = ["float_mask", "gram_and_rhs", "solve_gram", "censored_lstsq", "masked_residual_norm",
           "loss_from_normal_equations"]


def float_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """The mask as 0/1 numbers of ``dtype`` (unchanged if it already is; None stays None)."""
    if mask is None or mask.dtype == dtype:
        return mask
    return mask.to(dtype)

def gram_and_rhs(X: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None,
                 zeroed: bool = False):
    """The normal equations of ``min_U ||M * (X - U V^T)||_F`` for every row of ``U``.

    Parameters
    ----------
    X : tensor of shape (m, n)
    V : tensor of shape (n, r)
    mask : bool or 0/1 float tensor of shape (m, n), or None
    zeroed : bool
        ``X`` is already zero wherever ``mask`` is False, so ``M * X`` is ``X`` itself and the
        product is skipped (the solvers zero masked entries once, before iterating).

    Returns
    -------
    G : tensor of shape (r, r) without a mask, (m, r, r) with one
    P : tensor of shape (m, r)

    Examples
    --------
    >>> import torch
    >>> X, V = torch.ones(3, 4, dtype=torch.float64), torch.ones(4, 1, dtype=torch.float64)
    >>> G, P = gram_and_rhs(X, V, torch.tensor([[1, 1, 0, 0]] * 3).bool())
    >>> G.shape, P[:, 0].tolist()
    (torch.Size([3, 1, 1]), [2.0, 2.0, 2.0])
    """
    if mask is None:
        return V.T @ V, X @ V
    Mf = float_mask(mask, V.dtype)
    P = (X if zeroed else Mf * X) @ V
    m, r = Mf.shape[0], V.shape[1]
    # G_i = sum_j M_ij v_j v_j^T for every row at once: one (m, n) x (n, r(r+1)/2) product of
    # the mask with the outer products of V's rows (upper triangle only: G_i is symmetric),
    # rather than m small weighted Gram products.
    rows, cols = torch.triu_indices(r, r, device=V.device)
    upper = Mf @ (V[:, rows] * V[:, cols])
    G = torch.empty((m, r, r), dtype=V.dtype, device=V.device)
    G[:, rows, cols] = upper
    G[:, cols, rows] = upper
    return G, P


def solve_gram(G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """Solve ``U G = P`` (``G`` shared, ``(r, r)``) or ``u_i G_i = p_i`` (batched ``G``).

    Cholesky on the symmetric Gram matrices; a system that is singular (a zero factor column,
    or a row with fewer observed entries than the rank) gets a small ridge ``1e-6 * mean(diag)``
    so it still has a unique answer.

    Examples
    --------
    >>> import torch
    >>> G = torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> solve_gram(G, torch.tensor([[8.0, 3.0]], dtype=torch.float64)).tolist()
    [[2.0, 3.0]]
    """
    shared = G.ndim == 2
    Gb = G[None] if shared else G
    L, info = torch.linalg.cholesky_ex(Gb)
    if bool((info > 0).any()):
        r = Gb.shape[-1]
        diag = torch.diagonal(Gb, dim1=-2, dim2=-1).mean(-1)
        ridge = (1e-6 * diag + 1e-12) * (info > 0).to(Gb.dtype)
        eye = torch.eye(r, dtype=Gb.dtype, device=Gb.device)
        L = torch.linalg.cholesky(Gb + ridge[:, None, None] * eye)
    if shared:
        return torch.cholesky_solve(P.T, L[0]).T
    return torch.cholesky_solve(P[:, :, None], L)[:, :, 0]


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
        quad = float(((A.T @ A) * G).sum())
    else:
        quad = float(((G @ A[:, :, None])[:, :, 0] * A).sum())
    return max(norm_sq - 2 * float((P * A).sum()) + quad, 0.0)
