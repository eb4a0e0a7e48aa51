"""The CP estimator: scikit-learn habits around :func:`~factorlab.tensor.cp_als.cp_als`."""

from __future__ import annotations

import inspect
import json
import pathlib

import numpy as np
import torch

from .._backend import like_input, to_numpy, to_torch
from .._validate import check_array, check_int
from ._ops import cp_to_tensor
from .cp_als import cp_als

__all__ = ["CP"]


class CP:
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

    # --- hyperparameters (same protocol as the matrix estimators and scikit-learn) -----------
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(f"{name!r} is not a parameter of CP; valid parameters: "
                                 f"{', '.join(self._param_names())}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"CP({args})"

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, X, mask=None):
        """Fit the model to the tensor ``X``; ``mask`` marks observed entries (True).

        Returns
        -------
        self
        """
        res = cp_als(X, self.rank, mask=mask, nonneg=self.nonneg, missing=self.missing,
                     init=self.init, max_iter=self.max_iter, tol=self.tol,
                     random_state=self.random_state)
        factors = [to_torch(f) for f in res.factors]
        norms = torch.stack([f.norm(dim=0) for f in factors])
        weights = norms.prod(0)
        order = torch.argsort(weights, descending=True, stable=True)
        unit = [(f / torch.where(n > 0, n, 1.0))[:, order] for f, n in zip(factors, norms)]
        self.factors_ = [like_input(f, X) for f in unit]
        self.weights_ = like_input(weights[order], X)
        self.loss_history_ = res.loss_history
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        return self

    def fit_transform(self, X, mask=None):
        """Fit and return ``factors_``."""
        return self.fit(X, mask).factors_

    def _check_fitted(self) -> None:
        if not hasattr(self, "factors_"):
            raise RuntimeError("This CP model is not fitted yet; call fit(X) first.")

    def transform(self, X_new, mode=-1, mask=None):
        """Fit the factor of one mode for new data, all other factors frozen.

        For example new trials (``mode=-1``) recorded from the same neurons with the same time
        course: ``X_new`` is neurons x time x new trials. The frozen factors are used exactly as
        stored in ``factors_`` (never rescaled, bitwise unchanged); the returned factor absorbs
        ``weights_``, so ``X_new ≈ cp_to_tensor(factors_ with mode replaced by the result)``.

        Parameters
        ----------
        X_new : array
            Same shape as the training data except along ``mode``.
        mode : int
            The mode to fit.
        mask : bool array, optional
            Observed entries of ``X_new``.

        Returns
        -------
        array of shape (X_new.shape[mode], rank)
        """
        self._check_fitted()
        N = len(self.factors_)
        mode = check_int(mode, "mode", -N, N - 1) % N
        Xn = check_array(X_new, "X_new", ndim=N)
        expected = [f.shape[0] for f in self.factors_]
        if any(Xn.shape[k] != expected[k] for k in range(N) if k != mode):
            want = tuple("any" if k == mode else s for k, s in enumerate(expected))
            raise ValueError(f"X_new must have shape {want} (mode {mode} free), got "
                             f"{tuple(Xn.shape)}.")
        res = cp_als(Xn, self.rank, mask=mask, nonneg=self.nonneg, missing=self.missing,
                     init=[None if k == mode else f for k, f in enumerate(self.factors_)],
                     fixed_modes=[k for k in range(N) if k != mode], max_iter=self.max_iter,
                     tol=self.tol, random_state=self.random_state)
        return res.factors[mode]

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

    # --- persistence --------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save hyperparameters and the fit to an ``.npz`` file (no pickle)."""
        self._check_fitted()
        try:
            params = json.dumps(self.get_params())
        except TypeError as exc:
            raise TypeError("Cannot save CP: pass random_state as an int (or None) to save "
                            "the model.") from exc
        arrays = {f"factor_{n}": to_numpy(f) for n, f in enumerate(self.factors_)}
        np.savez(pathlib.Path(path), __class__=np.array("CP"), __params__=np.array(params),
                 weights=to_numpy(self.weights_), loss_history=self.loss_history_,
                 n_iter=self.n_iter_, converged=self.converged_, **arrays)

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (NumPy attributes).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> X = np.random.default_rng(0).random((6, 5, 4))
        >>> model = CP(rank=2, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "cp.npz")
        >>> model.save(path)
        >>> bool(np.array_equal(CP.load(path).factors_[0], model.factors_[0]))
        True
        """
        with np.load(pathlib.Path(path), allow_pickle=False) as data:
            if str(data["__class__"]) != "CP":
                raise ValueError(f"{path} does not hold a CP model.")
            model = cls(**json.loads(str(data["__params__"])))
            n_modes = sum(k.startswith("factor_") for k in data.files)
            model.factors_ = [data[f"factor_{n}"] for n in range(n_modes)]
            model.weights_ = data["weights"]
            model.loss_history_ = data["loss_history"]
            model.n_iter_ = int(data["n_iter"])
            model.converged_ = bool(data["converged"])
        return model
