"""Multilinear building blocks of CP: unfoldings, Khatri–Rao products, MTTKRP, reconstruction.

Convention (the ordering trap of the research note): the mode-n unfolding moves mode n to the
front and reshapes in C order, so its columns run over the remaining modes in increasing order
with the first of them varying slowest. :func:`khatri_rao` stacks its factors the same way, so
``unfold(X, n) ≈ A_n @ khatri_rao(others).T`` holds exactly for a CP tensor.
"""

from __future__ import annotations

import math

import torch

__all__ = ["unfold", "khatri_rao", "mttkrp", "cp_to_tensor", "grams", "hadamard_except"]


def unfold(X: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode-``mode`` unfolding, shape ``(X.shape[mode], prod(other dims))``.

    Examples
    --------
    >>> import torch
    >>> unfold(torch.arange(24.).reshape(2, 3, 4), 1).shape
    torch.Size([3, 8])
    """
    return X.movedim(mode, 0).reshape(X.shape[mode], -1)


def khatri_rao(mats) -> torch.Tensor:
    """Column-wise Kronecker product; the first matrix's row index varies slowest.

    Examples
    --------
    >>> import torch
    >>> khatri_rao([torch.ones(2, 3), torch.ones(4, 3)]).shape
    torch.Size([8, 3])
    """
    out = mats[0]
    for m in mats[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, m.shape[1])
    return out


def mttkrp(X: torch.Tensor, factors, mode: int) -> torch.Tensor:
    """``unfold(X, mode) @ khatri_rao(factors without mode)`` without forming the unfolding.

    The tensor is viewed (no copy) as ``(left, I_mode, right)``; the right Khatri–Rao product is
    contracted by one batched matrix product and the left one by a weighted sum, so only the small
    Khatri–Rao factors of each side are formed.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    >>> F = [torch.randn(n, 2, generator=g, dtype=torch.float64) for n in X.shape]
    >>> ref = unfold(X, 1) @ khatri_rao([F[0], F[2]])
    >>> bool(torch.allclose(mttkrp(X, F, 1), ref))
    True
    """
    shape = X.shape
    left, right = math.prod(shape[:mode]), math.prod(shape[mode + 1:])
    if mode == len(shape) - 1:
        return X.reshape(left, shape[mode]).T @ khatri_rao(factors[:mode])
    T = X.reshape(left, shape[mode], right) @ khatri_rao(factors[mode + 1:])
    if mode == 0:
        return T[0]
    return torch.einsum("lir,lr->ir", T, khatri_rao(factors[:mode]))


def cp_to_tensor(factors, weights=None) -> torch.Tensor:
    """Full tensor ``sum_r w_r a_r^(1) ∘ ... ∘ a_r^(N)`` from CP factors.

    Examples
    --------
    >>> import torch
    >>> cp_to_tensor([torch.ones(2, 1), torch.ones(3, 1), torch.ones(4, 1)]).sum().item()
    24.0
    """
    first = factors[0] if weights is None else factors[0] * weights
    shape = tuple(f.shape[0] for f in factors)
    return (first @ khatri_rao(factors[1:]).T).reshape(shape)


def grams(factors) -> list[torch.Tensor]:
    """The ``r x r`` Gram matrix ``A^T A`` of every factor."""
    return [f.T @ f for f in factors]


def hadamard_except(gram_list, mode: int) -> torch.Tensor:
    """Elementwise product of all Gram matrices but ``mode``'s (the ALS normal matrix)."""
    out = torch.ones_like(gram_list[0])
    for k, g in enumerate(gram_list):
        if k != mode:
            out = out * g
    return out
