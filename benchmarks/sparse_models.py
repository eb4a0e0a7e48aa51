"""Sparse PCA and k-means: factorlab against scikit-learn on the same data.

1. Sparse PCA: ``factorlab.sparse_pca`` (block coordinate descent) against scikit-learn's
   ``SparsePCA`` (dictionary learning, LARS lasso) on samples x features data with planted
   sparse loadings (each component on its own 10 features) plus noise. Both minimise the same
   objective ``½‖X_c − U Vᵀ‖² + alpha ‖V‖₁`` with ``‖u_k‖ ≤ 1`` at the same ``alpha``, so the final
   objectives are comparable; the support recovery is the F1 score of the nonzero loadings
   against the planted ones (components matched first). Median time of several runs; ratio < 1 means factorlab is faster.
2. k-means: ``factorlab.kmeans_factorization`` against ``sklearn.cluster.KMeans`` (both 10
   k-means++ starts, Lloyd) on Gaussian blobs: time, inertia ratio, adjusted Rand index between
   the two labelings.
3. GLRM: time per fit of each loss of ``factorlab.GLRM`` on data of its own kind.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/sparse_models.py            # full size (a few minutes)
    OMP_NUM_THREADS=1 python benchmarks/sparse_models.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.decomposition import SparsePCA  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

import factorlab as fl  # noqa: E402


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def objective(Xc, U, V, alpha):
    return 0.5 * np.sum((Xc - U @ V.T) ** 2) + alpha * np.abs(V).sum()


def f1(V, truth):
    """F1 score of the nonzero loadings, after matching components to the truth."""
    V = fl.assess.align([truth], [V])[0]
    found, true = V != 0, truth != 0
    hits = np.sum(found & true)
    return 2 * hits / (found.sum() + true.sum())


def bench_sparse_pca(m, n, rank, alpha, repeats):
    rng = np.random.default_rng(0)
    truth = np.zeros((n, rank))
    for k in range(rank):
        truth[10 * k:10 * (k + 1), k] = rng.uniform(0.5, 1.5, 10)
    X = rng.standard_normal((m, rank)) * np.linspace(6, 3, rank) @ truth.T
    X = X + rng.standard_normal((m, n))
    Xc = X - X.mean(0)
    print(f"\n== sparse PCA: {m} x {n}, rank {rank}, alpha {alpha}, median of {repeats} ==")
    t_fl, fit = median_time(lambda: fl.sparse_pca(X, rank, alpha), repeats)
    t_sk, sk = median_time(lambda: SparsePCA(rank, alpha=alpha, random_state=0).fit(X), repeats)
    # scikit-learn's error_ is the same objective at its last iteration (its components_ are
    # renormalised afterwards, so they cannot be plugged in directly).
    obj_sk, V_sk = sk.error_[-1], sk.components_.T
    obj_fl = objective(Xc, fit.U, fit.V, alpha)
    print(f"{'':14s}{'time (s)':>10s}{'objective':>14s}{'support F1':>12s}")
    print(f"{'factorlab':14s}{t_fl:10.3f}{obj_fl:14.2f}{f1(fit.V, truth):12.3f}")
    print(f"{'scikit-learn':14s}{t_sk:10.3f}{obj_sk:14.2f}{f1(V_sk, truth):12.3f}")
    print(f"time ratio factorlab / scikit-learn: {t_fl / t_sk:.2f}; "
          f"objective ratio: {obj_fl / obj_sk:.4f}")


def bench_kmeans(m, n, k, repeats):
    X, _ = make_blobs(m, n, centers=k, cluster_std=3.0, random_state=0)
    print(f"\n== k-means: {m} x {n}, {k} clusters, 10 starts, median of {repeats} ==")
    t_fl, fit = median_time(lambda: fl.KMeansFactorization(k, random_state=0).fit(X), repeats)
    t_sk, sk = median_time(lambda: KMeans(k, n_init=10, random_state=0).fit(X), repeats)
    print(f"factorlab {t_fl:.3f} s, scikit-learn {t_sk:.3f} s, time ratio {t_fl / t_sk:.2f}; "
          f"inertia ratio {fit.inertia_ / sk.inertia_:.6f}; "
          f"ARI between labelings {adjusted_rand_score(fit.labels_, sk.labels_):.3f}")


def bench_glrm(m, n, repeats):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((m, 3)) @ rng.standard_normal((3, n)) / np.sqrt(3)
    data = {"quadratic": theta + 0.5 * rng.standard_normal((m, n)),
            "absolute": theta + (rng.random((m, n)) < 0.05) * 15.0,
            "poisson": rng.poisson(np.exp(theta)).astype(float),
            "logistic": (rng.random((m, n)) < 1 / (1 + np.exp(-2 * theta))).astype(float)}
    print(f"\n== GLRM rank 3 on {m} x {n}, default settings, median of {repeats} ==")
    for loss, X in data.items():
        t, model = median_time(lambda: fl.GLRM(3, loss=loss, tol=1e-8).fit(X), repeats)
        print(f"{loss:10s} {t:7.3f} s  {model.n_iter_:5d} iterations  converged={model.converged_}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, numpy {np.__version__}")
    fl.GLRM(1).fit(np.eye(3))                             # warm up torch's optimizer import
    if args.quick:
        bench_sparse_pca(500, 100, 4, 5.0, 3)
        bench_kmeans(2000, 20, 8, 3)
        bench_glrm(200, 100, 3)
    else:
        bench_sparse_pca(2000, 300, 8, 10.0, 5)
        bench_kmeans(20000, 50, 10, 5)
        bench_glrm(1000, 300, 5)


if __name__ == "__main__":
    main()
