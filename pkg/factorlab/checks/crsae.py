"""Checks for the FISTA-unrolling exercise (two-sided ReLU, one FISTA step, unrolled encoder)."""

from __future__ import annotations

import numpy as np
import torch

from ..csc.fista import fista_steps
from ._common import answer_array, call_student, require

__all__ = [
    "check_fista_step",
    "check_two_sided_relu",
    "check_unrolled_encoder",
    "check_unrolled_fista",
]


def check_two_sided_relu(func) -> None:
    """Check ``func(u, b)`` against the soft threshold ``sign(u) max(|u| - b, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> check_two_sided_relu(lambda u, b: np.sign(u) * np.maximum(np.abs(u) - b, 0))
    ✓ two-sided ReLU = soft threshold.
    """
    u = np.linspace(-3, 3, 61)
    out = call_student(func, u.copy(), 0.5, name="two_sided_relu(u, b)")
    got = answer_array("two_sided_relu(u, b)", out, u.shape, "the shape of u: it acts entry "
                       "by entry")
    want = np.sign(u) * np.maximum(np.abs(u) - 0.5, 0)
    if not np.allclose(got, want):
        require(not np.allclose(got, np.maximum(u - 0.5, 0) + np.maximum(-u - 0.5, 0)),
                "The mirrored term is added: subtract it, ReLU(u - b) - ReLU(-u - b), so that "
                "negative inputs stay negative.")
        require(not np.allclose(got, np.maximum(u - 0.5, 0) - np.maximum(u + 0.5, 0)),
                "The second term is ReLU(-u - b) (the input mirrored), not ReLU(u + b).")
        require(not np.allclose(got, u * (np.abs(u) > 0.5)),
                "That is hard thresholding: inputs beyond b must also shrink by b.")
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


def _H(x, h):
    return sum(np.convolve(x[c], h[c]) for c in range(len(h)))


def _Ht(r, h):
    return np.stack([np.correlate(r, h[c], "valid") for c in range(len(h))])


def _soft(u, b):
    return np.sign(u) * np.maximum(np.abs(u) - b, 0)


def _step(y, h, z, x_prev, s, thr, L, grad_sign=1, divide=True, at="z", mom="s_new",
          diff="x_prev", s_rule="square"):
    base = z if at == "z" else x_prev
    g = _Ht(y - _H(base, h), h) * grad_sign
    x = _soft(base + (g / L if divide else g), thr)
    s_new = (1 + np.sqrt(1 + 4 * s * s)) / 2 if s_rule == "square" else \
        (1 + np.sqrt(1 + 4 * s)) / 2
    m = (s - 1) / s_new if mom == "s_new" else (s - 1) / s
    z_new = x + m * (x - (x_prev if diff == "x_prev" else z))
    return x, z_new, s_new


def _fresh_problem():
    rng = np.random.default_rng(21)
    h = rng.standard_normal((2, 4))
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    y = rng.standard_normal(30)
    L = float((np.abs(np.fft.rfft(h, 64)) ** 2).sum(axis=0).max()) * 1.1   # >= ||H||²
    return rng, y, h, L


def check_fista_step(fista_step) -> None:
    """Check ``fista_step(y, h, z, x_prev, s, threshold, L) -> (x, z_new, s_new)``, one FISTA
    step for convolutional sparse coding, on the check's own signal and filters.

    Examples
    --------
    >>> from factorlab.checks.crsae import _step
    >>> check_fista_step(_step)
    ✓ fista_step: gradient step, threshold and momentum are right.
    """
    rng, y, h, L = _fresh_problem()
    z = rng.standard_normal((2, 27)) * 0.5
    x_prev = rng.standard_normal((2, 27)) * 0.5
    s, thr = 1.7, 0.05
    out = call_student(fista_step, y.copy(), h.copy(), z.copy(), x_prev.copy(), s, thr, L,
                       name="fista_step(y, h, z, x_prev, s, threshold, L)",
                       hint="Hz = sum of np.convolve(z[c], h[c]) (full mode); (Hᵀr)_c = "
                       "np.correlate(r, h[c], 'valid').")
    require(isinstance(out, (tuple, list)) and len(out) == 3,
            "fista_step should return x, z_new, s_new.")
    shape = "channels x (N - K + 1), like z"
    x = answer_array("x", out[0], z.shape, shape)
    z_new = answer_array("z_new", out[1], z.shape, shape)
    s_new = float(np.asarray(out[2]))
    want = _step(y, h, z, x_prev, s, thr, L)
    if not np.allclose(x, want[0]):
        for opts, message in [
            (dict(grad_sign=-1), "The gradient step goes the wrong way: it is z + Hᵀ(y - Hz)/L "
             "(the residual is y - Hz)."),
            (dict(divide=False), "The gradient step must be divided by L: z + Hᵀ(y - Hz) / L."),
            (dict(at="x"), "The gradient step starts from z_t (the momentum point), not from "
             "x_(t-1)."),
        ]:
            require(not np.allclose(x, _step(y, h, z, x_prev, s, thr, L, **opts)[0]), message)
        require(not np.allclose(x, z + _Ht(y - _H(z, h), h) / L),
                "x is the gradient step without the two-sided ReLU: threshold it.")
        require(not np.allclose(x, _soft(z + _Ht(y - _H(z, h), h) / L, thr / L))
                and not np.allclose(x, _soft(z + _Ht(y - _H(z, h), h) / L, thr * L)),
                "Use the threshold as given (it already includes the 1/L).")
        require(False, "x is wrong: x_t = S_b(z_t + Hᵀ(y - H z_t) / L).")
    if abs(s_new - want[2]) > 1e-12:
        require(abs(s_new - _step(y, h, z, x_prev, s, thr, L, s_rule="lin")[2]) > 1e-12,
                "s_(t+1) = (1 + sqrt(1 + 4 s_t²)) / 2: the s under the root is squared.")
        require(False, "s_new is wrong: s_(t+1) = (1 + sqrt(1 + 4 s_t²)) / 2.")
    if not np.allclose(z_new, want[1]):
        require(not np.allclose(z_new, _step(y, h, z, x_prev, s, thr, L, mom="s")[1]),
                "The momentum factor is (s_t - 1) / s_(t+1), with the new s, not (s_t - 1) / "
                "s_t.")
        require(not np.allclose(z_new, _step(y, h, z, x_prev, s, thr, L, diff="z")[1]),
                "The momentum multiplies x_t - x_(t-1) (the last two iterates), not x_t - z_t.")
        require(not np.allclose(z_new, x), "z_new has no momentum: z_(t+1) = x_t + "
                "(s_t - 1)/s_(t+1) (x_t - x_(t-1)).")
        require(False, "z_new is wrong: z_(t+1) = x_t + (s_t - 1)/s_(t+1) (x_t - x_(t-1)).")
    print("✓ fista_step: gradient step, threshold and momentum are right.")


def check_unrolled_encoder(unrolled_encoder) -> None:
    """Check ``unrolled_encoder(y, h, threshold, L, n_iter)``: ``n_iter`` FISTA steps from
    ``x_0 = z_1 = 0, s_1 = 1``, returning the last ``x``; run on the check's own signal.

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.checks.crsae import _step
    >>> def enc(y, h, b, L, n_iter):
    ...     x = z = np.zeros((len(h), len(y) - h.shape[1] + 1)); s = 1.0
    ...     for _ in range(n_iter):
    ...         x, z, s = _step(y, h, z, x, s, b, L)
    ...     return x
    >>> check_unrolled_encoder(enc)
    ✓ unrolled_encoder carries x, z and s through 6 steps.
    """
    _, y, h, L = _fresh_problem()
    thr, T = 0.02, 6

    def run(n, carry_x=True, carry_s=True, ret="x"):
        x = z = np.zeros((2, 27))
        s = 1.0
        for _ in range(n):
            x_new, z, s_new = _step(y, h, z, x if carry_x else np.zeros_like(x), s, thr, L)
            x, s = x_new, (s_new if carry_s else 1.0)
        return x if ret == "x" else z

    got = answer_array("the codes", call_student(
        unrolled_encoder, y.copy(), h.copy(), thr, L, T,
        name="unrolled_encoder(y, h, threshold, L, n_iter)"), (2, 27),
        "channels x (N - K + 1): the last x")
    if not np.allclose(got, run(T)):
        for value, message in [
            (run(T, ret="z"), "That is z, the momentum point; return x, the last thresholded "
             "iterate."),
            (run(T - 1), "One step too few: loop n_iter times (range(n_iter))."),
            (run(T + 1), "One step too many: loop n_iter times (range(n_iter))."),
            (run(1), "Only one step counts: carry x, z and s from one step to the next "
             "(x, z, s = fista_step(...))."),
            (run(T, carry_x=False), "x_prev must be the previous x: pass the x returned by "
             "the last step."),
            (run(T, carry_s=False), "s must be carried forward: s_1 = 1, then the s_new that "
             "fista_step returns (otherwise there is no momentum)."),
        ]:
            require(not np.allclose(got, value), message)
        require(False, "The codes differ from n_iter FISTA steps from x_0 = z_1 = 0, s_1 = 1: "
                "call fista_step(y, h, z, x, s, threshold, L) and keep its three outputs.")
    print(f"✓ unrolled_encoder carries x, z and s through {T} steps.")
