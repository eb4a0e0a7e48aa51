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
majoriser for MU), so the loss history never increases. HALS also extrapolates each block
along the direction its iterates move (Ang & Gillis 2019), keeping a step only where it lowers
the error, so the history still never increases (:class:`_Extrapolation`).

Defaults (since 2026-12, issue 13): a random start and a stop once the relative error falls by
less than ``tol = 3e-5`` in an iteration (was 1e-6), at most three HALS sweeps per product,
extrapolation on, chosen so that a default fit ends at an error no worse than scikit-learn's
defaults, measured in ``benchmarks/nmf_defaults.py`` against scikit-learn. ``X`` may be a
scipy.sparse matrix: the solvers use it only through products, so it is never densified. On
the CPU the products with a dense ``X`` go through NumPy's BLAS (:func:`blas_matmul`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import (
    blas_matmul,
    dead_components,
    float_mask,
    hals_update,
    hals_update_numpy,
    nnls_gram,
    randomized_svd,
    revive_component,
    sparse_pattern,
    weighted_gram,
)
from .._validate import (
    check_array,
    check_int,
    check_mask,
    check_nonnegative_number,
    check_option,
    check_rank,
    check_sparse,
    check_sparse_mask,
)
from ..base import cast_like_input_dtype, result_dtype
from ._base import MatrixFactorization, MatrixFit
from .masked import loss_from_normal_equations, masked_residual_norm

__all__ = ["nmf", "NMF"]

SOLVERS = ("hals", "anls", "mu")
INITS = ("random", "nndsvd", "nndsvda")

# Accelerated HALS: repeat the column sweep while it still improves by at least this fraction
# of the first sweep's change, at most 1 + _INNER_ALPHA * (cost of the products / cost of a
# sweep) times (alpha = 0.5 and fraction 0.01, as in Gillis & Glineur 2012), and at most
# 1 + _MAX_INNER times: a sweep is a memory-bound matrix-vector loop, and on 1500 x 600 to
# 4000 x 1000 data three sweeps per product reached scikit-learn's error within 1-5
# iterations of what 21 sweeps did, at half the time per iteration (benchmarks/nmf_defaults.py).
_INNER_ALPHA = 0.5
_INNER_TOL = 0.01
_MAX_INNER = 2
_MAX_INNER_MU = 20
# The cost of one column update in a sweep beyond its m * r multiply-adds, in multiply-adds of
# a product with X. Counting the call overhead (~20_000: a NumPy dot + subtract + clip, ~1-2 us,
# against ~0.1 ns per multiply-add of a large product) gave small fits fewer sweeps and made
# them faster per iteration, but worse per start: on the songbird HVC data (666 x 75, rank 10)
# six seeds ended at a mean error of 0.7371 against 0.7353 without it. So it is 0.
_CALL_COST = 0
# Extrapolation (see _Extrapolation): start, growth per kept iteration, growth of its cap, and
# the division on a refused one.
_BETA_START, _BETA_GROW, _CAP_GROW, _BETA_SHRINK = 0.5, 1.01, 1.005, 1.5


class _Data:
    """``X`` for the solvers: a dense float64 tensor or a scipy.sparse CSR matrix.

    The solvers touch ``X`` only through ``X @ B``, ``X.T @ B``, ``||X||_F^2`` and its sum, so
    sparse data are never densified (the products are scipy's sparse-times-dense kernels;
    ``X.T`` of a CSR matrix is a CSC view, no copy).
    """

    def __init__(self, X):
        self.sparse = scipy.sparse.issparse(X)
        if self.sparse:
            self.X = X
            self.shape = X.shape
            self.device = torch.device("cpu")
            self.norm_sq = float(np.dot(X.data, X.data))
            self.total = float(X.data.sum())
            self.size = int(X.nnz)
        else:
            self.X = X
            self.XT = X.T.contiguous()
            self.shape = tuple(X.shape)
            self.device = X.device
            self.norm_sq = float(torch.linalg.norm(X)) ** 2
            self.total = float(X.sum())
            self.size = X.numel()

    # Dense products are formed transposed, ``X @ B = (B^T X^T)^T``: with the thin factor on
    # the left, OpenBLAS took 30 % less time on 1500 x 600 to 8000 x 2000 data (rank 12-20;
    # 29 % more, 0.01 ms, on 500 x 200; benchmarks/nmf_defaults.py, "Products"), and the HALS
    # sweep wants the transposed result anyway (its rows are the columns of P).
    def matmul(self, B):
        """``X @ B``."""
        if self.sparse:
            return torch.from_numpy(np.ascontiguousarray(self.X @ B.numpy()))
        return blas_matmul(B.T, self.XT).T

    def rmatmul(self, B):
        """``X.T @ B``."""
        if self.sparse:
            return torch.from_numpy(np.ascontiguousarray(self.X.T @ B.numpy()))
        return blas_matmul(B.T, self.X).T

    def stored_residual(self, U, V) -> np.ndarray:
        """``X - U V^T`` on the stored entries of a sparse ``X``, in its CSR order (computed
        in chunks of 200,000 entries, so no dense or nnz x r array is built)."""
        coo = self.X.tocoo()
        Un, Vn = U.numpy(), V.numpy()
        out = np.empty(coo.nnz)
        for start in range(0, coo.nnz, 200_000):
            part = slice(start, start + 200_000)
            out[part] = coo.data[part] - np.einsum("ij,ij->i", Un[coo.row[part]],
                                                   Vn[coo.col[part]])
        return out

    def residual_norm(self, U, V) -> float:
        """``||X - U V^T||_F`` without forming ``U V^T`` when ``X`` is sparse."""
        if not self.sparse:
            return float(torch.linalg.norm(self.X - U @ V.T))
        quad = float(((U.T @ U) * (V.T @ V)).sum())
        cross = float((self.matmul(V) * U).sum())
        return float(np.sqrt(max(self.norm_sq - 2 * cross + quad, 0.0)))


def _mu_block(A: torch.Tensor, G: torch.Tensor, P: torch.Tensor, sweeps: int = 1,
              inner_tol: float = 0.0) -> torch.Tensor:
    """Multiplicative updates ``A <- A * P / (A G)``, repeated on the same ``(G, P)``.

    Each repeat costs ``m r^2`` against ``m n r`` for the products with ``X`` that made
    ``(G, P)``, so repeating while it still changes ``A`` by at least ``inner_tol`` of the
    first repeat's change is the accelerated MU of Gillis & Glineur (2012): same fixed
    points, lower error per product with ``X``. Each repeat is a majorise-minimise step, so the
    loss never increases. Zeros stay zeros (start positive).
    """
    P = P.clamp_min(0)
    first = None
    for _ in range(sweeps):
        AG = torch.einsum("ikl,il->ik", G, A) if G.ndim == 3 else A @ G
        new = A * P / AG.clamp_min(1e-300)
        if sweeps > 1:
            change = float(torch.linalg.norm(new - A))
            A = new
            if first is None:
                first = change
            elif change <= inner_tol * first:
                break
        else:
            A = new
    return A


class _Extrapolation:
    """Extrapolated block iterates for HALS, with a safeguard that keeps the descent.

    After a block update ``A_new`` the next iterate is ``[A_new + beta (A_new - A_old)]_+``,
    where ``A_old`` is the previous block update: a step along the direction the iterates
    are moving, which shortens the slow tail of alternating updates (heuristic extrapolation
    with restarts, Ang & Gillis 2019). ``beta`` grows by 1 % after each iteration whose
    extrapolations were all kept, up to a cap that itself grows by 0.5 % to 1; when one is
    refused, ``beta`` is divided by 1.5 and the cap falls to the refused value. Unlike the
    paper's restart, which compares the error across iterations and so lets it rise, here an
    extrapolated block is kept only when its error is no higher than at the start of that
    block update (checked on the block's own normal equations, ``r^2`` work per row), else the
    plain update is: the error never increases. On the data of ``benchmarks/nmf_defaults.py``
    it saved 6-42 % of the iterations at the default stop, and fewer real-data fits stopped
    short of convergence (PBMC: 5 of 70 against 18 of 70; songbird HVC: 3 against 9).
    """

    def __init__(self, U: torch.Tensor, V: torch.Tensor):
        self.beta, self.cap = _BETA_START, 1.0
        self.previous = {"U": U, "V": V}

    def propose(self, side: str, new: torch.Tensor) -> torch.Tensor:
        """The extrapolated point of the block ``side`` ("U" or "V") after its update ``new``."""
        old, self.previous[side] = self.previous[side], new
        return (new + self.beta * (new - old)).clamp_min(0)

    def end_iteration(self, kept: bool) -> None:
        """Grow ``beta`` after an iteration whose extrapolations were kept, else shrink it."""
        if kept:
            self.beta = min(self.cap, _BETA_GROW * self.beta)
            self.cap = min(1.0, _CAP_GROW * self.cap)
        else:
            self.cap, self.beta = self.beta, self.beta / _BETA_SHRINK


def _nndsvd(data: _Data, rank: int, fill_zeros: bool, rng):
    """Nonnegative double SVD start (Boutsidis & Gallopoulos 2008) from a randomized SVD.

    The leading ``rank`` singular triplets come from :func:`randomized_svd` (products with
    ``X`` only, as in scikit-learn), so the start costs a few products, not a full SVD, and
    works on sparse data.
    """
    u, s, vt = randomized_svd(data.matmul, data.rmatmul, data.shape, rank, rng)
    u, s, vt = u.to(data.device), s.to(data.device), vt.to(data.device)
    m, n = data.shape
    U = torch.zeros((m, rank), dtype=torch.float64, device=data.device)
    V = torch.zeros((n, rank), dtype=torch.float64, device=data.device)
    U[:, 0] = torch.sqrt(s[0]) * u[:, 0].abs()
    V[:, 0] = torch.sqrt(s[0]) * vt[0].abs()
    for k in range(1, rank):
        x, y = u[:, k], vt[k]
        xp, xn, yp, yn = x.clamp_min(0), (-x).clamp_min(0), y.clamp_min(0), (-y).clamp_min(0)
        norm = torch.linalg.norm
        np_, nn_ = norm(xp) * norm(yp), norm(xn) * norm(yn)
        # keep the sign pattern carrying more energy; its rank-1 part is nonnegative
        a, b, energy = (xp, yp, np_) if np_ >= nn_ else (xn, yn, nn_)
        if energy > 0:
            scale = torch.sqrt(s[k] * energy)
            U[:, k] = scale * a / torch.linalg.norm(a)
            V[:, k] = scale * b / torch.linalg.norm(b)
    if fill_zeros:
        avg = data.total / (m * n)
        U[U == 0], V[V == 0] = avg, avg
    return U, V


def _initial_factors(data, n_observed, rank, init, rng):
    m, n = data.shape
    if isinstance(init, (tuple, list)):
        if len(init) != 2:
            raise ValueError("init must be 'random', 'nndsvd', 'nndsvda' or a pair (U0, V0).")
        U0 = check_array(init[0], "init[0] (U0)", nonnegative=True)
        V0 = check_array(init[1], "init[1] (V0)", nonnegative=True)
        if tuple(U0.shape) != (m, rank) or tuple(V0.shape) != (n, rank):
            raise ValueError(f"init=(U0, V0) must have shapes {(m, rank)} and {(n, rank)}, got "
                             f"{tuple(U0.shape)} and {tuple(V0.shape)}.")
        return (to_torch(U0, device=data.device, dtype=torch.float64).clone(),
                to_torch(V0, device=data.device, dtype=torch.float64).clone())
    check_option(init, "init", INITS)
    if init == "random":
        mean = data.total / max(n_observed, 1)
        avg = np.sqrt(max(mean, 1e-12) / rank)
        U = avg * rng.random((m, rank))
        V = avg * rng.random((n, rank))
        return torch.from_numpy(U).to(data.device), torch.from_numpy(V).to(data.device)
    return _nndsvd(data, rank, fill_zeros=(init == "nndsvda"), rng=rng)


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


def _sparse_revive(data: _Data, U, V, pattern=None, rounds: int = 25):
    """:func:`revive_component` for sparse ``X`` (two modes, both nonnegative).

    Without ``pattern`` the residual ``R = X - U V^T`` is implicit (``R v = X v - U (V^T v)``);
    its largest entry lies on a stored entry of ``X`` (``U V^T >= 0`` and ``X`` is zero
    elsewhere), and the start is the pair of fibres through it. With ``pattern`` (the 0/1
    sparse matrix of the observed, i.e. stored, entries) only those entries count: ``R`` is
    sparse with ``X``'s pattern, and each rank-one update divides by the observed weights,
    ``u_i = (R v)_i / sum_j P_ij v_j^2``. Same iterations as the dense function.
    """
    res = data.stored_residual(U, V)
    if res.size == 0 or float(res.max()) <= 0:
        return None
    k = int(np.argmax(res))
    coo = data.X.tocoo()
    i, j = int(coo.row[k]), int(coo.col[k])
    if pattern is None:
        before = data.residual_norm(U, V) ** 2

        def R_times(v):      # R v
            return data.matmul(v[:, None])[:, 0] - U @ (V.T @ v)

        def RT_times(u):     # R^T u
            return data.rmatmul(u[:, None])[:, 0] - V @ (U.T @ u)

        def weights_u(v):    # sum_j v_j^2 for every row
            return float(v @ v) * torch.ones(data.shape[0], dtype=torch.float64)

        def weights_v(u):
            return float(u @ u) * torch.ones(data.shape[1], dtype=torch.float64)
    else:
        R = data.X.copy()
        R.data = res
        before = float(res @ res)

        def product(A, b):
            return torch.from_numpy(np.asarray(A @ b.numpy()))

        def R_times(v):
            return product(R, v)

        def RT_times(u):
            return product(R.T, u)

        def weights_u(v):
            return product(pattern, v * v)

        def weights_v(u):
            return product(pattern.T, u * u)
    if before <= 0:
        return None
    e_i = torch.zeros(data.shape[0], dtype=torch.float64)
    e_i[i] = 1
    e_j = torch.zeros(data.shape[1], dtype=torch.float64)
    e_j[j] = 1
    u, v = R_times(e_j).abs(), RT_times(e_i).abs()
    for _ in range(rounds):
        w = weights_u(v)
        u = torch.where(w > 0, R_times(v).clamp_min(0) / w.clamp_min(1e-300), 0.0)
        w = weights_v(u)
        v = torch.where(w > 0, RT_times(u).clamp_min(0) / w.clamp_min(1e-300), 0.0)
    after = before - 2 * float(u @ R_times(v)) + float(u * u @ weights_u(v))
    if not after < before * (1 - 1e-12):
        return None
    return u, v


def _revive_dead(data, weights, U, V):
    """Re-seed every dead component (all-zero column of U or V) with the best nonnegative
    rank-one fit to the residual, where that lowers the loss (:func:`revive_component`).
    Returns the factors and whether anything changed."""
    dead = dead_components([U, V])
    if not bool(dead.any()):
        return U, V, False
    U, V, changed = U.clone(), V.clone(), False
    for k in torch.nonzero(dead)[:, 0].tolist():
        U[:, k], V[:, k] = 0, 0
        if data.sparse:
            term = _sparse_revive(data, U, V, pattern=weights)
        else:
            R = data.X - U @ V.T  # X is zero where unobserved
            if weights is not None:
                R = R * weights
            term = revive_component(R, [True, True], weights=weights)
        if term is not None:
            U[:, k], V[:, k] = term
            changed = True
    return U, V, changed


def _observed_residual_norm(data, weights, U, V) -> float:
    """``||M * (X - U V^T)||_F`` (all entries when ``weights`` is None)."""
    if weights is None:
        return data.residual_norm(U, V)
    if data.sparse:
        return float(np.linalg.norm(data.stored_residual(U, V)))
    return float(masked_residual_norm(data.X, U, V, weights))


def _normalise(U: torch.Tensor, V: torch.Tensor):
    """Unit-norm columns of V (scale moved into U), components sorted by the norm of U."""
    norms = torch.linalg.norm(V, dim=0)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    U, V = U * safe, V / safe
    order = torch.argsort(torch.linalg.norm(U, dim=0), descending=True, stable=True)
    return U[:, order], V[:, order]


def nmf(X, rank, solver="hals", init="random", mask=None, max_iter=500, tol=3e-5,
        random_state=None, progress=False, extrapolate=True) -> MatrixFit:
    """Nonnegative matrix factorization ``X ≈ U V^T``, ``U, V >= 0``.

    Parameters
    ----------
    X : array, tensor or scipy.sparse matrix of shape (n_samples, n_features), nonnegative
        A sparse matrix is used through products ``X @ B`` and ``X.T @ B`` only (never
        densified); the fit equals the fit of ``X.toarray()`` to rounding.
    rank : int
        Number of components.
    solver : {"hals", "anls", "mu"}
        Hierarchical ALS (default, fastest), exact alternating NNLS (block principal pivoting),
        or multiplicative updates. HALS and MU repeat their cheap block update on the same
        ``(G, P)`` while it still pays for itself against a product with ``X`` (accelerated
        HALS/MU, Gillis & Glineur 2012); HALS loops over columns in NumPy, where a call costs
        about a microsecond (see :func:`factorlab._linalg.hals_update_numpy`).
    init : {"random", "nndsvda", "nndsvd"} or (U0, V0)
        Uniform random start scaled to the data (default), nonnegative double SVD
        (Boutsidis & Gallopoulos 2008) of a randomized truncated SVD (zeros filled with the
        data mean for ``"nndsvda"``, scikit-learn's default; plain ``"nndsvd"`` zeros stay zero
        under ``"mu"``), or your own nonnegative starting factors (copied, never modified).
        The default stays random because restarts must differ: the SVD start is the same for
        every seed (only the sketch of the randomized SVD changes), so ensembles, restart
        similarities and cross-validation replicates (:mod:`factorlab.assess`) would all see
        one fit. ``"nndsvda"`` reaches scikit-learn's error in fewer iterations on some data
        (see ``benchmarks/nmf_defaults.py``); use it for a single fit.
    mask : bool array of shape X.shape, or "stored" for sparse X, optional
        True = observed; the solvers then minimise the error on observed entries only, exactly.
        With a scipy.sparse ``X``, ``mask="stored"`` makes the stored entries the observed
        ones and all others missing (ratings, or counts where an unrecorded entry is unknown
        rather than zero; explicitly stored zeros are observed zeros). It needs no dense
        copy: the per-row Gram matrices come from one sparse product of the pattern
        (``nnz r (r+1)/2`` work), and the fit equals the fit of ``X.toarray()`` with the
        pattern as a boolean mask, to rounding.
    max_iter : int
        Maximum number of outer iterations (one update of U and one of V).
    tol : float
        Stop when the relative error decreases by less than ``tol`` (relatively) in one
        iteration; 0 runs all ``max_iter`` iterations. The default 3e-5 (until 2026-12: 1e-6,
        which ran 3-10x longer than users stop, for a 0.1-3 % lower error) ends at or below
        the error of scikit-learn's defaults (``cd``, ``tol=1e-4``, ``max_iter=200``) on the
        data of ``benchmarks/nmf_defaults.py``, within 1e-4 on Poisson counts, where the error
        flattens early. A projected-gradient test like scikit-learn's was tried and rejected:
        measured against its first value it depends on the start (from a random start it never
        fell below 1e-5 in 300 iterations on data whose error had settled). Lower ``tol`` to
        polish a fit, and to compare restarts (``Ensemble``, ``similarity``): at 3e-5 with
        plain HALS (``extrapolate=False``) one of five rank-2 restarts on the songbird HVC
        data stopped on a plateau (error 0.9071 against 0.9021, similarity 0.54 to the best;
        chapter 4 prints it). The extrapolated default passed that plateau, but no stop on a
        small decrease can promise to; at 1e-6 all five agree either way.
    random_state : int, numpy Generator, RandomState or None
        Seed of the random start.
    progress : bool
        Show a tqdm progress bar.
    extrapolate : bool
        HALS only: step each block past its update along the direction the iterates move,
        keeping the step only where it lowers the error (Ang & Gillis 2019; see
        ``_Extrapolation`` in this module). On by default: 6-42 % fewer iterations at the
        default stop, and the error still never increases. False gives plain HALS.

    Returns
    -------
    MatrixFit
        ``U`` (samples x rank) and ``V`` (features x rank, unit-norm columns), components sorted
        by size, NumPy for NumPy input and tensors for tensor input, float32 for float32 input
        and float64 otherwise (the arithmetic is float64); ``loss_history`` is the relative
        error ``||X - U V^T||_F / ||X||_F`` after each iteration (observed entries only with a
        mask).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 3)) @ rng.random((3, 30))
    >>> fit = nmf(X, rank=3, random_state=0)
    >>> bool(fit.loss_history[-1] < 1e-3), bool((fit.U >= 0).all() and (fit.V >= 0).all())
    (True, True)
    """
    sparse = scipy.sparse.issparse(X)
    stored = check_sparse_mask(mask, X)
    if sparse:
        X_arr = check_sparse(X, "X", nonnegative=True, owner="NMF")
    else:
        X_arr = check_array(X, "X", nonnegative=True)
        if isinstance(X_arr, torch.Tensor):
            X_arr = X_arr.detach()      # data, not a parameter: never differentiated through
    rank = check_rank(rank, tuple(X_arr.shape))
    solver = check_option(solver, "solver", SOLVERS)
    mask_arr = None if sparse else check_mask(mask, tuple(X_arr.shape))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    if not isinstance(extrapolate, (bool, np.bool_)):
        raise TypeError(f"extrapolate must be True or False, got {extrapolate!r}.")
    rng = check_random_state(random_state)
    # the observation weights of each block's normal equations (None: every entry observed):
    # a 0/1 tensor for a dense mask, the 0/1 sparse pattern of X for mask="stored"
    weights = weights_t = None
    m, n = X_arr.shape
    n_observed = m * n
    if sparse:
        data = _Data(X_arr)
        if stored and X_arr.nnz < m * n:
            weights = sparse_pattern(X_arr)
            weights_t, n_observed = weights.T.tocsr(), X_arr.nnz
    else:
        Xt = to_torch(X_arr, dtype=torch.float64)
        M = None if mask_arr is None else to_torch(mask_arr).bool().to(Xt.device)
        # (a mask that hides nothing takes the faster, identical complete-data path)
        if M is not None and not bool(M.all()):
            Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=Xt.device))
            weights = float_mask(M, torch.float64)  # converted once per fit
            weights_t, n_observed = weights.T.contiguous(), float(M.sum())
        data = _Data(Xt)
    masked = weights is not None
    U, V = _initial_factors(data, n_observed, rank, init, rng)
    norm_sq = max(data.norm_sq, 1e-300)
    norm = np.sqrt(norm_sq)
    # how many inner sweeps one product with X is worth (see _INNER_ALPHA and _CALL_COST);
    # (the same count for sparse X, so that sparse and dense input give the same fit; a
    # masked fit's products are its batched Gram matrices, m n r (r + 1) / 2 work)
    work = m * n * rank if not masked else m * n * rank * (rank + 1) / 2
    fast = not masked and data.device.type == "cpu" and solver == "hals"
    # a torch HALS column costs several times a NumPy one; an MU repeat is one vectorised
    # block update (a few calls for the whole block), so it may repeat up to _MAX_INNER_MU times
    call = _CALL_COST if fast or (solver == "mu" and not masked) else 5 * _CALL_COST
    cap = _MAX_INNER_MU if solver == "mu" else _MAX_INNER

    def n_sweeps(rows):
        return 1 + min(cap, int(_INNER_ALPHA * work / (rank * (rows * rank + call))))

    sweeps_u, sweeps_v = n_sweeps(m), n_sweeps(n)

    def normal_equations(A, side):
        # (G, P) of the block that A's partner is: P = X B or X^T B (X is zero where
        # unobserved, so that is M * X times B), G = B^T B or B^T diag(M_i) B per row
        P = data.matmul(A) if side == "U" else data.rmatmul(A)
        if not masked:
            return blas_matmul(A.T, A), P
        return weighted_gram(weights if side == "U" else weights_t, A), P

    def update(A, G, P, sweeps):
        if solver == "hals":
            step = hals_update_numpy if fast else hals_update
            return _revive(step(A, G, P, sweeps, inner_tol=_INNER_TOL))
        if solver == "anls":
            return nnls_gram(G, P, init=A)
        return _mu_block(A, G, P, sweeps, inner_tol=_INNER_TOL)

    extrap = _Extrapolation(U, V) if extrapolate and solver == "hals" else None

    def block_loss(G, P, A):  # ||M * (X - B A^T)||^2 for any A, from the block's (G, P)
        return loss_from_normal_equations(norm_sq, G, P, A)

    history, converged, it, prev = [], False, 0, None
    bar = tqdm(range(1, max_iter + 1), disable=not progress, desc=f"NMF ({solver})")
    for it in bar:
        G, P = normal_equations(V, "U")
        if prev is None:  # the error of the start, from the first block's (G, P)
            prev = np.sqrt(block_loss(G, P, U) / norm_sq)
        new = update(U, G, P, sweeps_u)
        if extrap is not None:
            # keep the extrapolated U only if it is no worse than the block's start
            candidate = extrap.propose("U", new)
            accepted = block_loss(G, P, candidate) <= prev ** 2 * norm_sq
            new = candidate if accepted else new
        U = new
        G, P = normal_equations(U, "V")
        new = update(V, G, P, sweeps_v)
        # ||M * (X - U V^T)||^2 from the last block's (G, P): no reconstruction
        loss_sq = block_loss(G, P, new)
        if extrap is not None:
            candidate = extrap.propose("V", new)
            candidate_sq = block_loss(G, P, candidate)
            accepted_v = candidate_sq <= block_loss(G, P, V)
            if accepted_v:
                new, loss_sq = candidate, candidate_sq
            extrap.end_iteration(accepted and accepted_v)
        V = new
        loss = np.sqrt(loss_sq / norm_sq)
        revived = False
        if solver == "anls":
            # exact NNLS keeps a dead component dead (HALS' _revive handles its own)
            U, V, revived = _revive_dead(data, weights, U, V)
            if revived:
                loss = _observed_residual_norm(data, weights, U, V) / norm
        history.append(loss)
        if progress:
            bar.set_postfix(error=f"{loss:.4g}")
        if tol > 0 and not revived and prev - loss <= tol * prev:
            converged = True
            break
        prev = loss
    U, V = _normalise(U, V)
    # computed in float64; returned in the input's floating dtype (float32 stays float32)
    dtype = (np.float32 if X_arr.dtype == np.float32 else np.float64) if sparse else \
        result_dtype(X_arr)
    U, V = (cast_like_input_dtype(like_input(A, X), dtype) for A in (U, V))
    return MatrixFit(U, V, np.asarray(history), it, converged)


class NMF(MatrixFactorization):
    """Nonnegative matrix factorization ``X ≈ U_ @ V_.T`` with ``U_, V_ >= 0``.

    Parameters
    ----------
    rank : int
        Number of components.
    solver : {"hals", "anls", "mu"}, default "hals"
    init : {"random", "nndsvda", "nndsvd"} or (U0, V0), default "random"
        Random starts, so that seeds give different restarts; see :func:`nmf`.
    max_iter : int, default 500
    tol : float, default 3e-5
        Stop when the relative error decreases by less than this fraction in one iteration
        (see :func:`nmf`).
    random_state : int, numpy Generator or None
    progress : bool, default False
    extrapolate : bool, default True
        HALS only: extrapolated block updates that keep the descent (see :func:`nmf`).

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
    ``fit`` takes dense arrays, tensors and scipy.sparse matrices (with the latter the only
    mask is ``mask="stored"``, see :func:`nmf`). ``transform`` solves a nonnegative
    least-squares problem per new row against the fixed ``V_`` (block principal pivoting).

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
    _accepts_sparse = True

    def __init__(self, rank=2, solver="hals", init="random", max_iter=500, tol=3e-5,
                 random_state=None, progress=False, extrapolate=True):
        self.rank = rank
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.progress = progress
        self.extrapolate = extrapolate

    def _fit(self, X, mask):
        return nmf(X, self.rank, solver=self.solver, init=self.init, mask=mask,
                   max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                   progress=self.progress, extrapolate=self.extrapolate)
