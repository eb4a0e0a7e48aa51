"""Regression tests for numerical bugs of issue 12; each one failed before its fix."""

import numpy as np
import pytest
import torch

import factorlab as fl


def _dead(factors):
    return any(bool((np.abs(np.asarray(f)).max(0) == 0).any()) for f in factors)


@pytest.mark.parametrize("missing", [None, "exact", "em"])
def test_nonnegative_cp_with_signed_modes_keeps_every_component(missing):
    # Before: with signed modes a HALS column that hit zero dragged its partners to zero and
    # stayed there; 14 of these 20 fits ended with a dead component (error up to 1.0;
    # benchmarks/numerical_regressions.py counts them on any checkout).
    for seed in range(20):
        rng = np.random.default_rng(seed)
        A, B, C = rng.random((12, 3)), rng.standard_normal((10, 3)), rng.random((8, 3))
        X = np.einsum("ir,jr,kr->ijk", A, B, C)
        mask = None if missing is None else rng.random(X.shape) < 0.9
        kwargs = {} if missing is None else {"missing": missing}
        model = fl.CP(3, nonneg=[True, False, True], random_state=seed, **kwargs)
        model.fit(X, mask=mask)
        assert not _dead(model.factors_), seed
        assert np.all(np.diff(model.loss_history_) <= 1e-12), seed  # still never increases
        if missing != "em":  # EM converges too slowly for this bound within max_iter
            assert model.loss_history_[-1] < 1e-3, (seed, model.loss_history_[-1])


def test_anls_nmf_revives_dead_components():
    # Before: seed 40 ended "converged" with a dead component at relative error 0.133.
    for seed in (40, 43, 46, 51, 52):
        X = np.random.default_rng(seed).random((8, 6))
        model = fl.NMF(rank=5, solver="anls", random_state=seed).fit(X)
        assert not _dead([model.U_, model.V_]), seed
        assert np.all(np.diff(model.loss_history_) <= 1e-12)
    X = np.random.default_rng(40).random((8, 6))
    assert fl.NMF(rank=5, solver="anls", random_state=40).fit(X).loss_history_[-1] < 0.12


def test_semi_nmf_transform_is_nonnegative_least_squares():
    # Before: transform solved unconstrained least squares (negative coordinates).
    rng = np.random.default_rng(0)
    X = rng.exponential(size=(40, 3)) @ rng.standard_normal((3, 15))
    X += 0.1 * rng.standard_normal(X.shape)
    model = fl.SemiNMF(rank=3)
    U = model.fit_transform(X)
    T = model.transform(X)
    assert T.min() >= 0
    np.testing.assert_allclose(T, U, atol=1e-10)
    # signed data are accepted (semi-NMF data are signed) and new rows get U >= 0
    assert model.transform(-X).min() >= 0


def test_pca_rank_above_the_numerical_rank_is_unbiased():
    # Before: the ridge of singular normal equations shrank the explained variances.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 20))
    model = fl.PCA(rank=6, random_state=0).fit(X)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)[:6]
    np.testing.assert_allclose(model.explained_variance_, s**2 / 49, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.reconstruct(), X, atol=1e-10)


TOL_ZERO = [
    lambda: fl.NMF(2, tol=0, max_iter=7, random_state=0),
    lambda: fl.NMF(2, solver="anls", tol=0, max_iter=7, random_state=0),
    lambda: fl.PCA(2, tol=0, max_iter=7, random_state=0),
    lambda: fl.SparsePCA(2, tol=0, max_iter=7),
    lambda: fl.SparseNMF(2, tol=0, max_iter=7),
    lambda: fl.SemiNMF(2, tol=0, max_iter=7),
    lambda: fl.GLRM(2, tol=0, max_iter=7),
]


@pytest.mark.parametrize("make", TOL_ZERO)
def test_tol_zero_runs_to_max_iter(make):
    X = np.random.default_rng(0).random((20, 8))
    model = make().fit(X)
    assert model.n_iter_ == 7 and not model.converged_


def test_tol_zero_cp_and_functions():
    rng = np.random.default_rng(0)
    X = rng.random((6, 5, 4))
    assert fl.cp_als(X, 2, tol=0, max_iter=6, random_state=0).n_iter == 6
    assert fl.CP(2, nonneg=True, tol=0, max_iter=6, random_state=0).fit(X).n_iter_ == 6
    M = rng.random((20, 8))
    assert fl.pca_als(M, 2, mask=rng.random(M.shape) < 0.9, tol=0, loss_tol=0,
                      max_iter=6, random_state=0).n_iter == 6


# These failed before commit c839cf3 (_backend.check_random_state accepts a RandomState); they
# check that every model here routes its seed through it.
@pytest.mark.parametrize("make", [
    lambda rs: fl.NMF(2, random_state=rs),
    lambda rs: fl.PCA(2, random_state=rs),
    lambda rs: fl.SparsePCA(2, init="random", random_state=rs),
    lambda rs: fl.SemiNMF(2, init="random", random_state=rs),
    lambda rs: fl.GLRM(2, init="random", random_state=rs),
    lambda rs: fl.KMeansFactorization(2, random_state=rs),
])
def test_random_state_accepts_a_randomstate(make):
    X = np.random.default_rng(0).random((20, 8))
    a = make(np.random.RandomState(0)).fit(X)
    b = make(np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(a.U_, b.U_)


def test_random_state_randomstate_cp():
    X = np.random.default_rng(0).random((6, 5, 4))
    a = fl.cp_als(X, 2, random_state=np.random.RandomState(0))
    b = fl.cp_als(X, 2, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(a.factors[0], b.factors[0])


def test_float32_in_float32_out():
    # What each entry point returns for float32 input: float32 everywhere (the NMF, PCA and CP
    # solvers compute in float64 and cast back; before, the functions returned float64).
    rng = np.random.default_rng(0)
    X = rng.random((30, 12)).astype(np.float32)
    for fit in (fl.nmf(X, 2, random_state=0), fl.pca_als(X, 2, random_state=0),
                fl.semi_nmf(X, 2), fl.sparse_pca(X, 2, 0.1), fl.glrm(X, 2)):
        assert fit.U.dtype == np.float32 and fit.V.dtype == np.float32
        assert fit.mean is None or fit.mean.dtype == np.float32
    T = rng.random((6, 5, 4)).astype(np.float32)
    assert all(f.dtype == np.float32 for f in fl.cp_als(T, 2, random_state=0).factors)
    Xt = torch.from_numpy(X)
    assert fl.nmf(Xt, 2, random_state=0).U.dtype == torch.float32
    assert fl.pca_als(Xt, 2, random_state=0).V.dtype == torch.float32
    for est in (fl.NMF(2, random_state=0), fl.PCA(2, random_state=0), fl.SemiNMF(2),
                fl.SparsePCA(2), fl.SparseNMF(2), fl.GLRM(2)):
        est.fit(X)
        U = est.transform(X)
        assert U.dtype == np.float32 and est.inverse_transform(U).dtype == np.float32
    # float64 (and integer) input gives float64
    assert fl.nmf(X.astype(np.float64), 2, random_state=0).U.dtype == np.float64
    assert fl.pca_als((X * 10).astype(int), 2, random_state=0).U.dtype == np.float64


def test_glrm_predict_takes_data_rows():
    # Before: predict(U) took scores, so scikit-learn's predict(X) failed on data rows.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 10))
    model = fl.GLRM(rank=2, alpha=0.0).fit(X)
    np.testing.assert_allclose(model.predict(X), model.predict(), atol=1e-6)
    with pytest.raises(ValueError, match="X has 3 features, but GLRM is expecting 10"):
        model.predict(X[:, :3])


def test_kmeans_transform_checks_the_feature_count():
    X = np.random.default_rng(0).standard_normal((20, 4))
    model = fl.KMeansFactorization(rank=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but KMeansFactorization is expecting 4"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_samples=1"):
        fl.KMeansFactorization(rank=2).fit(X[:1])


@pytest.mark.parametrize("make", [lambda: fl.SparsePCA(rank=2, alpha=0.1),
                                  lambda: fl.SparseNMF(rank=2, alpha=0.1)])
def test_sparse_fit_transform_equals_transform(make):
    X = np.random.default_rng(0).random((30, 8))
    model = make()
    np.testing.assert_allclose(model.fit_transform(X), model.transform(X), atol=1e-12)
