"""Sparse PCA and sparse NMF: an l1 penalty on the loadings V, an l2 ball on the scores U.

Both minimise, over ``U`` (samples x rank) and ``V`` (features x rank),

    ½ Σ_ij m_ij (X_ij − (U Vᵀ)_ij)² + alpha · Σ |V_jk|   subject to ‖u_k‖₂ ≤ 1,

with ``m_ij`` the observation mask (all ones without a mask), and, for sparse NMF, ``U, V ≥ 0``.
This is the objective of scikit-learn's ``SparsePCA`` (l1 on the components, unit ball on the
codes), so the two can be compared on the same data.

The solver is block coordinate descent over the columns of ``U`` and ``V`` (HALS-style): with all
other columns fixed, the objective in ``v_k`` separates over features into one-dimensional lassos,
solved exactly by soft thresholding, ``v_jk = S_alpha(c_j) / d_j``; in ``u_k`` it is a diagonal
quadratic over the unit ball, solved exactly (a projection without a mask, a one-dimensional
secular equation with one). Every step is an exact block minimisation, so the objective never
increases. With ``alpha = 0`` and no constraint the same sweep is plain alternating least squares,
which is why sparse PCA with ``alpha = 0`` spans PCA's subspace.

The rank-1 power step with deflation of the book (``v ← S(Xᵀu)``, ``u ← Xv / ‖Xv‖``) is the
single-component case of the same updates; the block version fits all components together.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from ..prox import soft_threshold
from .._validate import (check_array, check_int, check_mask, check_nonnegative_number,
                         check_option, check_rank)
from ._base import MatrixFactorization, MatrixFit

__all__ = ["sparse_pca", "sparse_nmf", "SparsePCA", "SparseNMF"]


def _ball_solve(a: torch.Tensor, b: torch.Tensor, ball: bool, nonnegative: bool) -> torch.Tensor:
    """Exact minimiser of Σ_i (a_i u_i² / 2 − b_i u_i) over u (≥ 0) with ‖u‖ ≤ 1 when ``ball``.

    Stationarity gives u_i = b_i / (a_i + μ) with a multiplier μ ≥ 0 for the ball; μ = 0 if that
    point is feasible, else μ solves Σ b_i² / (a_i + μ)² = 1, found by bisection on [0, ‖b‖]
    (the left side is decreasing in μ and ≤ 1 at μ = ‖b‖). Without a mask all a_i are equal and
    this is the projection of b / a onto the ball.
    """
    if nonnegative:
        b = torch.clamp(b, min=0)
    safe = torch.where(a > 0, a, torch.ones_like(a))
    u = torch.where(a > 0, b / safe, torch.zeros_like(b))
    unbounded = bool(((a <= 0) & (b != 0)).any())
    if not ball or (not unbounded and float(torch.linalg.vector_norm(u)) <= 1):
        return u
    norm_b = float(torch.linalg.vector_norm(b))
    if not unbounded and float(a.max() - a.min()) <= 1e-12 * float(a.max()):
        return b / norm_b                        # equal weights (no mask): a projection
    lo, hi = 0.0, norm_b
    for _ in range(60):
        mu = 0.5 * (lo + hi)
        if float(torch.sum((b / (a + mu)) ** 2)) > 1:
            lo = mu
        else:
            hi = mu
    return b / (a + hi)


def bcd_factorize(X, W, U, V, *, alpha=0.0, ball=False, nonneg_u=False, nonneg_v=False,
                  max_iter=500, tol=1e-7, progress=False, desc="BCD"):
    """Column-wise block coordinate descent for ``½‖W∘(X − UVᵀ)‖² + alpha‖V‖₁``.

    Shared by sparse PCA, sparse NMF and semi-NMF; ``X``, ``W`` (mask as 0/1 floats, or ``None``
    when everything is observed), ``U``, ``V`` are torch tensors (``U`` and ``V`` are updated in
    place). Returns the objective after every sweep on the scale ``sqrt(2 objective) / ‖W∘X‖``
    (the relative error when ``alpha = 0``; a monotone function of the objective otherwise, so
    one scale serves every model; the first entry is the start), the number of sweeps and whether
    the relative decrease fell below ``tol``.

    Without a mask no residual matrix is kept: the column updates need only ``X v_k``,
    ``Xᵀ u_k`` and the small Gram matrices (two passes over ``X`` per column instead of eight).
    """
    masked = W is not None
    m, n = X.shape
    R = W * (X - U @ V.T) if masked else None
    sq_norm = float(torch.sum((W * X if masked else X) ** 2))
    norm = max(sq_norm ** 0.5, 1e-300)

    def objective():
        if masked:
            sq = torch.sum(R * R)
        else:
            sq = sq_norm - 2 * torch.sum((X.T @ U) * V) + torch.sum((U.T @ U) * (V.T @ V))
        return float(torch.sqrt(torch.clamp(sq, min=0) + 2 * alpha * V.abs().sum())) / norm

    history = [objective()]
    converged = False
    n_iter = 0
    for n_iter in tqdm(range(1, max_iter + 1), disable=not progress, desc=desc):
        for k in range(U.shape[1]):
            u = U[:, k]
            # c = (residual without component k)ᵀ u_k, d = Σ_i w_ij u_ik²: a lasso per feature.
            if masked:
                Rk = R + W * torch.outer(u, V[:, k])
                c, d = Rk.T @ u, W.T @ (u * u)
            else:
                c = X.T @ u - V @ (U.T @ u) + V[:, k] * (u @ u)
                d = (u @ u).expand(n)
            shrunk = torch.clamp(c - alpha, min=0) if nonneg_v else soft_threshold(c, alpha)
            V[:, k] = torch.where(d > 0, shrunk / torch.where(d > 0, d, torch.ones_like(d)), 0.0)
            v = V[:, k]
            if masked:
                a, b = W @ (v * v), Rk @ v
            else:
                a, b = (v @ v).expand(m), X @ v - U @ (V.T @ v) + u * (v @ v)
            U[:, k] = _ball_solve(a, b, ball, nonneg_u)
            if masked:
                R = Rk - W * torch.outer(U[:, k], v)
        history.append(objective())
        if tol > 0 and history[-2] - history[-1] <= tol * max(abs(history[-2]), 1e-300):
            converged = True
            break
    return history, n_iter, converged


def _prepare(X, rank, alpha, mask, max_iter, tol, nonnegative, device):
    Xc = check_array(X, nonnegative=nonnegative)
    rank = check_rank(rank, tuple(Xc.shape))
    alpha = check_nonnegative_number(alpha, "alpha")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    M = check_mask(mask, tuple(Xc.shape))
    T = to_torch(Xc, device=device)
    W = None if M is None else to_torch(M, device=T.device, dtype=T.dtype)
    return T, W, rank, alpha, max_iter, tol


def _column_means(T, W):
    if W is None:
        return T.mean(0)
    counts = W.sum(0)
    return torch.where(counts > 0, (W * T).sum(0) / torch.clamp(counts, min=1), 0.0)


def _init(T, W, rank, init, random_state, nonnegative):
    """Start from the truncated SVD of the (zero-filled) data, or at random.

    ``U`` gets unit columns (inside the ball), ``V`` carries the scale. For the nonnegative models
    the SVD start takes absolute values (the sign of a singular pair is arbitrary).
    """
    check_option(init, "init", ("svd", "random"))
    filled = T if W is None else W * T
    if init == "svd":
        Us, s, Vh = torch.linalg.svd(filled, full_matrices=False)
        U, V = Us[:, :rank].clone(), (Vh[:rank].T * s[:rank]).clone()
        if nonnegative:
            U, V = U.abs(), V.abs()
    else:
        rng = check_random_state(random_state)
        U = torch.as_tensor(rng.standard_normal((T.shape[0], rank)), dtype=T.dtype, device=T.device)
        V = torch.as_tensor(rng.standard_normal((T.shape[1], rank)), dtype=T.dtype, device=T.device)
        if nonnegative:
            U, V = U.abs(), V.abs()
        U = U / torch.linalg.vector_norm(U, dim=0)
        V = V * (torch.linalg.vector_norm(filled) / np.sqrt(rank * T.shape[1]))
    return U, V


def _fit_sparse(X, rank, alpha, mask, center, init, max_iter, tol, random_state, device,
                nonnegative, progress):
    T, W, rank, alpha, max_iter, tol = _prepare(X, rank, alpha, mask, max_iter, tol, nonnegative,
                                                device)
    mean = _column_means(T, W) if center else torch.zeros_like(T[0])
    Tc = T - mean
    U, V = _init(Tc, W, rank, init, random_state, nonnegative)
    history, n_iter, converged = bcd_factorize(Tc, W, U, V, alpha=alpha, ball=True,
                                               nonneg_u=nonnegative, nonneg_v=nonnegative,
                                               max_iter=max_iter, tol=tol, progress=progress,
                                               desc="sparse NMF" if nonnegative else "sparse PCA")
    return MatrixFit(like_input(U, X), like_input(V, X), np.asarray(history), n_iter, converged,
                     like_input(mean, X) if center else None)


def sparse_pca(X, rank, alpha, *, mask=None, center=True, init="svd", max_iter=500, tol=1e-7,
               random_state=None, device=None, progress=False):
    """Sparse PCA: principal components with an l1 penalty on the loadings.

    Minimises ``½‖M∘(X_c − U Vᵀ)‖²_F + alpha ‖V‖₁`` subject to ``‖u_k‖₂ ≤ 1``, where ``X_c`` is
    ``X`` with its (observed) column means removed when ``center`` is true. Larger ``alpha``
    gives loadings ``V`` with more exact zeros; ``alpha = 0`` recovers PCA's subspace.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), NumPy or torch
    rank : int
        Number of components.
    alpha : float
        Weight of the l1 penalty on ``V`` (in units of the data: a loading survives only where
        its correlation with the scores exceeds ``alpha``).
    mask : boolean array like ``X``, optional
        True where ``X`` is observed; the loss is summed over observed entries only.
    center : bool
        Remove column means first (returned as ``mean``).
    init : {"svd", "random"}
        Truncated SVD start (deterministic) or a random start from ``random_state``.
    max_iter : int
        Maximum number of sweeps over the columns.
    tol : float
        Stop when the objective decreases by less than ``tol`` relative to its value (0: run
        all ``max_iter`` sweeps).
    random_state : int, numpy.random.Generator or None
    device : str or torch.device, optional
        Where to compute; default: the CPU for NumPy input, the tensor's device otherwise.
    progress : bool
        Show a tqdm progress bar over the sweeps.

    Returns
    -------
    MatrixFit
        A named tuple ``(U, V, loss_history, n_iter, converged, mean)``: ``U`` the scores (each
        column of norm at most 1), ``V`` the sparse loadings (they carry the scale),
        ``loss_history`` the objective after each sweep as ``sqrt(2 objective) / ‖X_c‖`` (the
        relative error when ``alpha = 0``; it never increases), ``mean`` the removed column
        means (``None`` when ``center=False``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> v = np.r_[np.ones(5), np.zeros(15)] / np.sqrt(5)
    >>> X = 3 * np.outer(rng.standard_normal(100), v) + 0.1 * rng.standard_normal((100, 20))
    >>> fit = sparse_pca(X, rank=1, alpha=1.0)
    >>> np.flatnonzero(fit.V[:, 0]).tolist()
    [0, 1, 2, 3, 4]
    """
    return _fit_sparse(X, rank, alpha, mask, center, init, max_iter, tol, random_state, device,
                       nonnegative=False, progress=progress)


def sparse_nmf(X, rank, alpha, *, mask=None, init="svd", max_iter=500, tol=1e-7,
               random_state=None, device=None, progress=False):
    """Sparse NMF: ``U, V ≥ 0`` with an l1 penalty on ``V`` and ``‖u_k‖₂ ≤ 1``.

    Minimises ``½‖M∘(X − U Vᵀ)‖²_F + alpha Σ V`` over nonnegative factors by the same exact
    column updates as :func:`sparse_pca` (HALS with the l1 weight subtracted from the numerator,
    followed by the projection onto the ball). The ball on ``U`` is what makes the penalty bite:
    without it, scaling ``U`` up and ``V`` down would shrink the penalty for free.

    Parameters
    ----------
    X : nonnegative array of shape (n_samples, n_features)
    rank : int
    alpha : float
        Weight of the l1 penalty on ``V``.
    mask, init, max_iter, tol, random_state, device, progress
        As in :func:`sparse_pca`.

    Returns
    -------
    MatrixFit
        ``(U, V, loss_history, n_iter, converged, mean=None)`` with ``U, V ≥ 0``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> V0 = np.kron(np.eye(2), np.ones((5, 1)))           # two disjoint groups of 5 features
    >>> X = rng.exponential(size=(50, 2)) @ V0.T + 0.05 * rng.random((50, 10))
    >>> U, V, *_ = sparse_nmf(X, rank=2, alpha=0.5)
    >>> bool((U >= 0).all() and (V >= 0).all()), int((V > 0).sum())
    (True, 10)
    """
    return _fit_sparse(X, rank, alpha, mask, False, init, max_iter, tol, random_state, device,
                       nonnegative=True, progress=progress)


class _UnitBallScores(MatrixFactorization):
    """Shared by the sparse models, whose fitted scores ``U_`` live in the unit ball."""

    def fit_transform(self, X, y=None, *, mask=None):
        """Fit, then return ``transform(X)``: the least-squares coordinates of the training rows
        given ``V_`` (nonnegative for sparse NMF).

        These are not ``U_``: the fit's scores live in the unit ball (which couples the rows,
        so no row-wise ``transform`` could reproduce them), the coordinates do not; both are
        kept, as in scikit-learn's ``SparsePCA``. With a ``mask`` (entries may be missing, so
        ``transform`` cannot see them) this returns ``U_``.
        """
        self.fit(X, mask=mask)
        return self.U_ if mask is not None else self.transform(X)


class SparsePCA(_UnitBallScores):
    """Sparse PCA estimator (l1 on the loadings ``V_``, unit ball on the scores ``U_``).

    See :func:`sparse_pca` for the objective and the solver.

    Parameters
    ----------
    rank : int
    alpha : float
        Weight of the l1 penalty on the loadings.
    center : bool
    init : {"svd", "random"}
    max_iter : int
    tol : float
    random_state : int, numpy.random.Generator or None
    device : str or torch.device, optional
    progress : bool
        Show a progress bar.

    Attributes
    ----------
    U_ : array (n_samples, rank)
        Scores of the training data.
    V_ : array (n_features, rank)
        Sparse loadings.
    mean_ : array (n_features,)
        Column means removed before the fit (zeros when ``center=False``).
    loss_history_ : ndarray
        Objective after each sweep (never increases).
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> v = np.r_[np.ones(4), np.zeros(16)] / 2
    >>> X = 3 * np.outer(rng.standard_normal(80), v) + 0.1 * rng.standard_normal((80, 20))
    >>> model = SparsePCA(rank=1, alpha=1.0).fit(X)
    >>> int((model.V_ != 0).sum()), model.transform(X[:3]).shape
    (4, (3, 1))
    """

    def __init__(self, rank, alpha=1.0, center=True, init="svd", max_iter=500, tol=1e-7,
                 random_state=None, device=None, progress=False):
        self.rank = rank
        self.alpha = alpha
        self.center = center
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _fit(self, X, mask):
        return sparse_pca(X, self.rank, self.alpha, mask=mask, center=self.center, init=self.init,
                          max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                          device=self.device, progress=self.progress)


class SparseNMF(_UnitBallScores):
    """Sparse NMF estimator (``U_, V_ ≥ 0``, l1 on ``V_``, unit ball on the columns of ``U_``).

    See :func:`sparse_nmf`.

    Parameters
    ----------
    rank : int
    alpha : float
    init : {"svd", "random"}
    max_iter : int
    tol : float
    random_state : int, numpy.random.Generator or None
    device : str or torch.device, optional
    progress : bool
        Show a progress bar.

    Attributes
    ----------
    U_ : array of shape (n_samples, rank)
    V_ : array of shape (n_features, rank)
    loss_history_ : ndarray
        Relative error at the start and after each of the ``n_iter_`` sweeps.
    n_iter_ : int
        Sweeps run.
    converged_ : bool
        Whether the tolerance was reached before ``max_iter``.
    mean_ : array of shape (n_features,)
        Zeros: no centering (as in :class:`SparsePCA` otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((30, 12))
    >>> model = SparseNMF(rank=3, alpha=0.5).fit(X)
    >>> bool((model.V_ >= 0).all()), bool(model.transform(X).min() >= 0)
    (True, True)
    """

    _nonnegative = True
    _positive_only = True

    def __init__(self, rank, alpha=1.0, init="svd", max_iter=500, tol=1e-7, random_state=None,
                 device=None, progress=False):
        self.rank = rank
        self.alpha = alpha
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _fit(self, X, mask):
        return sparse_nmf(X, self.rank, self.alpha, mask=mask, init=self.init,
                          max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                          device=self.device, progress=self.progress)

