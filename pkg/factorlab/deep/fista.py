"""Convolutional sparse coding: the operators, the step size and FISTA.

Model: a signal ``y`` (1-D of length N, or an image) is a sum of filters convolved with sparse
codes, ``y = sum_c h_c * x_c + noise``, with codes of "valid" size (N - K + 1 per filter), so
that the full convolution of code and filter has exactly the size of ``y``. The convex problem

    min_x  1/2 ||y - H x||^2 + sum_c lam_c ||x_c||_1      (optionally x >= 0)

is solved by FISTA, whose step ``x <- S_{lam/L}(z + H^T (y - H z) / L)`` is also the layer of the
unrolled CRsAE encoder (:mod:`factorlab.deep.crsae`). Everything here runs in torch; filters are
``(C, K)`` arrays for 1-D signals and ``(C, K1, K2)`` for images.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .._backend import like_input, to_torch
from .._validate import check_array, check_int, check_positive

__all__ = ["conv_decode", "conv_correlate", "flip_filters", "lipschitz_bound", "fista_csc",
           "csc_objective", "shrink"]

_CONV = {1: F.conv1d, 2: F.conv2d}


def conv_correlate(y: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """``H^T y``: correlate a batch ``(B, 1, *spatial)`` with every filter -> ``(B, C, *code)``."""
    return _CONV[filters.ndim - 1](y, filters.unsqueeze(1))


def flip_filters(filters: torch.Tensor) -> torch.Tensor:
    """The flipped filters ``(1, C, *K)`` that :func:`conv_decode` correlates with; iterative
    solvers compute them once instead of at every step."""
    return torch.flip(filters, dims=tuple(range(1, filters.ndim))).unsqueeze(0)


def conv_decode(codes: torch.Tensor, filters: torch.Tensor,
                flipped: torch.Tensor | None = None) -> torch.Tensor:
    """``H x``: sum over filters of the full convolution of each code with its filter.

    Written as a correlation of the zero-padded codes with the flipped filters; it equals the
    transposed convolution (the tests check that it is the adjoint of the encoder's
    correlation). The point is not speed (the two forms timed within 20 % of each other on
    one CPU thread) but that the flipped filters can be computed once per step.
    ``flipped`` is ``flip_filters(filters)`` if already computed.
    """
    pad = []
    for k in reversed(filters.shape[1:]):
        pad += [k - 1, k - 1]
    flipped = flip_filters(filters) if flipped is None else flipped
    return _CONV[filters.ndim - 1](F.pad(codes, pad), flipped)


def shrink(u: torch.Tensor, threshold, nonnegative: bool = False) -> torch.Tensor:
    """Soft threshold as a two-sided ReLU, ``ReLU(u - b) - ReLU(-u - b)``.

    With ``nonnegative=True`` only the one-sided ``ReLU(u - b)`` is kept (the proximal map of
    ``b|x|`` plus the constraint ``x >= 0``), as for spike amplitudes.
    """
    if nonnegative:
        return F.relu(u - threshold)
    return F.relu(u - threshold) - F.relu(-u - threshold)


def lipschitz_bound(filters, n_fft: int | None = None) -> float:
    """A guaranteed upper bound on the Lipschitz constant ``L = ||H^T H||`` of the CSC gradient.

    ``||H||^2`` is at most the peak of ``f(w) = sum_c |FFT(h_c)(w)|^2`` over all frequencies.
    The peak over an FFT grid approaches it from below; Bernstein's inequality for the
    trigonometric polynomial ``f`` (degree ``K - 1`` per axis) turns the grid peak into a bound
    from above: ``max f <= grid max / (1 - pi * sum(K_i - 1) / n_fft)``. The default grid makes
    that factor at most 1.05. The cruder ``sum_c ||h_c||_1^2`` also bounds ``L``; the smaller of
    the two is returned.

    Parameters
    ----------
    filters : array or tensor of shape (C, K) or (C, K1, K2)
    n_fft : int, optional
        Grid size per axis (default: a power of two >= 64 * K).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(lipschitz_bound(np.array([[1.0, 0.0, 0.0]])), 6)   # a single delta: L = 1
    1.0
    """
    h = to_torch(filters).detach()
    if h.ndim not in (2, 3):
        raise ValueError(f"filters must have shape (C, K) or (C, K1, K2), got {tuple(h.shape)}.")
    sizes = h.shape[1:]
    degree = sum(k - 1 for k in sizes)
    if n_fft is None:
        n_fft = 1 << int(math.ceil(math.log2(64 * max(max(sizes), 2))))
    n_fft = check_int(n_fft, "n_fft", minimum=2 * max(sizes))
    spectrum = torch.fft.rfftn(h, s=(n_fft,) * len(sizes), dim=tuple(range(1, h.ndim)))
    grid_max = float((spectrum.abs() ** 2).sum(0).max())
    factor = 1.0 - math.pi * degree / n_fft
    bound = grid_max / factor if factor > 0 else math.inf
    l1 = float((h.abs().flatten(1).sum(1) ** 2).sum())
    return min(bound, l1)


def csc_objective(y, codes, filters, lam) -> float:
    """``1/2 ||y - H x||^2 + sum_c lam_c ||x_c||_1``, summed over a batch (torch in, float out)."""
    resid = y - conv_decode(codes, filters)
    lam = torch.as_tensor(lam, dtype=codes.dtype).reshape(-1, *([1] * (codes.ndim - 2)))
    return float(0.5 * (resid ** 2).sum() + (lam * codes.abs()).sum())


def _batch(y, filters):
    """Shape ``y`` as ``(B, 1, *spatial)`` and report whether a batch axis was given."""
    d = filters.ndim - 1
    if y.ndim == d:
        return y.unsqueeze(0).unsqueeze(0), False
    return y.unsqueeze(1), True


def fista_csc(y, filters, lam, tol: float = 1e-6, max_iter: int = 5000,
              nonnegative: bool = False, L: float | None = None, return_n_iter: bool = False):
    """Convolutional sparse coding solved to convergence by FISTA (the convex reference).

    Minimises ``1/2 ||y - sum_c h_c * x_c||^2 + sum_c lam_c ||x_c||_1`` over codes ``x``
    (optionally ``x >= 0``) with step ``1/L`` and Nesterov momentum, until the relative change
    of the codes falls below ``tol``. A batch of signals is solved jointly (one problem each),
    stopping when every one has converged.

    Parameters
    ----------
    y : array or tensor of shape (N,) or (B, N) for 1-D filters, (H, W) or (B, H, W) for 2-D
    filters : array or tensor of shape (C, K) or (C, K1, K2)
    lam : float or array of shape (C,)
        Penalty weight(s), >= 0.
    tol : float
        Stop when ``||x_t - x_{t-1}|| <= tol * ||x_t||``.
    max_iter : int
    nonnegative : bool
        Constrain the codes to be nonnegative.
    L : float, optional
        Step-size constant; default :func:`lipschitz_bound` of the filters.
    return_n_iter : bool
        Also return the number of iterations run.

    Returns
    -------
    codes : array or tensor of shape (C, N - K + 1) (or (B, C, ...), or 2-D code maps)
        Same container as ``y``.
    n_iter : int, only if ``return_n_iter``

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([[1.0, 0.0]])                       # identity filter: x = soft(y, lam)
    >>> y = np.array([3.0, -0.5, 1.5])
    >>> np.round(fista_csc(y, h, lam=1.0)[0, :2], 4).tolist()
    [2.0, 0.0]
    """
    h = to_torch(check_array(filters, "filters", ndim=(2, 3)))
    d = h.ndim - 1
    yt = check_array(y, "y", ndim=(d, d + 1))
    Y = to_torch(yt, device=h.device, dtype=h.dtype)
    if any(s < k for s, k in zip(Y.shape[-d:], h.shape[1:])):
        raise ValueError(f"y (shape {tuple(Y.shape)}) must be at least as long as the filters "
                         f"(shape {tuple(h.shape)}) along every signal axis.")
    lam_arr = np.broadcast_to(np.asarray(lam, dtype=float), (h.shape[0],)).copy()
    if not np.isfinite(lam_arr).all() or (lam_arr < 0).any():
        raise ValueError(f"lam must be finite and >= 0 (a float or one value per filter), got {lam!r}.")
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    L = lipschitz_bound(h) if L is None else check_positive(L, "L")
    Yb, batched = _batch(Y, h)
    thr = torch.as_tensor(lam_arr, dtype=h.dtype).reshape(-1, *([1] * d)) / L
    x_old = torch.zeros((Yb.shape[0], h.shape[0], *(s - k + 1 for s, k in zip(Yb.shape[2:], h.shape[1:]))),
                        dtype=h.dtype)
    z, s = x_old, 1.0
    n_iter = max_iter
    # the step z + H^T (y - H z) / L as H^T y / L - H^T H z / L + z, with H^T y / L, h / L and
    # the flipped filters computed once
    h_step, flipped = h / L, flip_filters(h)
    with torch.no_grad():
        hty = conv_correlate(Yb, h_step)
        for it in range(1, max_iter + 1):
            x = shrink((hty - conv_correlate(conv_decode(z, h, flipped), h_step)).add_(z), thr,
                       nonnegative)
            s_new = (1 + math.sqrt(1 + 4 * s * s)) / 2
            z = x + ((s - 1) / s_new) * (x - x_old)
            change = (x - x_old).flatten(1).norm(dim=1)
            size = x.flatten(1).norm(dim=1).clamp_min(1e-30)
            x_old, s = x, s_new
            if bool((change <= tol * size).all()):
                n_iter = it
                break
    out = like_input(x if batched else x[0], y)
    return (out, n_iter) if return_n_iter else out
