"""Figures for convolutional dictionary learning: templates, detection curves, image filters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy

__all__ = ["plot_templates", "plot_detection_curves", "plot_filters_2d"]


def plot_templates(true, learned, assignment=None, lags=None, start=None, fs=None, axes=None):
    """True spike templates against the matched learned filters (and the starting filters).

    Parameters
    ----------
    true : array of shape (n_neurons, K)
    learned : array of shape (n_filters, K)
    assignment, lags : int arrays, optional
        From :func:`factorlab.metrics.template_error`; learned filters are shifted back by the lag
        and their sign matched so that they overlay the truth.
    start : array of shape (n_filters, K), optional
        Initial filters, drawn dotted.
    fs : float, optional
        Sampling rate; the x-axis is in ms when given.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_templates(np.eye(2, 5), np.eye(2, 5))
    """
    H, G = to_numpy(true), to_numpy(learned)
    n, K = H.shape
    assignment = np.arange(n) if assignment is None else np.asarray(assignment)
    lags = np.zeros(n, dtype=int) if lags is None else np.asarray(lags)
    t = np.arange(K) * (1000.0 / fs if fs else 1.0)
    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.6), constrained_layout=True, squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for c, ax in enumerate(axes):
        ax.plot(t, H[c], color="k", lw=2, label="true")
        j = assignment[c]
        if j >= 0:
            for arr, style, label in ((G, "-", "learned"), (start, ":", "start")):
                if arr is None:
                    continue
                g = np.roll(to_numpy(arr)[j], -lags[c])
                g = g / np.linalg.norm(g) * np.sign(np.dot(g, H[c]) or 1.0)
                ax.plot(t, g, style, color="C1" if style == "-" else "C0", label=label)
        ax.set_title(f"neuron {c}")
        ax.set_xlabel("ms" if fs else "sample")
    axes[0].legend(frameon=False, fontsize=8)
    return fig


def plot_detection_curves(curves, ax=None):
    """Miss rate against false-alarm rate along the threshold sweep (lower left is better).

    Parameters
    ----------
    curves : dict of label -> :class:`factorlab.metrics.DetectionCurve`

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.metrics import DetectionCurve
    >>> c = DetectionCurve(np.array([0.1, 0.5]), np.array([0.0, 0.1]), np.array([0.2, 0.0]),
    ...                    np.array([0.9, 0.95]))
    >>> ax = plot_detection_curves({"model": c})
    """
    ax = ax if ax is not None else plt.gca()
    for label, c in curves.items():
        ax.plot(100 * c.false_alarm, 100 * c.miss, "o-", ms=3, label=f"{label} (F1 {c.best_f1:.3f})")
    ax.set(xlabel="false alarm (%)", ylabel="miss (%)")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_filters_2d(filters, ncols=8, figsize=None):
    """Show 2-D filters as a grid of small images (each on its own symmetric grey scale).

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_filters_2d(np.random.default_rng(0).standard_normal((4, 5, 5)), ncols=2)
    """
    F = to_numpy(filters)
    n = len(F)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (1.1 * ncols, 1.1 * nrows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for f, ax in zip(F, axes.ravel()):
        lim = float(np.abs(f).max()) or 1.0
        ax.imshow(f, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
    return fig
