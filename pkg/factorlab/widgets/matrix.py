"""Explorers for PCA (rank) and NMF (rank and solver)."""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..matrix import NMF, PCA
from ..plot.matrix import component_images, factor_plot, loss_curves

__all__ = ["pca_explorer", "nmf_explorer"]


def pca_explorer(X, rank=2, max_rank=None, random_state=0):
    """A rank slider for PCA: the cumulative explained variance and the principal axes.

    The axes of rank ``r`` are the first ``r`` axes of any larger rank (PCA is nested), which
    the figure makes visible as the slider moves.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    rank : int
        The rank shown first (and in the static page).
    max_rank : int, optional
        The slider's upper end (default ``min(min(X.shape), 10)``).
    random_state : int
        Seed of the ALS start.

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((30, 6))
    >>> w = pca_explorer(X, rank=2)  # doctest: +SKIP
    """
    X = to_numpy(X)
    max_rank = max_rank or min(min(X.shape), 10)
    full = PCA(max_rank, random_state=random_state).fit(X)
    cumulative = np.cumsum(full.explained_variance_ratio_)

    def show(r):
        model = PCA(r, random_state=random_state).fit(X)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True,
                                       gridspec_kw={"width_ratios": [1, 2]})
        ax0.plot(np.arange(1, max_rank + 1), cumulative, "o-", color="0.6")
        ax0.plot(r, cumulative[r - 1], "o", color="C3", ms=10)
        ax0.set(xlabel="rank r", ylabel="cumulative explained variance", ylim=(0, 1.02),
                title=f"rank {r}: {cumulative[r - 1]:.0%} of the variance")
        ax0.set_xticks(range(1, max_rank + 1))
        for k in range(r):
            ax1.plot(model.V_[:, k], lw=1.2, label=f"PC {k + 1}")
        ax1.set(xlabel="feature", ylabel="loading", title="principal axes (columns of V)")
        ax1.legend(frameon=False, fontsize="small", ncol=min(r, 5))
        plt.show()
        plt.close(fig)

    slider = widgets.IntSlider(value=rank, min=1, max=max_rank, description="rank r",
                               continuous_update=False)
    return widgets.interactive(show, r=slider)


def nmf_explorer(X, rank=4, solver="hals", max_rank=None, image_shape=None, max_iter=300,
                 random_state=0, u_label="samples", v_label="features"):
    """Rank slider and solver menu for NMF: loss curve and the parts found.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), nonnegative
    rank : int
        Rank shown first.
    solver : {"hals", "anls", "mu"}
        Solver shown first.
    max_rank : int, optional
        Upper end of the slider (default ``min(min(X.shape), 12)``).
    image_shape : tuple of int, optional
        If the features are pixels, show each column of ``V`` as an image of this shape;
        otherwise the columns of ``U`` and ``V`` are drawn side by side.
    max_iter : int
        Iterations per fit.
    random_state : int
        Seed of the random start (the same for every solver, so they can be compared).
    u_label, v_label : str
        Axis labels for the factor plot.

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np
    >>> w = nmf_explorer(np.random.default_rng(0).random((30, 16)), rank=2)  # doctest: +SKIP
    """
    X = to_numpy(X)
    max_rank = max_rank or min(min(X.shape), 12)

    @lru_cache(maxsize=32)
    def fit(r, s):
        return NMF(r, solver=s, max_iter=max_iter, tol=1e-6, random_state=random_state).fit(X)

    def show(r, s):
        model = fit(r, s)
        s_values = np.linalg.svd(X, compute_uv=False)
        bound = float(np.sqrt((s_values[r:] ** 2).sum() / (s_values**2).sum()))
        fig, ax = plt.subplots(figsize=(5, 2.8), constrained_layout=True)
        loss_curves({f"{s}, rank {r}": model.loss_history_}, bound=bound, ax=ax)
        ax.set_title(f"final error {model.loss_history_[-1]:.3f} after {model.n_iter_} iterations")
        plt.show()
        plt.close(fig)
        if image_shape is not None:
            parts = component_images(model.V_, image_shape)
        else:
            parts = factor_plot(model.U_, model.V_, u_label=u_label, v_label=v_label)
        plt.show()
        plt.close(parts)

    slider = widgets.IntSlider(value=rank, min=1, max=max_rank, description="rank r",
                               continuous_update=False)
    menu = widgets.Dropdown(options=["hals", "anls", "mu"], value=solver, description="solver")
    return widgets.interactive(show, r=slider, s=menu)
