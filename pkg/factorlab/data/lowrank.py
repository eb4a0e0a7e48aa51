"""A plain low-rank matrix plus noise: the smallest dataset with a known answer."""

from __future__ import annotations

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_nonnegative_number

__all__ = ["lowrank_matrix"]


def lowrank_matrix(n_samples=100, n_features=50, rank=3, noise=0.1, nonnegative=False,
                   random_state=None):
    """Draw ``X = U V^T + noise`` with known factors.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    rank : int
        Number of planted components.
    noise : float
        Standard deviation of the additive Gaussian noise.
    nonnegative : bool
        Draw ``U`` and ``V`` from an exponential distribution (and clip ``X`` at 0), as for NMF.
    random_state : int, numpy.random.Generator or None
        Seed for reproducibility.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    U : ndarray of shape (n_samples, rank)
    V : ndarray of shape (n_features, rank)

    Examples
    --------
    >>> X, U, V = lowrank_matrix(20, 10, rank=2, noise=0.0, random_state=0)
    >>> bool(abs(X - U @ V.T).max() < 1e-12)
    True
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    rank = check_int(rank, "rank", minimum=1, maximum=min(n_samples, n_features))
    noise = check_nonnegative_number(noise, "noise")
    rng = check_random_state(random_state)
    if nonnegative:
        U = rng.exponential(size=(n_samples, rank))
        V = rng.exponential(size=(n_features, rank))
    else:
        U = rng.standard_normal((n_samples, rank))
        V = rng.standard_normal((n_features, rank))
    X = U @ V.T + noise * rng.standard_normal((n_samples, n_features))
    if nonnegative:
        X = np.maximum(X, 0)
    return X, U, V
