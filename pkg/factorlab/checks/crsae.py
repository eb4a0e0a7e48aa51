"""Checks for the FISTA-unrolling exercise (two-sided ReLU, one FISTA step, unrolled encoder)."""

from __future__ import annotations

import numpy as np
import torch

from ..csc.fista import fista_steps
from ._common import answer_array, require

__all__ = ["check_two_sided_relu", "check_unrolled_fista"]


def check_two_sided_relu(func) -> None:
    """Check ``func(u, b)`` against the soft threshold ``sign(u) max(|u| - b, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> check_two_sided_relu(lambda u, b: np.sign(u) * np.maximum(np.abs(u) - b, 0))
    ✓ two-sided ReLU = soft threshold.
    """
    u = np.linspace(-3, 3, 61)
    out = func(u, 0.5)
    got = answer_array("func(u, b)", out, u.shape)
    want = np.sign(u) * np.maximum(np.abs(u) - 0.5, 0)
    require(bool((got[u > 0.5] > 0).all() and (got[u < -0.5] < 0).all()),
            "Negative inputs beyond -b must stay negative: add the mirrored term -ReLU(-u - b).")
    require(bool(np.abs(got[np.abs(u) <= 0.5]).max() < 1e-12),
            "Inputs with |u| <= b must become exactly zero.")
    require(bool(np.allclose(got, want)), "Large inputs should shrink by exactly b towards zero: "
            "ReLU(u - b) - ReLU(-u - b).")
    print("✓ two-sided ReLU = soft threshold.")


def check_unrolled_fista(codes, y, filters, threshold, L, n_iter, nonnegative=False) -> float:
    """Compare ``codes`` with ``n_iter`` FISTA steps of the package from zero.

    Parameters
    ----------
    codes : array of shape (C, N - K + 1)
    y : array of shape (N,)
    filters : array of shape (C, K)
    threshold : float
        Shrinkage threshold per step (``lambda sigma^2 / L``).
    L : float
    n_iter : int
    nonnegative : bool

    Returns
    -------
    float
        Largest absolute difference.

    Examples
    --------
    >>> import numpy as np
    >>> err = check_unrolled_fista(np.zeros((1, 3)), np.zeros(4), np.ones((1, 2)), 0.1, 2.0, 5)
    ✓ your 5 unrolled steps match the package (to within 1e-6).
    """
    y = np.asarray(y, dtype=float)
    h = torch.as_tensor(np.asarray(filters, dtype=float))
    got = answer_array("codes", codes, (h.shape[0], y.shape[0] - h.shape[1] + 1))
    # the package's own FISTA loop, in float64 (the student's answer is NumPy float64)
    codes_ref, _ = fista_steps(torch.as_tensor(y)[None, None], h, float(L), float(threshold),
                               int(n_iter), bool(nonnegative))
    want = codes_ref[0].numpy()
    diff = float(np.abs(got - want).max())
    scale = max(float(np.abs(want).max()), 1e-12)
    require(diff <= 1e-6 * max(scale, 1.0),
            f"Your codes differ from FISTA by up to {diff:.3g}. Check: the gradient step "
            "z + H^T(y - Hz)/L, the threshold, the momentum (s_t - 1)/s_(t+1) applied to "
            "x_t - x_(t-1), and that x_0 = z_1 = 0, s_1 = 1.")
    # The tolerance, not the rounding-level difference (which varies between machines).
    print(f"✓ your {n_iter} unrolled steps match the package (to within 1e-6).")
    return diff
