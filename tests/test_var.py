"""Sparse VAR, the sequence test, the synthetic VAR movie and the VAR autoencoder."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from factorlab.checks import (ExerciseCheckError, check_coupling_graph,
                              check_lasso_alpha_gradient)
from factorlab.data import var_movie
from factorlab.var import SparseVAR, VARAutoencoder, sequence_test, var_lasso
from factorlab.metrics import support_f1
from factorlab.var.sparse_var import companion_matrix, lagged_design, spectral_radius


def to_np(x):
    return x.detach().numpy()


def _simulate(A, T, rng, noise=1.0):
    p, d, _ = A.shape
    z = np.zeros((T + 100, d))
    for t in range(p, T + 100):
        z[t] = sum(A[k] @ z[t - k - 1] for k in range(p)) + noise * rng.standard_normal(d)
    return z[100:]


def _sparse_A(d=6, seed=0):
    rng = np.random.default_rng(seed)
    A = np.diag(rng.uniform(0.4, 0.7, d))
    for i, j in [(1, 0), (3, 2), (5, 4), (0, 3)]:
        if max(i, j) < d:
            A[i, j] = 0.4 * rng.choice([-1, 1])
    return A[None]


@pytest.fixture(scope="module")
def movie():
    return var_movie(n_frames=4000, random_state=0)


def _region_traces(data, movie):
    F = data.footprints.reshape(len(data.footprints), -1).T
    traces = np.linalg.lstsq(F, (movie - data.mean_frame).reshape(len(movie), -1).T, rcond=None)[0]
    return traces.T[:, :data.n_network]


def test_lagged_design_blocks_and_no_cross_series_lags():
    Z = np.arange(12.0).reshape(6, 2)
    Phi, Y = lagged_design([Z[:3], Z[3:]], order=1)
    np.testing.assert_array_equal(Phi, [[0, 1], [2, 3], [6, 7], [8, 9]])
    np.testing.assert_array_equal(Y, [[2, 3], [4, 5], [8, 9], [10, 11]])


def test_alpha_zero_is_least_squares_var():
    rng = np.random.default_rng(0)
    A = np.concatenate([_sparse_A(), 0.2 * np.eye(6)[None]])
    z = _simulate(A, 800, rng)
    coefs, mean = var_lasso(z, order=2, alpha=0.0, standardize=False)
    Phi, Y = lagged_design(z - z.mean(0), 2)
    B = np.linalg.lstsq(Phi, Y, rcond=None)[0]  # (2d, d)
    np.testing.assert_allclose(coefs, B.T.reshape(6, 2, 6).transpose(1, 0, 2), atol=1e-10)
    np.testing.assert_allclose(mean, z.mean(0))


def test_sparse_var_recovers_support_on_simulated_var():
    A = _sparse_A()
    z = _simulate(A, 2000, np.random.default_rng(1))
    var = SparseVAR(order=1, alpha=0.05).fit(z)
    assert support_f1(var.coefs_, A) >= 0.8
    assert var.spectral_radius_ < 1
    assert var.prediction_error(z) < 1


def test_support_recovered_from_movie_regions(movie):
    traces = _region_traces(movie, movie.movie)
    var = SparseVAR(order=1, alpha=0.05).fit(traces)
    assert support_f1(var.coefs_, movie.coefs) >= 0.8


def test_standardize_makes_alpha_scale_free():
    z = _simulate(_sparse_A(), 1000, np.random.default_rng(2))
    scale = np.array([1.0, 10.0, 0.1, 1.0, 3.0, 1.0])
    a = SparseVAR(alpha=0.05).fit(z).coefs_
    b = SparseVAR(alpha=0.05).fit(z * scale).coefs_
    np.testing.assert_allclose(b, a * scale[None, :, None] / scale[None, None, :], atol=1e-10)


def test_var_lasso_gradcheck_through_latents():
    z = _simulate(_sparse_A(d=3), 60, np.random.default_rng(3))
    Z = torch.tensor(z, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: var_lasso(t, 1, 0.05, standardize=True)[0], (Z,),
                                    eps=1e-7, atol=1e-6)


def test_forecast_iterates_the_var_and_decays_to_mean():
    z = _simulate(_sparse_A(), 1000, np.random.default_rng(4)) + 5.0
    var = SparseVAR(order=1, alpha=0.02).fit(z)
    f = var.forecast(z, steps=3)
    step1 = var.coefs_[0] @ (z[-1] - var.mean_) + var.mean_
    np.testing.assert_allclose(f[0], step1)
    np.testing.assert_allclose(var.forecast(z, steps=200)[-1], var.mean_, atol=1e-6)
    pred = var.predict(z)                        # row t: the forecast of z[t + 1]
    assert pred.shape == z.shape
    np.testing.assert_allclose(pred[-2], var.coefs_[0] @ (z[-2] - var.mean_) + var.mean_)
    np.testing.assert_allclose(pred[-1], f[0])
    assert var.score(z) == pytest.approx(1 - var.prediction_error(z))


def test_predict_with_two_lags_counts_presample_rows_as_the_mean():
    rng = np.random.default_rng(8)
    A = np.concatenate([_sparse_A(), 0.2 * np.eye(6)[None]])
    z = _simulate(A, 600, rng)
    var = SparseVAR(order=2, alpha=0.01).fit(z)
    pred = var.predict(z)
    c = z - var.mean_
    np.testing.assert_allclose(pred[5], var.mean_ + var.coefs_[0] @ c[5] + var.coefs_[1] @ c[4])
    np.testing.assert_allclose(pred[0], var.mean_ + var.coefs_[0] @ c[0])
    # float32 data give float32 coefficients and predictions; the fit itself is in float64
    v32 = SparseVAR(order=2, alpha=0.01).fit(z.astype(np.float32))
    assert v32.coefs_.dtype == np.float32 and v32.predict(z.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(v32.coefs_, var.coefs_, atol=1e-4)


def test_sparse_var_stores_settings_untouched_and_checks_them_in_fit():
    # scikit-learn's own checks run in tests/test_common.py
    from sklearn.base import clone

    model = SparseVAR(order=-3, alpha="x")            # stored untouched, checked by fit
    assert clone(model).get_params()["order"] == -3
    with pytest.raises(ValueError, match="order"):
        model.fit(np.ones((10, 2)))


def test_companion_matrix_and_path():
    A = np.array([[[0.5, 0.1], [0.0, 0.3]], [[0.2, 0.0], [0.0, 0.1]]])
    C = companion_matrix(A)
    assert C.shape == (4, 4)
    np.testing.assert_allclose(C[2:, :2], np.eye(2))
    assert spectral_radius(A) == pytest.approx(np.abs(np.linalg.eigvals(C)).max())
    z = _simulate(_sparse_A(), 500, np.random.default_rng(5))
    var = SparseVAR(alpha=0.05).fit(z)
    path = var.coef_path(z, [var.alpha_max_ * 1.001, 0.05, 0.0])
    assert np.all(path[0] == 0)
    np.testing.assert_allclose(path[1], var.coefs_)
    nnz = [np.count_nonzero(p) for p in path]
    assert nnz[0] <= nnz[1] <= nnz[2]


def test_sequence_test_rejects_change_and_keeps_size():
    rng = np.random.default_rng(6)
    A = _sparse_A()
    B = A.copy()
    B[0, 2, 5] = 0.5
    B[0, 4, 1] = -0.5
    za, zb = _simulate(A, 1500, rng), _simulate(B, 1500, rng)
    assert sequence_test(za, zb, block_length=100, n_permutations=99, random_state=0).p_value < 0.05
    pvals = [sequence_test(_simulate(A, 1000, rng), _simulate(A, 1000, rng), block_length=100,
                           n_permutations=19, random_state=k).p_value for k in range(20)]
    assert np.mean(np.array(pvals) <= 0.05) <= 0.2  # nominal 5 %; 20 draws
    assert np.mean(pvals) > 0.3  # roughly uniform under the null


def test_sequence_test_coefficient_statistic():
    rng = np.random.default_rng(7)
    A = _sparse_A()
    B = A.copy()
    B[0, 2, 5] = B[0, 4, 1] = 0.5
    res = sequence_test(_simulate(A, 2000, rng), _simulate(B, 2000, rng), n_permutations=49,
                        statistic="coefficients", random_state=0)
    assert res.p_value < 0.05 and res.support_b[2, 5] and not res.support_a[2, 5]
    with pytest.raises(ValueError, match="statistic"):
        sequence_test(np.ones((400, 2)), np.ones((400, 2)), statistic="wald")


def test_sequence_test_on_the_movie_conditions(movie):
    base = _region_traces(movie, movie.movie[2000:])
    novel = sequence_test(base, _region_traces(movie, movie.movie_novel[:2000]), n_permutations=99,
                          random_state=0)
    assert novel.p_value < 0.05 and novel.statistic > 0
    assert sequence_test(base, _region_traces(movie, movie.movie_null[:2000]), n_permutations=99,
                         random_state=0).p_value > 0.05


def test_var_movie_ground_truth(movie):
    assert movie.movie.shape == (4000, 32, 32)
    # acyclic couplings: the eigenvalues are the decays, in both conditions
    np.testing.assert_allclose(spectral_radius(movie.coefs), np.diag(movie.coefs[0]).max())
    np.testing.assert_allclose(spectral_radius(movie.coefs_novel), np.diag(movie.coefs[0]).max())
    np.testing.assert_allclose(np.abs(movie.coefs_novel[0][tuple(movie.changed.T)]), 0.3)
    diff = (movie.coefs_novel[0] != 0) & (movie.coefs[0] == 0)
    assert {tuple(e) for e in movie.changed} == set(zip(*np.nonzero(diff)))
    again = var_movie(n_frames=4000, random_state=0)
    np.testing.assert_array_equal(again.movie, movie.movie)
    assert not (movie.network_mask & movie.distractor_mask).any()


def test_bad_inputs():
    z = np.random.default_rng(0).standard_normal((50, 3))
    with pytest.raises(ValueError, match="order must be >= 1"):
        SparseVAR(order=0).fit(z)
    with pytest.raises(ValueError, match="time points"):
        lagged_design(z[:2], order=2)
    with pytest.raises(NotFittedError):
        SparseVAR().predict(z)
    with pytest.raises(ValueError, match="2 features"):
        SparseVAR().fit(z).predict(z[:, :2])
    with pytest.raises(ValueError, match="1 sample"):
        SparseVAR().fit(z[:1])
    with pytest.raises(ValueError, match="too few blocks"):
        sequence_test(z, z, block_length=40)
    movie = np.zeros((20, 32, 32))
    with pytest.raises(ValueError, match="multiples of 4"):
        VARAutoencoder((30, 32)).fit(movie)
    with pytest.raises(ValueError, match="multiples of 4"):
        VARAutoencoder().fit(np.zeros((20, 30, 32)))
    with pytest.raises(ValueError, match="frame_shape is"):
        VARAutoencoder((16, 16)).fit(movie)
    with pytest.raises(ValueError, match="mode"):
        VARAutoencoder((32, 32), mode="joint").fit(movie)
    with pytest.raises(NotFittedError):
        VARAutoencoder().encode(movie)


# -- the autoencoder ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return var_movie(n_frames=300, shape=(16, 16), n_network=4, n_distractors=2, n_edges=3,
                     n_changed=1, random_state=1)


def test_prediction_gradient_reaches_the_encoder(small):
    model = VARAutoencoder((16, 16), latent_dim=4, device="cpu", random_state=0)
    model.reset_parameters()
    X = torch.tensor(small.movie, dtype=torch.float32)
    model.mean_frame.copy_(X.mean(0))
    out = model(X[:100])
    pred = ((out["latents"][1:] - out["prediction"]) ** 2).mean()
    pred.backward()
    grad = model.encoder[0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    assert out["coefs"].dtype == torch.float64 and out["reconstruction"].shape == (100, 16, 16)


def test_fit_is_seeded_and_save_load_roundtrip(small, tmp_path):
    movie0 = small.movie.copy()
    kw = dict(latent_dim=4, n_steps=6, window=64, device="cpu", random_state=3)
    a = VARAutoencoder((16, 16), **kw).fit(small.movie)
    b = VARAutoencoder(**kw).fit(small.movie)              # frame shape from the movie
    np.testing.assert_array_equal(a.encode(small.movie), b.encode(small.movie))
    np.testing.assert_array_equal(small.movie, movie0)
    a.save(tmp_path / "m.pt")
    c = VARAutoencoder.load(tmp_path / "m.pt")
    assert c.get_params() == a.get_params() and c.frame_shape_ == (16, 16)
    np.testing.assert_allclose(c.encode(small.movie), a.encode(small.movie))
    np.testing.assert_allclose(c.var_.coefs_, a.var_.coefs_)
    assert c.var_.alpha_max_ == a.var_.alpha_max_
    assert c.prediction_error(small.movie) == pytest.approx(a.prediction_error(small.movie))


def test_autoencoder_is_a_torch_module_and_an_estimator(small):
    from sklearn.base import clone

    bad = VARAutoencoder(frame_shape=(3,), latent_dim=-1, channels="x", device="nowhere",
                         random_state="seed")            # stored untouched, checked by fit
    assert bad.get_params()["channels"] == "x"
    with pytest.raises((ValueError, TypeError)):
        bad.fit(small.movie)
    model = VARAutoencoder(latent_dim=4, n_steps=3, window=32, device="cpu",
                           random_state=0).double()
    weights = [p for p in model.parameters()]
    movie = torch.tensor(small.movie[:100], requires_grad=True)
    model.fit(movie)
    assert movie.grad is None                                    # the user's tensor untouched
    assert all(a is b for a, b in zip(weights, model.parameters()))   # filled in place
    assert model.param_dtype == torch.float64 and model.encode(movie).dtype == torch.float64
    np.testing.assert_array_equal(to_np(model.transform(movie)), to_np(model.encode(movie)))
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.transform(small.movie)
    with pytest.raises(ValueError, match="features"):
        model.transform(np.zeros((10, 8, 8)))


def test_two_stage_and_outputs(small):
    model = VARAutoencoder((16, 16), latent_dim=4, mode="two_stage", n_steps=5, window=64,
                           device="cpu", random_state=0).fit(small.movie)
    assert np.all(model.loss_history_[:, 1] == 0)  # no prediction term while training
    assert model.forecast(small.movie[:50], steps=4).shape == (4, 16, 16)
    omega = model.contribution_map(small.movie, max_frames=40)
    assert omega.shape == (16, 16) and np.all(omega >= 0)
    assert 0 <= model.reconstruction_error(small.movie) < 2
    tensor_out = model.encode(torch.tensor(small.movie))
    assert isinstance(tensor_out, torch.Tensor)


def test_end_to_end_training_lowers_prediction_loss(small):
    model = VARAutoencoder((16, 16), latent_dim=4, n_steps=60, window=128, lr=5e-3,
                           device="cpu", random_state=0)
    model.fit(small.movie)
    h = model.loss_history_
    assert h[-10:, 1].mean() < h[:10, 1].mean()


# -- exercise checks ---------------------------------------------------------------------------

def test_check_coupling_graph_right_and_wrong():
    A = _sparse_A()
    right = [(0, 1), (2, 3), (4, 5), (3, 0)]
    assert check_coupling_graph(right, A) == 1.0
    with pytest.raises(ExerciseCheckError, match="transposed"):
        check_coupling_graph([(j, i) for i, j in right], A)
    with pytest.raises(ExerciseCheckError, match="F1"):
        check_coupling_graph([(0, 1)], A)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_coupling_graph(..., A)


def test_check_lasso_alpha_gradient_right_and_wrong():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = X[:, 0] - X[:, 2] + 0.1 * rng.standard_normal(30)
    from factorlab.var.lasso import lasso
    _, [(active, signs)] = lasso(X, y, 0.1, return_active=True)
    G = X[:, active].T @ X[:, active] / 30
    right = np.zeros(5)
    right[active] = -np.linalg.solve(G, signs)
    check_lasso_alpha_gradient(right, X, y, 0.1)
    with pytest.raises(ExerciseCheckError, match="factor n"):
        check_lasso_alpha_gradient(right / 30, X, y, 0.1)
    with pytest.raises(ExerciseCheckError, match="sign"):
        check_lasso_alpha_gradient(-right, X, y, 0.1)


def test_coupling_explorer_walks_the_path():
    import matplotlib

    matplotlib.use("Agg")
    from factorlab.widgets import coupling_explorer
    from factorlab.widgets.var import _n_couplings

    A = _sparse_A()
    z = _simulate(A, 500, np.random.default_rng(5))
    alpha_max = SparseVAR().fit(z).alpha_max_
    widget = coupling_explorer(z, [0.0, 0.05, 1.001 * alpha_max], truth=A, alpha=0.04)
    slider = widget.children[0]
    assert [label for label, _ in slider.options][0] == f"{1.001 * alpha_max:.3g}"  # strongest first
    assert slider.value == 1                                     # the penalty nearest 0.04
    slider.value = 2                                             # redraws at alpha = 0 (symlog axis)
    assert _n_couplings(np.zeros((1, 3, 3))) == 0
    assert _n_couplings(np.array([[[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]],
                                  [[0.0, 0.0, 0.2], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])) == 2
    with pytest.raises(ValueError, match="non-negative"):
        coupling_explorer(z, [-0.1, 0.1])
