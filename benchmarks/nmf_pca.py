"""NMF and PCA speed: factorlab against scikit-learn and NumPy on the same data and start.

NMF: a 2000 x 1000 nonnegative matrix of planted rank 20 plus noise, rank-20 fits from one
shared random start. Each scikit-learn solver runs with its defaults (tol=1e-4, max_iter=200);
its final relative error is the target, and factorlab's time is the time to reach that same
error (the number of iterations is found in an untimed run, then that many iterations are
timed). Ratios < 1 mean factorlab is faster. PCA: factorlab's ALS (to ~1e-9 subspace change)
against numpy.linalg.svd and scikit-learn's randomized PCA, with the largest principal angle
to the exact answer.

Usage::

    python benchmarks/nmf_pca.py            # full size, median of 5 runs
    python benchmarks/nmf_pca.py --quick    # 1000 x 500, median of 3 runs (about a minute)
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.linalg import subspace_angles  # noqa: E402
from sklearn.decomposition import NMF as SkNMF, PCA as SkPCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from factorlab.matrix import nmf, pca_als  # noqa: E402


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def rel_err(X, U, Vt):
    return float(np.linalg.norm(X - U @ Vt) / np.linalg.norm(X))


def bench_nmf(m, n, rank, repeats):
    rng = np.random.default_rng(0)
    X = rng.random((m, rank)) @ rng.random((rank, n)) + 0.5 * rng.random((m, n))
    scale = np.sqrt(X.mean() / rank)
    U0, V0 = scale * rng.random((m, rank)), scale * rng.random((n, rank))
    print(f"NMF: X {m} x {n}, rank {rank}, same random start for every method")
    print(f"{'peer':<18}{'peer err':>10}{'peer s':>9}{'iters':>7} | {'factorlab':<10}"
          f"{'iters':>6}{'s':>8}{'ratio':>8}")
    ratios = {}
    for peer, ours in [("cd", "hals"), ("mu", "hals"), ("mu", "mu"), ("cd", "anls")]:
        def run_peer():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = SkNMF(rank, init="custom", solver=peer, tol=1e-4, max_iter=200)
                W = model.fit_transform(X, W=U0.copy(), H=V0.T.copy())
            return model, W

        t_peer, (model, W) = median_time(run_peer, repeats)
        target = rel_err(X, W, model.components_)
        probe = nmf(X, rank, solver=ours, init=(U0, V0), max_iter=400, tol=1e-12)
        reached = np.nonzero(probe.loss_history <= target)[0]
        if len(reached) == 0:
            print(f"sklearn {peer:<10}{target:>10.5f}{t_peer:>9.2f}{model.n_iter_:>7} | "
                  f"{ours:<10} did not reach the target in 400 iterations")
            continue
        k = int(reached[0]) + 1
        t_ours, fit = median_time(
            lambda: nmf(X, rank, solver=ours, init=(U0, V0), max_iter=k, tol=1e-12), repeats)
        assert fit.loss_history[-1] <= target
        ratios[(peer, ours)] = t_ours / t_peer
        print(f"sklearn {peer:<10}{target:>10.5f}{t_peer:>9.2f}{model.n_iter_:>7} | {ours:<10}"
              f"{k:>6}{t_ours:>8.2f}{t_ours / t_peer:>8.2f}")
    return ratios


def bench_pca(m, n, rank, repeats):
    rng = np.random.default_rng(1)
    signal = (rng.standard_normal((m, rank)) * np.linspace(10, 3, rank)) @ \
        np.linalg.qr(rng.standard_normal((n, rank)))[0].T
    X = signal + rng.standard_normal((m, n)) * 0.1 + rng.standard_normal(n)
    Xc = X - X.mean(0)
    t_svd, (_, s, vt) = median_time(lambda: np.linalg.svd(Xc, full_matrices=False), repeats)
    exact = vt[:rank].T
    t_als, fit = median_time(lambda: pca_als(X, rank, random_state=0), repeats)
    t_rnd, sk = median_time(
        lambda: SkPCA(rank, svd_solver="randomized", random_state=0).fit(X), repeats)
    print(f"\nPCA: X {m} x {n}, rank {rank} (centred)")
    print(f"{'method':<32}{'seconds':>9}{'ratio vs ALS':>14}{'max angle':>12}")
    rows = [("numpy.linalg.svd (full, thin)", t_svd, 0.0),
            (f"factorlab pca_als ({fit.n_iter} sweeps)", t_als,
             subspace_angles(fit.V, exact).max()),
            ("sklearn PCA randomized", t_rnd, subspace_angles(sk.components_.T, exact).max())]
    for name, t, angle in rows:
        print(f"{name:<32}{t:>9.3f}{t / t_als:>14.2f}{angle:>12.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, 3 repeats")
    args = parser.parse_args()
    m, n, repeats = (1000, 500, 3) if args.quick else (2000, 1000, 5)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores "
          f"(shared with other jobs: timings are noisy); OMP_NUM_THREADS="
          f"{os.environ['OMP_NUM_THREADS']}, torch threads {torch.get_num_threads()}; "
          f"median of {repeats} runs, float64\n")
    ratios = bench_nmf(m, n, 20, repeats)
    target = ratios.get(("cd", "hals"))
    if target is not None:
        verdict = "met" if target <= 0.5 else "NOT met"
        print(f"\nTarget (factorlab HALS <= 0.5 x sklearn 'cd' time to the same error): {verdict}"
              f" (ratio {target:.2f})")
    bench_pca(m, n, 20, repeats)


if __name__ == "__main__":
    main()
