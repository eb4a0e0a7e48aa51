"""Model-assessment figures: error vs rank with the SVD bound, similarity vs rank,
cross-validation curves, and factor heatmaps sorted by dominant component."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from .._backend import to_numpy

__all__ = ["error_plot", "similarity_plot", "cv_plot", "dominant_order", "sorted_factor_heatmap"]


def _jitter(n: int, width: float = 0.15) -> np.ndarray:
    # deterministic spread so overlapping replicates stay visible
    return np.linspace(-width, width, n) if n > 1 else np.zeros(1)


def _finish(ax, true_rank, xlabel="rank (number of components)"):
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    if true_rank is not None:
        ax.axvline(true_rank, color="0.5", ls="--", lw=1, label=f"true rank {true_rank}")
    ax.legend(frameon=False, fontsize="small")


def error_plot(ensemble, bound=None, ax=None, true_rank=None):
    """Relative error of every replicate vs rank, the best per rank, and the SVD bound.

    Parameters
    ----------
    ensemble : Ensemble
        A fitted (or loaded) :class:`~factorlab.Ensemble`.
    bound : array, optional
        :func:`~factorlab.svd_bound` at ``ensemble.ranks_``, drawn as a dashed line.
    ax : matplotlib Axes, optional
    true_rank : int, optional
        Marked with a vertical line.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from factorlab import Ensemble, CP
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((6, 5, 4))
    >>> ens = Ensemble(CP(rank=1), [1, 2], replicates=2, random_state=0, progress=False).fit(X)
    >>> ax = error_plot(ens)
    """
    ax = ax if ax is not None else plt.gca()
    ranks = list(ensemble.ranks_)
    for k, r in enumerate(ranks):
        losses = ensemble.losses_[r]
        ax.scatter(r + _jitter(len(losses)), losses, s=14, color="C0", alpha=0.6,
                   label="replicates" if k == 0 else None)
    ax.plot(ranks, [ensemble.losses_[r][0] for r in ranks], "-o", color="C0", ms=4,
            label="best replicate")
    if bound is not None:
        ax.plot(ranks, to_numpy(bound), "--", color="k", lw=1.2, label="SVD bound")
    ax.set_ylabel("relative error ‖X − X̂‖ / ‖X‖")
    _finish(ax, true_rank)
    return ax


def similarity_plot(ensemble, ax=None, true_rank=None):
    """Similarity of each replicate to the best one at its rank (the best itself is left out).

    Values near 1 mean every restart finds the same components; a drop means the rank is
    larger than the data support.

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.gca()
    ranks = list(ensemble.ranks_)
    for k, r in enumerate(ranks):
        sims = ensemble.similarities_[r][1:]
        ax.scatter(r + _jitter(len(sims)), sims, s=14, color="C1", alpha=0.7,
                   label="replicate vs best" if k == 0 else None)
    means = [ensemble.similarities_[r][1:].mean() if len(ensemble.similarities_[r]) > 1
             else 1.0 for r in ranks]
    ax.plot(ranks, means, "-", color="C1", lw=1.5, label="mean")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("similarity to best fit")
    _finish(ax, true_rank)
    return ax


def cv_plot(cv, ax=None, true_rank=None):
    """Train and test error of a :func:`~factorlab.cross_validate` result vs rank.

    Replicates are dots, means are lines; the chosen rank (lowest mean test error) is starred.

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.gca()
    ranks = np.asarray(cv.ranks)
    for errors, color, name in ((cv.train_errors, "C0", "train"), (cv.test_errors, "C3", "test")):
        for j in range(errors.shape[1]):
            ax.scatter(ranks + _jitter(errors.shape[1])[j], errors[:, j], s=12, color=color,
                       alpha=0.5)
        ax.plot(ranks, errors.mean(axis=1), "-", color=color, label=f"{name} (held-in)"
                if name == "train" else f"{name} (held-out)")
    best = int(np.flatnonzero(ranks == cv.best_rank)[0])
    ax.plot(cv.best_rank, cv.test_errors.mean(axis=1)[best], "*", color="C3", ms=14,
            label=f"lowest test error: rank {cv.best_rank}")
    ax.set_ylabel("relative error")
    _finish(ax, true_rank)
    return ax


def dominant_order(U) -> np.ndarray:
    """Row order that groups rows by their largest component, strongest loading first.

    Examples
    --------
    >>> import numpy as np
    >>> dominant_order(np.array([[0.1, 0.9], [0.8, 0.1], [0.9, 0.2]])).tolist()
    [2, 1, 0]
    """
    U = np.abs(to_numpy(U))
    dominant = U.argmax(axis=1)
    strength = U[np.arange(len(U)), dominant]
    return np.lexsort((-strength, dominant))


def sorted_factor_heatmap(U, ax=None, order=None, xlabel="component", ylabel="samples (sorted)",
                          title=None, cmap="magma"):
    """Heatmap of a factor matrix with rows sorted by dominant component.

    Parameters
    ----------
    U : array of shape (n_rows, rank)
    order : array of int, optional
        A row order to reuse (e.g. the one from another rank); default :func:`dominant_order`.

    Returns
    -------
    ndarray
        The row order used (pass it to the next plot to compare models).
    """
    ax = ax if ax is not None else plt.gca()
    U = to_numpy(U)
    order = dominant_order(U) if order is None else np.asarray(order)
    signed = bool((U < 0).any())
    lim = float(np.abs(U).max()) or 1.0
    im = ax.imshow(U[order], aspect="auto", interpolation="nearest",
                   cmap="RdBu_r" if signed else cmap, vmin=-lim if signed else 0, vmax=lim)
    ax.set_xticks(range(U.shape[1]), [str(k + 1) for k in range(U.shape[1])])
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return order
