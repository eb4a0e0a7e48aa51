"""Convolutional NMF (seqNMF): the model against a dense Toeplitz implementation, planted
sequences recovered, masks, x-ortho penalty gradients, the significance test, bad inputs."""

import numpy as np
import pytest
import torch

import factorlab as fl
from factorlab.matrix.convnmf import _XOrtho, _correlate, _spectral_norm_sq


def _dense_operator(W, T):
    """The matrix of H -> X_hat (vec over (t, k) -> (t, n)), built entry by entry."""
    N, K, L = W.shape
    A = np.zeros((T * N, T * K))
    for t in range(T):
        for k in range(K):
            for l in range(L):
                if t + l < T:
                    A[(t + l) * N:(t + l + 1) * N, t * K + k] = W[:, k, l]
    return A


def _delayed(A, s):
    """A (neurons x lag) moved s frames later (earlier for s < 0), zeros shifted in."""
    out = np.zeros_like(A)
    if s >= 0:
        out[:, s:] = A[:, :A.shape[1] - s]
    else:
        out[:, :s] = A[:, -s:]
    return out


def _template_match(W_true, W_fit):
    """Best correlation of each true template with any fitted one at any time shift."""
    lag = W_true.shape[2]
    best = []
    for a in np.moveaxis(W_true, 1, 0):
        candidates = (_delayed(b, s) for b in np.moveaxis(W_fit, 1, 0)
                      for s in range(-lag + 1, lag))
        best.append(max(float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))
                        for b in candidates))
    return np.array(best)


def test_model_and_adjoint_equal_the_dense_toeplitz_operator():
    rng = np.random.default_rng(0)
    W, H, Y = rng.random((5, 3, 4)), rng.random((20, 3)), rng.random((20, 5))
    A = _dense_operator(W, 20)
    np.testing.assert_allclose(fl.conv_reconstruct(W, H).ravel(), A @ H.ravel(), atol=1e-12)
    Wt = torch.from_numpy(W)
    np.testing.assert_allclose(_correlate(Wt, torch.from_numpy(Y)).numpy().ravel(),
                               A.T @ Y.ravel(), atol=1e-12)
    # the FFT bound on ||A||^2 holds and is tight to about 10 %
    top = np.linalg.norm(A, 2) ** 2
    assert top <= _spectral_norm_sq(Wt) <= 1.25 * top


def test_lag_one_is_plain_nmf():
    rng = np.random.default_rng(1)
    X = rng.random((40, 3)) @ rng.random((3, 25))
    fit = fl.conv_nmf(X, rank=3, lag=1, tol=0, max_iter=300, random_state=0)
    ref = fl.nmf(X, rank=3, random_state=0)
    assert fit.loss_history[-1] < 0.02 and ref.loss_history[-1] < 0.02
    np.testing.assert_allclose(fl.conv_reconstruct(fit.W, fit.H), X, atol=0.05 * X.max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_sequences_are_recovered_from_the_default_start(seed):
    X, truth = fl.data.neural_sequences(n_neurons=50, n_samples=1500, n_sequences=3, lag=25,
                                        random_state=10 + seed)
    fit = fl.conv_nmf(X, rank=3, lag=25, random_state=0)
    truth_error = np.linalg.norm(X - fl.conv_reconstruct(truth.W, truth.H)) / np.linalg.norm(X)
    # from one random start: near the truth's error (each sequence plays only 3-8 times),
    # most templates matched
    assert fit.loss_history[-1] <= 1.15 * truth_error
    assert np.median(_template_match(truth.W, fit.W)) > 0.8


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_objective_never_increases_without_penalty(solver):
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=500, n_sequences=2, lag=15,
                                    random_state=3)
    fit = fl.conv_nmf(X, rank=2, lag=15, solver=solver, tol=0, max_iter=40, random_state=0)
    assert np.all(np.diff(fit.objective_history) <= 1e-9 * fit.objective_history[0])


def test_xortho_gradients_match_autograd():
    rng = np.random.default_rng(4)
    X = torch.from_numpy(rng.random((30, 6)))
    W = torch.from_numpy(rng.random((6, 3, 5))).requires_grad_(True)
    H = torch.from_numpy(rng.random((30, 3))).requires_grad_(True)
    penalty = _XOrtho(X, 5, 1.0)
    R = (penalty.grad_H(W) * H).sum()      # R is linear in H for fixed W
    R.backward()
    np.testing.assert_allclose(H.grad.numpy(), penalty.grad_H(W).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(W.grad.numpy(), penalty.grad_W(H.detach()).numpy(), atol=1e-10)


def test_xortho_penalty_lowers_the_overlap_of_redundant_factors():
    X, _ = fl.data.neural_sequences(n_neurons=40, n_samples=1000, n_sequences=2, lag=20,
                                    random_state=5)
    plain = fl.conv_nmf(X, rank=4, lag=20, random_state=0)
    penal = fl.conv_nmf(X, rank=4, lag=20, lambda_xortho=0.005, random_state=0)
    value = _XOrtho(torch.from_numpy(X), 20, 1.0).value
    assert value(torch.from_numpy(penal.W), torch.from_numpy(penal.H)) < \
        value(torch.from_numpy(plain.W), torch.from_numpy(plain.H))


def test_no_onset_hides_in_the_last_frames_of_the_recording():
    # Without seqNMF's edge rule, MU put a unit onset on the last frame of this real recording
    # (only the template's first frame is seen there) and shrank the sequence's true onsets.
    X = np.asarray(fl.datasets.load_songbird().data, dtype=float).T[:333]
    fit = fl.conv_nmf(X, rank=3, lag=30, random_state=0)
    assert np.all(fit.H.argmax(axis=0) < 333 - 29)
    model = fl.ConvNMF(rank=3, lag=30, random_state=0).fit(X)
    assert np.all(model.transform(X).argmax(axis=0) < 333 - 29)


@pytest.mark.parametrize("lam", [0.0, 0.005])
def test_fit_transform_and_transform_agree(lam):
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=15,
                                    random_state=9)
    model = fl.ConvNMF(rank=2, lag=15, lambda_xortho=lam, tol=1e-9, max_iter=300,
                       random_state=0)
    H_fit = model.fit_transform(X)
    np.testing.assert_allclose(model.transform(X), H_fit, atol=2e-3 * H_fit.max())
    assert model.objective_history_[-1] <= model.objective_history_[-2] * (1 + 1e-12)


def test_a_penalty_that_empties_every_template_warns():
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=15,
                                    random_state=7)
    with pytest.warns(RuntimeWarning, match="shrank every template"):
        fit = fl.conv_nmf(X, rank=3, lag=15, lambda_xortho=1e3, random_state=0)
    assert fit.loss_history[-1] > 0.99


def test_rescaling_the_data_rescales_the_templates_at_the_same_penalty():
    # error and x-ortho penalty both grow like the square of the data: lambda is scale-free
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=15,
                                    random_state=8)
    a = fl.conv_nmf(X, rank=3, lag=15, lambda_xortho=0.01, random_state=0, max_iter=30)
    b = fl.conv_nmf(10 * X, rank=3, lag=15, lambda_xortho=0.01, random_state=0, max_iter=30)
    np.testing.assert_allclose(b.W, 10 * a.W, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.H, a.H, rtol=1e-8, atol=1e-12)


def test_mask_fits_observed_entries_only_and_cross_validate_runs():
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=15,
                                    random_state=6)
    mask = fl.speckled_mask(X.shape, 0.1, random_state=0)
    corrupted = np.where(mask, X, 1e3)           # hidden entries must never be used
    a = fl.ConvNMF(rank=2, lag=15, random_state=0).fit(corrupted, mask=mask)
    b = fl.ConvNMF(rank=2, lag=15, random_state=0).fit(np.where(mask, X, 0.0), mask=mask)
    np.testing.assert_allclose(a.W_, b.W_)
    cv = fl.cross_validate(fl.ConvNMF(rank=1, lag=15), X, ranks=[1, 2, 4], replicates=1,
                           random_state=0, progress=False)
    assert np.all(np.isfinite(cv.test_errors)) and cv.best_rank in (2, 4)


def test_significance_separates_sequences_from_noise():
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=1200, n_sequences=2, lag=20,
                                    random_state=7)
    fit = fl.conv_nmf(X[:600], rank=2, lag=20, random_state=0)
    real = fl.sequence_significance(fit.W, X[600:], n_null=200, random_state=0)
    assert real.significant.all()
    rng = np.random.default_rng(0)
    noise = rng.permutation(X[600:].ravel()).reshape(600, 30)   # no sequences left
    fake = fl.sequence_significance(fit.W, noise, n_null=200, random_state=0)
    assert not fake.significant.any()


def test_estimator_transform_finds_the_onsets_and_round_trips(tmp_path):
    X, _ = fl.data.neural_sequences(n_neurons=30, n_samples=600, n_sequences=2, lag=15,
                                    random_state=8)
    model = fl.ConvNMF(rank=2, lag=15, random_state=0).fit(X)
    H = model.transform(X)
    err_fit = np.linalg.norm(X - model.reconstruct())
    err_new = np.linalg.norm(X - model.inverse_transform(H))
    assert err_new <= 1.01 * err_fit
    loaded = fl.ConvNMF.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.W_, model.W_)
    Xt = torch.from_numpy(X).float()
    assert fl.ConvNMF(rank=2, lag=15, random_state=0).fit(Xt).W_.dtype == torch.float32


@pytest.mark.parametrize("call, message", [
    (lambda X: fl.conv_nmf(X, rank=0, lag=5), "rank"),
    (lambda X: fl.conv_nmf(X, rank=2, lag=0), "lag"),
    (lambda X: fl.conv_nmf(-X, rank=2, lag=5), "onnegative"),
    (lambda X: fl.conv_nmf(X, rank=2, lag=5, solver="als"), "solver"),
    (lambda X: fl.conv_nmf(X, rank=2, lag=5, lambda_xortho=-1), "lambda_xortho"),
    (lambda X: fl.conv_nmf(X, rank=2, lag=5, init=(np.ones((3, 2, 5)), np.ones((4, 2)))),
     "init"),
    (lambda X: fl.sequence_significance(np.ones((7, 2, 5)), X), "features"),
])
def test_bad_inputs_give_clear_errors(call, message):
    X = np.random.default_rng(0).random((50, 6))
    with pytest.raises((ValueError, TypeError), match=message):
        call(X)
