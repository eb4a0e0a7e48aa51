"""``RobustPCA``: one estimator over the reference solvers IALM, PCP and GoDec."""

from __future__ import annotations

import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin

from .._backend import like_input, to_torch
from .._linalg import thin_svd
from .._validate import check_array, check_option
from ..base import Estimator, TransformerMixin, cast_like_input_dtype, result_dtype
from .solvers import godec, ialm, pcp

__all__ = ["RobustPCA"]


def _detached(a):
    """A tensor out of the caller's autograd graph (the solvers are not differentiable)."""
    return a.detach() if isinstance(a, torch.Tensor) else a


class RobustPCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Estimator):
    """Split a movie into low-rank plus sparse, ``Y = L + S``, with a reference solver.

    Robust PCA decomposes the training movie itself; there is no out-of-sample ``S``. What
    carries over to new frames is the background subspace: ``fit`` stores ``L_`` and ``S_``
    and the principal axes of ``L_`` (``components_``, as many as the numerical rank of
    ``L_``), and :meth:`transform` gives the coordinates of frames on those axes, like
    :class:`factorlab.PCA` (uncentred). For the training frames these are the coordinates of
    ``Y``, which differ from those of ``L_`` by the projection of ``S_``.

    Parameters
    ----------
    method : {"ialm", "pcp", "godec"}
        ``"ialm"`` (Lin et al. 2010; fast, the usual reference), ``"pcp"`` (constant-penalty
        ADMM of Candès et al. 2011) or ``"godec"`` (fixed rank, no full SVD).
    lam : float, optional
        Weight of ``||S||_1`` (IALM, PCP). Default ``1/sqrt(max(frames, pixels))``, the value
        with recovery guarantees; raise it for a sparser ``S``, lower it to push more into ``S``.
    rank : int, optional
        GoDec's rank (required for ``method="godec"``).
    tau : float, optional
        GoDec's soft threshold, in the units of ``Y`` (default: from the noise level).
    mu : float, optional
        Initial (IALM) or constant (PCP) penalty of the augmented Lagrangian; the thresholds
        are ``1/mu`` and ``lam/mu``. The defaults come from norms of ``Y``, so they follow the
        data's scale.
    rule : {"candes", "lrslibrary"}
        PCP's parameter and stopping rule (see :func:`factorlab.robust.pcp`).
    tol : float, optional
        ``0`` runs all ``max_iter`` iterations.
    max_iter : int, optional
        Default 1000 (IALM, PCP) or 100 (GoDec).
    device, dtype : optional
        Where and in what precision (default: where ``Y`` is, its float dtype).
    random_state : int, Generator, RandomState or None
        GoDec's random start.
    progress : bool

    Attributes
    ----------
    L_ : array shaped like ``Y`` (same container)
        The low-rank part.
    S_ : array shaped like ``Y`` (same container)
        The sparse part.
    components_ : array of shape (``rank_``, pixels)
        Orthonormal principal axes of ``L_`` (rows), strongest first; each row's largest
        entry (in absolute value) is positive.
    singular_values_ : array of shape (``rank_``,)
    rank_ : int
        Numerical rank of ``L_``: singular values above ``max(frames, pixels) * eps`` times
        the largest.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 70))
    >>> S0 = np.where(rng.random((50, 70)) < 0.05, 4.0, 0.0)
    >>> model = RobustPCA().fit(L0 + S0)
    >>> bool(np.linalg.norm(model.L_ - L0) / np.linalg.norm(L0) < 1e-4), model.converged_
    (True, True)
    >>> model.rank_, model.transform(L0[:5]).shape
    (2, (5, 2))
    """

    _input_ndim = (2, 3)

    def __init__(self, method="ialm", lam=None, rank=None, tau=None, mu=None, rule="candes",
                 tol=None, max_iter=None, device=None, dtype=None, random_state=None,
                 progress=False):
        self.method, self.lam, self.rank, self.tau, self.mu = method, lam, rank, tau, mu
        self.rule, self.tol, self.max_iter = rule, tol, max_iter
        self.device, self.dtype, self.random_state, self.progress = device, dtype, random_state, progress

    @property
    def _n_features_out(self):
        return self.rank_

    def fit(self, X, y=None):
        """Decompose ``X`` (frames x pixels, or frames x height x width); returns ``self``.

        Parameters
        ----------
        X : array or tensor
            The movie ``Y``.
        y : ignored
        """
        Y = _detached(self._validate_input(X, reset=True))
        method = check_option(self.method, "method", ("ialm", "pcp", "godec"))
        check_option(self.rule, "rule", ("candes", "lrslibrary"))   # even where unused: a typo
        common = dict(device=self.device, dtype=self.dtype, progress=self.progress)
        if method == "godec":
            if self.rank is None:
                raise ValueError("method='godec' needs rank=... (the number of components).")
            res = godec(Y, self.rank, tau=self.tau, max_iter=self.max_iter or 100,
                        tol=1e-6 if self.tol is None else self.tol,
                        random_state=self.random_state, **common)
        elif method == "ialm":
            res = ialm(Y, lam=self.lam, tol=self.tol, max_iter=self.max_iter or 1000,
                       mu=self.mu, **common)
        else:
            res = pcp(Y, lam=self.lam, rule=self.rule, tol=self.tol,
                      max_iter=self.max_iter or 1000, mu=self.mu, **common)
        self.L_, self.S_, self.n_iter_, self.converged_ = res.L, res.S, res.n_iter, res.converged
        self._set_axes(res.L)
        return self

    def _set_axes(self, L) -> None:
        """Principal axes of ``L`` and its numerical rank (as :func:`numpy.linalg.matrix_rank`)."""
        T = to_torch(L)
        T = T.reshape(T.shape[0], -1)
        _, s, Vh = thin_svd(T)
        if s.numel() and float(s[0]) > 0:
            cutoff = float(s[0]) * max(T.shape) * torch.finfo(T.dtype).eps
            rank = int((s > cutoff).sum())
        else:
            rank = 0
        V = Vh[:rank]
        # fix the sign of each axis (SVD leaves it free): largest entry positive
        if rank:
            big = V.abs().argmax(dim=1)
            V = V * torch.sign(V[torch.arange(rank), big])[:, None]
        self.rank_ = rank
        self.components_ = like_input(V.contiguous(), L)
        self.singular_values_ = like_input(s[:rank].contiguous(), L)

    def transform(self, X):
        """Coordinates of frames on the background axes ``components_`` (``Y V``).

        Parameters
        ----------
        X : array or tensor, (frames, pixels) or (frames, height, width)

        Returns
        -------
        array or tensor of shape (frames, ``rank_``)
            In the input's floating dtype (float64 for other input).
        """
        Y = _detached(self._validate_input(X, reset=False))
        V = to_torch(self.components_)
        D = to_torch(Y, device=V.device, dtype=V.dtype).reshape(Y.shape[0], -1)
        return cast_like_input_dtype(like_input(D @ V.T, X), result_dtype(Y))

    def inverse_transform(self, X):
        """Frames ``(frames, pixels)`` from coordinates: ``codes @ components_``.

        Parameters
        ----------
        X : array or tensor of shape (frames, ``rank_``)
        """
        self._check_fitted()
        codes = _detached(check_array(X, "X"))
        if codes.shape[1] != self.rank_:
            raise ValueError(f"X must have {self.rank_} columns (rank_), got shape "
                             f"{tuple(codes.shape)}.")
        V = to_torch(self.components_)
        C = to_torch(codes, device=V.device, dtype=V.dtype)
        return cast_like_input_dtype(like_input(C @ V, X), result_dtype(codes))
