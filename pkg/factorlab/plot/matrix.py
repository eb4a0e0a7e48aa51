"""Figures for matrix factorizations: factors side by side, sorted data, loss curves, parts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from .assess import dominant_order

__all__ = ["factor_plot", "sorted_heatmap", "loss_curves", "component_images"]


def _draw(ax, y, kind, color):
    x = np.arange(len(y))
    if kind == "bar":
        ax.bar(x, y, width=1.0, color=color)
    else:
        ax.plot(x, y, color=color, lw=1)
    ax.axhline(0, color="0.7", lw=0.5)


def factor_plot(U, V, truth=None, u_label="samples", v_label="features", kinds=("bar", "line"),
                figsize=None, title=None):
    """The columns of ``U`` (left) and ``V`` (right), one component per row.

    Parameters
    ----------
    U : array of shape (n_samples, rank)
    V : array of shape (n_features, rank)
    truth : (U_true, V_true), optional
        Ground-truth factors drawn in grey behind, after matching their scale to each fitted
        column (pass them in matched order, e.g. after factor matching).
    u_label, v_label : str
        Axis labels of the two columns of panels.
    kinds : (str, str)
        ``"bar"`` or ``"line"`` for U and V.
    figsize : (float, float), optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = factor_plot(np.ones((5, 2)), np.ones((4, 2)))
    >>> len(fig.axes)
    4
    """
    U, V = to_numpy(U), to_numpy(V)
    rank = U.shape[1]
    fig, axes = plt.subplots(rank, 2, figsize=figsize or (9, 1.3 * rank + 0.6), squeeze=False,
                             sharex="col", constrained_layout=True)
    for k in range(rank):
        for j, (F, kind) in enumerate(zip((U, V), kinds)):
            ax = axes[k, j]
            if truth is not None:
                T = to_numpy(truth[j])[:, k]
                scale = float(F[:, k] @ T) / max(float(T @ T), 1e-300)
                ax.plot(T * scale, color="0.6", lw=2.5, alpha=0.6,
                        label="truth" if k == 0 else None)
            _draw(ax, F[:, k], kind, f"C{k % 10}")
            ax.set_yticks([])
        axes[k, 0].set_ylabel(f"{k + 1}", rotation=0, labelpad=10)
    axes[-1, 0].set_xlabel(u_label)
    axes[-1, 1].set_xlabel(v_label)
    axes[0, 0].set_title("U (one column per component)")
    axes[0, 1].set_title("V")
    if truth is not None:
        axes[0, 1].legend(loc="upper right", fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def sorted_heatmap(X, U, V=None, ax=None, cmap="magma", xlabel="features", ylabel="samples",
                   title=None):
    """Heatmap of the data with rows grouped by their dominant factor in ``U``.

    Columns are grouped the same way by ``V`` when it is given. Lines separate the groups.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    U : array of shape (n_samples, rank)
    V : array of shape (n_features, rank), optional
    ax : matplotlib Axes, optional

    Returns
    -------
    row_order : ndarray of int
    col_order : ndarray of int
        The orders used (``arange`` for the columns when ``V`` is None); reuse them to draw
        another model's factors in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> fig, ax = plt.subplots()
    >>> rows, cols = sorted_heatmap(np.eye(3), np.array([[0, 1], [1, 0], [0, 1.0]]), ax=ax)
    >>> rows.tolist()
    [1, 0, 2]
    """
    X, U = to_numpy(X), to_numpy(U)
    ax = ax if ax is not None else plt.gca()
    rows = dominant_order(U)
    cols = np.arange(X.shape[1]) if V is None else dominant_order(to_numpy(V))
    im = ax.imshow(X[np.ix_(rows, cols)], aspect="auto", interpolation="nearest", cmap=cmap)
    V_np = None if V is None else to_numpy(V)
    for F, order, line in ((U, rows, ax.axhline), (V_np, cols, ax.axvline)):
        if F is None:
            continue
        groups = np.abs(F).argmax(1)[order]
        for b in np.flatnonzero(np.diff(groups)) + 0.5:
            line(b, color="w", lw=0.8)
    ax.set(xlabel=xlabel + (" (sorted)" if V is not None else ""), ylabel=ylabel + " (sorted)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return rows, cols


def loss_curves(histories, bound=None, ax=None, xlabel="iteration", log=True):
    """Relative error against iteration for several fits (e.g. NMF solvers).

    Parameters
    ----------
    histories : dict of str -> array
        Label -> loss history (``model.loss_history_``).
    bound : float, optional
        The SVD lower bound, drawn as a dashed line.
    ax : matplotlib Axes, optional
    log : bool
        Logarithmic iteration axis (solvers differ by orders of magnitude in iterations).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> ax = loss_curves({"hals": [0.5, 0.3, 0.2]}, bound=0.1, ax=ax)
    """
    ax = ax if ax is not None else plt.gca()
    for label, history in histories.items():
        h = np.asarray(history, dtype=float)
        ax.plot(np.arange(1, len(h) + 1), h, label=label, lw=1.8)
    if bound is not None:
        ax.axhline(bound, color="k", ls="--", lw=1, label="SVD bound (best possible)")
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel="relative error ‖X − UVᵀ‖ / ‖X‖")
    ax.legend(frameon=False)
    return ax


def component_images(V, shape, ncols=None, cmap=None, titles=None, figsize=None):
    """Show each column of ``V`` as an image of the given shape (e.g. 8 x 8 digit pixels).

    Nonnegative components use a sequential map; signed ones a diverging map centred on zero.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = component_images(np.ones((64, 3)), (8, 8))
    """
    V = to_numpy(V)
    rank = V.shape[1]
    ncols = ncols or min(rank, 8)
    nrows = int(np.ceil(rank / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (1.3 * ncols, 1.4 * nrows),
                             squeeze=False)
    signed = bool((V < 0).any())
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= rank:
            continue
        img = V[:, k].reshape(shape)
        lim = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap=cmap or ("RdBu_r" if signed else "gray_r"),
                  vmin=-lim if signed else 0, vmax=lim, interpolation="nearest")
        ax.set_title(titles[k] if titles is not None else f"{k + 1}", fontsize="small")
    return fig
