"""Randomized truncated SVD through products with the matrix only (dense or scipy.sparse).

Halko, Martinsson & Tropp (2011), Algorithm 4.4: a Gaussian test matrix, a few power
iterations with re-orthonormalisation, then the exact SVD of the small projected matrix. It
needs only ``X @ B`` and ``X.T @ B``, so a sparse matrix (or an implicitly centred one) is never
densified; for the few leading singular vectors an NMF start needs it costs ``2 * n_iter + 2``
products with ``X``, far less than a full SVD of a large matrix.
"""

from __future__ import annotations

import torch

__all__ = ["randomized_svd"]


def randomized_svd(matmul, rmatmul, shape, rank: int, rng, n_oversamples: int = 10,
                   n_iter: int = 4, dtype=torch.float64):
    """The leading ``rank`` singular triplets of the ``shape`` matrix ``X``.

    Parameters
    ----------
    matmul, rmatmul : callables
        ``matmul(B)`` returns ``X @ B`` and ``rmatmul(B)`` returns ``X.T @ B`` (torch tensors).
    shape : (m, n)
    rank : int
    rng : numpy Generator
        Draws the Gaussian test matrix (so the result is reproducible from a seed).
    n_oversamples, n_iter : int
        Extra columns of the sketch and power iterations (scikit-learn's choices: 10 and 4).

    Returns
    -------
    u : tensor (m, rank), s : tensor (rank,), vt : tensor (rank, n)

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = torch.from_numpy(np.random.default_rng(0).standard_normal((30, 20)))
    >>> u, s, vt = randomized_svd(lambda B: X @ B, lambda B: X.T @ B, X.shape, 3,
    ...                           np.random.default_rng(0))
    >>> bool(torch.allclose(s, torch.linalg.svdvals(X)[:3], rtol=1e-6))
    True
    """
    m, n = shape
    k = min(rank + n_oversamples, m, n)
    Q = torch.linalg.qr(matmul(torch.from_numpy(rng.standard_normal((n, k))).to(dtype)))[0]
    for _ in range(n_iter):
        Q = torch.linalg.qr(rmatmul(Q))[0]
        Q = torch.linalg.qr(matmul(Q))[0]
    B = rmatmul(Q).T                                   # Q^T X, (k, n)
    ub, s, vt = torch.linalg.svd(B, full_matrices=False)
    return (Q @ ub)[:, :rank], s[:rank], vt[:rank]
