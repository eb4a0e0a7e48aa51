"""The Eckart–Young lower bound on the relative error of any rank-r factorization."""

from __future__ import annotations

import numbers

import numpy as np

from .._backend import to_numpy
from .._validate import check_array, check_int

__all__ = ["svd_bound"]


def _tail_errors(M: np.ndarray, ranks) -> np.ndarray:
    s2 = np.linalg.svd(M, compute_uv=False) ** 2
    tails = np.concatenate([np.cumsum(s2[::-1])[::-1], [0.0]])  # tails[r] = sum_{i>=r} s_i^2
    return np.sqrt(tails[np.minimum(ranks, len(s2))])


def svd_bound(X, ranks, center=False):
    """Smallest relative error ``||X - X_hat||_F / ||X||_F`` any rank-r model can reach.

    For a matrix, the truncated SVD is the best rank-r approximation (Eckart–Young), so every
    rank-r factorization (PCA, NMF, sparse PCA, ...) has an error at least
    ``sqrt(sum_{i>r} s_i^2) / ||X||``, and the truncated SVD attains it. For a tensor, every
    unfolding of a rank-r CP tensor has rank at most r, so the CP error is at least the largest
    of the unfoldings' bounds (valid, usually loose). Full data only: the bound says nothing
    about held-out error.

    Parameters
    ----------
    X : array with ndim >= 2
    ranks : int or sequence of int
    center : bool
        Matrices only: bound for models that also fit column means (PCA with ``center=True``),
        i.e. the SVD of the centred matrix, still relative to ``||X||``.

    Returns
    -------
    float or ndarray
        One bound per rank (a float for an int ``ranks``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.diag([3.0, 2.0, 1.0])
    >>> svd_bound(X, [1, 2, 3]).round(3).tolist()
    [0.598, 0.267, 0.0]
    """
    Xa = to_numpy(check_array(X, "X", ndim=tuple(range(2, 17)))).astype(np.float64)
    scalar = isinstance(ranks, numbers.Integral)
    r = np.array([check_int(k, "ranks", minimum=1) for k in np.atleast_1d(ranks).tolist()]) \
        if not scalar else np.array([check_int(ranks, "ranks", minimum=1)])
    norm = max(np.linalg.norm(Xa), 1e-300)
    if center:
        if Xa.ndim != 2:
            raise ValueError("center=True applies to matrices only, got a "
                             f"{Xa.ndim}-D array.")
        Xa = Xa - Xa.mean(axis=0)
    if Xa.ndim == 2:
        out = _tail_errors(Xa, r)
    else:
        unfoldings = (np.moveaxis(Xa, n, 0).reshape(Xa.shape[n], -1) for n in range(Xa.ndim))
        out = np.max([_tail_errors(M, r) for M in unfoldings], axis=0)
    out = out / norm
    return float(out[0]) if scalar else out
