"""CP on a real tensor against tensorly, and cross-validation on real recordings.

Data: ``factorlab.datasets.load_serology()`` (COVID-19 systems serology, 438 samples x 6
antigens x 11 readouts, centred; not neural data) and ``load_songbird()`` (HVC calcium,
666 frames x 75 neurons at 30 Hz).

1. CP-ALS (``factorlab.cp_als``) vs ``tensorly.decomposition.parafac`` on the serology tensor
   at ranks 2, 3 and 4, from the same random start: time per sweep over a fixed number of
   sweeps, and time to convergence (both stop when the relative error changes by less than
   1e-6 in a sweep; they take the same steps, so they stop at the same sweep with the same
   error, which is printed). Then each library's practical use: the best of 5 random starts
   (500 sweeps at most, tol 1e-6), wall time for the 5 fits and the best error reached.
2. Speckled cross-validation of CP on the serology tensor, ranks 1-6, 5 masks (10 % held
   out): factorlab's exact masked ALS (``CP.fit(mask=...)``) vs tensorly's ``parafac(mask=...)``
   (EM imputation of the held-out entries), on the same masks and seeds; mean test error per
   rank and total time.
3. ``fl.cross_validate`` of NMF on the HVC data (ranks 1-8 x 5 masks) with ``n_jobs=1`` and
   ``n_jobs=2``. No peer library cross-validates NMF on held-out entries (scikit-learn's NMF
   takes no mask), so this reports seconds and the parallel ratio only.

Every measurement is repeated (``--repeats``, default 5) with the two contenders in alternating
order, after one warm-up each; medians are reported, with ratios tensorly / factorlab
(> 1 = factorlab faster).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/real_assess_cp.py            # full run (~3 minutes)
    OMP_NUM_THREADS=1 python benchmarks/real_assess_cp.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import tensorly as tl  # noqa: E402
import torch  # noqa: E402
from tensorly.cp_tensor import CPTensor  # noqa: E402
from tensorly.decomposition import parafac  # noqa: E402

import factorlab as fl  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def alternate(contenders, repeats):
    """Run each contender once to warm up, then ``repeats`` rounds in alternating order."""
    for fn in contenders.values():
        fn()
    times = {name: [] for name in contenders}
    results = {}
    names = list(contenders)
    for rep in range(repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            t, results[name] = timed(contenders[name])
            times[name].append(t)
    return {name: statistics.median(v) for name, v in times.items()}, results


def part_cp(X, ranks, repeats, sweeps):
    print(f"\nPart 1: CP-ALS vs tensorly.parafac on the serology tensor {X.shape}, "
          f"median of {repeats}")
    for rank in ranks:
        init = [np.random.default_rng(rank).standard_normal((n, rank)) for n in X.shape]

        def ours(max_iter, tol):
            return lambda: fl.cp_als(X, rank, init=[f.copy() for f in init],
                                     max_iter=max_iter, tol=tol)

        def theirs(max_iter, tol):
            return lambda: parafac(X, rank, init=CPTensor((np.ones(rank),
                                                           [f.copy() for f in init])),
                                   n_iter_max=max_iter, tol=tol, return_errors=True)

        fixed, _ = alternate({"factorlab": ours(sweeps, 1e-300),
                              "tensorly": theirs(sweeps, 0)}, repeats)
        conv, res = alternate({"factorlab": ours(5000, 1e-6),
                               "tensorly": theirs(5000, 1e-6)}, repeats)
        n_ours, e_ours = res["factorlab"].n_iter, res["factorlab"].loss_history[-1]
        n_tl, e_tl = len(res["tensorly"][1]), res["tensorly"][1][-1]
        print(f"rank {rank}: per sweep ({sweeps} sweeps) factorlab "
              f"{fixed['factorlab'] / sweeps * 1e3:.3f} ms, tensorly "
              f"{fixed['tensorly'] / sweeps * 1e3:.3f} ms, ratio "
              f"{fixed['tensorly'] / fixed['factorlab']:.2f}x")
        print(f"        to convergence: factorlab {conv['factorlab'] * 1e3:6.1f} ms "
              f"({n_ours} sweeps, error {e_ours:.6f}), tensorly {conv['tensorly'] * 1e3:6.1f}"
              f" ms ({n_tl} sweeps, error {e_tl:.6f}), ratio "
              f"{conv['tensorly'] / conv['factorlab']:.2f}x")

        def ours5():
            fits = [fl.CP(rank=rank, random_state=k).fit(X) for k in range(5)]
            return min(m.loss_history_[-1] for m in fits)

        def theirs5():
            return min(parafac(X, rank, init="random", random_state=k, n_iter_max=500,
                               tol=1e-6, return_errors=True)[1][-1] for k in range(5))

        best, res = alternate({"factorlab": ours5, "tensorly": theirs5}, repeats)
        print(f"        best of 5 random starts: factorlab {best['factorlab']:.2f} s "
              f"(error {res['factorlab']:.4f}), tensorly {best['tensorly']:.2f} s "
              f"(error {res['tensorly']:.4f}), ratio "
              f"{best['tensorly'] / best['factorlab']:.2f}x")


def part_cv(X, ranks, n_masks, repeats):
    print(f"\nPart 2: speckled cross-validation of CP on the serology tensor, ranks "
          f"{ranks[0]}-{ranks[-1]}, {n_masks} masks, median of {repeats}")
    masks = [fl.speckled_mask(X.shape, holdout=0.1, min_observed=max(ranks), random_state=s)
             for s in range(n_masks)]

    def test_error(X_hat, M):
        return np.linalg.norm((X - X_hat)[~M]) / np.linalg.norm(X[~M])

    def ours():
        return np.array([[test_error(fl.CP(rank=r, random_state=s).fit(X, mask=M)
                                     .reconstruct(), M)
                          for s, M in enumerate(masks)] for r in ranks])

    def theirs():
        return np.array([[test_error(tl.cp_to_tensor(
            parafac(X, r, mask=M.astype(float), init="random", random_state=s,
                    n_iter_max=500, tol=1e-6)), M)
            for s, M in enumerate(masks)] for r in ranks])

    t, res = alternate({"factorlab": ours, "tensorly": theirs}, repeats)
    for name in ("factorlab", "tensorly"):
        errs = res[name].mean(axis=1)
        print(f"{name:10s} {t[name]:6.2f} s; mean test error by rank "
              + " ".join(f"{e:.3f}" for e in errs)
              + f"; lowest at rank {ranks[int(np.argmin(errs))]}")
    print(f"ratio tensorly / factorlab: {t['tensorly'] / t['factorlab']:.2f}x "
          "(exact masked ALS vs EM imputation: different algorithms, same masks)")


def part_hvc(H, ranks, n_masks, repeats):
    print(f"\nPart 3: fl.cross_validate(NMF) on HVC {H.shape}, ranks {ranks[0]}-{ranks[-1]}, "
          f"{n_masks} masks, median of {repeats}")

    def run(n_jobs):
        return lambda: fl.cross_validate(fl.NMF(rank=1), H, ranks=ranks, holdout=0.1,
                                         replicates=n_masks, random_state=0, progress=False,
                                         n_jobs=n_jobs)

    t, res = alternate({"n_jobs=1": run(1), "n_jobs=2": run(2)}, repeats)
    fits = len(ranks) * n_masks
    cv = res["n_jobs=1"]
    same = np.allclose(cv.test_errors, res["n_jobs=2"].test_errors)
    print(f"n_jobs=1 {t['n_jobs=1']:.2f} s ({t['n_jobs=1'] / fits * 1e3:.0f} ms per fit), "
          f"n_jobs=2 {t['n_jobs=2']:.2f} s, ratio {t['n_jobs=1'] / t['n_jobs=2']:.2f}x; "
          f"same errors: {same}")
    print("median test error by rank "
          + " ".join(f"{e:.3f}" for e in np.median(cv.test_errors, axis=1)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer ranks, 3 rounds")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    tl.set_backend("numpy")
    repeats = args.repeats or (3 if args.quick else 5)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, torch "
          f"{torch.__version__}, tensorly {tl.__version__}, threads {torch.get_num_threads()}; "
          "2-core CPU shared with other jobs, so timings are noisy")
    X = fl.datasets.load_serology().data
    H = fl.datasets.load_songbird().data.T.astype(np.float64)
    if args.quick:
        part_cp(X, [2, 4], repeats, sweeps=50)
        part_cv(X, [1, 2, 3, 4], 3, repeats)
        part_hvc(H, list(range(1, 6)), 3, repeats)
    else:
        part_cp(X, [2, 3, 4], repeats, sweeps=100)
        part_cv(X, list(range(1, 7)), 5, repeats)
        part_hvc(H, list(range(1, 9)), 5, repeats)


if __name__ == "__main__":
    main()
