"""Synthetic calcium-imaging movies with exact ground truth.

A movie is ``Y = L + S + noise`` with frames as the first axis:

* ``L`` — a low-rank background: a broad Gaussian "vignette" that bleaches (slow exponential
  decay plus a small oscillation) and, for rank 2, a smooth sinusoidal pattern that drifts
  slowly in time;
* ``S`` — neurons: Gaussian blobs (footprints) times spike-driven calcium transients (spikes
  convolved with an exponential kernel), nonnegative and sparse in space;
* Gaussian noise.

Everything is divided by ``max(Y)`` so that the movie lies in about ``[0, 1]``, the scale at
which robust PCA's default parameters are quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_nonnegative_number, check_positive

__all__ = ["CalciumMovie", "calcium_movie"]


@dataclass
class CalciumMovie:
    """A synthetic calcium movie and the truth that made it (all float32).

    Attributes
    ----------
    Y : ndarray of shape (n_frames, height, width)
        The movie.
    L : ndarray of shape (n_frames, height, width)
        The low-rank background.
    S : ndarray of shape (n_frames, height, width)
        The neurons' fluorescence (nonnegative).
    footprints : ndarray of shape (n_cells, height, width)
        Spatial footprint of each cell (peak 1 before scaling).
    traces : ndarray of shape (n_frames, n_cells)
        Calcium trace of each cell, so that ``S = traces @ footprints`` (flattened).
    spikes : ndarray of shape (n_frames, n_cells)
        Spike counts (0/1) that drive the traces.
    noise : float
        Standard deviation of the additive noise after scaling.
    """

    Y: np.ndarray
    L: np.ndarray
    S: np.ndarray
    footprints: np.ndarray
    traces: np.ndarray
    spikes: np.ndarray
    noise: float

    @property
    def masks(self) -> np.ndarray:
        """Boolean footprints (pixels where the footprint exceeds 0.2 of its peak)."""
        peak = self.footprints.reshape(len(self.footprints), -1).max(axis=1)
        return self.footprints > 0.2 * peak[:, None, None]


def _background(n_frames, height, width, rank, rng):
    """Rank-``rank`` background: spatial maps (rank, h*w) and time courses (n_frames, rank)."""
    t = np.arange(n_frames)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    spread = 0.6 * max(height, width)
    vignette = 0.5 + np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * spread**2))
    bleach = np.exp(-t / (3.0 * n_frames)) * (1 + 0.05 * np.sin(2 * np.pi * t / 40.0))
    maps, courses = [vignette], [bleach]
    for k in range(1, rank):
        fy, fx = rng.uniform(0.5, 2.0, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        maps.append(0.3 * (1 + np.sin(2 * np.pi * (fy * yy / height + fx * xx / width) + phase)))
        courses.append(0.5 + 0.5 * np.cos(2 * np.pi * t / (2.0 * n_frames) + k))
    return np.stack([m.ravel() for m in maps]), np.stack(courses, axis=1)


def _footprints(n_cells, height, width, radius, rng):
    """Gaussian blobs truncated below 0.05 of their peak, shape (n_cells, h, w)."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = np.empty((n_cells, height, width))
    for i in range(n_cells):
        cy, cx = rng.uniform(2, height - 2), rng.uniform(2, width - 2)
        r = rng.uniform(*radius)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (r / 2) ** 2))
        out[i] = np.where(blob >= 0.05, blob, 0.0)
    return out


def calcium_movie(n_frames=150, shape=(64, 64), n_cells=None, background_rank=2,
                  spike_rate=0.03, tau=6.0, noise=0.01, cell_radius=(2.0, 4.0),
                  random_state=None) -> CalciumMovie:
    """Draw a calcium-imaging movie ``Y = L + S + noise`` with known background and neurons.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    shape : tuple of int
        ``(height, width)`` of a frame.
    n_cells : int, optional
        Number of neurons; default one per 100 pixels (40 cells in a 64 x 64 field).
    background_rank : int
        Rank of the background (1 = bleaching vignette, 2 adds a drifting pattern).
    spike_rate : float
        Probability of a spike per cell and frame.
    tau : float
        Decay time of a calcium transient, in frames.
    noise : float
        Standard deviation of the Gaussian noise relative to the movie's maximum.
    cell_radius : tuple of float
        Range of the cells' radii in pixels.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    CalciumMovie
        ``Y, L, S, footprints, traces, spikes, noise``; ``Y``, ``L`` and ``S`` are
        ``(n_frames, height, width)`` float32 with ``Y = L + S + noise``.

    Examples
    --------
    >>> mv = calcium_movie(n_frames=20, shape=(16, 16), n_cells=3, random_state=0)
    >>> mv.Y.shape, mv.footprints.shape, mv.traces.shape
    ((20, 16, 16), (3, 16, 16), (20, 3))
    >>> bool(np.abs(mv.Y - mv.L - mv.S).std() < 0.02)
    True
    """
    n_frames = check_int(n_frames, "n_frames", minimum=2)
    if len(shape) != 2:
        raise ValueError(f"shape must be (height, width), got {shape!r}.")
    height = check_int(shape[0], "shape[0]", minimum=4)
    width = check_int(shape[1], "shape[1]", minimum=4)
    n_cells = max(1, round(height * width / 100)) if n_cells is None else n_cells
    n_cells = check_int(n_cells, "n_cells", minimum=0)
    background_rank = check_int(background_rank, "background_rank", minimum=1, maximum=2)
    check_positive(tau, "tau")
    noise = check_nonnegative_number(noise, "noise")
    if not 0 <= spike_rate <= 1:
        raise ValueError(f"spike_rate must be a probability in [0, 1], got {spike_rate!r}.")
    rng = check_random_state(random_state)

    maps, courses = _background(n_frames, height, width, background_rank, rng)
    L = courses @ maps
    feet = _footprints(n_cells, height, width, cell_radius, rng)
    spikes = (rng.random((n_frames, n_cells)) < spike_rate).astype(float)
    kernel = np.exp(-np.arange(30) / tau)
    amplitude = rng.uniform(0.2, 0.5, size=n_cells)
    # causal convolution of each spike train with the transient kernel
    traces = np.stack([np.convolve(spikes[:, i], kernel)[:n_frames] for i in range(n_cells)],
                      axis=1).reshape(n_frames, n_cells) * amplitude
    S = traces @ feet.reshape(n_cells, -1)
    Y = L + S + noise * rng.standard_normal(L.shape)
    scale = float(np.abs(Y).max())
    as_movie = lambda A: (A / scale).reshape(n_frames, height, width).astype(np.float32)  # noqa: E731
    return CalciumMovie(Y=as_movie(Y), L=as_movie(L), S=as_movie(S),
                        footprints=feet.astype(np.float32),
                        traces=(traces / scale).astype(np.float32),
                        spikes=spikes.astype(np.float32), noise=noise / scale)
