"""BEAR + NMF (cascaded BEAR): background by rank-1 BEAR, neurons by NMF of what is left.

Calcium movies are a slowly varying background plus cells that light up. A rank-1 (or 2) BEAR
takes the background; the positive part of the residual, ``relu(Y - L)``, holds the cells, and a
nonnegative factorization of it, ``relu(S) ≈ traces @ footprints``, gives one spatial footprint
and one fluorescence trace per component. (The BEAR paper trains a second, nonnegatively
constrained BEAR with a Frobenius loss for this step; HALS NMF solves the same nonnegative
problem directly and is the better-known tool.)
"""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy
from .._validate import check_array, check_int
from ..matrix import NMF
from .bear import BEAR

__all__ = ["BEARNMF"]


class BEARNMF:
    """Neuron footprints and traces from a movie: rank-1 BEAR background, then NMF of ``relu(S)``.

    Parameters
    ----------
    n_components : int
        Number of neurons (NMF components) to extract.
    background_rank : int
        Rank of the BEAR background.
    n_epochs : int
        BEAR epochs (early stopping on).
    nmf_max_iter : int
        HALS iterations.
    random_state : int, Generator or None
    **bear_params
        Passed to :class:`BEAR` (``lr``, ``batch_size``, ``device`` ...).

    Attributes
    ----------
    background_ : ndarray (frames, height, width)
        BEAR's low-rank part ``L``.
    S_ : ndarray (frames, height, width)
        ``Y - L``.
    footprints_ : ndarray (n_components, height, width)
        Nonnegative footprints, each scaled to a peak of 1.
    traces_ : ndarray (frames, n_components)
        Matching traces, so that ``relu(S) ≈ traces_ @ footprints_`` (flattened).
    bear_, nmf_ : the fitted models.

    Examples
    --------
    >>> from factorlab.data import calcium_movie
    >>> mv = calcium_movie(n_frames=60, shape=(24, 24), n_cells=4, random_state=0)
    >>> model = BEARNMF(n_components=4, random_state=0).fit(mv.Y)
    >>> model.footprints_.shape, model.traces_.shape
    ((4, 24, 24), (60, 4))
    """

    def __init__(self, n_components, background_rank=1, n_epochs=100, nmf_max_iter=300,
                 random_state=None, **bear_params):
        self.n_components, self.background_rank = n_components, background_rank
        self.n_epochs, self.nmf_max_iter = n_epochs, nmf_max_iter
        self.random_state, self.bear_params = random_state, bear_params

    def fit(self, Y, y=None):
        """Fit on a movie ``(frames, height, width)`` held in memory; returns ``self``."""
        Y = to_numpy(check_array(Y, name="Y", ndim=3))
        k = check_int(self.n_components, "n_components", minimum=1,
                      maximum=min(Y.shape[0], Y[0].size))
        self.bear_ = BEAR(self.background_rank, n_epochs=self.n_epochs,
                          random_state=self.random_state, **self.bear_params).fit(Y)
        self.background_, self.S_ = self.bear_.L_, self.bear_.S_
        active = np.maximum(self.S_, 0).reshape(len(Y), -1).astype(np.float64)
        self.nmf_ = NMF(rank=k, solver="hals", max_iter=self.nmf_max_iter,
                        random_state=self.random_state).fit(active)
        U, V = self.nmf_.U_, self.nmf_.V_
        peak = np.maximum(V.max(axis=0), 1e-30)   # footprints peak at 1; traces carry the size
        self.footprints_ = (V / peak).T.reshape(k, *Y.shape[1:])
        self.traces_ = U * peak
        return self
