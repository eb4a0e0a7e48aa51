"""CP decomposition: multilinear algebra, recovery, tensorly agreement, masks, frozen modes."""

from sklearn.exceptions import NotFittedError
import numpy as np
import pytest
import tensorly as tl
import torch
from tensorly.decomposition import parafac

import factorlab as fl
from factorlab.data import trial_tensor
from factorlab.tensor import CP, cp_als
from factorlab.tensor._ops import cp_to_tensor, khatri_rao, mttkrp, unfold


def _noisy_tensor(shape=(12, 10, 8), rank=3, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) for n in shape]
    X = np.einsum("ir,jr,kr->ijk", *factors)
    return X + noise * X.std() * rng.standard_normal(shape), factors


# --- multilinear building blocks ---------------------------------------------------------------
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_mttkrp_and_unfolding_match_einsum(mode):
    g = torch.Generator().manual_seed(mode)
    F = [torch.randn(n, 3, generator=g, dtype=torch.float64) for n in (4, 5, 3, 6)]
    X = torch.einsum("ir,jr,kr,lr->ijkl", *F)
    assert torch.allclose(cp_to_tensor(F), X)
    others = [f for k, f in enumerate(F) if k != mode]
    assert torch.allclose(unfold(X, mode), F[mode] @ khatri_rao(others).T)
    Y = torch.randn(4, 5, 3, 6, generator=g, dtype=torch.float64)
    assert torch.allclose(mttkrp(Y, F, mode), unfold(Y, mode) @ khatri_rao(others))


# --- recovery and agreement with tensorly --------------------------------------------------------
@pytest.mark.parametrize("nonneg", [False, True])
def test_recovers_planted_factors_at_low_noise(nonneg):
    data = trial_tensor(40, 30, 25, rank=3, noise=0.01, random_state=1)
    best = min((CP(3, nonneg=nonneg, random_state=s).fit(data.X) for s in range(3)),
               key=lambda m: m.loss_history_[-1])
    assert fl.similarity(best, data.factors) > 0.99
    assert best.loss_history_[-1] < 0.02


def test_als_error_history_matches_tensorly_parafac():
    X, _ = _noisy_tensor((15, 12, 10), rank=3)
    rng = np.random.default_rng(3)
    init = [rng.standard_normal((n, 3)) for n in X.shape]
    ours = cp_als(X, 3, init=init, max_iter=25, tol=1e-300)
    tl.set_backend("numpy")
    _, errors = parafac(X, 3, init=tl.cp_tensor.CPTensor((np.ones(3), [f.copy() for f in init])),
                        n_iter_max=25, tol=0, return_errors=True)
    np.testing.assert_allclose(ours.loss_history[1:], errors, rtol=1e-6, atol=1e-9)
    assert ours.n_iter == 25


def test_reconstruct_and_to_tensorly_agree():
    X, _ = _noisy_tensor()
    model = CP(3, random_state=0).fit(X)
    np.testing.assert_allclose(tl.cp_to_tensor(model.to_tensorly()), model.reconstruct())
    err = np.linalg.norm(X - model.reconstruct()) / np.linalg.norm(X)
    assert err == pytest.approx(model.loss_history_[-1], rel=1e-6)
    assert np.all(np.diff(model.weights_) <= 0)
    np.testing.assert_allclose([np.linalg.norm(f, axis=0) for f in model.factors_], 1.0)


# --- invariants ----------------------------------------------------------------------------
@pytest.mark.parametrize("nonneg, masked, missing", [
    (False, False, "exact"), (True, False, "exact"), ([True, False, True], False, "exact"),
    (False, True, "exact"), (True, True, "exact"), (False, True, "em"), (True, True, "em")])
def test_loss_never_increases(nonneg, masked, missing):
    X, _ = _noisy_tensor(noise=0.3)
    mask = np.random.default_rng(0).random(X.shape) > 0.2 if masked else None
    res = cp_als(X, 4, mask=mask, nonneg=nonneg, missing=missing, max_iter=60, random_state=0)
    assert res.n_iter >= 5
    assert np.all(np.diff(res.loss_history) <= 1e-12)


def test_nonnegative_modes_are_nonnegative_and_others_free():
    X, _ = _noisy_tensor(noise=0.5)
    res = cp_als(X - X.mean(), 3, nonneg=[True, False, True], random_state=0, max_iter=50)
    assert (res.factors[0] >= 0).all() and (res.factors[2] >= 0).all()
    assert (res.factors[1] < 0).any()


@pytest.mark.parametrize("missing", ["exact", "em"])
@pytest.mark.parametrize("nonneg", [False, True])
def test_masked_entries_do_not_influence_the_fit(missing, nonneg):
    X, _ = _noisy_tensor()
    mask = np.random.default_rng(1).random(X.shape) > 0.3
    X999 = np.where(mask, X, 999.0)
    a = CP(3, nonneg=nonneg, missing=missing, random_state=0, max_iter=40).fit(X, mask=mask)
    b = CP(3, nonneg=nonneg, missing=missing, random_state=0, max_iter=40).fit(X999, mask=mask)
    np.testing.assert_array_equal(a.loss_history_, b.loss_history_)
    for fa, fb in zip(a.factors_, b.factors_):
        np.testing.assert_array_equal(fa, fb)


def test_full_mask_equals_unmasked_fit():
    X, _ = _noisy_tensor()
    a = cp_als(X, 3, random_state=0, max_iter=30)
    b = cp_als(X, 3, mask=np.ones(X.shape, bool), random_state=0, max_iter=30)
    np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-7)


def test_masked_fit_predicts_missing_entries():
    data = trial_tensor(30, 25, 20, rank=3, noise=0.01, random_state=2)
    mask = np.random.default_rng(0).random(data.X.shape) > 0.3
    model = CP(3, nonneg=True, random_state=0).fit(data.X, mask=mask)
    rel = np.linalg.norm((model.reconstruct() - data.X)[~mask]) / np.linalg.norm(data.X[~mask])
    assert rel < 0.05


def test_same_seed_same_fit_and_input_not_modified():
    X, _ = _noisy_tensor()
    X0 = X.copy()
    a = CP(3, random_state=7).fit(X)
    b = CP(3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.factors_[1], b.factors_[1])
    np.testing.assert_array_equal(X, X0)


def test_torch_in_torch_out():
    X, _ = _noisy_tensor()
    model = CP(2, random_state=0, max_iter=20).fit(torch.from_numpy(X))
    assert isinstance(model.factors_[0], torch.Tensor) and isinstance(model.weights_, torch.Tensor)
    assert isinstance(model.reconstruct(), torch.Tensor)


# --- frozen factors ----------------------------------------------------------------------------
def test_fixed_modes_are_bitwise_unchanged():
    X, _ = _noisy_tensor()
    rng = np.random.default_rng(0)
    init = [rng.random((n, 3)) for n in X.shape]
    kept = [f.copy() for f in init]
    res = cp_als(X, 3, init=init, fixed_modes=[0, 2], max_iter=20)
    np.testing.assert_array_equal(res.factors[0], kept[0])
    np.testing.assert_array_equal(res.factors[2], kept[2])
    assert not np.array_equal(res.factors[1], kept[1])
    for f, k in zip(init, kept):  # the given init is never written to
        np.testing.assert_array_equal(f, k)


@pytest.mark.parametrize("nonneg", [False, True])
def test_transform_new_trials_with_frozen_factors(nonneg):
    data = trial_tensor(40, 30, 60, rank=3, noise=0.01, random_state=3)
    model = CP(3, nonneg=nonneg, random_state=0).fit(data.X[:, :, :45])
    frozen = [f.copy() for f in model.factors_]
    weights = model.weights_.copy()
    C_new = model.transform(data.X[:, :, 45:], mode=-1)
    for f, k in zip(model.factors_, frozen):
        np.testing.assert_array_equal(f, k)
    np.testing.assert_array_equal(model.weights_, weights)
    X_hat = np.einsum("ir,jr,kr->ijk", model.factors_[0], model.factors_[1], C_new)
    rel = np.linalg.norm(X_hat - data.X[:, :, 45:]) / np.linalg.norm(data.X[:, :, 45:])
    assert C_new.shape == (15, 3) and rel < 0.03
    # frozen modes fitted in a single exact solve for the unconstrained model
    neurons = model.transform(data.X[:5, :, :45], mode=0)
    assert neurons.shape == (5, 3)


# --- persistence and SVD bound -------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    X, _ = _noisy_tensor()
    model = CP(3, nonneg=[True, False, True], random_state=0).fit(X)
    model.save(tmp_path / "cp.npz")
    loaded = CP.load(tmp_path / "cp.npz")
    assert loaded.get_params() == model.get_params()
    for a, b in zip(model.factors_, loaded.factors_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.reconstruct(), loaded.reconstruct())


def test_cp_error_is_above_the_unfolding_bound():
    X, _ = _noisy_tensor(noise=0.3)
    for rank in (1, 2, 4):
        err = CP(rank, random_state=0).fit(X).loss_history_[-1]
        assert err >= fl.svd_bound(X, rank) - 1e-12


# --- bad inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, match", [
    ({"X": np.ones(5)}, ValueError, "X must be"),
    ({"X": np.full((3, 3, 3), np.nan)}, ValueError, "NaN"),
    ({"rank": 0}, ValueError, "rank"),
    ({"rank": 1.5}, TypeError, "rank"),
    ({"nonneg": [True, False]}, ValueError, "one entry per mode"),
    ({"missing": "zero"}, ValueError, "missing"),
    ({"init": "pca"}, ValueError, "init"),
    ({"init": [np.ones((4, 2))] * 3}, ValueError, r"init\[0\]"),
    ({"fixed_modes": [0, 1, 2]}, ValueError, "every mode"),
    ({"fixed_modes": [0]}, ValueError, "fixed_modes needs"),
    ({"mask": np.ones((2, 2), bool)}, ValueError, "mask"),
    ({"max_iter": 0}, ValueError, "max_iter"),
])
def test_bad_inputs(kwargs, exc, match):
    args = {"X": np.random.default_rng(0).random((5, 4, 3)), "rank": 2, **kwargs}
    with pytest.raises(exc, match=match):
        cp_als(args.pop("X"), args.pop("rank"), **args)


def test_transform_errors():
    X, _ = _noisy_tensor()
    with pytest.raises(NotFittedError, match="not fitted"):
        CP(2).transform(X)
    model = CP(2, random_state=0, max_iter=5).fit(X)
    with pytest.raises(ValueError, match="X has 24 features, but CP is expecting 80 features"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match="mode"):
        model.transform(X, mode=3)


# --- exercise checks -------------------------------------------------------------------------
def _update(X, F, n, swap=False):
    others = [f for k, f in enumerate(F) if k != n]
    if swap:  # the classic ordering bug: Khatri–Rao rows in the wrong order
        others = others[::-1]
    Xn = np.moveaxis(X, n, 0).reshape(X.shape[n], -1)
    K = np.einsum("ir,jr->ijr", *others).reshape(-1, F[0].shape[1])
    return np.linalg.solve(K.T @ K, (Xn @ K).T).T


def test_check_cp_mode_update_right_and_wrong(capsys):
    from factorlab.checks import ExerciseCheckError, check_cp_mode_update

    check_cp_mode_update(_update)
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="Khatri"):
        check_cp_mode_update(lambda X, F, n: _update(X, F, n, swap=True))


def test_check_learning_component_right_and_wrong(capsys):
    from factorlab.checks import ExerciseCheckError, check_learning_component

    data = trial_tensor(10, 10, 40, rank=3, random_state=0)
    check_learning_component(data.factors[2][:, 0], data.factors[2])
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="another component"):
        check_learning_component(data.factors[2][:, 1], data.factors[2])
    with pytest.raises(ExerciseCheckError, match="sign"):
        check_learning_component(-data.factors[2][:, 0], data.factors[2])
