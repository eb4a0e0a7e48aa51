"""Heatmaps of data matrices and of their reconstructions."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np

from .._backend import to_numpy

__all__ = ["heatmap", "reconstruction_panel", "animation_html"]


def heatmap(X, ax=None, title=None, cmap="RdBu_r", symmetric=True, xlabel="features",
            ylabel="samples", colorbar=True):
    """Show a data matrix as an image, rows as samples and columns as features.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    ax : matplotlib Axes, optional
    title, xlabel, ylabel : str, optional
    cmap : str
        A diverging map centred on zero by default (``symmetric=True``).
    symmetric : bool
        Centre the colour scale on zero.
    colorbar : bool

    Returns
    -------
    matplotlib.image.AxesImage

    Examples
    --------
    >>> import numpy as np
    >>> im = heatmap(np.eye(3))
    """
    X = to_numpy(X)
    ax = ax if ax is not None else plt.gca()
    lim = float(np.abs(X).max()) if symmetric else None
    im = ax.imshow(X, aspect="auto", cmap=cmap, interpolation="nearest",
                   vmin=-lim if symmetric else None, vmax=lim)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def reconstruction_panel(X, X_hat, titles=("data X", "reconstruction U Vᵀ", "residual"),
                         figsize=(11, 3.2), **kwargs):
    """Three heatmaps side by side: the data, a reconstruction and their difference.

    All three share one colour scale so that a small residual looks small.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = reconstruction_panel(np.eye(3), np.eye(3))
    """
    X, X_hat = to_numpy(X), to_numpy(X_hat)
    fig, axes = plt.subplots(1, 3, figsize=figsize, constrained_layout=True)
    lim = float(np.abs(X).max())
    for ax, M, title in zip(axes, (X, X_hat, X - X_hat), titles):
        im = ax.imshow(M, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       interpolation="nearest")
        ax.set_title(title)
        ax.set(xlabel=kwargs.get("xlabel", "features"), ylabel=kwargs.get("ylabel", "samples"))
    fig.colorbar(im, ax=axes, fraction=0.02)
    return fig


# matplotlib's player draws its buttons with Font Awesome fetched from a CDN; text symbols work
# offline, in the static book as in a notebook.
_BUTTON_SYMBOLS = {"minus": "−", "fast-backward": "⏮", "step-backward": "‹",
                   "play fa-flip-horizontal": "◀", "pause": "⏸", "play": "▶",
                   "step-forward": "›", "fast-forward": "⏭", "plus": "+"}
_CDN_LINK = re.compile(r"<link[^>]*font-awesome[^>]*>\s*")
_ICON = re.compile(r'<i class="fa fa-([a-z -]+)"></i>')


def animation_html(anim, close=True) -> str:
    """HTML that plays a matplotlib animation with no network access.

    The same as ``anim.to_jshtml()`` (every frame embedded as an image, with a player), but the
    player's buttons are text symbols instead of icons from a font CDN, so the movie plays in
    the static book and offline. Display it with ``IPython.display.HTML``.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    close : bool
        Close the animation's figure, so the notebook does not also show its last frame.

    Returns
    -------
    str

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from matplotlib.animation import FuncAnimation
    >>> fig, ax = plt.subplots()
    >>> anim = FuncAnimation(fig, lambda i: [], frames=2)
    >>> html = animation_html(anim)
    >>> "font-awesome" in html, "▶" in html
    (False, True)
    """
    html = _CDN_LINK.sub("", anim.to_jshtml())
    html = _ICON.sub(lambda m: _BUTTON_SYMBOLS.get(m.group(1).strip(), m.group(1)), html)
    if close:
        plt.close(anim._fig)
    return html
