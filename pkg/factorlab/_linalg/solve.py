"""One solver for the symmetric normal equations ``U G = P`` of every least-squares step."""

from __future__ import annotations

import torch

__all__ = ["solve_gram"]


def _pinv_solve(G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """Minimum-norm solutions ``p_i pinv(G_i)`` of a batch of singular symmetric systems."""
    w, Q = torch.linalg.eigh(G)
    cutoff = G.shape[-1] * torch.finfo(G.dtype).eps * w.abs().amax(-1, keepdim=True)
    inv = torch.where(w > cutoff, 1 / torch.where(w > cutoff, w, torch.ones_like(w)), 0.0)
    coef = torch.einsum("bkj,bk->bj", Q, P) * inv
    return torch.einsum("bkj,bj->bk", Q, coef)


def solve_gram(G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """Solve ``U G = P`` (``G`` shared, ``(r, r)``) or ``u_i G_i = p_i`` (batched ``G``).

    Cholesky on the symmetric positive semidefinite Gram matrices. A system that is singular,
    or so close to it that Cholesky's smallest pivot is at rounding level (a zero factor
    column, a row with fewer observed entries than the rank, a rank above the data's), gets
    its minimum-norm least-squares solution instead (pseudo-inverse through the eigenvalues).
    No ridge: a ridge would bias every such solution, e.g. PCA with a rank above the numerical
    rank of the data.

    Parameters
    ----------
    G : tensor of shape (r, r) or (m, r, r)
    P : tensor of shape (m, r)

    Returns
    -------
    tensor of shape (m, r)

    Examples
    --------
    >>> import torch
    >>> G = torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> solve_gram(G, torch.tensor([[8.0, 3.0]], dtype=torch.float64)).tolist()
    [[2.0, 3.0]]
    >>> singular = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    >>> solve_gram(singular, torch.tensor([[2.0, 2.0]], dtype=torch.float64)).round(decimals=12).tolist()
    [[1.0, 1.0]]
    """
    shared = G.ndim == 2
    Gb = G[None] if shared else G
    L, info = torch.linalg.cholesky_ex(Gb)
    # A pivot at rounding level means a numerically singular system: its Cholesky solution
    # would be dominated by rounding noise (huge, cancelling entries).
    pivots = torch.diagonal(L, dim1=-2, dim2=-1)
    scale = torch.diagonal(Gb, dim1=-2, dim2=-1).amax(-1)
    tiny = Gb.shape[-1] * torch.finfo(Gb.dtype).eps * scale
    bad = (info > 0) | (pivots.square().amin(-1) <= tiny)
    if shared:
        if bool(bad[0]):
            return _pinv_solve(Gb.expand(P.shape[0], -1, -1), P)
        return torch.cholesky_solve(P.T, L[0]).T
    out = torch.cholesky_solve(P[:, :, None], L)[:, :, 0]
    if bool(bad.any()):
        out[bad] = _pinv_solve(Gb[bad], P[bad])
    return out
