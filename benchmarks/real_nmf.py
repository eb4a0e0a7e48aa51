"""NMF and PCA on real data: factorlab against scikit-learn on the same matrices.

Data (bundled with factorlab, no download): the blood-cell expression matrix
(``fl.datasets.load_pbmc()``, 700 cells x 765 genes, log-normalised, rank 7 as in chapter 2)
and the songbird HVC activity (``fl.datasets.load_songbird()``, 666 frames x 75 neurons,
rank 10), both in float64.

NMF, three comparisons per data set, each timed as the median of alternating runs
(peer, factorlab, peer, factorlab, ...):

* ``cd vs hals``: scikit-learn's coordinate descent (its default solver, tol=1e-4,
  max_iter=200) and factorlab's HALS from one shared random start. scikit-learn's final
  relative error is the target; factorlab's time is the time to reach an error at or below
  it (the number of iterations is found in an untimed run, then that many are timed).
* ``defaults``: each library from its own defaults (scikit-learn: ``init="nndsvda"``, cd;
  factorlab: random start, HALS, tol=1e-6, max_iter=500): the full default fits with the
  error each ends at, and factorlab's time to reach scikit-learn's default error.
* ``mu vs mu``: multiplicative updates in both, from the shared random start, time to
  scikit-learn's error.

PCA: ``factorlab.PCA`` (ALS, defaults) against scikit-learn's exact solver (``"full"``) and
its default (``"auto"``, which picks the randomized SVD for these shapes), with the largest
principal angle to the exact subspace.

Ratios are factorlab time / scikit-learn time: < 1 means factorlab is faster.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/real_nmf.py            # median of 7 alternating runs
    OMP_NUM_THREADS=1 python benchmarks/real_nmf.py --quick    # median of 5 (under a minute)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from scipy.linalg import subspace_angles  # noqa: E402
from sklearn.decomposition import NMF as SkNMF, PCA as SkPCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import factorlab as fl  # noqa: E402
from factorlab.matrix import nmf  # noqa: E402


def alternating_medians(fn_peer, fn_ours, repeats):
    """Median seconds of each function, run alternately; returns (t_peer, t_ours, outs)."""
    t_peer, t_ours = [], []
    out_peer = out_ours = None
    for _ in range(repeats):
        start = time.perf_counter()
        out_peer = fn_peer()
        t_peer.append(time.perf_counter() - start)
        start = time.perf_counter()
        out_ours = fn_ours()
        t_ours.append(time.perf_counter() - start)
    return float(np.median(t_peer)), float(np.median(t_ours)), out_peer, out_ours


def rel_err(X, W, H):
    return float(np.linalg.norm(X - W @ H) / np.linalg.norm(X))


def run_sklearn(X, rank, start=None, **kwargs):
    """Fit scikit-learn's NMF; ``start`` = (U0, V0) for init='custom'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if start is None:
            model = SkNMF(rank, **kwargs)
            W = model.fit_transform(X)
        else:
            model = SkNMF(rank, init="custom", **kwargs)
            W = model.fit_transform(X, W=start[0].copy(), H=start[1].T.copy())
    return model, W


def iterations_to(X, rank, target, **kwargs):
    """Iterations factorlab needs to reach ``target`` (untimed probe), or None."""
    probe = nmf(X, rank, max_iter=3000, tol=0, **kwargs)
    reached = np.nonzero(probe.loss_history <= target)[0]
    return None if len(reached) == 0 else int(reached[0]) + 1


def row(label, peer_err, t_peer, peer_iters, our_label, k, t_ours, our_err):
    ratio = t_ours / t_peer
    print(f"{label:<16}{peer_err:>9.5f}{t_peer:>8.3f}{peer_iters:>6} | {our_label:<12}"
          f"{k:>6}{t_ours:>8.3f}{our_err:>9.5f}{ratio:>7.2f}")
    return ratio


def bench_nmf(name, X, rank, repeats):
    rng = np.random.default_rng(0)
    scale = np.sqrt(X.mean() / rank)
    start = (scale * rng.random((X.shape[0], rank)), scale * rng.random((X.shape[1], rank)))
    print(f"\nNMF on {name}: {X.shape[0]} x {X.shape[1]}, rank {rank}")
    print(f"{'scikit-learn':<16}{'error':>9}{'s':>8}{'iters':>6} | {'factorlab':<12}"
          f"{'iters':>6}{'s':>8}{'error':>9}{'ratio':>7}")
    ratios = {}

    # 1. cd vs hals, shared random start
    for sk_solver, ours in [("cd", "hals"), ("mu", "mu")]:
        model, W = run_sklearn(X, rank, start, solver=sk_solver)
        target = rel_err(X, W, model.components_)
        k = iterations_to(X, rank, target, solver=ours, init=start)
        if k is None:
            print(f"{sk_solver + ' (same start)':<16}{target:>9.5f}  factorlab {ours} did "
                  f"not reach it in 3000 iterations")
            continue
        t_peer, t_ours, (model, W), fit = alternating_medians(
            lambda: run_sklearn(X, rank, start, solver=sk_solver),
            lambda: nmf(X, rank, solver=ours, init=start, max_iter=k, tol=0), repeats)
        assert fit.loss_history[-1] <= target + 1e-12
        ratios[f"{sk_solver} vs {ours}"] = row(
            f"{sk_solver} (same start)", target, t_peer, model.n_iter_, ours, k, t_ours,
            fit.loss_history[-1])

    # 2. each from its own defaults
    t_peer, t_ours, (model, W), fit = alternating_medians(
        lambda: run_sklearn(X, rank, random_state=0),
        lambda: nmf(X, rank, random_state=0), repeats)
    target = rel_err(X, W, model.components_)
    ratios["defaults, full fits"] = row(
        "defaults", target, t_peer, model.n_iter_, "defaults", fit.n_iter, t_ours,
        fit.loss_history[-1])
    k = iterations_to(X, rank, target, random_state=0)
    if k is None:
        print(f"{'defaults':<16}{target:>9.5f}  factorlab's default start did not reach it")
    else:
        _, t_ours, _, fit = alternating_medians(
            lambda: run_sklearn(X, rank, random_state=0),
            lambda: nmf(X, rank, random_state=0, max_iter=k, tol=0), repeats)
        assert fit.loss_history[-1] <= target + 1e-12
        ratios["defaults, to sklearn's error"] = row(
            "defaults", target, t_peer, model.n_iter_, "to its error", k, t_ours,
            fit.loss_history[-1])
    return ratios


def bench_pca(name, X, rank, repeats):
    t_exact, t_ours, exact, ours = alternating_medians(
        lambda: SkPCA(rank, svd_solver="full").fit(X),
        lambda: fl.PCA(rank=rank, random_state=0).fit(X), repeats)
    t_default, _, default, _ = alternating_medians(
        lambda: SkPCA(rank, random_state=0).fit(X),
        lambda: fl.PCA(rank=rank, random_state=0).fit(X), repeats)
    truth = exact.components_.T
    print(f"\nPCA on {name}: {X.shape[0]} x {X.shape[1]}, rank {rank} (centred)")
    print(f"{'method':<34}{'seconds':>9}{'fl / this':>12}{'max angle':>11}")
    for label, t, V in [
            ("sklearn PCA svd_solver='full'", t_exact, truth),
            ("sklearn PCA defaults (randomized)", t_default, default.components_.T),
            (f"factorlab PCA defaults ({ours.n_iter_} sweeps)", t_ours, ours.V_)]:
        angle = subspace_angles(V, truth).max()
        print(f"{label:<34}{t:>9.4f}{t_ours / t:>12.2f}{angle:>11.1e}")
    return {"pca vs full": t_ours / t_exact, "pca vs default": t_ours / t_default}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return names[0] if names else platform.processor()
    except OSError:
        return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="median of 5 instead of 7")
    args = parser.parse_args()
    repeats = 5 if args.quick else 7
    print(f"date: {datetime.date.today()}; command: OMP_NUM_THREADS="
          f"{os.environ['OMP_NUM_THREADS']} python benchmarks/real_nmf.py"
          f"{' --quick' if args.quick else ''}")
    print(f"machine: {platform.machine()} {cpu_model()}, {os.cpu_count()} "
          f"cores (shared with other jobs: timings are noisy); torch threads "
          f"{torch.get_num_threads()}; factorlab {fl.__version__}, scikit-learn "
          f"{sklearn.__version__}; median of {repeats} alternating runs, float64")
    pbmc = fl.datasets.load_pbmc().data.astype(np.float64)
    hvc = fl.datasets.load_songbird().data.T.astype(np.float64)
    summary = {}
    for name, X, rank in [("PBMC expression", pbmc, 7), ("HVC activity", hvc, 10)]:
        summary[name] = bench_nmf(name, X, rank, repeats)
    for name, X, rank in [("PBMC expression", pbmc, 7), ("HVC activity", hvc, 10)]:
        summary[name].update(bench_pca(name, X, rank, repeats))
    print("\nSummary: factorlab time / scikit-learn time (< 1: factorlab faster)")
    for name, ratios in summary.items():
        print(f"  {name}:")
        for k, v in ratios.items():
            print(f"    {k:<32}{v:>6.2f}")


if __name__ == "__main__":
    main()
