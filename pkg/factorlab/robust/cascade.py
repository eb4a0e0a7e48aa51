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
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin

from .._backend import like_input, to_torch
from .._linalg import nnls_gram
from .._validate import check_int
from ..base import Estimator, TransformerMixin, cast_like_input_dtype, result_dtype
from ..matrix import NMF
from .bear import BEAR

__all__ = ["BEARNMF"]


class BEARNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Estimator):
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
    lr, batch_size, init, device, dtype
        BEAR's settings (see :class:`BEAR`); the defaults are BEAR's.
    random_state : int, Generator, RandomState or None
        Seed of both BEAR and the NMF.

    Attributes
    ----------
    background_ : ndarray (frames, height, width)
        BEAR's low-rank part ``L`` (shaped like the training movie).
    S_ : ndarray (frames, height, width)
        ``Y - L``.
    W_ : ndarray (pixels, background_rank)
        BEAR's weight: the background of any frame ``y`` is ``y W W^T``.
    footprints_ : ndarray (n_components, height, width)
        Nonnegative footprints, each scaled to a peak of 1 (``(n_components, pixels)`` for
        a frames x pixels movie).
    traces_ : ndarray (frames, n_components)
        Matching traces, so that ``relu(S) ≈ traces_ @ footprints_`` (flattened), fitted jointly
        with the footprints.
    bear_ : BEAR
        The fitted first stage (not saved by :meth:`save`; the arrays above are).
    nmf_ : NMF
        The fitted second stage (not saved by :meth:`save` either).

    Examples
    --------
    >>> from factorlab.data import calcium_movie
    >>> mv = calcium_movie(n_frames=60, shape=(24, 24), n_cells=4, random_state=0)
    >>> model = BEARNMF(n_components=4, random_state=0).fit(mv.Y)
    >>> model.footprints_.shape, model.traces_.shape
    ((4, 24, 24), (60, 4))
    >>> model.transform(mv.Y[:10]).shape    # traces of new frames, footprints fixed
    (10, 4)
    """

    # movies as frames x height x width, or frames x pixels (what scikit-learn's checks use)
    _input_ndim = (2, 3)

    def __init__(self, n_components=2, background_rank=1, n_epochs=100, nmf_max_iter=300, *,
                 lr=None, batch_size=None, init="pca", device="auto", dtype=None,
                 random_state=None):
        self.n_components, self.background_rank = n_components, background_rank
        self.n_epochs, self.nmf_max_iter = n_epochs, nmf_max_iter
        self.lr, self.batch_size, self.init, self.device, self.dtype = lr, batch_size, init, device, dtype
        self.random_state = random_state

    @property
    def _n_features_out(self):
        return self.footprints_.shape[0]

    def fit(self, X, y=None):
        """Fit on a movie ``(frames, height, width)`` or ``(frames, pixels)`` held in memory.

        Parameters
        ----------
        X : array or tensor
        y : ignored

        Returns
        -------
        self
        """
        Y = self._validate_input(X, reset=True)
        Y = Y.detach().cpu().numpy() if isinstance(Y, torch.Tensor) else Y
        k = check_int(self.n_components, "n_components", minimum=1,
                      maximum=min(Y.shape[0], self.n_features_in_))
        self.bear_ = BEAR(self.background_rank, n_epochs=self.n_epochs, lr=self.lr,
                          batch_size=self.batch_size, init=self.init, device=self.device,
                          dtype=self.dtype, random_state=self.random_state).fit(Y)
        self.background_, self.S_, self.W_ = self.bear_.L_, self.bear_.S_, self.bear_.W_
        active = np.maximum(self.S_, 0).reshape(len(Y), -1).astype(np.float64)
        self.nmf_ = NMF(rank=k, solver="hals", max_iter=self.nmf_max_iter,
                        random_state=self.random_state).fit(active)
        U, V = self.nmf_.U_, self.nmf_.V_
        peak = np.maximum(V.max(axis=0), 1e-30)   # footprints peak at 1; traces carry the size
        self.footprints_ = (V / peak).T.reshape(k, *Y.shape[1:])
        self.traces_ = U * peak
        return self

    def transform(self, X):
        """Traces of (new) frames: NNLS of ``relu(Y - Y W W^T)`` on the fixed footprints.

        Parameters
        ----------
        X : array or tensor, (frames, height, width) or (frames, pixels)

        Returns
        -------
        traces : array or tensor of shape (frames, n_components)
            In the input's floating dtype (float64 for other input).
        """
        Y = self._validate_input(X, reset=False)
        Y = Y.detach() if isinstance(Y, torch.Tensor) else Y   # NNLS is not differentiable
        W = to_torch(self.W_, dtype=torch.float64)
        F = to_torch(self.footprints_, device=W.device, dtype=torch.float64).reshape(
            len(self.footprints_), -1).T
        D = to_torch(Y, device=W.device, dtype=torch.float64).reshape(Y.shape[0], -1)
        active = (D - (D @ W) @ W.T).clamp_min(0)
        traces = nnls_gram(F.T @ F, active @ F)
        return cast_like_input_dtype(like_input(traces, X), result_dtype(Y))
