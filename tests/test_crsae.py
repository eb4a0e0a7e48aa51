"""CRsAE model, spike simulator and spike/denoising metrics."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from factorlab.metrics import psnr, spike_detection_curve, template_error
from factorlab.data import noisy_templates, spike_recording, spike_templates
from factorlab.csc.fista import csc_objective
from factorlab.csc import CRsAE1d, CRsAE2d, fista_csc, lambda_closed_form, lipschitz_bound


@pytest.fixture(scope="module")
def rec():
    return spike_recording(duration=1.0, n_neurons=2, template_length=20, snr_db=20,
                           random_state=0)


# ---------------------------------------------------------------- simulator
def test_simulator_reproduces_its_ground_truth(rec):
    H, X = rec.templates, rec.codes
    np.testing.assert_allclose((H ** 2).sum(1), 1.0)
    clean = sum(np.convolve(X[c], H[c]) for c in range(2))
    np.testing.assert_allclose(clean, rec.clean, atol=1e-12)
    for c in range(2):
        np.testing.assert_array_equal(np.flatnonzero(X[c]), rec.spike_times[c])
        np.testing.assert_allclose(X[c, rec.spike_times[c]], rec.amplitudes[c])
        assert np.diff(rec.spike_times[c]).min() >= 20          # refractory period
        assert 5 <= len(rec.spike_times[c]) <= 45               # 10-30 Hz for one second
    nz = rec.clean[np.abs(rec.clean) > 1e-12]
    assert rec.noise_std == pytest.approx(nz.std() / 10, rel=1e-9)   # 20 dB
    resid = rec.recording - rec.clean
    assert resid.std() == pytest.approx(rec.noise_std, rel=0.05)


def test_simulator_is_deterministic_and_templates_distinct():
    a = spike_recording(duration=0.5, random_state=3)
    b = spike_recording(duration=0.5, random_state=3)
    np.testing.assert_array_equal(a.recording, b.recording)
    H = spike_templates(4, 30, max_similarity=0.8, random_state=1)
    for i in range(4):
        for j in range(i):
            assert np.abs(np.correlate(H[i], H[j], "full")).max() < 0.8


def test_noisy_templates_have_errors_in_range_and_are_seeded():
    H = spike_templates(3, 30, random_state=2)
    start = noisy_templates(H, error_range=(0.2, 0.3), noise=0.05, random_state=5)
    err = np.sqrt(1 - np.sum(H * start, axis=1) ** 2)
    assert ((err > 0.2) & (err < 0.3)).all()
    np.testing.assert_allclose(np.linalg.norm(start, axis=1), 1.0)
    np.testing.assert_array_equal(start, noisy_templates(H, (0.2, 0.3), 0.05, random_state=5))
    with pytest.raises(ValueError, match="error_range"):
        noisy_templates(H, error_range=(0.5, 0.4))
    with pytest.raises(ValueError, match="noise"):
        noisy_templates(H, error_range=(0.9, 0.95), noise=1e-4)


def test_simulator_bad_inputs():
    with pytest.raises(ValueError, match="rate_range"):
        spike_recording(rate_range=(30, 10))
    with pytest.raises(ValueError, match="too short"):
        spike_recording(duration=0.001)
    with pytest.raises(TypeError, match="n_neurons"):
        spike_recording(n_neurons=2.5)


# ---------------------------------------------------------------- lambda update
def test_lambda_closed_form_matches_numerical_minimiser():
    l1, n, delta, r = 12.3, 500, 7.0, 40.0
    objective = lambda lam: lam * l1 - (n + r - 1) * np.log(lam) + delta * lam
    best = minimize_scalar(objective, bounds=(1e-6, 1e4), method="bounded",
                           options={"xatol": 1e-10}).x
    assert float(lambda_closed_form(l1, n, delta, r)) == pytest.approx(best, rel=1e-6)


# ---------------------------------------------------------------- encoder
def test_unrolled_encoder_with_large_T_matches_fista(rec):
    H = rec.templates
    y = rec.recording[:1000]
    lam, sigma = 10.0, 0.1
    model = CRsAE1d(2, 20, n_iter=3000, lam=lam, sigma=sigma, init_filters=H, nonnegative=True,
                    n_epochs=0).fit(y[None])
    model.L_t.fill_(lipschitz_bound(H))
    codes = model.encode(y)
    ref = fista_csc(y, H, lam=lam * sigma ** 2, nonnegative=True, tol=1e-10, L=model.L_)
    np.testing.assert_allclose(codes, ref, atol=2e-4)
    assert (ref > 0).sum() >= 3


def test_encode_decode_shapes_containers_and_inputs_untouched(rec):
    Y = rec.recording[:1000].reshape(4, 250)
    model = CRsAE1d(2, 20, n_iter=5, lam=10.0, sigma=0.1, n_epochs=0, random_state=0).fit(Y)
    before = Y.copy()
    codes = model.encode(Y)
    assert codes.shape == (4, 2, 231) and isinstance(codes, np.ndarray)
    assert model.decode(codes).shape == (4, 250)
    assert isinstance(model.encode(torch.tensor(Y)), torch.Tensor)
    np.testing.assert_array_equal(Y, before)
    img = CRsAE2d(3, (3, 4), n_iter=3, lam=1.0, sigma=0.1, n_epochs=0,
                  random_state=0).fit(np.zeros((1, 10, 12)))
    assert img.encode(np.zeros((10, 12))).shape == (3, 8, 9)
    assert img.decode(np.zeros((3, 8, 9))).shape == (10, 12)


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("mode", ["em", "grad", "fixed", "bias"])
def test_fit_keeps_unit_norm_filters_and_records_history(rec, mode):
    Y = rec.recording.reshape(40, 250)
    model = CRsAE1d(2, 20, n_iter=10, nonnegative=True, lambda_update=mode, n_epochs=2,
                    batch_size=20, random_state=0).fit(Y)
    np.testing.assert_allclose((model.filters_ ** 2).sum(1), 1.0, atol=1e-5)
    assert len(model.loss_history_) == 2 and len(model.filter_history_) == 3
    assert model.L_ >= 0.999 * lipschitz_bound(model.filters_)
    assert np.isfinite(model.lambda_).all() and model.sigma_ > 0
    if mode == "fixed":
        np.testing.assert_allclose(model.lambda_history_[0], model.lambda_history_[-1])


def test_fit_learns_templates_from_noisy_start():
    r = spike_recording(duration=4.0, n_neurons=2, template_length=20, snr_db=20, random_state=1)
    rng = np.random.default_rng(0)
    start = r.templates + 0.12 * rng.standard_normal(r.templates.shape)
    err0, _, _ = template_error(r.templates, start)
    Y = r.recording.reshape(-1, 500)
    sigma = float(np.median(np.abs(Y)) / 0.6745)
    lam = 3 * np.sqrt(2 * np.log(2 * 481)) / sigma          # 3x the universal threshold
    model = CRsAE1d(2, 20, n_iter=30, nonnegative=True, lambda_update="fixed", lam=lam,
                    sigma=sigma, init_filters=start, lr=1e-2, lr_decay=0.75, n_epochs=5,
                    batch_size=16, random_state=0).fit(Y)
    err, _, _ = template_error(r.templates, model.filters_)
    assert err.mean() < 0.6 * err0.mean()


def test_objective_is_the_map_objective_of_the_codes(rec):
    Y = rec.recording.reshape(-1, 500)
    model = CRsAE1d(2, 20, n_iter=50, lam=40.0, sigma=0.1, nonnegative=True,
                    init_filters=rec.templates, n_epochs=0).fit(Y)
    codes = model.encode(Y)
    expected = csc_objective(torch.tensor(Y)[:, None], torch.tensor(codes),
                             torch.tensor(model.filters_), 40.0 * 0.1 ** 2) / len(Y)
    assert model.objective(Y) == pytest.approx(expected, rel=1e-4)


def test_annealing_lowers_a_fixed_lambda_geometrically(rec):
    Y = rec.recording.reshape(-1, 250)
    model = CRsAE1d(2, 20, n_iter=5, lam=10.0, sigma=0.1, lambda_update="fixed",
                    anneal_factor=4.0, anneal_epochs=2, n_epochs=3, random_state=0).fit(Y)
    np.testing.assert_allclose([h[0] for h in model.lambda_history_], [40.0, 20.0, 10.0],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="fixed"):
        CRsAE1d(2, 20, lambda_update="em", anneal_factor=2.0).fit(Y)
    with pytest.raises(ValueError, match="anneal_factor"):
        CRsAE1d(2, 20, anneal_factor=0.5).fit(Y)


def test_shift_search_moves_a_filter_back_onto_the_sampling_grid():
    r = spike_recording(duration=4.0, n_neurons=2, template_length=20, snr_db=20, random_state=1)
    Y = r.recording.reshape(-1, 500)
    start = r.templates.copy()
    start[1] = ndimage.shift(start[1], 0.5, order=3, mode="constant")   # half a sample off
    sigma = float(np.median(np.abs(Y)) / 0.6745)
    kw = dict(n_iter=100, lam=1.5 * np.sqrt(2 * np.log(2 * 481)) / sigma, sigma=sigma,
              lambda_update="fixed", nonnegative=True, init_filters=start, lr=1e-6, n_epochs=2,
              batch_size=16, random_state=0)
    moved = CRsAE1d(2, 20, shift_search=True, **kw).fit(Y)
    still = CRsAE1d(2, 20, **kw).fit(Y)
    assert moved.shift_history_ == [(0, 1, 0, -0.5)]
    assert still.shift_history_ == []
    err_moved = template_error(r.templates, moved.filters_)[0]
    err_still = template_error(r.templates, still.filters_)[0]
    assert err_moved[1] < 0.5 * err_still[1]
    assert moved.objective(Y) < still.objective(Y)


def test_shift_search_runs_on_images():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((6, 12, 12))
    model = CRsAE2d(2, 3, n_iter=5, lam=1.0, sigma=0.5, lambda_update="fixed", n_epochs=2,
                    batch_size=3, shift_search=True, random_state=0).fit(images)
    assert all(axis in (0, 1) and abs(step) == 0.5 for _, _, axis, step in model.shift_history_)
    np.testing.assert_allclose((model.filters_ ** 2).sum(axis=(1, 2)), 1.0, atol=1e-5)


def test_fit_is_deterministic(rec):
    Y = rec.recording.reshape(40, 250)
    kw = dict(n_iter=5, n_epochs=1, batch_size=10, random_state=4)
    a = CRsAE1d(2, 20, **kw).fit(Y).filters_
    b = CRsAE1d(2, 20, **kw).fit(Y).filters_
    np.testing.assert_array_equal(a, b)


def test_save_load_roundtrip(tmp_path, rec):
    Y = rec.recording.reshape(40, 250)
    model = CRsAE1d(2, 20, n_iter=5, n_epochs=1, random_state=0, device="cpu").fit(Y)
    model.save(tmp_path / "m.pt")
    loaded = CRsAE1d.load(tmp_path / "m.pt")
    np.testing.assert_allclose(loaded.encode(Y[:3]), model.encode(Y[:3]))
    assert loaded.sigma_ == model.sigma_ and loaded.L_ == model.L_
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.loss_history_, model.loss_history_)
    # a float64 model keeps its dtype through save and load
    double = CRsAE1d(2, 20, n_iter=5, n_epochs=1, dtype="float64", random_state=0).fit(Y)
    double.save(tmp_path / "d.pt")
    again = CRsAE1d.load(tmp_path / "d.pt")
    assert again.param_dtype == torch.float64 and again.transform(Y).dtype == np.float64
    np.testing.assert_array_equal(again.transform(Y), double.transform(Y))


def test_model_bad_inputs(rec):
    Y = np.ones((4, 50))
    with pytest.raises(ValueError, match="lambda_update"):
        CRsAE1d(2, 20, lambda_update="magic").fit(Y)
    with pytest.raises(ValueError, match="init_filters"):
        CRsAE1d(2, 20, init_filters=np.ones((3, 20))).fit(Y)
    with pytest.raises(ValueError, match="filter_length"):
        CRsAE2d(2, (3, 3, 3)).fit(np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match="lam must be > 0"):
        CRsAE1d(2, 20, lam=[1.0, -1.0]).fit(Y)
    with pytest.raises(NotFittedError):
        CRsAE1d(2, 20).encode(rec.recording[:100])
    assert not hasattr(CRsAE1d(2, 20), "filters_")     # learned attributes come from fit
    fitted = CRsAE1d(2, 20, lam=1.0, sigma=1.0, n_epochs=0).fit(Y)
    with pytest.raises(ValueError, match="shorter"):
        fitted.encode(np.ones(10))
    with pytest.raises(ValueError, match="1 feature"):
        CRsAE1d(2, 20).fit(np.ones((4, 1)))
    with pytest.raises(ValueError, match="targets"):
        CRsAE1d(2, 20).fit(Y, targets=np.ones((4, 40)))
    with pytest.raises(ValueError, match="n_filters"):
        fitted.decode(np.ones((3, 31)))
    with pytest.raises(ValueError, match="50 features"):
        fitted.transform(np.ones((4, 60)))


def test_constructor_stores_hyperparameters_untouched_and_never_raises():
    bad = CRsAE1d(n_filters=-1, filter_length=(3, 3), lambda_update="magic", lam=-1.0,
                  device="no-such-device", dtype="int8", anneal_factor=0.5)
    assert bad.get_params()["filter_length"] == (3, 3) and bad.lam == -1.0
    assert isinstance(bad.weight, torch.nn.parameter.UninitializedParameter)
    with pytest.raises(ValueError):
        bad.fit(np.ones((4, 50)))
    model = CRsAE1d(2, 5, n_iter=5, n_epochs=1, random_state=0)
    copy = clone(model).set_params(n_filters=3)
    assert copy.get_params()["n_filters"] == 3 and model.n_filters == 2
    assert copy.fit(np.random.default_rng(0).standard_normal((8, 40))).filters_.shape == (3, 5)
    images = CRsAE2d(2, 3, n_iter=3, n_epochs=1, random_state=0)
    assert clone(images).get_params() == images.get_params()


def test_fit_keeps_parameters_and_their_device_and_dtype(rec):
    Y = rec.recording.reshape(40, 250)
    model = CRsAE1d(2, 20, n_iter=5, n_epochs=1, batch_size=20, random_state=0).double()
    weight = model.weight
    model.fit(Y)
    assert model.weight is weight and model.weight.dtype == torch.float64   # .double() kept
    assert model.transform(Y).dtype == np.float64
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)     # still holds the live ones
    model.fit(Y)
    assert optimizer.param_groups[0]["params"][0] is model.weight
    Yt = torch.tensor(Y, requires_grad=True)
    CRsAE1d(2, 20, n_iter=5, n_epochs=1, random_state=0).fit(Yt)
    assert Yt.grad is None
    # fit starts again from reset_parameters: the same seed, the same filters
    np.testing.assert_array_equal(model.fit(Y).filters_,
                                  CRsAE1d(2, 20, n_iter=5, n_epochs=1, batch_size=20,
                                          dtype="float64", random_state=0).fit(Y).filters_)


def test_transform_is_the_flattened_encode(rec):
    Y = rec.recording.reshape(40, 250)
    model = CRsAE1d(2, 20, n_iter=5, n_epochs=1, random_state=0).fit(Y)
    codes = model.transform(Y)
    assert codes.shape == (40, 2 * 231) and codes.dtype == np.float32
    np.testing.assert_array_equal(codes, model.encode(Y).reshape(40, -1))
    np.testing.assert_array_equal(model.fit_transform(Y), codes)
    images = np.random.default_rng(0).standard_normal((5, 9, 9))
    m2 = CRsAE2d(2, 3, n_iter=3, n_epochs=1, random_state=0).fit(images)
    assert m2.transform(images).shape == (5, 2 * 7 * 7)


# ---------------------------------------------------------------- metrics
def test_template_error_finds_permutation_and_lag():
    H = spike_templates(3, 30, random_state=0)
    learned = np.roll(H[[2, 0, 1]], 2, axis=1) * np.array([[2.0], [1.0], [0.5]])
    err, assign, lags = template_error(H, learned, max_lag=5)
    assert assign.tolist() == [1, 2, 0] and lags.tolist() == [2, 2, 2]
    assert err.max() < 0.1          # only the samples rolled round the end differ
    orth = template_error(np.eye(2, 4), np.eye(2, 4)[::-1], max_lag=0)[0]
    np.testing.assert_allclose(orth, 0.0)
    np.testing.assert_allclose(template_error([[1.0, 0.0]], [[0.0, 1.0]], max_lag=0)[0], [1.0])


def test_detection_curve_on_true_codes(rec):
    curve = spike_detection_curve(rec.codes, rec.spike_times, tol=3)
    assert curve.best_f1 == 1.0
    assert curve.miss[0] == 0 and curve.false_alarm[0] == 0
    shifted = [t + 10 for t in rec.spike_times]
    assert spike_detection_curve(rec.codes, shifted, tol=3).best_f1 == 0.0


def test_psnr():
    a = np.linspace(0, 2, 50)
    assert psnr(a, a + 0.2) == pytest.approx(20 * np.log10(2 / 0.2))
    assert psnr(a, a, peak=1.0) == float("inf")
    with pytest.raises(ValueError, match="shape"):
        psnr(a, a[:3])


# ---------------------------------------------------------------- the data-driven start
def _foreign_recording(seed=0, n_neurons=3, K=30, n_windows=150, W=400, snr_db=15.0):
    """A small recording made without factorlab.data: Gabor-like and biphasic waveforms,
    Poisson onsets after a refractory period, SNR against the RMS of the active signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(K)
    H = []
    while len(H) < n_neurons:
        c, w = rng.uniform(0.3, 0.45) * K, rng.uniform(0.03, 0.12) * K
        if rng.random() < 0.5:
            h = -np.cos(2 * np.pi * rng.uniform(0.6, 1.2) / (4 * w) * (t - c)) \
                * np.exp(-0.5 * ((t - c) / (1.6 * w)) ** 2)
        else:
            h = -np.exp(-0.5 * ((t - c) / w) ** 2) \
                + 0.5 * np.exp(-0.5 * ((t - c - 3 * w) / (2 * w)) ** 2)
        h /= np.linalg.norm(h)
        if all(np.abs(np.correlate(h, g, "full")).max() < 0.8 for g in H):
            H.append(h)
    H = np.array(H)
    n = n_windows * W
    clean = np.zeros(n + K - 1)
    for h in H:
        onsets = np.cumsum(K + rng.exponential(400, size=n // 300)).astype(int)
        x = np.zeros(n)
        x[onsets[onsets < n]] = rng.uniform(0.8, 1.2) * (1 + 0.1 * rng.standard_normal(
            (onsets < n).sum()))
        clean += np.convolve(x, h)
    clean = clean[:n]
    active = clean[np.abs(clean) > 1e-3 * np.abs(clean).max()]
    noise = np.sqrt(np.mean(active ** 2)) / 10 ** (snr_db / 20)
    return (clean + noise * rng.standard_normal(n)).reshape(n_windows, W), H, noise


@pytest.fixture(scope="module")
def foreign():
    Y, H, noise = _foreign_recording()
    return Y, H, noise, CRsAE1d(3, 30, random_state=0).fit(Y)


def test_default_start_recovers_templates_of_a_foreign_recording(foreign):
    Y, H, _, model = foreign
    assert model.init_info_["init"] == "spikes"
    start_err = template_error(H, model.filter_history_[0])[0]
    err = template_error(H, model.filters_)[0]
    assert (start_err < 0.1).all() and (err < 0.1).all(), (start_err, err)
    np.testing.assert_allclose((model.filters_ ** 2).sum(1), 1.0, atol=1e-5)


def test_default_sigma_and_lambda_are_estimated_near_the_truth(foreign):
    Y, H, noise, model = foreign
    assert model.sigma_ == pytest.approx(noise, rel=0.15)
    # the raw MAD of the data is inflated by the spikes; the residual's is not
    assert abs(model.sigma_ - noise) < abs(np.median(np.abs(Y)) / 0.6745 - noise)
    n_code = Y.shape[1] - 30 + 1
    universal = np.sqrt(2 * np.log(3 * n_code)) / model.sigma_
    np.testing.assert_allclose(model.lambda_, 1.5 * universal, rtol=1e-5)
    # in data units the threshold lambda sigma^2 on H^T y lies above the largest noise
    # correlations of the whole recording and below the smallest spike amplitude (0.8 * 0.7)
    threshold = model.lambda_[0] * model.sigma_ ** 2
    assert noise * np.sqrt(2 * np.log(Y.size)) < threshold < 0.5


def test_explicit_and_random_starts_still_work(foreign):
    Y, H, _, _ = foreign
    start = H + 0.05 * np.random.default_rng(1).standard_normal(H.shape)
    given = CRsAE1d(3, 30, init_filters=start, n_epochs=0).fit(Y)
    np.testing.assert_allclose(given.filters_, start / np.linalg.norm(start, axis=1)[:, None],
                               atol=1e-6)
    assert given.init_info_ == {"init": "given"}
    rand = CRsAE1d(3, 30, init="random", n_epochs=0, random_state=0).fit(Y)
    assert rand.init_info_ == {"init": "random"}
    assert (template_error(H, rand.filters_)[0] > 0.5).all()
    with pytest.raises(ValueError, match="init"):
        CRsAE1d(3, 30, init="kmeans").fit(Y)
    with pytest.raises(ValueError, match="1-D"):
        CRsAE2d(2, 3, init="spikes").fit(np.zeros((2, 8, 8)))


def test_snippet_templates_fill_in_random_filters_without_crossings():
    from factorlab.csc import spike_snippet_templates
    start, info = spike_snippet_templates(np.zeros((5, 100)), 2, 10, sigma=1.0, random_state=0)
    assert info["n_snippets"] == 0 and info["group_sizes"] == [0, 0]
    np.testing.assert_allclose(np.linalg.norm(start, axis=1), 1.0)
