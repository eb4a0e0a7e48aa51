"""Movies side by side (matplotlib animations that play in a static page) and footprint
overlays for robust PCA and neuron segmentation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.colors import to_rgba

from .._backend import to_numpy

__all__ = ["movie_panels", "footprint_overlay", "bear_summary"]


def movie_panels(movies, titles=None, frames=None, interval=120, size=2.2, cmaps=None, dpi=72):
    """Play several movies of the same shape side by side, e.g. ``Y``, ``L`` and ``S``.

    Parameters
    ----------
    movies : sequence of arrays (n_frames, height, width)
    titles : sequence of str, optional
    frames : sequence of int, optional
        Frames to show (default all); keep it short for a static page
        (``anim.to_jshtml()`` stores every frame as an image).
    interval : int
        Milliseconds per frame.
    size : float
        Height of each panel in inches.
    cmaps : sequence of str, optional
        Colour map per movie (default grey; a diverging map for movies with both signs).
    dpi : int
        Resolution of the stored frames (low keeps a page small).

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Display it with ``IPython.display.HTML(anim.to_jshtml())``. The figure is closed so
        that a notebook shows only the animation.

    Examples
    --------
    >>> import numpy as np
    >>> anim = movie_panels([np.zeros((3, 4, 4)), np.ones((3, 4, 4))], ["a", "b"])
    >>> len(anim.to_jshtml()) > 0
    True
    """
    movies = [to_numpy(m) for m in movies]
    if not movies or any(m.ndim != 3 or m.shape[0] != movies[0].shape[0] for m in movies):
        raise ValueError("movies must be a non-empty list of (n_frames, height, width) arrays "
                         "with the same number of frames.")
    frames = list(range(movies[0].shape[0])) if frames is None else list(frames)
    titles = titles or [""] * len(movies)
    h, w = movies[0].shape[1:]
    fig, axes = plt.subplots(1, len(movies), figsize=(size * len(movies) * w / h + 0.2, size + 0.4),
                             squeeze=False, dpi=dpi)
    images = []
    for k, (ax, m, title) in enumerate(zip(axes[0], movies, titles)):
        signed = m.min() < 0 < m.max()
        cmap = cmaps[k] if cmaps else ("RdBu_r" if signed else "gray")
        lim = np.percentile(np.abs(m), 99.5) if signed else None
        im = ax.imshow(m[frames[0]], cmap=cmap, vmin=-lim if signed else np.percentile(m, 0.5),
                       vmax=lim if signed else np.percentile(m, 99.5), interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
        images.append(im)
    label = fig.text(0.01, 0.02, "", fontsize=8)
    fig.tight_layout()

    def draw(i):
        for im, m in zip(images, movies):
            im.set_data(m[frames[i]])
        label.set_text(f"frame {frames[i]}")
        return images

    anim = animation.FuncAnimation(fig, draw, frames=len(frames), interval=interval, blit=False)
    plt.close(fig)
    return anim


def footprint_overlay(footprints, background=None, ax=None, level=0.2, alpha=0.55, cmap="tab20",
                      title=None, outline_truth=None):
    """Colour each footprint over a (mean) image.

    Parameters
    ----------
    footprints : array (n_cells, height, width)
    background : array (height, width), optional
        Usually the mean image of the movie (shown in grey).
    ax : matplotlib Axes, optional
    level : float
        A pixel belongs to a footprint above ``level`` times its peak.
    alpha : float
        Opacity of the colours.
    cmap : str
        Qualitative colour map cycled over the cells.
    title : str, optional
    outline_truth : array (n_true, height, width), optional
        Draw the contours of these (true) footprints in white.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = footprint_overlay(np.eye(4)[None].repeat(2, 0), np.ones((4, 4)))
    """
    F = to_numpy(footprints).astype(float)
    ax = ax if ax is not None else plt.gca()
    h, w = F.shape[1:]
    if background is not None:
        ax.imshow(to_numpy(background), cmap="gray", interpolation="nearest")
    rgba = np.zeros((h, w, 4))
    colours = plt.get_cmap(cmap)
    peak = F.reshape(len(F), -1).max(axis=1)
    for k, f in enumerate(F):
        if peak[k] <= 0:
            continue
        weight = np.clip(f / peak[k], 0, 1) * (f > level * peak[k])
        colour = np.array(to_rgba(colours(k % colours.N)))
        stronger = weight > rgba[..., 3] / alpha
        rgba[stronger, :3] = colour[:3]
        rgba[stronger, 3] = alpha * weight[stronger]
    ax.imshow(rgba, interpolation="nearest")
    if outline_truth is not None:
        for f in to_numpy(outline_truth):
            ax.contour(f, levels=[level * f.max()], colors="white", linewidths=0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def bear_summary(mean_image, W, frame, low_rank, sparse, losses, frame_index=0):
    """One figure that sums up a BEAR fit (used by ``factorlab bear``).

    Top row: the mean image and each column of ``W`` as an image. Bottom row: one frame, its
    ``L`` and ``S``, and the loss per epoch.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = bear_summary(np.ones((4, 5)), np.ones((20, 2)), np.ones((4, 5)), np.ones((4, 5)),
    ...                    np.zeros((4, 5)), [3.0, 2.0, 1.0])
    """
    mean_image, W = to_numpy(mean_image), to_numpy(W)
    rank = W.shape[1]
    cols = max(rank + 1, 4)
    fig, axes = plt.subplots(2, cols, figsize=(2.6 * cols, 5.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].imshow(mean_image, cmap="gray")
    axes[0, 0].set_title("mean image")
    for k in range(rank):
        comp = W[:, k].reshape(mean_image.shape)
        lim = float(np.abs(comp).max()) or 1.0
        axes[0, k + 1].imshow(comp, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, k + 1].set_title(f"W[:, {k}]")
    for ax, img, title in zip(axes[1, :3], (frame, low_rank, sparse),
                              (f"Y (frame {frame_index})", "L = Y W Wᵀ", "S = Y − L")):
        img = to_numpy(img)
        if title.startswith("S"):   # signed: centre the colour map on zero
            lim = float(np.abs(img).max()) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            ax.imshow(img, cmap="gray")
        ax.set_title(title)
    ax = axes[1, 3]
    ax.axis("on")
    ax.plot(np.arange(1, len(losses) + 1), losses)
    ax.set(xlabel="epoch", ylabel="mean |Y − L|", title="training loss")
    fig.tight_layout()
    return fig
