"""NMF (HALS, ANLS, MU) and NNLS: against scipy and scikit-learn, invariants, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls as scipy_nnls
from sklearn.decomposition import NMF as SkNMF

from factorlab.data import cell_assemblies
from factorlab.matrix import NMF, nmf, nnls
from factorlab.matrix.nnls import nnls_gram

SOLVERS = ["hals", "anls", "mu"]


def _data(m=80, n=50, rank=4, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, rank)) @ rng.random((rank, n)) + noise * rng.random((m, n))


def _svd_bound(X, rank):
    s = np.linalg.svd(X, compute_uv=False)
    return np.sqrt((s[rank:] ** 2).sum() / (s**2).sum())


@pytest.mark.parametrize("seed", range(5))
def test_nnls_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((30, 8)), rng.standard_normal((30, 40))
    expected = np.stack([scipy_nnls(A, B[:, j])[0] for j in range(B.shape[1])], axis=1)
    assert np.allclose(nnls(A, B), expected, atol=1e-10)
    assert np.allclose(nnls(A, B[:, 0]), expected[:, 0], atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rank=st.integers(1, 12), rows=st.integers(1, 20))
def test_nnls_gram_satisfies_kkt(seed, rank, rows):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((rank + 5, rank))
    G = torch.from_numpy(C.T @ C)
    P = torch.from_numpy(rng.standard_normal((rows, rank)) * 3)
    x = nnls_gram(G, P)
    grad = x @ G - P
    scale = float(P.abs().max()) + 1.0
    assert bool((x >= 0).all())
    assert bool((grad >= -1e-9 * scale).all())          # no descent direction into x >= 0
    assert float((x * grad).abs().max()) <= 1e-9 * scale**2  # complementary slackness


def test_nnls_gram_batched_and_warm_start():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((25, 6))
    b = rng.standard_normal(25)
    weights = rng.random((3, 25)) > 0.3  # three different row subsets of the same problem
    G = torch.stack([torch.from_numpy(A[w].T @ A[w]) for w in weights])
    P = torch.stack([torch.from_numpy(A[w].T @ b[w]) for w in weights])
    out = nnls_gram(G, P, init=torch.ones(3, 6, dtype=torch.float64)).numpy()
    for i, w in enumerate(weights):
        assert np.allclose(out[i], scipy_nnls(A[w], b[w])[0], atol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_loss_never_increases_and_nonnegative(solver):
    X = _data()
    fit = nmf(X, 4, solver=solver, max_iter=60, tol=1e-14, random_state=0)
    assert len(fit.loss_history) == fit.n_iter > 1
    assert np.all(np.diff(fit.loss_history) <= 1e-12), solver
    assert (fit.U >= 0).all() and (fit.V >= 0).all()
    assert fit.loss_history[-1] >= _svd_bound(X, 4) - 1e-12
    err = np.linalg.norm(X - fit.U @ fit.V.T) / np.linalg.norm(X)
    assert err == pytest.approx(fit.loss_history[-1], rel=1e-8)  # the cheap loss is exact
    assert np.allclose(np.linalg.norm(fit.V, axis=0), 1.0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver, sk_solver", [("hals", "cd"), ("mu", "mu"), ("anls", "cd")])
def test_same_ballpark_as_sklearn_from_the_same_start(solver, sk_solver):
    rng = np.random.default_rng(2)
    X = _data(120, 70, rank=5, noise=0.2, seed=3)
    U0, V0 = rng.random((120, 5)), rng.random((70, 5))
    ours = nmf(X, 5, solver=solver, init=(U0, V0), max_iter=200, tol=1e-8)
    sk = SkNMF(5, init="custom", solver=sk_solver, max_iter=200, tol=1e-8)
    W = sk.fit_transform(X, W=U0.copy(), H=V0.T.copy())
    sk_err = np.linalg.norm(X - W @ sk.components_) / np.linalg.norm(X)
    assert _svd_bound(X, 5) <= ours.loss_history[-1] <= 1.02 * sk_err
    if solver == "mu":  # the same update, repeated on each (G, P) (accelerated MU): lower
        assert ours.loss_history[-1] <= sk_err * (1 + 1e-9)



def test_exact_low_rank_recovered_by_every_solver():
    X = _data(noise=0.0)
    for solver in ("hals", "anls"):
        fit = nmf(X, 4, solver=solver, max_iter=500, tol=1e-12, random_state=0)
        assert fit.loss_history[-1] < 1e-2


def test_assemblies_recovered():
    X, U, V = cell_assemblies(n_neurons=50, n_timepoints=300, n_assemblies=3, noise=0.05,
                              random_state=0)
    model = NMF(3, random_state=0).fit(X)
    cos = (model.U_ / np.linalg.norm(model.U_, axis=0)).T @ (U / np.linalg.norm(U, axis=0))
    assert np.sort(cos.max(axis=1)).min() > 0.9  # each found part is one of the true assemblies


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda"])
def test_inits_and_seed_determinism(init):
    X = _data(seed=4)
    X_copy = X.copy()
    a = nmf(X, 3, init=init, max_iter=30, random_state=7)
    b = nmf(X, 3, init=init, max_iter=30, random_state=7)
    assert np.array_equal(a.U, b.U) and np.array_equal(a.V, b.V)
    assert np.array_equal(X, X_copy)
    assert a.loss_history[-1] < 0.2


def test_custom_init_not_modified():
    X = _data(seed=5)
    U0, V0 = np.ones((80, 3)), np.ones((50, 3))
    nmf(X, 3, init=(U0, V0), max_iter=5)
    assert (U0 == 1).all() and (V0 == 1).all()
    with pytest.raises(ValueError, match="init=\\(U0, V0\\) must have shapes"):
        nmf(X, 3, init=(U0[:, :2], V0))


def test_transform_is_nonnegative_least_squares():
    X = _data(seed=6)
    model = NMF(4, random_state=0).fit(X)
    U_new = model.transform(X[:7])
    expected = np.stack([scipy_nnls(model.V_, x)[0] for x in X[:7]])
    assert np.allclose(U_new, expected, atol=1e-8)
    V_before = model.V_.copy()
    model.transform(X)
    assert np.array_equal(V_before, model.V_)


def test_torch_in_torch_out_and_save_load(tmp_path):
    X = _data(seed=7)
    model = NMF(3, solver="anls", random_state=0, max_iter=20).fit(torch.from_numpy(X))
    assert isinstance(model.U_, torch.Tensor)
    model.save(tmp_path / "nmf.npz")
    loaded = NMF.load(tmp_path / "nmf.npz")
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.V_, model.V_.numpy())
    assert np.array_equal(loaded.loss_history_, model.loss_history_)
    with pytest.raises(ValueError, match="holds a NMF"):
        from factorlab.matrix import PCA

        PCA.load(tmp_path / "nmf.npz")


@pytest.mark.parametrize("bad, kwargs, match", [
    (-np.ones((5, 4)), {}, "X must be nonnegative"),
    (np.full((5, 4), np.nan), {}, "X contains NaN"),
    (np.ones((5, 4, 2)), {}, "X must be a 2-D"),
    (np.ones((5, 0)), {}, "X is empty"),
    (np.ones((5, 4)), {"rank": 0}, "rank must be between 1"),
    (np.ones((5, 4)), {"rank": 5}, "rank must be between 1"),
    (np.ones((5, 4)), {"solver": "cd"}, "solver must be one of"),
    (np.ones((5, 4)), {"init": "svd"}, "init must be one of"),
    (np.ones((5, 4)), {"mask": np.ones((5, 5), bool)}, "mask must have the same shape"),
    (np.ones((5, 4)), {"tol": -1.0}, "tol must be >= 0"),
])
def test_bad_inputs(bad, kwargs, match):
    kwargs = {"rank": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        nmf(bad, **kwargs)


def test_synthetic_neural_data_generators():
    from factorlab.data import binary_lowrank, celltype_counts

    X, U, V = cell_assemblies(n_neurons=30, n_timepoints=100, n_assemblies=3, noise=0.0,
                              baseline=0.0, random_state=1)
    assert np.allclose(X, U @ V.T) and (U >= 0).all() and (V >= 0).all()
    assert np.array_equal(X, cell_assemblies(n_neurons=30, n_timepoints=100, n_assemblies=3,
                                              noise=0.0, baseline=0.0, random_state=1)[0])
    poisson, labels, Uc, Vc = celltype_counts(n_cells=400, random_state=0)
    negbin = celltype_counts(n_cells=400, dispersion=0.5, random_state=0)[0]
    mean = Uc @ Vc.T
    assert np.bincount(labels).size == 4 and (Uc > 0).sum(1).tolist() == [1] * 400
    # over-dispersion: negative-binomial residuals are larger than Poisson ones
    assert np.mean((negbin - mean) ** 2) > 2 * np.mean((poisson - mean) ** 2)
    Xb, Ub, Vb = binary_lowrank(200, 150, rank=2, scale=3.0, random_state=0)
    logits = Ub @ Vb.T
    assert Xb[logits > 3].mean() > 0.9 and Xb[logits < -3].mean() < 0.1
    with pytest.raises(ValueError, match="marker genes"):
        celltype_counts(n_genes=10, n_types=4, markers_per_type=5)
    with pytest.raises(ValueError, match="event_rate must be strictly between 0 and 1"):
        cell_assemblies(event_rate=1.5)


def test_hals_regrows_a_dead_component():
    X = _data(seed=8)
    rng = np.random.default_rng(0)
    U0, V0 = rng.random((80, 4)), rng.random((50, 4))
    U0[:, 3] = 0.0
    V0[:, 3] = 0.0  # a zero component is a fixed point of plain HALS
    fit = nmf(X, 4, init=(U0, V0), max_iter=200, tol=1e-10)
    assert np.linalg.norm(fit.U, axis=0).min() > 1e-3
    assert np.all(np.diff(fit.loss_history) <= 1e-12)
    assert fit.loss_history[-1] < nmf(X, 3, max_iter=200, tol=1e-10, random_state=0).loss_history[-1]


def _planted(m, n, rank, kind, seed):
    """Data made the way benchmarks/nmf_defaults.py makes them (not the package's simulators)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 1.0, (m, rank)) @ rng.gamma(0.5, 1.0, (rank, n))
    if kind == "poisson":
        return rng.poisson(rate / rate.mean() * 0.5).astype(float)
    return rate + 0.1 * rate.std() * np.abs(rng.standard_normal((m, n)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind, seed", [("planted", 0), ("planted", 1), ("poisson", 0)])
def test_defaults_reach_the_error_of_sklearn_defaults(kind, seed):
    # issue 13: the default fit ends at an error no worse than scikit-learn's default fit
    # (init nndsvda, cd, tol 1e-4, max_iter 200), in fewer iterations; "no worse" allows
    # 1e-4 relative, the size of the differences between equally good local optima here
    X = _planted(600, 240, 8, kind, seed)
    sk = SkNMF(8, solver="cd", random_state=0)
    W = sk.fit_transform(X)
    sk_err = np.linalg.norm(X - W @ sk.components_) / np.linalg.norm(X)
    model = NMF(rank=8, random_state=0).fit(X)
    ours = np.linalg.norm(X - model.U_ @ model.V_.T) / np.linalg.norm(X)
    assert ours <= sk_err * (1 + 1e-4)
    assert model.converged_ and model.n_iter_ < 200
    old = NMF(rank=8, init="random", tol=1e-6, random_state=0).fit(X)
    assert model.n_iter_ < old.n_iter_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["planted", "poisson"])
def test_mu_at_least_as_accurate_as_sklearn_mu_at_the_same_budget(kind):
    X = _planted(300, 120, 8, kind, 2)
    sk = SkNMF(8, solver="mu", max_iter=200, random_state=0)   # starts from nndsvda
    W = sk.fit_transform(X)
    sk_err = np.linalg.norm(X - W @ sk.components_) / np.linalg.norm(X)
    model = NMF(rank=8, solver="mu", init="nndsvda", max_iter=200, random_state=0).fit(X)
    assert model.loss_history_[-1] <= sk_err * (1 + 1e-9)
    assert np.all(np.diff(model.loss_history_) <= 1e-12)  # accelerated MU still descends


def test_numpy_hals_sweep_equals_torch_sweep():
    from factorlab._linalg import hals_update, hals_update_numpy

    rng = np.random.default_rng(9)
    A, B = torch.from_numpy(rng.random((40, 5))), torch.from_numpy(rng.random((30, 5)))
    X = torch.from_numpy(rng.random((40, 30)))
    G, P = B.T @ B, X @ B
    for sweeps, inner_tol in [(1, 0.0), (4, 0.0), (6, 0.01)]:
        assert torch.allclose(hals_update_numpy(A, G, P, sweeps, inner_tol),
                              hals_update(A, G, P, sweeps, inner_tol), atol=1e-12)
