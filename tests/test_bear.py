"""BEAR: recovery, loss, determinism, streaming from files, differentiability, greedy rank,
BEAR + NMF, and bad inputs."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn.exceptions import NotFittedError

import factorlab as fl
from factorlab.data import calcium_movie
from factorlab.io import save_movie


@pytest.fixture(scope="module")
def movie():
    return calcium_movie(n_frames=120, shape=(32, 32), random_state=0)


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def test_bear_separates_background_about_as_well_as_ialm(movie):
    bear = fl.BEAR(2, random_state=0).fit(movie.Y)
    ref = fl.RobustPCA("ialm").fit(movie.Y.astype(np.float64))
    assert bear.L_.shape == movie.Y.shape and bear.W_.shape == (32 * 32, 2)
    np.testing.assert_allclose(bear.L_ + bear.S_, movie.Y, atol=1e-5)
    assert rel(bear.L_, movie.L) < 0.03
    assert rel(bear.L_, movie.L) < 2 * rel(ref.L_, movie.L)
    truth = movie.S > fl.otsu_threshold(movie.S)
    f = {name: fl.segmentation_scores(fl.foreground_mask(S), truth)["f_measure"]
         for name, S in (("bear", bear.S_), ("ialm", ref.S_))}
    assert f["bear"] > f["ialm"] - 0.05


def test_loss_decreases_and_early_stopping_ends_training(movie):
    bear = fl.BEAR(2, init="random", n_epochs=200, random_state=0).fit(movie.Y)
    h = bear.loss_history_
    assert len(h) == bear.n_iter_ and bear.converged_ and bear.n_iter_ < 200
    assert h[-1] < 0.5 * h[0]
    # the loss keeps going down over windows of epochs (single epochs are noisy)
    w = max(1, len(h) // 4)
    means = [np.mean(h[i:i + w]) for i in range(0, len(h) - w + 1, w)]
    assert all(b < a * 1.01 for a, b in zip(means, means[1:]))
    full = fl.BEAR(2, init="random", n_epochs=30, early_stopping=False, random_state=0).fit(movie.Y)
    assert full.n_iter_ == 30 and not full.converged_


def test_same_seed_same_result_other_seed_differs(movie):
    a = fl.BEAR(2, n_epochs=20, random_state=1).fit(movie.Y)
    b = fl.BEAR(2, n_epochs=20, random_state=1).fit(movie.Y)
    c = fl.BEAR(2, n_epochs=20, random_state=2).fit(movie.Y)
    assert np.array_equal(a.W_, b.W_) and a.loss_history_ == b.loss_history_
    assert not np.array_equal(a.W_, c.W_)


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_streaming_from_a_file_equals_fitting_in_memory(movie, tmp_path, suffix):
    path = save_movie(tmp_path / f"movie{suffix}", movie.Y)
    kw = dict(n_epochs=15, batch_size=16, random_state=0)
    mem = fl.BEAR(2, **kw).fit(movie.Y)
    disk = fl.BEAR(2, **kw).fit(path)
    np.testing.assert_array_equal(disk.W_, mem.W_)
    assert disk.L_ is None and disk.loss_history_ == mem.loss_history_
    L, S = disk.decompose(path, out_L=tmp_path / "L.npy", out_S=tmp_path / "S.npy", batch_size=7)
    assert isinstance(L, np.memmap) and L.shape == movie.Y.shape
    np.testing.assert_allclose(L, mem.L_, atol=1e-6)
    np.testing.assert_allclose(S, mem.S_, atol=1e-6)
    # the codes of a file are read in chunks too
    np.testing.assert_allclose(disk.transform(path), mem.transform(movie.Y), atol=1e-6)


def test_batch_size_follows_the_memory_budget(movie):
    small = fl.BEAR(1, n_epochs=2, memory_budget=8 * 4 * 1024 * 5, random_state=0).fit(movie.Y)
    assert small.batch_size_ == 5
    assert fl.BEAR(1, n_epochs=2, random_state=0).fit(movie.Y).batch_size_ == 64


def test_decompose_and_transform_new_frames_and_tensor_in_tensor_out(movie):
    bear = fl.BEAR(2, n_epochs=10, random_state=0).fit(movie.Y[:80])
    L, S = bear.decompose(movie.Y[80:])
    assert L.shape == (40, 32, 32)
    W = bear.W_
    flat = movie.Y[80:].reshape(40, -1)
    np.testing.assert_allclose(L.reshape(40, -1), flat @ W @ W.T, atol=1e-5)
    # scikit-learn's transformer: one row of codes per frame, and the decoder back
    codes = bear.transform(movie.Y[80:])
    assert codes.shape == (40, 2) and codes.dtype == np.float32
    np.testing.assert_allclose(codes, flat @ W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bear.inverse_transform(codes), L.reshape(40, -1), atol=1e-5)
    np.testing.assert_allclose(bear.fit_transform(movie.Y[:80]), bear.transform(movie.Y[:80]))
    T = torch.from_numpy(movie.Y.copy())
    tb = fl.BEAR(2, n_epochs=5, random_state=0).fit(T)
    assert isinstance(tb.W_, torch.Tensor) and isinstance(tb.L_, torch.Tensor)
    assert torch.equal(T, torch.from_numpy(movie.Y))


def test_backpropagation_through_bear_inside_a_larger_model():
    torch.manual_seed(0)
    m = 64
    bear = fl.BEAR(rank=2, n_pixels=m, random_state=0)
    head = nn.Linear(m, 1)
    model = nn.Sequential(bear, head)      # background removal feeding a read-out
    x = torch.randn(10, m, requires_grad=True)
    model(x).sum().backward()
    assert bear.weight.grad is not None and bear.weight.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.shape == x.shape
    # gradient of the BEAR layer matches the closed form d/dW sum(G * (X W W^T))
    G = head.weight.detach().expand(10, m)
    W = bear.weight.detach()
    expected = x.detach().T @ G @ W + G.T @ x.detach() @ W
    torch.testing.assert_close(bear.weight.grad, expected)
    # and end-to-end training lowers a loss
    y = torch.randn(10, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(50):
        loss = ((model(x.detach()) - y) ** 2).mean()
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first


def test_greedy_rank_finds_the_planted_rank():
    rng = np.random.default_rng(0)
    L0 = rng.random((100, 3)) @ rng.random((3, 400))
    Y = L0 + np.where(rng.random(L0.shape) < 0.03, 2.0, 0.0)
    bear = fl.BEAR("greedy", max_rank=6, n_epochs=40, random_state=0).fit(Y)
    assert bear.rank_ == 3 and bear.W_.shape == (400, 3)
    assert set(bear.rank_scores_) == {0, 1, 2, 3, 4}
    assert rel(bear.L_, L0) < 0.1


def test_default_rank_is_greedy_and_finds_the_planted_rank():
    rng = np.random.default_rng(1)
    L0 = rng.random((120, 2)) @ rng.random((2, 300))        # two spread-out components
    Y = L0 + np.where(rng.random(L0.shape) < 0.03, 1.5, 0.0)
    bear = fl.BEAR(n_epochs=40, random_state=0).fit(Y)       # rank not given: greedy
    assert bear.rank is None and bear.rank_ == 2
    assert set(bear.rank_scores_) == {0, 1, 2, 3} and set(bear.rank_spreads_) == {1, 2, 3}
    assert rel(bear.L_, L0) < 0.1


def test_greedy_rank_stops_before_a_component_on_a_few_cells():
    # a flat bleaching background plus three bright, often active cells: a second
    # component on the cells lowers the L1 loss but takes them out of S
    rng = np.random.default_rng(0)
    n, side = 150, 24
    yy, xx = np.mgrid[:side, :side]
    back = np.outer(1 - 0.3 * np.arange(n) / n, 0.5 + 0.1 * np.cos(xx / 7).ravel())
    cells = np.stack([np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 4.0).ravel()
                      for y, x in ((5, 6), (15, 17), (8, 18))])
    act = (rng.random((n, 3)) < 0.5) * rng.uniform(0.5, 1.0, (n, 3))
    Y = (back + act @ cells + 0.005 * rng.standard_normal((n, side * side))).astype(np.float32)
    bear = fl.BEAR(n_epochs=40, random_state=0).fit(Y)
    assert bear.rank_ == 1 and bear.rank_spreads_[2] < 0.25 < bear.rank_spreads_[1]
    paper = fl.BEAR(n_epochs=40, min_spread=0, random_state=0).fit(Y)
    assert paper.rank_ > 1            # the paper's search (no spread test) keeps it


def _foreign_movie(seed, n_frames=120, side=48, n_cells=12):
    """A calcium movie made here, not by factorlab.data: elliptical cells, bi-exponential
    bleaching, a drifting texture, Poisson bursts with double-exponential transients."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side].astype(float)
    t = np.arange(n_frames)
    vign = 0.4 + 0.6 * np.exp(-((yy - 20) / 30) ** 2 - ((xx - 28) / 35) ** 2)
    bleach = 1 - 0.3 * (1 - np.exp(-2 * t / n_frames)) - 0.1 * (1 - np.exp(-10 * t / n_frames))
    L = np.stack([(vign * b + 0.1 * np.sin(0.3 * (yy - 0.02 * i)) * np.cos(0.25 * xx)).ravel()
                  for i, b in enumerate(bleach)])
    feet = []
    for _ in range(n_cells):
        a, b, y, x = *rng.uniform(2.5, 4.5, 2), *rng.uniform(0, side, 2)
        f = np.exp(-((yy - y) / a) ** 2 - ((xx - x) / b) ** 2)
        feet.append(np.where(f > 0.1, f, 0).ravel())
    lags = np.arange(40)
    kern = np.exp(-lags / 8) - np.exp(-lags / 0.7)
    C = np.stack([np.convolve(rng.poisson(0.03, n_frames), kern / kern.max())[:n_frames]
                  for _ in range(n_cells)], 1) * rng.lognormal(np.log(0.3), 0.3, n_cells)
    S = C @ np.stack(feet)
    Y = L + S + 0.01 * rng.standard_normal(L.shape)
    return (Y / Y.max()).astype(np.float32), (S / Y.max()).astype(np.float32)


def test_defaults_match_ialm_on_a_movie_made_elsewhere():
    Y, S_true = _foreign_movie(0)
    truth = S_true > fl.otsu_threshold(S_true)
    f = {}
    for name, S in (("bear", fl.BEAR(random_state=0).fit(Y).S_),
                    ("ialm", fl.robust.ialm(Y.astype(np.float64)).S)):
        f[name] = fl.segmentation_scores(fl.foreground_mask(S), truth)["f_measure"]
    assert f["bear"] > f["ialm"] - 0.02


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_closed_form_step_gradient_equals_autograd(dtype):
    bear = fl.BEAR(3, n_pixels=200, dtype=dtype, random_state=0)
    Yb = torch.randn(17, 200, generator=torch.Generator().manual_seed(0), dtype=dtype)
    loss, grad = bear._loss_and_grad(Yb)
    auto = (Yb - bear(Yb)).abs().sum()
    auto.backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(loss, auto.detach(), rtol=tol, atol=0)
    torch.testing.assert_close(grad, bear.weight.grad, rtol=tol, atol=tol)
    assert bear.weight.grad is not grad and grad.shape == (200, 3)


def test_bear_nmf_finds_neurons():
    mv = calcium_movie(n_frames=200, shape=(32, 32), n_cells=8, random_state=1)
    model = fl.BEARNMF(8, random_state=0).fit(mv.Y)
    score = fl.match_footprints(model.footprints_, mv.footprints)
    assert score["f1"] >= 0.75
    corr = fl.trace_correlation(model.traces_, mv.traces, score["pairs"])
    assert np.median(corr) > 0.8
    assert model.footprints_.min() >= 0 and model.footprints_.reshape(8, -1).max(1).max() == 1
    # transform: traces of frames with the footprints fixed, close to the jointly fitted ones
    traces = model.transform(mv.Y)
    assert traces.shape == (200, 8) and traces.min() >= 0
    corr = [np.corrcoef(traces[:, j], model.traces_[:, j])[0, 1] for j in range(8)]
    assert min(corr) > 0.99
    # every BEAR setting is a visible parameter, so clone/get_params carry it
    from sklearn.base import clone
    params = clone(fl.BEARNMF(8, lr=1e-3, batch_size=16, device="cpu")).get_params()
    assert params["lr"] == 1e-3 and params["batch_size"] == 16 and params["device"] == "cpu"
    flat = fl.BEARNMF(8, n_epochs=5, nmf_max_iter=20, random_state=0).fit(mv.Y.reshape(200, -1))
    assert flat.footprints_.shape == (8, 32 * 32)       # frames x pixels works too


@pytest.mark.parametrize("make, match", [
    (lambda: fl.BEAR(0), "rank must be between"),
    (lambda: fl.BEAR(5000), "rank must be between"),
    (lambda: fl.BEAR("auto"), "'greedy'"),
    (lambda: fl.BEAR(2, init="svd"), "init must be one of"),
    (lambda: fl.BEAR(2, lr=-1.0), "lr must be > 0"),
    (lambda: fl.BEAR(2, batch_size=0), "batch_size must be >= 1"),
    (lambda: fl.BEAR(2, memory_budget=0), "memory_budget must be > 0"),
    (lambda: fl.BEAR(min_spread=-0.1), "min_spread must be"),
])
def test_bad_settings(make, match, movie):
    with pytest.raises(ValueError, match=match):
        make().fit(movie.Y)


def test_bad_data(movie, tmp_path):
    Y = movie.Y.copy()
    Y[7, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        fl.BEAR(2).fit(Y)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        fl.BEAR(2).fit(np.ones(10))
    with pytest.raises(FileNotFoundError):
        fl.BEAR(2).fit(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="not a movie"):
        np.save(tmp_path / "one.npy", np.ones((1, 4, 4)))   # files need 2 frames or more
        fl.BEAR(2).fit(tmp_path / "one.npy")
    for method in ("transform", "decompose"):
        with pytest.raises(NotFittedError):
            getattr(fl.BEAR(2), method)(movie.Y)
    bear = fl.BEAR(2, n_epochs=2, random_state=0).fit(movie.Y)
    with pytest.raises(ValueError, match="X has 25 features, but BEAR is expecting 1024"):
        bear.transform(np.ones((3, 5, 5)))
    with pytest.raises(ValueError, match="X has 25 features"):
        bear.decompose(np.ones((3, 5, 5)))
    with pytest.raises(ValueError, match="both out_L and out_S"):
        bear.decompose(movie.Y, out_L=tmp_path / "L.npy")
    with pytest.raises(ValueError, match="n_pixels=50"):
        fl.BEAR(2, n_pixels=50).fit(movie.Y)
    with pytest.raises(ValueError, match="dtype must be"):
        fl.BEAR(2, dtype="float16").fit(movie.Y)   # accepted by __init__, reported by fit


def test_save_and_load_round_trip(movie, tmp_path):
    bear = fl.BEAR(2, n_epochs=5, random_state=0).fit(movie.Y)
    bear.save(tmp_path / "bear.pt")
    back = fl.BEAR.load(tmp_path / "bear.pt")
    assert back.get_params() == bear.get_params()
    L, _ = back.decompose(movie.Y)
    np.testing.assert_array_equal(L, bear.L_)
    np.testing.assert_array_equal(back.transform(movie.Y), bear.transform(movie.Y))


def test_float64_bear_saved_and_loaded_still_transforms(movie, tmp_path):
    # regression: save used to omit dtype, so a loaded float64 BEAR failed in transform
    Y = movie.Y.astype(np.float64)
    bear = fl.BEAR(2, n_epochs=3, dtype="float64", random_state=0).fit(Y)
    assert bear.weight.dtype == torch.float64 and bear.L_.dtype == np.float64
    back = fl.BEAR.load(bear.save(tmp_path / "bear64.pt"))
    assert back.weight.dtype == torch.float64
    codes = back.transform(Y)
    assert codes.dtype == np.float64
    np.testing.assert_array_equal(codes, bear.transform(Y))
    np.testing.assert_array_equal(back.decompose(Y)[1], bear.S_)


def test_the_parameter_is_created_once_and_updated_in_place(movie):
    bear = fl.BEAR(2, n_epochs=3, random_state=0)
    weight = bear.weight
    assert isinstance(weight, nn.parameter.UninitializedParameter)
    bear.fit(movie.Y)
    assert bear.weight is weight and weight.shape == (32 * 32, 2)
    outer = torch.optim.SGD(bear.parameters(), lr=0.1)   # an optimizer outside BEAR
    bear.fit(movie.Y[::-1].copy())                       # a second fit keeps the object
    assert bear.weight is weight
    before = weight.detach().clone()
    x = torch.from_numpy(movie.Y[:4].reshape(4, -1))
    outer.zero_grad()
    bear(x).square().sum().backward()
    outer.step()
    assert not torch.equal(weight.detach(), before)      # the outer optimizer still works
    greedy = fl.BEAR("greedy", max_rank=3, n_epochs=3, random_state=0)
    weight = greedy.weight
    assert greedy.fit(movie.Y).weight is weight           # grown in place by the search


def test_to_before_fit_is_respected_and_user_tensor_gets_no_grad(movie):
    bear = fl.BEAR(2, n_epochs=3, random_state=0).to(torch.float64)
    T = torch.from_numpy(movie.Y.astype(np.float64)).requires_grad_(True)
    bear.fit(T)
    assert bear.weight.dtype == torch.float64 and bear.W_.dtype == torch.float64
    assert bear.L_.dtype == torch.float64 and bear.transform(T).dtype == torch.float64
    assert T.grad is None
    # set_params(dtype=...) moves the weight like .to(), so clone + set_params (grid search)
    # gives the same as constructing with that dtype
    from sklearn.base import clone
    moved = clone(fl.BEAR(2, n_epochs=3, random_state=0)).set_params(dtype="float64")
    assert moved.weight.dtype == torch.float64
    np.testing.assert_array_equal(moved.fit(T).W_.numpy(), bear.W_.numpy())
