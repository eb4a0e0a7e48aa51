"""Wall-clock cost of rank selection: ``fl.Ensemble`` and ``fl.cross_validate`` on a matrix.

Issue 4's target: ensemble and cross-validation of a 500 x 300 matrix, ranks 1-10 x 10
replicates, in well under a minute on 2 cores. The data are ``lowrank_matrix(500, 300, rank=5,
noise=0.5, nonnegative=True, random_state=0)``; every model is used with its default settings
(``PCA(rank=1, center=False)``, ``NMF(rank=1)``, ``CP(rank=1, nonneg=True)`` as a 2-way
nonnegative CP), plus ``NMF(rank=1, tol=1e-4)``: a looser stopping rule that is enough to
rank the models (the test errors move by ~1e-4, while NMF above the true rank crawls to 1e-6).
Cross-validation holds out 10 % of the entries per replicate (speckled mask).
For each model and each ``n_jobs`` it prints the seconds of ``Ensemble(...).fit(X)`` and of
``cross_validate(...)``, the seconds per fit, the rank chosen by cross-validation and the lowest
similarity of the rank-5 restarts to the best one (1 = all restarts agree).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/assess_speed.py                # full run (minutes)
    OMP_NUM_THREADS=1 python benchmarks/assess_speed.py --quick        # about a minute
    OMP_NUM_THREADS=1 python benchmarks/assess_speed.py --models pca nmf-tol1e-4 --n-jobs 2

``OMP_NUM_THREADS=1`` keeps each fit on one core; ``n_jobs=2`` then runs two fits at a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

import factorlab as fl
from factorlab.data import lowrank_matrix

MODELS = {
    "pca": ("PCA(center=False)", lambda: fl.PCA(rank=1, center=False)),
    "nmf": ("NMF (defaults)", lambda: fl.NMF(rank=1)),
    "nmf-tol1e-4": ("NMF(tol=1e-4)", lambda: fl.NMF(rank=1, tol=1e-4)),
    "cp": ("CP 2-way nonneg (HALS)", lambda: fl.CP(rank=1, nonneg=True)),
}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run(shape, ranks, replicates, models, n_jobs_list):
    X, _, _ = lowrank_matrix(*shape, rank=5, noise=0.5, nonnegative=True, random_state=0)
    print(f"== matrix {shape}, true rank 5, ranks {ranks[0]}-{ranks[-1]} x {replicates} "
          "replicates ==")
    fits = len(ranks) * replicates
    for key in models:
        name, make = MODELS[key]
        for n_jobs in n_jobs_list:
            t_ens, ens = timed(lambda: fl.Ensemble(make(), ranks, replicates, random_state=0,
                                                   progress=False, n_jobs=n_jobs).fit(X))
            t_cv, cv = timed(lambda: fl.cross_validate(make(), X, ranks, holdout=0.1,
                                                       replicates=replicates, random_state=0,
                                                       progress=False, n_jobs=n_jobs))
            sim = ens.similarities_[5].min() if 5 in ens.similarities_ else float("nan")
            print(f"{name:24s} n_jobs={n_jobs}: ensemble {t_ens:6.1f} s ({t_ens / fits:.3f} s/fit)"
                  f", cross-validation {t_cv:6.1f} s ({t_cv / fits:.3f} s/fit), total "
                  f"{t_ens + t_cv:6.1f} s; CV best rank {cv.best_rank}; min similarity at rank "
                  f"5: {sim:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="200 x 100 matrix, ranks 1-6 x 3 replicates (about a minute)")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--replicates", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}; 2-core CPU shared with other jobs, so "
          "timings are noisy")
    if args.quick:
        run((200, 100), list(range(1, 7)), args.replicates or 3, args.models, args.n_jobs)
    else:
        run((500, 300), list(range(1, 11)), args.replicates or 10, args.models, args.n_jobs)


if __name__ == "__main__":
    main()
