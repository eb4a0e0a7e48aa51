"""Checks for the robust PCA exercise (the two proximal steps of IALM)."""

from __future__ import annotations

import numpy as np

from ..prox import soft_threshold, svt
from ._common import answer_array, require

__all__ = ["check_shrink", "check_svt", "check_rpca_split"]


def check_shrink(shrink) -> None:
    """Check a soft-threshold function ``shrink(X, tau)`` against the closed form.

    Examples
    --------
    >>> import numpy as np
    >>> check_shrink(lambda X, t: np.sign(X) * np.maximum(np.abs(X) - t, 0))
    ✓ shrink is the soft threshold: small entries become exactly 0, the rest move towards 0 by tau.
    """
    X = np.random.default_rng(0).standard_normal((6, 5))
    got = answer_array("shrink(X, 0.5)", shrink(X.copy(), 0.5), X.shape)
    want = soft_threshold(X, 0.5)
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
    got = answer_array("svt(X, 1.0)", svt_fn(X.copy(), 1.0), X.shape)
    want = svt(X, 1.0)
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
