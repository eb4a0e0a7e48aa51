"""Block updates of one CP factor given its normal equations ``A G = P``.

Unconstrained modes take the exact least-squares solution; nonnegative modes take HALS sweeps
(exact coordinate minimisation, column by column), so every update lowers the objective and the
loss history never increases. ``G`` is one shared ``(r, r)`` matrix, or one per row ``(n, r, r)``
for the censored least squares of masked fits, where every row sees its own observed entries.
The arithmetic is :mod:`factorlab._linalg`'s, shared with the matrix models.
"""

from __future__ import annotations

import torch

from .._linalg import hals_update, solve_gram, weighted_gram

__all__ = ["solve_gram", "hals_gram", "masked_normal_equations"]

# Fixed number of HALS sweeps per block update (as tensortools): more sweeps cost time without
# changing where the outer alternation converges.
HALS_SWEEPS = 3


def hals_gram(A: torch.Tensor, G: torch.Tensor, P: torch.Tensor,
              sweeps: int = HALS_SWEEPS) -> torch.Tensor:
    """Nonnegative update of ``A`` (n x r) for ``min ||X - A K^T||`` given ``G = K^T K``
    (shared, or one per row) and ``P = X K``: ``sweeps`` rounds of exact column-wise
    minimisation, clipped at zero. Returns a new tensor; ``A`` is not modified.

    Examples
    --------
    >>> import torch
    >>> hals_gram(torch.ones(2, 1), torch.ones(1, 1), torch.tensor([[2.0], [-1.0]])).tolist()
    [[2.0], [0.0]]
    """
    return hals_update(A, G, P, sweeps, inner_tol=0.0)


def masked_normal_equations(Xn: torch.Tensor, Mn: torch.Tensor, K: torch.Tensor):
    """Per-row normal equations ``(G_i, p_i)`` of ``min ||Mn * (Xn - A K^T)||`` (``Xn`` zero
    where ``Mn`` is).

    Examples
    --------
    >>> import torch
    >>> G, P = masked_normal_equations(torch.ones(2, 3), torch.ones(2, 3), torch.ones(3, 1))
    >>> G.shape, P.tolist()
    (torch.Size([2, 1, 1]), [[3.0], [3.0]])
    """
    return weighted_gram(Mn, K), Xn @ K
