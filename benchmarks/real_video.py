"""Robust PCA on a real video: BEAR vs IALM and GoDec, and the prox-loss U-Net vs robust PCA.

Data: ``factorlab.datasets.load_pedestrians()``, OpenCV's sample video ``vtest.avi`` (a fixed
camera over a square, 300 grey frames of 144 x 192 at 5 Hz), scaled to [0, 1]. Its
``foreground`` masks are a REFERENCE made by a documented median-background procedure on the
full-resolution video (see the loader's docstring), NOT hand labels: every F below measures
agreement with that model (it misses people standing still and small distant walkers).

Part 1 (robust PCA): the whole video as a 300 x 27,648 matrix (frames x pixels); ``--quick``
uses every second frame and 2 x 2 pixel bins (150 x 6,912). Each method from its defaults:
IALM (float64, lambda = 1/sqrt(max(m, n)), tol 1e-7), GoDec (rank 2 as BEAR, tau from the
noise, float64), BEAR (rank 2, PCA start, float32, early stopping). Masks: Otsu threshold of
|S|, scored with pooled counts against the reference. Each method is warmed up once, then the
methods run in alternating order (``--repeats`` rounds, the order rotated each round) in one
process; the medians of wall-clock and process CPU time are reported, with ratios to BEAR.

Part 2 (U-Net): a 32 x 96 strip (2 x 2 bins, rows 28-91 of the full frame); ``ProxUNet``
trained on 50 frames of the first half (every third), tested on 50 frames of the second half;
robust PCA (ADMM rho = 1, 500 iterations, and IALM) on the test window itself, and IALM fitted
on the training frames and projected. F of each against the reference.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/real_video.py            # full video, 5 rounds (~10-20 min)
    OMP_NUM_THREADS=1 python benchmarks/real_video.py --quick    # binned clip, 3 rounds (~1 min)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import factorlab as fl  # noqa: E402

METHODS = ("ialm", "godec", "bear")
LABELS = {"ialm": "IALM", "godec": "GoDec (rank 2)", "bear": "BEAR (rank 2)"}


def bin2(a, step=2):
    """Every ``step``-th frame and 2 x 2 pixel bins."""
    a = np.asarray(a[::step], dtype=np.float64)
    n, h, w = a.shape
    return a.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


def load(quick):
    ped = fl.datasets.load_pedestrians()
    if quick:
        return bin2(ped.data) / 255, bin2(ped.foreground) > 0.5
    return ped.data.astype(np.float64) / 255, ped.foreground


def run(method, V):
    if method == "ialm":
        r = fl.robust.ialm(V)
        return r.S, r.n_iter
    if method == "godec":
        r = fl.robust.godec(V, rank=2, random_state=0)
        return r.S, r.n_iter
    b = fl.BEAR(rank=2, random_state=0, device="cpu").fit(V.astype(np.float32))
    return b.S_, b.n_iter_


def scores(S, ref):
    s = fl.segmentation_scores(fl.foreground_mask(S), ref)
    return s["precision"], s["recall"], s["f_measure"]


def part_rpca(quick, repeats):
    V, ref = load(quick)
    n = len(V)
    print(f"\nPart 1: robust PCA on {n} x {V[0].size:,} (frames x pixels)"
          f"{' - quick: every 2nd frame, 2 x 2 bins' if quick else ' - the whole video'}; "
          f"reference foreground {ref.mean():.1%}")
    small = V[:20, :16, :16]
    for m in METHODS:                                      # warm-up (torch, BLAS)
        run(m, small)
    wall = {m: [] for m in METHODS}
    cpu = {m: [] for m in METHODS}
    out = {}
    for r in range(repeats):
        order = METHODS[r % 3:] + METHODS[:r % 3]
        for m in order:
            t0, c0 = time.perf_counter(), time.process_time()
            S, it = run(m, V)
            wall[m].append(time.perf_counter() - t0)
            cpu[m].append(time.process_time() - c0)
            out[m] = (S, it)
        print(f"  ... round {r + 1}/{repeats}: " + ", ".join(
            f"{m} {wall[m][-1]:.1f} s" for m in METHODS), flush=True)
    med = {m: statistics.median(wall[m]) for m in METHODS}
    cmed = {m: statistics.median(cpu[m]) for m in METHODS}
    q = {m: scores(out[m][0], ref) for m in METHODS}
    print(f"{'method':16s}{'wall s':>9s}{'x BEAR':>8s}{'CPU s':>9s}{'x BEAR':>8s}{'iters':>7s}"
          f"{'precision':>10s}{'recall':>8s}{'F':>7s}{'runs':>6s}")
    for m in METHODS:
        p, rc, f = q[m]
        print(f"{LABELS[m]:16s}{med[m]:9.2f}{med[m] / med['bear']:8.1f}{cmed[m]:9.2f}"
              f"{cmed[m] / cmed['bear']:8.1f}{out[m][1]:7d}{p:10.3f}{rc:8.3f}{f:7.3f}"
              f"{len(wall[m]):6d}")
    agree = fl.segmentation_scores(fl.foreground_mask(out["bear"][0]),
                                   fl.foreground_mask(out["ialm"][0]))["f_measure"]
    print(f"IALM/BEAR: wall {med['ialm'] / med['bear']:.1f}x, CPU {cmed['ialm'] / cmed['bear']:.1f}x;"
          f" GoDec/BEAR: wall {med['godec'] / med['bear']:.1f}x, "
          f"CPU {cmed['godec'] / cmed['bear']:.1f}x")
    print(f"F(BEAR) - F(IALM) = {q['bear'][2] - q['ialm'][2]:+.3f}; "
          f"BEAR's mask scored against IALM's: F {agree:.3f}")


def strip(a):
    a = np.asarray(a, dtype=np.float32)
    n, h, w = a.shape
    return a.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))[:, 14:46]


def part_unet(quick):
    ped = fl.datasets.load_pedestrians()
    X, ref = strip(ped.data) / 255, strip(ped.foreground) > 0.5
    train, test = np.arange(0, 150, 3), np.arange(150, 300, 3)
    D, M = X[test], ref[test]
    D64 = D.astype(np.float64)
    print(f"\nPart 2: U-Net vs robust PCA on a {D.shape[1]} x {D.shape[2]} strip; "
          f"50 training frames (0-147), 50 test frames (150-297)")
    rows = [("RPCA-ADMM on the test window", fl.robust.rpca_admm(D64, rho=1.0, max_iter=500).S),
            ("IALM on the test window", fl.robust.ialm(D64).S),
            ("IALM on train frames, projected",
             fl.robust.project_foreground(D, fl.robust.ialm(X[train].astype(np.float64)).L))]
    settings = [(8, 100, 5e-3)] if quick else [(8, 100, 5e-3), (8, 300, 3e-3), (16, 200, 3e-3)]
    for ch, ep, lr in settings:
        net = fl.robust.ProxUNet(base_channels=ch, lr=lr, n_epochs=ep, device="cpu",
                                 random_state=0)
        t0 = time.perf_counter()
        net.fit(X[train])
        t = time.perf_counter() - t0
        rows.append((f"U-Net {ch} ch, {ep} ep, lr {lr:g} ({t:.0f} s)", net.predict(D)))
        print(f"  ... U-Net {ch} channels {ep} epochs: {t:.0f} s, loss "
              f"{net.loss_history_[0]:.0f} -> {net.loss_history_[-1]:.0f}", flush=True)
    print(f"{'method (50 test frames)':40s}{'precision':>10s}{'recall':>8s}{'F':>7s}")
    for name, S in rows:
        p, rc, f = scores(S, M)
        print(f"{name:40s}{p:10.3f}{rc:8.3f}{f:7.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="binned clip, 3 rounds, one U-Net setting")
    ap.add_argument("--repeats", type=int, default=None, help="rounds (default 5, quick 3)")
    ap.add_argument("--skip-unet", action="store_true")
    a = ap.parse_args(argv)
    repeats = a.repeats or (3 if a.quick else 5)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"factorlab real-video benchmark -- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs "
          f"(timings noisy), torch {torch.__version__}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, no GPU used")
    print("F is agreement with the loader's median-background reference masks, not hand labels")
    part_rpca(a.quick, repeats)
    if not a.skip_unet:
        part_unet(a.quick)


if __name__ == "__main__":
    main()
