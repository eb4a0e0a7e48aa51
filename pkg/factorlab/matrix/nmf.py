"""Nonnegative matrix factorization ``X ≈ U V^T`` with ``U, V >= 0`` (Lee & Seung 1999).

Three block-coordinate solvers, all written on the normal-equation pair ``(G, P)`` of
:mod:`factorlab.matrix.masked`, so that each also fits data with missing entries exactly:

``"hals"`` (default)
    Hierarchical ALS: update one column at a time in closed form,
    ``u_k <- max(0, (p_k - sum_{j != k} u_j G_jk) / G_kk)``. Because ``G`` and ``P`` are
    computed once per block, the column sweep is cheap and is repeated a few times before the
    next expensive product with ``X`` (accelerated HALS, Gillis & Glineur 2012).
``"anls"``
    Alternating nonnegative least squares: each block is solved *exactly* by block principal
    pivoting on the normal equations (Kim & Park 2011), warm-started from the previous block.
``"mu"``
    Multiplicative updates ``U <- U * P / (U G)`` (Lee & Seung 2001): simple, but slow, and
    entries that reach zero stay zero.

Every update minimises the loss over its block (exactly for HALS columns and ANLS, via a
majoriser for MU), so the loss history never increases.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import (dead_components, float_mask, gram_and_rhs, hals_update, nnls_gram,
                       revive_component)
from .._validate import (check_array, check_int, check_mask, check_nonnegative_number,
                         check_option, check_rank)
from ..base import cast_like_input_dtype, result_dtype
from ._base import MatrixFactorization, MatrixFit
from .masked import loss_from_normal_equations, masked_residual_norm

__all__ = ["nmf", "NMF"]

SOLVERS = ("hals", "anls", "mu")
INITS = ("random", "nndsvd", "nndsvda")

# Accelerated HALS: repeat the column sweep while it still improves by at least this fraction
# of the first sweep's change, at most 1 + _INNER_ALPHA * (cost of the products / cost of a
# sweep) times (alpha = 0.5 and fraction 0.01, as in Gillis & Glineur 2012; checked on the
# benchmark in benchmarks/nmf_pca.py).
_INNER_ALPHA = 0.5
_INNER_TOL = 0.01
_MAX_INNER = 20


def _mu_block(A: torch.Tensor, G: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """One multiplicative update ``A * P / (A G)``; zeros stay zeros (start positive)."""
    AG = torch.einsum("ikl,il->ik", G, A) if G.ndim == 3 else A @ G
    return A * P.clamp_min(0) / AG.clamp_min(1e-300)


def _nndsvd(X: torch.Tensor, rank: int, fill_zeros: bool):
    """Nonnegative double SVD start (Boutsidis & Gallopoulos 2008)."""
    u, s, vt = torch.linalg.svd(X, full_matrices=False)
    U = torch.zeros((X.shape[0], rank), dtype=X.dtype, device=X.device)
    V = torch.zeros((X.shape[1], rank), dtype=X.dtype, device=X.device)
    U[:, 0] = torch.sqrt(s[0]) * u[:, 0].abs()
    V[:, 0] = torch.sqrt(s[0]) * vt[0].abs()
    for k in range(1, rank):
        x, y = u[:, k], vt[k]
        xp, xn, yp, yn = x.clamp_min(0), (-x).clamp_min(0), y.clamp_min(0), (-y).clamp_min(0)
        norm = torch.linalg.norm
        np_, nn_ = norm(xp) * norm(yp), norm(xn) * norm(yn)
        # keep the sign pattern carrying more energy; its rank-1 part is nonnegative
        a, b, m = (xp, yp, np_) if np_ >= nn_ else (xn, yn, nn_)
        if m > 0:
            scale = torch.sqrt(s[k] * m)
            U[:, k] = scale * a / torch.linalg.norm(a)
            V[:, k] = scale * b / torch.linalg.norm(b)
    if fill_zeros:
        avg = X.mean()
        U[U == 0], V[V == 0] = avg, avg
    return U, V


def _initial_factors(Xt, M, rank, init, rng):
    m, n = Xt.shape
    if isinstance(init, (tuple, list)):
        if len(init) != 2:
            raise ValueError("init must be 'random', 'nndsvd', 'nndsvda' or a pair (U0, V0).")
        U0 = check_array(init[0], "init[0] (U0)", nonnegative=True)
        V0 = check_array(init[1], "init[1] (V0)", nonnegative=True)
        if tuple(U0.shape) != (m, rank) or tuple(V0.shape) != (n, rank):
            raise ValueError(f"init=(U0, V0) must have shapes {(m, rank)} and {(n, rank)}, got "
                             f"{tuple(U0.shape)} and {tuple(V0.shape)}.")
        return (to_torch(U0, device=Xt.device, dtype=torch.float64).clone(),
                to_torch(V0, device=Xt.device, dtype=torch.float64).clone())
    check_option(init, "init", INITS)
    if init == "random":
        mean = float(Xt.sum()) / (Xt.numel() if M is None else float(M.sum()))
        avg = np.sqrt(max(mean, 1e-12) / rank)
        U = avg * rng.random((m, rank))
        V = avg * rng.random((n, rank))
        return torch.from_numpy(U).to(Xt.device), torch.from_numpy(V).to(Xt.device)
    return _nndsvd(Xt, rank, fill_zeros=(init == "nndsvda"))


def _revive(A: torch.Tensor) -> torch.Tensor:
    """Give all-zero columns a tiny positive value (1e-16 x the largest entry).

    A column that is exactly zero is a fixed point of HALS (its partner's Gram entry and
    right-hand side vanish), so a component that dies early would stay dead. The nudge changes
    the loss by a relative ~1e-16, and the next exact column update regrows the component if
    that lowers the error (Gillis' HALS code does the same).
    """
    dead = A.amax(0) <= 0
    if bool(dead.any()):
        A = A.clone()
        A[:, dead] = 1e-16 * float(A.max().clamp_min(1e-300))
    return A


def _revive_dead(Xt, Mf, U, V):
    """Re-seed every dead component (all-zero column of U or V) with the best nonnegative
    rank-one fit to the residual, where that lowers the loss (:func:`revive_component`).
    Returns the factors and whether anything changed."""
    dead = dead_components([U, V])
    if not bool(dead.any()):
        return U, V, False
    U, V, changed = U.clone(), V.clone(), False
    for k in torch.nonzero(dead)[:, 0].tolist():
        U[:, k], V[:, k] = 0, 0
        R = Xt - U @ V.T  # Xt is zero where unobserved
        if Mf is not None:
            R = R * Mf
        term = revive_component(R, [True, True], weights=Mf)
        if term is not None:
            U[:, k], V[:, k] = term
            changed = True
    return U, V, changed


def _normalise(U: torch.Tensor, V: torch.Tensor):
    """Unit-norm columns of V (scale moved into U), components sorted by the norm of U."""
    norms = torch.linalg.norm(V, dim=0)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    U, V = U * safe, V / safe
    order = torch.argsort(torch.linalg.norm(U, dim=0), descending=True, stable=True)
    return U[:, order], V[:, order]


def nmf(X, rank, solver="hals", init="random", mask=None, max_iter=500, tol=1e-6,
        random_state=None, progress=False) -> MatrixFit:
    """Nonnegative matrix factorization ``X ≈ U V^T``, ``U, V >= 0``.

    Parameters
    ----------
    X : array or tensor of shape (n_samples, n_features), nonnegative
    rank : int
        Number of components.
    solver : {"hals", "anls", "mu"}
        Hierarchical ALS (default, fastest), exact alternating NNLS (block principal pivoting),
        or multiplicative updates.
    init : {"random", "nndsvd", "nndsvda"} or (U0, V0)
        Uniform random start scaled to the data, nonnegative double SVD (zeros filled with the
        data mean for ``"nndsvda"``; plain ``"nndsvd"`` zeros stay zero under ``"mu"``), or
        your own nonnegative starting factors (copied, never modified).
    mask : bool array of shape X.shape, optional
        True = observed; the solvers then minimise the error on observed entries only, exactly.
    max_iter : int
        Maximum number of outer iterations (one update of U and one of V).
    tol : float
        Stop when the relative error decreases by less than ``tol`` (relatively) in one
        iteration; 0 runs all ``max_iter`` iterations.
    random_state : int, numpy Generator, RandomState or None
        Seed of the random start.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    MatrixFit
        ``U`` (samples x rank) and ``V`` (features x rank, unit-norm columns), components sorted
        by size, NumPy for NumPy input and tensors for tensor input, float32 for float32 input
        and float64 otherwise (the arithmetic is float64); ``loss_history`` is the relative error ``||X - U V^T||_F / ||X||_F`` after each
        iteration (observed entries only with a mask).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 3)) @ rng.random((3, 30))
    >>> fit = nmf(X, rank=3, random_state=0)
    >>> bool(fit.loss_history[-1] < 1e-3), bool((fit.U >= 0).all() and (fit.V >= 0).all())
    (True, True)
    """
    X_arr = check_array(X, "X", nonnegative=True)
    if isinstance(X_arr, torch.Tensor):
        X_arr = X_arr.detach()      # data, not a parameter: never differentiated through
    rank = check_rank(rank, tuple(X_arr.shape))
    solver = check_option(solver, "solver", SOLVERS)
    mask_arr = check_mask(mask, tuple(X_arr.shape))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    rng = check_random_state(random_state)
    Xt = to_torch(X_arr, dtype=torch.float64)
    M = None if mask_arr is None else to_torch(mask_arr).bool().to(Xt.device)
    if M is not None:
        Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=Xt.device))
    U, V = _initial_factors(Xt, M, rank, init, rng)
    XT = Xt.T.contiguous()
    Mf = float_mask(M, Xt.dtype)  # converted once per fit, not in every iteration
    MfT = None if M is None else Mf.T.contiguous()
    m, n = Xt.shape
    norm = float(torch.linalg.norm(Xt))
    norm_sq = max(norm**2, 1e-300)
    # how many HALS sweeps one product with X is worth (see _INNER_ALPHA)
    sweeps_u = 1 + min(_MAX_INNER, int(_INNER_ALPHA * m * n * rank / (m * rank * (rank + 1))))
    sweeps_v = 1 + min(_MAX_INNER, int(_INNER_ALPHA * m * n * rank / (n * rank * (rank + 1))))

    def update(A, G, P, sweeps):
        if solver == "hals":
            return _revive(hals_update(A, G, P, sweeps, inner_tol=_INNER_TOL))
        if solver == "anls":
            return nnls_gram(G, P, init=A)
        return _mu_block(A, G, P)

    prev = float(masked_residual_norm(Xt, U, V, Mf)) / max(norm, 1e-300)
    history, converged, it = [], False, 0
    bar = tqdm(range(1, max_iter + 1), disable=not progress, desc=f"NMF ({solver})")
    for it in bar:
        G, P = gram_and_rhs(Xt, V, Mf, zeroed=True)
        U = update(U, G, P, sweeps_u)
        G, P = gram_and_rhs(XT, U, MfT, zeroed=True)
        V = update(V, G, P, sweeps_v)
        # ||M * (X - U V^T)||^2 from the last block's (G, P): no reconstruction
        loss = np.sqrt(loss_from_normal_equations(norm_sq, G, P, V) / norm_sq)
        revived = False
        if solver == "anls":
            # exact NNLS keeps a dead component dead (HALS' _revive handles its own)
            U, V, revived = _revive_dead(Xt, Mf, U, V)
            if revived:
                loss = float(masked_residual_norm(Xt, U, V, Mf)) / max(norm, 1e-300)
        history.append(loss)
        if progress:
            bar.set_postfix(error=f"{loss:.4g}")
        if tol > 0 and not revived and prev - loss <= tol * prev:
            converged = True
            break
        prev = loss
    U, V = _normalise(U, V)
    # computed in float64; returned in the input's floating dtype (float32 stays float32)
    dtype = result_dtype(X_arr)
    U, V = (cast_like_input_dtype(like_input(A, X), dtype) for A in (U, V))
    return MatrixFit(U, V, np.asarray(history), it, converged)


class NMF(MatrixFactorization):
    """Nonnegative matrix factorization ``X ≈ U_ @ V_.T`` with ``U_, V_ >= 0``.

    Parameters
    ----------
    rank : int
        Number of components.
    solver : {"hals", "anls", "mu"}, default "hals"
    init : {"random", "nndsvd", "nndsvda"} or (U0, V0), default "random"
    max_iter : int, default 500
    tol : float, default 1e-6
        Stop when the relative error decreases by less than this fraction in one iteration.
    random_state : int, numpy Generator or None
    progress : bool, default False

    Attributes
    ----------
    U_ : array of shape (n_samples, rank)
        Nonnegative loadings of each sample (components sorted by size).
    V_ : array of shape (n_features, rank)
        Nonnegative parts, unit-norm columns.
    loss_history_ : ndarray
        Relative error at the start and after each of the ``n_iter_`` sweeps (see :func:`nmf`).
    n_iter_ : int
        Sweeps run.
    converged_ : bool
        Whether the tolerance was reached before ``max_iter``.

    Notes
    -----
    ``transform`` solves a nonnegative least-squares problem per new row against the fixed
    ``V_`` (block principal pivoting).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 3)) @ rng.random((3, 30))
    >>> model = NMF(rank=3, random_state=0).fit(X)
    >>> bool(np.allclose(model.transform(X), model.U_, atol=1e-2 * np.abs(model.U_).max()))
    True
    """

    _scale_carrier = "U"   # quadratic loss, no penalty: scale-equivariant

    _nonnegative = True
    _positive_only = True

    def __init__(self, rank=2, solver="hals", init="random", max_iter=500, tol=1e-6,
                 random_state=None, progress=False):
        self.rank = rank
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.progress = progress

    def _fit(self, X, mask):
        return nmf(X, self.rank, solver=self.solver, init=self.init, mask=mask,
                   max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                   progress=self.progress)
