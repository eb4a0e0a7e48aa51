"""Explore the foreground mask that a threshold on ``|S|`` gives, frame by frame."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy
from ..metrics.segmentation import otsu_threshold, segmentation_scores

__all__ = ["sparse_explorer"]


def sparse_explorer(Y, S, truth=None, frame=0, threshold=None):
    """Sliders over the frame and the threshold on ``|S|`` of a robust PCA result.

    Parameters
    ----------
    Y, S : arrays (n_frames, height, width)
        The movie and its sparse part.
    truth : bool array (n_frames, height, width), optional
        True foreground; the title then reports the F-measure of the whole movie.
    frame : int
        Frame shown first.
    threshold : float, optional
        Threshold shown first (default Otsu's threshold of ``|S|``).

    Returns
    -------
    ipywidgets.Widget

    Examples
    --------
    >>> import numpy as np
    >>> w = sparse_explorer(np.zeros((3, 4, 4)), np.ones((3, 4, 4)))  # doctest: +SKIP
    """
    Y, A = to_numpy(Y), np.abs(to_numpy(S))
    t0 = otsu_threshold(A) if threshold is None else float(threshold)
    top = float(np.percentile(A, 99.9)) or 1.0

    def show(frame, threshold):
        mask = A > threshold
        fig, axes = plt.subplots(1, 3, figsize=(9, 3))
        axes[0].imshow(Y[frame], cmap="gray")
        axes[0].set_title(f"Y, frame {frame}")
        axes[1].imshow(A[frame], cmap="magma", vmax=top)
        axes[1].set_title("|S|")
        axes[2].imshow(mask[frame], cmap="gray")
        title = f"|S| > {threshold:.3f}"
        if truth is not None:
            f = segmentation_scores(mask, truth)["f_measure"]
            title += f"  (F = {f:.2f})"
        axes[2].set_title(title)
        for ax in axes:
            ax.axis("off")
        fig.tight_layout()
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        show,
        frame=widgets.IntSlider(value=frame, min=0, max=len(Y) - 1, description="frame",
                                continuous_update=False),
        threshold=widgets.FloatSlider(value=round(t0, 4), min=0.0, max=round(top, 4),
                                      step=top / 200, readout_format=".3f",
                                      description="threshold", continuous_update=False))
