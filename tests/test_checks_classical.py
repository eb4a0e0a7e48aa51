"""The exercise checks of factorlab.checks.classical: each passes a right answer and rejects a
deliberately wrong one with a helpful message."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles

import factorlab as fl
from factorlab.checks import (ExerciseCheckError, check_celltype_agreement, check_dominant_order,
                              check_nestedness, check_pca_als, check_pca_equivalences,
                              check_principal_angles, check_rank_sweep, check_standardized)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).standard_normal((50, 8)) * [6, 5, 4, 3, 1, 1, 1, 1] + 3.0


def axes_of(X, rank):
    return np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:rank].T


def test_check_pca_als(X):
    assert check_pca_als(axes_of(X, 3) * [1, -1, 1], X, 3) < 1e-6
    with pytest.raises(ExerciseCheckError, match="centre"):          # forgot to centre
        check_pca_als(np.linalg.svd(X, full_matrices=False)[2][:3].T, X, 3)
    mixed = axes_of(X, 3) @ np.array([[1.0, 0.5, 0], [0, 1, 0], [0, 0, 2]])
    with pytest.raises(ExerciseCheckError, match="orthonormal"):     # ALS subspace, not axes
        check_pca_als(mixed, X, 3)
    with pytest.raises(ExerciseCheckError, match="order"):           # axes in the wrong order
        check_pca_als(axes_of(X, 3)[:, [1, 0, 2]], X, 3)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_pca_als(..., X, 3)


def test_check_principal_angles():
    check_principal_angles(lambda A, B: np.sort(subspace_angles(A, B)))

    def no_orthonormalisation(A, B):
        cos = np.linalg.svd(A.T @ B, compute_uv=False)
        return np.sort(np.arccos(np.clip(cos, 0, 1)))

    with pytest.raises(ExerciseCheckError, match="Orthonormalise"):
        check_principal_angles(no_orthonormalisation)
    with pytest.raises(ExerciseCheckError, match="ascending"):
        check_principal_angles(lambda A, B: np.sort(subspace_angles(A, B))[::-1])


def test_check_pca_equivalences(X):
    Xc = X - X.mean(0)
    w, E = np.linalg.eigh(Xc.T @ Xc / (len(X) - 1))
    V = axes_of(X, 3)
    check_pca_equivalences(V, E[:, ::-1][:, :3], w[::-1][:3], X, 3)
    with pytest.raises(ExerciseCheckError, match="ascending"):       # eigh order not reversed
        check_pca_equivalences(V, E[:, :3], w[::-1][:3], X, 3)
    with pytest.raises(ExerciseCheckError, match="eigenvalues"):     # divided by m, not m - 1
        check_pca_equivalences(V, E[:, ::-1][:, :3], w[::-1][:3] * (len(X) - 1) / len(X), X, 3)


def test_check_standardized():
    X = np.random.default_rng(1).poisson(4.0, size=(30, 6)).astype(float)
    check_standardized(X / X.std(0), X)
    with pytest.raises(ExerciseCheckError, match="negative"):
        check_standardized((X - X.mean(0)) / X.std(0), X)
    with pytest.raises(ExerciseCheckError, match="column"):
        check_standardized(X / X.std(), X)


def test_check_rank_sweep():
    X = np.random.default_rng(2).random((30, 12))
    ranks = [1, 2, 3]
    errors = [fl.NMF(r, random_state=0).fit(X).loss_history_[-1] for r in ranks]
    check_rank_sweep(errors, X, ranks)
    with pytest.raises(ExerciseCheckError, match="below the SVD bound"):   # squared errors
        check_rank_sweep(np.array(errors) ** 2, X, ranks)
    with pytest.raises(ExerciseCheckError, match="fall"):                  # same rank every time
        check_rank_sweep([errors[0]] * 3, X, ranks)


def test_check_dominant_order():
    W = np.random.default_rng(3).random((20, 3))
    check_dominant_order(fl.plot.dominant_order(W), W)
    with pytest.raises(ExerciseCheckError, match="strongest"):
        dominant, strength = W.argmax(1), W.max(1)
        check_dominant_order(np.lexsort((strength, dominant)), W)
    with pytest.raises(ExerciseCheckError, match="grouped"):
        check_dominant_order(np.argsort(-W.max(1)), W)
    with pytest.raises(ExerciseCheckError, match="permutation"):
        check_dominant_order(np.zeros(20), W)


def test_check_celltype_agreement():
    labels = np.repeat([0, 1, 2, 3], 10)
    assert check_celltype_agreement((labels + 2) % 4, labels) == pytest.approx(1.0)
    with pytest.raises(ExerciseCheckError, match="Rand"):
        check_celltype_agreement(np.random.default_rng(4).integers(4, size=40), labels)


def test_check_nestedness():
    check_nestedness([0.0, 1e-6, 0.0], [0.3, 12.0, 2.0])
    with pytest.raises(ExerciseCheckError, match="radians"):          # forgot rad2deg or wrong V
        check_nestedness([0.0, 0.5, 0.0], [0.3, 12.0, 2.0])
    with pytest.raises(ExerciseCheckError, match="separate NMF"):
        check_nestedness([0.0, 0.0], [0.0, 0.0])
