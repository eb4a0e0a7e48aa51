"""Proximal operators and losses whose backward pass is a proximal step.

``soft_threshold`` and ``svt`` are the building blocks of sparse PCA and robust PCA (IALM, PCP).
They work on NumPy arrays and torch tensors alike (same container out).

``L1ProxLoss`` and ``NuclearProxLoss`` (Sakai et al., 2021) are torch losses for the deep
models: their forward value is ``w * ||Q||_1`` or ``w * ||Q||_*``, but their backward pass
returns the *proximal residual* ``Q - prox(Q)`` instead of a subgradient, so that one SGD step
with learning rate 1 on ``Q`` is exactly the proximal map. Plain autograd of ``|.|`` or of the
nuclear norm oscillates around the kink and never produces exact zeros; these do.
"""

from __future__ import annotations

import numpy as np
import torch

from ._backend import like_input, to_torch
from ._linalg import thin_svd
from ._validate import check_array, check_nonnegative_number

__all__ = ["soft_threshold", "svt", "L1ProxLoss", "NuclearProxLoss", "l1_prox_loss",
           "nuclear_prox_loss"]


def soft_threshold(x, threshold):
    """Soft thresholding, the proximal map of ``threshold * |x|``.

    ``soft(x, t) = sign(x) * max(|x| - t, 0)``: entries smaller than ``t`` in magnitude become
    exactly zero, the others shrink towards zero by ``t``.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
    threshold : float or array broadcastable to ``x``
        Must be nonnegative and finite.

    Returns
    -------
    Same type as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([-2.0, -0.5, 0.5, 3.0]), 1.0).tolist()
    [-1.0, -0.0, 0.0, 2.0]
    """
    if isinstance(x, torch.Tensor):
        t = torch.as_tensor(threshold, dtype=x.dtype, device=x.device)
        if not bool(((t >= 0) & torch.isfinite(t)).all()):   # also catches NaN
            raise ValueError("threshold must be nonnegative and finite.")
        return torch.sign(x) * torch.clamp(x.abs() - t, min=0)
    t = np.asarray(threshold, dtype=float)
    if not ((t >= 0) & np.isfinite(t)).all():   # also catches NaN
        raise ValueError(f"threshold must be nonnegative and finite, got {threshold!r}.")
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0)


def svt(X, threshold, return_rank: bool = False):
    """Singular value thresholding, the proximal map of ``threshold * ||X||_*``.

    ``svt(X, t) = U diag(max(s - t, 0)) V^T`` for the SVD ``X = U diag(s) V^T``. Tall-skinny and
    short-fat matrices go through a QR first, so only an SVD of the small side is computed.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, 2-D
    threshold : float
        Nonnegative threshold on the singular values.
    return_rank : bool
        Also return the number of singular values above the threshold.

    Returns
    -------
    Same type as ``X`` (and an int when ``return_rank``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.diag([3.0, 1.0, 0.5])
    >>> np.round(np.linalg.svd(svt(X, 0.8), compute_uv=False), 6).tolist()
    [2.2, 0.2, 0.0]
    """
    threshold = check_nonnegative_number(threshold, "threshold")
    T = to_torch(check_array(X, "X", ndim=2, mask_hint=False))
    U, s, Vh = thin_svd(T)
    s_shrunk = torch.clamp(s - threshold, min=0)
    keep = int((s_shrunk > 0).sum())
    out = (U[:, :keep] * s_shrunk[:keep]) @ Vh[:keep]
    out = like_input(out, X)
    return (out, keep) if return_rank else out


class _L1ProxFunction(torch.autograd.Function):
    """Forward ``w * sum|Q|``; backward ``g * (Q - soft(Q, w))``."""

    @staticmethod
    def forward(ctx, Q, weight):
        ctx.save_for_backward(Q)
        ctx.weight = weight
        return weight * Q.abs().sum()

    @staticmethod
    def backward(ctx, grad_output):
        (Q,) = ctx.saved_tensors
        # Q - soft(Q, w) = clip(Q, -w, w): w * sign(Q) away from the kink, Q itself near it.
        return grad_output * torch.clamp(Q, -ctx.weight, ctx.weight), None


class _NuclearProxFunction(torch.autograd.Function):
    """Forward ``w * sum(singular values of Q)``; backward ``g * (Q - svt(Q, w))``."""

    @staticmethod
    def forward(ctx, Q, weight):
        U, s, Vh = thin_svd(Q)
        # Q - svt(Q, w) = U diag(min(s, w)) V^T; computed here so backward needs no second SVD.
        ctx.save_for_backward((U * torch.clamp(s, max=weight)) @ Vh)
        return weight * s.sum()

    @staticmethod
    def backward(ctx, grad_output):
        (residual,) = ctx.saved_tensors
        return grad_output * residual, None


def _check_loss_input(Q, ndim):
    if not isinstance(Q, torch.Tensor) or not Q.is_floating_point():
        raise TypeError(f"Q must be a floating torch tensor, got {type(Q).__name__}.")
    if ndim is not None and Q.ndim != ndim:
        raise ValueError(f"Q must be a {ndim}-D matrix (frames x pixels, say), got shape "
                         f"{tuple(Q.shape)}.")
    if Q.numel() == 0:
        raise ValueError("Q is empty.")


def l1_prox_loss(Q, weight=1.0):
    """``weight * ||Q||_1`` whose gradient is the proximal residual ``Q - soft(Q, weight)``.

    Parameters
    ----------
    Q : torch.Tensor
        Any shape.
    weight : float
        Nonnegative weight ``w`` of the norm (and threshold of the prox).

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> Q = torch.tensor([-2.0, 0.3, 1.5], requires_grad=True)
    >>> l1_prox_loss(Q, 0.5).backward()
    >>> Q.grad.tolist()  # Q - soft(Q, 0.5)
    [-0.5, 0.30000001192092896, 0.5]
    """
    _check_loss_input(Q, None)
    weight = check_nonnegative_number(weight, "weight")
    return _L1ProxFunction.apply(Q, weight)


def nuclear_prox_loss(Q, weight=1.0):
    """``weight * ||Q||_*`` whose gradient is the proximal residual ``Q - svt(Q, weight)``.

    Parameters
    ----------
    Q : torch.Tensor, 2-D
    weight : float
        Nonnegative weight ``w`` of the nuclear norm (and threshold of the SVT).

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> Q = torch.diag(torch.tensor([3.0, 0.2])).requires_grad_()
    >>> nuclear_prox_loss(Q, 0.5).backward()
    >>> torch.diagonal(Q.grad).tolist()  # singular values of Q - svt(Q): min(s, 0.5)
    [0.5, 0.20000000298023224]
    """
    _check_loss_input(Q, 2)
    weight = check_nonnegative_number(weight, "weight")
    return _NuclearProxFunction.apply(Q, weight)


class L1ProxLoss(torch.nn.Module):
    """Module form of :func:`l1_prox_loss`: ``weight * ||Q||_1`` with a proximal backward.

    One ``torch.optim.SGD`` step with ``lr=1`` on this loss maps ``Q`` to ``soft(Q, weight)``.
    The backward pass is the gradient of the Moreau envelope (the Huber function), so Adam and
    other optimisers see a gradient that shrinks near zero instead of jumping between +-w.

    Parameters
    ----------
    weight : float
        Nonnegative weight of the norm.

    Examples
    --------
    >>> import torch
    >>> Q = torch.nn.Parameter(torch.tensor([-2.0, 0.3, 1.5]))
    >>> opt = torch.optim.SGD([Q], lr=1.0)
    >>> L1ProxLoss(0.5)(Q).backward(); opt.step()
    >>> Q.data.tolist()  # soft(Q, 0.5): exact zero for the small entry
    [-1.5, 0.0, 1.0]
    """

    def __init__(self, weight=1.0):
        super().__init__()
        self.weight = check_nonnegative_number(weight, "weight")

    def forward(self, Q):
        return l1_prox_loss(Q, self.weight)

    def extra_repr(self):
        return f"weight={self.weight}"


class NuclearProxLoss(torch.nn.Module):
    """Module form of :func:`nuclear_prox_loss`: ``weight * ||Q||_*`` with a proximal backward.

    One ``torch.optim.SGD`` step with ``lr=1`` on this loss maps ``Q`` to ``svt(Q, weight)``.

    Parameters
    ----------
    weight : float
        Nonnegative weight of the nuclear norm.

    Examples
    --------
    >>> import torch
    >>> Q = torch.nn.Parameter(torch.diag(torch.tensor([3.0, 0.2])))
    >>> opt = torch.optim.SGD([Q], lr=1.0)
    >>> NuclearProxLoss(0.5)(Q).backward(); opt.step()
    >>> torch.linalg.matrix_rank(Q.data).item()  # the small singular value is cut to zero
    1
    """

    def __init__(self, weight=1.0):
        super().__init__()
        self.weight = check_nonnegative_number(weight, "weight")

    def forward(self, Q):
        return nuclear_prox_loss(Q, self.weight)

    def extra_repr(self):
        return f"weight={self.weight}"
