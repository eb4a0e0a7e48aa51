"""FISTA for convolutional sparse coding: operators, step-size bound, convergence (KKT)."""

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from factorlab.csc import fista_csc, lipschitz_bound
from factorlab.csc.fista import (conv_correlate, conv_decode, csc_objective, fista_steps,
                                  gradient_operators)


def toeplitz_1d(filters, n):
    """The explicit matrix H with H @ x.ravel() = sum_c h_c * x_c (codes of length n-K+1)."""
    C, K = filters.shape
    m = n - K + 1
    H = np.zeros((n, C * m))
    for c in range(C):
        for j in range(m):
            H[j:j + K, c * m + j] = filters[c]
    return H


def toeplitz_2d(filters, shape):
    C, K1, K2 = filters.shape
    m1, m2 = shape[0] - K1 + 1, shape[1] - K2 + 1
    cols = []
    for c in range(C):
        for i in range(m1):
            for j in range(m2):
                e = np.zeros((m1, m2)); e[i, j] = 1
                cols.append(convolve2d(e, filters[c]).ravel())
    return np.array(cols).T


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 5))
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    x = np.zeros((2, 36)); x[0, [3, 20]] = [1.5, -2.0]; x[1, 10] = 1.0
    y = toeplitz_1d(h, 40) @ x.ravel() + 0.05 * rng.standard_normal(40)
    return y, h


def test_operators_are_adjoint_and_match_numpy():
    rng = np.random.default_rng(1)
    for shape_h, shape_x, shape_y in [((3, 4), (2, 3, 17), (2, 1, 20)),
                                      ((2, 3, 4), (2, 2, 6, 5), (2, 1, 8, 8))]:
        h = torch.tensor(rng.standard_normal(shape_h))
        x = torch.tensor(rng.standard_normal(shape_x))
        y = torch.tensor(rng.standard_normal(shape_y))
        lhs = float((conv_decode(x, h) * y).sum())
        rhs = float((x * conv_correlate(y, h)).sum())
        assert lhs == pytest.approx(rhs, rel=1e-10)
    h = rng.standard_normal((2, 3, 4)); x = rng.standard_normal((2, 6, 5))
    want = sum(convolve2d(x[c], h[c]) for c in range(2))
    got = conv_decode(torch.tensor(x)[None], torch.tensor(h))[0, 0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_gradient_operators_equal_the_explicit_matrices(method):
    rng = np.random.default_rng(2)
    # signal lengths that are and are not powers of two, a filter as long as the signal
    for h, n in [(rng.standard_normal((3, 5)), 37), (rng.standard_normal((2, 8)), 64),
                 (rng.standard_normal((1, 9)), 9)]:
        y, z = rng.standard_normal((2, n)), rng.standard_normal((2, h.shape[0] * (n - h.shape[1] + 1)))
        H, L = toeplitz_1d(h, n), 3.0
        hty, gram = gradient_operators(torch.tensor(y)[:, None], torch.tensor(h), L, method)
        np.testing.assert_allclose(hty.flatten(1).numpy(), y @ H / L, atol=1e-12)
        got = gram(torch.tensor(z).reshape(2, h.shape[0], -1)).flatten(1).numpy()
        np.testing.assert_allclose(got, z @ H.T @ H / L, atol=1e-12)
    h, shape = rng.standard_normal((2, 3, 4)), (7, 9)
    y, z = rng.standard_normal((1, *shape)), rng.standard_normal((1, 2 * 5 * 6))
    H = toeplitz_2d(h, shape)
    hty, gram = gradient_operators(torch.tensor(y)[:, None], torch.tensor(h), 1.0, method)
    np.testing.assert_allclose(hty.flatten(1).numpy(), y.reshape(1, -1) @ H, atol=1e-12)
    got = gram(torch.tensor(z).reshape(1, 2, 5, 6)).flatten(1).numpy()
    np.testing.assert_allclose(got, z @ H.T @ H, atol=1e-12)


@pytest.mark.parametrize("nonnegative", [False, True])
def test_fista_steps_take_the_same_path_through_the_fft(nonnegative):
    rng = np.random.default_rng(3)
    for h_shape, y_shape in [((3, 30), (4, 1, 500)), ((4, 5, 5), (2, 1, 20, 24))]:
        h, y = torch.tensor(rng.standard_normal(h_shape)), torch.tensor(rng.standard_normal(y_shape))
        L = lipschitz_bound(h)
        direct, n_direct = fista_steps(y, h, L, 0.5 / L, 200, nonnegative, 1e-8, method="direct")
        fft, n_fft = fista_steps(y, h, L, 0.5 / L, 200, nonnegative, 1e-8, method="fft")
        assert n_direct == n_fft
        np.testing.assert_allclose(fft.numpy(), direct.numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="method"):
        gradient_operators(y, h, L, method="fast")


def test_fft_operators_pass_gradients_to_the_filters():
    rng = np.random.default_rng(4)
    y = torch.tensor(rng.standard_normal((3, 1, 50)))
    z = torch.tensor(rng.standard_normal((3, 2, 44)))
    start = rng.standard_normal((2, 7))
    grads = []
    for method in ("direct", "fft"):
        h = torch.tensor(start, requires_grad=True)
        hty, gram = gradient_operators(y, h, 2.0, method)
        (hty - gram(z)).square().sum().backward()
        grads.append(h.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10)


def test_lipschitz_bound_is_an_upper_bound_and_tight():
    rng = np.random.default_rng(2)
    for trial in range(3):
        h = rng.standard_normal((3, 7)); h /= np.linalg.norm(h, axis=1, keepdims=True)
        H = toeplitz_1d(h, 60)
        true_L = np.linalg.eigvalsh(H.T @ H).max()
        # power iteration on the explicit operator agrees with the eigenvalue
        v = rng.standard_normal(H.shape[1])
        for _ in range(500):
            v = H.T @ (H @ v); v /= np.linalg.norm(v)
        assert v @ H.T @ H @ v == pytest.approx(true_L, rel=1e-3)
        bound = lipschitz_bound(h)
        assert true_L <= bound <= 1.1 * true_L
    h2 = rng.standard_normal((2, 3, 3))
    H2 = toeplitz_2d(h2, (16, 16))
    true_L2 = np.linalg.eigvalsh(H2.T @ H2).max()
    assert true_L2 <= lipschitz_bound(h2) <= 1.3 * true_L2  # finite images sit a bit below the sup


def test_fista_reaches_kkt_point(problem):
    y, h = problem
    lam = 0.3
    x = fista_csc(y, h, lam=lam, tol=1e-12, max_iter=20000)
    H = toeplitz_1d(h, 40)
    grad = H.T @ (y - H @ x.ravel())
    active = x.ravel() != 0
    assert active.sum() >= 3
    np.testing.assert_allclose(grad[active], lam * np.sign(x.ravel()[active]), atol=1e-6)
    assert np.abs(grad[~active]).max() <= lam + 1e-6


def test_fista_nonnegative_kkt(problem):
    y, h = problem
    lam = np.array([0.2, 0.4])                     # one weight per filter
    x = fista_csc(y, h, lam=lam, tol=1e-12, max_iter=20000, nonnegative=True)
    assert (x >= 0).all()
    H = toeplitz_1d(h, 40)
    grad = (H.T @ (y - H @ x.ravel())).reshape(2, -1)
    lam_b = np.repeat(lam[:, None], x.shape[1], axis=1)
    np.testing.assert_allclose(grad[x > 0], lam_b[x > 0], atol=1e-6)
    assert (grad[x == 0] <= lam_b[x == 0] + 1e-6).all()


def test_fista_step_below_lipschitz_diverges(problem):
    y, h = problem
    L = lipschitz_bound(h)
    good = fista_csc(y, h, lam=0.3, tol=1e-10)
    bad = fista_csc(y, h, lam=0.3, L=0.3 * L, max_iter=200)
    obj = lambda x: csc_objective(torch.tensor(y)[None, None], torch.tensor(x)[None], torch.tensor(h), 0.3)
    assert obj(bad) > 1e3 * obj(good)


def test_fista_batches_and_containers(problem):
    y, h = problem
    Y = np.stack([y, -y])
    y_copy = Y.copy()
    X = fista_csc(Y, h, lam=0.3, tol=1e-10)
    assert X.shape == (2, 2, 36) and isinstance(X, np.ndarray)
    np.testing.assert_allclose(X[0], fista_csc(y, h, lam=0.3, tol=1e-10), atol=1e-8)
    np.testing.assert_array_equal(Y, y_copy)
    Xt = fista_csc(torch.tensor(Y), torch.tensor(h), lam=0.3, tol=1e-10)
    assert isinstance(Xt, torch.Tensor)


def test_fista_bad_inputs(problem):
    y, h = problem
    with pytest.raises(ValueError, match="lam"):
        fista_csc(y, h, lam=-1.0)
    with pytest.raises(ValueError, match="filters"):
        fista_csc(y, np.ones(5), lam=1.0)
    with pytest.raises(ValueError, match="y"):
        fista_csc(np.ones((2, 2, 40)), h, lam=1.0)
    with pytest.raises(ValueError, match="at least as long"):
        fista_csc(np.ones(3), h, lam=1.0)
    with pytest.raises(ValueError, match="NaN"):
        fista_csc(np.full(40, np.nan), h, lam=1.0)


def test_exercise_checks_accept_right_and_reject_wrong_answers():
    from factorlab.checks import ExerciseCheckError, check_two_sided_relu, check_unrolled_fista

    check_two_sided_relu(lambda u, b: np.maximum(u - b, 0) - np.maximum(-u - b, 0))
    with pytest.raises(ExerciseCheckError, match="mirrored"):
        check_two_sided_relu(lambda u, b: np.maximum(u - b, 0))          # one-sided only
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 4)); h /= np.linalg.norm(h, axis=1, keepdims=True)
    y = rng.standard_normal(30)
    L = lipschitz_bound(h)
    model_codes = fista_csc(y, h, lam=0.2, L=L, max_iter=7, tol=1e-300)   # exactly 7 steps
    check_unrolled_fista(model_codes, y, h, 0.2 / L, L, n_iter=7)
    with pytest.raises(ExerciseCheckError, match="momentum"):
        check_unrolled_fista(model_codes, y, h, 0.2 / L, L, n_iter=8)
