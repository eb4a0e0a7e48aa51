"""Similarity of factorizations and component alignment."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.cp_tensor import CPTensor
from tensorly.metrics import congruence_coefficient

import factorlab as fl
from factorlab.data import lowrank_matrix, trial_tensor


def _permuted_rescaled(factors, perm, seed=0):
    """Same model: components permuted, each mode rescaled with scales multiplying to 1."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.2, 5.0, size=(len(factors), factors[0].shape[1]))
    scales[-1] = 1.0 / scales[:-1].prod(axis=0)
    return [f[:, perm] * s[perm] for f, s in zip(factors, scales)]


@pytest.mark.parametrize("score", ["mean", "product"])
@pytest.mark.parametrize("weight_penalty", [False, True])
def test_fitted_nmf_vs_permuted_rescaled_copy_is_one(score, weight_penalty):
    X, _, _ = lowrank_matrix(40, 30, rank=3, noise=0.1, nonnegative=True, random_state=0)
    model = fl.NMF(rank=3, random_state=0).fit(X)
    other = _permuted_rescaled([model.U_, model.V_], [2, 0, 1])
    assert fl.similarity(model, other, score=score, weight_penalty=weight_penalty) \
        == pytest.approx(1.0, abs=1e-12)


def test_cp_model_cptensor_and_lists_agree():
    data = trial_tensor(20, 15, 10, rank=3, noise=0.05, random_state=0)
    model = fl.CP(3, nonneg=True, random_state=0).fit(data.X)
    as_list = [model.factors_[0] * model.weights_] + model.factors_[1:]
    shuffled = _permuted_rescaled(as_list, [1, 2, 0])
    cp = CPTensor((model.weights_[[1, 2, 0]], [f[:, [1, 2, 0]] for f in model.factors_]))
    for other in (shuffled, cp, (cp.weights, cp.factors)):
        assert fl.similarity(model, other, weight_penalty=True) == pytest.approx(1.0, abs=1e-12)


def test_signs_ignored_only_when_absolute():
    rng = np.random.default_rng(1)
    U, V = rng.standard_normal((10, 3)), rng.standard_normal((7, 3))
    assert fl.similarity([U, V], [-U, -V]) == pytest.approx(1.0)
    assert fl.similarity([U, V], [-U, -V], absolute=False) == 0.0


def test_single_mode_matches_tensorly_congruence():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    ref, _ = congruence_coefficient(A, B, absolute_value=True)
    assert fl.similarity([A], [B]) == pytest.approx(float(ref))


def test_size_penalty_and_product_lower_the_score():
    rng = np.random.default_rng(3)
    U, V = rng.random((10, 2)), rng.random((8, 2))
    V2 = V + 0.3 * rng.random((8, 2))
    base = fl.similarity([U, V], [U, V2])
    assert fl.similarity([U, V], [U, V2], score="product") < base < 1
    assert fl.similarity([U, V], [U * [1, 2], V]) == pytest.approx(1.0)
    assert fl.similarity([U, V], [U * [1, 2], V], weight_penalty=True) < 1


def test_zero_columns_give_no_nan():
    rng = np.random.default_rng(4)
    U, V = rng.random((10, 3)), rng.random((8, 3))
    Uz = U.copy()
    Uz[:, 1] = 0
    value = fl.similarity([U, V], [Uz, V])
    assert np.isfinite(value) and value == pytest.approx(1.0)  # matched over the 2 nonzero ones
    assert fl.similarity([Uz, V], [Uz, V]) == pytest.approx(1.0)
    assert fl.similarity([U, V], [np.zeros_like(U), V]) == 0.0


def test_different_ranks_use_the_smaller():
    rng = np.random.default_rng(5)
    U, V = rng.random((10, 4)), rng.random((8, 4))
    assert fl.similarity([U, V], [U[:, :2], V[:, :2]]) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 10_000))
def test_in_unit_interval_and_symmetric(ra, rb, seed):
    rng = np.random.default_rng(seed)
    a = [rng.standard_normal((6, ra)), rng.standard_normal((5, ra)), rng.standard_normal((4, ra))]
    b = [rng.standard_normal((6, rb)), rng.standard_normal((5, rb)), rng.standard_normal((4, rb))]
    for score in ("mean", "product"):
        s = fl.similarity(a, b, score=score, weight_penalty=True)
        assert 0.0 <= s <= 1.0
        assert s == pytest.approx(fl.similarity(b, a, score=score, weight_penalty=True))


# --- align ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
def test_align_recovers_every_permutation(perm):
    rng = np.random.default_rng(6)
    F = [rng.standard_normal((n, 3)) for n in (9, 7, 5)]
    shuffled = [f[:, list(perm)] for f in F]
    aligned = fl.align(F, shuffled)
    for f, g in zip(F, aligned):
        np.testing.assert_allclose(f, g)


def test_align_flips_signs_in_pairs_and_keeps_reconstruction():
    rng = np.random.default_rng(7)
    F = [rng.standard_normal((n, 2)) for n in (9, 7, 5)]
    flipped = [F[0] * [-1, 1], F[1] * [-1, -1], F[2] * [1, -1]]  # two flips per component
    aligned = fl.align(F, flipped)
    for f, g in zip(F, aligned):
        np.testing.assert_allclose(f, g)
    # a single flipped mode cannot be undone without changing the model: reconstruction kept
    odd = [F[0] * [-1, 1], F[1], F[2]]
    aligned = fl.align(F, odd)
    np.testing.assert_allclose(np.einsum("ir,jr,kr->ijk", *aligned),
                               np.einsum("ir,jr,kr->ijk", *odd))


def test_align_models_returns_copies_and_never_flips_nonnegative_modes():
    X, _, _ = lowrank_matrix(40, 30, rank=3, noise=0.1, nonnegative=True, random_state=0)
    a = fl.NMF(rank=3, random_state=0).fit(X)
    b = fl.NMF(rank=3, random_state=1).fit(X)
    U_before = b.U_.copy()
    c = fl.align(a, b)
    assert c is not b and np.array_equal(b.U_, U_before)
    assert (c.U_ >= 0).all() and (c.V_ >= 0).all()
    np.testing.assert_allclose(c.reconstruct(), b.reconstruct())
    cos = np.sum(a.V_ * c.V_, 0) / np.linalg.norm(a.V_, axis=0) / np.linalg.norm(c.V_, axis=0)
    assert cos.min() > 0.9


def test_align_pca_torch_model_keeps_type():
    X = torch.from_numpy(lowrank_matrix(30, 20, rank=2, noise=0.1, random_state=0)[0])
    a = fl.PCA(rank=2, center=False, random_state=0).fit(X)
    b = fl.PCA(rank=2, center=False, random_state=1).fit(X)
    c = fl.align(a, b)
    assert isinstance(c.U_, torch.Tensor)
    np.testing.assert_allclose(c.V_.numpy(), a.V_.numpy(), atol=1e-6)


# --- bad inputs ------------------------------------------------------------------------------
def test_bad_inputs():
    rng = np.random.default_rng(8)
    U, V = rng.random((10, 2)), rng.random((8, 2))
    with pytest.raises(ValueError, match="mode 1"):
        fl.similarity([U, V], [U, V[:5]])
    with pytest.raises(ValueError, match="number of modes"):
        fl.similarity([U, V], [U, V, V])
    with pytest.raises(ValueError, match="score"):
        fl.similarity([U, V], [U, V], score="max")
    with pytest.raises(TypeError, match="Expected a fitted model"):
        fl.similarity("model", [U, V])
    with pytest.raises(ValueError, match="not fitted"):
        fl.similarity(fl.CP(2), [U, V])


# --- exercise check --------------------------------------------------------------------------
def test_check_matched_similarity_right_and_wrong(capsys):
    from factorlab.checks import ExerciseCheckError, check_matched_similarity

    check_matched_similarity(lambda A, B: fl.similarity([A], [B]))
    assert "✓" in capsys.readouterr().out

    def unmatched(A, B):  # compares columns in the given order, no Hungarian matching
        k = min(A.shape[1], B.shape[1])
        An = A[:, :k] / np.linalg.norm(A[:, :k], axis=0)
        Bn = B[:, :k] / np.linalg.norm(B[:, :k], axis=0)
        return float(np.abs(np.sum(An * Bn, axis=0)).mean())

    with pytest.raises(ExerciseCheckError, match="linear_sum_assignment"):
        check_matched_similarity(unmatched)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_matched_similarity(lambda A, B: ...)
