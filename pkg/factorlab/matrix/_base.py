"""The shared base of the matrix estimators (PCA, NMF, and the model menu built on them).

A subclass only has to

1. list its hyperparameters as keyword arguments of ``__init__`` and store each one, untouched,
   under the same name (no validation and no work in ``__init__``, as in scikit-learn);
2. implement ``_fit(X, mask)`` returning a :class:`MatrixFit`;
3. set ``_nonnegative`` to ``True`` if ``transform`` must solve a nonnegative least-squares
   problem instead of an ordinary one.

Everything else (``fit``, ``fit_transform``, ``transform``, ``inverse_transform``,
``reconstruct``, ``get_params``/``set_params``, ``save``/``load``) comes from here.

Orientation: ``X ≈ U @ V.T (+ mean)`` with ``U`` (samples, rank) and ``V`` (features, rank).
"""

from __future__ import annotations

import inspect
import json
import pathlib
from typing import NamedTuple

import numpy as np
import torch

from .._backend import like_input, to_numpy, to_torch
from .._validate import check_array

__all__ = ["MatrixFit", "MatrixFactorization", "relative_error"]


class MatrixFit(NamedTuple):
    """What every matrix solver function returns.

    Attributes
    ----------
    U : array of shape (n_samples, rank)
    V : array of shape (n_features, rank)
    loss_history : ndarray of shape (n_iter + 1,)
        Relative Frobenius error ``||X - U V^T||_F / ||X||_F`` (observed entries only when a mask
        is given) at the start and after every iteration.
    n_iter : int
        Number of iterations run.
    converged : bool
        Whether the stopping tolerance was reached before ``max_iter``.
    mean : array of shape (n_features,) or None
        The column means removed before factorising (``None`` when the data were not centred).
    """

    U: object
    V: object
    loss_history: np.ndarray
    n_iter: int
    converged: bool
    mean: object = None


def relative_error(X, U, V, mask=None) -> float:
    """``||X - U V^T||_F / ||X||_F``, over the observed entries when ``mask`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.outer([1.0, 2.0], [3.0, 4.0])
    >>> relative_error(X, np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]]))
    0.0
    """
    X, U, V = (to_torch(a, dtype=torch.float64) for a in (X, U, V))
    R = X - U @ V.T
    if mask is not None:
        m = to_torch(mask).bool().to(X.device)
        R, X = R[m], X[m]
    return float(torch.linalg.norm(R) / torch.linalg.norm(X).clamp_min(1e-300))


class MatrixFactorization:
    """Base class of the matrix estimators: ``X ≈ U_ @ V_.T (+ mean_)``.

    Learned attributes (after ``fit``): ``U_`` (samples, rank), ``V_`` (features, rank),
    ``loss_history_``, ``n_iter_``, ``converged_`` and, for centred models, ``mean_``. They are
    NumPy arrays for NumPy input and torch tensors (on the input's device) for tensor input.
    """

    #: ``transform`` solves nonnegative least squares when True (NMF and friends).
    _nonnegative = False

    # --- hyperparameters (scikit-learn's protocol, so sklearn.base.clone works too) ----------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters as a dict (``deep`` is accepted for scikit-learn compatibility)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}; "
                                 f"valid parameters: {', '.join(valid)}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # --- fitting --------------------------------------------------------------------------
    def _fit(self, X, mask) -> MatrixFit:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, mask=None):
        """Fit the model to ``X`` (samples x features); ``mask`` marks observed entries (True).

        Returns
        -------
        self
        """
        result = self._fit(X, mask)
        self.U_, self.V_ = result.U, result.V
        self.loss_history_ = np.asarray(result.loss_history, dtype=float)
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        if result.mean is not None:
            self.mean_ = result.mean
        elif hasattr(self, "mean_"):
            del self.mean_
        self._after_fit(X, mask, result)
        return self

    def _after_fit(self, X, mask, result) -> None:
        """Hook for subclasses that derive extra attributes (explained variance, ...)."""

    def fit_transform(self, X, mask=None):
        """Fit and return ``U_``, the coordinates of the training rows."""
        return self.fit(X, mask).U_

    def _check_fitted(self) -> None:
        if not hasattr(self, "V_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet; call fit(X) first.")

    def transform(self, X_new):
        """Project new rows onto the fixed factors ``V_``: ``argmin_U ||X_new - U V_^T||``.

        Ordinary least squares, or nonnegative least squares for nonnegative models. ``V_`` is
        never changed. Centred models subtract ``mean_`` first.

        Parameters
        ----------
        X_new : array of shape (n_new, n_features)

        Returns
        -------
        U_new : array of shape (n_new, rank)
        """
        self._check_fitted()
        Xn = check_array(X_new, "X_new", nonnegative=self._nonnegative)
        n_features = self.V_.shape[0]
        if Xn.shape[1] != n_features:
            raise ValueError(f"X_new must have {n_features} columns (features) like the data the "
                             f"model was fitted on, got shape {tuple(Xn.shape)}.")
        V = to_torch(self.V_, dtype=torch.float64)
        Xt = to_torch(Xn, device=V.device, dtype=torch.float64)
        if getattr(self, "mean_", None) is not None:
            Xt = Xt - to_torch(self.mean_, device=V.device, dtype=torch.float64)
        G, P = V.T @ V, Xt @ V
        if self._nonnegative:
            from .nnls import nnls_gram

            U = nnls_gram(G, P)
        else:
            from .masked import solve_gram

            U = solve_gram(G, P)
        return like_input(U.to(to_torch(Xn).dtype), X_new)

    def inverse_transform(self, U):
        """Map coordinates back to data space: ``U @ V_.T (+ mean_)``."""
        self._check_fitted()
        U_arr = check_array(U, "U")
        if U_arr.shape[1] != self.V_.shape[1]:
            raise ValueError(f"U must have {self.V_.shape[1]} columns (the rank), got shape "
                             f"{tuple(U_arr.shape)}.")
        V = to_torch(self.V_, dtype=torch.float64)
        out = to_torch(U_arr, device=V.device, dtype=torch.float64) @ V.T
        if getattr(self, "mean_", None) is not None:
            out = out + to_torch(self.mean_, device=V.device, dtype=torch.float64)
        return like_input(out, U)

    def reconstruct(self):
        """The fitted approximation of the training data, ``U_ @ V_.T (+ mean_)``."""
        self._check_fitted()
        return self.inverse_transform(self.U_)

    # --- persistence ------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save hyperparameters and learned attributes to an ``.npz`` file (no pickle).

        Learned attributes are stored as NumPy arrays; ``load`` returns NumPy attributes.
        """
        self._check_fitted()
        params = self.get_params()
        try:
            params_json = json.dumps(params)
        except TypeError as exc:
            raise TypeError(f"Cannot save {type(self).__name__}: a hyperparameter is not a plain "
                            f"number/string/list ({params}). Pass random_state as an int to "
                            "save the model.") from exc
        arrays = {f"attr__{name}": to_numpy(value) for name, value in vars(self).items()
                  if name.endswith("_") and not name.startswith("_") and value is not None}
        np.savez(pathlib.Path(path), __class__=np.array(type(self).__name__),
                 __params__=np.array(params_json), **arrays)

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (of this class).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from factorlab.matrix import PCA
        >>> X = np.random.default_rng(0).standard_normal((20, 6))
        >>> model = PCA(rank=2, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "pca.npz")
        >>> model.save(path)
        >>> bool(np.allclose(PCA.load(path).V_, model.V_))
        True
        """
        with np.load(pathlib.Path(path), allow_pickle=False) as data:
            name = str(data["__class__"])
            if name != cls.__name__:
                raise ValueError(f"{path} holds a {name}, not a {cls.__name__}; use "
                                 f"{name}.load(path).")
            model = cls(**json.loads(str(data["__params__"])))
            for key in data.files:
                if key.startswith("attr__"):
                    value = data[key]
                    setattr(model, key[len("attr__"):], value.item() if value.ndim == 0 else value)
        return model
