"""PCA by alternating least squares (ALS), with optional missing data.

Alternate ``U <- X V (V^T V)^-1`` and ``V <- X^T U (U^T U)^-1``: each step solves a least-squares
problem exactly, so the error never increases, and the product ``U V^T`` converges to the best
rank-r approximation of the (centred) data, the truncated SVD (Eckart & Young 1936). ALS finds
the right *subspace* but not a particular basis of it (the rotation problem: ``U R, V R^-T`` fits
equally well). A final orthonormalisation (QR of both factors, then the SVD of the small r x r
core) picks the principal axes, ordered by explained variance.

With missing data there is no closed form to converge to, and masked ALS converges slowly
(linearly, at a rate set by the fraction missing and the spectral gap): the subspace can keep
drifting by tiny amounts for hundreds of sweeps while the error on the observed entries, the
quantity being minimised, no longer changes in any digit that matters. Masked fits therefore
also stop when that error falls by less than a relative ``loss_tol`` in one sweep.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import (float_mask, gram_and_rhs, principal_axes, solve_gram, sparse_pattern,
                       weighted_gram)
from .._validate import (
    check_array,
    check_int,
    check_mask,
    check_nonnegative_number,
    check_rank,
    check_sparse,
    check_sparse_mask,
)
from ..base import cast_like_input_dtype, result_dtype
from ._base import MatrixFactorization, MatrixFit
from .masked import loss_from_normal_equations

__all__ = ["pca_als", "PCA"]


class _CentredSparse:
    """A scipy.sparse ``X`` minus its column means ``mu``, never formed: ``Xc @ B = X @ B -
    1 (mu^T B)`` and ``Xc^T @ B = X^T @ B - mu (1^T B)``, and ``||Xc||_F^2 = ||X||_F^2 -
    m ||mu||^2``, so a sparse matrix stays sparse (its centred version would be dense)."""

    def __init__(self, X, center: bool):
        self.X, self.shape = X, X.shape
        self.mean = (torch.from_numpy(np.asarray(X.sum(0), dtype=np.float64).ravel()
                                      / X.shape[0]) if center else None)
        norm_sq = float(np.dot(X.data, X.data))
        if center:
            norm_sq -= X.shape[0] * float(self.mean @ self.mean)
        self.norm_sq = max(norm_sq, 0.0)

    def matmul(self, B):
        out = torch.from_numpy(np.ascontiguousarray(self.X @ B.numpy()))
        return out if self.mean is None else out - (self.mean @ B)[None, :]

    def rmatmul(self, B):
        out = torch.from_numpy(np.ascontiguousarray(self.X.T @ B.numpy()))
        return out if self.mean is None else out - self.mean[:, None] * B.sum(0)[None, :]


class _StoredSparse:
    """A scipy.sparse ``X`` whose stored entries are the observed ones (``mask="stored"``):
    the centred values on the same pattern (means over each column's stored entries), their
    transpose and the 0/1 pattern, all sparse, so that the masked normal equations of
    :func:`pca_als` never touch an unstored entry."""

    def __init__(self, X, center: bool):
        m, n = X.shape
        counts = np.bincount(X.indices, minlength=n)
        if (counts == 0).any() or (np.diff(X.indptr) == 0).any():
            raise ValueError("mask='stored' leaves a row or a column of X without any stored "
                             "(observed) entry; drop that row/column or store at least one "
                             "entry in it.")
        values = X.data.astype(np.float64)
        self.mean = None
        if center:
            mean = np.bincount(X.indices, weights=values, minlength=n) / counts
            values = values - mean[X.indices]
            self.mean = torch.from_numpy(mean)
        self.X = scipy.sparse.csr_matrix((values, X.indices, X.indptr), shape=X.shape)
        self.pattern = sparse_pattern(X)
        self.XT, self.patternT = self.X.T.tocsr(), self.pattern.T.tocsr()
        self.shape, self.norm_sq = X.shape, float(values @ values)

    def normal_equations(self, B, side):
        """``(G, P)`` of the U-step (``side="U"``, ``B = V``) or the V-step (``B = U``)."""
        X, W = (self.X, self.pattern) if side == "U" else (self.XT, self.patternT)
        return weighted_gram(W, B), torch.from_numpy(np.ascontiguousarray(X @ B.numpy()))


def _prepare(X, mask, rank, center):
    """Validate inputs; return float64 tensors (data with masked entries zeroed), mask, mean.

    A scipy.sparse ``X`` comes back as a :class:`_CentredSparse`, or with ``mask="stored"``
    as a :class:`_StoredSparse` (the mask is then None: the object carries it)."""
    stored = check_sparse_mask(mask, X)
    if scipy.sparse.issparse(X):
        Xs = check_sparse(X, "X")
        rank = check_rank(rank, tuple(Xs.shape))
        if stored and Xs.nnz < Xs.shape[0] * Xs.shape[1]:
            data = _StoredSparse(Xs, center)
        else:
            data = _CentredSparse(Xs, center)
        return data, None, rank, data.mean
    X_arr = check_array(X, "X")
    rank = check_rank(rank, tuple(X_arr.shape))
    mask_arr = check_mask(mask, tuple(X_arr.shape))
    Xt = to_torch(X_arr, dtype=torch.float64)
    M = None if mask_arr is None else to_torch(mask_arr).bool().to(Xt.device)
    if M is not None and bool(M.all()):
        M = None  # a mask that hides nothing: use the (faster, identical) complete-data path
    if M is not None:
        if bool((M.sum(0) == 0).any()) or bool((M.sum(1) == 0).any()):
            raise ValueError("mask leaves a row or a column of X without any observed entry; "
                             "drop that row/column or observe at least one entry in it.")
        Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=Xt.device))
    mean = None
    if center:
        count = Xt.shape[0] if M is None else M.sum(0).to(Xt.dtype)
        mean = Xt.sum(0) / count
        Xt = Xt - mean
        if M is not None:
            Xt = Xt * M.to(Xt.dtype)
    return Xt, M, rank, mean


def _subspace_change(Q_old: torch.Tensor, Q_new: torch.Tensor) -> float:
    """sqrt(sum of sin^2 of the principal angles) between two orthonormal bases."""
    return float(torch.linalg.norm(Q_new - Q_old @ (Q_old.T @ Q_new)))


def _principal_axes(U: torch.Tensor, V: torch.Tensor):
    """Rewrite ``U V^T`` as scores ``U' = Q_u A S`` and orthonormal axes ``V' = Q_v B``.

    ``R_u R_v^T = A S B^T`` is the SVD of the small core, so ``U' V'^T = U V^T`` and the columns
    come out ordered by singular value. Signs: the largest entry of each axis is positive.
    """
    L, s, V_out = principal_axes(U, V)
    U_out = L * s
    idx = V_out.abs().argmax(0)
    signs = torch.sign(V_out[idx, torch.arange(V_out.shape[1], device=V.device)])
    signs[signs == 0] = 1
    return U_out * signs, V_out * signs, s


def pca_als(X, rank, center=True, mask=None, max_iter=500, tol=1e-9, loss_tol=1e-6,
            random_state=None, progress=False) -> MatrixFit:
    """PCA of ``X`` (samples x features) by alternating least squares.

    Parameters
    ----------
    X : array, tensor or scipy.sparse matrix of shape (n_samples, n_features)
        A sparse matrix is centred implicitly (products ``X @ B - 1 (mu^T B)``), so neither it
        nor its (dense) centred version is ever densified.
    rank : int
        Number of components, ``1 <= rank <= min(X.shape)``.
    center : bool
        Remove the column means first (PCA proper); otherwise factorise ``X`` itself.
    mask : bool array of shape X.shape, or "stored" for sparse X, optional
        True = observed. Each ALS step is then an exact censored least-squares solve (one small
        system per row/column). The means are then taken over observed entries, once, before
        fitting (they are not re-estimated jointly with the factors). With a scipy.sparse
        ``X``, ``mask="stored"`` makes the stored entries the observed ones (the others
        missing) without a dense copy: the same fit as ``X.toarray()`` with the pattern as a
        boolean mask, to rounding.
    max_iter : int
        Maximum number of ALS sweeps (one update of U and one of V).
    tol : float
        Stop when the subspace spanned by ``V`` moves by less than ``tol`` (root sum of squared
        sines of the principal angles) in one sweep (0: run all ``max_iter`` sweeps).
    loss_tol : float
        Masked fits only: also stop when the relative error on the observed entries decreases
        by less than ``loss_tol`` (relatively) in one sweep. The default 1e-6 settles the
        error to about 4 digits (about 100 sweeps for a noisy 500 x 300 matrix with 10 %
        missing at a rank above the true one, the fixed budget often used for speckled
        cross-validation); lower it (e.g. 1e-12) to polish a masked fit. Complete data stop
        on ``tol`` alone, so they still reach the truncated SVD to ~1e-8.
    random_state : int, numpy Generator, RandomState or None
        Seed of the Gaussian starting ``V``.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    MatrixFit
        ``U`` (scores, samples x rank) and ``V`` (orthonormal principal axes, features x rank),
        components ordered by explained variance (NumPy for NumPy input, tensors for tensor
        input; float32 for float32 input, float64 otherwise); ``loss_history`` holds the
        relative error ``||Xc - U V^T||_F / ||Xc||_F`` of the (centred) data after each
        sweep; ``mean`` the column means (``None`` when ``center=False``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((50, 8)) @ np.diag([5, 4, 3, 1, 1, 1, 1, 1])
    >>> fit = pca_als(X, rank=3, random_state=0)
    >>> Xc = X - X.mean(0)
    >>> s = np.linalg.svd(Xc, compute_uv=False)
    >>> bound = np.sqrt((s[3:] ** 2).sum() / (s ** 2).sum())
    >>> print(f"{fit.loss_history[-1]:.6f} {bound:.6f}")
    0.342719 0.342719
    """
    Xt, M, rank, mean = _prepare(X, mask, rank, center)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    loss_tol = check_nonnegative_number(loss_tol, "loss_tol")
    rng = check_random_state(random_state)
    sparse = isinstance(Xt, (_CentredSparse, _StoredSparse))
    stored = isinstance(Xt, _StoredSparse)
    masked = M is not None or stored
    device = torch.device("cpu") if sparse else Xt.device
    V = torch.from_numpy(rng.standard_normal((Xt.shape[1], rank))).to(device)
    # masked entries of Xt are already zero
    norm_sq = Xt.norm_sq if sparse else float(torch.linalg.norm(Xt)) ** 2
    Q_old = torch.linalg.qr(V)[0]
    # converted and transposed once per fit, not in every sweep
    Mf = float_mask(M, torch.float64)
    Mft = None if M is None else Mf.T.contiguous()
    Xtt = None if sparse else Xt.T.contiguous()
    history, converged, it, prev = [], False, 0, np.inf
    for it in tqdm(range(1, max_iter + 1), disable=not progress, desc="PCA-ALS"):
        if stored:
            U = solve_gram(*Xt.normal_equations(V, "U"))
            G, P = Xt.normal_equations(U, "V")
        elif sparse:
            U = solve_gram(V.T @ V, Xt.matmul(V))
            G, P = U.T @ U, Xt.rmatmul(U)
        else:
            U = solve_gram(*gram_and_rhs(Xt, V, Mf, zeroed=True))
            G, P = gram_and_rhs(Xtt, U, Mft, zeroed=True)
        V = solve_gram(G, P)
        # ||M * (X - U V^T)||^2 from the V-step's normal equations: no reconstruction needed
        loss = np.sqrt(loss_from_normal_equations(norm_sq, G, P, V) / max(norm_sq, 1e-300))
        history.append(loss)
        Q_new = torch.linalg.qr(V)[0]
        if _subspace_change(Q_old, Q_new) < tol or (masked and loss_tol > 0
                                                    and prev - loss < loss_tol * prev):
            converged = True
            break
        Q_old, prev = Q_new, loss
    U, V, _ = _principal_axes(U, V)
    # computed in float64; returned in the input's floating dtype (float32 stays float32)
    dtype = (np.float32 if X.dtype == np.float32 else np.float64) if sparse else result_dtype(X)
    U, V = (cast_like_input_dtype(like_input(A, X), dtype) for A in (U, V))
    mean_out = None if mean is None else cast_like_input_dtype(like_input(mean, X), dtype)
    return MatrixFit(U, V, np.asarray(history), it, converged, mean_out)


class PCA(MatrixFactorization):
    """Principal component analysis by alternating least squares, with optional missing data.

    ``X ≈ U_ @ V_.T + mean_`` where the columns of ``V_`` are orthonormal principal axes and
    ``U_`` holds the scores; components are ordered by explained variance. Equal (up to signs
    and convergence tolerance) to the truncated SVD of the centred data.

    Parameters
    ----------
    rank : int
        Number of components.
    center : bool, default True
        Remove column means first.
    max_iter : int, default 500
    tol : float, default 1e-9
        Stop when the principal subspace moves by less than ``tol`` in one sweep.
    loss_tol : float, default 1e-6
        With a mask, also stop when the error on the observed entries falls by less than this
        fraction in one sweep (see :func:`pca_als`).
    random_state : int, numpy Generator or None
    progress : bool, default False
        Show a progress bar.

    Attributes
    ----------
    U_ : array of shape (n_samples, rank)
        Scores (projections of the centred rows on the axes).
    V_ : array of shape (n_features, rank)
        Principal axes (orthonormal columns).
    mean_ : array of shape (n_features,)
        Column means (only when ``center=True``).
    singular_values_ : ndarray of shape (rank,)
    explained_variance_ : ndarray of shape (rank,)
        Variance along each axis (``singular_values_**2 / (n_samples - 1)``).
    explained_variance_ratio_ : ndarray of shape (rank,)
        Fraction of the total (centred) sum of squares captured by each component.
    loss_history_ : ndarray
        Relative error at the start and after each of the ``n_iter_`` sweeps (see :func:`pca_als`).
    n_iter_ : int
        Sweeps run.
    converged_ : bool
        Whether the tolerance was reached before ``max_iter``.

    Notes
    -----
    ``fit`` and ``transform`` take scipy.sparse matrices too, centred implicitly (never
    densified); ``fit(X_sparse, mask="stored")`` fits the stored entries only (see
    :func:`pca_als`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((100, 5)) * [3.0, 2.0, 1.0, 0.5, 0.1]
    >>> model = PCA(rank=2, random_state=0).fit(X)
    >>> model.explained_variance_ratio_.round(2).tolist()
    [0.6, 0.32]
    >>> model.transform(X[:2]).shape
    (2, 2)
    """

    _scale_carrier = "U"   # quadratic loss, no penalty: scale-equivariant
    _accepts_sparse = True

    def __init__(self, rank=2, center=True, max_iter=500, tol=1e-9, loss_tol=1e-6,
                 random_state=None, progress=False):
        self.rank = rank
        self.center = center
        self.max_iter = max_iter
        self.tol = tol
        self.loss_tol = loss_tol
        self.random_state = random_state
        self.progress = progress

    def _fit(self, X, mask):
        return pca_als(X, self.rank, center=self.center, mask=mask, max_iter=self.max_iter,
                       tol=self.tol, loss_tol=self.loss_tol, random_state=self.random_state,
                       progress=self.progress)

    def _after_fit(self, X, mask, result):
        U = to_torch(result.U, dtype=torch.float64)
        s = torch.linalg.norm(U, dim=0)
        Xt = _prepare(X, mask, 1, self.center)[0]
        # masked entries of Xt are zero
        total = Xt.norm_sq if isinstance(Xt, (_CentredSparse, _StoredSparse)) else \
            float(torch.linalg.norm(Xt)) ** 2
        s_np = s.cpu().numpy()
        self.singular_values_ = s_np
        self.explained_variance_ = s_np**2 / max(U.shape[0] - 1, 1)
        self.explained_variance_ratio_ = s_np**2 / max(total, 1e-300)
