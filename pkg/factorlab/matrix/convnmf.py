"""Convolutional NMF: neural sequences as templates that repeat in time (seqNMF).

A sequence is a short spatiotemporal template: neuron ``n`` fires ``l`` frames after the
sequence starts. Convolutional NMF (Smaragdis 2004; Mackevicius et al. 2019, "seqNMF") writes
the data, time points in rows and neurons in columns as everywhere in factorlab, as

    X[t, n] ≈ X_hat[t, n] = sum_k sum_{l < lag} H[t - l, k] W[n, k, l],

with templates ``W >= 0`` (neurons x rank x lag) and onset times ``H >= 0`` (time x rank).
With ``lag = 1`` this is plain NMF, ``X ≈ H W^T``. The model is fitted by minimising

    ||M * (X - X_hat)||_F^2 + lambda_xortho * R(W, H)

(``M`` the mask of observed entries), where the x-ortho penalty of seqNMF,
``R = sum_{i != j} [(W ⋆ X) S H^T]_ij``, is large when the onset times of one sequence overlap
(within ``lag`` frames, the smoothing ``S``) with the places where the data look like another
sequence: it discourages two factors that explain the same sequence. All entries are
nonnegative, so ``R`` is linear in ``W`` for fixed ``H`` and in ``H`` for fixed ``W``, which the
solvers use.

Two solvers:

``"mu"`` (default)
    The multiplicative updates of seqNMF (Lee & Seung's rule on the convolutional model).
``"hals"``
    Block coordinate descent. Stacking the shifted copies of ``H`` as columns of a
    (time, rank * lag) matrix makes the template update an ordinary NMF block, solved by exact
    HALS column sweeps; the onset update, a nonnegative deconvolution, is solved by accelerated
    projected gradient (FISTA with adaptive restart), its step from an upper bound on the
    operator norm (the templates' spectral Gram matrix over frequencies, FFT). Without the
    penalty the objective never increases (tested); with it, rescaling the onsets to unit norm
    after each iteration changes the penalty, so the objective may rise slightly. On three
    planted recordings (60 neurons, 1500 frames, 3 sequences;
    ``benchmarks/convnmf_solvers.py``) it stops at a higher objective than MU on all three
    (111, 124, 126 against 103, 87, 118) and its templates match the truth no better
    (correlations 0.44-0.88 against 0.64-0.96): exact template updates from a random start
    lock into shifted, mixed templates. MU is the default; "hals" stays for starts near a
    solution (``init=(W0, H0)``).

At the end of the recording the model follows seqNMF: the data are taken to be silent for
``lag - 1`` frames after the last one and no sequence starts there, so a sequence that starts
in the last frames must show its whole template. (Otherwise such an onset costs nothing, as
only its first frames are seen, and the multiplicative updates park most of the onsets' unit
norm on it: on the songbird recording a unit onset on the last frame.) The relative errors
count these silent frames, where only the tails of late sequences can miss.

Without a mask, the onsets are finally solved for the final templates by accelerated
projected gradient to ``tol`` (what ``ConvNMF.transform`` does for new data), so that
``fit_transform(X)`` and ``transform(X)`` agree and onsets that the multiplicative updates left
stuck near zero are freed; the last entries of the histories are the values after it.

With a mask, unobserved entries are filled with the current reconstruction before each block
update (majorization-minimization: the filled problem's loss touches the masked loss from above),
so both solvers minimise the error on observed entries only, as :func:`cross_validate` needs.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, to_torch
from .._linalg import hals_update
from .._validate import (check_array, check_int, check_mask, check_nonnegative_number,
                         check_option, check_fraction, hide_unobserved)
from ..base import Estimator, TransformerMixin, cast_like_input_dtype, result_dtype

__all__ = ["ConvNMF", "conv_nmf", "ConvNMFFit", "conv_reconstruct", "sequence_significance",
           "SequenceSignificance"]

SOLVERS = ("mu", "hals")
_INNER_H = 10        # accelerated gradient steps per onset update ("hals")
_HALS_SWEEPS = 3     # HALS sweeps per template update
_EPS = 1e-12         # keeps the multiplicative updates' denominators positive


class ConvNMFFit(NamedTuple):
    """What :func:`conv_nmf` returns.

    Attributes
    ----------
    W : array of shape (n_features, rank, lag)
        Templates: ``W[n, k, l]`` is neuron ``n``'s activity ``l`` frames into sequence ``k``.
    H : array of shape (n_samples, rank)
        Onset times (unit-norm columns; the scale sits in ``W``), components sorted by the
        size of their templates.
    loss_history : ndarray of shape (n_iter + 1,)
        Relative error ``||X - X_hat||_F / ||X||_F`` (observed entries) at the start and after
        every iteration.
    objective_history : ndarray of shape (n_iter + 1,)
        The fitted objective (squared error plus ``lambda_xortho * R``) at the same points.
    n_iter : int
    converged : bool
        Whether the objective's relative decrease fell below ``tol`` before ``max_iter``.
    """

    W: object
    H: object
    loss_history: np.ndarray
    objective_history: np.ndarray
    n_iter: int
    converged: bool


# --- the convolutional model and its adjoint ----------------------------------------------
def _reconstruct(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """``X_hat[t, n] = sum_{k, l} H[t - l, k] W[n, k, l]`` (zero before t = 0)."""
    lag = W.shape[2]
    # conv1d correlates; flipping the templates turns it into the causal convolution
    return F.conv1d(F.pad(H.T[None], (lag - 1, 0)), W.flip(-1))[0].T


def _correlate(W: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The adjoint of :func:`_reconstruct`: ``(W ⋆ Y)[t, k] = sum_{n, l} W[n, k, l] Y[t + l, n]``,
    how much the data from frame ``t`` on look like template ``k``."""
    N, K, lag = W.shape
    T = Y.shape[0]
    # one matrix product, then lag shifted slices (7-13x faster than conv1d's float64 kernel
    # on the CPU when the output has few channels: benchmarks/convnmf_solvers.py)
    matched = F.pad((Y @ W.reshape(N, K * lag)).reshape(T, K, lag), (0, 0, 0, 0, 0, lag - 1))
    out = matched[:T, :, 0].clone()
    for l in range(1, lag):
        out += matched[l:l + T, :, l]
    return out


def _shifted_stack(H: torch.Tensor, lag: int) -> torch.Tensor:
    """(time, rank * lag) matrix whose column ``k * lag + l`` is column k of H delayed by l, so
    that ``X_hat = stack @ W.reshape(n_features, -1).T``."""
    T, K = H.shape
    padded = F.pad(H.T, (lag - 1, 0))                     # (K, T + lag - 1)
    windows = padded.unfold(1, T, 1).flip(1)              # (K, lag, T): [k, l, t] = H[t - l, k]
    return windows.permute(2, 0, 1).reshape(T, K * lag)


def _smooth(A: torch.Tensor, lag: int) -> torch.Tensor:
    """Sum of each column of A over a window of 2 lag - 1 frames centred on each frame."""
    kernel = torch.ones((1, 1, 2 * lag - 1), dtype=A.dtype, device=A.device)
    return F.conv1d(A.T[:, None], kernel, padding=lag - 1)[:, 0].T


def _spectral_norm_sq(W: torch.Tensor) -> float:
    """An upper bound on ``||A||^2`` for the operator ``A: H -> X_hat``.

    ``A`` is a (truncated) multichannel convolution, so its norm is at most the largest
    singular value of the templates' transfer matrix over frequencies. That maximum is taken on
    a grid of ``M >= 32 lag`` frequencies; by Bernstein's inequality for trigonometric
    polynomials of degree ``lag - 1`` the true maximum exceeds the grid's by at most the factor
    ``1 / (1 - pi (lag - 1) / M)`` (about 1.1), which is applied.
    """
    lag = W.shape[2]
    M = 1 << max(6, math.ceil(math.log2(32 * lag)))
    spectrum = torch.fft.rfft(W, n=M, dim=2)              # (N, K, M // 2 + 1)
    gram = torch.einsum("nkf,njf->fkj", spectrum.conj(), spectrum)
    top = float(torch.linalg.eigvalsh(gram)[:, -1].max())
    return top / (1.0 - math.pi * (lag - 1) / M)


# --- the x-ortho penalty --------------------------------------------------------------------
class _XOrtho:
    """``R(W, H) = sum_{i != j} [smooth(W ⋆ X_obs)^T H]_ij`` and its (constant) block gradients."""

    def __init__(self, X_obs: torch.Tensor, lag: int, strength: float):
        self.X, self.lag, self.strength = X_obs, lag, strength
        self.active = strength > 0

    def _off_diagonal(self, A: torch.Tensor) -> torch.Tensor:
        # A @ (ones - I): each column j sums the other columns
        return A.sum(1, keepdim=True) - A

    def grad_H(self, W: torch.Tensor) -> torch.Tensor:
        return self._off_diagonal(_smooth(_correlate(W, self.X), self.lag))

    def grad_W(self, H: torch.Tensor) -> torch.Tensor:
        Z = _smooth(self._off_diagonal(H), self.lag)      # (T, K)
        return (self.X.T @ _shifted_stack(Z, self.lag)).reshape(self.X.shape[1], H.shape[1], -1)

    def value(self, W: torch.Tensor, H: torch.Tensor) -> float:
        if not self.active:
            return 0.0
        return float((self.grad_H(W) * H).sum())


# --- block updates ----------------------------------------------------------------------------
def _update_W_hals(X, W, H, penalty):
    N, K, lag = W.shape
    stack = _shifted_stack(H, lag)
    G, P = stack.T @ stack, X.T @ stack
    if penalty.active:
        # gradient of ||X - stack W^T||^2 + lambda <W, D> vanishes at W G = P - lambda D / 2
        P = P - 0.5 * penalty.strength * penalty.grad_W(H).reshape(N, K * lag)
    return hals_update(W.reshape(N, K * lag), G, P, _HALS_SWEEPS).reshape(N, K, lag)


def _objective_H(X, W, H, linear):
    R = X - _reconstruct(W, H)
    value = float((R * R).sum())
    return value if linear is None else value + float((linear * H).sum())


def _update_H_apg(X, W, H, linear, steps=_INNER_H):
    """Accelerated projected gradient on ``||X - A H||^2 + <linear, H>``, ``H >= 0``; falls
    back to one plain projected gradient step (which cannot increase it) if the accelerated
    iterate ends higher than the start."""
    norm_sq = _spectral_norm_sq(W)
    if not norm_sq > 0:         # all templates zero: the onsets do not change the fit
        return H
    step = 1.0 / (2.0 * norm_sq)
    WtX = _correlate(W, X)
    if linear is not None:
        WtX = WtX - 0.5 * linear

    def projected_step(Y):
        return (Y - 2.0 * step * (_correlate(W, _reconstruct(W, Y)) - WtX)).clamp_min(0)

    start_value = _objective_H(X, W, H, linear)
    current, Y, t = H, H, 1.0
    for _ in range(steps):
        new = projected_step(Y)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        if float(((Y - new) * (new - current)).sum()) > 0:   # momentum points uphill: restart
            Y, t_next = new, 1.0
        else:
            Y = new + ((t - 1.0) / t_next) * (new - current)
        current, t = new, t_next
    if _objective_H(X, W, current, linear) > start_value:
        current = projected_step(H)
    return current


def _solve_onsets(X, W, H, linear, T, tol, max_iter):
    """The onsets for fixed templates: accelerated-gradient rounds from ``H`` until the
    objective's relative decrease falls below ``tol`` (rows from ``T`` on, after the
    recording, stay zero)."""
    previous = _objective_H(X, W, H, linear)
    for _ in range(max_iter):
        H = _update_H_apg(X, W, H, linear)
        H[T:] = 0
        value = _objective_H(X, W, H, linear)
        if previous - value <= tol * max(previous, 1e-300):
            break
        previous = value
    return H


def _update_H_mu(X, W, H, linear):
    numerator = _correlate(W, X)
    denominator = _correlate(W, _reconstruct(W, H))
    if linear is not None:
        denominator = denominator + 0.5 * linear
    return H * numerator.clamp_min(0) / (denominator + _EPS)


def _update_W_mu(X, W, H, penalty):
    N, K, lag = W.shape
    stack = _shifted_stack(H, lag)
    numerator = (X.T @ stack).reshape(N, K, lag)
    denominator = (_reconstruct(W, H).T @ stack).reshape(N, K, lag)
    if penalty.active:
        denominator = denominator + 0.5 * penalty.strength * penalty.grad_W(H)
    return W * numerator.clamp_min(0) / (denominator + _EPS)


def _pad_end(A, lag: int, value=0):
    """A (time x ...) with ``lag - 1`` more rows of ``value`` after its last; None stays None."""
    if A is None or lag == 1:
        return A
    return torch.cat([A, A.new_full((lag - 1,) + tuple(A.shape[1:]), value)])


def _normalise(W: torch.Tensor, H: torch.Tensor):
    """Unit-norm onset columns (the scale moves into the templates); the reconstruction is
    unchanged."""
    norms = torch.linalg.norm(H, dim=0)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return W * safe[None, :, None], H / safe


def _sorted(W: torch.Tensor, H: torch.Tensor):
    order = torch.argsort(torch.linalg.norm(W, dim=(0, 2)), descending=True, stable=True)
    return W[:, order], H[:, order]


def _check_init(init, shape, rank, lag):
    if not (isinstance(init, (tuple, list)) and len(init) == 2):
        raise ValueError("init must be 'random' or a pair (W0, H0) of nonnegative arrays.")
    W0 = check_array(init[0], "init[0] (W0)", ndim=3, nonnegative=True)
    H0 = check_array(init[1], "init[1] (H0)", nonnegative=True)
    T, N = shape
    if tuple(W0.shape) != (N, rank, lag) or tuple(H0.shape) != (T, rank):
        raise ValueError(f"init=(W0, H0) must have shapes {(N, rank, lag)} and {(T, rank)}, "
                         f"got {tuple(W0.shape)} and {tuple(H0.shape)}.")
    return W0, H0


def conv_nmf(X, rank, lag, lambda_xortho=0.0, solver="mu", init="random", mask=None,
             max_iter=200, tol=1e-4, random_state=None, progress=False) -> ConvNMFFit:
    """Convolutional NMF ``X[t] ≈ sum_{k, l} H[t - l, k] W[:, k, l]`` (seqNMF).

    Parameters
    ----------
    X : array or tensor of shape (n_samples, n_features), nonnegative
        Time points in rows, neurons (or frequency bins) in columns.
    rank : int
        Number of sequences.
    lag : int
        Length of each template in frames (time points). Choose it longer than the sequences
        you look for; :func:`factorlab.cross_validate` with a mask compares lags and ranks.
    lambda_xortho : float, default 0
        Strength of seqNMF's x-ortho penalty; 0 fits plain convolutional NMF. Rescaling the
        data does not change its effect (the error and the penalty both grow like the square
        of the data), but its useful range depends on the rank, the lag and how densely the
        neurons fire; seqNMF's recipe is to sweep it and take a value a little above where
        the falling overlap cost crosses the rising reconstruction cost.
        A value that shrinks every template towards zero (relative error above 0.99) gives
        a ``RuntimeWarning``.
    solver : {"mu", "hals"}
        seqNMF's multiplicative updates (default), or HALS templates with accelerated-gradient
        onsets (see the module docstring for why MU is the default).
    init : "random" or (W0, H0)
        Uniform random factors scaled to the data's mean, or your own nonnegative start.
    mask : bool array of X's shape, optional
        True = observed; only observed entries are fitted.
    max_iter : int
    tol : float
        Stop when the objective decreases by less than ``tol`` (relatively) in one iteration;
        0 runs all ``max_iter`` iterations.
    random_state : int, numpy Generator or None
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ConvNMFFit
        ``W`` (features x rank x lag), ``H`` (samples x rank), histories, ``n_iter``,
        ``converged``; NumPy for NumPy input, tensors (on the input's device) for tensor input,
        in the input's floating dtype (the arithmetic is float64).

    Examples
    --------
    >>> from factorlab.data import neural_sequences
    >>> X, truth = neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=20,
    ...                             random_state=0)
    >>> fit = conv_nmf(X, rank=2, lag=20, random_state=0)
    >>> truth_error = np.linalg.norm(X - conv_reconstruct(truth.W, truth.H)) / np.linalg.norm(X)
    >>> fit.W.shape, fit.H.shape, bool(fit.loss_history[-1] <= truth_error)
    ((30, 2, 20), (600, 2), True)
    """
    if mask is None:
        X_arr = check_array(X, "X", nonnegative=True)
    else:
        X_arr, mask = hide_unobserved(X, mask, nonnegative=True, owner="conv_nmf")
    if isinstance(X_arr, torch.Tensor):
        X_arr = X_arr.detach()
    T, N = X_arr.shape
    rank = check_int(rank, "rank", minimum=1)
    lag = check_int(lag, "lag", minimum=1)
    lambda_xortho = check_nonnegative_number(lambda_xortho, "lambda_xortho")
    solver = check_option(solver, "solver", SOLVERS)
    mask_arr = check_mask(mask, (T, N))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_nonnegative_number(tol, "tol")
    rng = check_random_state(random_state)

    Xt = to_torch(X_arr, dtype=torch.float64)
    device = Xt.device
    M = None if mask_arr is None else to_torch(mask_arr).bool().to(device)
    if M is not None:
        Xt = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype, device=device))
    norm_sq = max(float((Xt * Xt).sum()), 1e-300)
    if isinstance(init, str) and init == "random":
        n_observed = Xt.numel() if M is None else max(int(M.sum()), 1)
        # uniform entries with mean a/2 give a reconstruction of mean rank * lag * a^2 / 4
        a = 2.0 * math.sqrt(max(float(Xt.sum()) / n_observed, 1e-12) / (rank * lag))
        W = torch.from_numpy(a * rng.random((N, rank, lag))).to(device)
        H = torch.from_numpy(a * rng.random((T, rank))).to(device)
    elif isinstance(init, str):
        raise ValueError(f"init must be 'random' or a pair (W0, H0), got {init!r}.")
    else:
        W0, H0 = _check_init(init, (T, N), rank, lag)
        W = to_torch(W0, device=device, dtype=torch.float64).clone()
        H = to_torch(H0, device=device, dtype=torch.float64).clone()
    W, H = _normalise(W, H)
    # seqNMF's edge rule: the recording is taken to be silent for lag - 1 frames after its
    # end, and no sequence starts there. Otherwise an onset in the last frames costs nothing
    # (only its first frames are seen), and MU parks most of the onsets' unit norm there.
    Xt, M, H = _pad_end(Xt, lag), _pad_end(M, lag, True), _pad_end(H, lag)
    penalty = _XOrtho(Xt, lag, lambda_xortho)

    def filled():
        # unobserved entries take the current reconstruction (see the module docstring)
        return Xt if M is None else torch.where(M, Xt, _reconstruct(W, H))

    def scores():
        R = Xt - _reconstruct(W, H)
        if M is not None:
            R = R * M
        error_sq = float((R * R).sum())
        return (math.sqrt(error_sq / norm_sq),
                error_sq + lambda_xortho * penalty.value(W, H))

    error, objective = scores()
    errors, objectives, converged, it = [error], [objective], False, 0
    bar = tqdm(range(1, max_iter + 1), disable=not progress, desc=f"ConvNMF ({solver})")
    for it in bar:
        Xf = filled()
        W = (_update_W_hals if solver == "hals" else _update_W_mu)(Xf, W, H, penalty)
        Xf = filled()
        linear = lambda_xortho * penalty.grad_H(W) if penalty.active else None
        H = (_update_H_apg if solver == "hals" else _update_H_mu)(Xf, W, H, linear)
        H[T:] = 0                                    # no onsets after the recording
        W, H = _normalise(W, H)
        error, new_objective = scores()
        errors.append(error)
        objectives.append(new_objective)
        if progress:
            bar.set_postfix(error=f"{error:.4g}")
        if tol > 0 and objective - new_objective <= tol * objective:
            converged = True
            break
        objective = new_objective
    if M is None:
        # The onsets solved for the final templates, as transform solves them: fit_transform
        # and transform then agree, and onsets that MU left stuck near zero are freed.
        linear = lambda_xortho * penalty.grad_H(W) if penalty.active else None
        W, H = _normalise(W, _solve_onsets(Xt, W, H, linear, T, max(tol, 1e-12), max_iter))
        error, objective = scores()
        errors[-1], objectives[-1] = error, objective
    if lambda_xortho > 0 and error > 0.99:
        # the updates shrink every template when the penalty outweighs the fit, and an entry
        # near zero stays near zero: the fit then explains (almost) nothing
        warnings.warn(f"lambda_xortho={lambda_xortho:g} shrank every template towards zero "
                      f"(relative error {error:.3f}): the penalty outweighs the fit on these "
                      "data. Try a value 10 times smaller.", RuntimeWarning, stacklevel=2)
    W, H = _sorted(W, H[:T])
    dtype = result_dtype(X_arr)
    W, H = (cast_like_input_dtype(like_input(A, X_arr), dtype) for A in (W, H))
    return ConvNMFFit(W, H, np.asarray(errors), np.asarray(objectives), it, converged)


def conv_reconstruct(W, H):
    """The convolutional model's data, ``X_hat[t, n] = sum_{k, l} H[t - l, k] W[n, k, l]``.

    Parameters
    ----------
    W : array of shape (n_features, rank, lag)
    H : array of shape (n_samples, rank)

    Returns
    -------
    array of shape (n_samples, n_features), NumPy or tensor like ``H``

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((2, 1, 3)); W[0, 0, 0] = W[1, 0, 2] = 1.0   # neuron 1 fires 2 frames later
    >>> H = np.zeros((5, 1)); H[1, 0] = 1.0                        # one onset, at frame 1
    >>> conv_reconstruct(W, H).T.tolist()
    [[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]]
    """
    W_arr, H_arr = check_array(W, "W", ndim=3), check_array(H, "H")
    if W_arr.shape[1] != H_arr.shape[1]:
        raise ValueError(f"W {tuple(W_arr.shape)} and H {tuple(H_arr.shape)} disagree on the "
                         "rank: need W (n_features, rank, lag) and H (n_samples, rank).")
    Ht = to_torch(H_arr, dtype=torch.float64)
    Wt = to_torch(W_arr, device=Ht.device, dtype=torch.float64)
    out = _reconstruct(Wt, Ht)
    return cast_like_input_dtype(like_input(out, H_arr), result_dtype(H_arr))


# --- significance of the sequences on held-out data -------------------------------------------
class SequenceSignificance(NamedTuple):
    """What :func:`sequence_significance` returns.

    Attributes
    ----------
    pvalues : ndarray of shape (rank,)
    skewness : ndarray of shape (rank,)
        Skewness over time of each template's match ``W ⋆ X`` with the held-out data.
    null_skewness : ndarray of shape (n_null, rank)
    significant : ndarray of bool, shape (rank,)
        ``pvalues < alpha / rank`` (Bonferroni over the sequences).
    """

    pvalues: np.ndarray
    skewness: np.ndarray
    null_skewness: np.ndarray
    significant: np.ndarray


def _skewness(A: torch.Tensor) -> torch.Tensor:
    centred = A - A.mean(-1, keepdim=True)
    spread = centred.pow(2).mean(-1).sqrt().clamp_min(1e-300)
    return centred.pow(3).mean(-1) / spread**3


def sequence_significance(W, X, n_null=1000, alpha=0.05, random_state=None,
                          batch=100) -> SequenceSignificance:
    """Test whether each template is a real sequence in held-out data (seqNMF's test).

    A real sequence recurs as a whole: at the moments it plays, all its neurons fire at their
    delays together, so the template's match with the data, ``(W ⋆ X)[t, k]``, has rare large
    values — a right-skewed distribution over time. The null hypothesis keeps every neuron's
    part of the template but shifts it circularly by a random delay, neuron by neuron, which
    keeps each neuron's firing and breaks the sequence. The p-value is the fraction of
    ``n_null`` such templates (plus the actual one) whose match is at least as skewed.

    Parameters
    ----------
    W : array of shape (n_features, rank, lag)
        Templates fitted on other data (a fit on the same data would favour them).
    X : array of shape (n_samples, n_features), nonnegative
        Held-out data, e.g. the second half of a recording.
    n_null : int
    alpha : float in (0, 1)
        Family-wise level; each of the ``rank`` templates is tested at ``alpha / rank``.
    random_state : int, numpy Generator or None
    batch : int
        Null templates evaluated per convolution (memory: ``batch * rank * n_samples``).

    Returns
    -------
    SequenceSignificance

    Examples
    --------
    >>> from factorlab.data import neural_sequences
    >>> X, truth = neural_sequences(n_neurons=30, n_samples=1200, n_sequences=2, lag=20,
    ...                             random_state=0)
    >>> fit = conv_nmf(X[:600], rank=2, lag=20, random_state=0)
    >>> sequence_significance(fit.W, X[600:], n_null=200, random_state=0).significant.tolist()
    [True, True]
    """
    W_arr = check_array(W, "W", ndim=3, nonnegative=True)
    X_arr = check_array(X, "X", nonnegative=True)
    if X_arr.shape[1] != W_arr.shape[0]:
        raise ValueError(f"X has {X_arr.shape[1]} features (columns) but W has templates for "
                         f"{W_arr.shape[0]}: need X (n_samples, n_features) and W "
                         "(n_features, rank, lag).")
    n_null = check_int(n_null, "n_null", minimum=1)
    alpha = check_fraction(alpha, "alpha")
    batch = check_int(batch, "batch", minimum=1)
    rng = check_random_state(random_state)
    Xt = to_torch(X_arr, dtype=torch.float64).detach()
    Wt = to_torch(W_arr, device=Xt.device, dtype=torch.float64).detach()
    N, K, lag = Wt.shape
    observed = _skewness(_correlate(Wt, Xt).T)                       # (K,)
    null = []
    frames = torch.arange(lag, device=Xt.device)
    for start in range(0, n_null, batch):
        size = min(batch, n_null - start)
        shifts = torch.from_numpy(rng.integers(0, lag, (size, N, K))).to(Xt.device)
        index = (frames - shifts[..., None]) % lag                    # (size, N, K, lag)
        shuffled = torch.gather(Wt.expand(size, N, K, lag), 3, index)
        # all null templates of the batch in one convolution: (size * K) output channels
        weight = shuffled.permute(0, 2, 1, 3).reshape(size * K, N, lag)
        match = F.conv1d(F.pad(Xt.T[None], (0, lag - 1)), weight)[0]  # (size * K, T)
        null.append(_skewness(match).reshape(size, K))
    null_skew = torch.cat(null).cpu().numpy()
    obs = observed.cpu().numpy()
    pvalues = (1.0 + (null_skew >= obs).sum(0)) / (1.0 + n_null)
    return SequenceSignificance(pvalues, obs, null_skew, pvalues < alpha / K)


# --- the estimator ----------------------------------------------------------------------------
class ConvNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Estimator):
    """Convolutional NMF (seqNMF): ``X[t] ≈ sum_{k, l} H_[t - l, k] W_[:, k, l]``.

    Finds ``rank`` sequences, each a template of ``lag`` frames over the neurons, and when
    each one plays. See :func:`conv_nmf` for the model, the penalty and the solvers.

    Parameters
    ----------
    rank : int, default 2
    lag : int, default 10
        Template length in frames; take it longer than the sequences you expect, or compare
        lags by :func:`factorlab.cross_validate`.
    lambda_xortho : float, default 0
    solver : {"mu", "hals"}, default "mu"
    init : "random" or (W0, H0), default "random"
    max_iter : int, default 200
    tol : float, default 1e-4
    random_state : int, numpy Generator or None
    progress : bool, default False

    Attributes
    ----------
    W_ : array of shape (n_features, rank, lag)
        Templates (sorted by size).
    H_ : array of shape (n_samples, rank)
        Onset times of the training data (unit-norm columns).
    loss_history_ : ndarray
        Relative error at the start and after each iteration.
    objective_history_ : ndarray
    n_iter_ : int
    converged_ : bool

    Notes
    -----
    ``transform`` finds the onsets of the learned sequences in new data (same number of
    neurons, any length) with the templates fixed; ``reconstruct`` returns the fitted
    approximation of the training data. ``fit(X, mask=M)`` fits observed entries only, so
    :func:`factorlab.cross_validate` works (it varies ``rank``; loop over ``lag`` yourself).

    Examples
    --------
    >>> from factorlab.data import neural_sequences
    >>> X, truth = neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=20,
    ...                             random_state=0)
    >>> model = ConvNMF(rank=2, lag=20, random_state=0).fit(X)
    >>> model.W_.shape, model.transform(X[:300]).shape
    ((30, 2, 20), (300, 2))
    """

    _positive_only = True

    def __init__(self, rank=2, lag=10, lambda_xortho=0.0, solver="mu", init="random",
                 max_iter=200, tol=1e-4, random_state=None, progress=False):
        self.rank = rank
        self.lag = lag
        self.lambda_xortho = lambda_xortho
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.progress = progress

    @property
    def _n_features_out(self):
        return self.W_.shape[1]

    def fit(self, X, y=None, *, mask=None):
        """Fit templates and onsets to ``X`` (time x neurons).

        Parameters
        ----------
        X : array or tensor of shape (n_samples, n_features), nonnegative
        y : ignored
        mask : boolean array of X's shape, optional
            True where an entry is observed; only those entries are fitted.

        Returns
        -------
        self
        """
        if isinstance(X, torch.Tensor):
            X = X.detach()
        if mask is not None:
            X, mask = hide_unobserved(X, mask, nonnegative=True, owner="ConvNMF")
        X = self._validate_input(X, reset=True)
        result = conv_nmf(X, self.rank, self.lag, lambda_xortho=self.lambda_xortho,
                          solver=self.solver, init=self.init, mask=mask,
                          max_iter=self.max_iter, tol=self.tol,
                          random_state=self.random_state, progress=self.progress)
        self.W_, self.H_ = result.W, result.H
        self.loss_history_ = result.loss_history
        self.objective_history_ = result.objective_history
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        return self

    def fit_transform(self, X, y=None, *, mask=None):
        """Fit and return ``H_``, the onsets in the training data."""
        return self.fit(X, mask=mask).H_

    def transform(self, X):
        """Onsets of the learned sequences in new data, templates ``W_`` fixed.

        Solves ``min_{H >= 0} ||X - X_hat(W_, H)||^2 (+ the x-ortho term)`` to the model's
        ``tol`` (at most ``max_iter`` accelerated-gradient rounds).

        Parameters
        ----------
        X : array of shape (n_new, n_features), nonnegative

        Returns
        -------
        H_new : array of shape (n_new, rank)
        """
        Xn = self._validate_input(X, reset=False, nonnegative=True)
        Xn = Xn.detach() if isinstance(Xn, torch.Tensor) else Xn
        T = Xn.shape[0]
        W = to_torch(self.W_, dtype=torch.float64)
        Xt = _pad_end(to_torch(Xn, dtype=torch.float64), W.shape[2])   # the edge rule of fit
        W = W.to(Xt.device)
        penalty = _XOrtho(Xt, W.shape[2], float(self.lambda_xortho))
        linear = self.lambda_xortho * penalty.grad_H(W) if penalty.active else None
        H = _correlate(W, Xt).clamp_min(0)
        H[T:] = 0
        scale = float((_reconstruct(W, H) * Xt).sum()) / max(
            float(_reconstruct(W, H).pow(2).sum()), 1e-300)
        H = H * max(scale, 0.0)          # the best multiple of the matched filter as a start
        H = _solve_onsets(Xt, W, H, linear, T, float(self.tol),
                          check_int(self.max_iter, "max_iter", minimum=1))
        return cast_like_input_dtype(like_input(H[:T], Xn), result_dtype(Xn))

    def inverse_transform(self, X):
        """The data the model makes from onsets ``X`` (n_samples x rank)."""
        self._check_fitted()
        H = check_array(X, "X")
        if H.shape[1] != self.W_.shape[1]:
            raise ValueError(f"X must have {self.W_.shape[1]} columns (the rank), got shape "
                             f"{tuple(H.shape)}.")
        return conv_reconstruct(self.W_, H)

    def reconstruct(self):
        """The fitted approximation of the training data (n_samples x n_features)."""
        self._check_fitted()
        return self.inverse_transform(self.H_)

    def _check_loaded(self, path) -> None:
        W, H = getattr(self, "W_", None), getattr(self, "H_", None)
        if W is None or np.ndim(W) != 3 or W.shape[0] != self.n_features_in_ or (
                H is not None and (np.ndim(H) != 2 or H.shape[1] != W.shape[1])):
            raise ValueError(f"{path} holds an inconsistent ConvNMF: W_ must be "
                             f"({self.n_features_in_}, rank, lag) and H_ (n_samples, rank).")
