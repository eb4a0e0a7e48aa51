"""Block updates of one CP factor given its normal equations ``A G = P``.

Unconstrained modes take the exact least-squares solution (Cholesky); nonnegative modes take
HALS sweeps (exact coordinate minimisation, column by column), so every update lowers the
objective and the loss history never increases. Batched variants solve one small system per row
(the censored least squares of masked fits, where every row sees its own observed entries).
"""

from __future__ import annotations

import torch

__all__ = ["solve_gram", "hals_gram", "solve_gram_batched", "hals_gram_batched"]

# Fixed number of HALS sweeps per block update (as tensortools): more sweeps cost time without
# changing where the outer alternation converges.
HALS_SWEEPS = 3
# Relative ridge added only when a Gram matrix is numerically singular (e.g. a row with fewer
# observed entries than the rank); a regular system is solved exactly.
_RIDGE = 1e-10


def _ridge(G: torch.Tensor) -> torch.Tensor:
    r = G.shape[-1]
    scale = torch.diagonal(G, dim1=-2, dim2=-1).mean(-1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # G = 0: an unobserved row
    return _RIDGE * scale[..., None, None] * torch.eye(r, dtype=G.dtype, device=G.device)


def solve_gram(G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """``P @ inv(G)`` for a symmetric positive (semi)definite ``G`` (r x r), ``P`` (n x r).

    Examples
    --------
    >>> import torch
    >>> G = torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    >>> solve_gram(G, torch.ones(3, 2, dtype=torch.float64)).round(decimals=6).tolist()[0]
    [0.5, 0.25]
    """
    L, info = torch.linalg.cholesky_ex(G)
    if int(info) != 0:
        L = torch.linalg.cholesky(G + _ridge(G))
    return torch.cholesky_solve(P.T, L).T


def solve_gram_batched(G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """Row ``i`` of the result solves ``G[i] a = P[i]``; ``G`` is (n, r, r), ``P`` (n, r)."""
    L, info = torch.linalg.cholesky_ex(G)
    bad = info != 0
    if bool(bad.any()):
        L = L.clone()
        L[bad] = torch.linalg.cholesky(G[bad] + _ridge(G[bad]))
    return torch.cholesky_solve(P[..., None], L)[..., 0]


def hals_gram(A: torch.Tensor, G: torch.Tensor, P: torch.Tensor,
              sweeps: int = HALS_SWEEPS) -> torch.Tensor:
    """Nonnegative update of ``A`` (n x r) for ``min ||X - A K^T||`` given ``G = K^T K``,
    ``P = X K``: ``sweeps`` rounds of exact column-wise minimisation, clipped at zero.

    Returns a new tensor; ``A`` is not modified.

    Examples
    --------
    >>> import torch
    >>> hals_gram(torch.ones(2, 1), torch.ones(1, 1), torch.tensor([[2.0], [-1.0]])).tolist()
    [[2.0], [0.0]]
    """
    A = A.clone()
    # scale once by the diagonal so each column step is one fused matrix-vector update
    diag = torch.diagonal(G).clamp_min(1e-12)
    Gs, Ps = G / diag, P / diag
    for _ in range(sweeps):
        for k in range(A.shape[1]):
            col = torch.addmv(A[:, k] + Ps[:, k], A, Gs[:, k], alpha=-1)
            A[:, k] = col.clamp_min_(0)
    return A


def hals_gram_batched(A: torch.Tensor, G: torch.Tensor, P: torch.Tensor,
                      sweeps: int = HALS_SWEEPS) -> torch.Tensor:
    """:func:`hals_gram` with one Gram matrix per row: ``G`` (n, r, r), ``P`` (n, r)."""
    A = A.clone()
    diag = torch.diagonal(G, dim1=1, dim2=2).clamp_min(1e-12)  # (n, r)
    Gs, Ps = G / diag[:, None, :], P / diag  # column k of Gs is G[:, :, k] / G[:, k, k]
    for _ in range(sweeps):
        for k in range(A.shape[1]):
            step = Ps[:, k] - (A * Gs[:, :, k]).sum(1)
            A[:, k] = (A[:, k] + step).clamp_min_(0)
    return A
