"""How similar are two factorizations? Match components, then compare them mode by mode.

Two fits of the same model from different starts list their components in arbitrary order and
(for models with signs) with arbitrary signs, so components are first paired by the Hungarian
method (``scipy.optimize.linear_sum_assignment``) on a component-by-component similarity matrix.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .._backend import like_input
from .._validate import check_option
from .models import factors_of

__all__ = ["similarity", "align"]

_TINY = 1e-12


def _unit_columns(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(F, axis=0)
    return F / np.where(norms > _TINY, norms, 1.0), norms


def _sizes(factors, weights) -> np.ndarray:
    """Size of each component: weight times the product of its column norms."""
    size = np.prod([np.linalg.norm(f, axis=0) for f in factors], axis=0)
    return size if weights is None else size * np.abs(weights)


def _check_pair(fa, fb) -> None:
    if len(fa) != len(fb):
        raise ValueError(f"a and b must have the same number of modes, got {len(fa)} and "
                         f"{len(fb)}.")
    for n, (A, B) in enumerate(zip(fa, fb)):
        if A.shape[0] != B.shape[0]:
            raise ValueError(f"a and b differ in the size of mode {n}: {A.shape[0]} vs "
                             f"{B.shape[0]}; they must be fits to data of the same shape.")


def _match(a, b, score, weight_penalty, absolute):
    """Pair the nonzero components of a and b; return the score, the pairs and the per-mode
    signed cosines of each pair."""
    score = check_option(score, "score", ("mean", "product"))
    fa, wa = factors_of(a)
    fb, wb = factors_of(b)
    _check_pair(fa, fb)
    size_a, size_b = _sizes(fa, wa), _sizes(fb, wb)
    keep_a, keep_b = np.flatnonzero(size_a > _TINY), np.flatnonzero(size_b > _TINY)
    if len(keep_a) == 0 or len(keep_b) == 0:  # an all-zero model resembles nothing
        return 0.0, keep_a[:0], keep_b[:0], np.zeros((len(fa), 0))
    cos = np.stack([_unit_columns(A[:, keep_a])[0].T @ _unit_columns(B[:, keep_b])[0]
                    for A, B in zip(fa, fb)])  # (modes, Ra, Rb)
    per_mode = np.abs(cos) if absolute else cos
    S = per_mode.mean(0) if score == "mean" else np.prod(per_mode, axis=0)
    if weight_penalty:
        la, lb = size_a[keep_a][:, None], size_b[keep_b][None, :]
        S = S * (1 - np.abs(la - lb) / np.maximum(la, lb))
    rows, cols = linear_sum_assignment(S, maximize=True)
    value = float(np.clip(S[rows, cols].sum() / min(len(keep_a), len(keep_b)), 0.0, 1.0))
    return value, keep_a[rows], keep_b[cols], cos[:, rows, cols]


def similarity(a, b, score="mean", weight_penalty=False, absolute=True) -> float:
    """Similarity in [0, 1] of two factorizations after optimally matching their components.

    For each pair of components ``(i, j)`` the cosine of their factor vectors is taken in every
    mode; the pair's similarity is the mean (``score="mean"``, default) or the product
    (``"product"``, stricter) of these cosines over modes, optionally multiplied by a size
    penalty ``1 - |λ_i - λ_j| / max(λ_i, λ_j)``. Components are then matched one to one by the
    Hungarian method and the result is the mean over the ``min(R_a, R_b)`` matched pairs; extra
    components are ignored. Zero components are dropped first (they have no direction).

    Parameters
    ----------
    a, b : fitted model, CPTensor, (weights, factors) or list of factor matrices
        Fitted CP or matrix models (``U_``, ``V_``) on data of the same shape, or their factors
        (one matrix per mode, components in columns).
    score : {"mean", "product"}
        How per-mode cosines combine.
    weight_penalty : bool
        Also penalise components of different size (λ = weight x product of column norms).
    absolute : bool
        Use ``|cos|`` (default): a component and its sign-flipped copy are the same for models
        with signs (PCA, CP). For nonnegative models the cosines are nonnegative anyway.

    Returns
    -------
    float
        1 for identical factorizations up to permutation, rescaling (and sign).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> U, V = rng.standard_normal((8, 3)), rng.standard_normal((5, 3))
    >>> perm = [2, 0, 1]
    >>> round(similarity([U, V], [-3 * U[:, perm], -V[:, perm] / 3]), 6)
    1.0
    >>> similarity([U, V], [U, rng.standard_normal((5, 3))]) < 0.9
    True
    """
    return _match(a, b, score, weight_penalty, absolute)[0]


def _legal_flips(cos_pair: np.ndarray, flippable: np.ndarray) -> np.ndarray:
    """Which modes to flip for one matched pair: the modes with a negative cosine, made an even
    number (so the component itself is unchanged) by toggling the least decisive mode."""
    flip = (cos_pair < 0) & flippable
    if flip.sum() % 2:
        candidates = np.flatnonzero(flippable)
        flip[candidates[np.argmin(np.abs(cos_pair[candidates]))]] ^= True
    return flip


def align(a, b, score="mean", weight_penalty=False):
    """Return a copy of ``b`` with its components permuted (and signs flipped) to match ``a``.

    Component ``k`` of the result is the component of ``b`` matched to component ``k`` of
    ``a``; unmatched components of ``b`` follow in their original order. Signs are flipped in
    pairs of modes (an even number per component), so the model's reconstruction is unchanged;
    modes whose factor in ``b`` is entirely nonnegative are never flipped. ``b`` is not modified.

    Parameters
    ----------
    a : reference (fitted model, CPTensor, (weights, factors) or list of factor matrices)
    b : the factorization to reorder, of any of those kinds
    score, weight_penalty : see :func:`similarity`

    Returns
    -------
    same kind as ``b``
        A deep copy for models (only ``U_``/``V_`` or ``factors_``/``weights_`` are
        reordered); a new list or ``(weights, factors)`` tuple otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> U, V = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    >>> U2, V2 = align([U, V], [-U[:, [1, 2, 0]], -V[:, [1, 2, 0]]])
    >>> bool(np.allclose(U2, U) and np.allclose(V2, V))
    True
    """
    _, rows, cols, cos = _match(a, b, score, weight_penalty, absolute=True)
    fb, wb = factors_of(b)
    R = fb[0].shape[1]
    order = np.argsort(rows, kind="stable")
    perm = np.concatenate([cols[order], np.setdiff1d(np.arange(R), cols)]).astype(int)
    flippable = np.array([bool((f < 0).any()) for f in fb])
    signs = np.ones((len(fb), R))
    for k, j in enumerate(cols[order]):
        flip = _legal_flips(cos[:, order[k]], flippable)
        signs[flip, k] = -1.0
    new = [f[:, perm] * s for f, s in zip(fb, signs)]
    new_w = None if wb is None else wb[perm]
    return _rebuild(b, new, new_w)


def _rebuild(b, factors, weights):
    def cast(value, like):
        return like_input(torch.as_tensor(value), like) if isinstance(like, torch.Tensor) \
            else value.astype(np.asarray(like).dtype, copy=False)

    if hasattr(b, "factors_"):
        out = copy.deepcopy(b)
        out.factors_ = [cast(f, old) for f, old in zip(factors, b.factors_)]
        out.weights_ = cast(weights, b.weights_)
        return out
    if hasattr(b, "U_"):
        out = copy.deepcopy(b)
        out.U_, out.V_ = cast(factors[0], b.U_), cast(factors[1], b.V_)
        return out
    if hasattr(b, "factors") and hasattr(b, "weights"):
        from tensorly.cp_tensor import CPTensor

        return CPTensor((weights, factors))
    if weights is not None:
        return weights, factors
    return [cast(f, old) for f, old in zip(factors, b)]
