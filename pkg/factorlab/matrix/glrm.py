"""Generalized low-rank models (Udell, Horn, Zadeh and Boyd, 2016): choose the loss for the data.

A GLRM fits a low-rank matrix of *natural parameters* ``Θ = U Vᵀ + 1 bᵀ`` (``b`` a per-feature
offset) by minimising

    Σ_ij m_ij ℓ(Θ_ij, X_ij) + (alpha / 2) (‖U‖²_F + ‖V‖²_F)

over the observed entries (``m_ij = 1``). The loss says what kind of data ``X`` is:

============  ===============================  ==================================  ============
loss          ℓ(θ, x)                          data                                mean of x
============  ===============================  ==================================  ============
quadratic     (θ − x)² / 2                     real values, Gaussian noise          θ
absolute      |θ − x| (smoothed, see below)    real values with gross outliers      θ (median)
poisson       exp(θ) − x θ                     counts (spikes, transcripts)         exp(θ)
logistic      log(1 + exp(θ)) − x θ            binary (x in {0, 1})                 sigmoid(θ)
============  ===============================  ==================================  ============

Each loss is a negative log-likelihood (up to constants) and the ridge term a Gaussian prior on
the factors, so the fit is a MAP estimate. The quadratic loss with ``alpha = 0`` is PCA.

The solver alternates between ``U`` and ``[V, b]``. With one of them fixed the problem splits
into independent rows with ``rank`` unknowns each, solved in one batch in torch (so the same code
runs on a GPU): for the quadratic, Poisson and logistic losses one Newton step per row (exact for
the quadratic loss, which makes it ALS), halved where it would increase that row's objective;
for the absolute loss, smoothed to ``sqrt(r² + ε²) − ε`` with ``ε`` a small fraction of the
data's spread, one step of iteratively reweighted least squares, a majorise-minimise step: with
weights ``1 / sqrt(r² + ε²)`` from the current residuals a weighted ridge problem lies above the
loss and touches it there, so its exact solution can only lower the loss. No step ever raises
the objective.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import principal_axes, weighted_gram
from .._validate import (check_array, check_int, check_mask, check_nonnegative_number,
                         check_option, check_positive, check_rank)
from ._base import MatrixFactorization, MatrixFit

__all__ = ["glrm", "GLRM", "LOSSES"]

#: The loss menu.
LOSSES = ("quadratic", "absolute", "poisson", "logistic")


def _elementwise_loss(loss, theta, X, eps):
    if loss == "quadratic":
        return 0.5 * (theta - X) ** 2
    if loss == "absolute":
        return torch.sqrt((theta - X) ** 2 + eps ** 2) - eps
    if loss == "poisson":
        # exp overflows long before any sensible log-rate; the clamp only guards the line search.
        return torch.exp(torch.clamp(theta, max=50.0)) - X * theta
    return torch.nn.functional.softplus(theta) - X * theta


def _mean_of(loss, theta):
    """The expected data under the model: the inverse link applied to the natural parameter."""
    if loss == "poisson":
        return torch.exp(torch.clamp(theta, max=50.0))
    if loss == "logistic":
        return torch.sigmoid(theta)
    return theta


def _check_data(X, loss):
    Xc = check_array(X, nonnegative=loss == "poisson")
    if loss == "logistic":
        values = np.unique(Xc.cpu().numpy() if isinstance(Xc, torch.Tensor) else Xc)
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError("X must be binary (0/1 or bool) for loss='logistic', got values "
                             f"{values[:5].tolist()}{'...' if values.size > 5 else ''}.")
    return Xc


def _working_scale(loss, T, W):
    """Data transformed to the natural-parameter scale, for the SVD start and the offset."""
    if loss == "poisson":
        return torch.log(T + 0.5)
    if loss == "logistic":
        return torch.logit(0.25 + 0.5 * T)
    return T


def _smoothing(T, W, epsilon):
    """The absolute loss's smoothing width: ``epsilon`` times the observed data's std."""
    n = W.sum()
    mean = (W * T).sum() / n
    return epsilon * max(float(torch.sqrt((W * (T - mean) ** 2).sum() / n)), 1e-12)


def _gram_rows(weights, A, ridge):
    """``Aᵀ diag(w_i) A + diag(ridge)`` for every row ``w_i`` of ``weights`` at once."""
    return weighted_gram(weights, A) + torch.diag(ridge)


def _solve_rows(H, g):
    return torch.linalg.solve(H, g.unsqueeze(-1)).squeeze(-1)


def _row_step(loss, A, Y, W, c, Z, ridge, eps):
    """Lower ``Σ_j w_ij ℓ(a_jᵀ z_i + c_j, y_ij) + ½ Σ_k ridge_k z_ik²`` for every row ``z_i``.

    The rows are independent problems in ``r`` unknowns. Absolute loss: the exact minimiser of
    the reweighted least-squares majoriser (weights ``1 / sqrt(res² + ε²)``). Other losses: one
    Newton step (exact for the quadratic loss), halved row by row until that row's objective
    does not increase; a row that cannot improve keeps its value. Either way no row gets worse.
    """
    theta = Z @ A.T + c
    if loss == "absolute":
        omega = W / torch.sqrt((theta - Y) ** 2 + eps**2)
        return _solve_rows(_gram_rows(omega, A, ridge), (omega * (Y - c)) @ A)
    mean = _mean_of(loss, theta)
    curvature = W if loss == "quadratic" else W * (mean if loss == "poisson" else mean * (1 - mean))
    step = _solve_rows(_gram_rows(curvature, A, ridge), (W * (mean - Y)) @ A + ridge * Z)

    def row_objective(Zr):
        data = (W * _elementwise_loss(loss, Zr @ A.T + c, Y, eps)).sum(1)
        return data + 0.5 * (ridge * Zr * Zr).sum(1)

    before = row_objective(Z)
    # Rows already at their optimum would only chase rounding noise: leave them as they are.
    settled = step.abs().amax(1) <= 1e-12 * (1 + Z.abs().amax(1))
    t = torch.ones_like(before)
    for _ in range(30):
        trial = Z - t[:, None] * step
        worse = (row_objective(trial) > before) & ~settled
        if not bool(worse.any()):
            break
        t = torch.where(worse, t / 2, t)
    return torch.where((worse | settled)[:, None], Z, trial)


def _rebalance(U, V):
    """Rewrite ``U Vᵀ`` with the smallest ``‖U‖² + ‖V‖²``: both factors ``Q A √S`` from the SVD
    of the product (via QR of each factor and the SVD of the small core).

    The data term is unchanged and the ridge term can only fall. Without it the alternating
    steps creep along the direction ``U R, V R⁻ᵀ`` that only the weak ridge pins down.
    """
    L, s, R = principal_axes(U, V)
    root = torch.sqrt(s)
    U.copy_(L * root)
    V.copy_(R * root)


def _alternate(T, W, U, V, b, loss, alpha, eps, offset, objective, max_iter, tol, update_v=True,
               progress=False):
    """Alternate row steps for ``U`` and for ``[V, b]``; updates them in place."""
    r = U.shape[1]
    ridge_u = torch.full((r,), alpha + 1e-12, dtype=T.dtype, device=T.device)
    # The offset is a column of ones in U with an (almost) unpenalised coefficient in V.
    ridge_v = torch.cat([ridge_u, ridge_u.new_full((1,), 1e-12)]) if offset else ridge_u
    history = [float(objective())]
    converged, n_iter = False, 0
    for n_iter in tqdm(range(1, max_iter + 1), disable=not progress, desc=f"GLRM ({loss})"):
        U.copy_(_row_step(loss, V, T, W, b, U, ridge_u, eps))
        if update_v:
            A = torch.cat([U, torch.ones_like(U[:, :1])], 1) if offset else U
            Zv = torch.cat([V, b[:, None]], 1) if offset else V
            Zv = _row_step(loss, A, T.T, W.T, 0.0, Zv, ridge_v, eps)
            V.copy_(Zv[:, :r])
            if offset:
                b.copy_(Zv[:, r])
            _rebalance(U, V)
        history.append(float(objective()))
        if tol > 0 and abs(history[-2] - history[-1]) <= tol * max(abs(history[-2]), 1.0):
            converged = True
            break
    return history, n_iter, converged


def glrm(X, rank, loss="quadratic", *, alpha=1.0, offset=True, mask=None, init="svd",
         max_iter=1000, tol=1e-10, epsilon=1e-2, random_state=None, device=None,
         progress=False):
    """Fit a generalized low-rank model ``Θ = U Vᵀ + 1 bᵀ`` with the chosen loss.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Real values (``quadratic``, ``absolute``), nonnegative counts (``poisson``) or 0/1
        (``logistic``).
    rank : int
    loss : {"quadratic", "absolute", "poisson", "logistic"}
    alpha : float
        Weight of the ridge penalty ``(alpha / 2)(‖U‖² + ‖V‖²)``, a Gaussian prior on the
        factors. The loss is summed over entries, so ``alpha`` is on the scale of the singular
        values (for the quadratic loss it shrinks each by ``alpha``). It keeps logistic and
        Poisson fits finite where a row or column is all zeros (or all ones).
    offset : bool
        Fit a per-feature offset ``b`` (unpenalised), the GLRM analogue of centring.
    mask : boolean array like ``X``, optional
        True where observed; only observed entries enter the loss.
    init : {"svd", "random"}
        Start from the truncated SVD of the data on the natural-parameter scale (``log(x + ½)``
        for counts, ``logit`` of shrunk labels for binary data) with its singular values shrunk
        by ``alpha``, or at random (small Gaussian factors from ``random_state``).
    max_iter : int
        Maximum number of alternating sweeps (one step for U, one for [V, b]).
    tol : float
        Stop when the objective changes by less than ``tol`` relative to its value (0: run
        all ``max_iter`` sweeps).
    epsilon : float
        Smoothing of the absolute loss, as a fraction of the data's standard deviation.
    random_state : int, numpy.random.Generator or None
    device : str or torch.device, optional
        Default: the CPU for NumPy input, the tensor's own device otherwise. NumPy input is
        computed in float64.
    progress : bool
        Show a tqdm progress bar over the iterations.

    Returns
    -------
    MatrixFit
        ``(U, V, loss_history, n_iter, converged, mean)`` where ``mean`` is the offset ``b``
        (``None`` without offset) and ``loss_history`` the objective per observed entry after
        each iteration (it never increases).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.standard_normal((60, 2)) @ rng.standard_normal((2, 30)) / 2
    >>> counts = rng.poisson(np.exp(theta))
    >>> fit = glrm(counts, rank=2, loss="poisson", random_state=0)
    >>> rate = np.exp(fit.U @ fit.V.T + fit.mean)
    >>> bool(np.corrcoef(np.log(rate).ravel(), theta.ravel())[0, 1] > 0.8)
    True
    """
    loss = check_option(loss, "loss", LOSSES)
    Xc = _check_data(X, loss)
    rank = check_rank(rank, tuple(Xc.shape))
    alpha = check_nonnegative_number(alpha, "alpha")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    epsilon = check_positive(epsilon, "epsilon")
    check_option(init, "init", ("svd", "random"))
    M = check_mask(mask, tuple(Xc.shape))
    T = to_torch(Xc, device=device)
    W = torch.ones_like(T) if M is None else to_torch(M, device=T.device, dtype=T.dtype)
    n_obs = float(W.sum())

    Z = _working_scale(loss, T, W)
    b = ((W * Z).sum(0) / W.sum(0).clamp_min(1)) if offset else torch.zeros_like(T[0])
    if init == "svd":
        Us, s, Vh = torch.linalg.svd(W * (Z - b), full_matrices=False)
        # The ridge on both factors shrinks each singular value by alpha, and splits it evenly
        # between U and V: for the quadratic loss without a mask this start is the optimum.
        # (A small floor keeps components off the saddle point at zero.)
        root = torch.sqrt(torch.clamp(s[:rank] - alpha, min=1e-3 * float(s[0])))
        U, V = Us[:, :rank] * root, Vh[:rank].T * root
    else:
        rng = check_random_state(random_state)
        U = torch.as_tensor(rng.standard_normal((T.shape[0], rank)) * 0.1, dtype=T.dtype,
                            device=T.device)
        V = torch.as_tensor(rng.standard_normal((T.shape[1], rank)) * 0.1, dtype=T.dtype,
                            device=T.device)
    eps = _smoothing(T, W, epsilon)

    def objective():
        data_term = torch.sum(W * _elementwise_loss(loss, U @ V.T + b, T, eps))
        return (data_term + 0.5 * alpha * (torch.sum(U * U) + torch.sum(V * V))) / n_obs

    history, n_iter, converged = _alternate(T, W, U, V, b, loss, alpha, eps, offset, objective,
                                            max_iter, tol, progress=progress)
    return MatrixFit(like_input(U, X), like_input(V, X), np.asarray(history), n_iter, converged,
                     like_input(b, X) if offset else None)


class GLRM(MatrixFactorization):
    """Generalized low-rank model estimator: the loss menu of :func:`glrm`.

    ``inverse_transform``/``reconstruct`` return the natural parameters ``Θ = U Vᵀ + b``;
    :meth:`predict` returns the expected data (``exp(Θ)`` for counts, ``sigmoid(Θ)`` for binary
    data). ``transform`` fits new rows with ``V_`` and the offset fixed, under the same loss.

    Parameters
    ----------
    rank : int
    loss : {"quadratic", "absolute", "poisson", "logistic"}
    alpha : float
        Ridge weight on both factors.
    offset : bool
        Fit a per-feature offset (stored as ``mean_``).
    init : {"svd", "random"}
    max_iter : int
    tol : float
    epsilon : float
        Smoothing of the absolute loss (fraction of the data's spread).
    random_state : int, numpy.random.Generator or None
    device : str or torch.device, optional
    progress : bool
        Show a progress bar.

    Attributes
    ----------
    U_ : array of shape (n_samples, rank)
    V_ : array of shape (n_features, rank)
    mean_ : array (n_features,)
        The offset ``b`` (absent when ``offset=False``).
    loss_history_ : ndarray
        Objective per observed entry after each iteration (never increases).
    smoothing_ : float
        The width ``ε`` of the smoothed absolute loss, in data units (used by ``transform``).
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether the tolerance was reached before ``max_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> logits = 3 * rng.standard_normal((80, 1)) @ rng.standard_normal((1, 40))
    >>> B = (rng.random((80, 40)) < 1 / (1 + np.exp(-logits))).astype(float)
    >>> model = GLRM(rank=1, loss="logistic").fit(B)
    >>> bool(np.corrcoef(model.reconstruct().ravel(), logits.ravel())[0, 1] > 0.9)
    True
    >>> p = model.predict()                       # probabilities sigmoid(U Vᵀ + b)
    >>> bool(0 < p.min() and p.max() < 1)
    True
    """

    def __init__(self, rank, loss="quadratic", alpha=1.0, offset=True, init="svd",
                 max_iter=1000, tol=1e-10, epsilon=1e-2, random_state=None, device=None,
                 progress=False):
        self.rank = rank
        self.loss = loss
        self.alpha = alpha
        self.offset = offset
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.epsilon = epsilon
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _fit(self, X, mask):
        return glrm(X, self.rank, self.loss, alpha=self.alpha, offset=self.offset, mask=mask,
                    init=self.init, max_iter=self.max_iter, tol=self.tol, epsilon=self.epsilon,
                    random_state=self.random_state, device=self.device, progress=self.progress)

    def _after_fit(self, X, mask, result):
        T = to_torch(check_array(X))
        W = torch.ones_like(T) if mask is None else to_torch(check_mask(mask, tuple(T.shape)),
                                                             dtype=T.dtype)
        self.smoothing_ = _smoothing(T, W, self.epsilon)

    def predict(self, X=None):
        """Expected data ``E[X] = link⁻¹(U Vᵀ + b)``: for the training rows when ``X`` is None,
        else for the rows of ``X`` (their scores fitted by :meth:`transform`).

        Parameters
        ----------
        X : array of shape (n_new, n_features), optional

        Returns
        -------
        array of shape (n_samples, n_features)
        """
        theta = self.reconstruct() if X is None else self.inverse_transform(self.transform(X))
        return like_input(_mean_of(self.loss, to_torch(theta)), theta)

    def transform(self, X_new):
        """Scores of new rows under the model's loss, with ``V_`` and the offset held fixed.

        Parameters
        ----------
        X_new : array of shape (n_new, n_features)

        Returns
        -------
        U_new : array of shape (n_new, rank)
        """
        self._validate_input(X_new, reset=False)
        Xn = _check_data(X_new, self.loss)
        V = to_torch(self.V_, dtype=torch.float64)
        T = to_torch(Xn, device=V.device, dtype=torch.float64).detach()
        b = (to_torch(self.mean_, device=V.device, dtype=torch.float64)
             if getattr(self, "mean_", None) is not None else torch.zeros_like(T[0]))
        U = torch.zeros((T.shape[0], V.shape[1]), dtype=T.dtype, device=T.device)
        eps = float(self.smoothing_)

        def objective():
            data_term = torch.sum(_elementwise_loss(self.loss, U @ V.T + b, T, eps))
            return (data_term + 0.5 * self.alpha * torch.sum(U * U)) / T.numel()

        _alternate(T, torch.ones_like(T), U, V, b, self.loss, self.alpha, eps, False, objective,
                   check_int(self.max_iter, "max_iter", minimum=1), self.tol, update_v=False)
        return like_input(U.detach().to(to_torch(Xn).dtype), X_new)
