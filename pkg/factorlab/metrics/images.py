"""Image quality: the peak signal-to-noise ratio of a denoised image."""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy
from .._validate import check_array

__all__ = ["psnr"]


def psnr(clean, estimate, peak=None):
    """Peak signal-to-noise ratio in dB: ``20 log10(peak) - 10 log10(MSE)``.

    ``peak`` defaults to the maximum of the *clean* image (stated explicitly rather than
    assuming 255 or 1).

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.ones(4), np.ones(4) + 0.1), 3)
    20.0
    """
    a, b = (to_numpy(check_array(x, name, ndim=range(1, 6), mask_hint=False)).astype(float)
            for x, name in ((clean, "clean"), (estimate, "estimate")))
    if a.shape != b.shape:
        raise ValueError(f"clean and estimate must have the same shape, got {a.shape} and {b.shape}.")
    peak = float(a.max()) if peak is None else float(peak)
    if not (np.isfinite(peak) and peak > 0):
        raise ValueError(f"peak must be a finite number > 0 (the brightest possible value), got "
                         f"{peak}; pass peak=... when the clean image is not positive.")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(20 * np.log10(peak) - 10 * np.log10(mse))
