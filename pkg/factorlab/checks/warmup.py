"""Checks for the warm-up exercise (alternating least squares)."""

from __future__ import annotations

import numpy as np

from ._common import answer_array, require

__all__ = ["check_als_factors"]


def check_als_factors(U, V, X, rank: int, rtol: float = 1e-3) -> float:
    """Check a rank-``rank`` factorization ``X ≈ U @ V.T`` found by alternating least squares.

    ALS converges to the best rank-``rank`` subspace, so its relative error must match the
    Eckart–Young bound from the truncated SVD to within ``rtol``.

    Parameters
    ----------
    U : array of shape (n_samples, rank)
    V : array of shape (n_features, rank)
    X : array of shape (n_samples, n_features)
    rank : int
    rtol : float
        Allowed relative excess over the SVD error.

    Returns
    -------
    float
        The relative error ``||X - U V^T||_F / ||X||_F``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((20, 8))
    >>> u, s, vt = np.linalg.svd(X, full_matrices=False)
    >>> err = check_als_factors(u[:, :2] * s[:2], vt[:2].T, X, rank=2)
    ✓ relative error 0.729 matches the SVD bound 0.729.
    """
    X = np.asarray(X, dtype=float)
    U = answer_array("U", U, (X.shape[0], rank))
    V = answer_array("V", V, (X.shape[1], rank))
    norm = np.linalg.norm(X)
    err = float(np.linalg.norm(X - U @ V.T) / norm)
    s = np.linalg.svd(X, compute_uv=False)
    bound = float(np.sqrt(np.sum(s[rank:] ** 2)) / norm)
    require(err >= bound - 1e-9, f"The error {err:.4f} is below the SVD bound {bound:.4f}, which "
            "is impossible: are U and V computed from the same X you passed here?")
    require(err <= bound * (1 + rtol) + 1e-12,
            f"Relative error {err:.4f} is above the best possible {bound:.4f}. Run more "
            "iterations, or check the updates: U = X V (VᵀV)⁻¹ and V = Xᵀ U (UᵀU)⁻¹.")
    print(f"✓ relative error {err:.3f} matches the SVD bound {bound:.3f}.")
    return err
