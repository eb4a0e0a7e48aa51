"""Proximal-backward losses (factorlab.prox) and robust PCA by forward-backward / ADMM steps."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from factorlab.checks import ExerciseCheckError, check_soft_threshold_backward
from factorlab.prox import (L1ProxLoss, NuclearProxLoss, l1_prox_loss, nuclear_prox_loss,
                            soft_threshold, svt)
from factorlab.robust import project_foreground, rpca_admm, rpca_forward_backward


def _matrix(seed, shape=(12, 9), dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- the losses --------------------------------------------------------------------------------

def test_forward_values_are_the_weighted_norms():
    Q = _matrix(0)
    assert float(l1_prox_loss(Q, 0.7)) == pytest.approx(0.7 * float(Q.abs().sum()))
    nuc = np.linalg.svd(Q.numpy(), compute_uv=False).sum()
    assert float(nuclear_prox_loss(Q, 0.7)) == pytest.approx(0.7 * nuc)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), weight=st.floats(0.0, 2.0), scale=st.floats(0.1, 3.0))
def test_l1_backward_is_scaled_proximal_residual(seed, weight, scale):
    Q = _matrix(seed).requires_grad_()
    (scale * l1_prox_loss(Q, weight)).backward()
    expected = scale * (Q.detach() - soft_threshold(Q.detach(), weight))
    torch.testing.assert_close(Q.grad, expected)


@pytest.mark.parametrize("shape", [(12, 9), (5, 30)])
def test_nuclear_backward_is_scaled_proximal_residual(shape):
    Q = _matrix(1, shape).requires_grad_()
    (2.5 * nuclear_prox_loss(Q, 0.8)).backward()
    expected = 2.5 * (Q.detach() - svt(Q.detach(), 0.8))
    torch.testing.assert_close(Q.grad, expected)


def test_one_sgd_step_with_lr_one_is_the_prox():
    Q0 = _matrix(2)
    for loss, prox in ((L1ProxLoss(0.5), lambda q: soft_threshold(q, 0.5)),
                       (NuclearProxLoss(1.5), lambda q: svt(q, 1.5))):
        Q = torch.nn.Parameter(Q0.clone())
        opt = torch.optim.SGD([Q], lr=1.0)
        loss(Q).backward()
        opt.step()
        torch.testing.assert_close(Q.data, prox(Q0))
    # exact zeros and an exact rank drop, which plain subgradient steps never give
    assert int((soft_threshold(Q0, 0.5) == 0).sum()) > 0
    assert torch.linalg.matrix_rank(svt(Q0, 1.5)) < min(Q0.shape)


def test_l1_gradient_agrees_with_autograd_away_from_the_kink():
    Q = _matrix(3)
    Q = torch.where(Q.abs() < 0.3, torch.sign(Q) * 0.3 + Q, Q)  # all |q| >= 0.3 > weight
    a = Q.clone().requires_grad_()
    b = Q.clone().requires_grad_()
    l1_prox_loss(a, 0.2).backward()
    (0.2 * b.abs().sum()).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_nuclear_gradient_agrees_with_autograd_for_separated_singular_values():
    rng = np.random.default_rng(4)
    U, _ = np.linalg.qr(rng.standard_normal((10, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((7, 4)))
    Q = torch.from_numpy(U @ np.diag([5.0, 4.0, 3.0, 2.0]) @ V.T)  # all singular values > 0.5
    Q = Q + 1e-3 * torch.from_numpy(rng.standard_normal((10, 7)))  # full rank, small tail
    a = Q.clone().requires_grad_()
    nuclear_prox_loss(a, 1e-4).backward()  # weight below every singular value
    b = Q.clone().requires_grad_()
    (1e-4 * torch.linalg.svdvals(b).sum()).backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-9, rtol=1e-6)


def test_losses_work_in_float32_and_leave_input_alone():
    Q = _matrix(5, dtype=torch.float32).requires_grad_()
    before = Q.detach().clone()
    (l1_prox_loss(Q, 0.1) + nuclear_prox_loss(Q, 0.1)).backward()
    assert Q.grad.dtype == torch.float32
    assert torch.equal(Q.detach(), before)


def test_loss_bad_inputs():
    with pytest.raises(TypeError, match="Q must be a floating torch tensor"):
        l1_prox_loss(np.ones((2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        nuclear_prox_loss(torch.ones(3))
    with pytest.raises(ValueError, match="weight must be >= 0"):
        L1ProxLoss(-1.0)
    with pytest.raises(TypeError, match="weight"):
        NuclearProxLoss("big")


# --- the exercise check ------------------------------------------------------------------------

class _GoodBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, w):
        ctx.save_for_backward(q)
        ctx.w = w
        return w * q.abs().sum()

    @staticmethod
    def backward(ctx, g):
        (q,) = ctx.saved_tensors
        return g * (q - soft_threshold(q, ctx.w)), None


class _SubgradientBackward(_GoodBackward):
    @staticmethod
    def backward(ctx, g):  # the plain subgradient: the classic wrong answer
        (q,) = ctx.saved_tensors
        return g * ctx.w * torch.sign(q), None


def test_check_accepts_right_and_rejects_wrong_backward(capsys):
    check_soft_threshold_backward(_GoodBackward.apply)
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="soft"):
        check_soft_threshold_backward(_SubgradientBackward.apply)


# --- robust PCA by forward-backward and ADMM ---------------------------------------------------

def _low_rank_plus_sparse(seed=0, m=40, n=60):
    rng = np.random.default_rng(seed)
    L0 = rng.standard_normal((m, 2)) @ rng.standard_normal((2, n))
    S0 = np.where(rng.random((m, n)) < 0.05, rng.choice([-5.0, 5.0], (m, n)), 0.0)
    return L0, S0


def test_forward_backward_objective_never_increases():
    L0, S0 = _low_rank_plus_sparse()
    res = rpca_forward_backward(L0 + S0, alpha=0.1, max_iter=80, tol=1e-12)
    obj = np.asarray(res.objective)
    assert len(obj) == 80
    assert np.all(np.diff(obj) <= 1e-9 * obj[:-1])


def test_forward_backward_equals_sgd_steps_with_prox_losses():
    """Eqs. 4-5 are two SGD steps (lr 1) each: a squared-loss step, then a prox-loss step."""
    L0, S0 = _low_rank_plus_sparse(1)
    D = torch.from_numpy(L0 + S0)
    alpha, lam = 0.3, 1 / np.sqrt(60)
    L = torch.nn.Parameter(torch.zeros_like(D))
    S = torch.nn.Parameter(torch.zeros_like(D))
    opt = torch.optim.SGD([L, S], lr=1.0)
    for _ in range(5):
        for block, prox_loss in ((L, NuclearProxLoss(alpha)), (S, L1ProxLoss(alpha * lam))):
            opt.zero_grad()
            (0.5 * ((D - L - S) ** 2).sum()).backward()  # forward step on this block only
            other = S if block is L else L
            other.grad = None
            opt.step()
            opt.zero_grad()
            prox_loss(block).backward()                  # backward (proximal) step
            opt.step()
    res = rpca_forward_backward(D, lam=lam, alpha=alpha, max_iter=5, tol=1e-15)
    torch.testing.assert_close(L.data, res.L)
    torch.testing.assert_close(S.data, res.S)


def test_admm_matches_pyrpca_ialm_on_the_same_problem():
    pyrpca = pytest.importorskip("pyrpca")
    L0, S0 = _low_rank_plus_sparse(2)
    D = L0 + S0
    lam = 1 / np.sqrt(max(D.shape))
    L_ref, _ = pyrpca.rpca_pcp_ialm(D, lam, verbose=False)
    res = rpca_admm(D, lam=lam, rho=0.2, max_iter=2000, tol=1e-9)
    assert res.converged
    assert np.linalg.norm(res.L - L_ref) / np.linalg.norm(L_ref) < 1e-4
    assert np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 1e-4


def test_rpca_keeps_movie_shape_and_tensor_type_and_leaves_input_alone():
    rng = np.random.default_rng(3)
    movie = rng.random((10, 6, 5)).astype(np.float32)
    before = movie.copy()
    res = rpca_admm(movie, max_iter=5)
    assert res.L.shape == movie.shape and isinstance(res.S, np.ndarray)
    np.testing.assert_array_equal(movie, before)
    t = torch.from_numpy(movie)
    out = rpca_forward_backward(t, max_iter=3)
    assert isinstance(out.S, torch.Tensor) and out.S.shape == t.shape
    np.testing.assert_array_equal(t.numpy(), before)


def test_warm_start_and_bad_inputs():
    L0, S0 = _low_rank_plus_sparse(4)
    with pytest.raises(ValueError, match="S_init must have the shape"):
        rpca_forward_backward(L0 + S0, S_init=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="alpha must be > 0"):
        rpca_forward_backward(L0 + S0, alpha=-1.0)
    with pytest.raises(ValueError, match="rho must be > 0"):
        rpca_admm(L0 + S0, rho=0)
    with pytest.raises(ValueError, match="NaN"):
        rpca_admm(np.full((3, 3), np.nan))


def test_project_foreground_removes_the_background_subspace():
    rng = np.random.default_rng(5)
    basis = rng.standard_normal((2, 30))
    L = rng.standard_normal((8, 2)) @ basis
    new_background = rng.standard_normal((3, 2)) @ basis
    spike = np.zeros((3, 30))
    spike[:, 7] = 4.0
    S = project_foreground(new_background, L)
    assert np.abs(S).max() < 1e-10
    S = project_foreground(new_background + spike, L)
    assert np.argmax(np.abs(S), axis=1).tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match="pixels per frame"):
        project_foreground(np.ones((2, 5)), L)
