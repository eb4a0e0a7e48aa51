"""The shared base of the matrix estimators (PCA, NMF, and the model menu built on them).

A subclass only has to

1. list its hyperparameters as arguments of ``__init__`` and store each one, untouched, under
   the same name (no validation and no work in ``__init__``, as in scikit-learn);
2. implement ``_fit(X, mask)`` returning a :class:`MatrixFit`;
3. set ``_nonnegative`` to ``True`` if ``transform`` must solve a nonnegative least-squares
   problem instead of an ordinary one.

Everything else (``fit(X, y=None, *, mask=None)``, ``fit_transform``, ``transform``,
``inverse_transform``, ``reconstruct``, ``get_feature_names_out``) comes from here, and
``get_params``/``set_params``, ``save``/``load`` and scikit-learn's tags from
:class:`factorlab.base.Estimator`.

Orientation: ``X ≈ U @ V.T (+ mean)`` with ``U`` (samples, rank) and ``V`` (features, rank).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin

from .._backend import like_input, to_numpy, to_torch
from .._linalg import nnls_gram, solve_gram
from .._validate import (check_array, check_mask, check_sparse, check_sparse_mask,
                         hide_unobserved)
from ..base import Estimator, TransformerMixin, cast_like_input_dtype, result_dtype

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
    X, U, V = (to_torch(check_array(a, name), dtype=torch.float64).detach()
               for a, name in ((X, "X"), (U, "U"), (V, "V")))
    if U.shape[0] != X.shape[0] or V.shape[0] != X.shape[1] or U.shape[1] != V.shape[1]:
        raise ValueError(f"U {tuple(U.shape)} and V {tuple(V.shape)} do not factor X "
                         f"{tuple(X.shape)}: need U (n_samples, r) and V (n_features, r).")
    R = X - U @ V.T
    if mask is not None:
        # a boolean mask with at least one observed entry (0/1 numbers are accepted; 0.5 is not)
        m = to_torch(check_mask(mask, tuple(X.shape))).bool().to(X.device)
        R, X = R[m], X[m]
    return float(torch.linalg.norm(R) / torch.linalg.norm(X).clamp_min(1e-300))


class MatrixFactorization(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Estimator):
    """Base class of the matrix estimators: ``X ≈ U_ @ V_.T (+ mean_)``.

    Learned attributes (after ``fit``): ``U_`` (samples, rank), ``V_`` (features, rank),
    ``loss_history_``, ``n_iter_``, ``converged_``, ``n_features_in_`` and, for centred models,
    ``mean_``. They are NumPy arrays for NumPy input and torch tensors (on the input's device)
    for tensor input, in the input's floating dtype (float32 stays float32).
    """

    #: ``transform`` solves nonnegative least squares when True (NMF and friends).
    _nonnegative = False
    #: ``fit`` and ``transform`` take scipy.sparse matrices (used through products only, never
    #: densified) when True; the other models refuse them with a message saying so.
    #: They then also take ``mask="stored"`` (the stored entries observed, the rest missing).
    _accepts_sparse = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(self._accepts_sparse)
        return tags

    @property
    def _n_features_out(self):
        # the number of output columns of transform, for get_feature_names_out
        return self.V_.shape[1]

    # --- fitting --------------------------------------------------------------------------
    def _fit(self, X, mask) -> MatrixFit:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None, *, mask=None):
        """Fit the model to ``X`` (samples x features).

        Parameters
        ----------
        X : array or tensor of shape (n_samples, n_features)
        y : ignored
            Present so that the model can be a step of a supervised ``Pipeline``.
        mask : boolean array of X's shape, optional
            True where an entry is observed; only those entries are fitted. Models that take
            sparse ``X`` (NMF, PCA) accept ``mask="stored"`` with it: the stored entries are
            the observed ones and the others missing, without a dense copy.

        Returns
        -------
        self
        """
        if isinstance(X, torch.Tensor):
            X = X.detach()  # classical solvers are not differentiated through
        if scipy.sparse.issparse(X) and self._accepts_sparse:
            check_sparse_mask(mask, X)   # None or "stored"; anything else: a clear error
            X = self._validate_sparse(X, reset=True)
        else:
            if mask is not None:
                check_sparse_mask(mask, X)   # "stored" needs sparse X: a clear error here
                X, mask = hide_unobserved(X, mask, nonnegative=self._positive_only,
                                          owner=type(self).__name__)
            self._validate_input(X, reset=True)
        scale = self._unit_scale(X, mask)
        result = self._fit(X if scale == 1.0 else X / scale, mask)
        if scale != 1.0:
            result = self._rescale(result, scale)
        dtype = (X.dtype.type if X.dtype == np.float32 else np.float64) \
            if scipy.sparse.issparse(X) else result_dtype(X)
        self.U_ = cast_like_input_dtype(result.U, dtype)
        self.V_ = cast_like_input_dtype(result.V, dtype)
        self.loss_history_ = np.asarray(result.loss_history, dtype=float)
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        if result.mean is not None:
            self.mean_ = cast_like_input_dtype(result.mean, dtype)
        elif hasattr(self, "mean_"):
            del self.mean_
        self._after_fit(X, mask, result)
        return self

    def _after_fit(self, X, mask, result) -> None:
        """Hook for subclasses that derive extra attributes (explained variance, ...)."""

    #: For models whose fit is equivariant to scaling X (a quadratic loss, no penalty): the
    #: factor that carries the scale ("U" or "V"). Such models fit data of extreme magnitude on
    #: a copy scaled by a power of two (exact in floating point), so that absolute safeguards
    #: inside the solvers (clamps, step floors) keep their meaning; the result is scaled back.
    _scale_carrier: str | None = None

    def _validate_sparse(self, X, reset):
        """:func:`factorlab._validate.check_sparse` plus the feature count (as
        ``_validate_input`` does for dense data)."""
        out = check_sparse(X, "X", nonnegative=self._positive_only, owner=type(self).__name__)
        if reset:
            self.n_features_in_ = out.shape[1]
        else:
            self._check_fitted()
            if out.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {out.shape[1]} features, but {type(self).__name__} "
                                 f"is expecting {self.n_features_in_} features as input.")
        return out

    def _unit_scale(self, X, mask) -> float:
        if self._scale_carrier is None:
            return 1.0
        if scipy.sparse.issparse(X):
            values = np.abs(X.data)
        else:
            values = np.abs(to_numpy(X) if mask is None else
                            to_numpy(X)[check_mask(mask, X.shape)])
        peak = float(values.max()) if values.size else 0.0
        if peak == 0.0 or 2.0**-20 <= peak <= 2.0**20:
            return 1.0
        return float(2.0 ** np.round(np.log2(peak)))

    def _rescale(self, result, scale):
        U, V = (result.U * scale, result.V) if self._scale_carrier == "U" else \
            (result.U, result.V * scale)
        mean = None if result.mean is None else result.mean * scale
        return result._replace(U=U, V=V, mean=mean)

    def _check_loaded(self, path) -> None:
        # a loaded model must have the shapes a fit would give it: V_ (n_features, k),
        # U_ (n_samples, k), mean_ (n_features,)
        V, U, n = getattr(self, "V_", None), getattr(self, "U_", None), self.n_features_in_
        problems = []
        if V is None or np.ndim(V) != 2 or V.shape[0] != n:
            problems.append(f"V_ must have shape ({n}, k), got {np.shape(V)}")
        elif U is not None and (np.ndim(U) != 2 or U.shape[1] != V.shape[1]):
            problems.append(f"U_ must have {V.shape[1]} columns like V_, got shape {np.shape(U)}")
        if hasattr(self, "mean_") and np.shape(self.mean_) != (n,):
            problems.append(f"mean_ must have shape ({n},), got {np.shape(self.mean_)}")
        if problems:
            raise ValueError(f"{path} holds an inconsistent {type(self).__name__}: "
                             + "; ".join(problems) + ".")

    def fit_transform(self, X, y=None, *, mask=None):
        """Fit and return ``U_``, the coordinates of the training rows."""
        return self.fit(X, mask=mask).U_

    def transform(self, X):
        """Project rows onto the fixed factors ``V_``: ``argmin_U ||X - U V_^T||``.

        Ordinary least squares, or nonnegative least squares for nonnegative models. ``V_`` is
        never changed. Centred models subtract ``mean_`` first.

        Parameters
        ----------
        X : array of shape (n_new, n_features)

        Returns
        -------
        U_new : array of shape (n_new, rank)
        """
        self._check_fitted()
        V = to_torch(self.V_, dtype=torch.float64)
        mean = getattr(self, "mean_", None)
        mean = None if mean is None else to_torch(mean, device=V.device, dtype=torch.float64)
        if scipy.sparse.issparse(X) and self._accepts_sparse:
            Xs = self._validate_sparse(X, reset=False)
            P = torch.from_numpy(np.ascontiguousarray(Xs @ V.cpu().numpy())).to(V.device)
            if mean is not None:  # (X - 1 mean^T) V without the dense centred matrix
                P = P - mean @ V
            dtype = torch.float32 if Xs.dtype == np.float32 else torch.float64
        else:
            Xn = self._validate_input(X, reset=False, nonnegative=self._nonnegative)
            Xn = Xn.detach() if isinstance(Xn, torch.Tensor) else Xn
            Xt = to_torch(Xn, device=V.device, dtype=torch.float64)
            if mean is not None:
                Xt = Xt - mean
            P = Xt @ V
            dtype = to_torch(Xn).dtype
        G = V.T @ V
        U = nnls_gram(G, P) if self._nonnegative else solve_gram(G, P)
        return like_input(U.to(dtype), X)

    def inverse_transform(self, X):
        """Map coordinates back to data space: ``X @ V_.T (+ mean_)``.

        Parameters
        ----------
        X : array of shape (n, rank)
            Coordinates, as returned by :meth:`transform`.
        """
        self._check_fitted()
        U_arr = check_array(X, "X")
        if U_arr.shape[1] != self.V_.shape[1]:
            raise ValueError(f"X must have {self.V_.shape[1]} columns (the rank), got shape "
                             f"{tuple(U_arr.shape)}.")
        V = to_torch(self.V_, dtype=torch.float64)
        out = to_torch(U_arr, device=V.device, dtype=torch.float64) @ V.T
        if getattr(self, "mean_", None) is not None:
            out = out + to_torch(self.mean_, device=V.device, dtype=torch.float64)
        return like_input(out.to(to_torch(U_arr).dtype), X)

    def reconstruct(self):
        """The fitted approximation of the training data, ``U_ @ V_.T (+ mean_)``."""
        self._check_fitted()
        return self.inverse_transform(self.U_)

