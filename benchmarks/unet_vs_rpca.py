"""Prox-loss U-Net (DeepLS) vs robust PCA on a synthetic surveillance video with ground truth.

Reproduces the finding of Takeda, Fujiwara & Sakai (2022): RPCA misses objects that stand still
inside its window (they go into the low-rank background), while a U-Net trained *without labels*
on the RPCA loss over 50 other frames still finds them, on frames it never saw.

Protocol (same data for all methods):

- video: ``surveillance_video`` 300 frames of 72 x 88, 4 people, one stands still for 80 frames;
- test window: 50 consecutive frames inside that stop;
- U-Net: trained on 50 random frames *outside* the stop (never sees the test frames, nor the
  person standing), full-batch Adam; predicts each test frame on its own;
- RPCA-ADMM (rho = 1, 500 iterations) and forward-backward RPCA (300 iterations) on the test
  window itself; and DeepLS's other use of RPCA: fit on the training frames, project the test
  frames on the background subspace;
- masks: Otsu threshold of ``|S|`` over the window; CDnet-style pooled counts;
- camera moved for the last 10 test frames (2-pixel shift, and 1.2x zoom): scored on those;
- timing: median of ``--repeats`` runs; U-Net inference per frame vs RPCA on the 50-frame
  window divided by 50.

Run: ``OMP_NUM_THREADS=1 python benchmarks/unet_vs_rpca.py`` (or ``--quick``, about a minute).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from factorlab.metrics import foreground_mask, segmentation_scores
from factorlab.data import camera_motion, surveillance_video
from factorlab.robust import ProxUNet
from factorlab.robust import project_foreground, rpca_admm, rpca_forward_backward


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def scores(S, masks, still):
    pred = foreground_mask(S)
    s = segmentation_scores(pred, masks)
    s["still_recall"] = float((pred & still).sum() / max(int(still.sum()), 1))
    return s


def row(name, s):
    return (f"{name:<34s} {s['precision']:9.3f} {s['recall']:7.3f} {s['f_measure']:7.3f} "
            f"{s['still_recall']:12.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 channels, 100 epochs, 1 repeat")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--edge-contrast", type=float, default=0.12,
                    help="contrast of the background's sharp edges (surveillance_video)")
    args = ap.parse_args()
    if args.quick:
        args.channels, args.epochs, args.repeats = 8, 100, 1

    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, device {args.device}")
    video = surveillance_video(n_frames=300, height=72, width=88, n_objects=4, n_stopping=1,
                               stop_frames=80, edge_contrast=args.edge_contrast,
                               random_state=args.seed)
    stop = np.flatnonzero(video.still_masks.any(axis=(1, 2)))
    test = np.arange(stop[0] + 15, stop[0] + 65)
    rng = np.random.default_rng(args.seed)
    outside = np.setdiff1d(np.arange(300), np.arange(stop[0], stop[-1] + 1))
    train = np.sort(rng.choice(outside, 50, replace=False))
    D, M, still = video.frames[test], video.masks[test], video.still_masks[test]
    print(f"video 300 x 72 x 88, edge contrast {args.edge_contrast}; test frames "
          f"{test[0]}-{test[-1]} (a person stands still in all of them); 50 training frames "
          f"outside frames {stop[0]}-{stop[-1]}")

    net = ProxUNet(base_channels=args.channels, lr=args.lr, n_epochs=args.epochs,
                   device=args.device, random_state=args.seed)
    t0 = time.perf_counter()
    net.fit(video.frames[train])
    t_train = time.perf_counter() - t0
    n_params = sum(p.numel() for p in net.parameters())
    print(f"U-Net: {args.channels} base channels, {n_params} parameters, Adam lr {args.lr}, "
          f"{args.epochs} full-batch epochs: loss {net.loss_history_[0]:.1f} -> "
          f"{net.loss_history_[-1]:.1f}, training {t_train:.1f} s")

    t_unet, S_unet = median_time(lambda: net.predict(D), args.repeats)
    t_unet1, _ = median_time(lambda: [net.predict(D[i:i + 1]) for i in range(len(D))],
                             args.repeats)
    t_admm, res_admm = median_time(lambda: rpca_admm(D, rho=1.0, max_iter=500), args.repeats)
    t_fb, res_fb = median_time(lambda: rpca_forward_backward(D, max_iter=300), args.repeats)
    L_train = rpca_admm(video.frames[train], rho=1.0, max_iter=500).L
    S_proj = project_foreground(D, L_train)
    S_refined = net.refine(D, S=S_unet, n_iter=10)

    header = f"{'method (50 test frames)':<34s} {'precision':>9s} {'recall':>7s} {'F':>7s} " \
             f"{'still recall':>12s}"
    print("\n" + header)
    print(row("U-Net (trained on other frames)", scores(S_unet, M, still)))
    print(row("U-Net + 10 forward-backward steps", scores(S_refined, M, still)))
    print(row("RPCA-ADMM on the window", scores(res_admm.S, M, still)))
    print(row("RPCA forward-backward on window", scores(res_fb.S, M, still)))
    print(row("RPCA on train frames, projected", scores(S_proj, M, still)))

    print(f"\n{'camera moved in last 10 frames':<34s} {'precision':>9s} {'recall':>7s} "
          f"{'F':>7s} {'still recall':>12s}")
    for label, kw in (("shift (2, 2) px", dict(shift=(2, 2))), ("zoom 1.2x", dict(zoom=1.2))):
        moved, moved_masks = camera_motion(D[-10:], masks=M[-10:], **kw)
        _, moved_still = camera_motion(D[-10:], masks=still[-10:], **kw)
        window = np.concatenate([D[:-10], moved])
        s_net = net.predict(moved)
        s_rpca = rpca_admm(window, rho=1.0, max_iter=500).S[-10:]
        print(row(f"U-Net, {label}", scores(s_net, moved_masks, moved_still)))
        print(row(f"RPCA-ADMM window, {label}", scores(s_rpca, moved_masks, moved_still)))
        print(row(f"RPCA projected, {label}",
                  scores(project_foreground(moved, L_train), moved_masks, moved_still)))

    n = len(D)
    print(f"\ntiming (median of {args.repeats}), per frame of a 50-frame window:")
    print(f"  U-Net inference, batch of 50     {1e3 * t_unet / n:8.2f} ms/frame")
    print(f"  U-Net inference, one at a time   {1e3 * t_unet1 / n:8.2f} ms/frame")
    print(f"  RPCA-ADMM (500 its) on window    {1e3 * t_admm / n:8.2f} ms/frame "
          f"({t_admm / t_unet:.0f}x the U-Net batch)")
    print(f"  RPCA forward-backward (300 its)  {1e3 * t_fb / n:8.2f} ms/frame "
          f"({t_fb / t_unet:.0f}x the U-Net batch)")
    print(f"  (U-Net training, once: {t_train:.1f} s = {t_train / t_admm:.1f} RPCA windows)")


if __name__ == "__main__":
    main()
