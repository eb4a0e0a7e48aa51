"""Side-by-side foreground figures: input frames, sparse parts of several methods, ground truth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy

__all__ = ["foreground_panel", "prox_kink_plot"]


def foreground_panel(columns, frames=(0,), size=1.8, cmap="gray"):
    """A grid of images: one row per frame, one column per movie (as in DeepLS's figure 2).

    Columns with negative values (sparse parts) are shown as ``|S|`` on one colour scale per
    column (white = strong foreground); boolean columns (masks) in black and white; the others
    (the input) in grey levels from 0 to 1.

    Parameters
    ----------
    columns : dict of str -> array of shape (n_frames, height, width)
        For instance ``{"input": D, "U-Net S": S_unet, "RPCA S": S_rpca, "truth": masks}``.
    frames : sequence of int
        Which frames (rows) to show.
    size : float
        Size of one image in inches.
    cmap : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = foreground_panel({"input": np.zeros((2, 4, 5)), "truth": np.ones((2, 4, 5), bool)},
    ...                        frames=[0, 1])
    >>> len(fig.axes)
    4
    """
    if not columns:
        raise ValueError("columns must be a non-empty dict of name -> movie.")
    frames = list(frames)
    movies = {name: to_numpy(m) for name, m in columns.items()}
    for name, m in movies.items():
        if m.ndim != 3:
            raise ValueError(f"column {name!r} must be a movie (n_frames, height, width), got "
                             f"shape {m.shape}.")
    h, w = next(iter(movies.values())).shape[1:]
    fig, axes = plt.subplots(len(frames), len(movies), squeeze=False,
                             figsize=(size * len(movies) * w / h, size * len(frames)))
    for j, (name, m) in enumerate(movies.items()):
        if m.dtype == bool:
            kw = dict(vmin=0, vmax=1)
            show = m
        elif m.min() < 0:
            show = np.abs(m)
            kw = dict(vmin=0, vmax=float(np.percentile(show[frames], 99.5)) or 1.0)
        else:
            show, kw = m, dict(vmin=0, vmax=1)
        for i, f in enumerate(frames):
            ax = axes[i, j]
            ax.imshow(show[f], cmap=cmap, interpolation="nearest", **kw)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"frame {f}", fontsize=8)
    fig.tight_layout()
    return fig


def prox_kink_plot(weight=1.0, ax=None):
    """The absolute value and two "gradients" of it: the subgradient and the prox residual.

    The subgradient ``w sign(q)`` jumps at the kink, so gradient steps overshoot zero and
    oscillate; the prox residual ``q - soft(q, w) = clip(q, -w, w)`` is continuous and a step of
    size 1 along it lands exactly on ``soft(q, w)`` (zero for ``|q| <= w``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = prox_kink_plot(0.5)
    """
    ax = ax if ax is not None else plt.gca()
    q = np.linspace(-3 * weight, 3 * weight, 601)
    ax.plot(q, weight * np.abs(q), color="0.6", lw=3, label=r"loss $w|q|$")
    ax.plot(q, weight * np.sign(q), color="tab:red", label=r"subgradient $w\,\mathrm{sign}(q)$")
    ax.plot(q, np.clip(q, -weight, weight), color="tab:blue", ls="--",
            label=r"prox residual $q-\mathrm{soft}(q,w)$")
    ax.plot(q, np.sign(q) * np.maximum(np.abs(q) - weight, 0), color="tab:green", ls=":",
            label=r"one step: $\mathrm{soft}(q,w)$")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set(xlabel="q", title=f"w = {weight:g}")
    ax.legend(fontsize=8, loc="upper left")
    return ax
