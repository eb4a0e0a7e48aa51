"""Missing data: exact censored least squares / NNLS for PCA and NMF."""

import numpy as np
import pytest
import torch

from factorlab.matrix import NMF, PCA, censored_lstsq, nmf, pca_als
from factorlab.matrix.masked import (float_mask, gram_and_rhs, loss_from_normal_equations,
                                     masked_residual_norm)


def _data(seed=0, m=60, n=30, rank=3):
    rng = np.random.default_rng(seed)
    X = rng.random((m, rank)) @ rng.random((rank, n)) + 0.05 * rng.random((m, n))
    mask = rng.random((m, n)) > 0.25
    return X, mask


def test_censored_lstsq_matches_per_row_lstsq():
    X, mask = _data()
    V = np.random.default_rng(1).standard_normal((30, 3))
    U = censored_lstsq(torch.from_numpy(X), torch.from_numpy(V), torch.from_numpy(mask)).numpy()
    for i in range(X.shape[0]):
        expected = np.linalg.lstsq(V[mask[i]], X[i, mask[i]], rcond=None)[0]
        assert np.allclose(U[i], expected, atol=1e-10)


def test_batched_gram_matches_per_row_products():
    X, mask = _data()
    V = torch.from_numpy(np.random.default_rng(2).random((30, 3)))
    G, P = gram_and_rhs(torch.from_numpy(X), V, torch.from_numpy(mask))
    for i in range(X.shape[0]):
        Vi = V[torch.from_numpy(mask[i])]
        assert torch.allclose(G[i], Vi.T @ Vi)
        assert torch.allclose(P[i], Vi.T @ torch.from_numpy(X[i][mask[i]]))


@pytest.mark.parametrize("fit", [
    lambda X, M: pca_als(X, 3, mask=M, random_state=0, max_iter=50),
    lambda X, M: pca_als(X, 3, mask=M, center=False, random_state=0, max_iter=50),
    lambda X, M: nmf(X, 3, mask=M, solver="hals", random_state=0, max_iter=50),
    lambda X, M: nmf(X, 3, mask=M, solver="anls", random_state=0, max_iter=30),
    lambda X, M: nmf(X, 3, mask=M, solver="mu", random_state=0, max_iter=50),
], ids=["pca", "pca-uncentred", "nmf-hals", "nmf-anls", "nmf-mu"])
def test_masked_entries_change_nothing(fit):
    X, mask = _data(seed=3)
    X_poisoned = np.where(mask, X, 999.0)
    a, b = fit(X, mask), fit(X_poisoned, mask)
    assert np.array_equal(a.loss_history, b.loss_history)
    assert np.array_equal(a.U, b.U) and np.array_equal(a.V, b.V)
    assert np.all(np.diff(a.loss_history) <= 1e-12)  # still monotone with missing data


@pytest.mark.parametrize("fit", [
    lambda X, M: pca_als(X, 2, mask=M, random_state=0, max_iter=20),
    lambda X, M: nmf(X, 2, mask=M, solver="hals", random_state=0, max_iter=20),
    lambda X, M: nmf(X, 2, mask=M, solver="anls", random_state=0, max_iter=20),
], ids=["pca", "nmf-hals", "nmf-anls"])
def test_full_mask_equals_no_mask(fit):
    X, _ = _data(seed=4)
    a, b = fit(X, np.ones(X.shape, bool)), fit(X, None)
    assert np.allclose(a.loss_history, b.loss_history, rtol=1e-9)
    assert np.allclose(a.U @ a.V.T, b.U @ b.V.T, atol=1e-8)


def test_masked_pca_fills_in_low_rank_data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 3)) @ rng.standard_normal((3, 40))
    mask = rng.random(X.shape) > 0.3
    model = PCA(3, center=False, random_state=0, max_iter=2000, tol=1e-10)
    model.fit(np.where(mask, X, 0.0), mask=mask)
    held_out = ~mask
    err = np.linalg.norm((model.reconstruct() - X)[held_out]) / np.linalg.norm(X[held_out])
    assert err < 1e-5


def test_masked_nmf_estimator_and_nonnegativity():
    X, mask = _data(seed=6)
    model = NMF(3, random_state=0, max_iter=100).fit(X, mask=mask)
    assert (model.U_ >= 0).all() and (model.V_ >= 0).all()
    assert model.loss_history_[-1] < 0.1


def test_mask_errors():
    X, mask = _data()
    empty_row = mask.copy()
    empty_row[0] = False
    with pytest.raises(ValueError, match="without any observed entry"):
        pca_als(X, 2, mask=empty_row)
    with pytest.raises(ValueError, match="marks no entry as observed"):
        nmf(X, 2, mask=np.zeros(X.shape, bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        nmf(X, 2, mask=np.full(X.shape, 0.5))


def test_float_mask_zeroed_data_and_loss_shortcut():
    """The per-fit shortcuts (0/1 float mask, pre-zeroed data, loss from (G, P)) change
    nothing but rounding."""
    X, mask = _data(seed=7)
    Xt, M = torch.from_numpy(X), torch.from_numpy(mask)
    Xz = torch.where(M, Xt, torch.zeros((), dtype=Xt.dtype))
    U = torch.from_numpy(np.random.default_rng(8).standard_normal((60, 3)))
    G, P = gram_and_rhs(Xt.T, U, M.T)
    G2, P2 = gram_and_rhs(Xz.T.contiguous(), U, float_mask(M, Xt.dtype).T, zeroed=True)
    # the products' summation order depends on the memory layout: rounding near zero entries
    scale = 1e-14 * float(P.abs().max())
    assert torch.equal(G, G2) and torch.allclose(P, P2, rtol=1e-14, atol=scale)
    V = torch.from_numpy(np.random.default_rng(9).standard_normal((30, 3)))
    direct = float(masked_residual_norm(Xt, U, V, M)) ** 2
    shortcut = loss_from_normal_equations(float((Xz**2).sum()), G, P, V)
    assert shortcut == pytest.approx(direct, rel=1e-12)


def test_masked_pca_stops_on_the_observed_loss():
    X, mask = _data(seed=10)
    quick = pca_als(X, 3, mask=mask, random_state=0)  # default loss_tol=1e-6
    polished = pca_als(X, 3, mask=mask, random_state=0, loss_tol=1e-15, max_iter=3000)
    assert quick.converged and quick.n_iter < polished.n_iter
    h = quick.loss_history
    assert h[-2] - h[-1] < 1e-6 * h[-2]
    assert h[-1] == pytest.approx(polished.loss_history[-1], rel=1e-4)
    with pytest.raises(ValueError, match="loss_tol"):
        pca_als(X, 3, mask=mask, loss_tol=-1.0)


def test_masks_with_sparse_data_are_refused_clearly():
    import scipy.sparse

    import factorlab as fl

    X, mask = _data(seed=6)
    Xs = scipy.sparse.csr_matrix(np.where(mask, X, 0.0))
    for call in (lambda: fl.NMF(rank=2).fit(Xs, mask=mask),
                 lambda: fl.PCA(rank=2).fit(Xs, mask=mask)):
        with pytest.raises(ValueError, match="sparse matrix says which entries are zero"):
            call()
    for call in (lambda: nmf(Xs, 2, mask=mask), lambda: pca_als(Xs, 2, mask=mask)):
        with pytest.raises(ValueError, match="the only mask is mask='stored'"):
            call()
