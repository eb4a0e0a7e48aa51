"""Figures for the model menu: why l1 gives zeros, loadings side by side, the loss menu."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy

__all__ = ["norm_balls", "shrinkage_curves", "loadings", "factor_menu"]


def norm_balls(ax=None, center=(1.3, 0.6), shape=((1.0, 0.3), (0.3, 0.6)), levels=6):
    """The l1 and the l2 ball with the level sets of a least-squares loss touching each.

    Minimising a quadratic loss over a ball of given radius is the same as adding the norm as a
    penalty (Lagrange). The ellipses first touch the l1 diamond at a corner, where one
    coordinate is exactly zero; they touch the round l2 ball at a point where both are nonzero.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    center : (float, float)
        Unconstrained least-squares solution (the ellipses' centre).
    shape : 2 x 2 array
        The loss's Hessian (shapes the ellipses).
    levels : int
        Number of contour lines drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = norm_balls()
    """
    ax = ax if ax is not None else plt.gca()
    H, c = np.asarray(shape, float), np.asarray(center, float)
    g = np.linspace(-1.6, 2.0, 301)
    A, B = np.meshgrid(g, g)
    D = np.stack([A - c[0], B - c[1]], -1)
    loss = np.einsum("...i,ij,...j->...", D, H, D)
    # The constrained minima, found on a fine parametrisation of each ball's boundary.
    t = np.linspace(0, 2 * np.pi, 4001)
    l2 = np.stack([np.cos(t), np.sin(t)], 1)
    l1 = l2 / np.abs(l2).sum(1, keepdims=True)
    touching = []
    balls = ((l1, "C3", "l1 ball  |a|+|b| ≤ 1"), (l2, "C0", "l2 ball  a²+b² ≤ 1"))
    for boundary, color, label in balls:
        d = boundary - c
        values = np.einsum("ni,ij,nj->n", d, H, d)
        best = boundary[np.argmin(values)]
        touching.append(values.min())
        ax.fill(boundary[:, 0], boundary[:, 1], color=color, alpha=0.15)
        ax.plot(boundary[:, 0], boundary[:, 1], color=color, label=label)
        ax.plot(*best, "o", color=color, ms=8)
    # Contours up to the two level sets that just touch the balls.
    ax.contour(A, B, loss, levels=np.unique(np.r_[np.linspace(0, min(touching), levels)[1:],
                                                   touching]),
               colors="0.4", linewidths=0.8)
    ax.plot(*c, "k+", ms=10, label="least squares")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.set(aspect="equal", xlabel="loading a", ylabel="loading b", xlim=(-1.5, 2.0),
           ylim=(-1.5, 2.0))
    ax.legend(loc="lower left", fontsize="small")
    return ax


def shrinkage_curves(threshold=1.0, ax=None):
    """Soft thresholding (the l1 prox) next to ridge shrinkage (the l2 prox) and no penalty.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = shrinkage_curves(0.5)
    """
    ax = ax if ax is not None else plt.gca()
    x = np.linspace(-3, 3, 601)
    ax.plot(x, x, color="0.6", ls="--", label="no penalty")
    ax.plot(x, x / (1 + threshold), color="C0", label=f"l2: x / (1 + {threshold:g})")
    soft = np.sign(x) * np.maximum(np.abs(x) - threshold, 0)
    ax.plot(x, soft, color="C3", lw=2, label=f"l1: soft threshold at {threshold:g}")
    ax.axvspan(-threshold, threshold, color="C3", alpha=0.08)
    ax.set(xlabel="least-squares value x", ylabel="penalised estimate", aspect="equal")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def _unit_peak(V):
    """Scale each column so that its largest-magnitude entry is +1 (fixes scale and sign)."""
    V = np.atleast_2d(to_numpy(V).T).T.astype(float)
    peak = V[np.abs(V).argmax(0), np.arange(V.shape[1])]
    return V / np.where(peak != 0, peak, 1)


def loadings(V, truth=None, ax=None, labels=None, title=None):
    """Bar plot of the loading vectors (columns of ``V``), optionally over the true ones.

    Each column is scaled so that its largest-magnitude entry is +1, so shapes compare across
    models whatever their scale and sign; exact zeros stay zero.

    Parameters
    ----------
    V : array (n_features, rank)
    truth : array (n_features, rank), optional
        Drawn as black outlines.
    ax : matplotlib Axes, optional
    labels : list of str, optional
        Legend entries, one per column.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = loadings(np.eye(5)[:, :2], truth=np.eye(5)[:, :2])
    """
    ax = ax if ax is not None else plt.gca()
    V = _unit_peak(V)
    n, r = V.shape
    width = 0.8 / r
    for k in range(r):
        ax.bar(np.arange(n) + (k - (r - 1) / 2) * width, V[:, k], width=width, color=f"C{k}",
               label=None if labels is None else labels[k])
    if truth is not None:
        T = _unit_peak(truth)
        for k in range(T.shape[1]):
            ax.step(np.arange(n + 1) - 0.5, np.r_[T[:, k], T[-1, k]], where="post", color="k",
                    lw=0.8, label="truth" if k == 0 else None)
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set(xlabel="feature", ylabel="loading (scaled)")
    if title:
        ax.set_title(title)
    if labels is not None or truth is not None:
        ax.legend(fontsize="small", ncols=2)
    return ax


def factor_menu(factors, truth=None, figsize=None, xlabel="neuron", cmap="RdBu_r"):
    """One heatmap of ``V`` (features x components) per model, side by side.

    Parameters
    ----------
    factors : dict
        Model name -> ``V`` (features, rank). Each column is scaled so that its largest-magnitude
        entry is +1.
    truth : array (n_features, rank), optional
        Shown first, as "truth".
    figsize : (float, float), optional
    xlabel : str
        What the features are.
    cmap : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = factor_menu({"A": np.eye(6)[:, :3], "B": -np.eye(6)[:, :3]})
    """
    panels = ({"truth": truth} if truth is not None else {}) | dict(factors)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (2.0 * len(panels) + 1, 3.2),
                             sharey=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, (name, V) in zip(axes, panels.items()):
        V = _unit_peak(V)
        im = ax.imshow(V, aspect="auto", cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize="medium")
        ax.set_xticks(range(V.shape[1]))
        ax.set_xlabel("component")
    axes[0].set_ylabel(xlabel)
    fig.colorbar(im, ax=axes, fraction=0.02, label="loading (scaled)")
    return fig
