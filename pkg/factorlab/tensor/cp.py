"""The CP estimator: scikit-learn habits around :func:`~factorlab.tensor.cp_als.cp_als`."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin

from .._backend import like_input, to_numpy, to_torch
from .._validate import check_array, check_int, hide_unobserved
from ..base import Estimator, TransformerMixin, cast_like_input_dtype, result_dtype
from ._ops import cp_to_tensor
from .cp_als import cp_als

__all__ = ["CP"]


class CP(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Estimator):
    """CP (PARAFAC / tensor component analysis) model ``X ≈ sum_r w_r a_r ∘ b_r ∘ c_r ...``.

    Parameters
    ----------
    rank : int
        Number of components.
    nonneg : bool or sequence of bool
        Nonnegative factors (HALS updates) for all modes, or for the modes marked True.
    missing : {"exact", "em"}
        How a mask is handled: exact censored least squares, or EM imputation.
    init : {"random", "svd"}
        Starting point.
    max_iter : int
    tol : float
        Stop when the relative error changes by less than ``tol`` in one sweep.
    random_state : int or None

    Attributes
    ----------
    factors_ : list of arrays
        One ``(X.shape[n], rank)`` matrix per mode with unit-norm columns.
    weights_ : array of shape (rank,)
        Component sizes, largest first (components are sorted by them).
    loss_history_ : ndarray
        Relative error at the start and after every sweep; never increases.
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.data import trial_tensor
    >>> X, truth, _ = trial_tensor(30, 20, 15, rank=2, noise=0.01, random_state=0)
    >>> model = CP(rank=2, nonneg=True, random_state=0).fit(X)
    >>> [f.shape for f in model.factors_]
    [(30, 2), (20, 2), (15, 2)]
    >>> bool(model.loss_history_[-1] < 0.05)
    True
    >>> import os, tempfile
    >>> path = model.save(os.path.join(tempfile.mkdtemp(), "cp.npz"))
    >>> bool(np.array_equal(CP.load(path).factors_[0], model.factors_[0]))
    True
    """

    def __init__(self, rank, nonneg=False, missing="exact", init="random", max_iter=500,
                 tol=1e-6, random_state=None):
        self.rank = rank
        self.nonneg = nonneg
        self.missing = missing
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    _input_ndim = tuple(range(2, 9))

    @property
    def _n_features_out(self):
        return len(self.weights_)

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, X, y=None, *, mask=None):
        """Fit the model to the tensor ``X`` (any order from 2; mode 0 holds the samples).

        Parameters
        ----------
        X : array or tensor
        y : ignored
        mask : boolean array of X's shape, optional
            True where an entry is observed.

        Returns
        -------
        self
        """
        if isinstance(X, torch.Tensor):
            X = X.detach()
        if mask is not None:
            X, mask = hide_unobserved(X, mask, ndim=self._input_ndim, nonnegative=False)
        self._validate_input(X, reset=True)
        res = cp_als(X, self.rank, mask=mask, nonneg=self.nonneg, missing=self.missing,
                     init=self.init, max_iter=self.max_iter, tol=self.tol,
                     random_state=self.random_state)
        factors = [to_torch(f) for f in res.factors]
        norms = torch.stack([f.norm(dim=0) for f in factors])
        weights = norms.prod(0)
        order = torch.argsort(weights, descending=True, stable=True)
        unit = [(f / torch.where(n > 0, n, 1.0))[:, order] for f, n in zip(factors, norms)]
        dtype = result_dtype(X)
        self.factors_ = [cast_like_input_dtype(like_input(f, X), dtype) for f in unit]
        self.weights_ = cast_like_input_dtype(like_input(weights[order], X), dtype)
        self.loss_history_ = res.loss_history
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        return self

    def _check_loaded(self, path) -> None:
        # one factor per mode, each with one column per weight
        factors, weights = getattr(self, "factors_", None), getattr(self, "weights_", None)
        k = np.shape(weights)[0] if np.ndim(weights) == 1 else None
        if (k is None or not isinstance(factors, list) or len(factors) < 2
                or any(np.ndim(f) != 2 or np.shape(f)[1] != k for f in factors)):
            raise ValueError(f"{path} holds an inconsistent CP: factors_ must be a list of "
                             f"(n_i, {k}) arrays matching weights_, got shapes "
                             f"{[np.shape(f) for f in factors or []]} and {np.shape(weights)}.")

    def fit_transform(self, X, y=None, *, mask=None):
        """Fit and return the sample-mode factor scaled by the weights, ``factors_[0] * weights_``
        (what :meth:`transform` gives for the training data)."""
        self.fit(X, mask=mask)
        return self.factors_[0] * self.weights_

    def transform(self, X, mode=0, mask=None):
        """Fit the factor of one mode for new data, all other factors frozen.

        By default new samples along mode 0 (scikit-learn's convention); for example new trials
        (``mode=-1``) recorded from the same neurons with the same time course: ``X`` is
        neurons x time x new trials. The frozen factors are used exactly as
        stored in ``factors_`` (never rescaled, bitwise unchanged); the returned factor absorbs
        ``weights_``, so ``X_new ≈ cp_to_tensor(factors_ with mode replaced by the result)``.

        Parameters
        ----------
        X : array
            Same shape as the training data except along ``mode``.
        mode : int
            The mode to fit.
        mask : bool array, optional
            Observed entries of ``X``.

        Returns
        -------
        array of shape (X_new.shape[mode], rank)
        """
        self._check_fitted()
        N = len(self.factors_)
        mode = check_int(mode, "mode", -N, N - 1) % N
        if mode == 0:
            self._validate_input(X, reset=False, allow_nan=mask is not None)
        Xn = check_array(X, "X", ndim=N, allow_nan=mask is not None)
        Xn = Xn.detach() if isinstance(Xn, torch.Tensor) else Xn
        expected = [f.shape[0] for f in self.factors_]
        if any(Xn.shape[k] != expected[k] for k in range(N) if k != mode):
            want = tuple("any" if k == mode else s for k, s in enumerate(expected))
            raise ValueError(f"X must have shape {want} (mode {mode} free), got "
                             f"{tuple(Xn.shape)}.")
        res = cp_als(Xn, self.rank, mask=mask, nonneg=self.nonneg, missing=self.missing,
                     init=[None if k == mode else f for k, f in enumerate(self.factors_)],
                     fixed_modes=[k for k in range(N) if k != mode], max_iter=self.max_iter,
                     tol=self.tol, random_state=self.random_state)
        return cast_like_input_dtype(like_input(to_torch(res.factors[mode]), X), result_dtype(X))

    def reconstruct(self):
        """The fitted tensor ``sum_r w_r a_r ∘ b_r ∘ ...``."""
        self._check_fitted()
        factors = [to_torch(f) for f in self.factors_]
        return like_input(cp_to_tensor(factors, to_torch(self.weights_)), self.weights_)

    def to_tensorly(self):
        """The fit as a ``tensorly.cp_tensor.CPTensor`` (NumPy arrays)."""
        from tensorly.cp_tensor import CPTensor

        self._check_fitted()
        return CPTensor((to_numpy(self.weights_), [to_numpy(f) for f in self.factors_]))
