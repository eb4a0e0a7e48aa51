"""Reference robust PCA solvers in torch: IALM, PCP (ADMM) and GoDec.

All three split a movie ``Y`` (frames x pixels) into a low-rank ``L`` and a sparse ``S``. IALM
and PCP solve principal component pursuit, ``min ||L||_* + lam ||S||_1`` subject to
``L + S = Y``, with a singular value thresholding step (:func:`factorlab.prox.svt`, via a QR of
the tall pixels x frames matrix: O(m n^2) time, no m x m or full SVD) and a soft threshold
(:func:`factorlab.prox.soft_threshold`) per iteration. GoDec fixes the rank instead.

**Scaling.** ``lam = 1/sqrt(max(m, n))`` is scale-free (both terms scale with ``Y``), and IALM's
and PCP's ``mu`` are set from norms of ``Y``, so the convex solvers do not care about the units
of ``Y``. GoDec's threshold ``tau`` *is* in the units of ``Y``: divide a movie by its maximum (or
pass ``tau``) before comparing settings across recordings.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, torch_generator
from .._validate import (check_int, check_nonnegative_number, check_option, check_positive,
                         check_rank)
from ..prox import soft_threshold, svt
from ._common import RPCAResult, as_matrix, default_lambda, frobenius

__all__ = ["ialm", "pcp", "godec"]


def _default_tol(D: torch.Tensor) -> float:
    # 1e-7 as in the papers; float32 cannot resolve residuals that small, so stop at ~10 eps.
    return max(1e-7, 10 * torch.finfo(D.dtype).eps)


def _lam(lam, D):
    return default_lambda(D.shape) if lam is None else check_positive(lam, "lam")


def ialm(Y, lam=None, tol=None, max_iter=1000, rho=1.5, mu=None, device=None, dtype=None,
         progress=False) -> RPCAResult:
    """Robust PCA by the inexact augmented Lagrange multiplier method (Lin, Chen & Ma 2010).

    Each iteration: ``S = soft(Y - L + Z/mu, lam/mu)``, ``L = svt(Y - S + Z/mu, 1/mu)``,
    ``Z += mu (Y - L - S)``, ``mu = min(rho mu, 1e7 mu0)``.

    Parameters
    ----------
    Y : array or tensor of shape (frames, pixels) or (frames, height, width)
    lam : float, optional
        Weight of ``||S||_1``; default ``1/sqrt(max(frames, pixels))``.
    tol : float, optional
        Stop when ``||Y - L - S||_F / ||Y||_F < tol`` (default 1e-7, or ~1e-6 in float32).
    max_iter : int
    rho : float
        Growth factor of the penalty ``mu`` (>= 1; 1 keeps it constant).
    mu : float, optional
        Initial penalty; default ``1.25 / ||Y||_2`` (spectral norm).
    device, dtype : optional
        Where and in which precision to compute (default: where ``Y`` is, its float dtype).
    progress : bool
        Show a progress bar.

    Returns
    -------
    RPCAResult
        ``L``, ``S`` (like ``Y``), ``n_iter``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((60, 2)) @ rng.standard_normal((2, 80))
    >>> S0 = np.where(rng.random((60, 80)) < 0.05, 5.0, 0.0)
    >>> res = ialm(L0 + S0)
    >>> bool(np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 1e-4), res.converged
    (True, True)
    """
    D, restore = as_matrix(Y, device, dtype)
    lam = _lam(lam, D)
    tol = _default_tol(D) if tol is None else check_nonnegative_number(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    rho = check_positive(rho, "rho")
    if rho < 1:
        raise ValueError(f"rho must be >= 1 (the factor by which the penalty mu grows each "
                         f"iteration; below 1 it shrinks and IALM stalls), got {rho}.")
    norm2 = float(torch.linalg.matrix_norm(D, ord=2))
    d_norm = frobenius(D)
    if d_norm == 0:
        raise ValueError("Y is all zeros; there is nothing to decompose.")
    # dual start that makes the first iterate feasible for the dual problem (Lin et al., eq. 10)
    Z = D / max(norm2, float(D.abs().max()) / lam)
    mu = 1.25 / norm2 if mu is None else check_positive(mu, "mu")
    mu_bar = mu * 1e7
    L = torch.zeros_like(D)
    converged, it = False, 0
    for it in tqdm(range(1, max_iter + 1), disable=not progress, desc="IALM"):
        S = soft_threshold(D - L + Z / mu, lam / mu)
        L = svt(D - S + Z / mu, 1.0 / mu)
        R = D - L - S
        Z.add_(R, alpha=mu)
        mu = min(rho * mu, mu_bar)
        if frobenius(R) / d_norm < tol:
            converged = True
            break
    return RPCAResult(restore(L), restore(S), it, converged)


def _pcp_candes(D, lam, mu, tol, max_iter, progress, desc):
    """ADMM for principal component pursuit with a constant penalty ``mu``, ``L`` first.

    ``tol=None`` runs all ``max_iter`` iterations; otherwise stop when
    ``||D - L - S||_F < tol ||D||_F``. Returns ``(L, S, iterations, converged)``.
    """
    d_norm = frobenius(D)
    L, S, Z = torch.zeros_like(D), torch.zeros_like(D), torch.zeros_like(D)
    converged, it = False, 0
    for it in tqdm(range(1, max_iter + 1), disable=not progress, desc=desc):
        L = svt(D - S + Z / mu, 1.0 / mu)
        S = soft_threshold(D - L + Z / mu, lam / mu)
        R = D - L - S
        Z.add_(R, alpha=mu)
        if tol is not None and frobenius(R) < tol * d_norm:
            converged = True
            break
    return L, S, it, converged


def pcp(Y, lam=None, rule="candes", tol=None, max_iter=1000, mu=None, device=None, dtype=None,
        progress=False) -> RPCAResult:
    """Principal component pursuit by ADMM with a constant penalty.

    Two published parameter rules:

    * ``rule="candes"`` (Candès, Li, Ma & Wright 2011, Alg. 1): ``mu = m n / (4 ||Y||_1)``,
      ``L`` first, stop when ``||Y - L - S||_F < tol ||Y||_F`` (tol 1e-7);
    * ``rule="lrslibrary"`` (the Yuan-Yang code used for the BEAR paper's Table 1):
      ``beta = 0.25 / mean|Y|``, ``S`` first, stop when the relative change of ``(L, S)`` is
      below ``tol`` (1e-5).

    In both, ``mu`` (or ``beta``) multiplies the augmented-Lagrangian penalty, so the thresholds
    are ``1/mu`` for singular values and ``lam/mu`` for entries.

    Parameters
    ----------
    Y : array or tensor of shape (frames, pixels) or (frames, height, width)
    lam : float, optional
        Default ``1/sqrt(max(frames, pixels))``.
    rule : {"candes", "lrslibrary"}
    tol : float, optional
    max_iter : int
    mu : float, optional
        Override the rule's penalty.
    device, dtype, progress
        As in :func:`ialm`.

    Returns
    -------
    RPCAResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((60, 2)) @ rng.standard_normal((2, 80))
    >>> S0 = np.where(rng.random((60, 80)) < 0.05, 5.0, 0.0)
    >>> res = pcp(L0 + S0)
    >>> bool(np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 1e-4)
    True
    """
    rule = check_option(rule, "rule", ("candes", "lrslibrary"))
    D, restore = as_matrix(Y, device, dtype)
    lam = _lam(lam, D)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    d_norm = frobenius(D)
    if d_norm == 0:
        raise ValueError("Y is all zeros; there is nothing to decompose.")
    if rule == "candes":
        mu = D.numel() / (4 * float(D.abs().sum())) if mu is None else check_positive(mu, "mu")
        tol = _default_tol(D) if tol is None else check_nonnegative_number(tol, "tol")
        L, S, it, converged = _pcp_candes(D, lam, mu, tol, max_iter, progress, "PCP")
    else:
        beta = 0.25 / float(D.abs().mean()) if mu is None else check_positive(mu, "mu")
        tol = 1e-5 if tol is None else check_nonnegative_number(tol, "tol")
        L, S, Z = torch.zeros_like(D), torch.zeros_like(D), torch.zeros_like(D)
        converged, it = False, 0
        for it in tqdm(range(1, max_iter + 1), disable=not progress, desc="PCP"):
            S_new = soft_threshold(Z / beta + D - L, lam / beta)
            L_new = svt(Z / beta + D - S_new, 1.0 / beta)
            Z.sub_(S_new + L_new - D, alpha=beta)
            change = (frobenius(S_new - S) ** 2 + frobenius(L_new - L) ** 2) ** 0.5
            size = (frobenius(S_new) ** 2 + frobenius(L_new) ** 2) ** 0.5
            L, S = L_new, S_new
            if change / (1 + size) < tol:
                converged = True
                break
    return RPCAResult(restore(L), restore(S), it, converged)


def godec(Y, rank, tau=None, max_iter=100, tol=1e-6, power=1, device=None, dtype=None,
          random_state=None, progress=False) -> RPCAResult:
    """GoDec with a soft threshold (Zhou & Tao 2011): alternate a rank-``rank`` fit and a shrink.

    ``L = P_Q(Y - S)`` with ``Q`` an orthonormal basis of the row space found by ``power``
    power iterations (warm-started from the previous one), then ``S = soft(Y - L, tau)``.
    No full SVD: each iteration costs O(m n r).

    Parameters
    ----------
    Y : array or tensor of shape (frames, pixels) or (frames, height, width)
    rank : int
    tau : float, optional
        Threshold on ``|Y - L|`` in the units of ``Y``; default twice a robust (median
        absolute deviation) estimate of the noise of ``Y - L`` after the first rank fit.
    max_iter : int
    tol : float
        Stop when the relative change of ``L`` falls below ``tol``.
    power : int
        Power iterations per rank fit.
    random_state : int, Generator or None
        Seed of the random start.
    device, dtype, progress
        As in :func:`ialm`.

    Returns
    -------
    RPCAResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((60, 2)) @ rng.standard_normal((2, 80))
    >>> S0 = np.where(rng.random((60, 80)) < 0.05, 5.0, 0.0)
    >>> res = godec(L0 + S0, rank=2, tau=0.5, random_state=0)
    >>> bool(np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 0.05)
    True
    """
    D, restore = as_matrix(Y, device, dtype)

    rank = check_rank(rank, tuple(D.shape))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    power = check_int(power, "power", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    gen = torch_generator(check_random_state(random_state), device="cpu")
    Q = torch.randn(D.shape[1], rank, generator=gen, dtype=D.dtype).to(D.device)
    S = torch.zeros_like(D)
    L = torch.zeros_like(D)
    converged, it = False, 0
    for it in tqdm(range(1, max_iter + 1), disable=not progress, desc="GoDec"):
        A = D - S
        for _ in range(power):   # subspace iteration on the pixel side, then orthonormalise
            Q, _ = torch.linalg.qr(A.T @ (A @ Q))
        L_new = (A @ Q) @ Q.T
        if tau is None:
            R = D - L_new
            mad = (R - R.median()).abs().median()
            tau = 2 * 1.4826 * float(mad)
        S = soft_threshold(D - L_new, tau)
        change = frobenius(L_new - L) / max(frobenius(L_new), 1e-30)
        L = L_new
        if change < tol:
            converged = True
            break
    return RPCAResult(restore(L), restore(S), it, converged)
