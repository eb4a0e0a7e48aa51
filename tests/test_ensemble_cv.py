"""Ensembles of restarts, speckled cross-validation and the SVD lower bound."""

from sklearn.exceptions import NotFittedError
import numpy as np
import pytest
import torch

import factorlab as fl
from factorlab.data import lowrank_matrix, trial_tensor


@pytest.fixture(scope="module")
def rank4():
    X, _, _ = lowrank_matrix(80, 50, rank=4, noise=0.5, nonnegative=True, random_state=0)
    return X


# --- speckled masks --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(200, 100), (20, 15, 10)])
def test_speckled_mask_fraction_and_no_empty_slices(shape):
    mask = fl.speckled_mask(shape, holdout=0.3, random_state=0)
    assert mask.dtype == bool and mask.shape == shape
    assert abs((1 - mask.mean()) - 0.3) < 0.03
    np.testing.assert_array_equal(mask, fl.speckled_mask(shape, holdout=0.3, random_state=0))


def test_speckled_mask_keeps_min_observed_per_row_and_column():
    mask = fl.speckled_mask((30, 8), holdout=0.9, min_observed=4, random_state=1)
    assert mask.sum(axis=1).min() >= 4 and mask.sum(axis=0).min() >= 4
    assert 1 - mask.mean() > 0.4  # still mostly held out


# --- cross-validation ------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", [fl.NMF(rank=1, max_iter=150),
                                       fl.PCA(rank=1, center=False)])
def test_cross_validation_recovers_planted_rank(rank4, estimator):
    cv = fl.cross_validate(estimator, rank4, ranks=range(1, 8), holdout=0.1, replicates=2,
                           random_state=0, progress=False)
    assert cv.best_rank == 4
    assert cv.train_errors.shape == cv.test_errors.shape == (7, 2)
    train = cv.train_errors.mean(axis=1)
    assert np.all(np.diff(train) <= 1e-3)  # training error falls with rank
    assert cv.test_errors.mean(axis=1)[-1] > cv.test_errors.mean(axis=1)[3]  # U shape


def test_cross_validation_of_cp_on_a_tensor():
    data = trial_tensor(30, 20, 20, rank=3, noise=0.3, random_state=0)
    cv = fl.cross_validate(fl.CP(rank=1, nonneg=True, max_iter=200), data.X, [1, 2, 3, 4, 5],
                           holdout=0.2, replicates=2, random_state=0, progress=False)
    assert cv.best_rank == 3


def test_cv_is_seeded_saved_and_leaves_input_alone(rank4, tmp_path):
    X0 = rank4.copy()
    args = dict(ranks=[2, 4], replicates=2, random_state=3, progress=False)
    a = fl.cross_validate(fl.PCA(rank=1), rank4, **args)
    b = fl.cross_validate(fl.PCA(rank=1), rank4, **args)
    np.testing.assert_array_equal(a.test_errors, b.test_errors)
    np.testing.assert_array_equal(rank4, X0)
    a.save(tmp_path / "cv.npz")
    c = fl.CVResult.load(tmp_path / "cv.npz")
    np.testing.assert_array_equal(c.test_errors, a.test_errors)
    assert c.best_rank == a.best_rank and c.holdout == a.holdout


def test_results_do_not_depend_on_n_jobs():
    data = trial_tensor(15, 12, 10, rank=2, noise=0.1, random_state=0)
    cv = [fl.cross_validate(fl.CP(1), data.X, [1, 2, 3], replicates=2, random_state=0,
                            progress=False, n_jobs=n) for n in (1, 2)]
    np.testing.assert_array_equal(cv[0].test_errors, cv[1].test_errors)
    ens = [fl.Ensemble(fl.CP(1), [1, 2], replicates=3, random_state=0, progress=False,
                       n_jobs=n).fit(data.X) for n in (1, 2)]
    for r in (1, 2):
        np.testing.assert_array_equal(ens[0].losses_[r], ens[1].losses_[r])
        np.testing.assert_array_equal(ens[0].similarities_[r], ens[1].similarities_[r])


def test_holding_out_rows_fails_where_speckles_work(rank4):
    """The teaching point: predicting held-out rows needs their U rows, fitted on themselves,
    so the 'test' error keeps falling with rank."""
    test = []
    for rank in range(1, 8):
        model = fl.PCA(rank=rank, center=False, random_state=0).fit(rank4[:60])
        U_new = model.transform(rank4[60:])  # fitted on the held-out rows themselves
        test.append(np.linalg.norm(rank4[60:] - model.inverse_transform(U_new)))
    assert np.all(np.diff(test) < 0)


# --- ensembles ---------------------------------------------------------------------------------
def test_ensemble_similarity_stable_up_to_true_rank(rank4, tmp_path):
    ens = fl.Ensemble(fl.NMF(rank=1, max_iter=200), ranks=range(1, 7), replicates=4,
                      random_state=0, progress=False).fit(rank4)
    assert ens.ranks_ == [1, 2, 3, 4, 5, 6]
    for r in range(1, 5):
        assert ens.similarities_[r].min() > 0.98
    assert min(ens.similarities_[r][1:].mean() for r in (5, 6)) < 0.98
    for r in ens.ranks_:
        assert np.all(np.diff(ens.losses_[r]) >= 0) and ens.similarities_[r][0] == 1.0
    # neighbouring ranks aligned: the first components of rank 4 match those of rank 3
    prev, cur = ens.best(3), ens.best(4)
    cos = np.sum(prev[1] * cur[1][:, :3], 0) / (np.linalg.norm(prev[1], axis=0)
                                               * np.linalg.norm(cur[1][:, :3], axis=0))
    assert cos.min() > 0.7

    ens.save(tmp_path / "ens.npz")
    loaded = fl.Ensemble.load(tmp_path / "ens.npz")
    assert loaded.ranks_ == ens.ranks_
    for r in ens.ranks_:
        np.testing.assert_array_equal(loaded.losses_[r], ens.losses_[r])
        np.testing.assert_array_equal(loaded.similarities_[r], ens.similarities_[r])
        for fa, fb in zip(loaded.factors_[r][-1], ens.factors_[r][-1]):
            np.testing.assert_array_equal(fa, fb)


def test_ensemble_with_mask_and_cp():
    data = trial_tensor(20, 15, 12, rank=2, noise=0.05, random_state=0)
    mask = fl.speckled_mask(data.X.shape, 0.2, random_state=0)
    X999 = np.where(mask, data.X, 999.0)
    a = fl.Ensemble(fl.CP(1, nonneg=True), [1, 2, 3], replicates=3, random_state=0,
                    progress=False).fit(data.X, mask=mask)
    b = fl.Ensemble(fl.CP(1, nonneg=True), [1, 2, 3], replicates=3, random_state=0,
                    progress=False).fit(X999, mask=mask)
    for r in (1, 2, 3):
        np.testing.assert_array_equal(a.losses_[r], b.losses_[r])
    assert a.similarities_[2].min() > 0.99
    assert fl.similarity(a.best(2), data.factors) > 0.95


# --- SVD bound -----------------------------------------------------------------------------------
def test_svd_bound_below_every_model_and_attained_by_truncated_svd(rank4):
    ranks = [1, 2, 3, 4, 6]
    bound = fl.svd_bound(rank4, ranks)
    U, s, Vt = np.linalg.svd(rank4, full_matrices=False)
    for k, r in enumerate(ranks):
        svd_err = np.linalg.norm(rank4 - (U[:, :r] * s[:r]) @ Vt[:r]) / np.linalg.norm(rank4)
        assert bound[k] == pytest.approx(svd_err, rel=1e-10)
        pca = fl.PCA(rank=r, center=False, random_state=0).fit(rank4)
        assert pca.loss_history_[-1] == pytest.approx(bound[k], rel=1e-6)
        for model in (fl.NMF(rank=r, random_state=0, max_iter=100), fl.CP(r, random_state=0)):
            err = np.linalg.norm(rank4 - model.fit(rank4).reconstruct()) / np.linalg.norm(rank4)
            assert err >= bound[k] - 1e-12
    centred = fl.svd_bound(rank4, 3, center=True)
    pca = fl.PCA(rank=3, random_state=0).fit(rank4)
    err = np.linalg.norm(rank4 - pca.reconstruct()) / np.linalg.norm(rank4)
    assert err == pytest.approx(centred, rel=1e-6)


def test_svd_bound_for_tensors_and_torch():
    data = trial_tensor(15, 12, 10, rank=2, noise=0.0, random_state=0)
    assert fl.svd_bound(data.X, 2) < 1e-10 and fl.svd_bound(data.X, 1) > 0.01
    assert fl.svd_bound(torch.from_numpy(data.X), [1]).shape == (1,)


# --- bad inputs ----------------------------------------------------------------------------------
def test_bad_inputs(rank4):
    with pytest.raises(TypeError, match="estimator must be"):
        fl.cross_validate("nmf", rank4, [1, 2])
    with pytest.raises(ValueError, match="holdout"):
        fl.cross_validate(fl.PCA(rank=1), rank4, [1, 2], holdout=1.5)
    with pytest.raises(ValueError, match="ranks is empty"):
        fl.cross_validate(fl.PCA(rank=1), rank4, [])
    with pytest.raises(ValueError, match="ranks"):
        fl.svd_bound(rank4, [0, 1])
    with pytest.raises(ValueError, match="replicates"):
        fl.Ensemble(fl.PCA(rank=1), [1], replicates=0).fit(rank4)
    with pytest.raises(ValueError, match="mask"):
        fl.Ensemble(fl.PCA(rank=1), [1], replicates=1).fit(rank4, mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="min_observed"):
        fl.speckled_mask((5, 3), holdout=0.1, min_observed=6)
    with pytest.raises(NotFittedError, match="not fitted"):
        fl.Ensemble(fl.PCA(rank=1), [1]).best(1)
    with pytest.raises(ValueError, match="center"):
        fl.svd_bound(np.ones((3, 3, 3)), 1, center=True)


# --- exercise checks -------------------------------------------------------------------------
def test_check_heldout_error_right_and_wrong(capsys):
    from factorlab.checks import ExerciseCheckError, check_heldout_error

    check_heldout_error(lambda X, Xh, m: np.linalg.norm((X - Xh)[~m]) / np.linalg.norm(X[~m]))
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="training entries"):
        check_heldout_error(lambda X, Xh, m: np.linalg.norm((X - Xh)[m]) / np.linalg.norm(X[m]))


def test_check_rank_choice_right_and_wrong(capsys):
    from factorlab.checks import ExerciseCheckError, check_rank_choice

    errors = [[0.5, 0.6], [0.2, 0.3], [0.25, 0.35]]
    check_rank_choice(2, [1, 2, 3], errors)
    assert "rank 2" in capsys.readouterr().out
    with pytest.raises(ExerciseCheckError, match="lowest mean test error"):
        check_rank_choice(3, [1, 2, 3], errors)


def test_loaded_ensemble_can_be_refitted_and_cloned(tmp_path):
    # the template estimator used to be stored as its repr string, which cannot be refitted
    from sklearn.base import clone

    X = np.random.default_rng(1).random((10, 8))
    ens = fl.Ensemble(fl.NMF(rank=1, random_state=0, tol=1e-4), [1, 2], replicates=2,
                      random_state=0, progress=False).fit(X)
    ens.save(tmp_path / "ens.npz")
    loaded = fl.Ensemble.load(tmp_path / "ens.npz")
    assert isinstance(loaded.estimator, fl.NMF) and loaded.estimator.tol == 1e-4
    refit = clone(loaded).fit(X)
    np.testing.assert_allclose(refit.losses_[2], ens.losses_[2])
