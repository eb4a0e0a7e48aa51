"""Explore the l1 weight of sparse PCA: from PCA's dense loadings to nothing at all."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..matrix.sparse import sparse_pca
from ..plot.models import loadings

__all__ = ["l1_weight_explorer"]


def l1_weight_explorer(X, rank=1, alpha=None, alphas=None, truth=None):
    """A slider over the l1 weight ``alpha`` of sparse PCA, showing the loadings it gives.

    The fits for every slider position are computed once, up front (each starts from the SVD,
    so the sequence is deterministic), so moving the slider only redraws.

    Parameters
    ----------
    X : array (n_samples, n_features)
    rank : int
    alpha : float, optional
        The value shown first (and in the static page); default: the middle of ``alphas``.
    alphas : sequence of float, optional
        Slider positions; default: 13 values from 0 to the weight that zeroes every loading.
    truth : array (n_features, rank), optional
        True loadings, drawn as outlines.

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((30, 8))
    >>> w = l1_weight_explorer(X, rank=1, alphas=[0.0, 1.0])  # doctest: +SKIP
    """
    X = to_numpy(X)
    if alphas is None:
        top = float(np.abs((X - X.mean(0)).T @ np.linalg.svd(X - X.mean(0))[0][:, :rank]).max())
        alphas = np.round(np.linspace(0, top, 13), 3)
    alphas = [float(a) for a in alphas]
    fits = {a: sparse_pca(X, rank, a) for a in alphas}
    Xc = X - X.mean(0)
    start = alpha if alpha is not None else alphas[len(alphas) // 2]
    start = min(alphas, key=lambda a: abs(a - start))

    def show(alpha):
        fit = fits[alpha]
        n_zero = int((fit.V == 0).sum())
        err = np.linalg.norm(Xc - fit.U @ fit.V.T) / np.linalg.norm(Xc)
        fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
        loadings(fit.V, truth=truth, ax=ax,
                 title=f"alpha = {alpha:g}: {n_zero} of {fit.V.size} loadings exactly zero, "
                       f"relative error {err:.3f}")
        plt.show()
        plt.close(fig)

    slider = widgets.SelectionSlider(options=alphas, value=start, description="l1 weight",
                                     continuous_update=False)
    return widgets.interactive(show, alpha=slider)
