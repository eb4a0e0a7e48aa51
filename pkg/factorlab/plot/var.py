"""Figures for sparse VAR models: coupling matrices, lasso paths and contribution maps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy

__all__ = ["coupling_matrix", "lasso_path_plot", "contribution_overlay"]


def coupling_matrix(coefs, truth=None, ax=None, title="couplings A (max over lags)"):
    """Show ``A[i, j]`` (target row ``i``, source column ``j``) with the true support circled.

    Parameters
    ----------
    coefs : array of shape (order, d, d) or (d, d)
        The signed entry of largest magnitude over the lags is shown.
    truth : array of the same shape, optional
        Non-zero entries are marked with a black circle, so hits, misses and false
        positives can be read at a glance.
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib.image.AxesImage

    Examples
    --------
    >>> import numpy as np
    >>> im = coupling_matrix(np.array([[[0.5, 0.2], [0.0, 0.4]]]), truth=np.eye(2))
    """
    A = to_numpy(coefs)
    A = A.reshape(-1, *A.shape[-2:])
    strongest = np.take_along_axis(A, np.abs(A).argmax(0)[None], 0)[0]
    ax = ax if ax is not None else plt.gca()
    lim = float(np.abs(strongest).max()) or 1.0
    im = ax.imshow(strongest, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    if truth is not None:
        T = np.abs(to_numpy(truth)).reshape(-1, *A.shape[-2:]).max(0) > 0
        i, j = np.nonzero(T)
        ax.scatter(j, i, s=80, facecolors="none", edgecolors="k", linewidths=1.2,
                   label="true coupling")
    ax.set(xlabel="source j (lag)", ylabel="target i", title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def lasso_path_plot(alphas, coefs, ax=None, alpha=None, labels=None):
    """Coefficient paths against ``alpha`` (log axis), as from :func:`~factorlab.var.lasso_path`.

    Parameters
    ----------
    alphas : array of shape (n_alphas,)
    coefs : array of shape (n_features, n_alphas)
    ax : matplotlib Axes, optional
    alpha : float, optional
        Draw a vertical line at the chosen penalty.
    labels : list of str, optional
        One per feature (shown in a legend when there are at most 12).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = lasso_path_plot(np.array([1.0, 0.5, 0.1]), np.array([[0, 0.3, 0.8], [0, 0, 0.2]]))
    """
    alphas, coefs = to_numpy(alphas), to_numpy(coefs)
    ax = ax if ax is not None else plt.gca()
    x = np.maximum(alphas, alphas[alphas > 0].min() / 10 if (alphas > 0).any() else 1e-6)
    for k, row in enumerate(coefs):
        ax.plot(x, row, marker=".", ms=3, label=None if labels is None else labels[k])
    if alpha is not None:
        ax.axvline(alpha, color="k", ls="--", lw=1)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(xlabel="alpha (log scale, decreasing)", ylabel="coefficient")
    if labels is not None and len(labels) <= 12:
        ax.legend(fontsize=7, ncol=2)
    return ax


def contribution_overlay(omega, mask=None, ax=None, title="contribution map", other=None):
    """Show a contribution map with the outline of the driving regions (and of others).

    Parameters
    ----------
    omega : array of shape (H, W)
    mask : bool array of shape (H, W), optional
        Outlined in white (e.g. the network cells).
    other : bool array of shape (H, W), optional
        Outlined in a dashed cyan line (e.g. distractor cells).

    Returns
    -------
    matplotlib.image.AxesImage

    Examples
    --------
    >>> import numpy as np
    >>> im = contribution_overlay(np.random.default_rng(0).random((8, 8)), np.eye(8, dtype=bool))
    """
    omega = to_numpy(omega)
    ax = ax if ax is not None else plt.gca()
    im = ax.imshow(omega, cmap="magma", interpolation="nearest")
    for m, style in ((mask, dict(colors="w", linewidths=1.0)),
                     (other, dict(colors="c", linewidths=1.0, linestyles="--"))):
        if m is not None and np.asarray(m).any() and not np.asarray(m).all():
            ax.contour(np.asarray(m, dtype=float), levels=[0.5], **style)
    ax.set(title=title, xticks=[], yticks=[])
    return im
