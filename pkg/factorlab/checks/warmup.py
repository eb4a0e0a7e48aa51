"""Checks for the warm-up exercise (alternating least squares)."""

from __future__ import annotations

import numpy as np

from ._common import answer_array, call_student, placeholder, require

__all__ = ["check_als", "check_als_factors", "check_error_curve"]

_U_SHAPE = "rows of X x rank: one row of U per row of X, X ≈ U @ V.T"
_V_SHAPE = "columns of X x rank: one row of V per column of X, X ≈ U @ V.T"
_SOLVE_HINT = ("np.linalg.solve(G, B) solves G Z = B; for U G = X V solve the transposed "
               "system, np.linalg.solve(V.T @ V, (X @ V).T).T, and use X.T in the V update.")


def _bound(X, rank):
    s = np.linalg.svd(X, compute_uv=False)
    return float(np.sqrt(np.sum(s[rank:] ** 2)) / np.linalg.norm(X))


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
    nonfinite = ("the factors blew up; divide by the Gram matrix (VᵀV for U, UᵀU for V) with "
                 "np.linalg.solve rather than leaving it out.")
    U = answer_array("U", U, (X.shape[0], rank), _U_SHAPE, nonfinite)
    V = answer_array("V", V, (X.shape[1], rank), _V_SHAPE, nonfinite)
    err = float(np.linalg.norm(X - U @ V.T) / np.linalg.norm(X))
    bound = _bound(X, rank)
    require(err >= bound - 1e-9, f"The error {err:.4f} is below the SVD bound {bound:.4f}, which "
            "is impossible: are U and V computed from the same X you passed here?")
    require(err <= bound * (1 + rtol) + 1e-12,
            f"Relative error {err:.4f} is above the best possible {bound:.4f}. Run more "
            "iterations, or check the updates: U = X V (VᵀV)⁻¹ and V = Xᵀ U (UᵀU)⁻¹.")
    print(f"✓ relative error {err:.3f} matches the SVD bound {bound:.3f}.")
    return err


def _factors(out, X, rank):
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            "als should return the pair U, V.")
    U = answer_array("U", out[0], (X.shape[0], rank), _U_SHAPE)
    V = answer_array("V", out[1], (X.shape[1], rank), _V_SHAPE)
    return U, V


def check_als(als, X, rank: int) -> float:
    """Check a function ``als(X, rank, n_iter, seed)`` that fits ``X ≈ U @ V.T`` by ALS from
    ``V = default_rng(seed).standard_normal((n_features, rank))``, updating U then V.

    The function is first run on the check's own matrix: one sweep must be the exact
    least-squares U, then V, from that start (so a missing update, a missing Gram matrix or
    the wrong Gram matrix is named), and 100 sweeps must reach the SVD bound. Then it is run
    on ``X`` with its defaults, and that fit checked like :func:`check_als_factors`.

    Returns
    -------
    float
        The relative error of ``als(X, rank)``.

    Examples
    --------
    >>> import numpy as np
    >>> def als(X, rank, n_iter=100, seed=0):
    ...     V = np.random.default_rng(seed).standard_normal((X.shape[1], rank))
    ...     for _ in range(n_iter):
    ...         U = np.linalg.solve(V.T @ V, (X @ V).T).T
    ...         V = np.linalg.solve(U.T @ U, (X.T @ U).T).T
    ...     return U, V
    >>> X = np.random.default_rng(0).standard_normal((20, 8))
    >>> err = check_als(als, X, rank=2)
    ✓ relative error 0.729 matches the SVD bound 0.729.
    """
    rng = np.random.default_rng(42)
    A = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 20))
    A += 0.1 * rng.standard_normal(A.shape)
    r, seed = 2, 3
    U1, V1 = _factors(call_student(als, A, r, 1, seed, name="als(X, rank, n_iter, seed)",
                                   hint=_SOLVE_HINT), A, r)
    V0 = np.random.default_rng(seed).standard_normal((A.shape[1], r))

    def sweep(V, gram_u=True, gram_v=True, v_gram_of="U"):
        U = A @ V
        if gram_u:
            U = np.linalg.solve(V.T @ V, U.T).T
        W = A.T @ U
        if gram_v:
            G = U.T @ U if v_gram_of == "U" else V.T @ V
            W = np.linalg.solve(G, W.T).T
        return U, W

    def same(UV):
        P = UV[0] @ UV[1].T
        return np.allclose(U1 @ V1.T, P, rtol=1e-6, atol=1e-9 * np.abs(P).max())

    if not same(sweep(V0)):
        Ur, _ = sweep(V0)
        require(not np.allclose(V1, V0), "V is never updated: after U = X V (VᵀV)⁻¹, update "
                "V = Xᵀ U (UᵀU)⁻¹ with the new U, inside the loop.")
        require(not same(sweep(V0, gram_u=False, gram_v=False)),
                "The updates leave out the Gram matrices: U = X V alone is not the "
                "least-squares U. Solve U (VᵀV) = X V, and V (UᵀU) = Xᵀ U.")
        require(not same(sweep(V0, gram_u=False)),
                "The U update leaves out its Gram matrix: solve U (VᵀV) = X V, not U = X V.")
        require(not same(sweep(V0, gram_v=False)),
                "The V update leaves out its Gram matrix: solve V (UᵀU) = Xᵀ U, not V = Xᵀ U.")
        require(not same(sweep(V0, v_gram_of="V")),
                "The V update divides by VᵀV; with U fixed the Gram matrix is UᵀU (each update "
                "divides by the Gram matrix of the factor held fixed).")
        require(not np.allclose(U1, Ur, rtol=1e-6),
                "The U update is right but the V update is not: V = Xᵀ U (UᵀU)⁻¹, with the U "
                "just computed.")
        V_conv = V0
        for _ in range(100):
            _, V_conv = sweep(V_conv)
        require(not same(sweep(V_conv)) or np.allclose(U1 @ V1.T, 0),
                "als(X, rank, n_iter=1) returns a converged fit: the loop must run n_iter "
                "times (range(n_iter)), not a fixed number.")
        require(False, "One sweep from the given start is not the least-squares update of U "
                "and then V: U = X V (VᵀV)⁻¹ first, then V = Xᵀ U (UᵀU)⁻¹ with the new U.")
    Uc, Vc = _factors(call_student(als, A, r, 100, seed, name="als"), A, r)
    err = np.linalg.norm(A - Uc @ Vc.T) / np.linalg.norm(A)
    require(err <= _bound(A, r) * (1 + 1e-3),
            "One sweep is right but 100 sweeps do not reach the SVD bound: does the loop use "
            "n_iter, and does each sweep start from the V of the previous one?")
    U, V = _factors(call_student(als, X, rank, name="als(X, rank)"), np.asarray(X), rank)
    return check_als_factors(U, V, X, rank)


def check_error_curve(errors, als, X, rank: int, n_sweeps: int = 10) -> None:
    """Check ``errors[k]``: the relative error ``||X - U Vᵀ||_F / ||X||_F`` of
    ``als(X, rank, n_iter=k + 1)``, for ``k = 0 .. n_sweeps - 1``; it must never go up.

    The check runs ``als`` itself, so an error list left from an earlier run is caught.

    Examples
    --------
    >>> import numpy as np
    >>> def als(X, rank, n_iter=100, seed=0):
    ...     V = np.random.default_rng(seed).standard_normal((X.shape[1], rank))
    ...     for _ in range(n_iter):
    ...         U = np.linalg.solve(V.T @ V, (X @ V).T).T
    ...         V = np.linalg.solve(U.T @ U, (X.T @ U).T).T
    ...     return U, V
    >>> X = np.random.default_rng(0).standard_normal((20, 8))
    >>> fits = [als(X, 2, n_iter=k) for k in range(1, 4)]
    >>> errs = [np.linalg.norm(X - U @ V.T) / np.linalg.norm(X) for U, V in fits]
    >>> check_error_curve(errs, als, X, 2, n_sweeps=3)
    ✓ the error falls with every sweep, from 0.828 to 0.754.
    """
    placeholder("errors", errors)
    got = np.asarray(errors, dtype=float).ravel() if np.size(errors) else np.zeros(0)
    require(got.size > 0, "errors is empty: inside the loop, fit with n_iter sweeps and append "
            "the relative error of that fit (errors.append(...)).")
    require(got.size == n_sweeps, f"errors should hold {n_sweeps} numbers, one per number of "
            f"sweeps 1..{n_sweeps}, got {got.size}: append once per pass of the loop.")
    require(bool(np.isfinite(got).all()), "errors contains NaN or inf.")
    X = np.asarray(X, dtype=float)
    norm = np.linalg.norm(X)
    ref = []
    for k in range(1, n_sweeps + 1):
        U, V = _factors(call_student(als, X, rank, k, name=f"als(X, {rank}, n_iter={k})"),
                        X, rank)
        ref.append(np.linalg.norm(X - U @ V.T) / norm)
    ref = np.array(ref)

    def close(a):
        return np.allclose(got, a, rtol=1e-6, atol=1e-12)

    if not close(ref):
        require(not close(ref * norm), "These are absolute errors ||X - U Vᵀ||_F: divide by "
                "||X||_F to make them relative.")
        require(not close(ref ** 2), "These are squared errors: take the norm, "
                "np.linalg.norm(X - U @ V.T) / np.linalg.norm(X), not its square.")
        require(not np.allclose(got, got[0]), "Every entry of errors is the same: each pass "
                "must fit anew with its own n_iter (als(X, rank=3, n_iter=n_iter)), not reuse "
                "U and V from part 1 or a fixed n_iter.")
        require(not np.allclose(got[::-1], ref, rtol=1e-6), "errors is in reverse order: "
                "errors[0] belongs to 1 sweep.")
        require(False, "errors does not hold the relative errors of als(X, rank, n_iter) for "
                f"n_iter = 1, ..., {n_sweeps} (a list left from an earlier run, a fit to other "
                "data, or another rank?). Fit inside the loop and append "
                "np.linalg.norm(X - U_k @ V_k.T) / np.linalg.norm(X).")
    require(bool(np.all(np.diff(got) <= 1e-12)), "The error went up between sweeps, which "
            "exact least-squares updates never do: check both updates in als.")
    print(f"✓ the error falls with every sweep, from {got[0]:.3f} to {got[-1]:.3f}.")
