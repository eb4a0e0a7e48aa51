"""factorlab's convolutional NMF against the ``seqnmf`` package: time to the same error.

``seqnmf`` 0.1.2 (PyPI, MIT; the Python port of Mackevicius et al. 2019's seqNMF toolbox) is the
public Python implementation compared with :func:`factorlab.conv_nmf` (solver ``"mu"``, the same
multiplicative updates). Both fit plain convolutional NMF (seqNMF's ``Lambda = 0``, factorlab's
``lambda_xortho = 0``): the squared reconstruction error, scored as the relative error
``||X - X_hat||_F / ||X||_F``. Three problems: the songbird HVC recording shipped with seqnmf
(:func:`factorlab.datasets.load_songbird`, 75 neurons x 666 frames) with rank 3 and rank 10,
lag 30; planted sequences (:func:`factorlab.data.neural_sequences`, 100 neurons x 3000 frames,
4 sequences, lag 40) with rank 4, lag 40 (5000 frames took the full run past ten minutes on the
shared 2-core machine).

seqnmf does not fit quite factorlab's model: it pads the data with ``L`` zero frames at both
ends and fits the padded data, so its onsets may lie up to ``L`` frames before the recording
(sequences already under way at frame 0), and its template index j is delay j - 1. Hence two
factorlab rows per seqnmf setting:

``own``
    factorlab as a user calls it: ``X`` as given, its own random start (``random_state=r``).
    Compared error: on the data frames; seqnmf's is ``sqrt(1 - power)`` (its ``power`` comes
    from its own reconstruction of the unpadded data).
``seqnmf``
    seqnmf's model and start: ``X`` padded with ``L`` zero frames at both ends, starting from
    the very random factors seqnmf draws for seed ``r`` (index shifted by one frame).
    Compared error: on the padded data, seqnmf's own objective (its ``cost``, an RMSE over the
    padded data, rescaled).

Protocol, per problem and per seqnmf setting (``shift=False``, like for like, and
``shift=True``, its default, which re-centres each template every iteration): run seqnmf for its
default budget (``max_iter=100``, ``tol=-inf``) and time the call; find, from an untimed
factorlab run with ``tol=0`` (in chunks of 50, continued from its own factors), the first
iteration at which factorlab's error is at or below seqnmf's final error; time a fresh
factorlab run with exactly that ``max_iter``. If factorlab does not get there within ``CAP``
iterations, the row's per-run line gives its error after as many iterations as fit in
seqnmf's time (at most ``CAP``). Timed calls
alternate (seqnmf, factorlab own, factorlab seqnmf, seqnmf, ...); run ``r`` uses seed ``r``
(``np.random.seed(r)`` for seqnmf's global-state start), so the five runs differ in their
random starts. Reported: medians over the runs of the wall-clock times, errors and iterations,
of the per-run ratio seqnmf-s / factorlab-s (> 1: factorlab faster) over the runs where
factorlab got there, the same ratio on CPU time (less disturbed by other processes on a shared
machine), and of the time per iteration. ``X`` is float64 for both; seqnmf takes neurons x
time, factorlab time x neurons.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/convnmf_seqnmf.py [--quick]

``--quick`` (a check that it runs, about a minute): songbird rank 3 and a 1000-frame planted
recording, two runs each, cap 300.
"""

import argparse
import datetime
import importlib.metadata
import importlib.resources
import os
import platform
import sys
import time
import types

import factorlab as fl
import numpy as np
import torch

CAP = 500            # factorlab iterations allowed to reach seqnmf's error
N_FRAMES = 3000      # planted recording; 5000 frames made the full run too long
INSTALL = ".venv/bin/pip install --no-deps seqnmf==0.1.2 seaborn"


def import_seqnmf():
    """seqnmf's ``__init__`` calls ``pkg_resources.resource_filename`` (setuptools) to find its
    example data; the setuptools in this venv (84.2) no longer ships ``pkg_resources``. This
    benchmark needs only the solver, so a two-line stand-in on importlib.resources does."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, path: str(
            importlib.resources.files(package) / path)
        sys.modules["pkg_resources"] = shim
    os.environ.setdefault("MPLBACKEND", "Agg")    # seqnmf imports pyplot; no display needed
    try:
        from seqnmf import seqnmf
    except ImportError as err:
        print(f"seqnmf is not importable ({err}); install it with\n    {INSTALL}\n"
              "Nothing was benchmarked.")
        sys.exit(0)
    return seqnmf


def machine_line():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"# {datetime.date.today()}, {cpu}, {os.cpu_count()} cores, OMP_NUM_THREADS="
            f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {load:.1f} at start\n"
            f"# python {platform.python_version()}, numpy {np.__version__}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} thread(s)), seqnmf "
            f"{importlib.metadata.version('seqnmf')}, factorlab {fl.__version__}")


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def seqnmf_start(X, rank, lag, seed):
    """seqnmf's own random start for ``np.random.seed(seed)`` (seqnmf.py draws W, then H, on the
    data padded with ``lag`` zero frames at both ends), written in factorlab's convention.

    seqnmf's template index j is delay j - 1 (``np.roll(H, j - 1)``), factorlab's index l is
    delay l; so with the same templates factorlab's onset at padded frame u is seqnmf's at u + 1.
    seqnmf's onset at padded frame 0 has no place in factorlab (it would sit at frame -1); it
    only touches padding frames, and is dropped."""
    T, N = X.shape
    P = T + 2 * lag
    np.random.seed(seed)
    W0 = X.max() * np.random.rand(N, rank, lag)
    H0 = X.max() * np.random.rand(rank, P) / np.sqrt(P / 3)
    H = np.zeros((P, rank))
    H[:-1] = H0[:, 1:].T
    return W0, H


class FactorlabPath:
    """factorlab's error history for one start, extended in chunks (continuing from its own
    factors) only as far as a target needs; the updates are deterministic, so a fresh run with
    ``max_iter = n`` retraces its first ``n`` iterations."""

    def __init__(self, X, rank, lag, init, seed, chunk=50):
        self.X, self.rank, self.lag, self.chunk = X, rank, lag, chunk
        fit = fl.conv_nmf(X, rank, lag, init=init, tol=0, max_iter=chunk, random_state=seed)
        self.history, self.factors = list(fit.loss_history), (fit.W, fit.H)

    def first_at_or_below(self, target, cap):
        while True:
            hits = np.nonzero(np.asarray(self.history) <= target)[0]
            if hits.size and hits[0] <= cap:
                return int(hits[0])
            if len(self.history) - 1 >= cap:
                return None
            fit = fl.conv_nmf(self.X, self.rank, self.lag, init=self.factors, tol=0,
                              max_iter=min(self.chunk, cap - len(self.history) + 1))
            self.history += list(fit.loss_history[1:])
            self.factors = (fit.W, fit.H)


def data_error(X, W, H, lag, padded):
    """Relative error on the recording's own frames (without the padding)."""
    X_hat = fl.conv_reconstruct(W, H)
    if padded:
        X_hat = X_hat[lag:lag + X.shape[0]]
    return float(np.linalg.norm(X - X_hat) / np.linalg.norm(X))


def run_factorlab(X, rank, lag, start, r, target, cap, paths, s_wall):
    """Untimed search for the first iteration at or below ``target``, then a timed fresh run."""
    padded = start == "seqnmf"
    Xf = np.pad(X, ((lag, lag), (0, 0))) if padded else X
    init = seqnmf_start(X, rank, lag, r) if padded else "random"
    if (start, r) not in paths:
        paths[start, r] = FactorlabPath(Xf, rank, lag, init, r)
    path = paths[start, r]
    n = path.first_at_or_below(target, cap)
    n_timed = min(cap, 100) if n is None else max(n, 1)   # unreached: time 100 for the rate
    fit, wall, cpu = timed(lambda: fl.conv_nmf(Xf, rank, lag, init=init, tol=0,
                                               max_iter=n_timed, random_state=r))
    ms = 1e3 * wall / fit.n_iter
    n_eq = int(1e3 * s_wall / ms)               # iterations that fit in seqnmf's time
    n_eq = min(n_eq, cap, len(path.history) - 1)
    return {"f_wall": wall, "f_cpu": cpu, "f_iter": fit.n_iter,
            "f_err": float(fit.loss_history[-1]),
            "f_data": data_error(X, fit.W, fit.H, lag, padded), "f_ms": ms,
            "reached": n is not None, "eq_err": path.history[n_eq], "n_eq": n_eq}


def compare(seqnmf, X, rank, lag, shift, runs, cap, paths):
    """``runs`` alternating timed runs (seqnmf, factorlab from its own start, factorlab on
    seqnmf's padded data from seqnmf's start, seqnmf, ...), seed r in run r; returns the
    medians for each of the two factorlab starts."""
    rows = {"own": [], "seqnmf": []}
    norm = np.linalg.norm(X)
    P = X.shape[0] + 2 * lag
    for r in range(runs):
        def run_seqnmf(r=r):
            np.random.seed(r)
            return seqnmf(X.T, K=rank, L=lag, Lambda=0.0, max_iter=100, tol=-np.inf,
                          shift=shift)
        (_, _, cost, _, power), s_wall, s_cpu = timed(run_seqnmf)
        s_iter = len(cost) - 1
        s_data = float(np.sqrt(max(1.0 - power, 0.0)))
        # its cost is the RMSE over the padded data: the same relative error as factorlab's
        # on the padded data
        s_padded = float(cost[-1, 0]) * np.sqrt(X.shape[1] * P) / norm
        for start, target in (("own", s_data), ("seqnmf", s_padded)):
            row = run_factorlab(X, rank, lag, start, r, target, cap, paths, s_wall)
            row.update(s_wall=s_wall, s_cpu=s_cpu, s_iter=s_iter, s_err=target,
                       s_data=s_data, s_ms=1e3 * s_wall / s_iter,
                       ratio=s_wall / row["f_wall"], ratio_cpu=s_cpu / row["f_cpu"])
            rows[start].append(row)
    out = {}
    for start, rs in rows.items():
        med = {k: float(np.median([row[k] for row in rs])) for k in rs[0]
               if k != "reached"}
        ok = [row for row in rs if row["reached"]]
        med["reached"] = len(ok)
        for k in ("ratio", "ratio_cpu", "f_wall", "f_iter", "f_err", "f_data"):
            med[k] = float(np.median([row[k] for row in ok])) if ok else float("nan")
        med["ratio_range"] = ((min(row["ratio"] for row in ok), max(row["ratio"] for row in ok))
                              if ok else (float("nan"),) * 2)
        med["per_run"] = " | ".join(
            f"{row['s_err']:.4f} in {row['f_iter']}" if row["reached"] else
            f"{row['s_err']:.4f} never, {row['eq_err']:.4f} at {row['n_eq']}" for row in rs)
        out[start] = med
    return out


HEADER = ("problem       T x N   K  L  shift  start  | seqnmf-s  err    data   it | factorlab-s"
          "    it  err    data  | reached  ratio (range)      cpu-ratio | ms/it seqnmf  factorlab")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short check (about a minute)")
    args = parser.parse_args()
    seqnmf = import_seqnmf()
    runs, cap = (2, 300) if args.quick else (5, CAP)
    n_frames = 1000 if args.quick else N_FRAMES

    songbird = np.asarray(fl.datasets.load_songbird().data, dtype=np.float64).T
    planted, _ = fl.data.neural_sequences(n_neurons=100, n_samples=n_frames, n_sequences=4,
                                          lag=40, random_state=0)
    problems = [("songbird", songbird, 3, 30), ("songbird", songbird, 10, 30),
                (f"planted{n_frames}", np.asarray(planted, dtype=np.float64), 4, 40)]
    if args.quick:
        problems = problems[::2]

    t_start = time.perf_counter()
    print(machine_line())
    print(f"# medians of {runs} alternating runs, seed r in run r; seqnmf 100 iterations (tol "
          f"-inf), factorlab (mu, tol 0) until its error <= seqnmf's (cap {cap}); ratio = "
          "seqnmf-s / factorlab-s over the runs that got there")
    print("# start own: factorlab's random start on X; start seqnmf: X padded with L zero frames"
          " at both ends, seqnmf's start; err = the error compared (own: data frames; seqnmf:"
          " padded data, seqnmf's objective); data = error on the data frames")
    print("# factorlab columns and ratios: medians over the runs that reached seqnmf's error;"
          " runs: each run's seqnmf error and the factorlab iterations that reached it, or")
    print(f"# 'never' (not within {cap}) and factorlab's error after the iterations that fit in"
          f" seqnmf's time (at most {cap})")
    print(HEADER)
    for name, X, rank, lag in problems:
        paths = {}               # factorlab's runs do not depend on seqnmf's shift setting
        for shift in (False, True):
            for start, m in compare(seqnmf, X, rank, lag, shift, runs, cap, paths).items():
                lo, hi = m["ratio_range"]
                print(f"{name:12s} {X.shape[0]:4d}x{X.shape[1]:<3d} {rank:2d} {lag:2d}  "
                      f"{shift!s:5s}  {start:6s} | {m['s_wall']:8.2f}  {m['s_err']:.3f}  "
                      f"{m['s_data']:.3f}  {m['s_iter']:3.0f} | {m['f_wall']:11.2f}  "
                      f"{m['f_iter']:4.0f}  {m['f_err']:.3f}  {m['f_data']:.3f} | "
                      f"{m['reached']:3d}/{runs:<3d} {m['ratio']:5.2f} ({lo:.2f}-{hi:.2f})  "
                      f"{m['ratio_cpu']:9.2f} | {m['s_ms']:12.1f}  {m['f_ms']:9.1f}",
                      flush=True)
                print(f"    runs: {m['per_run']}", flush=True)
    print(f"# total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
