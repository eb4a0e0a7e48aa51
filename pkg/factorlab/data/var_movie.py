"""Synthetic two-photon movies whose cells follow a known sparse VAR, in two conditions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_nonnegative_number, check_positive

__all__ = ["var_movie", "VARMovie"]


@dataclass
class VARMovie:
    """A synthetic recording with sparse VAR(1) dynamics between cells, and its ground truth.

    All movies share one field of view (the same cells, mean frame and neuropil pattern).
    """

    movie: np.ndarray  #: (T, H, W) condition A ("familiar")
    movie_novel: np.ndarray  #: (T, H, W) condition B: A's couplings plus ``changed`` new ones
    movie_null: np.ndarray  #: (T, H, W) a second, independent recording of condition A
    coefs: np.ndarray  #: (1, K, K) VAR matrix of the network cells in condition A
    coefs_novel: np.ndarray  #: (1, K, K) the same in condition B
    changed: np.ndarray  #: (n_changed, 2) the new couplings (target i, source j)
    footprints: np.ndarray  #: (K + n_distractors, H, W); the first K are the network cells
    mean_frame: np.ndarray  #: (H, W) static content: background, vessels, cell baselines
    activity: np.ndarray  #: (T, K + n_distractors) activity of every cell in ``movie``
    n_network: int  #: K, the cells coupled by the VAR; the others flicker without dynamics
    frame_rate: float

    def _owned(self, network):
        owner = self.footprints.argmax(0)
        inside = self.footprints.max(0) > 0.2
        return inside & ((owner < self.n_network) == network)

    @property
    def network_mask(self) -> np.ndarray:
        """Pixels of a network cell (above 20 % of its peak and brighter than any other cell)."""
        return self._owned(True)

    @property
    def distractor_mask(self) -> np.ndarray:
        """Pixels of a distractor cell (same rule)."""
        return self._owned(False)


def _footprints(n_cells, shape, radius, rng):
    """Gaussian cells on a jittered grid, so that they do not overlap much."""
    H, W = shape
    side = int(np.ceil(np.sqrt(n_cells)))
    ys, xs = np.mgrid[0:H, 0:W]
    cells = []
    slots = rng.permutation(side * side)[:n_cells]
    for slot in slots:
        cy = (slot // side + 0.5) * H / side + rng.uniform(-1, 1)
        cx = (slot % side + 0.5) * W / side + rng.uniform(-1, 1)
        r = radius * rng.uniform(0.8, 1.2)
        cells.append(np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r ** 2)))
    return np.array(cells)


def _feedforward_pairs(K, rng):
    """All (target, source) pairs that respect a random ordering of the cells.

    Couplings only from earlier to later cells make the graph acyclic, so the eigenvalues of A
    are its diagonal (the decays) and the VAR stays stable whatever the coupling strengths.
    """
    rank = rng.permutation(K)
    return [(i, j) for i in range(K) for j in range(K) if rank[j] < rank[i]]


def _var_matrix(K, pairs, n_edges, frame_rate, rng):
    """Diagonal decay exp(-dt/tau) plus ``n_edges`` signed couplings drawn from ``pairs``."""
    tau = rng.uniform(0.4, 1.0, K)
    A = np.diag(np.exp(-1.0 / (frame_rate * tau)))
    for k in rng.choice(len(pairs), n_edges, replace=False):
        A[pairs[k]] = rng.choice([-1, 1]) * rng.uniform(0.15, 0.3)
    return A


def _simulate(A, n_frames, n_distractors, rng, burn=200):
    """Jump-driven VAR(1) for the network, temporally white jumps for the distractors."""
    K = A.shape[0]
    jumps = rng.binomial(1, 0.05, (n_frames + burn, K)) * rng.exponential(1.0, (n_frames + burn, K))
    e = jumps + 0.1 * rng.standard_normal((n_frames + burn, K))
    c = np.zeros((n_frames + burn, K))
    for t in range(1, n_frames + burn):
        c[t] = A @ c[t - 1] + e[t]
    flicker = rng.binomial(1, 0.15, (n_frames, n_distractors)) * rng.exponential(
        1.5, (n_frames, n_distractors))
    return np.concatenate([c[burn:], flicker], axis=1)


def var_movie(n_frames=3000, shape=(32, 32), n_network=10, n_distractors=6, n_edges=10,
              n_changed=4, noise=0.1, frame_rate=10.0, random_state=None) -> VARMovie:
    """Draw a calcium-imaging-like movie with known sparse VAR dynamics between cells.

    ``X_t = mean_frame + sum_k F_k c_{t,k} + neuropil_t + noise``. The ``n_network`` cells follow a
    VAR(1) ``c_t = A c_{t-1} + e_t`` with decays ``exp(-dt / tau)``, ``tau`` in 0.4-1 s, and
    ``n_edges`` signed couplings of size 0.15-0.3 along an acyclic (feed-forward) graph, so the
    spectral radius is the largest decay and the VAR is stable; innovations are sparse
    exponential jumps plus a little Gaussian noise. The
    ``n_distractors`` cells flicker (independent jumps every frame, no dynamics): they carry as
    much variance but nothing predictable, so a model that looks for dynamics should ignore them.
    The mean frame (smooth background, vessel-like stripes, cell baselines) is large and static:
    the skip connection's job. Condition B adds ``n_changed`` known couplings of size 0.3 to ``A``
    (in the same acyclic order, so B is stable too); all other entries are equal.

    Parameters
    ----------
    n_frames : int
    shape : (int, int)
    n_network, n_distractors : int
    n_edges : int
        Off-diagonal couplings in condition A (at most ``n_network * (n_network - 1) / 2``).
    n_changed : int
        New couplings in condition B.
    noise : float
        Standard deviation of the pixel noise.
    frame_rate : float
        Frames per second (sets the decays).
    random_state : int, Generator or None

    Returns
    -------
    VARMovie

    Examples
    --------
    >>> data = var_movie(n_frames=100, shape=(16, 16), n_network=4, n_distractors=2, n_edges=2,
    ...                  n_changed=1, random_state=0)
    >>> data.movie.shape, data.coefs.shape, int((data.coefs_novel != data.coefs).sum())
    ((100, 16, 16), (1, 4, 4), 1)
    """
    n_frames = check_int(n_frames, "n_frames", minimum=10)
    n_network = check_int(n_network, "n_network", minimum=2)
    n_distractors = check_int(n_distractors, "n_distractors", minimum=0)
    max_edges = n_network * (n_network - 1) // 2  # an acyclic graph (see _feedforward_pairs)
    n_edges = check_int(n_edges, "n_edges", minimum=0, maximum=max_edges)
    n_changed = check_int(n_changed, "n_changed", minimum=0, maximum=max_edges - n_edges)
    noise = check_nonnegative_number(noise, "noise")
    frame_rate = check_positive(frame_rate, "frame_rate")
    if len(shape) != 2:
        raise ValueError(f"shape must be (height, width), got {shape!r}.")
    H, W = (check_int(s, "shape", minimum=8) for s in shape)
    rng = check_random_state(random_state)

    K = n_network
    pairs = _feedforward_pairs(K, rng)
    A = _var_matrix(K, pairs, n_edges, frame_rate, rng)
    free = [pair for pair in pairs if A[pair] == 0]
    new = [free[k] for k in rng.choice(len(free), n_changed, replace=False)]
    A_novel = A.copy()
    for pair in new:
        A_novel[pair] = rng.choice([-1, 1]) * 0.3
    changed = np.array(new, dtype=int).reshape(-1, 2)

    feet = _footprints(K + n_distractors, (H, W), radius=min(H, W) / 16, rng=rng)
    ys, xs = np.mgrid[0:H, 0:W] / max(H, W)
    background = 1.0 + 0.5 * np.sin(2 * np.pi * (0.7 * xs + 0.3 * ys)) ** 2
    vessels = 0.8 * np.exp(-((xs - 0.5 * ys - 0.3) ** 2) / 0.002)
    mean_frame = background + vessels + 0.5 * feet.sum(0)
    neuropil = np.exp(-((xs - 0.6) ** 2 + (ys - 0.4) ** 2) / 0.2)

    def render(coefs):
        act = _simulate(coefs, n_frames, n_distractors, rng)
        drift = 0.3 * np.sin(2 * np.pi * np.arange(n_frames) / (60 * frame_rate)
                             + rng.uniform(0, 2 * np.pi))
        movie = (mean_frame + np.einsum("tk,khw->thw", act, feet) + drift[:, None, None] * neuropil
                 + noise * rng.standard_normal((n_frames, H, W)))
        return movie, act

    movie, activity = render(A)
    movie_novel, _ = render(A_novel)
    movie_null, _ = render(A)
    return VARMovie(movie, movie_novel, movie_null, A[None], A_novel[None], changed, feet,
                    mean_frame, activity, K, frame_rate)
