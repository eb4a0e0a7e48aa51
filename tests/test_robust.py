"""Reference robust PCA solvers (IALM, PCP, GoDec), calcium data, movie I/O and scores."""

import numpy as np
import pytest
import torch

import factorlab as fl
from factorlab.data import calcium_movie
from factorlab.io import NpyWriter, open_movie, save_movie
from factorlab.robust import godec, ialm, pcp


def planted(m=120, n=90, rank=3, frac=0.05, noise=0.0, seed=0):
    """Low rank + sparse spikes of size 5: the textbook recovery problem."""
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    S = np.where(rng.random((m, n)) < frac, rng.choice([-5.0, 5.0], (m, n)), 0.0)
    return L, S, L + S + noise * rng.standard_normal((m, n))


def rel(a, b):
    return np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b)


@pytest.mark.parametrize("solve", [
    lambda Y: ialm(Y),
    lambda Y: pcp(Y, rule="candes"),
    lambda Y: pcp(Y, rule="lrslibrary"),
], ids=["ialm", "pcp-candes", "pcp-lrslibrary"])
def test_convex_solvers_separate_planted_low_rank_plus_sparse(solve):
    L0, S0, Y = planted()
    res = solve(Y)
    assert res.converged
    assert rel(res.L, L0) < 1e-5 and rel(res.S, S0) < 1e-5
    L0, S0, Y = planted(m=60, n=50, rank=2, noise=1e-4)   # low noise: still below 1e-3
    res = solve(Y)
    assert rel(res.L, L0) < 1e-3 and rel(res.S, S0) < 1e-3


def test_godec_separates_planted_matrix():
    L0, S0, Y = planted()
    res = godec(Y, rank=3, tau=0.05, max_iter=300, random_state=0)
    assert rel(res.L, L0) < 2e-2
    # the support of S is found exactly
    assert np.array_equal(np.abs(res.S) > 1, S0 != 0)


def test_ialm_agrees_with_pyrpca():
    pyrpca = pytest.importorskip("pyrpca")
    lam = 1 / np.sqrt(60)
    L0, S0, Y = planted(m=60, n=50, rank=2, seed=1)
    L_ref, S_ref = pyrpca.rpca_pcp_ialm(Y, lam, verbose=False)
    res = ialm(Y, lam=lam)
    assert rel(res.L, L_ref) < 1e-6 and rel(res.S, S_ref) < 1e-6
    # with noise the two codes (which start from different duals) stop at nearby points of
    # the same convex problem
    Y = planted(m=60, n=50, rank=2, noise=0.01, seed=1)[2]
    L_ref, S_ref = pyrpca.rpca_pcp_ialm(Y, lam, verbose=False)
    res = ialm(Y, lam=lam)
    assert rel(res.L, L_ref) < 2e-3 and rel(res.S, S_ref) < 2e-2


def test_robust_pca_estimator_shapes_containers_and_input_untouched():
    mv = calcium_movie(n_frames=30, shape=(12, 12), n_cells=3, random_state=0)
    Y = mv.Y.astype(np.float64)
    before = Y.copy()
    model = fl.RobustPCA("ialm").fit(Y)
    assert model.L_.shape == Y.shape and isinstance(model.L_, np.ndarray)
    np.testing.assert_allclose(model.L_ + model.S_, Y, atol=1e-5)
    assert np.array_equal(Y, before)
    T = torch.from_numpy(Y.reshape(30, -1).copy())
    T_before = T.clone()
    out = fl.RobustPCA("godec", rank=2, random_state=0).fit(T)
    assert isinstance(out.L_, torch.Tensor) and out.L_.shape == T.shape
    assert torch.equal(T, T_before)


def test_float32_works_and_matches_float64():
    L0, S0, Y = planted(m=80, n=60, rank=2)
    r64 = ialm(Y)
    r32 = ialm(Y, dtype=torch.float32)
    assert r32.L.dtype == np.float32
    assert rel(r32.L, r64.L) < 1e-3


def test_default_lambda_is_orientation_free():
    assert fl.default_lambda((150, 10000)) == fl.default_lambda((10000, 150)) == 0.01


@pytest.mark.parametrize("call, match", [
    (lambda Y: fl.RobustPCA("svd").fit(Y), "method must be one of"),
    (lambda Y: fl.RobustPCA("godec").fit(Y), "needs rank"),
    (lambda Y: ialm(Y, lam=-1.0), "lam must be > 0"),
    (lambda Y: ialm(np.zeros((5, 4))), "all zeros"),
    (lambda Y: ialm(Y[0]), "2-D or 3-D"),
    (lambda Y: godec(Y, rank=100), "rank must be between"),
    (lambda Y: pcp(Y, rule="yuan"), "rule must be one of"),
])
def test_bad_inputs_have_clear_messages(call, match):
    Y = planted(m=20, n=10)[2]
    with pytest.raises(ValueError, match=match):
        call(Y)


def test_nan_is_rejected():
    Y = planted(m=20, n=10)[2]
    Y[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ialm(Y)


# ---------------------------------------------------------------- synthetic calcium movies
def test_calcium_movie_ground_truth_is_consistent_and_seeded():
    mv = calcium_movie(n_frames=50, shape=(20, 24), n_cells=5, random_state=3)
    assert mv.Y.shape == mv.L.shape == mv.S.shape == (50, 20, 24)
    assert mv.Y.dtype == np.float32 and mv.Y.max() == pytest.approx(1.0)
    S = mv.traces @ mv.footprints.reshape(5, -1)
    np.testing.assert_allclose(S.reshape(mv.S.shape), mv.S, atol=1e-6)
    assert (mv.Y - mv.L - mv.S).std() == pytest.approx(mv.noise, rel=0.1)
    assert mv.S.min() >= 0 and mv.masks.shape == mv.footprints.shape
    s = np.linalg.svd(mv.L.reshape(50, -1), compute_uv=False)
    assert s[2] < 1e-5 * s[0]                      # background of rank 2
    assert np.array_equal(calcium_movie(n_frames=50, shape=(20, 24), n_cells=5, random_state=3).Y, mv.Y)


# ---------------------------------------------------------------- movie files
def test_open_movie_npy_is_memory_mapped_and_reads_float32(tmp_path):
    Y = np.arange(5 * 3 * 4, dtype=np.float64).reshape(5, 3, 4)
    np.save(tmp_path / "m.npy", Y)
    src = open_movie(tmp_path / "m.npy")
    assert isinstance(src._data, np.memmap) and src.shape == (5, 3, 4)
    block = src.read([1, 3])
    assert block.dtype == np.float32 and block.flags.writeable
    np.testing.assert_array_equal(block, Y[[1, 3]].reshape(2, -1))


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_tiff_round_trip_memmapped_or_page_wise(tmp_path, compression):
    tifffile = pytest.importorskip("tifffile")
    Y = np.random.default_rng(0).random((6, 5, 7)).astype(np.float32)
    path = tmp_path / "m.tif"
    if compression:
        tifffile.imwrite(path, Y, compression=compression)
    else:
        save_movie(path, Y)
    src = open_movie(path)
    assert src.shape == Y.shape
    np.testing.assert_array_equal(src.read(slice(1, 4)), Y[1:4].reshape(3, -1))
    np.testing.assert_array_equal(src.read([0, 5]), Y[[0, 5]].reshape(2, -1))


def test_open_movie_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        open_movie(tmp_path / "missing.npy")
    np.save(tmp_path / "vec.npy", np.zeros(10))
    with pytest.raises(ValueError, match="is not a movie"):
        open_movie(tmp_path / "vec.npy")
    np.save(tmp_path / "one.npy", np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="at least 2 frames"):
        open_movie(tmp_path / "one.npy")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="Unsupported movie file type"):
        open_movie(tmp_path / "notes.txt")
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(ValueError, match="not a readable TIFF"):
        open_movie(tmp_path / "bad.tif")
    Y = np.ones((4, 3, 3))
    Y[2, 1, 1] = np.inf
    np.save(tmp_path / "inf.npy", Y)
    with pytest.raises(ValueError, match="frame 2"):
        open_movie(tmp_path / "inf.npy").check_finite()


def test_npy_writer_writes_in_chunks(tmp_path):
    with NpyWriter(tmp_path / "x.npy", (5, 2, 2)) as w:
        w.write(0, np.ones((3, 4)))
        w.write(3, 2 * np.ones((2, 2, 2)))
    out = np.load(tmp_path / "x.npy")
    assert out.shape == (5, 2, 2) and out.dtype == np.float32
    assert out[:3].sum() == 12 and out[3:].sum() == 16


# ---------------------------------------------------------------- scores
def test_footprint_matching_and_trace_correlation():
    mv = calcium_movie(n_frames=200, shape=(24, 24), n_cells=6, random_state=0)
    perm = [3, 0, 5, 1, 4, 2]
    score = fl.match_footprints(mv.footprints[perm], mv.footprints)
    assert score["f1"] == 1.0 and score["mean_iou"] == 1.0
    assert sorted(score["pairs"]) == sorted((i, p) for i, p in enumerate(perm))
    corr = fl.trace_correlation(3 * mv.traces[:, perm] + 1, mv.traces, score["pairs"])
    np.testing.assert_allclose(corr, 1.0)
    half = fl.match_footprints(mv.footprints[:3], mv.footprints)
    assert half["precision"] == 1.0 and half["recall"] == 0.5
    shifted = np.roll(mv.footprints, 12, axis=2)
    assert fl.match_footprints(shifted, mv.footprints)["f1"] < 0.5


def test_decomposition_errors():
    err = fl.decomposition_errors(np.ones(4), np.zeros(4), 2 * np.ones(4), np.ones(4))
    assert err == {"L": 0.5, "S": 1.0}


# ---------------------------------------------------------------- exercise checks
def test_exercise_checks_accept_right_and_reject_wrong_answers(capsys):
    from factorlab.checks import ExerciseCheckError, check_rpca_split, check_shrink, check_svt
    from factorlab.prox import soft_threshold, svt

    check_shrink(soft_threshold)
    with pytest.raises(ExerciseCheckError, match="clipping"):
        check_shrink(lambda X, t: np.clip(X, -t, t))
    with pytest.raises(ExerciseCheckError, match="exactly 0"):
        check_shrink(lambda X, t: X - t * np.sign(X))
    check_svt(svt)
    with pytest.raises(ExerciseCheckError, match="keep"):
        check_svt(lambda X, t: X)
    def hard(X, t):
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        return (U * np.where(s > t, s, 0)) @ Vt
    with pytest.raises(ExerciseCheckError, match="reduced by tau"):
        check_svt(hard)
    with pytest.raises(ExerciseCheckError, match="placeholder"):
        check_svt(lambda X, t: ...)
    L0, S0, Y = planted(m=40, n=30, rank=2)
    res = ialm(Y)
    check_rpca_split(res.L, res.S, Y, L0)
    with pytest.raises(ExerciseCheckError, match="L \\+ S differs"):
        check_rpca_split(res.L, 0 * res.S, Y, L0)
    with pytest.raises(ExerciseCheckError, match="away from the reference"):
        check_rpca_split(Y, 0 * Y, Y, L0)
    assert "✓" in capsys.readouterr().out


def test_robust_pca_transform_gives_coordinates_on_the_background_axes():
    L0, S0, Y = planted(m=60, n=50, rank=2)
    model = fl.RobustPCA("ialm").fit(Y)
    V = model.components_
    assert model.rank_ == 2 and V.shape == (2, 50)
    np.testing.assert_allclose(V @ V.T, np.eye(2), atol=1e-10)
    # new frames of the background lie in the span: coordinates map back exactly
    rng = np.random.default_rng(5)
    new = rng.standard_normal((7, 60)) @ model.L_          # combinations of training frames
    codes = model.transform(new)
    assert codes.shape == (7, 2)
    np.testing.assert_allclose(model.inverse_transform(codes), new, atol=1e-8)
    # fit_transform is fit(Y).transform(Y), the coordinates of Y (not of L_)
    np.testing.assert_allclose(fl.RobustPCA("ialm").fit_transform(Y), model.transform(Y))
    assert fl.RobustPCA("ialm").fit(Y.astype(np.float32)).transform(Y.astype(np.float32)).dtype \
        == np.float32
    with pytest.raises(ValueError, match="X has 3 features, but RobustPCA is expecting 50"):
        model.transform(np.ones((2, 3)))


def test_robust_pca_tol_zero_runs_every_iteration():
    Y = planted(m=30, n=20)[2]
    model = fl.RobustPCA("ialm", tol=0, max_iter=7).fit(Y)
    assert model.n_iter_ == 7 and not model.converged_
    assert fl.RobustPCA("godec", rank=3, tol=0, max_iter=4, random_state=0).fit(Y).n_iter_ == 4


def test_a_tensor_in_an_autograd_graph_is_used_detached():
    Y = torch.from_numpy(planted(m=30, n=20)[2]).requires_grad_(True)
    model = fl.RobustPCA("ialm", max_iter=30).fit(Y)
    assert not model.L_.requires_grad and not model.components_.requires_grad
    assert not model.transform(Y).requires_grad and not ialm(Y, max_iter=5).S.requires_grad
    assert Y.grad is None
