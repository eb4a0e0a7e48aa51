"""Reliability at the public boundary: what a mask hides, tensors with gradients, and results
that must not be silently wrong (issue 16's cases that the estimator base fixes once)."""

import numpy as np
import pytest
import torch

import factorlab as fl


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((30, 3)) @ rng.random((3, 12))
    mask = rng.random(X.shape) > 0.2
    return X, mask


@pytest.mark.parametrize("model", [fl.PCA(rank=3, random_state=0), fl.NMF(rank=3, random_state=0),
                                   fl.SparsePCA(rank=3, random_state=0),
                                   fl.SparseNMF(rank=3, random_state=0),
                                   fl.SemiNMF(rank=3, random_state=0),
                                   fl.KMeansFactorization(rank=3, random_state=0),
                                   fl.GLRM(rank=3, random_state=0)],
                         ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("hidden", [np.nan, np.inf, -1.0])
def test_masked_fit_accepts_what_the_mask_hides(model, hidden):
    X, mask = _data()
    reference = model.fit(X, mask=mask)
    U_ref = reference.U_.copy()
    X_hidden = np.where(mask, X, hidden)
    before = X_hidden.copy()
    model.fit(X_hidden, mask=mask)
    np.testing.assert_allclose(model.U_, U_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(X_hidden, before)  # the input is not modified


def test_masked_fit_still_rejects_nan_and_negatives_it_can_see():
    X, mask = _data()
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    mask[0, 0] = True
    with pytest.raises(ValueError, match="observed"):
        fl.PCA(rank=2).fit(X_bad, mask=mask)
    X_neg = X.copy()
    X_neg[0, 0] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to NMF"):
        fl.NMF(rank=2).fit(X_neg, mask=mask)


def test_cp_and_ensemble_accept_nan_where_masked():
    rng = np.random.default_rng(0)
    X = np.einsum("ir,jr,kr->ijk", rng.random((8, 2)), rng.random((7, 2)), rng.random((6, 2)))
    mask = rng.random(X.shape) > 0.2
    ref = fl.CP(rank=2, random_state=0).fit(X, mask=mask)
    got = fl.CP(rank=2, random_state=0).fit(np.where(mask, X, np.nan), mask=mask)
    np.testing.assert_allclose(got.factors_[0], ref.factors_[0], rtol=1e-10, atol=1e-12)
    Xm, M = _data()
    ens = fl.Ensemble(fl.NMF(rank=1, random_state=0), [1, 2], replicates=2, random_state=0,
                      progress=False).fit(np.where(M, Xm, np.nan), mask=M)
    assert np.isfinite(ens.losses_[2]).all()


@pytest.mark.parametrize("model", [fl.PCA(rank=2, random_state=0), fl.NMF(rank=2, random_state=0),
                                   fl.KMeansFactorization(rank=2, random_state=0),
                                   fl.GLRM(rank=2, random_state=0),
                                   fl.CP(rank=2, random_state=0)],
                         ids=lambda m: type(m).__name__)
def test_classical_models_take_tensors_that_require_grad(model):
    X, _ = _data()
    Xt = torch.tensor(X, requires_grad=True)
    out = model.fit(Xt).transform(Xt)
    assert isinstance(out, torch.Tensor) and not out.requires_grad
    assert Xt.grad is None


def test_relative_error_mask_must_observe_something_and_be_boolean():
    X, _ = _data()
    U, V = np.ones((30, 1)), np.ones((12, 1))
    with pytest.raises(ValueError, match="no entry"):
        fl.relative_error(X, U, V, mask=np.zeros(X.shape, bool))
    with pytest.raises(TypeError, match="boolean"):
        fl.relative_error(X, U, V, mask=np.full(X.shape, 0.5))


def test_similarity_refuses_factors_with_nan():
    a = [np.ones((4, 2)), np.ones((3, 2))]
    b = [np.ones((4, 2)), np.ones((3, 2))]
    b[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fl.similarity(a, b)


def test_invalid_settings_raise_instead_of_returning_nan():
    with pytest.raises(ValueError, match="finite"):
        fl.soft_threshold(np.ones(3), np.nan)
    with pytest.raises(ValueError, match="finite"):
        fl.soft_threshold(torch.ones(3), float("inf"))
    with pytest.raises(ValueError, match="peak"):
        fl.psnr(-np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="NaN or inf"):
        fl.psnr(np.ones(4), np.array([1.0, np.nan, 1.0, 1.0]))


def test_load_says_what_is_wrong_with_a_bad_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "garbage.npz").write_bytes(b"not a model at all")
    for name in ("empty.npz", "garbage.npz"):
        with pytest.raises(ValueError, match="not a PCA file"):
            fl.PCA.load(tmp_path / name)
    X, _ = _data()
    model = fl.PCA(rank=2, random_state=0).fit(X)
    path = model.save(tmp_path / "pca")          # .npz appended, and load finds it
    assert fl.PCA.load(tmp_path / "pca").V_.shape == (12, 2)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["attr__V_"] = np.full_like(arrays["attr__V_"], np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ValueError, match="NaN"):
        fl.PCA.load(tmp_path / "nan.npz")


def _resave(tmp_path, path, name, **changes):
    """Copy a saved .npz model with some entries replaced (a tampered or damaged file)."""
    with np.load(path) as data:
        arrays = dict(data)
    arrays.update(changes)
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


def test_load_validates_hyperparameters_shapes_and_format(tmp_path):
    import json

    X, _ = _data()
    path = fl.NMF(rank=2, random_state=0).fit(X).save(tmp_path / "nmf")
    with np.load(path) as data:
        params = json.loads(str(data["__params__"]))
    cases = {
        "rank must be >= 1, got -5": {"__params__": np.array(json.dumps({**params, "rank": -5}))},
        "tol must be >= 0": {"__params__": np.array(json.dumps({**params, "tol": -1.0}))},
        "do not fit the class": {"__params__": np.array(json.dumps({**params, "bogus": 1}))},
        r"V_ must have shape \(12, k\)": {"attr__V_": np.ones((5, 2))},
        "U_ must have 2 columns": {"attr__U_": np.ones((30, 3))},
        "newer factorlab": {"__format__": np.array(99)},
    }
    for i, (message, change) in enumerate(cases.items()):
        with pytest.raises(ValueError, match=message):
            fl.NMF.load(_resave(tmp_path, path, f"bad{i}.npz", **change))
    assert fl.NMF.load(path).rank == 2      # the untouched file still loads


def test_cp_load_checks_factor_shapes(tmp_path):
    X = np.random.default_rng(0).random((6, 5, 4))
    path = fl.CP(rank=2, random_state=0).fit(X).save(tmp_path / "cp")
    with pytest.raises(ValueError, match="inconsistent CP"):
        fl.CP.load(_resave(tmp_path, path, "bad.npz", attr__weights_=np.ones(3)))


def test_torch_model_files_are_checked_too(tmp_path):
    movie = np.random.default_rng(0).random((16, 6, 5)).astype(np.float32)
    model = fl.BEAR(rank=1, n_epochs=2, random_state=0).fit(movie)
    path = model.save(tmp_path / "bear.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a BEAR file") as info:
        fl.BEAR.load(tmp_path / "garbage.pt")
    assert "weights_only=False" not in str(info.value)   # never suggest loading unsafely
    blob = torch.load(path, weights_only=True)
    torch.save({**blob, "params": {**blob["params"], "lr": -1.0}}, tmp_path / "lr.pt")
    with pytest.raises(ValueError, match="lr must be > 0"):
        fl.BEAR.load(tmp_path / "lr.pt")
    torch.save({**blob, "format": 99}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match="newer factorlab"):
        fl.BEAR.load(tmp_path / "new.pt")
    state = {k: torch.ones(3, 3) for k in blob["state_dict"]}
    torch.save({**blob, "state_dict": state}, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match="do not match"):
        fl.BEAR.load(tmp_path / "shape.pt")
    incomplete = {k: v for k, v in blob.items() if k != "state_dict"}
    torch.save(incomplete, tmp_path / "part.pt")
    with pytest.raises(ValueError, match="lacks"):
        fl.BEAR.load(tmp_path / "part.pt")


@pytest.mark.parametrize("model", [fl.PCA(rank=3, random_state=0), fl.NMF(rank=3, random_state=0),
                                   fl.NMF(rank=3, solver="mu", random_state=0),
                                   fl.SemiNMF(rank=3, random_state=0),
                                   fl.KMeansFactorization(rank=3, random_state=0)],
                         ids=lambda m: f"{type(m).__name__}-{getattr(m, 'solver', '')}")
@pytest.mark.parametrize("scale", [1e-140, 1e-100, 1e100, 1e140])
def test_scale_free_models_give_the_same_fit_at_any_magnitude(model, scale):
    X = np.abs(np.random.default_rng(0).standard_normal((40, 15)))
    plain = type(model)(**model.get_params()).fit(X)
    scaled = type(model)(**model.get_params()).fit(X * scale)
    assert scaled.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(scaled.reconstruct() / scale, plain.reconstruct(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_magnitudes_whose_squares_fail_are_refused_clearly(scale):
    X = np.abs(np.random.default_rng(0).standard_normal((20, 6)))
    for model in (fl.PCA(rank=2), fl.SparseNMF(rank=2), fl.GLRM(rank=2)):
        with pytest.raises(ValueError, match="largest magnitude .* Rescale first"):
            model.fit(X * scale)
    movie = np.ones((8, 4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="BEAR computes in float32"):
        fl.BEAR(rank=1, n_epochs=1).fit(movie * np.float32(1e20))


def test_crsae_on_all_zero_signals_says_why():
    with pytest.raises(ValueError, match="sigma"):
        fl.CRsAE1d(2, 5, n_epochs=1).fit(np.zeros((10, 50)))
    # with the noise level given, zero signals are a valid (if dull) fit
    model = fl.CRsAE1d(2, 5, n_epochs=1, sigma=0.1, random_state=0).fit(np.zeros((10, 50)))
    assert np.isfinite(model.filters_).all()


def test_ialm_refuses_a_shrinking_penalty():
    X = np.random.default_rng(0).random((20, 30))
    with pytest.raises(ValueError, match="rho must be >= 1"):
        fl.ialm(X, rho=0.5)
    assert fl.ialm(X, rho=1.0, max_iter=5).n_iter == 5


def test_bad_settings_give_clear_errors_not_deep_ones():
    X3 = np.random.default_rng(0).random((5, 4, 3))
    with pytest.raises(TypeError, match="init must be"):
        fl.CP(2, init=None).fit(X3)
    with pytest.raises(TypeError, match="filter_length"):
        fl.CRsAE1d(2, 2.5, n_epochs=1).fit(np.random.default_rng(0).random((10, 30)))
    with pytest.raises(ValueError, match="NaN"):
        fl.lipschitz_bound(torch.full((2, 5), float("nan")))
    with pytest.raises(ValueError, match="code_l1"):
        fl.lambda_closed_form(-5.0, 10, 1.0, 1.0)


def test_cross_validate_with_missing_data_never_reads_it():
    from factorlab.data import lowrank_matrix

    X, _, _ = lowrank_matrix(60, 40, rank=3, noise=0.05, random_state=0)
    missing = np.random.default_rng(1).random(X.shape) < 0.2
    kwargs = dict(ranks=[1, 2, 3, 4, 5], replicates=2, random_state=0, progress=False)
    full = fl.cross_validate(fl.PCA(rank=1), X, **kwargs)
    same = fl.cross_validate(fl.PCA(rank=1), X, mask=np.ones(X.shape, bool), **kwargs)
    np.testing.assert_array_equal(full.test_errors, same.test_errors)
    holes = np.where(missing, np.nan, X)
    cv = fl.cross_validate(fl.PCA(rank=1), holes, mask=~missing, **kwargs)
    assert np.isfinite(cv.test_errors).all() and cv.best_rank == full.best_rank
    garbage = np.where(missing, 1e6, X)      # whatever sits in the holes changes nothing
    again = fl.cross_validate(fl.PCA(rank=1), garbage, mask=~missing, **kwargs)
    np.testing.assert_allclose(again.test_errors, cv.test_errors, rtol=1e-8)


def test_unused_or_unsupported_settings_are_named_in_the_error():
    with pytest.raises(ValueError, match="rule must be one of"):
        fl.RobustPCA(rule="bogus").fit(np.ones((5, 4)))
    with pytest.raises(ValueError, match="got 'float16'"):
        fl.BEAR(dtype="float16").fit(np.ones((4, 2, 2), np.float32))
