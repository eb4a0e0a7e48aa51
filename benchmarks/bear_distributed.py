"""BEAR across processes: 1 against 2 local processes (torch.distributed, gloo, CPU).

A synthetic movie (``factorlab.data.calcium_movie``, float32 ``.npy`` on disk, streamed) is
fitted with a fixed number of epochs (no early stopping, so every run does the same work) by:

* ``in-process``: ``BEAR.fit`` in this process (1 torch thread), the reference;
* ``1 proc x 1 thread`` / ``1 proc x 2 threads``: ``bear_distributed(nproc=1)``, one spawned
  process (the same machinery as below, no partner to talk to);
* ``2 procs x 1 thread``: ``bear_distributed(nproc=2)``, each process reading and
  differentiating half of every batch, the gradient summed by ``all_reduce`` every step.

Reported per configuration (medians of alternating runs): seconds per epoch (the median step
time measured inside the workers times the steps of an epoch, so neither process start-up nor
the one-time cost of the first step counts), the wall time of the whole call (with spawning
``nproc`` Python processes that import torch, and writing L and S), peak resident memory per
process (``VmHWM``; ``ru_maxrss`` of a spawned process would count the parent it was forked
from) and its anonymous part at the end (``RssAnon``), and how far the learned subspace
``W W^T`` is from the in-process one. NCCL / GPUs are not measured here.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bear_distributed.py            # 3 alternating runs
    OMP_NUM_THREADS=1 python benchmarks/bear_distributed.py --quick    # 1 run, smaller movie
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import factorlab as fl
import numpy as np
import torch
from factorlab.data import calcium_movie
from factorlab.robust.distributed import bear_distributed


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def steps_per_epoch(frames, batch):
    return max(1, frames // batch)


def run_config(name, path, opts, folder, frames):
    """One fit; returns (seconds per epoch, wall seconds, [peak MiB], [anon MiB], W)."""
    steps = steps_per_epoch(frames, opts["batch_size"])
    start = time.perf_counter()
    if name == "in-process":
        model = fl.BEAR(**opts)
        model.fit(path)                 # warm-up (the first backward pays one-time costs)
        wall_start = time.perf_counter()
        model.fit(path)
        per_epoch = (time.perf_counter() - wall_start) / model.n_iter_
        model.decompose(path, out_L=folder / "L0.npy", out_S=folder / "S0.npy")
        return (per_epoch, time.perf_counter() - wall_start, [float("nan")], [float("nan")],
                model.W_)
    nproc, threads = {"1 proc x 1 thread": (1, 1), "1 proc x 2 threads": (1, 2),
                      "2 procs x 1 thread": (2, 1)}[name]
    model = bear_distributed(path, nproc, threads=threads, out_L=folder / "L.npy",
                             out_S=folder / "S.npy", **opts)
    wall = time.perf_counter() - start
    stats = model.distributed_["per_process"]
    # median step time (every process waits for the slowest at each all_reduce) x steps
    per_epoch = max(s["step_seconds_median"] for s in stats) * steps
    return (per_epoch, wall, [s["peak_rss_mib"] for s in stats],
            [s["rss_anon_mib"] for s in stats], model.W_)


def projector_gap(W, R):
    """||W W^T - R R^T||_F / ||R R^T||_F without forming the pixels x pixels matrices."""
    W, R = np.asarray(W, np.float64), np.asarray(R, np.float64)
    ww, rr, wr = (np.linalg.norm(a.T @ b) ** 2 for a, b in ((W, W), (R, R), (W, R)))
    return float(np.sqrt(max(ww + rr - 2 * wr, 0.0) / rr))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run of a smaller movie")
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames, side, repeats, epochs = (1024, 64, 1, 3) if args.quick else (2048, 128, 3, 6)
    rank, batch = 4, 64
    print(f"# OMP_NUM_THREADS=1 python benchmarks/bear_distributed.py"
          f"{' --quick' if args.quick else ''}")
    print(f"date: {datetime.date.today()}; machine: {platform.machine()} {cpu_model()}, "
          f"{os.cpu_count()} cores shared with other jobs (two processes compete with them "
          "for the second core: timings are noisy and the 2-process speed-up is a lower bound)"
          f"; torch {torch.__version__}, gloo backend on the CPU; NCCL/GPU not measured")
    configs = ["in-process", "1 proc x 1 thread", "1 proc x 2 threads", "2 procs x 1 thread"]
    results = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="bench-bear-dist-") as tmp:
        import pathlib

        folder = pathlib.Path(tmp)
        mv = calcium_movie(n_frames=frames, shape=(side, side), n_cells=20, random_state=0)
        path = fl.io.save_movie(folder / "movie.npy", mv.Y)
        del mv
        size = os.path.getsize(path) / 2**20
        print(f"movie: {frames} frames x {side} x {side} float32 ({size:.0f} MiB .npy, in the "
              f"page cache after the first read); BEAR rank {rank}, batch {batch}, {epochs} "
              f"epochs, no early stopping; L and S written to .npy; median of {repeats} runs "
              "(order alternated)")
        opts = {"rank": rank, "batch_size": batch, "n_epochs": epochs,
                "early_stopping": False, "random_state": 0}
        for r in range(repeats):
            order = configs if r % 2 == 0 else configs[::-1]
            for c in order:
                results[c].append(run_config(c, path, opts, folder, frames))
    W_ref = results["in-process"][0][4]
    ref_epoch = np.median([x[0] for x in results["1 proc x 1 thread"]])
    print(f"\n{'configuration':<20}{'s/epoch':>9}{'vs 1x1':>8}{'wall s':>8}"
          f"{'peak RSS/proc':>15}{'RssAnon/proc':>14}{'dWW^T':>10}")
    for c in configs:
        rows = results[c]
        per_epoch = np.median([x[0] for x in rows])
        wall = np.median([x[1] for x in rows])
        peak = np.median([max(x[2]) for x in rows])
        anon = np.median([max(x[3]) for x in rows])
        dW = max(projector_gap(x[4], W_ref) for x in rows)
        peak_s = "n/a" if np.isnan(peak) else f"{peak:.0f} MiB"
        anon_s = "n/a" if np.isnan(anon) else f"{anon:.0f} MiB"
        print(f"{c:<20}{per_epoch:>9.3f}{ref_epoch / per_epoch:>7.2f}x{wall:>8.1f}"
              f"{peak_s:>15}{anon_s:>14}{dW:>10.1e}")
    print("\ns/epoch: median step time x steps per epoch, after the one-time start (in-process: "
          "a second fit, timed whole). vs 1x1: against one spawned process with one thread "
          "(> 1: faster). wall s: the whole call, with spawning and importing torch in each "
          "process and writing L and S (in-process: the timed fit and decompose). peak RSS "
          "(VmHWM) and RssAnon (at the end) per process include torch itself, about 300 MiB; the "
          "peak also counts the pages of the memory-mapped movie and L/S files a process has "
          "touched, and each of two processes scans and writes only half of them. "
          "in-process s/epoch is a whole fit (with its finiteness scan and start) / epochs. "
          "dWW^T: ||W W^T - W0 W0^T|| / ||W0 W0^T|| against the in-process fit (the worst run).")
    print(f"# factorlab at commit {commit()}")


if __name__ == "__main__":
    main()
