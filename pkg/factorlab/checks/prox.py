"""Checks for the proximal-backward exercise (a soft-threshold backward pass in torch)."""

from __future__ import annotations

import torch

from ..prox import soft_threshold
from ._common import ExerciseCheckError, require

__all__ = ["check_soft_threshold_backward"]


def check_soft_threshold_backward(loss_fn, weight: float = 0.5) -> None:
    """Check a ``loss_fn(Q, weight)`` whose forward is ``weight * ||Q||_1`` and whose backward is
    the proximal residual ``grad_output * (Q - soft(Q, weight))``.

    ``loss_fn`` is typically ``MyFunction.apply`` of a ``torch.autograd.Function``. The check
    compares the value, the gradient (with an incoming gradient of 3, so a forgotten
    ``grad_output`` shows), and that one SGD step with learning rate 1 gives ``soft(Q, weight)``.

    Examples
    --------
    >>> from factorlab.prox import l1_prox_loss
    >>> check_soft_threshold_backward(l1_prox_loss)
    ✓ forward = w·‖Q‖₁, backward = g·(Q − soft(Q, w)), one SGD step = the prox.
    """
    require(callable(loss_fn), "Pass the function itself, e.g. SoftThresholdLoss.apply.")
    gen = torch.Generator().manual_seed(0)
    Q0 = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    Q0[0, :3] = torch.tensor([weight, -weight, 0.0], dtype=torch.float64)  # at the kinks
    Q = Q0.clone().requires_grad_()
    try:
        value = loss_fn(Q, weight)
    except NotImplementedError:
        raise
    except Exception as exc:  # a student's bug: say where it happened
        raise ExerciseCheckError(f"Calling loss_fn(Q, weight) failed: {exc!r}") from exc
    require(isinstance(value, torch.Tensor) and value.numel() == 1,
            "The forward pass should return a scalar tensor: weight * Q.abs().sum().")
    v, l1 = float(value.detach()), float(Q0.abs().sum())
    if abs(v - weight * l1) > 1e-8:
        require(abs(v - l1) > 1e-8, "The forward value is sum|Q|: multiply by the weight w.")
        require(abs(v - weight * float((Q0 ** 2).sum())) > 1e-8,
                "The forward value uses Q² (an l2 penalty); the l1 norm sums |Q|.")
        require(abs(v - weight * float(Q0.sum())) > 1e-8,
                "The forward value sums Q itself; the l1 norm sums |Q| (Q.abs()).")
        require(False, "The forward value should be w * sum|Q|, a scalar.")
    require(value.requires_grad, "The result has no grad_fn: call your Function with .apply.")
    try:
        (3.0 * value).backward()
    except RuntimeError as exc:
        text = str(exc)
        require("incorrect number of gradients" not in text,
                "backward must return one gradient per input of forward: the gradient for Q, "
                "then None for w.")
        raise ExerciseCheckError(f"The backward pass failed: {exc}. Did forward save Q with "
                                 "ctx.save_for_backward(Q) (and w on ctx)?") from exc
    except (AttributeError, ValueError, TypeError) as exc:
        raise ExerciseCheckError(f"The backward pass failed: {exc!r}. Did forward save Q with "
                                 "ctx.save_for_backward(Q) and w as ctx.w?") from exc
    require(Q.grad is not None, "No gradient reached Q: backward must return one gradient per "
            "input of forward (the gradient for Q, then None for weight).")
    grad = Q.grad.detach()
    residual = Q0 - soft_threshold(Q0, weight)
    if torch.allclose(grad, 3.0 * weight * torch.sign(Q0)):
        raise ExerciseCheckError("This is the subgradient weight * sign(Q), which never reaches "
                             "exact zeros; return Q - soft(Q, weight) instead (times grad_output).")
    if torch.allclose(grad, residual):
        raise ExerciseCheckError("Close: multiply the residual by grad_output (the incoming "
                             "gradient), so that scaled losses give scaled gradients.")
    if torch.allclose(grad, 3.0 * soft_threshold(Q0, weight)):
        raise ExerciseCheckError("That is the prox itself; the backward pass returns the residual "
                             "Q - soft(Q, weight), so that Q - lr * grad = soft(Q, weight).")
    if torch.allclose(grad, -3.0 * residual):
        raise ExerciseCheckError("Wrong sign: the backward pass returns Q - soft(Q, w), so that "
                                 "an SGD step Q - grad lands on soft(Q, w).")
    if torch.allclose(grad, 3.0 * (Q0 - soft_threshold(Q0, 1.0))):
        raise ExerciseCheckError("The soft threshold uses 1; use the weight w saved in forward "
                                 "(soft(Q, w)).")
    require(torch.allclose(grad, 3.0 * residual),
            "The gradient should be grad_output * (Q - soft(Q, weight)) = grad_output * "
            "clamp(Q, -weight, weight).")
    P = torch.nn.Parameter(Q0.clone())
    opt = torch.optim.SGD([P], lr=1.0)
    loss_fn(P, weight).backward()
    opt.step()
    require(torch.allclose(P.detach(), soft_threshold(Q0, weight)),
            "One SGD step with lr=1 should land on soft(Q, weight).")
    print("✓ forward = w·‖Q‖₁, backward = g·(Q − soft(Q, w)), one SGD step = the prox.")
