"""The exercise checks of factorlab.checks.classical: each passes a right answer and rejects
deliberately wrong ones with a helpful message. Exercise 2's checks are tested on the real
expression data the exercise uses (fl.datasets.load_pbmc), against the mistakes students make."""

import factorlab as fl
import numpy as np
import pytest
from factorlab.checks import (
    ExerciseCheckError,
    check_celltype_agreement,
    check_dominant_order,
    check_nestedness,
    check_pca_als,
    check_pca_equivalences,
    check_principal_angles,
    check_rank_sweep,
    check_standardized,
)
from factorlab.checks.classical import (
    check_marker_recall,
    check_merged_types,
    check_rank_by_gain,
    check_top_genes,
)
from scipy.linalg import subspace_angles


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
    with pytest.raises(ExerciseCheckError, match="m - 1"):           # divided by m, not m - 1
        check_pca_equivalences(V, E[:, ::-1][:, :3], w[::-1][:3] * (len(X) - 1) / len(X), X, 3)


# --- exercise 2 on the real expression data ---------------------------------------------------

@pytest.fixture(scope="module")
def pbmc():
    return fl.datasets.load_pbmc()


@pytest.fixture(scope="module")
def expr(pbmc):
    return pbmc.data.astype(np.float64)


@pytest.fixture(scope="module")
def fit6(expr):
    """The exercise's rank-6 model of the log-expression."""
    return fl.NMF(rank=6, random_state=0).fit(expr)


@pytest.fixture(scope="module")
def fit6_scaled(expr):
    return fl.NMF(rank=6, random_state=0).fit(expr / expr.std(0))


def test_check_standardized(expr):
    X = expr
    check_standardized(X / X.std(0), X)
    check_standardized(X / X.std(0, ddof=1), X)                      # either std is fine
    with pytest.raises(ExerciseCheckError, match="negative"):        # centred, as for PCA
        check_standardized((X - X.mean(0)) / X.std(0), X)
    with pytest.raises(ExerciseCheckError, match="row"):             # wrong axis
        check_standardized(X / X.std(1, keepdims=True), X)
    with pytest.raises(ExerciseCheckError, match="one number"):      # one std for everything
        check_standardized(X / X.std(), X)
    with pytest.raises(ExerciseCheckError, match="still X"):         # forgot the normalisation
        check_standardized(X.copy(), X)
    with pytest.raises(ExerciseCheckError, match="variance"):
        check_standardized(X / X.var(0), X)
    with pytest.raises(ExerciseCheckError, match="column"):          # by the maximum
        check_standardized(X / X.max(0), X)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_standardized(..., X)
    with pytest.raises(ExerciseCheckError, match="shape"):
        check_standardized((X / X.std(0)).T, X)


def test_check_rank_sweep():
    X = np.random.default_rng(2).random((30, 12))
    ranks = [1, 2, 3]
    errors = [fl.NMF(r, random_state=0).fit(X).loss_history_[-1] for r in ranks]
    check_rank_sweep(errors, X, ranks)
    with pytest.raises(ExerciseCheckError, match="squared"):               # squared errors
        check_rank_sweep(np.array(errors) ** 2, X, ranks)
    with pytest.raises(ExerciseCheckError, match="fall"):                  # same rank every time
        check_rank_sweep([errors[0]] * 3, X, ranks)


def test_check_rank_sweep_real(expr):
    X, ranks = expr, [1, 2, 3, 4, 5, 6]
    errors = [fl.NMF(r, random_state=0).fit(X).loss_history_[-1] for r in ranks]
    check_rank_sweep(errors, X, ranks)
    with pytest.raises(ExerciseCheckError, match="one component too many"):  # fitted rank r + 1
        check_rank_sweep(errors[1:] + [fl.NMF(7, random_state=0).fit(X).loss_history_[-1]],
                         X, ranks)
    scaled = [fl.NMF(r, random_state=0).fit(X / X.std(0)).loss_history_[-1] for r in ranks]
    with pytest.raises(ExerciseCheckError, match="same X"):                # errors of the scaled data
        check_rank_sweep(scaled, X, ranks)
    with pytest.raises(ExerciseCheckError, match="between 0 and 1"):       # not divided by ||X||
        check_rank_sweep(np.array(errors) * np.linalg.norm(X), X, ranks)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_rank_sweep(..., X, ranks)
    with pytest.raises(ExerciseCheckError, match="one per rank"):          # list not filled in full
        check_rank_sweep(errors[:3], X, ranks)


def test_check_rank_by_gain():
    ranks = list(range(1, 11))
    # the gains of the exercise's curve: 0.045, 0.020, 0.012, 0.0075, 0.0074, 0.0044, ...
    errors = np.array([0.6789, 0.6342, 0.6143, 0.6023, 0.5948, 0.5874, 0.5830, 0.5799, 0.5770,
                       0.5750])
    check_rank_by_gain(6, errors, ranks, min_gain=0.005)
    check_rank_by_gain(4, errors, ranks, min_gain=0.01)
    check_rank_by_gain(10, errors, ranks, min_gain=0.001)              # every gain is enough
    with pytest.raises(ExerciseCheckError, match="Off by one"):        # ranks[i + 1]
        check_rank_by_gain(7, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="position"):          # the index, not the rank
        check_rank_by_gain(5, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="largest rank"):      # argmin of the error
        check_rank_by_gain(10, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="Too early"):         # first gain below 0.01
        check_rank_by_gain(3, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="-np.diff"):          # gains = np.diff(errors)
        check_rank_by_gain(ranks[np.flatnonzero(np.diff(errors) < 0.005)[0]], errors, ranks)
    with pytest.raises(ExerciseCheckError, match="past the first"):
        check_rank_by_gain(8, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="not one of the ranks"):
        check_rank_by_gain(12, errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="whole number"):
        check_rank_by_gain(np.array([6, 7]), errors, ranks, min_gain=0.005)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_rank_by_gain(..., errors, ranks, min_gain=0.005)


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


def test_check_celltype_agreement(pbmc, fit6):
    W, labels = fit6.U_, pbmc.labels
    assigned = W.argmax(1)
    table = np.zeros((10, 6), dtype=int)
    np.add.at(table, (labels, assigned), 1)
    ari = check_celltype_agreement(assigned, table, W, labels)
    assert 0.5 < ari < 0.65                         # the T-cell subsets merge: far from 1
    # components renumbered in W: the same partition, the same index
    perm = [3, 0, 5, 1, 4, 2]
    assert check_celltype_agreement(W[:, perm].argmax(1), table[:, perm],
                                    W[:, perm], labels) == pytest.approx(ari)
    with pytest.raises(ExerciseCheckError, match="axis=1"):          # argmax over the cells
        check_celltype_agreement(W.argmax(0), table, W, labels)
    with pytest.raises(ExerciseCheckError, match="not H"):           # genes, not cells
        check_celltype_agreement(fit6.V_.argmax(1), table, W, labels)
    with pytest.raises(ExerciseCheckError, match="smallest"):
        check_celltype_agreement(W.argmin(1), table, W, labels)
    with pytest.raises(ExerciseCheckError, match="not loadings"):
        check_celltype_agreement(W.max(1), table, W, labels)
    other = fl.NMF(rank=5, random_state=0).fit(pbmc.data.astype(float))
    with pytest.raises(ExerciseCheckError, match="earlier fit"):     # left from another model
        check_celltype_agreement(other.U_.argmax(1), table, W, labels)
    with pytest.raises(ExerciseCheckError, match="transposed"):
        check_celltype_agreement(assigned, table.T, W, labels)
    with pytest.raises(ExerciseCheckError, match="fractions"):
        check_celltype_agreement(assigned, table / table.sum(1, keepdims=True), W, labels)
    shuffled = np.zeros_like(table)                                  # labels permuted
    np.add.at(shuffled, (np.random.default_rng(0).permutation(labels), assigned), 1)
    with pytest.raises(ExerciseCheckError, match="cell by cell"):
        check_celltype_agreement(assigned, shuffled, W, labels)
    stale = np.zeros_like(table)                                     # table of another fit
    np.add.at(stale, (labels, fl.NMF(rank=6, random_state=3).fit(
        pbmc.data.astype(float) / pbmc.data.std(0)).U_.argmax(1)), 1)
    with pytest.raises(ExerciseCheckError, match="earlier fit"):
        check_celltype_agreement(assigned, stale, W, labels)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_celltype_agreement(assigned, ..., W, labels)


def test_check_merged_types(pbmc, fit6):
    names, labels = pbmc.label_names, pbmc.labels
    table = np.zeros((10, 6), dtype=int)
    np.add.at(table, (labels, fit6.U_.argmax(1)), 1)
    majority = table.argmax(1)
    shared = np.bincount(majority).argmax()
    right = list(names[majority == shared])
    assert sum(n.startswith(("CD4+", "CD8+")) for n in right) == 5     # the T-cell types merge
    check_merged_types(right, table, names)
    check_merged_types(right[::-1], table, names)                    # order does not matter
    with pytest.raises(ExerciseCheckError, match="names"):           # indices
        check_merged_types(np.flatnonzero(majority == shared), table, names)
    with pytest.raises(ExerciseCheckError, match="axis=1"):          # argmax down the columns
        check_merged_types(list(names[table.argmax(0)]), table, names)
    with pytest.raises(ExerciseCheckError, match="at least one cell"):
        check_merged_types(list(names[table[:, shared] > 0]), table, names)
    with pytest.raises(ExerciseCheckError, match="missing"):         # only the clear majorities
        half = table[:, shared] > table.sum(1) / 2
        check_merged_types(list(names[(majority == shared) & half]), table, names)
    with pytest.raises(ExerciseCheckError, match="another"):
        check_merged_types(right + ["CD19+ B"], table, names)
    with pytest.raises(ExerciseCheckError, match="Not cell types"):
        check_merged_types(["T cells"], table, names)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_merged_types(..., table, names)


def test_check_top_genes(pbmc, fit6):
    H, genes = fit6.V_, pbmc.feature_names
    top = genes[np.argsort(-H, axis=0)[:10].T]
    check_top_genes(top, H, genes)
    check_top_genes(genes[np.argsort(-H, axis=0)[:3].T], H, genes)   # any n
    with pytest.raises(ExerciseCheckError, match="smallest"):        # ascending sort
        check_top_genes(genes[np.argsort(H, axis=0)[:10].T], H, genes)
    with pytest.raises(ExerciseCheckError, match="not in order"):    # argsort reversed wrongly
        check_top_genes(genes[np.argsort(H, axis=0)[-10:].T], H, genes)
    with pytest.raises(ExerciseCheckError, match="transpose"):
        check_top_genes(top.T, H, genes)
    with pytest.raises(ExerciseCheckError, match="not indices"):
        check_top_genes(np.argsort(-H, axis=0)[:10].T, H, genes)
    with pytest.raises(ExerciseCheckError, match="W"):               # the cell factor
        check_top_genes(genes[np.argsort(-fit6.U_, axis=0)[:10].T], H, genes)
    with pytest.raises(ExerciseCheckError, match="another fit"):     # H of the scaled model
        scaled = fl.NMF(rank=6, random_state=0).fit(pbmc.data / pbmc.data.std(0))
        check_top_genes(genes[np.argsort(-scaled.V_, axis=0)[:10].T], H, genes)
    with pytest.raises(ExerciseCheckError, match="Not gene names"):
        check_top_genes(np.full((6, 2), "NOTAGENE"), H, genes)


MARKERS = ["CD3D", "CD3E", "IL7R", "CCR7", "CD8A", "CD8B", "GNLY", "NKG7", "MS4A1", "CD79A",
           "CD79B", "LYZ", "S100A8", "S100A9", "FCGR3A", "FCER1A", "CST3"]


def test_check_marker_recall(pbmc, expr, fit6, fit6_scaled):
    X, genes = expr, pbmc.feature_names
    Xs = X / X.std(0)

    def found(model, repeats=False):
        tops = [set(genes[np.argsort(-model.V_[:, k])[:10]]) for k in range(6)]
        if repeats:
            return sum(len(t & set(MARKERS)) for t in tops)
        return len(set().union(*tops) & set(MARKERS))

    n_log, n_scaled = found(fit6), found(fit6_scaled)
    assert n_log > n_scaled                         # scaling hides the markers
    check_marker_recall(n_log, n_scaled, fit6, fit6_scaled, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="swapped"):
        check_marker_recall(n_scaled, n_log, fit6, fit6_scaled, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="fits X, not the scaled"):   # forgot to scale
        check_marker_recall(n_log, n_log, fit6, fl.NMF(rank=6, random_state=1).fit(X), X, Xs,
                            genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="fits X, not the scaled"):   # the same model
        check_marker_recall(n_log, n_log, fit6, fit6, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="same rank"):
        check_marker_recall(n_log, n_scaled, fit6, fl.NMF(rank=4, random_state=0).fit(Xs), X,
                            Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="once"):                     # repeats counted
        check_marker_recall(found(fit6, repeats=True), n_scaled, fit6, fit6_scaled, X, Xs,
                            genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="unscaled model"):           # value left over
        check_marker_recall(n_log, n_log, fit6, fit6_scaled, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="only those in markers"):    # all top genes
        all_top = len(set(genes[np.argsort(-fit6_scaled.V_, axis=0)[:10]].ravel()))
        check_marker_recall(n_log, all_top, fit6, fit6_scaled, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="whole number"):
        check_marker_recall(n_log / 17, n_scaled, fit6, fit6_scaled, X, Xs, genes, MARKERS)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_marker_recall(..., n_scaled, fit6, fit6_scaled, X, Xs, genes, MARKERS)


def test_check_nestedness():
    check_nestedness([0.0, 1e-6, 0.0], [0.3, 12.0, 2.0])
    with pytest.raises(ExerciseCheckError, match="rank-r fit"):        # wrong V compared
        check_nestedness([0.0, 0.5, 0.0], [0.3, 12.0, 2.0])
    with pytest.raises(ExerciseCheckError, match="radians"):           # forgot rad2deg (NMF)
        check_nestedness([0.0, 0.0, 0.0], np.deg2rad([0.3, 12.0, 2.0]))
    with pytest.raises(ExerciseCheckError, match="separate NMF"):
        check_nestedness([0.0, 0.0], [0.0, 0.0])
