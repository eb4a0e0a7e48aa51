"""Explore the lasso penalty of a sparse VAR: which couplings enter the graph, and in what order."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..metrics.graphs import support_f1
from ..var.sparse_var import SparseVAR
from ..plot.var import coupling_matrix

__all__ = ["coupling_explorer"]


def _n_couplings(coefs) -> int:
    """Off-diagonal entries that are non-zero at any lag."""
    support = np.abs(coefs).max(0) > 0
    return int(support.sum() - np.trace(support))


def _log_penalty_axis(ax, alphas):
    # a log axis, linear near zero when the path ends at least squares (alpha = 0)
    positive = alphas[alphas > 0]
    if positive.size < alphas.size:
        ax.set_xscale("symlog", linthresh=positive.min() if positive.size else 1.0)
    else:
        ax.set_xscale("log")
    ax.invert_xaxis()


def coupling_explorer(Z, alphas, order=1, truth=None, alpha=None, standardize=True):
    """A slider along the lasso path of a sparse VAR, showing the coupling graph it gives.

    Every position of the slider is fitted once, up front (one lasso per region and penalty),
    so moving the slider only redraws. Left: the number of couplings (and, with ``truth``, the
    F1 score of the recovered graph) along the path, the current penalty marked; right: the
    coupling matrix at that penalty, with the true couplings circled.

    Parameters
    ----------
    Z : array (n_frames, n_regions)
        Region traces or latents.
    alphas : sequence of float
        Penalties on the slider (scikit-learn scaling, as in :class:`factorlab.SparseVAR`).
    order : int
        Number of lags.
    truth : array (order, n_regions, n_regions) or (n_regions, n_regions), optional
        True coefficients (simulated data): adds the F1 curve and the circles.
    alpha : float, optional
        The penalty shown first (and in the static page); default the middle of ``alphas``.
    standardize : bool
        As in :class:`factorlab.SparseVAR`.

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.random.default_rng(0).standard_normal((200, 4))
    >>> w = coupling_explorer(Z, [0.01, 0.1, 1.0])  # doctest: +SKIP
    """
    Z = to_numpy(Z)
    alphas = np.sort(np.asarray(alphas, dtype=float))[::-1]   # strongest penalty first
    if alphas.size == 0 or np.any(alphas < 0):
        raise ValueError("alphas must be a non-empty sequence of non-negative penalties.")
    path = SparseVAR(order=order, standardize=standardize).coef_path(Z, alphas)
    edges = [_n_couplings(c) for c in path]
    f1 = None if truth is None else [support_f1(c, truth) for c in path]
    start = float(np.median(alphas)) if alpha is None else float(alpha)
    start_index = int(np.argmin(np.abs(alphas - start)))

    def show(index):
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.3), constrained_layout=True)
        left.plot(alphas, edges, "o-", color="C0")
        left.set_xlabel("alpha (penalty falls to the right)")
        left.set_ylabel("couplings in the graph", color="C0")
        _log_penalty_axis(left, alphas)
        left.axvline(alphas[index], color="0.3", ls="--")
        title = f"alpha = {alphas[index]:.3g}: {edges[index]} couplings"
        if f1 is not None:
            twin = left.twinx()
            twin.plot(alphas, f1, "s-", color="C1", ms=4)
            twin.set_ylabel("F1 of the graph", color="C1")
            twin.set_ylim(0, 1.05)
            title += f", F1 {f1[index]:.2f}"
        left.set_title(title)
        coupling_matrix(path[index], truth=truth, ax=right,
                        title="A (circles: true couplings)" if truth is not None else "A")
        plt.show()
        plt.close(fig)

    slider = widgets.SelectionSlider(options=[(f"{a:.3g}", i) for i, a in enumerate(alphas)],
                                     value=start_index, description="alpha",
                                     continuous_update=False)
    return widgets.interactive(show, index=slider)
