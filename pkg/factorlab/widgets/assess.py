"""Explore speckled hold-out: how the hold-out fraction and the rank change the test error."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..assess.models import clone_with, relative_error
from ..assess.crossval import cross_validate, speckled_mask
from ..plot.assess import cv_plot

__all__ = ["holdout_explorer", "cv_explorer"]


def _holdout_slider(holdout):
    return widgets.FloatSlider(value=holdout, min=0.05, max=0.5, step=0.05,
                               description="hold-out", continuous_update=False)


def holdout_explorer(X, estimator, rank=4, holdout=0.1, max_rank=10, random_state=0):
    """Sliders for the rank and the hold-out fraction of one speckled hold-out fit.

    Left: the data with held-out entries blanked; right: predicted vs true value of every
    held-out entry, with the train and test errors in the title. A rank that is too small
    misses structure, one that is too large predicts held-out entries worse.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    estimator : factorlab model template (e.g. ``NMF(rank=1)``)
    rank : int
        Rank shown first.
    holdout : float
        Hold-out fraction shown first.
    max_rank : int
    random_state : int

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np, factorlab as fl  # doctest: +SKIP
    >>> X = np.random.default_rng(0).random((20, 10))  # doctest: +SKIP
    >>> w = holdout_explorer(X, fl.PCA(rank=1))  # doctest: +SKIP
    """
    Xn = to_numpy(X)

    def show(rank, holdout):
        mask = speckled_mask(Xn.shape, holdout, rank, random_state=random_state)
        model = clone_with(estimator, rank=rank, random_state=random_state).fit(X, mask=mask)
        X_hat = to_numpy(model.reconstruct())
        train, test = relative_error(Xn, X_hat, mask), relative_error(Xn, X_hat, ~mask)
        # 7.2 in: the book's column, so that the text is not shrunk below 8.7 pt
        fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4), constrained_layout=True)
        left.imshow(np.where(mask, Xn, np.nan), aspect="auto", interpolation="nearest",
                    cmap="viridis")
        left.set(title=f"training entries\n({100 * holdout:.0f}% held out, white)",
                 xlabel="features", ylabel="samples")
        right.scatter(Xn[~mask], X_hat[~mask], s=4, alpha=0.4)
        lims = [float(Xn.min()), float(Xn.max())]
        right.plot(lims, lims, "k--", lw=1)
        right.set(xlabel="true held-out value", ylabel="predicted",
                  title=f"rank {rank}: train error {train:.3f}\ntest error {test:.3f}")
        plt.show()
        plt.close(fig)

    rank_slider = widgets.IntSlider(value=rank, min=1, max=max_rank, description="rank",
                                    continuous_update=False)
    return widgets.interactive(show, rank=rank_slider, holdout=_holdout_slider(holdout))


def cv_explorer(X, estimator, ranks, holdout=0.1, replicates=2, true_rank=None,
                random_state=0):
    """A hold-out fraction slider over the full cross-validation curve.

    Each new fraction reruns :func:`~factorlab.cross_validate` (results are cached), so keep
    the data and the rank range small.

    Returns
    -------
    ipywidgets.Widget
    """
    cache = {}

    def show(holdout):
        key = round(holdout, 3)
        if key not in cache:
            cache[key] = cross_validate(estimator, X, ranks, holdout=holdout,
                                        replicates=replicates, random_state=random_state,
                                        progress=False)
        fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
        cv_plot(cache[key], ax=ax, true_rank=true_rank)
        ax.set_title(f"speckled hold-out of {100 * holdout:.0f}% of the entries")
        plt.show()
        plt.close(fig)

    return widgets.interactive(show, holdout=_holdout_slider(holdout))
