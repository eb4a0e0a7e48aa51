"""Checks for the robust PCA exercise (the two proximal steps of IALM)."""

from __future__ import annotations

import numpy as np

from ..prox import soft_threshold, svt
from ._common import answer_array, call_student, require

__all__ = ["check_ialm", "check_rpca_split", "check_shrink", "check_svt"]


def check_shrink(shrink) -> None:
    """Check a soft-threshold function ``shrink(X, tau)`` against the closed form.

    Examples
    --------
    >>> import numpy as np
    >>> check_shrink(lambda X, t: np.sign(X) * np.maximum(np.abs(X) - t, 0))
    ✓ shrink is the soft threshold: small entries become exactly 0, the rest move towards 0 by tau.
    """
    X = np.random.default_rng(0).standard_normal((6, 5))
    got = answer_array("shrink(X, 0.5)", call_student(shrink, X.copy(), 0.5, name="shrink"),
                       X.shape, "the shape of X: shrink acts entry by entry")
    want = soft_threshold(X, 0.5)
    if not np.allclose(got, want):
        require(not np.allclose(got, np.maximum(X - 0.5, 0)),
                "Negative entries are all set to 0: shrink |x| and keep the sign, "
                "sign(x) * max(|x| - tau, 0), so that large negative entries stay negative.")
        require(not np.allclose(got, np.maximum(np.abs(X) - 0.5, 0)),
                "The sign is lost: multiply max(|x| - tau, 0) by np.sign(x).")
        require(not np.allclose(got, X * (np.abs(X) > 0.5)),
                "That is hard thresholding: the entries you keep must also shrink by tau "
                "towards 0, not keep their value.")
    require(not np.allclose(got, np.clip(X, -0.5, 0.5)),
            "That is clipping, not shrinking: entries larger than tau should move towards 0 by "
            "tau, not be capped at tau.")
    require(np.allclose(np.abs(got[np.abs(X) <= 0.5]), 0),
            "Entries with |x| <= tau must become exactly 0 (use np.maximum(|x| - tau, 0)).")
    require(np.allclose(got, want), "Large entries must keep their sign and shrink by tau: "
            "sign(x) * max(|x| - tau, 0).")
    print("✓ shrink is the soft threshold: small entries become exactly 0, the rest move "
          "towards 0 by tau.")


def check_svt(svt_fn) -> None:
    """Check a singular value thresholding function ``svt_fn(X, tau)``.

    Examples
    --------
    >>> from factorlab.prox import svt
    >>> check_svt(svt)
    ✓ svt shrinks every singular value by tau and drops those below tau.
    """
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 8)) @ np.diag([5, 4, 3, 2, 1, 0.5, 0.3, 0.1]) @ rng.standard_normal((8, 8))
    got = answer_array("svt(X, 1.0)", call_student(
        svt_fn, X.copy(), 1.0, name="svt_step", hint="Use np.linalg.svd(X, full_matrices=False) "
        "so that U * s broadcasts."), X.shape, "the shape of X: rebuild the matrix, do not "
        "return its singular values")
    want = svt(X, 1.0)
    require(np.allclose(got, X) or not np.allclose(got, soft_threshold(X, 1.0)),
            "You soft-thresholded the entries of X; svt soft-thresholds its singular values: "
            "SVD, shrink s, rebuild with U * s_new @ Vt.")
    U_, s_, Vt_ = np.linalg.svd(X, full_matrices=False)
    require(not np.allclose(got, (U_ * (s_ - 1.0)) @ Vt_, atol=1e-6),
            "The singular values below tau became negative: clip them at 0, "
            "np.maximum(s - tau, 0).")
    s_got = np.linalg.svd(got, compute_uv=False)
    s_want = np.linalg.svd(want, compute_uv=False)
    require(np.sum(s_got > 1e-8) == np.sum(s_want > 1e-8),
            f"svt should keep {int(np.sum(s_want > 1e-8))} singular values above tau and zero "
            f"the others; yours has rank {int(np.sum(s_got > 1e-8))}.")
    require(np.allclose(s_got, s_want, atol=1e-6),
            "The kept singular values should each be reduced by tau (soft-threshold s, "
            "not keep it as is).")
    require(np.allclose(got, want, atol=1e-6),
            "Singular values are right but the matrix is not: rebuild with U * s_new @ Vt.")
    print("✓ svt shrinks every singular value by tau and drops those below tau.")


def check_rpca_split(L, S, Y, L_reference, tol=1e-2) -> float:
    """Check an IALM result: ``L + S = Y`` and ``L`` close to a reference solution.

    Returns
    -------
    float
        ``||L - L_reference||_F / ||L_reference||_F``.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.ones((4, 3)); err = check_rpca_split(Y, 0 * Y, Y, Y)
    ✓ L + S = Y, and L is within 0.000 of the reference low-rank part.
    """
    Y = np.asarray(Y, dtype=float)
    L = answer_array("L", L, Y.shape)
    S = answer_array("S", S, Y.shape)
    ref = np.asarray(L_reference, dtype=float)
    gap = float(np.linalg.norm(L + S - Y) / np.linalg.norm(Y))
    require(gap < 1e-4, f"L + S differs from Y by {gap:.2e} (relative): did the loop run to "
            "convergence, and is the dual update Z += mu (Y - L - S)?")
    err = float(np.linalg.norm(L - ref) / np.linalg.norm(ref))
    require(err < tol, f"L is {err:.3f} away from the reference (relative); check the thresholds: "
            "S uses lam / mu, L uses 1 / mu.")
    print(f"✓ L + S = Y, and L is within {err:.3f} of the reference low-rank part.")
    return err


def _soft(X, tau):
    return np.sign(X) * np.maximum(np.abs(X) - tau, 0)


def _svt(X, tau):
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    return (U * np.maximum(s - tau, 0)) @ Vt


def _ialm_variant(D, tol=1e-7, max_iter=500, s_thr=lambda lam, mu: lam / mu,
                  l_thr=lambda lam, mu: 1 / mu, z_scale=lambda Z, mu: Z / mu, swap=False):
    """The exercise's IALM loop, with the two proximal steps as given (to name mistakes).
    Returns ``(L, S, n_iter)``, or None when the iterations blow up."""
    lam = 1 / np.sqrt(max(D.shape))
    norm2 = np.linalg.norm(D, 2)
    Z = D / max(norm2, np.abs(D).max() / lam)
    mu, mu_max = 1.25 / norm2, 1.25e7 / norm2
    L = np.zeros_like(D)
    with np.errstate(all="ignore"):
        try:
            for it in range(1, max_iter + 1):
                if swap:      # soft threshold and SVT exchanged
                    S = _svt(D - L + z_scale(Z, mu), s_thr(lam, mu))
                    L = _soft(D - S + z_scale(Z, mu), l_thr(lam, mu))
                else:
                    S = _soft(D - L + z_scale(Z, mu), s_thr(lam, mu))
                    L = _svt(D - S + z_scale(Z, mu), l_thr(lam, mu))
                Z = Z + mu * (D - L - S)
                mu = min(1.5 * mu, mu_max)
                if np.linalg.norm(D - L - S) < tol * np.linalg.norm(D):
                    break
        except np.linalg.LinAlgError:
            return None
    if not (np.isfinite(L).all() and np.isfinite(S).all()):
        return None
    return L, S, it


def check_ialm(ialm_fn, Y=None, slack: int = 2, rtol: float = 1e-4) -> int:
    """Check ``ialm_fn(D) -> (L, S, n_iter)``, the exercise's IALM loop, by running it on the
    check's own matrix (a low-rank part plus large sparse errors, where the thresholds
    ``lam / mu`` and ``1 / mu`` matter) and, if ``Y`` is given, on ``Y``: ``L`` must match the
    reference IALM to ``rtol`` and the iteration count must be within ``slack`` of its count.

    Returns
    -------
    int
        The number of iterations on ``Y`` (on the check's matrix when ``Y`` is None).

    Examples
    --------
    >>> from factorlab.checks.robust import _ialm_variant
    >>> check_ialm(_ialm_variant)
    ✓ your IALM matches the reference: same L, 23 iterations (reference 23).
    23
    """
    rng = np.random.default_rng(5)
    L0 = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 30))
    S0 = np.where(rng.random((40, 30)) < 0.08, rng.choice([-8.0, 8.0], (40, 30)), 0.0)
    datasets = [("the check's own matrix", L0 + S0)]
    if Y is not None:
        datasets.append(("your data", np.asarray(Y, dtype=float).reshape(np.shape(Y)[0], -1)))
    mistakes = [
        (dict(s_thr=lambda lam, mu: lam), "The threshold of S is lam, not lam / mu: the "
         "proximal step of (lam/mu)||S||_1 shrinks by lam / mu."),
        (dict(l_thr=lambda lam, mu: 1.0), "The threshold of L is 1, not 1 / mu: the proximal "
         "step of (1/mu)||L||_* shrinks the singular values by 1 / mu."),
        (dict(s_thr=lambda lam, mu: lam, l_thr=lambda lam, mu: 1.0), "Both thresholds are "
         "missing the division by mu: S uses lam / mu, L uses 1 / mu."),
        (dict(s_thr=lambda lam, mu: 1 / mu, l_thr=lambda lam, mu: lam / mu), "The thresholds "
         "are swapped: S (soft threshold) uses lam / mu, L (SVT) uses 1 / mu."),
        (dict(s_thr=lambda lam, mu: lam * mu, l_thr=lambda lam, mu: mu), "The thresholds are "
         "multiplied by mu; divide: lam / mu and 1 / mu."),
        (dict(z_scale=lambda Z, mu: Z), "The dual variable enters as Z / mu, not Z: "
         "shrink(D - L + Z / mu, ...) and svt_step(D - S + Z / mu, ...)."),
        (dict(z_scale=lambda Z, mu: -Z / mu), "The sign of Z / mu is wrong: it is added, "
         "D - L + Z / mu."),
        (dict(swap=True), "shrink and svt_step are exchanged: S (sparse) is the soft "
         "threshold, L (low rank) the singular value threshold."),
    ]
    n_iter = None
    for where, D in datasets:
        try:
            with np.errstate(all="ignore"):
                out = ialm_fn(D.copy())
            blew_up = not all(np.isfinite(np.asarray(o, float)).all() for o in out[:2])
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            blew_up = True
        if blew_up:
            for options, message in mistakes:
                require(_ialm_variant(D, **options) is not None,
                        f"On {where} the iterations blew up (NaN or inf). {message}")
            require(False, f"On {where} the iterations blew up (NaN or inf): check the two "
                    "proximal steps, shrink(D - L + Z/mu, lam/mu) and svt_step(D - S + Z/mu, "
                    "1/mu).")
        out = call_student(ialm_fn, D.copy(), name="my_ialm(D)")
        require(isinstance(out, (tuple, list)) and len(out) == 3,
                "my_ialm should return L, S and the number of iterations.")
        L = answer_array("L", out[0], D.shape, "frames x pixels, like D")
        answer_array("S", out[1], D.shape, "frames x pixels, like D")
        it = int(out[2])
        L_ref, _, it_ref = _ialm_variant(D)
        err = np.linalg.norm(L - L_ref) / np.linalg.norm(L_ref)
        if err > rtol or abs(it - it_ref) > slack:
            for options, message in mistakes:
                variant = _ialm_variant(D, **options)
                if variant is None:
                    continue
                L_w, _, it_w = variant
                if (abs(it - it_w) <= slack
                        and np.linalg.norm(L - L_w) <= rtol * np.linalg.norm(L_w)):
                    require(False, f"On {where}: {message}")
            require(err <= rtol, f"On {where}, L differs from the reference IALM: the S step is "
                    "shrink(D - L + Z/mu, lam/mu), then the L step svt_step(D - S + Z/mu, 1/mu) "
                    "with the S just computed.")
            require(False, f"On {where}, L is right but the loop took {it} iterations, "
                    f"not about {it_ref}: do not change the stopping rule or the mu update.")
        n_iter = it
        ref_it = it_ref
    print(f"✓ your IALM matches the reference: same L, {n_iter} iterations "
          f"(reference {ref_it}).")
    return n_iter
