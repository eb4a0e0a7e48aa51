"""factorlab._linalg: the one implementation of each building block, against NumPy/SciPy."""

import numpy as np
import pytest
import torch
from scipy.optimize import nnls as scipy_nnls

from factorlab._linalg import (dead_components, gram_and_rhs, hals_update, nnls, nnls_gram,
                               principal_axes, revive_component, solve_gram, weighted_gram)


def _t(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def test_weighted_gram_matches_per_row_products():
    rng = np.random.default_rng(0)
    W, A = rng.random((7, 9)), rng.standard_normal((9, 4))
    G = weighted_gram(_t(W), _t(A)).numpy()
    ref = np.stack([A.T @ np.diag(w) @ A for w in W])
    np.testing.assert_allclose(G, ref, rtol=1e-12, atol=1e-12)


def test_gram_and_rhs_shared_and_masked():
    rng = np.random.default_rng(1)
    X, V = rng.standard_normal((5, 6)), rng.standard_normal((6, 3))
    mask = rng.random((5, 6)) < 0.7
    G, P = gram_and_rhs(_t(X), _t(V))
    np.testing.assert_allclose(G.numpy(), V.T @ V)
    np.testing.assert_allclose(P.numpy(), X @ V)
    G, P = gram_and_rhs(_t(X), _t(V), torch.as_tensor(mask))
    np.testing.assert_allclose(P.numpy(), (mask * X) @ V)
    np.testing.assert_allclose(G[2].numpy(), V[mask[2]].T @ V[mask[2]], atol=1e-12)


def test_solve_gram_regular_shared_and_batched():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((20, 4))
    G, P = B.T @ B, rng.standard_normal((3, 4))
    np.testing.assert_allclose(solve_gram(_t(G), _t(P)).numpy(), np.linalg.solve(G, P.T).T,
                               rtol=1e-10)
    Gb = np.stack([G, 2 * G, G + np.eye(4)])
    ref = np.stack([np.linalg.solve(g, p) for g, p in zip(Gb, P)])
    np.testing.assert_allclose(solve_gram(_t(Gb), _t(P)).numpy(), ref, rtol=1e-10)


def test_solve_gram_singular_gives_the_minimum_norm_solution():
    rng = np.random.default_rng(3)
    C = rng.standard_normal((10, 2)) @ rng.standard_normal((2, 4))  # rank 2 of 4 columns
    b = rng.standard_normal((2, 10))
    G, P = C.T @ C, b @ C
    ref = (np.linalg.pinv(C) @ b.T).T  # minimum-norm least squares, no ridge bias
    np.testing.assert_allclose(solve_gram(_t(G), _t(P)).numpy(), ref, atol=1e-9)
    # batched: one singular system (a zero row) among regular ones is solved exactly too
    Gb = np.stack([np.eye(4), G, np.zeros((4, 4))])
    Pb = np.stack([np.ones(4), P[0], np.zeros(4)])
    out = solve_gram(_t(Gb), _t(Pb)).numpy()
    np.testing.assert_allclose(out[0], np.ones(4))
    np.testing.assert_allclose(out[1], ref[0], atol=1e-9)
    np.testing.assert_array_equal(out[2], np.zeros(4))


def test_hals_update_converges_to_nnls_and_never_increases():
    rng = np.random.default_rng(4)
    C, b = rng.random((30, 5)), rng.standard_normal((6, 30))
    G, P = _t(C.T @ C), _t(b @ C)
    A = torch.full((6, 5), 0.1, dtype=torch.float64)

    def loss(A):
        return float(((_t(b) - A @ _t(C).T) ** 2).sum())

    losses = [loss(A)]
    for _ in range(200):
        A = hals_update(A, G, P, sweeps=1)
        losses.append(loss(A))
    assert np.all(np.diff(losses) <= 1e-12 * losses[0])
    ref = np.stack([scipy_nnls(C, row)[0] for row in b])
    np.testing.assert_allclose(A.numpy(), ref, atol=1e-6)
    # batched Gram matrices: the same update row by row
    Ab = hals_update(torch.full((6, 5), 0.1, dtype=torch.float64), G.expand(6, 5, 5), P, 3)
    np.testing.assert_allclose(Ab.numpy(), hals_update(
        torch.full((6, 5), 0.1, dtype=torch.float64), G, P, 3).numpy(), atol=1e-12)


def test_nnls_and_nnls_gram_match_scipy():
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((12, 4)), rng.standard_normal((12, 3))
    ref = np.stack([scipy_nnls(A, B[:, j])[0] for j in range(3)], 1)
    np.testing.assert_allclose(nnls(A, B), ref, atol=1e-10)
    out = nnls_gram(_t(A.T @ A), _t((A.T @ B).T)).numpy().T
    np.testing.assert_allclose(out, ref, atol=1e-10)


def test_principal_axes_is_the_svd_of_the_product():
    rng = np.random.default_rng(6)
    U, V = rng.standard_normal((15, 3)), rng.standard_normal((9, 3))
    L, s, R = (a.numpy() for a in principal_axes(_t(U), _t(V)))
    np.testing.assert_allclose(s, np.linalg.svd(U @ V.T, compute_uv=False)[:3], rtol=1e-12)
    np.testing.assert_allclose((L * s) @ R.T, U @ V.T, atol=1e-12)
    np.testing.assert_allclose(L.T @ L, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)


def test_dead_components_and_revival():
    U = torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    V = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    assert dead_components([U, V]).tolist() == [False, True]
    rng = np.random.default_rng(7)
    a, b, c = rng.random(5), rng.standard_normal(4), rng.random(3)
    R = _t(np.einsum("i,j,k->ijk", a, b, c))
    term = revive_component(R, [True, False, True])
    assert term is not None and float(term[0].min()) >= 0 and float(term[2].min()) >= 0
    fit = torch.einsum("i,j,k->ijk", *term)
    assert float(torch.linalg.norm(R - fit)) < 1e-8 * float(torch.linalg.norm(R))
    # with a mask the fit only sees observed entries, and never raises the masked loss
    mask = _t(rng.random(R.shape) < 0.8)
    term = revive_component(R * mask, [True, False, True], weights=mask)
    fit = torch.einsum("i,j,k->ijk", *term)
    assert float((mask * (R - fit)).norm()) < float((mask * R).norm())
    # a frozen vector is kept as given
    fixed = [None, None, _t(c)]
    term = revive_component(R, [True, False, True], fixed=fixed)
    assert term[2] is fixed[2]


@pytest.mark.parametrize("R", [np.zeros((3, 4)), -np.ones((3, 4))])
def test_revival_declines_when_nothing_can_fall(R):
    # zero residual, or a negative one that a nonnegative rank-one term cannot reduce
    assert revive_component(_t(R), [True, True]) is None
