"""Generalized low-rank models: each loss against the data type it was made for.

Closed form: the quadratic loss reaches the SVD bound. Planted truth: Poisson on counts,
logistic on binary data, absolute loss on data with gross outliers, each compared with the
quadratic loss on the same data.
"""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from factorlab.matrix import GLRM, glrm


def svd_error(X, rank):
    s = np.linalg.svd(X, compute_uv=False)
    return np.sqrt(np.sum(s[rank:] ** 2)) / np.linalg.norm(X)


def poisson_deviance(x, rate):
    rate = np.maximum(rate, 1e-9)
    term = np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / rate), 0.0)
    return 2 * np.sum(term - (x - rate))


@pytest.fixture(scope="module")
def gaussian():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((60, 4)) @ rng.standard_normal((4, 30))
    return signal + rng.standard_normal((60, 30))


@pytest.mark.parametrize("offset", [False, True])
def test_quadratic_reaches_svd_bound(gaussian, offset):
    fit = glrm(gaussian, 3, "quadratic", alpha=0.0, offset=offset)
    target = gaussian - gaussian.mean(0) if offset else gaussian
    shift = fit.mean if offset else 0.0
    err = np.linalg.norm(gaussian - shift - fit.U @ fit.V.T) / np.linalg.norm(target)
    assert err == pytest.approx(svd_error(target, 3), rel=1e-6)


def test_quadratic_from_random_start_reaches_svd_bound(gaussian):
    fit = glrm(gaussian, 3, "quadratic", alpha=0.0, offset=False, init="random", random_state=0)
    err = np.linalg.norm(gaussian - fit.U @ fit.V.T) / np.linalg.norm(gaussian)
    assert err == pytest.approx(svd_error(gaussian, 3), rel=1e-5)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(1)
    log_rate = rng.standard_normal((100, 3)) @ rng.standard_normal((3, 50)) / np.sqrt(3)
    return rng.poisson(np.exp(log_rate)).astype(float), np.exp(log_rate)


def test_poisson_beats_quadratic_on_counts(counts):
    X, rate = counts
    mask = np.random.default_rng(2).random(X.shape) > 0.1
    poisson = GLRM(3, loss="poisson", alpha=1.0).fit(X, mask=mask)
    quadratic = GLRM(3, loss="quadratic", alpha=1.0).fit(X, mask=mask)
    rate_p, rate_q = poisson.predict(), np.maximum(quadratic.predict(), 1e-3)
    held = ~mask
    assert poisson_deviance(X[held], rate_p[held]) < poisson_deviance(X[held], rate_q[held])
    err_p = np.linalg.norm(rate_p - rate) / np.linalg.norm(rate)
    err_q = np.linalg.norm(rate_q - rate) / np.linalg.norm(rate)
    assert err_p < 0.75 * err_q


def test_logistic_recovers_logit_subspace():
    rng = np.random.default_rng(3)
    V_true = rng.standard_normal((60, 2))
    logits = 2.5 * rng.standard_normal((200, 2)) @ V_true.T / np.sqrt(2)
    prob = 1 / (1 + np.exp(-logits))
    B = rng.random(prob.shape) < prob
    logistic = GLRM(2, loss="logistic", alpha=1.0, offset=False).fit(B)
    quadratic = GLRM(2, loss="quadratic", alpha=1.0).fit(B.astype(float))
    assert np.max(subspace_angles(logistic.V_, V_true)) < np.deg2rad(15)
    p_hat = logistic.predict()
    assert p_hat.min() > 0 and p_hat.max() < 1
    p_quad = np.clip(quadratic.predict(), 0, 1)
    assert np.abs(p_hat - prob).mean() < np.abs(p_quad - prob).mean()


def test_absolute_loss_is_robust_to_outliers():
    rng = np.random.default_rng(4)
    L = rng.standard_normal((80, 3)) @ rng.standard_normal((3, 40))
    outliers = (rng.random(L.shape) < 0.05) * rng.choice([-20.0, 20.0], size=L.shape)
    X = L + 0.1 * rng.standard_normal(L.shape) + outliers
    errors = {}
    for loss in ("absolute", "quadratic"):
        model = GLRM(3, loss=loss, alpha=1e-3, random_state=0).fit(X)
        errors[loss] = np.linalg.norm(model.reconstruct() - L) / np.linalg.norm(L)
    assert errors["absolute"] < 0.1 < 0.5 < errors["quadratic"]


@pytest.mark.parametrize("loss", ["quadratic", "absolute", "poisson", "logistic"])
def test_objective_never_increases_and_mask_invariance(counts, loss):
    X = counts[0] if loss != "logistic" else (counts[0] > 0).astype(float)
    X = X[:40, :25]
    mask = np.random.default_rng(5).random(X.shape) > 0.2
    spoiled = np.where(mask, X, 1.0 if loss == "logistic" else 7.0)
    a = glrm(X, 2, loss, mask=mask, random_state=0, max_iter=200)
    b = glrm(spoiled, 2, loss, mask=mask, random_state=0, max_iter=200)
    assert len(a.loss_history) > 3
    assert np.all(np.diff(a.loss_history) <= 1e-12)
    np.testing.assert_allclose(a.U @ a.V.T, b.U @ b.V.T, atol=1e-8)


def test_seeded_random_start(gaussian):
    a = glrm(gaussian, 2, "absolute", init="random", random_state=3, max_iter=5)
    b = glrm(gaussian, 2, "absolute", init="random", random_state=3, max_iter=5)
    c = glrm(gaussian, 2, "absolute", init="random", random_state=4, max_iter=5)
    np.testing.assert_array_equal(a.U, b.U)
    assert not np.allclose(a.U, c.U)


@pytest.mark.parametrize("loss", ["poisson", "absolute"])
def test_transform_refits_rows_with_fixed_factors(counts, loss):
    X = counts[0]
    model = GLRM(2, loss=loss, alpha=1.0, tol=1e-12).fit(X)
    V_before = model.V_.copy()
    U_new = model.transform(X[:10])
    # At the joint optimum each row of U_ is already the best row for the fixed V_ and offset.
    np.testing.assert_allclose(U_new, model.U_[:10], atol=1e-3 * np.abs(model.U_).max())
    np.testing.assert_array_equal(model.V_, V_before)


def test_save_load_round_trip(tmp_path, gaussian):
    model = GLRM(2, loss="absolute").fit(gaussian)
    model.save(tmp_path / "glrm.npz")
    loaded = GLRM.load(tmp_path / "glrm.npz")
    np.testing.assert_array_equal(loaded.V_, model.V_)
    np.testing.assert_allclose(loaded.transform(gaussian[:5]), model.transform(gaussian[:5]))


def test_torch_in_torch_out_and_input_untouched(gaussian):
    before = gaussian.copy()
    glrm(gaussian, 2, max_iter=5)
    np.testing.assert_array_equal(gaussian, before)
    fit = glrm(torch.as_tensor(gaussian), 2, max_iter=5)
    assert isinstance(fit.U, torch.Tensor) and fit.U.dtype == torch.float64


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "hinge"}, "loss"),
    ({"loss": "poisson"}, "nonnegative"),
    ({"loss": "logistic"}, "binary"),
    ({"alpha": -1.0}, "alpha"),
    ({"init": "pca"}, "init"),
    ({"mask": np.ones((2, 2), bool)}, "mask"),
    ({"epsilon": 0.0}, "epsilon"),
])
def test_bad_inputs(gaussian, kwargs, match):
    with pytest.raises(ValueError, match=match):
        glrm(gaussian, 2, **kwargs)


def test_device_argument(gaussian):
    fit = glrm(gaussian, 2, device="cpu", max_iter=5)
    assert isinstance(fit.U, np.ndarray) and fit.U.dtype == np.float64
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            glrm(gaussian, 2, device="cuda")
