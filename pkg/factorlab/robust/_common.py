"""Shared plumbing of the robust PCA solvers: movie <-> matrix, defaults, the result record."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._backend import like_input, resolve_device, to_torch
from .._validate import check_array

__all__ = ["RPCAResult", "as_matrix", "default_lambda", "frobenius"]


@dataclass
class RPCAResult:
    """What a robust PCA solver returns: ``Y = L + S`` (same container and shape as ``Y``)."""

    L: object
    S: object
    n_iter: int
    converged: bool


def default_lambda(shape) -> float:
    """The sparsity weight of principal component pursuit, ``1 / sqrt(max(m, n))``.

    Candès et al. (2011) prove exact recovery with this value whatever the orientation; some
    codes use ``1/sqrt(#rows)``, which changes when the matrix is transposed.

    Examples
    --------
    >>> default_lambda((150, 10000))
    0.01
    """
    return 1.0 / math.sqrt(max(shape))


def as_matrix(Y, device=None, dtype=None):
    """Validate a movie or matrix and return ``(D, restore)``.

    ``D`` is the ``(frames, pixels)`` torch matrix on ``device`` (default: where ``Y`` is);
    ``restore(T)`` reshapes a result like ``D`` back to ``Y``'s shape and container.
    """
    Y = check_array(Y, name="Y", ndim=(2, 3))
    shape = tuple(Y.shape)
    dev = None if device is None else resolve_device(device)
    # the solvers are not differentiable: work on a detached copy, never the caller's graph
    D = to_torch(Y.detach() if isinstance(Y, torch.Tensor) else Y, device=dev,
                 dtype=dtype).reshape(shape[0], -1)
    if D is Y:   # never hand the caller's own tensor to an in-place update
        D = D.clone()

    def restore(T: torch.Tensor):
        return like_input(T.reshape(shape), Y)

    return D, restore


def frobenius(T: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(T))
