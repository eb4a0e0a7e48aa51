"""A differentiable lasso: LARS for the solution, a closed form on the active set for gradients.

Convention (the same as scikit-learn's ``Lasso`` and ``lars_path``)::

    minimise over b   (1 / (2 n)) * ||y - X b||^2 + alpha * ||b||_1

with ``n`` the number of rows of ``X`` and no intercept (centre ``X`` and ``y`` first if you need
one). ``alpha_max = max_j |X[:, j] . y| / n`` is the smallest ``alpha`` whose solution is zero.

How it works. The forward solve is LARS with the lasso modification (Efron et al. 2004) run in
float64 NumPy on the Gram matrix ``G = X^T X / n`` and ``c = X^T y / n``: it follows the
piecewise-linear solution path from ``alpha_max`` down to the requested ``alpha`` and returns, for
every linear piece, the active set ``A`` and the signs ``s`` of the coefficients there. As in
scikit-learn's ``lars_path``, the Cholesky factor of ``G_AA`` is updated as variables join (one
new row) and leave (Givens rotations) rather than refactored; on 200 x 100 to 1000 x 300 designs
the whole path takes 0.6-1.1x the time of ``lars_path(method="lasso")`` (1.3x on 300 x 600),
with the same knots (``benchmarks/kmeans_lars.py``). On one piece the lasso's optimality
conditions read ``G_AA b_A = c_A - alpha s_A``, so

    b_A = G_AA^{-1} (X_A^T y / n - alpha s_A),   b = 0 off A.

That formula is evaluated in torch, so autograd differentiates the solution with respect to the
design, the target and ``alpha`` (``d b_A / d alpha = -G_AA^{-1} s_A``). It is exact wherever the
active set does not change (everywhere but at the path's kinks), and identical to implicit
differentiation of the optimality conditions on the support.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from scipy.linalg.lapack import dpotrs as _potrs

from .._backend import like_input, to_torch
from .._validate import check_array, check_int, check_nonnegative_number

__all__ = ["lasso", "lasso_path", "lars_segments", "lasso_on_gram", "lasso_objective"]

# Denominators below this are treated as "this variable can never join": it is (numerically) a
# linear combination of the active ones, e.g. a duplicated or perfectly collinear lag.
_DEGENERATE = 1e-10


def lars_segments(gram, corr, alpha_min=0.0, max_steps=None):
    """Follow the lasso path by LARS on the Gram matrix; return the knots and the active sets.

    Parameters
    ----------
    gram : ndarray of shape (n_features, n_features)
        ``X^T X / n`` (float64).
    corr : ndarray of shape (n_features,)
        ``X^T y / n``.
    alpha_min : float
        Where to stop the path.
    max_steps : int, optional
        Cap on LARS steps (default ``8 * n_features``, ample: each step adds or drops one variable).

    Returns
    -------
    knots : ndarray of shape (n_segments + 1,)
        Decreasing ``alpha`` values; ``knots[0] = alpha_max`` and the last one is ``alpha_min``
        (or larger, when the path ended early because ``alpha_max <= alpha_min``).
    segments : list of (ndarray of int, ndarray of float)
        For the piece between ``knots[i]`` and ``knots[i + 1]``: the active indices and their signs.

    Examples
    --------
    >>> import numpy as np
    >>> knots, segs = lars_segments(np.eye(2), np.array([0.5, -0.2]))
    >>> np.round(knots, 3).tolist(), [a.tolist() for a, s in segs]
    ([0.5, 0.2, 0.0], [[0], [0, 1]])
    """
    knots, segments, _ = _lars(gram, corr, alpha_min, max_steps)
    return knots, segments


def _lars(gram, corr, alpha_min=0.0, max_steps=None):
    """LARS with the lasso modification on the Gram matrix, with the Cholesky factor ``R``
    (upper, ``R^T R = G[A, A]``) of the active block and ``Z = R^-T G[A, :]`` updated in place
    (a new row to add a variable, Givens rotations to drop one) instead of fresh solves at every
    step; the Schur complements ``G_jj - |Z[:, j]|^2`` that keep collinear variables out follow
    from ``Z``. Returns the knots, the active sets with their signs, and the coefficients at
    every knot (one column per knot)."""
    gram = np.ascontiguousarray(gram, dtype=np.float64)
    corr = np.array(corr, dtype=np.float64)  # a copy: updated in place below
    p = corr.shape[0]
    max_steps = 8 * p if max_steps is None else max_steps
    beta = np.zeros(p)
    C = float(np.abs(corr).max()) if p else 0.0
    knots, segments, coefs = [C], [], [beta.copy()]
    if C <= alpha_min:
        return np.array(knots), segments, np.array(coefs).T
    diag = np.diag(gram).copy()
    floor = _DEGENERATE * np.maximum(diag, np.finfo(float).tiny)
    RZ = np.zeros((p, 2 * p))  # R in RZ[:s, :s], Z in RZ[:s, p:]; rotated together
    R, Z = RZ[:, :p], RZ[:, p:]
    schur = diag.copy()       # G_jj - G_jA G_AA^-1 G_Aj = diag - column sums of Z[:s]^2
    active, in_active = [], np.zeros(p, dtype=bool)
    banned = -1  # a variable just dropped may not rejoin at the same point
    who = int(np.argmax(np.abs(corr)))
    for _ in range(max_steps):
        if who >= 0:   # the variable that joined at the last knot (or the first one)
            s = len(active)
            col, d = Z[:s, who].copy(), np.sqrt(max(schur[who], 0.0))
            R[:s, s], R[s, s] = col, d
            Z[s] = (gram[who] - col @ Z[:s]) / d
            schur -= Z[s] ** 2
            active.append(who)
            in_active[who] = True
        s = len(active)
        A = np.array(active)
        signs = np.sign(corr[A])
        signs[signs == 0] = 1.0
        w = _potrs(R[:s, :s], signs, lower=False)[0]
        a = w @ gram[A]  # rate at which every correlation falls along the direction
        gamma, event, who = C - alpha_min, "stop", -1
        # A variable in the span of the active ones (a duplicated or collinear lag) would make
        # the active block singular: its Schur complement is ~0, so it never joins.
        free = ~in_active & (schur > floor)
        # Step at which each free variable's correlation reaches the shrinking maximum C - g,
        # with either sign; ties (numerator ~ 0) join at once. A variable just dropped sits at
        # the boundary it left: it may rejoin later in this step, but not at once (that would
        # undo the drop); banning it for the whole step loses a rejoin before alpha_min.
        steps = np.full(p, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for num, den in ((C - corr, 1.0 - a), (C + corr, 1.0 + a)):
                ok = free & (den > _DEGENERATE)
                if banned >= 0 and num[banned] <= _DEGENERATE * C:
                    ok[banned] = False
                steps[ok] = np.fmin(steps[ok], np.maximum(num[ok] / den[ok], 0.0))
            cross = -beta[A] / w
        j = int(np.argmin(steps))
        if steps[j] < gamma:
            gamma, event, who = float(steps[j]), "join", j
        cross[~((beta[A] != 0) & np.isfinite(cross) & (cross > 0))] = np.inf
        k = int(np.argmin(cross))
        if cross[k] < gamma:
            gamma, event, who = float(cross[k]), "drop", -1
        beta[A] += gamma * w
        corr -= gamma * a
        C -= gamma
        segments.append((A, signs))
        knots.append(max(C, alpha_min))
        if event == "drop":
            beta[A[k]] = 0.0
        coefs.append(beta.copy())
        if event == "stop":
            break
        banned = -1
        if event == "drop":
            banned = int(A[k])
            active.pop(k)
            in_active[banned] = False
            _chol_delete(RZ, s, k, p)
            schur += Z[s - 1] ** 2
            RZ[s - 1] = 0.0
            if not active:  # cannot happen in exact arithmetic (b = 0 only at alpha_max)
                break
    return np.array(knots), segments, np.array(coefs).T


def _chol_delete(RZ, s, k, p):
    """Remove variable ``k`` from an upper Cholesky factor ``R = RZ[:s, :p]`` (``R^T R = G``),
    in place: delete column ``k`` and restore the triangle by Givens rotations of neighbouring
    rows, which also act on the rest of each row (``RZ[:, p:]``, rows ``R^-T B`` for some
    ``B``). Afterwards ``RZ[:s-1, :p]`` is the factor of ``G`` without row and column ``k``,
    ``RZ[:s-1, p:]`` is the new ``R^-T B`` without row ``k`` of ``B``, and row ``s-1`` holds
    what left the span (its first ``p`` entries are zero)."""
    RZ[:s, k:s - 1] = RZ[:s, k + 1:s]
    RZ[:s, s - 1] = 0.0
    for i in range(k, s - 1):
        x, y = RZ[i, i], RZ[i + 1, i]
        r = math.hypot(x, y)
        RZ[i:i + 2] = np.array([[x / r, y / r], [-y / r, x / r]]) @ RZ[i:i + 2]
        RZ[i + 1, i] = 0.0


def _closed_form(gram, corr, alpha, active, signs):
    """``b_A = G_AA^{-1}(c_A - alpha s_A)`` in torch (differentiable), scattered into ``b``."""
    beta = torch.zeros(corr.shape[0], dtype=corr.dtype, device=corr.device)
    if len(active) == 0:
        return beta + 0 * alpha  # keeps alpha in the graph
    idx = torch.as_tensor(active, device=corr.device)
    s = torch.as_tensor(signs, dtype=corr.dtype, device=corr.device)
    G_AA = gram[idx][:, idx]
    b_A = torch.linalg.solve(G_AA, corr[idx] - alpha * s)
    return beta.index_put((idx,), b_A)


def _segment_of(knots, alpha):
    """Index of the path piece containing ``alpha`` (None above alpha_max)."""
    if alpha >= knots[0]:
        return None
    i = int(np.searchsorted(-knots, -alpha, side="left")) - 1
    return min(max(i, 0), len(knots) - 2)


def _active_at(knots, segments, alpha):
    """Active indices and signs of the path piece containing ``alpha`` (empty above
    alpha_max)."""
    seg = _segment_of(knots, alpha)
    return segments[seg] if seg is not None else (np.zeros(0, int), np.zeros(0))


def lasso_on_gram(gram, corr, alpha, max_steps=None):
    """The lasso for every column of ``corr`` with one shared Gram matrix (the one loop of LARS
    solves in the package: :func:`lasso` and the sparse VAR both call it).

    For each column ``k``, LARS (:func:`lars_segments`, float64 NumPy) finds the active set
    at ``alpha`` and the closed form on it (:func:`_closed_form`, torch) gives the solution,
    so autograd differentiates it with respect to ``gram``, ``corr`` and ``alpha``.

    Parameters
    ----------
    gram : tensor of shape (p, p)
        ``X^T X / n``.
    corr : tensor of shape (p, k)
        ``X^T Y / n``, one column per target.
    alpha : float or 0-d tensor
    max_steps : int, optional

    Returns
    -------
    coef : tensor of shape (p, k)
    active : list of (ndarray of int, ndarray of float)
        Per target, the active indices and their signs.

    Examples
    --------
    >>> import torch
    >>> coef, active = lasso_on_gram(torch.eye(2, dtype=torch.float64),
    ...                              torch.tensor([[0.5], [-0.2]], dtype=torch.float64), 0.1)
    >>> coef[:, 0].tolist(), active[0][0].tolist()
    ([0.4, -0.1], [0, 1])
    """
    g_np, c_np = gram.detach().cpu().numpy(), corr.detach().cpu().numpy()
    if isinstance(alpha, torch.Tensor):
        a_val, alpha_t = float(alpha.detach()), alpha.reshape(()).to(gram)
    else:
        a_val = alpha_t = alpha
    if a_val == 0 and not isinstance(alpha, torch.Tensor) and max_steps is None:
        # Least squares: with a well-conditioned Gram matrix every variable is active at
        # alpha = 0, so one solve for all targets replaces d LARS paths (the same solution).
        if np.linalg.cond(g_np) < 1e8:
            coef = torch.linalg.solve(gram, corr)
            everyone = np.arange(g_np.shape[0])
            return coef, [(everyone, np.sign(c)) for c in coef.detach().cpu().numpy().T]
    cols, actives = [], []
    for k in range(c_np.shape[1]):
        knots, segments = lars_segments(g_np, c_np[:, k], a_val, max_steps)
        act = _active_at(knots, segments, a_val)
        actives.append(act)
        cols.append(_closed_form(gram, corr[:, k], alpha_t, *act))
    return torch.stack(cols, dim=1), actives


def _check_alpha(alpha):
    if isinstance(alpha, torch.Tensor):
        if alpha.numel() != 1:
            raise ValueError(f"alpha must be a scalar, got a tensor of shape {tuple(alpha.shape)}.")
        check_nonnegative_number(float(alpha.detach()), "alpha")
        return alpha.reshape(())
    return check_nonnegative_number(alpha, "alpha")


def _prepare(X, y):
    X = check_array(X, "X", ndim=2)
    y = check_array(y, "y", ndim=(1, 2))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got X with {X.shape[0]} "
                         f"and y with {y.shape[0]}.")
    Xt, yt = to_torch(X, dtype=torch.float64), to_torch(y, dtype=torch.float64)
    if isinstance(X, torch.Tensor) or isinstance(y, torch.Tensor):
        dev = X.device if isinstance(X, torch.Tensor) else y.device
        Xt, yt = Xt.to(dev), yt.to(dev)
    return Xt, yt


def _gram_and_corr(Xt, yt):
    n = Xt.shape[0]
    return Xt.T @ Xt / n, Xt.T @ yt / n


def lasso(X, y, alpha, max_steps=None, return_active=False):
    """Lasso solution at one ``alpha`` (LARS forward, differentiable closed form).

    Solves ``min_b (1/(2n)) ||y - X b||^2 + alpha ||b||_1`` (scikit-learn's scaling, no intercept)
    for every column of ``y`` with a shared design.

    Parameters
    ----------
    X : array or tensor of shape (n_samples, n_features)
    y : array or tensor of shape (n_samples,) or (n_samples, n_targets)
    alpha : float or 0-d tensor
        Penalty weight, ``>= 0``. A tensor with ``requires_grad`` receives gradients.
    max_steps : int, optional
        Cap on LARS steps per target.
    return_active : bool
        Also return, per target, the active indices and signs used in the closed form.

    Returns
    -------
    coef : array or tensor of shape (n_features,) or (n_features, n_targets)
        NumPy in gives NumPy out (float64); a tensor in gives a float64 tensor that autograd can
        differentiate with respect to ``X``, ``y`` and ``alpha``.
    active : list of (ndarray, ndarray), only when ``return_active``

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> y = np.array([1.0, 0.2, 1.2])
    >>> np.round(lasso(X, y, alpha=0.1), 4).tolist()
    [0.9, 0.1]
    """
    alpha = _check_alpha(alpha)
    max_steps = _check_max_steps(max_steps)
    Xt, yt = _prepare(X, y)
    gram, corr = _gram_and_corr(Xt, yt)
    coef, actives = lasso_on_gram(gram, corr.reshape(corr.shape[0], -1), alpha, max_steps)
    coef = coef.reshape(corr.shape)
    ref = X if isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) else y
    coef = like_input(coef, ref)
    return (coef, actives) if return_active else coef


def lasso_path(X, y, alphas=None, alpha_min=0.0, max_steps=None):
    """The lasso solution path, at its knots or on a grid of ``alpha`` values.

    Parameters
    ----------
    X : array or tensor of shape (n_samples, n_features)
    y : array or tensor of shape (n_samples,)
    alphas : sequence of float, optional
        Where to evaluate the path. Default: the knots found by LARS (the points where a
        variable joins or leaves the active set), from ``alpha_max`` down to ``alpha_min``;
        between knots the path is linear in ``alpha``.
    alpha_min : float
        End of the path when ``alphas`` is not given.
    max_steps : int, optional
        Cap on LARS steps.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        Decreasing, the same convention as scikit-learn's ``lars_path`` (whose ``alphas`` are
        also divided by ``n_samples``).
    coefs : array or tensor of shape (n_features, n_alphas)
        Differentiable with respect to ``X`` and ``y`` at fixed ``alphas`` (tensor input).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> alphas, coefs = lasso_path(X, np.array([1.0, 0.2, 1.2]))
    >>> np.round(alphas, 4).tolist()
    [0.7333, 0.2, 0.0]
    >>> np.round(coefs[:, -1], 4).tolist()
    [1.0, 0.2]
    """
    Xt, yt = _prepare(X, y)
    if yt.ndim != 1:
        raise ValueError(f"y must be 1-D for lasso_path, got shape {tuple(yt.shape)}; call it "
                         "once per column.")
    alpha_min = check_nonnegative_number(alpha_min, "alpha_min")
    max_steps = _check_max_steps(max_steps)
    gram, corr = _gram_and_corr(Xt, yt)
    ref = X if isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) else y
    if alphas is not None:
        grid = np.asarray(alphas, dtype=np.float64).ravel()
        if grid.size == 0 or not np.isfinite(grid).all() or (grid < 0).any():
            raise ValueError(f"alphas must be a non-empty sequence of finite numbers >= 0, got "
                             f"{alphas!r}.")
        alpha_min = min(alpha_min, float(grid.min()))
    knots, segments, at_knots = _lars(gram.detach().cpu().numpy(),
                                      corr.detach().cpu().numpy(), alpha_min, max_steps)
    if alphas is None and not (torch.is_grad_enabled()
                               and (gram.requires_grad or corr.requires_grad)):
        # Nothing to differentiate: the coefficients LARS carried to each knot are the path.
        return knots.copy(), like_input(torch.as_tensor(at_knots, device=gram.device), ref)
    grid = knots if alphas is None else grid
    cols = []
    for a in grid:
        cols.append(_closed_form(gram, corr, float(a), *_active_at(knots, segments, a)))
    coefs = torch.stack(cols, dim=1)
    return grid.copy(), like_input(coefs, ref)


def lasso_objective(X, y, coef, alpha):
    """The lasso objective ``(1/(2n)) ||y - X b||^2 + alpha ||b||_1`` (summed over targets).

    Useful to compare solutions where the lasso is not unique (duplicated columns).

    Examples
    --------
    >>> import numpy as np
    >>> round(lasso_objective(np.eye(2), np.ones(2), np.zeros(2), 0.1), 3)
    0.5
    """
    X, y, coef = (np.asarray(to_torch(v).detach().cpu(), dtype=np.float64) for v in (X, y, coef))
    alpha = float(alpha) if isinstance(alpha, numbers.Real) else float(torch.as_tensor(alpha))
    resid = y - X @ coef
    return float(0.5 * np.sum(resid ** 2) / X.shape[0] + alpha * np.abs(coef).sum())


def _check_max_steps(max_steps):
    return None if max_steps is None else check_int(max_steps, "max_steps", minimum=1)
