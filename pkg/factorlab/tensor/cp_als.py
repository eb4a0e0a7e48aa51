"""CP decomposition by alternating least squares (ALS), nonnegative HALS, and two ways of
handling missing entries: exact censored least squares and EM imputation.

One function does all of it because the four variants differ only in the block update of one
mode: an exact least-squares solve or HALS sweeps (per mode, see ``nonneg``), on the full data,
on observed entries only (``missing="exact"``), or on data whose missing entries are refilled
with the current reconstruction after every sweep (``missing="em"``, Tomasi & Bro 2005).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._backend import like_input, to_torch, torch_generator
from .._linalg import dead_components, revive_component
from .._validate import (check_array, check_int, check_mask, check_nonnegative_number,
                         check_option)
from ..base import cast_like_input_dtype, result_dtype
from ._ops import cp_to_tensor, grams, hadamard_except, khatri_rao, mttkrp, unfold
from ._solve import hals_gram, masked_normal_equations, solve_gram

__all__ = ["CPResult", "cp_als"]

_MAX_NDIM = 16


class CPResult(NamedTuple):
    """What :func:`cp_als` returns.

    Attributes
    ----------
    factors : list of arrays
        One ``(X.shape[n], rank)`` matrix per mode; the component scales live in the factors
        (no separate weights), so ``X ≈ cp_to_tensor(factors)``.
    loss_history : ndarray of shape (n_iter + 1,)
        Relative error ``||X - X_hat||_F / ||X||_F`` (over observed entries when masked) at the
        start and after every sweep over the modes.
    n_iter : int
    converged : bool
    """

    factors: list
    loss_history: np.ndarray
    n_iter: int
    converged: bool


def _nonneg_modes(nonneg, ndim: int) -> list[bool]:
    if isinstance(nonneg, (bool, np.bool_)):
        return [bool(nonneg)] * ndim
    try:
        modes = [bool(v) for v in nonneg]
    except TypeError:
        raise TypeError(f"nonneg must be a bool or one bool per mode, got {nonneg!r}.") from None
    if len(modes) != ndim:
        raise ValueError(f"nonneg must have one entry per mode ({ndim}), got {len(modes)}.")
    return modes


def _check_fixed(fixed_modes, ndim: int) -> list[int]:
    fixed = sorted({check_int(m, "fixed_modes entry", -ndim, ndim - 1) % ndim
                    for m in fixed_modes})
    if len(fixed) == ndim:
        raise ValueError("fixed_modes freezes every mode; at least one mode must be free.")
    return fixed


def _init_factors(init, X, rank, nonneg, gen, norm_x):
    """Starting factors; user-given ones are copied (never modified), drawn ones are scaled so
    the starting reconstruction has the data's norm."""
    shape, opts = X.shape, {"dtype": X.dtype, "device": X.device}
    given = [None] * X.ndim
    if not isinstance(init, str):
        if not isinstance(init, (list, tuple)):
            raise TypeError(f"init must be 'random', 'svd' or a list of one factor matrix per "
                            f"mode, got {type(init).__name__}.")
        if len(init) != X.ndim:
            raise ValueError(f"init must be 'random', 'svd' or one factor per mode ({X.ndim}), "
                             f"got {len(init)} entries.")
        for n, f in enumerate(init):
            if f is None:
                continue
            f = check_array(f, f"init[{n}]")
            if tuple(f.shape) != (shape[n], rank):
                raise ValueError(f"init[{n}] must have shape {(shape[n], rank)}, got "
                                 f"{tuple(f.shape)}.")
            given[n] = to_torch(f, **opts).clone()
        method = "random"
    else:
        method = check_option(init, "init", ("random", "svd"))
    factors, drawn = [], []
    for n, size in enumerate(shape):
        if given[n] is not None:
            factors.append(given[n])
            continue
        drawn.append(n)
        if method == "svd" and rank <= size:
            Xn = unfold(X, n)
            _, vecs = torch.linalg.eigh(Xn @ Xn.T)
            f = vecs[:, -rank:].flip(1)
            factors.append(f.abs() if nonneg[n] else f)
        else:
            draw = torch.rand if nonneg[n] else torch.randn
            factors.append(draw(size, rank, generator=gen, dtype=X.dtype).to(X.device))
    if drawn:
        norm_cp = hadamard_except(grams(factors), -1).sum().clamp_min(1e-300).sqrt()
        scale = (norm_x / norm_cp) ** (1.0 / len(drawn))
        for n in drawn:
            factors[n] = factors[n] * scale
    return factors


def _rebalance(factors, free) -> None:
    """Give every free mode the same column norms (their geometric mean) so scale does not drift
    between modes; frozen modes are left untouched, bitwise."""
    if len(free) < 2:
        return
    norms = torch.stack([factors[n].norm(dim=0) for n in free])
    target = norms.clamp_min(1e-300).log().mean(0).exp()
    for n, nrm in zip(free, norms):
        factors[n] = factors[n] * torch.where(nrm > 0, target / nrm.clamp_min(1e-300), 1.0)


def _masked_update(Xn, Mn, factors, n, nonneg):
    """Censored least squares for mode ``n``: one r x r system per row, over its observed
    entries only."""
    K = khatri_rao([f for k, f in enumerate(factors) if k != n])
    G, P = masked_normal_equations(Xn, Mn, K)
    return hals_gram(factors[n], G, P) if nonneg else solve_gram(G, P)


def _revive_dead(Xt, Mf, factors, nonneg, free) -> bool:
    """Re-seed dead components of a fit with nonnegative modes (:func:`revive_component`):
    an all-zero column stays zero under HALS, and the least-squares modes then follow it to
    zero, so without this a component that dies once is lost for good. Each dead component
    gets the best rank-one fit to the residual, if that lowers the loss. Returns whether any
    factor changed."""
    dead = dead_components([factors[n] for n in free])
    if not bool(dead.any()):
        return False
    changed = False
    for k in torch.nonzero(dead)[:, 0].tolist():
        for n in free:
            factors[n] = factors[n].clone()
            factors[n][:, k] = 0
        R = Xt - cp_to_tensor(factors)  # Xt is zero where unobserved
        if Mf is not None:
            R = R * Mf
        fixed = [None if n in free else factors[n][:, k] for n in range(len(factors))]
        term = revive_component(R, nonneg, fixed=fixed, weights=Mf)
        if term is None:
            continue
        for n in free:
            factors[n][:, k] = term[n]
        changed = True
    return changed


def cp_als(X, rank, *, mask=None, nonneg=False, missing="exact", init="random", fixed_modes=(),
           max_iter=500, tol=1e-6, random_state=None):
    """Fit a CP (PARAFAC) model ``X ≈ sum_r a_r^(1) ∘ ... ∘ a_r^(N)`` by alternating updates.

    Each sweep updates every free mode in turn: exact least squares (Cholesky of the Hadamard
    product of the other modes' Gram matrices) for unconstrained modes, HALS for nonnegative
    ones. Before each update the free modes are rebalanced to equal column norms. The loss
    history never increases.

    Parameters
    ----------
    X : array or torch.Tensor with ndim >= 2
        The data tensor (e.g. neurons x time x trials).
    rank : int
        Number of components.
    mask : bool array of X's shape, optional
        True = observed. Masked entries never influence the fit (their values are ignored).
    nonneg : bool or sequence of bool
        Constrain all modes, or the modes marked True, to be nonnegative (HALS updates).
    missing : {"exact", "em"}
        With a mask: exact censored least squares (one small system per row; the default) or
        EM imputation (refill missing entries with the current reconstruction after each sweep,
        then take ordinary updates; cheaper per sweep, slower to converge).
    init : {"random", "svd"} or list of arrays
        Random factors (Gaussian; uniform for nonnegative modes) scaled to the data's norm,
        leading singular vectors of the unfoldings, or one starting factor per mode (``None``
        entries are drawn at random). Given factors are copied, never modified.
    fixed_modes : sequence of int
        Modes kept exactly at their ``init`` value (bitwise), e.g. to fit new trials with
        frozen neuron and time factors. Needs ``init`` factors for those modes.
    max_iter : int
        Maximum number of sweeps.
    tol : float
        Stop when the relative error changes by less than ``tol`` in one sweep; 0 runs all
        ``max_iter`` sweeps.
    random_state : int, numpy Generator, RandomState or None

    Returns
    -------
    CPResult
        ``factors`` (NumPy for NumPy input, tensors on the input's device for tensor input;
        float32 for float32 input, float64 otherwise),
        ``loss_history``, ``n_iter``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, B, C = rng.random((10, 2)), rng.random((8, 2)), rng.random((6, 2))
    >>> X = np.einsum("ir,jr,kr->ijk", A, B, C)
    >>> res = cp_als(X, 2, random_state=0)
    >>> bool(res.loss_history[-1] < 1e-4)
    True
    """
    Xa = check_array(X, "X", ndim=tuple(range(2, _MAX_NDIM + 1)))
    rank = check_int(rank, "rank", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    missing = check_option(missing, "missing", ("exact", "em"))
    mask = check_mask(mask, tuple(Xa.shape))
    N = Xa.ndim
    nonneg_modes = _nonneg_modes(nonneg, N)
    fixed = _check_fixed(fixed_modes, N)
    if fixed and (isinstance(init, str) or any(init[n] is None for n in fixed)):
        raise ValueError("fixed_modes needs the frozen factors: pass init=[...] with a factor for "
                         f"every fixed mode {fixed}.")
    free = [n for n in range(N) if n not in fixed]

    Xt = to_torch(Xa)
    if not isinstance(Xa, torch.Tensor):
        Xt = Xt.to(torch.float64)
    M = None
    if mask is not None:
        M = to_torch(mask).to(device=Xt.device, dtype=torch.bool)
        # masked values never reach the arithmetic, so any value there gives the same fit
        Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=Xt.device))
    norm_x = Xt.norm().clamp_min(1e-300)
    gen = torch_generator(random_state)

    fill = Xt
    if M is not None:
        fill = torch.where(M, Xt, Xt.sum() / M.sum())
    factors = _init_factors(init, fill, rank, nonneg_modes, gen, norm_x)
    exact_masked = M is not None and missing == "exact"
    Mf = None if M is None else M.to(Xt.dtype)
    revive = any(nonneg_modes[n] for n in free)
    if exact_masked:
        unfolded = {n: (unfold(Xt, n), unfold(Mf, n)) for n in free}

    def masked_loss(Xhat):
        # Xt is already zero where unobserved, so only Xhat needs masking
        return ((Xt - Xhat * Mf).norm() / norm_x).item()

    if M is None:
        Xhat = cp_to_tensor(factors)
        history = [((Xt - Xhat).norm() / norm_x).item()]
    else:
        Xhat = cp_to_tensor(factors)
        history = [masked_loss(Xhat)]
        if missing == "em":
            fill = torch.where(M, Xt, Xhat)

    converged = False
    for _ in range(max_iter):
        for n in free:
            _rebalance(factors, free)
            if exact_masked:
                factors[n] = _masked_update(*unfolded[n], factors, n, nonneg_modes[n])
                continue
            G = hadamard_except(grams(factors), n)
            P = mttkrp(fill, factors, n)
            factors[n] = hals_gram(factors[n], G, P) if nonneg_modes[n] else solve_gram(G, P)
        # on the observed entries, so the reported (observed) loss falls also under EM
        revived = revive and _revive_dead(Xt, Mf, factors, nonneg_modes, free)
        if revived:
            Xhat = cp_to_tensor(factors)
            history.append(((Xt - Xhat if M is None else Xt - Xhat * Mf).norm() / norm_x).item())
            if missing == "em":
                fill = torch.where(M, Xt, Xhat)
        elif M is None:
            # cheap objective on the last mode updated: ||X||² - 2<X, X̂> + ||X̂||²
            A = factors[free[-1]]
            sq = norm_x**2 - 2 * (P * A).sum() + (G * (A.T @ A)).sum()
            history.append((sq.clamp_min(0).sqrt() / norm_x).item())
        else:
            Xhat = cp_to_tensor(factors)
            history.append(masked_loss(Xhat))
            if missing == "em":
                fill = torch.where(M, Xt, Xhat)
        if tol > 0 and not revived and abs(history[-2] - history[-1]) < tol:
            converged = True
            break

    # NumPy input is computed in float64 and returned in its floating dtype (float32 stays)
    out = [cast_like_input_dtype(like_input(f, X), result_dtype(Xa)) for f in factors]
    return CPResult(out, np.asarray(history), len(history) - 1, converged)

