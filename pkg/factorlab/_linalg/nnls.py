"""Nonnegative least squares on normal equations, many problems at once.

Block principal pivoting (Kim & Park 2011): each problem ``min_{x >= 0} 1/2 x^T G x - p^T x``
keeps a guess of its passive set ``F`` (the entries allowed to be positive), solves the
unconstrained system on ``F``, and exchanges *all* infeasible entries at once, which needs far
fewer iterations than one-at-a-time active-set methods. A problem that stops making progress
falls back to exchanging a single index (Murty's rule), which guarantees termination.

All problems are solved together: a passive set is applied by replacing rows and columns outside
``F`` with the identity and zeroing the right-hand side there, so one batched Cholesky solve per
pivoting round handles every row (on the CPU or a GPU).
"""

from __future__ import annotations

import torch

from .._backend import like_input, to_torch
from .._validate import check_array
from .solve import solve_gram

__all__ = ["nnls", "nnls_gram"]


def _solve_on_passive(G: torch.Tensor, P: torch.Tensor, F: torch.Tensor):
    """Solve each row's system restricted to its passive set; return x and the gradient y."""
    Ff = F.to(G.dtype)
    eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
    Gb = G if G.ndim == 3 else G.expand(F.shape[0], -1, -1)
    outer = Ff[:, :, None] * Ff[:, None, :]
    Gm = Gb * outer + eye * (1 - Ff)[:, :, None]
    x = solve_gram(Gm, P * Ff) * Ff
    y = (torch.einsum("ikl,il->ik", Gb, x) if G.ndim == 3 else x @ G) - P
    return x, y * (1 - Ff)


def nnls_gram(G, P, init=None, max_iter: int | None = None) -> torch.Tensor:
    """Solve ``min_{u_i >= 0} ||b_i - C u_i||`` for every row from ``G = C^T C`` and ``P``.

    Row ``i`` of ``P`` is ``C^T b_i``. ``G`` is one shared ``(r, r)`` matrix or a batch
    ``(m, r, r)`` (one per row, as for masked data).

    Parameters
    ----------
    G : tensor of shape (r, r) or (m, r, r)
        Symmetric positive semidefinite Gram matrices.
    P : tensor of shape (m, r)
    init : tensor of shape (m, r), optional
        A previous solution; its positive entries seed the passive sets (warm start, as in
        alternating NNLS where consecutive problems are close).
    max_iter : int, optional
        Cap on pivoting rounds (default ``10 * r + 10``; the backup rule terminates long before).

    Returns
    -------
    tensor of shape (m, r)
        The nonnegative solutions.

    Examples
    --------
    >>> import torch
    >>> G = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> nnls_gram(G, torch.tensor([[2.0, -1.0]], dtype=torch.float64)).tolist()
    [[2.0, 0.0]]
    """
    m, r = P.shape
    max_iter = 10 * r + 10 if max_iter is None else max_iter
    F = (init > 0) if init is not None else torch.zeros((m, r), dtype=torch.bool, device=P.device)
    x, y = _solve_on_passive(G, P, F)
    # Feasibility tolerance on the gradient, relative to each problem's scale, so rounding
    # noise around zero does not trigger endless exchanges.
    tol = 1e-12 * (P.abs().amax(1, keepdim=True) + 1e-300)
    alpha = torch.full((m,), 3, device=P.device)
    beta = torch.full((m,), r + 1, device=P.device)
    order = torch.arange(1, r + 1, device=P.device)
    for _ in range(max_iter):
        infeasible = (F & (x < 0)) | (~F & (y < -tol))
        count = infeasible.sum(1)
        active = count > 0
        if not bool(active.any()):
            break
        fewer = active & (count < beta)
        beta = torch.where(fewer, count, beta)
        alpha = torch.where(fewer, torch.full_like(alpha, 3), alpha)
        patient = active & ~fewer & (alpha >= 1)
        alpha = torch.where(patient, alpha - 1, alpha)
        backup = active & ~fewer & ~patient
        swap = infeasible & (fewer | patient)[:, None]
        if bool(backup.any()):
            last = (infeasible * order).argmax(1)
            single = torch.zeros_like(infeasible)
            single[torch.arange(m, device=P.device), last] = True
            swap = swap | (single & backup[:, None])
        F = F ^ swap
        rows = active.nonzero()[:, 0]
        Gi = G[rows] if G.ndim == 3 else G
        x[rows], y[rows] = _solve_on_passive(Gi, P[rows], F[rows])
    return x.clamp_min(0) + 0.0  # "+ 0.0" turns -0.0 into 0.0


def nnls(A, B):
    """Nonnegative least squares ``argmin_{X >= 0} ||A X - B||_F`` for every column of ``B``.

    A convenience wrapper around :func:`nnls_gram` (block principal pivoting on the normal
    equations), with the same result as :func:`scipy.optimize.nnls` column by column.

    Parameters
    ----------
    A : array of shape (m, r)
    B : array of shape (m,) or (m, k)

    Returns
    -------
    X : array of shape (r,) or (r, k)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> nnls(A, np.array([1.0, -1.0, 0.0])).round(3).tolist()
    [0.5, 0.0]
    """
    A_arr = check_array(A, "A")
    B_arr = check_array(B, "B", ndim=(1, 2))
    if B_arr.shape[0] != A_arr.shape[0]:
        raise ValueError(f"B must have {A_arr.shape[0]} rows like A, got shape "
                         f"{tuple(B_arr.shape)}.")
    At = to_torch(A_arr, dtype=torch.float64)
    Bt = to_torch(B_arr, device=At.device, dtype=torch.float64)
    Bt = Bt[:, None] if Bt.ndim == 1 else Bt
    X = nnls_gram(At.T @ At, (At.T @ Bt).T).T
    X = X[:, 0] if B_arr.ndim == 1 else X
    return like_input(X, B)
