"""Sparse PCA, sparse NMF, semi-NMF and k-means as a factorization.

Peers on the same data: scikit-learn's SparsePCA (same objective), NMF and KMeans; closed form:
the SVD (alpha = 0 gives PCA's subspace, every model lies above the Eckart-Young bound).
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import subspace_angles
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import NMF as SkNMF
from sklearn.decomposition import SparsePCA as SkSparsePCA
from sklearn.metrics import adjusted_rand_score

from factorlab.matrix import (KMeansFactorization, SemiNMF, SparseNMF, SparsePCA,
                              kmeans_factorization, semi_nmf, sparse_nmf, sparse_pca)
from factorlab.matrix.sparse import _ball_solve


def svd_bound(X, rank):
    s = np.linalg.svd(X, compute_uv=False)
    return np.sqrt(np.sum(s[rank:] ** 2)) / np.linalg.norm(X)


@pytest.fixture(scope="module")
def planted_sparse():
    """Two sparse loadings on disjoint groups of 6 of 30 features, plus dense noise."""
    rng = np.random.default_rng(0)
    V = np.zeros((30, 2))
    V[2:8, 0] = 1 / np.sqrt(6)
    V[15:21, 1] = 1 / np.sqrt(6)
    U = rng.standard_normal((200, 2)) * [4.0, 3.0]
    return U @ V.T + 0.3 * rng.standard_normal((200, 30)), V


def objective(X, fit, alpha):
    R = X - fit.mean - fit.U @ fit.V.T
    return 0.5 * np.sum(R**2) + alpha * np.abs(fit.V).sum()


def test_sparse_pca_recovers_planted_support_like_sklearn(planted_sparse):
    X, V_true = planted_sparse
    alpha = 5.0
    fit = sparse_pca(X, rank=2, alpha=alpha)
    sk = SkSparsePCA(n_components=2, alpha=alpha, max_iter=2000, tol=1e-10,
                     random_state=0).fit(X)
    ours = {frozenset(np.flatnonzero(v)) for v in fit.V.T}
    theirs = {frozenset(np.flatnonzero(v)) for v in sk.components_}
    truth = {frozenset(np.flatnonzero(v)) for v in V_true.T}
    assert ours == theirs == truth
    # Same objective (l1 on the loadings, unit ball on the scores): ours is at least as low.
    assert objective(X, fit, alpha) <= sk.error_[-1] * (1 + 1e-6)
    # Plain PCA spreads the loading over every feature.
    pcs = np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:2]
    assert np.count_nonzero(pcs) == 60


@pytest.mark.parametrize("init", ["svd", "random"])
def test_alpha_zero_is_pca_subspace(planted_sparse, init):
    X, _ = planted_sparse
    fit = sparse_pca(X, rank=3, alpha=0.0, init=init, random_state=1, tol=1e-12, max_iter=5000)
    Xc = X - X.mean(0)
    pcs = np.linalg.svd(Xc, full_matrices=False)[2][:3].T
    assert np.max(subspace_angles(fit.V, pcs)) < 1e-4
    assert fit.loss_history[-1] == pytest.approx(svd_bound(Xc, 3), rel=1e-6)


def test_large_alpha_zeroes_loadings_and_sparsity_grows(planted_sparse):
    X, _ = planted_sparse
    counts = [int((sparse_pca(X, 2, alpha=a).V != 0).sum()) for a in (0.0, 2.0, 20.0)]
    assert counts[0] == 60 and counts[0] > counts[1] > counts[2]
    # alpha above every |X_c^T u| leaves nothing: the soft threshold kills all loadings.
    huge = np.linalg.norm(X - X.mean(0), 2) * 2
    assert np.all(sparse_pca(X, 2, alpha=huge).V == 0)


@pytest.mark.parametrize("fitter", [
    lambda X, m: sparse_pca(X, 3, alpha=2.0, mask=m),
    lambda X, m: sparse_nmf(np.abs(X), 3, alpha=2.0, mask=m),
    lambda X, m: semi_nmf(X, 3, mask=m),
], ids=["sparse_pca", "sparse_nmf", "semi_nmf"])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_loss_never_increases(planted_sparse, fitter, masked):
    X, _ = planted_sparse
    mask = np.random.default_rng(3).random(X.shape) > 0.3 if masked else None
    history = fitter(X, mask).loss_history
    assert len(history) > 2
    assert np.all(np.diff(history) <= 1e-12 * history[0])


@pytest.mark.parametrize("fitter", [
    lambda X, m: sparse_pca(X, 2, alpha=2.0, mask=m),
    lambda X, m: sparse_nmf(X, 2, alpha=2.0, mask=m),
    lambda X, m: semi_nmf(X, 2, mask=m),
    lambda X, m: kmeans_factorization(X, 3, mask=m, random_state=0),
], ids=["sparse_pca", "sparse_nmf", "semi_nmf", "kmeans"])
def test_mask_invariance_and_full_mask(planted_sparse, fitter):
    X = np.abs(planted_sparse[0])
    mask = np.random.default_rng(4).random(X.shape) > 0.25
    spoiled = np.where(mask, X, 999.0)
    a, b = fitter(X, mask), fitter(spoiled, mask)
    np.testing.assert_allclose(a.U, b.U, atol=1e-10)
    np.testing.assert_allclose(a.V, b.V, atol=1e-8)
    np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-10)
    full, none = fitter(X, np.ones(X.shape, bool)), fitter(X, None)
    np.testing.assert_allclose(full.V, none.V, atol=1e-10)


def test_masked_sparse_pca_keeps_the_support(planted_sparse):
    X, V_true = planted_sparse
    mask = np.random.default_rng(5).random(X.shape) > 0.2
    fit = sparse_pca(X, 2, alpha=4.0, mask=mask)
    assert ({frozenset(np.flatnonzero(v)) for v in fit.V.T}
            == {frozenset(np.flatnonzero(v)) for v in V_true.T})
    assert np.all(np.linalg.norm(fit.U, axis=0) <= 1 + 1e-9)


def test_random_start_is_seeded(planted_sparse):
    X, _ = planted_sparse
    a = sparse_pca(X, 2, alpha=1.0, init="random", random_state=7, max_iter=20)
    b = sparse_pca(X, 2, alpha=1.0, init="random", random_state=7, max_iter=20)
    c = sparse_pca(X, 2, alpha=1.0, init="random", random_state=8, max_iter=20)
    np.testing.assert_array_equal(a.V, b.V)
    assert not np.allclose(a.V, c.V)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_nmf_matches_sklearn_nmf_at_alpha_zero_and_is_sparse():
    rng = np.random.default_rng(2)
    V0 = np.kron(np.eye(3), np.ones((8, 1)))
    X = rng.exponential(size=(120, 3)) @ V0.T + 0.1 * rng.random((120, 24))
    plain = sparse_nmf(X, 3, alpha=0.0, max_iter=2000, tol=1e-10)
    sk = SkNMF(3, init="nndsvda", solver="cd", max_iter=2000, tol=1e-10, random_state=0)
    W = sk.fit_transform(X)
    sk_err = np.linalg.norm(X - W @ sk.components_) / np.linalg.norm(X)
    assert plain.loss_history[-1] <= sk_err * 1.001
    sparse = sparse_nmf(X, 3, alpha=3.0)
    assert (sparse.U >= 0).all() and (sparse.V >= 0).all()
    assert int((sparse.V > 0).sum()) == 24 < int((plain.V > 1e-8).sum())
    assert ({frozenset(np.flatnonzero(v)) for v in sparse.V.T}
            == {frozenset(np.flatnonzero(v)) for v in V0.T})


def test_menu_ordering_svd_semi_nmf_kmeans():
    X, _ = make_blobs(300, 8, centers=4, cluster_std=2.0, random_state=0)
    rank = 4
    bound = svd_bound(X, rank)
    semi = semi_nmf(X, rank).loss_history[-1]
    km = kmeans_factorization(X, rank, random_state=0).loss_history[-1]
    # One-hot rows are nonnegative, so k-means is a feasible semi-NMF: bound <= semi <= k-means.
    assert bound - 1e-9 <= semi <= km + 1e-9


def test_semi_nmf_exact_on_planted_mixture():
    rng = np.random.default_rng(6)
    U0, V0 = rng.exponential(size=(60, 3)), rng.standard_normal((20, 3))
    fit = semi_nmf(U0 @ V0.T, 3, max_iter=3000, tol=1e-14)
    assert fit.loss_history[-1] < 1e-4
    assert fit.U.min() >= 0 and fit.V.min() < 0


def test_kmeans_matches_sklearn():
    X, y = make_blobs(400, 10, centers=5, random_state=1)
    ours = KMeansFactorization(rank=5, random_state=0).fit(X)
    sk = KMeans(5, n_init=10, random_state=0).fit(X)
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-9)
    assert adjusted_rand_score(ours.labels_, sk.labels_) == 1.0
    assert np.all(ours.U_.sum(1) == 1) and set(np.unique(ours.U_)) == {0.0, 1.0}
    np.testing.assert_allclose(ours.V_.T[ours.labels_], X - (X - ours.reconstruct()), atol=1e-9)
    np.testing.assert_array_equal(ours.transform(X), ours.U_)


@pytest.mark.parametrize("m, n, k, std", [
    (1000, 10, 6, 1.0),     # well separated
    (1000, 10, 6, 6.0),     # overlapping
    (3000, 30, 12, 4.0),
    (5000, 100, 20, 3.0),   # where the old (non-greedy seeding) version was 14 % worse
], ids=["separated", "overlapping", "3000x30", "5000x100k20"])
def test_kmeans_inertia_no_worse_than_sklearn(m, n, k, std):
    X, _ = make_blobs(m, n, centers=k, cluster_std=std, random_state=0)
    ours = KMeansFactorization(rank=k, random_state=0).fit(X)
    sk = KMeans(k, n_init=10, random_state=0).fit(X)
    # Equal up to the spread between local minima that different k-means++ draws reach on
    # overlapping clusters (1e-5 relative here, either way).
    assert ours.inertia_ <= sk.inertia_ * (1 + 1e-4)
    # inertia_ is the objective at the returned labels and centroids
    assert ours.inertia_ == pytest.approx(((X - ours.V_.T[ours.labels_]) ** 2).sum(), rel=1e-12)


def test_kmeans_tol_zero_runs_until_the_assignment_is_fixed():
    X, _ = make_blobs(600, 5, centers=4, cluster_std=4.0, random_state=2)
    strict = kmeans_factorization(X, 4, n_init=1, tol=0.0, random_state=0)
    labels = strict.U.argmax(1)
    assert strict.converged
    means = np.stack([X[labels == c].mean(0) for c in range(4)], 1)
    np.testing.assert_allclose(strict.V, means, atol=1e-12)
    d = ((X[:, :, None] - strict.V[None]) ** 2).sum(1)
    np.testing.assert_array_equal(d.argmin(1), labels)


def test_estimators_transform_save_load(tmp_path, planted_sparse):
    X, _ = planted_sparse
    model = SparsePCA(rank=2, alpha=4.0).fit(X)
    assert model.converged_ and model.n_iter_ >= 1
    np.testing.assert_allclose(model.reconstruct(), model.U_ @ model.V_.T + model.mean_)
    U_new = model.transform(X[:5])
    assert U_new.shape == (5, 2)
    path = tmp_path / "spca.npz"
    model.save(path)
    np.testing.assert_array_equal(SparsePCA.load(path).V_, model.V_)
    nmf = SparseNMF(rank=2, alpha=1.0).fit(np.abs(X))
    assert nmf.transform(np.abs(X[:5])).min() >= 0
    assert SemiNMF(rank=2).fit(X).U_.min() >= 0


def test_torch_in_torch_out_and_inputs_untouched(planted_sparse):
    X, _ = planted_sparse
    before = X.copy()
    mask = np.ones(X.shape, bool)
    sparse_pca(X, 2, alpha=1.0, mask=mask)
    semi_nmf(X, 2)
    kmeans_factorization(X, 2, random_state=0)
    np.testing.assert_array_equal(X, before)
    assert mask.all()
    T = torch.as_tensor(X)
    fit = sparse_pca(T, 2, alpha=1.0)
    assert isinstance(fit.U, torch.Tensor) and isinstance(fit.V, torch.Tensor)
    np.testing.assert_allclose(fit.V.numpy(), sparse_pca(X, 2, alpha=1.0).V)


@pytest.mark.parametrize("call, match", [
    (lambda X: sparse_pca(X, 2, alpha=-1.0), "alpha"),
    (lambda X: sparse_pca(X, 40, alpha=1.0), "rank"),
    (lambda X: sparse_pca(X, 2, alpha=1.0, init="pca"), "init"),
    (lambda X: sparse_pca(X, 2, alpha=1.0, mask=np.ones((3, 3), bool)), "mask"),
    (lambda X: sparse_pca(X[:, 0], 1, alpha=1.0), "2-D"),
    (lambda X: sparse_nmf(X - 10, 2, alpha=1.0), "nonnegative"),
    (lambda X: sparse_pca(np.where(X > 1, np.nan, X), 2, alpha=1.0), "NaN"),
    (lambda X: kmeans_factorization(X, 0), "rank"),
    (lambda X: semi_nmf(X, 2, max_iter=0), "max_iter"),
])
def test_bad_inputs(planted_sparse, call, match):
    with pytest.raises(ValueError, match=match):
        call(np.abs(planted_sparse[0]))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(0, 10_000), st.booleans())
def test_ball_solve_is_the_exact_minimiser(n, seed, nonnegative):
    """KKT conditions of min Σ a_i u_i²/2 - b_i u_i over ‖u‖ ≤ 1 (and u ≥ 0): u_i = b_i/(a_i + μ)
    with μ ≥ 0, μ = 0 unless the ball is active."""
    rng = np.random.default_rng(seed)
    a = torch.as_tensor(rng.exponential(size=n) * (rng.random(n) > 0.2))
    b = torch.as_tensor(rng.standard_normal(n) * rng.choice([0.1, 10.0]))
    u = _ball_solve(a, b, ball=True, nonnegative=nonnegative).numpy()
    a, b = a.numpy(), np.maximum(b.numpy(), 0) if nonnegative else b.numpy()
    assert np.linalg.norm(u) <= 1 + 1e-9
    support = np.abs(b) > 1e-12
    assert np.all(u[~support] == 0)
    if support.any():
        mu = b[support] / u[support] - a[support]
        assert np.all(mu >= -1e-6) and np.ptp(mu) < 1e-6 * max(1.0, np.abs(mu).max())
        if np.linalg.norm(u) < 1 - 1e-9:
            assert np.allclose(mu, 0, atol=1e-9)


def test_l1_weight_explorer_builds(planted_sparse):
    import matplotlib

    matplotlib.use("Agg")
    from factorlab.widgets import l1_weight_explorer

    X, V_true = planted_sparse
    widget = l1_weight_explorer(X, rank=2, alpha=4.0, alphas=[0.0, 4.0, 100.0], truth=V_true)
    assert widget.children[0].value == 4.0


def test_device_argument(planted_sparse):
    X, _ = planted_sparse
    fit = sparse_pca(X, 2, alpha=1.0, device="cpu")
    np.testing.assert_allclose(fit.V, sparse_pca(X, 2, alpha=1.0).V)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            semi_nmf(X, 2, device="cuda")
        with pytest.raises(ValueError, match="CUDA"):
            kmeans_factorization(X, 2, device="cuda")
