"""Explore a truncated-SVD reconstruction as the rank changes."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..plot.basics import reconstruction_panel

__all__ = ["rank_explorer"]


def rank_explorer(X, rank=1, max_rank=None):
    """A slider over the rank r of the best rank-r approximation of ``X`` (truncated SVD).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    rank : int
        The rank shown first (and in the static page).
    max_rank : int, optional
        The slider's upper end (default ``min(X.shape, 10)``).

    Returns
    -------
    ipywidgets.Widget
        The interactive control with its output area.

    Examples
    --------
    >>> import numpy as np
    >>> w = rank_explorer(np.random.default_rng(0).standard_normal((6, 5)), rank=2)  # doctest: +SKIP
    >>> w.children[0].value  # doctest: +SKIP
    2
    """
    X = to_numpy(X)
    max_rank = max_rank or min(min(X.shape), 10)
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    norm = np.linalg.norm(X)

    def show(r):
        X_hat = (U[:, :r] * s[:r]) @ Vt[:r]
        err = np.sqrt(np.sum(s[r:] ** 2)) / norm
        fig = reconstruction_panel(X, X_hat, titles=("data X", f"rank {r} reconstruction",
                                                    f"residual (relative error {err:.2f})"))
        plt.show()
        plt.close(fig)

    slider = widgets.IntSlider(value=rank, min=1, max=max_rank, description="rank r",
                               continuous_update=False)
    return widgets.interactive(show, r=slider)
