"""Convolutional sparse coding: the operators, the step size and FISTA.

Model: a signal ``y`` (1-D of length N, or an image) is a sum of filters convolved with sparse
codes, ``y = sum_c h_c * x_c + noise``, with codes of "valid" size (N - K + 1 per filter), so
that the full convolution of code and filter has exactly the size of ``y``. The convex problem

    min_x  1/2 ||y - H x||^2 + sum_c lam_c ||x_c||_1      (optionally x >= 0)

is solved by FISTA, whose step ``x <- S_{lam/L}(z + H^T (y - H z) / L)`` is also the layer of the
unrolled CRsAE encoder (:mod:`factorlab.csc.crsae`). Everything here runs in torch; filters are
``(C, K)`` arrays for 1-D signals and ``(C, K1, K2)`` for images.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F

from .._backend import like_input, to_torch
from .._validate import check_array, check_int, check_positive

__all__ = ["conv_decode", "conv_correlate", "decode_buffer", "flip_filters", "lipschitz_bound",
           "fista_csc", "fista_steps", "gradient_operators", "csc_objective", "shrink"]

_CONV = {1: F.conv1d, 2: F.conv2d}


def conv_correlate(y: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """``H^T y``: correlate a batch ``(B, 1, *spatial)`` with every filter -> ``(B, C, *code)``."""
    return _CONV[filters.ndim - 1](y, filters.unsqueeze(1))


def flip_filters(filters: torch.Tensor) -> torch.Tensor:
    """The flipped filters ``(C, 1, *K)`` that :func:`conv_decode` correlates with; iterative
    solvers compute them once instead of at every step."""
    return torch.flip(filters, dims=tuple(range(1, filters.ndim))).unsqueeze(1)


def decode_buffer(codes: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """A zero tensor shaped like ``codes`` padded by ``K - 1`` on both sides of every code
    axis, for :func:`conv_decode` to reuse across the steps of an iterative solver."""
    sizes = [m + 2 * (k - 1) for m, k in zip(codes.shape[2:], filters.shape[1:])]
    return codes.new_zeros((*codes.shape[:2], *sizes))


# Below this many (signal, filter) pairs one dense C-to-1 convolution beats the grouped form.
_GROUPED_MIN_PAIRS = 12


def conv_decode(codes: torch.Tensor, filters: torch.Tensor,
                flipped: torch.Tensor | None = None,
                buffer: torch.Tensor | None = None) -> torch.Tensor:
    """``H x``: sum over filters of the full convolution of each code with its filter.

    Written as a correlation of the zero-padded codes with the flipped filters; it equals the
    transposed convolution (the tests check that it is the adjoint of the encoder's
    correlation). Measured on one CPU thread, a *grouped* correlation (one group per filter)
    followed by a sum over filters is faster than one dense C-to-1 correlation once a batch
    holds at least a dozen (signal, filter) pairs: 0.75x the time for 64 windows of 500
    samples and 3 filters, 0.15-0.3x for images with 16-64 filters of 7x7, backward pass
    included; for a single window and 3 filters it is 1.3-3x slower, so small problems take
    the dense form. ``flipped`` is ``flip_filters(filters)`` if already computed; ``buffer``
    (from :func:`decode_buffer`) is reused for the padded codes instead of allocating them.
    """
    flipped = flip_filters(filters) if flipped is None else flipped
    ks = filters.shape[1:]
    if buffer is None:
        pad = []
        for k in reversed(ks):
            pad += [k - 1, k - 1]
        padded = F.pad(codes, pad)
    else:
        interior = tuple(slice(k - 1, k - 1 + m) for k, m in zip(ks, codes.shape[2:]))
        buffer[(..., *interior)].copy_(codes)
        padded = buffer
    conv = _CONV[filters.ndim - 1]
    n_filters = filters.shape[0]
    if codes.shape[0] * n_filters < _GROUPED_MIN_PAIRS:
        return conv(padded, flipped.transpose(0, 1))
    return conv(padded, flipped, groups=n_filters).sum(1, keepdim=True)


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
    h = to_torch(check_array(filters, "filters", ndim=(2, 3), mask_hint=False)).detach()
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


def _shrink_(u: torch.Tensor, threshold, nonnegative: bool) -> torch.Tensor:
    """:func:`shrink` computed in the memory of ``u`` (no autograd)."""
    if nonnegative:
        return u.sub_(threshold).clamp_(min=0)
    upper = (u - threshold).clamp_(min=0)
    return u.add_(threshold).clamp_(max=0).add_(upper)


def _fft_size(n: int) -> int:
    # powers of two were the fastest sizes >= n on the CPU (MKL's FFT): 512 took 0.7x the time of
    # 500, 540 or 576 for windows of 500 samples
    return 1 << (n - 1).bit_length()


def gradient_operators(Yb: torch.Tensor, filters: torch.Tensor, L: float, method: str = "auto",
                       inplace: bool = False):
    """The two parts of the scaled CSC gradient step: ``H^T y / L`` and ``z -> H^T H z / L``.

    ``method="direct"`` convolves (:func:`conv_decode`, then :func:`conv_correlate`);
    ``method="fft"`` multiplies spectra, on an FFT grid at least as long as the signal along
    each axis, so that neither the full convolution of the codes nor the valid correlation
    wraps around. ``"auto"`` takes the FFT for 1-D filters and direct convolutions for images:
    on one CPU thread, for windows of 500 samples and 3 filters of 30 samples, FISTA steps
    took 0.4x the time through the FFT for batches of 8-128 windows and 0.55x for one
    window, and still 0.55-0.6x with 5-10 samples per filter; for 32x32 patches with 16-64
    filters of 7x7 the FFT took 1.3-1.4x longer.

    Parameters
    ----------
    Yb : tensor of shape (B, 1, *spatial)
    filters : tensor of shape (C, *K)
    L : float
    method : {"auto", "direct", "fft"}
    inplace : bool
        Let ``gram`` reuse one padding buffer across calls (no autograd through it).

    Returns
    -------
    hty : tensor of shape (B, C, *code)
    gram : callable
        ``gram(z)`` for codes ``z`` shaped like ``hty``.
    """
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"method must be 'auto', 'direct' or 'fft', got {method!r}.")
    if method == "fft" or (method == "auto" and filters.ndim == 2):
        dims = tuple(range(1 - filters.ndim, 0))         # the signal axes, counted from the end
        sizes = [_fft_size(n) for n in Yb.shape[2:]]
        code = (..., *[slice(0, n - k + 1) for n, k in zip(Yb.shape[2:], filters.shape[1:])])
        spectra = torch.fft.rfftn(filters, s=sizes, dim=dims)
        adjoint = spectra.conj() / L

        def correlate(spectrum):
            return torch.fft.irfftn(adjoint * spectrum, s=sizes, dim=dims)[code]

        hty = correlate(torch.fft.rfftn(Yb, s=sizes, dim=dims)).contiguous()

        def gram(z):
            decoded = (torch.fft.rfftn(z, s=sizes, dim=dims) * spectra).sum(1, keepdim=True)
            return correlate(decoded)

        return hty, gram
    h_step, flipped = filters / L, flip_filters(filters)
    hty = conv_correlate(Yb, h_step)
    buffer = decode_buffer(hty, filters) if inplace else None

    def gram(z):
        return conv_correlate(conv_decode(z, filters, flipped, buffer), h_step)

    return hty, gram


def fista_steps(Yb: torch.Tensor, filters: torch.Tensor, L, threshold, n_iter: int,
                nonnegative: bool = False, tol: float | None = None, method: str = "auto"):
    """FISTA from zero codes on a batch ``(B, 1, *spatial)``: the one FISTA loop of the package.

    Used by :func:`fista_csc` (to a tolerance) and by the CRsAE encoder (``n_iter`` unrolled
    steps, differentiated by autograd during training). The step is
    ``x <- S_b(z + H^T (y - H z) / L)``, computed as ``H^T y / L - H^T H z / L + z``
    (:func:`gradient_operators`), followed by Nesterov's momentum.

    When autograd is on and an input requires a gradient (the filters or the threshold of a
    model being trained), the steps are written out of place, so that backpropagation runs
    through them. Otherwise the iterates are updated in place: on CPUs, allocating fresh
    batch-sized tensors at every step (glibc maps and unmaps large blocks, and every new page
    faults) took as long as the convolutions. Both forms do the same arithmetic.

    Parameters
    ----------
    Yb : tensor of shape (B, 1, *spatial)
    filters : tensor of shape (C, *K)
    L : float or 0-d tensor
        Step-size constant.
    threshold : float or tensor broadcasting to the codes
        ``b`` of the soft threshold (already divided by ``L``).
    n_iter : int
        Steps to run (at most, with ``tol``).
    nonnegative : bool
    tol : float, optional
        Stop once ``||x_t - x_{t-1}|| <= tol * ||x_t||`` for every signal.
    method : {"auto", "direct", "fft"}
        How ``H^T H z`` is computed (see :func:`gradient_operators`).

    Returns
    -------
    codes : tensor of shape (B, C, *code)
    steps : int
        Steps run.

    Examples
    --------
    >>> import torch
    >>> y = torch.tensor([[[3.0, -0.5, 1.5]]])           # identity filter: x = soft(y, b)
    >>> codes, steps = fista_steps(y, torch.tensor([[1.0]]), 1.0, 1.0, 50, tol=1e-9)
    >>> codes[0, 0].tolist()
    [2.0, 0.0, 0.5]
    """
    differentiable = torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in (Yb, filters, L, threshold))
    with contextlib.nullcontext() if differentiable else torch.no_grad():
        hty, gram = gradient_operators(Yb, filters, L, method, inplace=not differentiable)
        x_old = torch.zeros_like(hty)
        z = x_old if differentiable else torch.zeros_like(hty)
        spare = None if differentiable else torch.empty_like(hty)
        s = 1.0
        for step in range(1, n_iter + 1):
            s_new = (1 + math.sqrt(1 + 4 * s * s)) / 2
            if differentiable:
                x = shrink(hty - gram(z) + z, threshold, nonnegative)
                delta = x - x_old
            else:
                x = _shrink_(torch.sub(hty, gram(z), out=spare).add_(z), threshold, nonnegative)
                delta = torch.sub(x, x_old, out=z)       # z is free once gram(z) is computed
            converged = tol is not None and bool(
                (delta.flatten(1).norm(dim=1)
                 <= tol * x.flatten(1).norm(dim=1).clamp_min(1e-30)).all())
            if differentiable:                           # z <- x + (s - 1)/s_new (x - x_old)
                z = x + ((s - 1) / s_new) * delta
                x_old = x
            else:
                z.mul_((s - 1) / s_new).add_(x)
                x_old, spare = x, x_old
            s = s_new
            if converged:
                return x_old, step
        return x_old, n_iter


def csc_objective(y, codes, filters, lam) -> float:
    """``1/2 ||y - H x||^2 + sum_c lam_c ||x_c||_1``, summed over a batch.

    ``y`` is one signal, a batch ``(B, *signal)`` or ``(B, 1, *signal)``; ``codes`` are
    ``(C, *code)`` for one signal and ``(B, C, *code)`` for a batch, with each code axis
    ``K - 1`` shorter than the signal's. Arrays or tensors in, a float out.
    """
    filters = to_torch(check_array(filters, "filters", ndim=(2, 3), mask_hint=False),
                       dtype=torch.float64)
    d = filters.ndim - 1                                        # signal axes
    y = to_torch(check_array(y, "y", ndim=(d, d + 1, d + 2), mask_hint=False), dtype=torch.float64)
    codes = to_torch(check_array(codes, "codes", ndim=min(y.ndim + 1, d + 2), mask_hint=False),
                     dtype=torch.float64)
    y = y.reshape(-1, 1, *y.shape[-d:])
    codes = codes.reshape(-1, *codes.shape[-d - 1:])
    expected = tuple(m + k - 1 for m, k in zip(codes.shape[2:], filters.shape[1:]))
    if codes.shape[1] != filters.shape[0] or codes.shape[0] != y.shape[0] \
            or tuple(y.shape[2:]) != expected:
        raise ValueError(f"codes {tuple(codes.shape)} do not match {filters.shape[0]} filters "
                         f"{tuple(filters.shape)} and signals {tuple(y.shape)}: one channel per "
                         "filter, each code axis K - 1 shorter than the signal's.")
    lam = np.asarray(lam, dtype=float)
    if not (np.isfinite(lam).all() and (lam >= 0).all()):
        raise ValueError(f"lam must be finite and >= 0, got {lam.tolist()!r}.")
    y, codes, filters = y.detach(), codes.detach(), filters.detach()
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
    stopping when every one has converged. The computation runs in the dtype of ``filters``:
    pass float32 filters for speed (on one CPU thread, float64 convolutions of a 160,000-sample
    recording took 12x longer per iteration than float32 ones).

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
    h = to_torch(check_array(filters, "filters", ndim=(2, 3), mask_hint=False))
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
    x, n_iter = fista_steps(Yb, h, L, thr, max_iter, nonnegative, tol)
    out = like_input(x if batched else x[0], y)
    return (out, n_iter) if return_n_iter else out
