"""ProxUNet: the U-Net trained by low-rank and sparse proximal losses (factorlab.robust.unet)."""

import numpy as np
import pytest
import torch

from factorlab.data import surveillance_video
from factorlab.robust import ProxUNet
from factorlab.prox import l1_prox_loss, nuclear_prox_loss


@pytest.fixture(scope="module")
def tiny_video():
    return surveillance_video(n_frames=12, height=24, width=28, n_objects=2, random_state=0)


def _net(**kw):
    args = dict(base_channels=4, lr=3e-3, n_epochs=15, device="cpu", random_state=0)
    args.update(kw)
    return ProxUNet(**args)


def test_parameter_count_matches_deepls_at_32_channels():
    n = sum(p.numel() for p in ProxUNet(base_channels=32, random_state=0).parameters())
    assert 300_000 < n < 400_000


def test_training_decreases_the_loss_and_keeps_shapes(tiny_video):
    net = _net().fit(tiny_video.frames)
    hist = np.asarray(net.loss_history_)
    assert len(hist) == 15 and np.isfinite(hist).all()
    assert hist[-1] < 0.8 * hist[0]
    S = net.predict(tiny_video.frames[:3])
    assert isinstance(S, np.ndarray) and S.shape == (3, 24, 28)
    # odd sizes are padded by reflection and cropped back
    assert net.predict(np.random.default_rng(0).random((2, 25, 30))).shape == (2, 25, 30)


def test_loss_is_the_rpca_objective(tiny_video):
    net = _net(n_epochs=0).fit(tiny_video.frames)
    D = torch.from_numpy(tiny_video.frames)
    S = torch.zeros_like(D)
    expected = nuclear_prox_loss(D.reshape(12, -1), 1.0) + l1_prox_loss(S.reshape(12, -1),
                                                                        net.lam_)
    assert float(net.loss(D, S)) == pytest.approx(float(expected))
    assert net.lam_ == pytest.approx(1 / np.sqrt(24 * 28))


def test_same_seed_same_result_and_global_rng_untouched(tiny_video):
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    a = _net(n_epochs=5).fit(tiny_video.frames)
    assert torch.rand(1).item() == expected_draw.item()
    b = _net(n_epochs=5).fit(tiny_video.frames)
    np.testing.assert_array_equal(a.predict(tiny_video.frames), b.predict(tiny_video.frames))
    assert a.loss_history_ == b.loss_history_
    c = _net(n_epochs=5, random_state=1).fit(tiny_video.frames)
    assert not np.allclose(a.predict(tiny_video.frames), c.predict(tiny_video.frames))


def test_prediction_does_not_depend_on_batch_size(tiny_video):
    net = _net(n_epochs=3).fit(tiny_video.frames)
    np.testing.assert_allclose(net.predict(tiny_video.frames, batch_size=5),
                               net.predict(tiny_video.frames), atol=1e-5)


def test_tensor_in_tensor_out_and_input_unchanged(tiny_video):
    frames = torch.from_numpy(tiny_video.frames.copy())
    before = frames.clone()
    net = _net(n_epochs=2).fit(frames)
    S = net.predict(frames)
    assert isinstance(S, torch.Tensor) and S.shape == frames.shape
    assert torch.equal(frames, before)


def test_refine_zeroes_the_background(tiny_video):
    net = _net().fit(tiny_video.frames)
    S = net.refine(tiny_video.frames, n_iter=5)
    assert S.shape == tiny_video.frames.shape
    assert (S == 0).mean() > 0.5  # the soft threshold gives exact zeros


def test_save_load_roundtrip(tmp_path, tiny_video):
    net = _net(n_epochs=3).fit(tiny_video.frames)
    net.save(tmp_path / "unet.pt")
    again = ProxUNet.load(tmp_path / "unet.pt", map_location="cpu")
    assert again.lam_ == net.lam_ and again.get_params() == net.get_params()
    assert again.loss_history_ == net.loss_history_
    np.testing.assert_array_equal(again.predict(tiny_video.frames), net.predict(tiny_video.frames))


def test_parameters_created_once_fit_in_place_and_idempotent(tiny_video):
    net = _net(n_epochs=3)
    params = list(net.parameters())
    first = net.fit(tiny_video.frames).predict(tiny_video.frames)
    assert all(a is b for a, b in zip(net.parameters(), params))   # updated in place
    # fit starts from the seeded initialisation: fitting again gives the same network
    np.testing.assert_array_equal(net.fit(tiny_video.frames).predict(tiny_video.frames), first)
    fresh = _net(n_epochs=0)
    before = [p.detach().clone() for p in fresh.parameters()]
    fresh.reset_parameters()
    assert all(torch.equal(a, p) for a, p in zip(before, fresh.parameters()))


def test_dtype_and_to_are_respected_and_user_tensor_gets_no_grad(tiny_video):
    T = torch.from_numpy(tiny_video.frames.astype(np.float64)).requires_grad_(True)
    net = _net(n_epochs=2, dtype="float64").fit(T)
    assert next(net.parameters()).dtype == torch.float64
    assert net.predict(T).dtype == torch.float64 and T.grad is None
    moved = _net(n_epochs=2).to(torch.float64)                      # .to() before fit
    np.testing.assert_allclose(moved.fit(T).predict(T).numpy(), net.predict(T).numpy())
    assert next(moved.parameters()).dtype == torch.float64


def test_clone_set_params_and_not_fitted(tiny_video):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    net = _net(n_epochs=2).fit(tiny_video.frames)
    copy = clone(net)
    assert copy.get_params() == net.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(tiny_video.frames)
    wider = clone(net).set_params(base_channels=8)    # grid search: clone, then set_params
    assert sum(p.numel() for p in wider.parameters()) > sum(p.numel() for p in net.parameters())
    np.testing.assert_array_equal(clone(net).fit(tiny_video.frames).predict(tiny_video.frames),
                                  net.predict(tiny_video.frames))


def test_bad_inputs(tiny_video):
    with pytest.raises(ValueError, match="3-D"):
        _net().fit(tiny_video.frames[0])
    with pytest.raises(ValueError, match="at least 2 frames"):
        _net().fit(tiny_video.frames[:1])
    with pytest.raises(ValueError, match="NaN"):
        _net().fit(np.full((3, 8, 8), np.nan))
    with pytest.raises(ValueError, match="lr must be > 0"):
        ProxUNet(lr=0).fit(tiny_video.frames)       # __init__ takes it, fit reports it
    with pytest.raises(TypeError, match="base_channels"):
        ProxUNet(base_channels=2.5)
