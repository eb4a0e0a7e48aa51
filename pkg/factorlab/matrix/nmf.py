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

Defaults (since 2026-12, issue 13): a random start and a stop once the relative error falls by
less than ``tol = 3e-5`` in an iteration (was 1e-6), at most three HALS sweeps per product,
chosen so that a default fit ends at an error no worse than scikit-learn's defaults, measured in
``benchmarks/nmf_defaults.py`` against the old defaults and scikit-learn. ``X`` may be a scipy.sparse matrix: the solvers use it only through
products, so it is never densified.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import (
    dead_components,
    float_mask,
    gram_and_rhs,
    hals_update,
    hals_update_numpy,
    nnls_gram,
    randomized_svd,
    revive_component,
)
from .._validate import (
    check_array,
    check_int,
    check_mask,
    check_nonnegative_number,
    check_option,
    check_rank,
    check_sparse,
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

    def matmul(self, B):
        """``X @ B``."""
        if self.sparse:
            return torch.from_numpy(np.ascontiguousarray(self.X @ B.numpy()))
        return self.X @ B

    def rmatmul(self, B):
        """``X.T @ B``."""
        if self.sparse:
            return torch.from_numpy(np.ascontiguousarray(self.X.T @ B.numpy()))
        return self.XT @ B

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


def _initial_factors(data, M, rank, init, rng):
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
        mean = data.total / (m * n if M is None else float(M.sum()))
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


def _sparse_revive(data: _Data, U, V, rounds: int = 25):
    """:func:`revive_component` for sparse ``X`` (two modes, both nonnegative, no mask), on
    the implicit residual ``R = X - U V^T``: ``R v = X v - U (V^T v)``, and the start from
    the fibres through the largest entry of ``R``, which lies on a stored entry of ``X``
    (``U V^T >= 0`` and ``X`` is zero elsewhere). Same iterations as the dense function."""
    X = data.X.tocoo()
    best, idx = -np.inf, None
    Un, Vn = U.numpy(), V.numpy()
    for start in range(0, X.nnz, 200_000):   # residual on the stored entries, in chunks
        rows, cols = X.row[start:start + 200_000], X.col[start:start + 200_000]
        res = X.data[start:start + 200_000] - np.einsum("ij,ij->i", Un[rows], Vn[cols])
        k = int(np.argmax(res))
        if res[k] > best:
            best, idx = float(res[k]), (int(rows[k]), int(cols[k]))
    before = data.residual_norm(U, V) ** 2
    if idx is None or best <= 0 or before <= 0:
        return None
    i, j = idx
    e_i = torch.zeros(data.shape[0], 1, dtype=torch.float64)
    e_i[i] = 1
    e_j = torch.zeros(data.shape[1], 1, dtype=torch.float64)
    e_j[j] = 1

    def R_times(v):      # R v
        return data.matmul(v[:, None])[:, 0] - U @ (V.T @ v)

    def RT_times(u):     # R^T u
        return data.rmatmul(u[:, None])[:, 0] - V @ (U.T @ u)

    u, v = R_times(e_j[:, 0]).abs(), RT_times(e_i[:, 0]).abs()
    for _ in range(rounds):
        den = float(v @ v)
        u = R_times(v).clamp_min(0) / den if den > 0 else torch.zeros_like(u)
        den = float(u @ u)
        v = RT_times(u).clamp_min(0) / den if den > 0 else torch.zeros_like(v)
    after = before - 2 * float(u @ R_times(v)) + float(u @ u) * float(v @ v)
    if not after < before * (1 - 1e-12):
        return None
    return u, v


def _revive_dead(data, Mf, U, V):
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
            term = _sparse_revive(data, U, V)
        else:
            R = data.X - U @ V.T  # X is zero where unobserved
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


def nmf(X, rank, solver="hals", init="random", mask=None, max_iter=500, tol=3e-5,
        random_state=None, progress=False) -> MatrixFit:
    """Nonnegative matrix factorization ``X ≈ U V^T``, ``U, V >= 0``.

    Parameters
    ----------
    X : array, tensor or scipy.sparse matrix of shape (n_samples, n_features), nonnegative
        A sparse matrix is used through products ``X @ B`` and ``X.T @ B`` only (never
        densified); the fit equals the fit of ``X.toarray()`` to rounding. No ``mask`` then.
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
    mask : bool array of shape X.shape, optional
        True = observed; the solvers then minimise the error on observed entries only, exactly.
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
        polish a fit, and to compare restarts (``Ensemble``, ``similarity``): at 3e-5 one of
        five rank-2 restarts on the songbird HVC data stopped on a plateau (error 0.9071
        against 0.9021, similarity 0.54 to the best; chapter 4 prints it); at 1e-6 all five
        agree.
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
    sparse = scipy.sparse.issparse(X)
    if sparse:
        if mask is not None:
            raise ValueError("mask is not supported with sparse X: a sparse matrix already says "
                             "which entries are zero, not which are missing. Pass the dense "
                             "X.toarray() with the mask, or drop the mask.")
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
    rng = check_random_state(random_state)
    M = None
    if sparse:
        data = _Data(X_arr)
    else:
        Xt = to_torch(X_arr, dtype=torch.float64)
        M = None if mask_arr is None else to_torch(mask_arr).bool().to(Xt.device)
        if M is not None and bool(M.all()):
            M = None  # a mask that hides nothing: the (faster, identical) complete-data path
        if M is not None:
            Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=Xt.device))
        data = _Data(Xt)
    U, V = _initial_factors(data, M, rank, init, rng)
    Mf = float_mask(M, torch.float64)  # converted once per fit, not in every iteration
    MfT = None if M is None else Mf.T.contiguous()
    m, n = data.shape
    norm_sq = max(data.norm_sq, 1e-300)
    norm = np.sqrt(norm_sq)
    # how many inner sweeps one product with X is worth (see _INNER_ALPHA and _CALL_COST);
    # (the same count for sparse X, so that sparse and dense input give the same fit; a
    # masked fit's products are its batched Gram matrices, m n r (r + 1) / 2 work)
    work = m * n * rank if M is None else m * n * rank * (rank + 1) / 2
    fast = M is None and data.device.type == "cpu" and solver == "hals"
    # a torch HALS column costs several times a NumPy one; an MU repeat is one vectorised
    # block update (a few calls for the whole block), so it may repeat up to _MAX_INNER_MU times
    call = _CALL_COST if fast or (solver == "mu" and M is None) else 5 * _CALL_COST
    cap = _MAX_INNER_MU if solver == "mu" else _MAX_INNER

    def n_sweeps(rows):
        return 1 + min(cap, int(_INNER_ALPHA * work / (rank * (rows * rank + call))))

    sweeps_u, sweeps_v = n_sweeps(m), n_sweeps(n)

    def normal_equations(A, side):
        # (G, P) of the block that A's partner is: P = X B or X^T B
        if M is None:
            return A.T @ A, data.matmul(A) if side == "U" else data.rmatmul(A)
        if side == "U":
            return gram_and_rhs(data.X, A, Mf, zeroed=True)
        return gram_and_rhs(data.XT, A, MfT, zeroed=True)

    def update(A, G, P, sweeps):
        if solver == "hals":
            step = hals_update_numpy if fast else hals_update
            return _revive(step(A, G, P, sweeps, inner_tol=_INNER_TOL))
        if solver == "anls":
            return nnls_gram(G, P, init=A)
        return _mu_block(A, G, P, sweeps, inner_tol=_INNER_TOL)

    if M is None:
        prev = data.residual_norm(U, V) / norm
    else:
        prev = float(masked_residual_norm(data.X, U, V, Mf)) / norm
    history, converged, it = [], False, 0
    bar = tqdm(range(1, max_iter + 1), disable=not progress, desc=f"NMF ({solver})")
    for it in bar:
        G, P = normal_equations(V, "U")
        U = update(U, G, P, sweeps_u)
        G, P = normal_equations(U, "V")
        V = update(V, G, P, sweeps_v)
        # ||M * (X - U V^T)||^2 from the last block's (G, P): no reconstruction
        loss = np.sqrt(loss_from_normal_equations(norm_sq, G, P, V) / norm_sq)
        revived = False
        if solver == "anls":
            # exact NNLS keeps a dead component dead (HALS' _revive handles its own)
            U, V, revived = _revive_dead(data, Mf, U, V)
            if revived:
                loss = (data.residual_norm(U, V) if M is None else
                        float(masked_residual_norm(data.X, U, V, Mf))) / norm
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
    ``fit`` takes dense arrays, tensors and scipy.sparse matrices (no mask with the latter;
    see :func:`nmf`). ``transform`` solves a nonnegative least-squares problem per new row against the fixed
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
    _accepts_sparse = True

    def __init__(self, rank=2, solver="hals", init="random", max_iter=500, tol=3e-5,
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
