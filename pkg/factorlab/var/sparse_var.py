"""Sparse vector autoregression: a VAR(p) fitted by one lasso per output on the lagged values.

Model: ``z_t = mu + sum_k A_k (z_{t-k} - mu) + e_t`` for ``k = 1..p``; ``A_k[i, j]`` is the effect
of variable ``j`` at lag ``k`` on variable ``i`` (statsmodels' ``coefs`` layout, shape
``(p, d, d)``). All ``d`` regressions share the lagged design, hence one Gram matrix.
The lasso scaling is scikit-learn's: ``(1/(2n)) ||residual||^2 + alpha ||row of A||_1``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._backend import like_input, to_numpy, to_torch
from .._validate import (check_array, check_int, check_nonnegative_number)
from ..base import Estimator, cast_like_input_dtype, result_dtype
from .lasso import lasso_on_gram

__all__ = ["lagged_design", "var_lasso", "companion_matrix", "spectral_radius", "SparseVAR"]


def _as_segments(Z, name="Z"):
    """Accept one series (T, d) or a list of series (separate recordings or blocks)."""
    if isinstance(Z, (list, tuple)):
        if not Z:
            raise ValueError(f"{name} is an empty list; pass at least one (T, d) series.")
        return [check_array(z, f"{name}[{i}]", ndim=2) for i, z in enumerate(Z)], True
    return [check_array(Z, name, ndim=2)], False


def lagged_design(Z, order):
    """Lagged regression design of a VAR(p).

    Parameters
    ----------
    Z : array or tensor of shape (T, d), or a list of them
        With a list, lags never cross from one series to the next.
    order : int
        The number of lags ``p``.

    Returns
    -------
    Phi : (n, d * p)
        Row ``t`` is ``[z_{t-1}, ..., z_{t-p}]`` (lag-major blocks of ``d`` columns).
    Y : (n, d)
        The targets ``z_t``; ``n = T - p`` (summed over series).

    Examples
    --------
    >>> import numpy as np
    >>> Phi, Y = lagged_design(np.arange(8.0).reshape(4, 2), order=2)
    >>> Phi.tolist(), Y.tolist()
    ([[2.0, 3.0, 0.0, 1.0], [4.0, 5.0, 2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]])
    """
    order = check_int(order, "order", minimum=1)
    series, _ = _as_segments(Z)
    phis, ys = [], []
    for i, z in enumerate(series):
        T = z.shape[0]
        if T <= order:
            raise ValueError(f"series {i} has {T} time points; a VAR({order}) needs more than "
                             f"{order}.")
        lags = [z[order - k - 1:T - k - 1] for k in range(order)]
        cat = torch.cat if isinstance(z, torch.Tensor) else np.concatenate
        phis.append(cat(lags, 1))
        ys.append(z[order:])
    cat = torch.cat if isinstance(series[0], torch.Tensor) else np.concatenate
    return cat(phis, 0), cat(ys, 0)


def var_lasso(Z, order, alpha, center=True, standardize=False, max_steps=None):
    """Fit the VAR(p) coefficients by lasso; differentiable for tensor input.

    Each output ``i`` solves ``min (1/(2n)) ||Y_i - Phi a_i||^2 + alpha ||a_i||_1`` by LARS;
    the returned coefficients come from the closed form on the active set, so autograd carries
    gradients from them back into ``Z`` (and ``alpha`` when it is a tensor).

    Parameters
    ----------
    Z : array or tensor of shape (T, d), or a list of them
    order : int
    alpha : float or 0-d tensor
    center : bool
        Subtract the mean over time (the intercept) before the regression.
    standardize : bool
        Scale every variable to unit variance before the regression (the coefficients are
        returned in the original units). ``alpha`` then thresholds partial correlations, so one
        value suits variables of any scale.
    max_steps : int, optional

    Returns
    -------
    coefs : (order, d, d)
    mean : (d,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = np.zeros((500, 2))
    >>> for t in range(1, 500):
    ...     z[t] = [0.8 * z[t-1, 0], 0.5 * z[t-1, 0]] + rng.standard_normal(2)
    >>> A, mu = var_lasso(z, order=1, alpha=0.05)
    >>> np.round(A[0], 1).tolist()
    [[0.8, 0.0], [0.5, 0.0]]
    """
    series, _ = _as_segments(Z)
    torch_in = any(isinstance(z, torch.Tensor) for z in series)
    ts = [to_torch(z, dtype=torch.float64) for z in series]
    dev = next((z.device for z in series if isinstance(z, torch.Tensor)), torch.device("cpu"))
    ts = [z.to(dev) for z in ts]
    d = ts[0].shape[1]
    if any(z.shape[1] != d for z in ts):
        raise ValueError("all series in Z must have the same number of variables (columns).")
    allz = torch.cat(ts, 0)
    mean = allz.mean(0) if center else torch.zeros(d, dtype=torch.float64, device=dev)
    # Standardising makes alpha a threshold on partial correlations, the same for every pair
    # whatever the scale of each variable (latents have arbitrary scales).
    scale = ((allz - mean) ** 2).mean(0).sqrt().clamp_min(1e-12) if standardize else None
    Phi, Y = lagged_design([(z - mean) / scale if standardize else z - mean for z in ts], order)
    n = Phi.shape[0]
    gram, corr = Phi.T @ Phi / n, Phi.T @ Y / n
    if not isinstance(alpha, torch.Tensor):
        alpha = check_nonnegative_number(alpha, "alpha")
    coef, _ = lasso_on_gram(gram, corr, alpha, max_steps)
    B = coef.T  # (d, d * p): row i regresses z_i on the lags
    coefs = B.reshape(d, order, d).permute(1, 0, 2)
    if standardize:
        coefs = coefs * scale[None, :, None] / scale[None, None, :]
    if torch_in:
        return coefs, mean
    return to_numpy(coefs), to_numpy(mean)


def companion_matrix(coefs):
    """The ``(d p, d p)`` companion matrix of a VAR(p); its spectral radius < 1 means stable.

    Examples
    --------
    >>> import numpy as np
    >>> companion_matrix(np.array([[[0.5]], [[0.2]]])).tolist()
    [[0.5, 0.2], [1.0, 0.0]]
    """
    coefs = to_numpy(check_array(coefs, "coefs", ndim=3, mask_hint=False)).astype(np.float64)
    if coefs.shape[1] != coefs.shape[2]:
        raise ValueError(f"coefs must have shape (order, d, d), got {coefs.shape}.")
    p, d, _ = coefs.shape
    top = np.concatenate(list(coefs), axis=1)
    below = np.eye(d * (p - 1), d * p)
    return np.concatenate([top, below], axis=0)


def spectral_radius(coefs) -> float:
    """Largest modulus of the companion matrix's eigenvalues (``< 1``: stable VAR).

    Examples
    --------
    >>> import numpy as np
    >>> round(spectral_radius(np.array([[[0.5, 0.0], [0.3, 0.9]]])), 3)
    0.9
    """
    return float(np.abs(np.linalg.eigvals(companion_matrix(coefs))).max())


class SparseVAR(Estimator):
    """A VAR(p) whose coefficient matrices are fitted by the lasso (one per output, via LARS).

    A forecaster, not a transformer: ``fit(X)`` learns the dynamics of a series ``X`` of
    shape ``(T, d)`` (time points as samples, variables as features); :meth:`predict` returns,
    for every row ``t`` of a series, the one-step forecast ``z_hat_{t+1}`` made at time ``t``;
    :meth:`score` is the R^2 of those forecasts; :meth:`forecast` iterates the VAR further.

    Parameters
    ----------
    order : int
        Number of lags ``p``.
    alpha : float
        Lasso penalty (scikit-learn scaling). ``alpha >= alpha_max`` gives ``A = 0``; ``alpha = 0``
        gives least squares (ordinary VAR).
    center : bool
        Fit an intercept by removing the mean first.
    standardize : bool
        Penalise partial correlations rather than raw coefficients (see :func:`var_lasso`);
        then ``alpha`` does not depend on the scale of the variables.

    Attributes
    ----------
    coefs_ : ndarray of shape (order, d, d)
        ``coefs_[k][i, j]``: effect of ``z_j`` at lag ``k + 1`` on ``z_i``.
    mean_ : ndarray of shape (d,)
    support_ : ndarray of bool, shape (d, d)
        Couplings that are non-zero at any lag (the coupling graph, ``j -> i``).
    spectral_radius_ : float
        Of the companion matrix; ``< 1`` means the fitted VAR is stable.
    alpha_max_ : float
        Smallest ``alpha`` for which every coefficient is zero.
    n_features_in_ : int
        Number of variables ``d``.

    Notes
    -----
    ``coefs_`` and ``mean_`` (and the predictions) take the floating dtype of the data
    (float32 stays float32); the lasso itself is solved in float64.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = np.zeros((400, 3))
    >>> for t in range(1, 400):
    ...     z[t] = 0.7 * z[t-1] + [0, 0.5 * z[t-1, 0], 0] + rng.standard_normal(3)
    >>> var = SparseVAR(order=1, alpha=0.1).fit(z)
    >>> var.support_.astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    >>> var.forecast(z[-1:], steps=2).shape
    (2, 3)
    >>> var.predict(z).shape                   # row t: the forecast of z[t + 1]
    (400, 3)
    >>> round(var.score(z), 2)
    0.68
    """

    def __init__(self, order=1, alpha=0.05, center=True, standardize=True):
        self.order = order
        self.alpha = alpha
        self.center = center
        self.standardize = standardize

    def _check_order(self) -> int:
        return check_int(self.order, "order", minimum=1)

    def _series(self, X, reset):
        """``X`` (one series or a list of them), checked."""
        if isinstance(X, (list, tuple)) and X and getattr(X[0], "ndim", np.ndim(X[0])) == 2:
            series = [self._validate_input(z, f"X[{i}]", reset=reset and i == 0)
                      for i, z in enumerate(X)]
            if any(z.shape[1] != series[0].shape[1] for z in series):
                raise ValueError("all series in X must have the same number of variables "
                                 "(columns).")
            return series
        return [self._validate_input(X, "X", reset=reset)]

    def fit(self, X, y=None):
        """Fit on a ``(T, d)`` series or a list of series (lags never cross from one to the
        next); ``y`` is ignored. Returns ``self``."""
        order = self._check_order()
        check_nonnegative_number(self.alpha, "alpha")
        series = self._series(X, reset=True)
        for z in series:
            if z.shape[0] <= order:
                raise ValueError(f"X has {z.shape[0]} sample(s) (time points); a VAR({order}) "
                                 f"needs more than {order}.")
        out_dtype = result_dtype(series[0])
        arrays = [to_numpy(z).astype(np.float64) for z in series]
        coefs, mean = var_lasso(arrays, order, self.alpha, self.center, self.standardize)
        centred = [z - mean for z in arrays]
        if self.standardize:
            scale = np.sqrt(np.mean(np.concatenate(centred) ** 2, axis=0)).clip(1e-12)
            centred = [z / scale for z in centred]
        Phi, Y = lagged_design(centred, order)
        self._set_fitted(coefs, mean, float(np.abs(Phi.T @ Y).max() / Phi.shape[0]),
                         np.float32 if out_dtype in (np.float32, torch.float32) else np.float64)
        return self

    def _set_fitted(self, coefs, mean, alpha_max, dtype=np.float64):
        """Store the learned attributes of a VAR with these coefficients (also used by the
        VAR autoencoder to rebuild its latent VAR)."""
        self.coefs_ = np.asarray(coefs).astype(dtype)
        self.mean_ = np.asarray(mean).astype(dtype)
        self.n_features_in_ = self.coefs_.shape[1]
        self.support_ = np.abs(self.coefs_).max(0) > 0
        self.spectral_radius_ = spectral_radius(self.coefs_)
        self.alpha_max_ = float(alpha_max)
        return self

    def predict(self, X):
        """One-step forecasts along a series: row ``t`` is ``z_hat_{t+1}``, made from rows
        ``t, t-1, ..., t-p+1`` of ``X`` (rows before the start count as the mean).

        Parameters
        ----------
        X : array or tensor of shape (T, d)
            A series of the ``d`` variables the model was fitted on.

        Returns
        -------
        array or tensor of shape (T, d)
            In the data's floating dtype and container. ``predict(Z)[p - 1:-1]`` are the
            forecasts of ``X[p:]`` from full histories.
        """
        self._check_fitted()
        Z_in = X
        Z = self._validate_input(X, "X", reset=False)
        order = self.coefs_.shape[0]
        Zt = to_torch(Z, dtype=torch.float64)
        mean = torch.as_tensor(np.asarray(self.mean_, dtype=np.float64), device=Zt.device)
        centred = Zt - mean
        # rows before the start at the mean (zero), one dummy row after the end
        pad = centred.new_zeros((order - 1, centred.shape[1]))
        Phi, _ = lagged_design(torch.cat([pad, centred, centred[-1:]]), order)
        B = torch.as_tensor(np.asarray(self.coefs_, dtype=np.float64),
                            device=Zt.device).permute(1, 0, 2).reshape(self.n_features_in_, -1)
        out = cast_like_input_dtype(Phi @ B.T + mean, result_dtype(Z))
        return like_input(out, Z_in)

    def _one_step_residuals(self, X):
        Z = to_numpy(self._validate_input(X, "X", reset=False)).astype(np.float64)
        p = self.coefs_.shape[0]
        if Z.shape[0] <= p:
            raise ValueError(f"X has {Z.shape[0]} sample(s) (time points); scoring a VAR({p}) "
                             f"needs more than {p}.")
        pred = np.asarray(to_numpy(self.predict(Z)), dtype=np.float64)[p - 1:-1]
        return Z, Z[p:] - pred

    def prediction_error(self, X, relative=True) -> float:
        """Mean squared one-step error on ``X``; ``relative`` divides by the variance (1 - R^2)."""
        self._check_fitted()
        Z, resid = self._one_step_residuals(X)
        p = self.coefs_.shape[0]
        mse = float(np.mean(resid ** 2))
        return mse / float(np.mean((Z[p:] - Z.mean(0)) ** 2)) if relative else mse

    def score(self, X, y=None) -> float:
        """R^2 of the one-step forecasts of ``X`` (``1 - prediction_error(X)``; higher is
        better, as scikit-learn's model selection expects)."""
        return 1.0 - self.prediction_error(X)

    def forecast(self, Z_past, steps):
        """Iterate the VAR ``steps`` ahead from the last ``order`` rows of ``Z_past``."""
        self._check_fitted()
        steps = check_int(steps, "steps", minimum=1)
        past = to_numpy(self._validate_input(Z_past, "Z_past", reset=False))
        order = self.coefs_.shape[0]
        if past.shape[0] < order:
            raise ValueError(f"Z_past needs at least order={order} rows, got {past.shape[0]}.")
        hist = list(past[-order:] - self.mean_)
        out = []
        for _ in range(steps):
            nxt = sum(self.coefs_[k] @ hist[-k - 1] for k in range(order))
            hist.append(nxt)
            out.append(nxt + self.mean_)
        return like_input(torch.as_tensor(np.array(out)), Z_past)

    def coef_path(self, X, alphas):
        """Coefficients along a grid of penalties: an array of shape (n_alphas, order, d, d)."""
        order = self._check_order()
        alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
        return np.stack([to_numpy(var_lasso(X, order, float(a), self.center,
                                            self.standardize)[0]) for a in alphas])
