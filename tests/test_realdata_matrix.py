"""PCA and NMF on the bundled real data (songbird HVC, blood-cell expression) against peers.

The floors below were measured on these exact matrices (chapter 1 and 2 real-data sections,
benchmarks/real_nmf.py) and are set with a margin: NMF at rank 7 on the PBMC data reaches an
adjusted Rand index of 0.573-0.579 against the annotated cell types over 15 random starts,
and the same parts as scikit-learn (similarity 0.99); PC 1 of the HVC activity correlates
0.59 with the song's loudness.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import NMF as SkNMF, PCA as SkPCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

import factorlab as fl


@pytest.fixture(scope="module")
def hvc():
    d = fl.datasets.load_songbird()
    return d, d.data.T.astype(np.float64)            # frames x neurons


@pytest.fixture(scope="module")
def pbmc():
    d = fl.datasets.load_pbmc()
    return d, d.data.astype(np.float64)


@pytest.fixture(scope="module")
def pbmc_rank7(pbmc):
    _, E = pbmc
    return fl.NMF(rank=7, random_state=0).fit(E)


def _sklearn_nmf(X, rank):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SkNMF(rank, random_state=0)              # scikit-learn's defaults
        W = model.fit_transform(X)
    return W, model.components_


@pytest.mark.parametrize("which, rank", [("hvc", 10), ("hvc", 3), ("pbmc", 5)])
def test_pca_matches_sklearn_exact(which, rank, hvc, pbmc):
    X = (hvc if which == "hvc" else pbmc)[1]
    ours = fl.PCA(rank=rank, random_state=0).fit(X)
    exact = SkPCA(rank, svd_solver="full").fit(X)
    assert subspace_angles(ours.V_, exact.components_.T).max() < 1e-6
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               exact.explained_variance_ratio_, atol=1e-9)
    rec = exact.inverse_transform(exact.transform(X))
    assert np.abs(ours.reconstruct() - rec).max() < 1e-6


def test_pca_hvc_flat_spectrum_beats_randomized_default(hvc):
    # the flat HVC spectrum is the hard case for a randomized SVD: factorlab's ALS is exact
    # where scikit-learn's default solver is visibly off (0.10 rad at rank 10)
    _, H = hvc
    exact = SkPCA(10, svd_solver="full").fit(H).components_.T
    ours = fl.PCA(rank=10, random_state=0).fit(H).V_
    default = SkPCA(10, random_state=0).fit(H).components_.T
    assert subspace_angles(ours, exact).max() < 1e-6 < subspace_angles(default, exact).max()


def test_pca_hvc_first_score_follows_the_song(hvc):
    d, H = hvc
    edges = np.linspace(0, d.song.shape[1], H.shape[0] + 1).astype(int)
    loudness = np.add.reduceat(d.song.sum(0), edges[:-1]) / np.diff(edges)
    score = fl.PCA(rank=3, random_state=0).fit(H).U_[:, 0]
    best = max(abs(np.corrcoef(np.roll(score, -lag), loudness)[0, 1]) for lag in range(11))
    shifted = abs(np.corrcoef(np.roll(score, H.shape[0] // 2), loudness)[0, 1])
    assert best > 0.45                                   # measured 0.59
    assert shifted < 0.2                                 # measured 0.03


def test_nmf_pbmc_recovers_cell_types(pbmc):
    """The best of three restarts (by error, as the chapters teach) finds the cell types.
    About 3 restarts in 10 end in a second optimum 0.2 % worse whose components mix two types
    (ARI 0.42; 3 of seeds 0-9 with and without extrapolation), so one seed alone may not."""
    d, E = pbmc
    fits = [fl.NMF(rank=7, random_state=seed).fit(E) for seed in range(3)]
    errors = [fit.loss_history_[-1] for fit in fits]
    best = fits[int(np.argmin(errors))]
    assert adjusted_rand_score(d.labels, best.U_.argmax(axis=1)) > 0.50   # measured 0.58
    assert max(errors) < 1.005 * min(errors)                             # measured 0.2 %


def test_nmf_pbmc_marker_genes(pbmc, pbmc_rank7):
    d, _ = pbmc
    tops = {g for k in range(7) for g in d.feature_names[np.argsort(-pbmc_rank7.V_[:, k])[:3]]}
    # monocyte/dendritic (LYZ), NK (GNLY or NKG7) and antibody (IGJ or MZB1) programs
    assert "LYZ" in tops
    assert tops & {"GNLY", "NKG7"}
    assert tops & {"IGJ", "MZB1"}


def test_nmf_pbmc_matches_sklearn(pbmc, pbmc_rank7):
    _, E = pbmc
    W, H = _sklearn_nmf(E, 7)
    sk_err = np.linalg.norm(E - W @ H) / np.linalg.norm(E)
    ours = pbmc_rank7.loss_history_[-1]
    assert ours <= sk_err * 1.002                        # measured 0.5831 vs 0.5834
    assert ours >= fl.assess.svd_bound(E, 7) - 1e-9
    norms = np.linalg.norm(H, axis=1)
    assert fl.similarity([W * norms, H.T / norms], pbmc_rank7) > 0.95   # measured 0.99


def test_nmf_hvc_error_close_to_sklearn(hvc):
    _, H = hvc
    ours = fl.NMF(rank=10, random_state=0).fit(H)
    W, Hs = _sklearn_nmf(H, 10)
    sk_err = np.linalg.norm(H - W @ Hs) / np.linalg.norm(H)
    assert ours.loss_history_[-1] <= sk_err * 1.01      # measured 0.7327 vs 0.7335
    assert (ours.U_ >= 0).all() and (ours.V_ >= 0).all()
