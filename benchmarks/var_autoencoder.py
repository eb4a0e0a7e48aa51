"""Timings of the differentiable lasso, the sparse VAR and the VAR autoencoder.

1. Lasso VAR solves on the same lagged design (``d`` outputs sharing one design of ``d * p``
   columns, ``n`` rows, float64): factorlab's LARS + closed form (``var_lasso``), scikit-learn's
   ``lars_path(method="lasso", alpha_min=alpha)`` per output (the same algorithm) and
   scikit-learn's coordinate-descent ``Lasso`` (all outputs at once, tol 1e-10). Also the cost of
   the backward pass through the closed form. Median of several runs; ratios vs factorlab.
2. One training step of ``VARAutoencoder`` (32 x 32 frames, window of 128 frames, d = 8):
   end-to-end (LARS in the forward pass) vs two-stage (reconstruction only).
3. The block-permutation ``sequence_test`` with 199 permutations (d = 8, 2 x 2000 frames).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/var_autoencoder.py            # full run (~2 minutes)
    OMP_NUM_THREADS=1 python benchmarks/var_autoencoder.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import sklearn
import torch
from sklearn.linear_model import Lasso, lars_path

import factorlab as fl
from factorlab.var.sparse_var import lagged_design, var_lasso


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def simulate(d, T, seed=0):
    rng = np.random.default_rng(seed)
    A = np.diag(rng.uniform(0.5, 0.8, d))
    for i, j in zip(rng.integers(0, d, d), rng.integers(0, d, d)):
        if i != j and A[j, i] == 0:
            A[i, j] = 0.25 * rng.choice([-1, 1])
    A *= min(1.0, 0.95 / np.abs(np.linalg.eigvals(A)).max())
    z = np.zeros((T, d))
    for t in range(1, T):
        z[t] = A @ z[t - 1] + rng.standard_normal(d)
    return z


def lasso_benchmark(d, p, T, alpha, repeats):
    z = simulate(d, T)
    z = (z - z.mean(0)) / z.std(0)
    Phi, Y = lagged_design(z, p)
    print(f"\n== lasso VAR: d = {d}, p = {p}, n = {Phi.shape[0]} rows, {Phi.shape[1]} columns, "
          f"alpha = {alpha}, median of {repeats} ==")
    ours = var_lasso(z, p, alpha, center=False)[0]
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=100_000).fit(Phi, Y)
    ref_coefs = ref.coef_.reshape(d, p, d).transpose(1, 0, 2)
    print(f"max |factorlab - sklearn Lasso| = {np.abs(ours - ref_coefs).max():.1e}")

    def lars_sklearn():
        for i in range(d):
            lars_path(Phi, Y[:, i], method="lasso", alpha_min=alpha)

    def backward():
        zt = torch.tensor(z, requires_grad=True)
        var_lasso(zt, p, alpha, center=False)[0].sum().backward()

    rows = [("factorlab var_lasso (LARS, forward)", lambda: var_lasso(z, p, alpha, center=False)),
            ("factorlab var_lasso forward + backward", backward),
            ("sklearn lars_path per output", lars_sklearn),
            ("sklearn Lasso (coordinate descent)",
             lambda: Lasso(alpha=alpha, fit_intercept=False, tol=1e-10,
                           max_iter=100_000).fit(Phi, Y))]
    base = None
    for name, fn in rows:
        t = median_time(fn, repeats)
        base = base or t
        print(f"{name:42s} {1e3 * t:9.2f} ms   ratio vs factorlab forward {t / base:6.2f}")


def training_step_benchmark(repeats):
    data = fl.data.var_movie(n_frames=600, random_state=0)
    X = torch.tensor(data.movie[:128], dtype=torch.float32)
    print(f"\n== VARAutoencoder step: window 128 frames of 32 x 32, d = 8, median of {repeats} ==")
    base = None
    for mode in ("two_stage", "end_to_end"):
        model = fl.VARAutoencoder((32, 32), latent_dim=8, mode=mode, device="cpu", random_state=0)
        model.reset_parameters()                 # the seeded network, without training it
        model.mean_frame.copy_(X.mean(0))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            recon, pred, var = model._loss_terms(X, mode == "end_to_end")
            opt.zero_grad()
            (recon + pred + 0.1 * var).backward()
            opt.step()

        step()  # warm-up
        t = median_time(step, repeats)
        base = base or t
        print(f"{mode:12s} {1e3 * t:8.1f} ms/step   ratio vs two-stage {t / base:5.2f}")


def sequence_test_benchmark(repeats):
    za, zb = simulate(8, 2000, seed=1), simulate(8, 2000, seed=2)
    t = median_time(lambda: fl.sequence_test(za, zb, n_permutations=199, random_state=0),
                    repeats)
    print(f"\n== sequence_test, d = 8, 2 x 2000 points, 199 permutations: {t:.2f} s "
          f"(median of {repeats}) ==")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = 3 if args.quick else 7
    print(f"factorlab {fl.__version__}, torch {torch.__version__}, scikit-learn "
          f"{sklearn.__version__}, numpy {np.__version__}; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    sizes = [(8, 1, 2000)] if args.quick else [(8, 1, 2000), (16, 2, 2000), (32, 2, 4000)]
    for d, p, T in sizes:
        lasso_benchmark(d, p, T, alpha=0.05, repeats=repeats)
    training_step_benchmark(repeats=5 if args.quick else 10)
    sequence_test_benchmark(repeats=1 if args.quick else 3)


if __name__ == "__main__":
    main()
