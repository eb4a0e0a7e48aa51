"""CP-ALS against tensorly's parafac, and the cost of ensembles and cross-validation.

1. CP-ALS (``factorlab.tensor.cp_als``) vs ``tensorly.decomposition.parafac`` on the same
   tensor (200 x 100 x 50, rank 10, noisy) from the same random start: time per iteration over a
   fixed number of sweeps, and time to reach tensorly's converged error (both stop when the
   relative error changes by less than ``tol`` in one sweep). Median of 5 runs.
2. Ensemble and speckled cross-validation of a 500 x 300 matrix, ranks 1-10 x 10 replicates,
   with 2-way nonnegative CP (HALS; 10 replicates, in 1 and 2 threads), PCA and NMF (2
   replicates each, reported per fit); wall-clock seconds for each.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/cp_assess.py            # full run (several minutes)
    OMP_NUM_THREADS=1 python benchmarks/cp_assess.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import tensorly as tl
import torch
from tensorly.cp_tensor import CPTensor
from tensorly.decomposition import parafac

import factorlab as fl
from factorlab.data import lowrank_matrix
from factorlab.tensor import cp_als


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cp_benchmark(shape, rank, repeats, iters, tol):
    rng = np.random.default_rng(0)
    truth = [rng.random((n, rank)) for n in shape]
    X = np.einsum("ir,jr,kr->ijk", *truth)
    X = X + 0.1 * X.std() * rng.standard_normal(shape)
    print(f"\n== CP-ALS vs tensorly.parafac: tensor {shape}, rank {rank}, median of {repeats} ==")
    per_iter = {"factorlab": [], "tensorly": []}
    to_error = {"factorlab": [], "tensorly": []}
    for rep in range(repeats):
        init = [np.random.default_rng(rep).standard_normal((n, rank)) for n in shape]

        def ours(max_iter, tol_):
            return cp_als(X, rank, init=[f.copy() for f in init], max_iter=max_iter, tol=tol_)

        def theirs(max_iter, tol_):
            start = CPTensor((np.ones(rank), [f.copy() for f in init]))
            return parafac(X, rank, init=start, n_iter_max=max_iter, tol=tol_, return_errors=True)

        t_ours, _ = timed(lambda: ours(iters, 1e-300))
        t_tl, _ = timed(lambda: theirs(iters, 0))
        per_iter["factorlab"].append(t_ours / iters)
        per_iter["tensorly"].append(t_tl / iters)
        t_tl, (_, errors) = timed(lambda: theirs(5000, tol))
        t_ours, res = timed(lambda: ours(5000, tol))
        to_error["tensorly"].append((t_tl, len(errors), errors[-1]))
        to_error["factorlab"].append((t_ours, res.n_iter, res.loss_history[-1]))
    for name in ("factorlab", "tensorly"):
        med = statistics.median(per_iter[name]) * 1e3
        t, n, err = (statistics.median(v) for v in zip(*to_error[name]))
        print(f"{name:10s} {med:7.2f} ms/iteration | to convergence (tol {tol:g}): {t:6.2f} s, "
              f"{n:5.0f} iterations, final relative error {err:.6f}")
    ratio_iter = statistics.median(per_iter["tensorly"]) / statistics.median(per_iter["factorlab"])
    ratio_conv = (statistics.median(v[0] for v in to_error["tensorly"])
                  / statistics.median(v[0] for v in to_error["factorlab"]))
    print(f"speed-up of factorlab over tensorly: {ratio_iter:.2f}x per iteration, "
          f"{ratio_conv:.2f}x to convergence (>1 = factorlab faster)")


def assess_benchmark(shape, ranks, replicates, slow_replicates):
    X, _, _ = lowrank_matrix(*shape, rank=5, noise=0.5, nonnegative=True, random_state=0)
    print(f"\n== Ensemble and cross-validation: matrix {shape}, true rank 5, ranks "
          f"{ranks[0]}-{ranks[-1]} ==")
    # the matrix estimators are slower per masked fit, so they get fewer replicates here; the
    # seconds per fit let a reader scale to 10 replicates
    models = [("CP 2-way nonneg (HALS)", fl.CP(rank=1, nonneg=True), replicates, 1),
              ("  same, n_jobs=2", fl.CP(rank=1, nonneg=True), replicates, 2),
              ("PCA(center=False)", fl.PCA(rank=1, center=False), slow_replicates, 1),
              ("NMF (defaults)", fl.NMF(rank=1), slow_replicates, 1)]
    for name, est, reps, n_jobs in models:
        t_ens, ens = timed(lambda: fl.Ensemble(est, ranks, reps, random_state=0, progress=False,
                                               n_jobs=n_jobs).fit(X))
        t_cv, cv = timed(lambda: fl.cross_validate(est, X, ranks, holdout=0.1, replicates=reps,
                                                   random_state=0, progress=False,
                                                   n_jobs=n_jobs))
        fits = len(ranks) * reps
        print(f"{name:24s} {reps:2d} replicates: ensemble {t_ens:6.1f} s "
              f"({t_ens / fits:.2f} s/fit),"
              f" cross-validation {t_cv:6.1f} s ({t_cv / fits:.2f} s/fit); CV best rank "
              f"{cv.best_rank}; min similarity at rank 5: {ens.similarities_[5].min():.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    args = parser.parse_args()
    tl.set_backend("numpy")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, torch "
          f"{torch.__version__}, tensorly {tl.__version__}, threads {torch.get_num_threads()}; "
          "2-core CPU shared with other jobs, so timings are noisy")
    if args.quick:
        cp_benchmark((100, 50, 25), 5, repeats=3, iters=20, tol=1e-6)
        assess_benchmark((200, 100), list(range(1, 7)), replicates=3, slow_replicates=1)
    else:
        cp_benchmark((200, 100, 50), 10, repeats=5, iters=50, tol=1e-6)
        assess_benchmark((500, 300), list(range(1, 11)), replicates=10, slow_replicates=2)


if __name__ == "__main__":
    main()
