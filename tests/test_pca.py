"""PCA by alternating least squares: against numpy's SVD and scikit-learn, invariants, inputs."""

from sklearn.exceptions import NotFittedError
import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA as SkPCA

from factorlab.matrix import PCA, pca_als


def _data(m=120, n=40, rank=4, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.array([10.0, 7.0, 5.0, 3.0])[:rank]
    axes = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    X = (rng.standard_normal((m, rank)) * scales) @ axes.T
    return X + 0.3 * rng.standard_normal((m, n)) + rng.standard_normal(n)


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_matches_truncated_svd(rank):
    X = _data()
    fit = pca_als(X, rank, random_state=0)
    Xc = X - X.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    assert fit.converged
    assert subspace_angles(fit.V, vt[:rank].T).max() < 1e-7
    # ordered axes equal the right singular vectors up to sign, scores have the singular norms
    assert np.allclose(np.abs(np.sum(fit.V * vt[:rank].T, axis=0)), 1.0, atol=1e-10)
    assert np.allclose(np.linalg.norm(fit.U, axis=0), s[:rank], rtol=1e-10)
    assert np.allclose(fit.V.T @ fit.V, np.eye(rank), atol=1e-12)
    bound = np.sqrt((s[rank:] ** 2).sum() / (s**2).sum())
    assert fit.loss_history[-1] == pytest.approx(bound, rel=1e-9)
    assert np.allclose(fit.mean, X.mean(0))


def test_matches_sklearn_pca():
    X = _data(seed=1)
    ours = PCA(rank=3, random_state=0).fit(X)
    theirs = SkPCA(n_components=3, svd_solver="full").fit(X)
    assert np.allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_,
                       rtol=1e-9)
    assert np.allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-9)
    signs = np.sign(np.sum(ours.V_ * theirs.components_.T, axis=0))
    assert np.allclose(ours.V_ * signs, theirs.components_.T, atol=1e-8)
    assert np.allclose(ours.transform(X[:5]) * signs, theirs.transform(X[:5]), atol=1e-7)
    assert np.allclose(ours.fit_transform(X) * signs, theirs.transform(X), atol=1e-7)


def test_loss_never_increases_and_center_false():
    X = _data(seed=2)
    fit = pca_als(X, 3, center=False, random_state=3, tol=1e-12)
    assert fit.mean is None
    assert np.all(np.diff(fit.loss_history) <= 1e-12)
    s = np.linalg.svd(X, compute_uv=False)
    bound = np.sqrt((s[3:] ** 2).sum() / (s**2).sum())
    assert fit.loss_history[-1] == pytest.approx(bound, rel=1e-8)


def test_nested_subspaces():
    X = _data(seed=3)
    V2, V3 = pca_als(X, 2, random_state=0).V, pca_als(X, 3, random_state=1).V
    assert subspace_angles(V2, V3).max() < 1e-6  # span(V2) inside span(V3)


def test_seed_determinism_and_input_untouched():
    X = _data(seed=4)
    X_copy = X.copy()
    a = PCA(2, random_state=5, tol=1e-3).fit(X)
    b = PCA(2, random_state=5, tol=1e-3).fit(X)
    assert np.array_equal(a.U_, b.U_) and np.array_equal(a.loss_history_, b.loss_history_)
    assert np.array_equal(X, X_copy)


def test_inverse_transform_and_reconstruct():
    X = _data(seed=5)
    model = PCA(4, random_state=0).fit(X)
    assert np.allclose(model.reconstruct(), model.inverse_transform(model.U_))
    assert np.allclose(model.inverse_transform(model.transform(X)), model.reconstruct(), atol=1e-8)


def test_torch_in_torch_out():
    X = _data(seed=6)
    model = PCA(2, random_state=0).fit(torch.from_numpy(X))
    assert isinstance(model.U_, torch.Tensor)
    assert isinstance(model.transform(torch.from_numpy(X)), torch.Tensor)
    assert np.allclose(model.V_.numpy(), PCA(2, random_state=0).fit(X).V_)


def test_save_load_round_trip(tmp_path):
    X = _data(seed=7)
    model = PCA(3, random_state=0).fit(X)
    path = tmp_path / "pca.npz"
    model.save(path)
    loaded = PCA.load(path)
    assert loaded.get_params() == model.get_params()
    for name in ("U_", "V_", "mean_", "loss_history_", "explained_variance_ratio_"):
        assert np.array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.n_iter_ == model.n_iter_ and loaded.converged_ == model.converged_
    assert np.allclose(loaded.transform(X), model.transform(X))


def test_sklearn_clone_and_params():
    from sklearn.base import clone

    model = PCA(3, random_state=1)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(n_components=2)


@pytest.mark.parametrize("bad, kwargs, match", [
    (np.full((5, 4), np.nan), {}, "X contains NaN"),
    (np.full((5, 4), np.inf), {}, "X contains NaN"),
    (np.ones(5), {}, "X must be a 2-D"),
    (np.ones((0, 4)), {}, "X is empty"),
    (np.ones((5, 4)), {"rank": 0}, "rank must be between 1"),
    (np.ones((5, 4)), {"rank": 5}, "rank must be between 1"),
    (np.ones((5, 4)), {"mask": np.ones((4, 5), bool)}, "mask must have the same shape"),
    (np.ones((5, 4)), {"max_iter": 0}, "max_iter must be >= 1"),
])
def test_bad_inputs(bad, kwargs, match):
    kwargs = {"rank": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        pca_als(bad, **kwargs)


def test_transform_errors():
    model = PCA(2)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.transform(np.ones((2, 4)))
    model.fit(_data())
    with pytest.raises(ValueError, match="X has 4 features, but PCA is expecting 40 features"):
        model.transform(np.ones((2, 4)))


def test_implicitly_centred_sparse_products_equal_explicit_ones():
    import scipy.sparse

    from factorlab.matrix.pca import _CentredSparse

    rng = np.random.default_rng(3)
    Xs = scipy.sparse.random(60, 25, density=0.3, format="csr", random_state=3)
    Xc = Xs.toarray() - Xs.toarray().mean(0)
    op = _CentredSparse(Xs, center=True)
    B, C = torch.from_numpy(rng.standard_normal((25, 4))), torch.from_numpy(
        rng.standard_normal((60, 4)))
    assert np.allclose(op.matmul(B).numpy(), Xc @ B.numpy(), atol=1e-12)
    assert np.allclose(op.rmatmul(C).numpy(), Xc.T @ C.numpy(), atol=1e-12)
    assert op.norm_sq == pytest.approx(np.linalg.norm(Xc) ** 2, rel=1e-12)
    model = PCA(rank=3, random_state=0).fit(Xs)
    sk = SkPCA(3).fit(Xs.toarray())
    assert np.allclose(model.explained_variance_, sk.explained_variance_, rtol=1e-6)
