"""CP factor grids: one row per component, one column per mode (neurons / time / trials)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..assess.models import factors_of

__all__ = ["cp_factor_grid"]

_DRAW = ("bar", "line", "scatter")


def cp_factor_grid(model, labels=("neurons", "time", "trials"), kinds=_DRAW, trial_colors=None,
                   truth=None, figsize=None, color="C0"):
    """Plot CP factors as a grid: rows are components, columns are modes.

    Parameters
    ----------
    model : fitted CP, Ensemble factor list, CPTensor or list of factor matrices
    labels : sequence of str
        Name of each mode (column titles).
    kinds : sequence of {"bar", "line", "scatter"}
        How to draw each mode: bars for unordered units (neurons), lines for time, dots for
        trials.
    trial_colors : array, optional
        A value per entry of the last mode (e.g. trial type) used to colour its dots.
    truth : list of factor matrices, optional
        Ground-truth factors (already aligned, e.g. with :func:`~factorlab.align`) drawn in grey.
    figsize : tuple, optional
    color : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> F = [np.random.default_rng(0).random((n, 2)) for n in (5, 4, 3)]
    >>> fig = cp_factor_grid(F)
    >>> len(fig.axes)
    6
    """
    factors, weights = factors_of(model)
    if weights is not None:
        factors = [factors[0] * weights] + factors[1:]
    N, R = len(factors), factors[0].shape[1]
    labels = list(labels) + [f"mode {n}" for n in range(len(labels), N)]
    kinds = list(kinds) + ["line"] * (N - len(kinds))
    fig, axes = plt.subplots(R, N, figsize=figsize or (3.2 * N, 1.2 * R + 0.8),
                             squeeze=False, sharex="col", constrained_layout=True)
    for n, F in enumerate(factors):
        x = np.arange(F.shape[0])
        lim = np.abs(F).max() * 1.1 or 1.0
        low = -lim if (F < 0).any() else 0
        for r in range(R):
            ax = axes[r, n]
            if truth is not None:
                T = np.asarray(truth[n])[:, r] if r < np.shape(truth[n])[1] else None
                if T is not None:
                    T = T * (np.linalg.norm(F[:, r]) / max(np.linalg.norm(T), 1e-300))
                    ax.plot(x, T, color="0.6", lw=2, label="truth" if r == n == 0 else None)
            if kinds[n] == "bar":
                ax.bar(x, F[:, r], width=1.0, color=color)
            elif kinds[n] == "scatter":
                if trial_colors is None:
                    ax.scatter(x, F[:, r], s=8, color=color)
                else:
                    ax.scatter(x, F[:, r], s=8, c=np.asarray(trial_colors), cmap="coolwarm")
            else:
                ax.plot(x, F[:, r], color=color)
            ax.set_ylim(low, lim)
            ax.set_yticks([])
            if n == 0:
                ax.set_ylabel(f"#{r + 1}", rotation=0, ha="right", va="center")
        axes[0, n].set_title(labels[n])
        axes[-1, n].set_xlabel(labels[n].rstrip("s") + " index" if labels[n] != "time"
                               else "time bin")
    if truth is not None:
        axes[0, 0].legend(frameon=False, fontsize="small")
    return fig
