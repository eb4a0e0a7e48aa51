"""The differentiable lasso: LARS against scikit-learn, gradients against finite differences."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, lars_path

from factorlab.var.lasso import _chol_delete, lars_segments, lasso, lasso_objective, lasso_path


def _problem(seed, n=40, p=12, collinear=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if collinear:
        X[:, 1] = 2.0 * X[:, 0]  # a perfectly collinear pair, as with duplicated lags
    y = X[:, :3] @ np.array([1.5, -2.0, 0.7]) + 0.5 * rng.standard_normal(n)
    return X, y


def _alpha_max(X, y):
    return np.abs(X.T @ y).max() / X.shape[0]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(40, 12), (15, 25)])
def test_path_matches_sklearn_lars_path(seed, shape):
    X, y = _problem(seed, *shape)
    alphas_sk, _, coefs_sk = lars_path(X, y, method="lasso")
    alphas, coefs = lasso_path(X, y)
    # sklearn's alphas are also max|X^T r| / n: the same scaling as ours.
    assert alphas[0] == pytest.approx(alphas_sk[0], rel=1e-12)
    _, on_grid = lasso_path(X, y, alphas=alphas_sk)
    np.testing.assert_allclose(on_grid, coefs_sk, atol=1e-9)
    assert np.all(np.diff(alphas) <= 0)


def _knotty_problem(seed, n, p, noise):
    """Random design; with ``noise`` > 0 every fourth column has a near copy (collinear-ish)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if noise:
        X[:, 1::4] = X[:, 0::4][:, :len(range(1, p, 4))] + noise * rng.standard_normal(
            (n, len(range(1, p, 4))))
    y = X[:, :5] @ rng.standard_normal(5) + rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("seed, n, p, noise, drops", [
    (0, 60, 30, 0.0, False), (2, 200, 100, 0.0, True), (3, 50, 80, 0.0, True),
    (4, 60, 30, 0.05, True), (5, 100, 40, 0.01, True), (6, 30, 60, 0.1, True)])
def test_knots_equal_sklearn_lars_path_with_drops_and_near_collinear_columns(seed, n, p, noise,
                                                                            drops):
    X, y = _knotty_problem(seed, n, p, noise)
    alphas_sk, _, coefs_sk = lars_path(X, y, method="lasso")
    alphas, coefs = lasso_path(X, y)
    assert alphas.shape == alphas_sk.shape
    np.testing.assert_allclose(alphas, alphas_sk, rtol=0, atol=1e-8)
    np.testing.assert_allclose(coefs, coefs_sk, rtol=0, atol=1e-7)
    # More knots than variables that can be active means the lasso modification dropped some.
    assert (len(alphas) > min(n, p) + 1) == drops
    knots, _ = lars_segments(X.T @ X / n, X.T @ y / n)
    np.testing.assert_allclose(knots, alphas, rtol=0, atol=1e-12)
    # The closed form on each piece's active set gives the same path (the differentiable route).
    _, on_grid = lasso_path(torch.as_tensor(X), torch.as_tensor(y), alphas=alphas)
    np.testing.assert_allclose(on_grid.numpy(), coefs, atol=1e-7)


def test_path_at_its_knots_is_differentiable_in_the_target_alone():
    X, y = _problem(2)
    yt = torch.tensor(y, requires_grad=True)
    alphas, coefs = lasso_path(X, yt)        # knots, NumPy design, target with gradients
    assert coefs.requires_grad
    coefs[:, -2].sum().backward()
    active = np.flatnonzero(coefs[:, -2].detach().numpy())
    n = X.shape[0]
    G = X[:, active].T @ X[:, active] / n
    expected = X[:, active] @ np.linalg.solve(G, np.ones(len(active))) / n
    np.testing.assert_allclose(yt.grad.numpy(), expected, atol=1e-10)
    np.testing.assert_allclose(coefs.detach().numpy(), lasso_path(X, y)[1], atol=1e-10)


def test_cholesky_delete_matches_a_fresh_factorization():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((30, 7))
    G = B.T @ B
    other = rng.standard_normal((7, 9))
    for k in range(7):
        RZ = np.zeros((9, 18))
        RZ[:7, :7] = np.linalg.cholesky(G).T
        RZ[:7, 9:] = np.linalg.solve(RZ[:7, :7].T, other)   # R^-T B, carried by the rotations
        _chol_delete(RZ, 7, k, 9)
        keep = [i for i in range(7) if i != k]
        R_new = np.linalg.cholesky(G[np.ix_(keep, keep)]).T
        np.testing.assert_allclose(RZ[:6, :6], R_new, atol=1e-12)
        assert not RZ[6, :9].any() and not RZ[:, 6:9].any()
        np.testing.assert_allclose(RZ[:6, 9:], np.linalg.solve(R_new.T, other[keep]), atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.01])
def test_lasso_matches_sklearn_coordinate_descent(seed, fraction):
    X, y = _problem(seed)
    alpha = fraction * _alpha_max(X, y)
    ours = lasso(X, y, alpha)
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    np.testing.assert_allclose(ours, ref, atol=1e-8)


def test_collinear_columns_give_an_optimal_solution():
    # With a duplicated (rescaled) column the lasso is not unique: compare objectives.
    X, y = _problem(0, collinear=True)
    for fraction in (0.3, 0.05, 0.001):
        alpha = fraction * _alpha_max(X, y)
        ours = lasso(X, y, alpha)
        ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
        assert lasso_objective(X, y, ours, alpha) <= lasso_objective(X, y, ref, alpha) + 1e-12
        assert np.isfinite(ours).all()


def test_ties_and_exact_duplicates_do_not_hang():
    X = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.5]])
    y = np.array([1.0, 2.0, 0.5, 1.0])
    knots, segments = lars_segments(X.T @ X / 4, X.T @ y / 4)
    assert knots[-1] == 0.0 and len(segments) < 10
    coef = lasso(X, y, 0.01)
    assert not (coef[0] != 0 and coef[1] != 0)  # only one of the duplicates is used


def test_more_features_than_samples_reaches_zero_residual():
    X, y = _problem(1, n=8, p=20)
    coef = lasso(X, y, 0.0)
    assert np.linalg.norm(X @ coef - y) < 1e-8
    assert np.count_nonzero(coef) <= 8


def test_alpha_above_alpha_max_gives_zero():
    X, y = _problem(2)
    assert np.all(lasso(X, y, 1.01 * _alpha_max(X, y)) == 0)


def test_multi_target_equals_columnwise():
    X, y = _problem(3)
    Y = np.column_stack([y, -0.5 * y + X[:, 5]])
    both = lasso(X, Y, 0.05)
    np.testing.assert_allclose(both[:, 1], lasso(X, Y[:, 1], 0.05), atol=1e-14)
    assert both.shape == (12, 2)


def test_closed_form_equals_lars_iterate_and_kkt():
    X, y = _problem(4)
    alpha = 0.2 * _alpha_max(X, y)
    coef, [(active, signs)] = lasso(X, y, alpha, return_active=True)
    grad = X.T @ (y - X @ coef) / X.shape[0]  # KKT: = alpha*sign on A, |.| <= alpha off A
    np.testing.assert_allclose(grad[active], alpha * signs, atol=1e-12)
    assert np.all(np.abs(np.delete(grad, active)) <= alpha + 1e-12)


def test_gradcheck_design_target_and_alpha():
    X, y = _problem(5, n=20, p=6)
    Xt = torch.tensor(X, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    at = torch.tensor(0.3 * _alpha_max(X, y), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda A, b, a: lasso(A, b, a), (Xt, yt, at), eps=1e-7,
                                    atol=1e-6)


def test_alpha_derivative_is_minus_inverse_gram_times_signs():
    X, y = _problem(6)
    alpha = torch.tensor(0.1 * _alpha_max(X, y), dtype=torch.float64, requires_grad=True)
    coef, [(active, signs)] = lasso(torch.tensor(X), torch.tensor(y), alpha, return_active=True)
    (dcoef,) = torch.autograd.grad(coef.sum(), alpha)
    G = X[:, active].T @ X[:, active] / X.shape[0]
    assert float(dcoef) == pytest.approx(-np.linalg.solve(G, signs).sum(), rel=1e-10)


def test_path_is_differentiable_on_a_grid():
    X, y = _problem(7, n=25, p=5)
    Xt = torch.tensor(X, requires_grad=True)
    grid = [0.5 * _alpha_max(X, y), 0.05 * _alpha_max(X, y)]
    assert torch.autograd.gradcheck(lambda A: lasso_path(A, torch.tensor(y), alphas=grid)[1],
                                    (Xt,), eps=1e-7, atol=1e-6)


def test_numpy_and_torch_containers_and_inputs_unchanged():
    X, y = _problem(8)
    X0, y0 = X.copy(), y.copy()
    out_np = lasso(X, y, 0.1)
    out_t = lasso(torch.tensor(X), torch.tensor(y), 0.1)
    assert isinstance(out_np, np.ndarray) and isinstance(out_t, torch.Tensor)
    np.testing.assert_allclose(out_t.numpy(), out_np)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_bad_inputs():
    X, y = _problem(9)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        lasso(X, y, -1.0)
    with pytest.raises(ValueError, match="same number of rows"):
        lasso(X, y[:-1], 0.1)
    with pytest.raises(ValueError, match="NaN"):
        lasso(np.where(X > 2, np.nan, X), y, 0.1)
    with pytest.raises(ValueError, match="1-D"):
        lasso_path(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="alphas"):
        lasso_path(X, y, alphas=[-0.1])
    with pytest.raises(TypeError, match="max_steps"):
        lasso(X, y, 0.1, max_steps=2.5)
