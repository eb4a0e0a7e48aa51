"""ConvNMF's two solvers on planted sequences, and the adjoint's matrix-product form.

Prints, for each planted recording (60 neurons x 1500 frames, 3 sequences, lag 30, noise 0.02,
background rate 5e-4), the objective each solver stops at (tol 1e-5) against the truth's, the
correlation of each true template with its best-matching fitted one (any time shift), and the
time; then the median time of the adjoint ``W ⋆ Y`` as one matrix product plus lag slices
against torch's float64 ``conv1d``. The module docstring of factorlab.matrix.convnmf quotes it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/convnmf_solvers.py
"""

import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import factorlab as fl
from factorlab.matrix.convnmf import _correlate

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from test_convnmf import _template_match  # noqa: E402


def solvers(seeds=(1, 2, 3)):
    print("data  truth-obj  solver  objective  rel-error  time-s  template match")
    for seed in seeds:
        X, truth = fl.data.neural_sequences(n_samples=1500, random_state=seed)
        truth_obj = np.linalg.norm(X - fl.conv_reconstruct(truth.W, truth.H)) ** 2
        for solver in ("mu", "hals"):
            t0 = time.perf_counter()
            fit = fl.conv_nmf(X, 3, 30, solver=solver, tol=1e-5, max_iter=2000,
                              random_state=0)
            dt = time.perf_counter() - t0
            match = " ".join(f"{m:.2f}" for m in _template_match(truth.W, fit.W))
            print(f"{seed:4d}  {truth_obj:9.1f}  {solver:6s}  {fit.objective_history[-1]:9.1f}"
                  f"  {fit.loss_history[-1]:9.3f}  {dt:6.2f}  {match}")


def adjoint(repeats=21):
    T, N, K, L = 3000, 60, 3, 30
    g = torch.Generator().manual_seed(0)
    W = torch.rand(N, K, L, dtype=torch.float64, generator=g)
    Y = torch.rand(T, N, dtype=torch.float64, generator=g)

    def by_conv():
        return F.conv1d(F.pad(Y.T[None], (0, L - 1)), W.transpose(0, 1))[0].T

    assert torch.allclose(by_conv(), _correlate(W, Y))
    times = {"matmul": [], "conv1d": []}
    for _ in range(repeats):               # alternating pairs
        for name, fn in (("matmul", lambda: _correlate(W, Y)), ("conv1d", by_conv)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    mm, cv = (float(np.median(times[k])) * 1e3 for k in ("matmul", "conv1d"))
    print(f"adjoint W * Y ({T} x {N}, rank {K}, lag {L}): matmul {mm:.2f} ms, conv1d "
          f"{cv:.2f} ms, ratio conv1d/matmul {cv / mm:.1f}x (medians of {repeats})")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    solvers()
    adjoint()
