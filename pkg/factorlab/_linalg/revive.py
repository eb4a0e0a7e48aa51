"""Re-seeding dead components of nonnegative fits (NMF, nonnegative CP) from the residual.

A component whose column is all zero in one factor is a fixed point of HALS and of exact NNLS:
its partners' Gram entries and right-hand sides vanish, so it stays zero for good, and the fit
then stalls with fewer components than asked for. :func:`revive_component` gives such a
component a new start: the best rank-one fit to the current residual under the same sign
constraints, accepted only if it lowers the loss (so the loss history still never increases).
"""

from __future__ import annotations

import torch

__all__ = ["dead_components", "revive_component"]

_ROUNDS = 25  # rank-one ALS rounds on the residual: enough to settle a rank-one term


def dead_components(factors) -> torch.Tensor:
    """Boolean mask of the components with an all-zero column in any of ``factors``.

    Examples
    --------
    >>> import torch
    >>> dead_components([torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 2.0]])]).tolist()
    [False, True]
    """
    dead = torch.zeros(factors[0].shape[1], dtype=torch.bool, device=factors[0].device)
    for f in factors:
        dead |= f.abs().amax(0) <= 0
    return dead


def _contract_except(T: torch.Tensor, vecs, mode: int) -> torch.Tensor:
    """Contract every mode of ``T`` but ``mode`` with the matching vector."""
    out = T
    for k in reversed(range(T.ndim)):  # from the last mode, so the indices below stay valid
        if k != mode:
            out = torch.tensordot(out, vecs[k], dims=([k], [0]))
    return out


def revive_component(R: torch.Tensor, nonneg, fixed=None, weights=None):
    """The best rank-one term ``v_1 ∘ ... ∘ v_N`` for the residual ``R``, if it helps.

    Rank-one alternating least squares on ``||W * (R - v_1 ∘ ... ∘ v_N)||`` (exact block
    updates, nonnegative where ``nonneg`` says so), started from the fibres through the entry
    of ``R`` that the constraints can reduce most.

    Parameters
    ----------
    R : tensor with ndim N
        The residual ``X - X_hat`` of the fit without the dead component (zero where
        unobserved).
    nonneg : sequence of N bool
        Which vectors must be nonnegative.
    fixed : sequence of N tensors or None, optional
        Vectors held at a given value (frozen modes); ``None`` entries are fitted.
    weights : tensor like R, optional
        The 0/1 observation mask.

    Returns
    -------
    list of N vectors or None
        The term's vectors, or ``None`` when no term lowers the loss (then nothing should
        change).

    Examples
    --------
    >>> import torch
    >>> R = torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 0.0, 1.0])).double()
    >>> u, v = revive_component(R, [True, True])
    >>> bool(torch.allclose(torch.outer(u, v), R))
    True
    >>> revive_component(-R, [True, True]) is None  # a nonnegative term cannot reduce -R
    True
    """
    N = R.ndim
    fixed = [None] * N if fixed is None else list(fixed)
    free = [n for n in range(N) if fixed[n] is None]
    WR = R if weights is None else weights * R
    before = float((WR * R).sum())
    if not free or before <= 0:
        return None
    # all free vectors nonnegative and every fixed one too: only positive residuals can fall
    one_signed = all(nonneg[n] for n in free) and all(
        bool((fixed[n] >= 0).all()) for n in range(N) if fixed[n] is not None)
    score = WR if one_signed else WR.abs()
    if float(score.max()) <= 0:
        return None
    idx = torch.unravel_index(torch.argmax(score), R.shape)
    vecs = []
    for n in range(N):
        if fixed[n] is not None:
            vecs.append(fixed[n])
            continue
        fibre = R[tuple(slice(None) if k == n else idx[k] for k in range(N))].clone()
        vecs.append(fibre.abs() if nonneg[n] else fibre)
    W2 = None if weights is None else weights
    for _ in range(_ROUNDS):
        for n in free:
            num = _contract_except(WR, vecs, n)
            if W2 is None:
                den = torch.ones_like(num)
                for k in range(N):
                    if k != n:
                        den = den * (vecs[k] @ vecs[k])
            else:
                den = _contract_except(W2, [v * v for v in vecs], n)
            if nonneg[n]:
                num = num.clamp_min(0)
            vecs[n] = torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)
    term = vecs[0]
    for v in vecs[1:]:
        term = term[..., None] * v
    E = R - term
    after = float(((E if weights is None else weights * E) * E).sum())
    # a strict decrease beyond rounding, or nothing changes
    if not after < before * (1 - 1e-12):
        return None
    return vecs
