"""Robust PCA by proximal forward-backward steps, and the ADMM baseline of DeepLS.

Both split a movie ``D`` (frames x pixels) into a low-rank background ``L`` and a sparse
foreground ``S``. They are the references that the prox-loss U-Net (:class:`factorlab.ProxUNet`)
is compared with.

**Forward-backward** (Sakai et al., 2021, eqs. 4-5) minimises the penalised problem

    F(L, S) = alpha (||L||_* + lam ||S||_1) + 1/2 ||D - L - S||_F^2

one block at a time: a gradient ("forward") step of size 1 on the quadratic coupling followed
by the proximal ("backward") step of the block's own norm,

    L <- svt(L - (L + S - D), alpha)      = svt(D - S, alpha)          (4)
    S <- soft(S - (L + S - D), alpha lam) = soft(D - L, alpha lam)     (5)

Step 1 is the Lipschitz constant of each block's gradient, so each step minimises ``F`` over its
block exactly and ``F`` never increases. The same two steps are what two ``torch.optim.SGD``
steps with ``lr=1`` do with a squared loss and :class:`factorlab.prox.NuclearProxLoss` or
:class:`factorlab.prox.L1ProxLoss`.

**ADMM with rho = 1** (the baseline of Takeda et al., 2022) solves the constrained problem
``min ||L||_* + lam ||S||_1 s.t. L + S = D`` with the scaled dual ``U``:

    L <- svt(D - S - U, 1/rho);  S <- soft(D - L - U, lam/rho);  U <- U + L + S - D
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .._backend import to_torch
from .._validate import check_array, check_int, check_nonnegative_number, check_positive
from .._linalg import thin_svd
from ..prox import soft_threshold
from ._common import RPCAResult, as_matrix, default_lambda, frobenius
from .solvers import _pcp_candes

__all__ = ["rpca_forward_backward", "rpca_admm", "project_foreground"]


def _svt_with_norm(X, threshold):
    """``svt(X, threshold)`` and the nuclear norm of the result, from one thin SVD."""
    U, s, Vh = thin_svd(X)
    shrunk = torch.clamp(s - threshold, min=0)
    keep = int((shrunk > 0).sum())
    return (U[:, :keep] * shrunk[:keep]) @ Vh[:keep], float(shrunk.sum())


def rpca_forward_backward(Y, lam=None, alpha=None, max_iter=300, tol=1e-6, S_init=None,
                          device=None, dtype=None, progress=False):
    """Robust PCA by alternating proximal forward-backward steps (Sakai et al., eqs. 4-5).

    Minimises ``alpha (||L||_* + lam ||S||_1) + 1/2 ||Y - L - S||_F^2`` by
    ``L = svt(Y - S, alpha)`` then ``S = soft(Y - L, alpha * lam)``; the objective never
    increases. Small ``alpha`` approaches principal component pursuit (``L + S = Y``) but
    converges more slowly; ``alpha`` also sets how much noise is left out of both parts.

    Parameters
    ----------
    Y : array or tensor of shape (frames, pixels) or (frames, height, width)
    lam : float, optional
        Weight of ``||S||_1``; default ``1/sqrt(max(frames, pixels))``.
    alpha : float, optional
        Weight of both norms against the squared residual; default ``0.01 * ||Y||_2``
        (spectral norm), which keeps the rule independent of the units of ``Y``.
    max_iter : int
    tol : float
        Stop when the relative change of ``(L, S)`` falls below ``tol``.
    S_init : array or tensor like ``Y``, optional
        Warm start for ``S`` (the U-Net's refinement starts from its own output).
    device, dtype : optional
        Where and in which precision to compute (default: where ``Y`` is, its float dtype).
    progress : bool
        Show a progress bar.

    Returns
    -------
    RPCAResult
        ``L``, ``S`` (like ``Y``), ``n_iter``, ``converged``; ``objective`` holds the history of
        ``F`` (a list of floats, one per iteration).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 60))
    >>> S0 = np.where(rng.random((40, 60)) < 0.05, 5.0, 0.0)
    >>> res = rpca_forward_backward(L0 + S0, alpha=0.05, max_iter=500)
    >>> bool(np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 0.05)
    True
    """
    D, restore = as_matrix(Y, device, dtype)
    lam = default_lambda(D.shape) if lam is None else check_positive(lam, "lam")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    if alpha is None:
        alpha = 0.01 * float(torch.linalg.matrix_norm(D, ord=2))
    alpha = check_positive(alpha, "alpha")
    if S_init is None:
        S = torch.zeros_like(D)
    else:
        S0 = check_array(S_init, "S_init", ndim=(2, 3))
        if tuple(S0.shape) != tuple(check_array(Y, "Y", ndim=(2, 3)).shape):
            raise ValueError(f"S_init must have the shape of Y, got {tuple(S0.shape)}.")
        S = to_torch(S0, device=D.device, dtype=D.dtype).reshape(D.shape).clone()
    L = torch.zeros_like(D)
    history, converged, it = [], False, 0
    for it in tqdm(range(1, max_iter + 1), disable=not progress, desc="forward-backward"):
        L_new, nuclear = _svt_with_norm(D - S, alpha)    # eq. (4)
        S_new = soft_threshold(D - L_new, alpha * lam)   # eq. (5)
        change = frobenius(torch.cat([L_new - L, S_new - S])) / max(
            frobenius(torch.cat([L_new, S_new])), 1e-30)
        L, S = L_new, S_new
        history.append(alpha * (nuclear + lam * float(S.abs().sum()))
                       + 0.5 * frobenius(D - L - S) ** 2)
        if change < tol:
            converged = True
            break
    result = RPCAResult(restore(L), restore(S), it, converged)
    result.objective = history
    return result


def rpca_admm(Y, lam=None, rho=1.0, max_iter=500, tol=None, device=None, dtype=None,
              progress=False):
    """Principal component pursuit by scaled ADMM with a fixed penalty (DeepLS's baseline).

    This is :func:`factorlab.robust.pcp` with ``rule="candes"`` and ``mu=rho``, run for a fixed
    number of iterations by default, under the name and settings of the DeepLS comparison.

    ``L = svt(Y - S - U, 1/rho)``, ``S = soft(Y - L - U, lam/rho)``, ``U += L + S - Y``, for a
    fixed number of iterations (500 in Takeda et al., 2022) or until
    ``||Y - L - S||_F / ||Y||_F < tol``. ``rho = 1`` suits movies scaled to [0, 1].

    Parameters
    ----------
    Y : array or tensor of shape (frames, pixels) or (frames, height, width)
    lam : float, optional
        Weight of ``||S||_1``; default ``1/sqrt(max(frames, pixels))``.
    rho : float
        ADMM penalty (the SVT threshold is ``1/rho``).
    max_iter : int
    tol : float, optional
        Stop early on a small constraint residual (default: run all ``max_iter`` iterations).
    device, dtype, progress
        As in :func:`rpca_forward_backward`.

    Returns
    -------
    RPCAResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 60))
    >>> S0 = np.where(rng.random((40, 60)) < 0.05, 5.0, 0.0)
    >>> res = rpca_admm(L0 + S0, rho=0.2, max_iter=300)
    >>> bool(np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 1e-3)
    True
    """
    D, restore = as_matrix(Y, device, dtype)
    lam = default_lambda(D.shape) if lam is None else check_positive(lam, "lam")
    rho = check_positive(rho, "rho")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = None if tol is None else check_positive(tol, "tol")
    # the scaled dual U is -Z/rho of PCP's Z: the same iteration as pcp(rule="candes", mu=rho)
    L, S, it, converged = _pcp_candes(D, lam, rho, tol, max_iter, progress, "RPCA-ADMM")
    return RPCAResult(restore(L), restore(S), it, converged)


def project_foreground(frames, L, rtol=1e-3):
    """Foreground of new frames by projection on a fitted background subspace.

    The background subspace is spanned by the right singular vectors of ``L`` (frames x pixels)
    whose singular values exceed ``rtol`` times the largest; each new frame is split into its
    projection (background) and the rest (foreground), as DeepLS does to apply RPCA to frames
    outside its window.

    Parameters
    ----------
    frames : array or tensor of shape (n, pixels) or (n, height, width)
    L : array or tensor, the low-rank part of a fit, same number of pixels per frame
    rtol : float
        Relative cut-off for the singular values of ``L``.

    Returns
    -------
    S : like ``frames``

    Examples
    --------
    >>> import numpy as np
    >>> L = np.outer(np.ones(5), [1.0, 1.0, 1.0, 1.0])  # a flat background
    >>> project_foreground(np.array([[1.0, 1.0, 1.0, 5.0]]), L).round(3).tolist()
    [[-1.0, -1.0, -1.0, 3.0]]
    """
    rtol = check_nonnegative_number(rtol, "rtol")
    D, restore = as_matrix(frames)
    Lm = to_torch(check_array(L, "L", ndim=(2, 3)), device=D.device, dtype=D.dtype)
    Lm = Lm.reshape(Lm.shape[0], -1)
    if Lm.shape[1] != D.shape[1]:
        raise ValueError(f"L has {Lm.shape[1]} pixels per frame but frames have {D.shape[1]}.")
    _, s, Vh = thin_svd(Lm)
    V = Vh[s > rtol * s.max()].T if float(s.max()) > 0 else Vh[:0].T
    return restore(D - (D @ V) @ V.T)
