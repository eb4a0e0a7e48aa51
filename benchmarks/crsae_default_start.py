"""CRsAE1d from its default start on recordings it was not built on (issue 13, item 1).

    OMP_NUM_THREADS=1 python benchmarks/crsae_default_start.py            # 10 recordings
    OMP_NUM_THREADS=1 python benchmarks/crsae_default_start.py --before   # the old defaults
    OMP_NUM_THREADS=1 python benchmarks/crsae_default_start.py --quick    # 4 short ones

The recordings come from a simulator written here, independent of ``factorlab.data`` (other
waveform families: biphasic, triphasic and damped oscillations, 30 % of them inverted; a
renewal process with an exponential interval after a refractory period; per-neuron amplitude
scales; SNR = 20 log10(RMS of the clean signal where it is non-zero / noise std), as in the
CRsAE simulations). Each recording draws its neuron count (2-6), template length (20-60
samples), SNR (10-20 dB), firing rates (10-50 Hz per neuron), window length and count. The
model is told only ``n_filters`` and ``filter_length``: ``CRsAE1d(C, K,
random_state=0).fit(windows)``. A recording passes when every template error (sine of the
angle at the best shift and matching, ``factorlab.metrics.template_error``) is below 0.1.
``--before`` runs the defaults before issue 13 (random start, EM lambda, two-sided codes,
lr 1e-2, 10 epochs of batches of 64), spelled out.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import factorlab as fl
from factorlab.metrics import template_error

FS = 10_000
OLD_DEFAULTS = dict(init="random", lambda_update="em", nonnegative=False, lr=1e-2,
                    lr_decay=1.0, n_epochs=10, batch_size=64)


def waveform(rng, K):
    """One unit-norm spike waveform of K samples from one of three families."""
    t = np.arange(K, dtype=float)
    kind = rng.integers(3)
    c = rng.uniform(0.25, 0.45) * K                      # trough position
    w = rng.uniform(0.025, 0.12) * K                     # trough width
    if kind == 0:    # biphasic: trough and a delayed, wider rebound
        h = -np.exp(-0.5 * ((t - c) / w) ** 2) + rng.uniform(0.3, 0.6) * np.exp(
            -0.5 * ((t - c - rng.uniform(2, 4) * w) / (rng.uniform(1.5, 3) * w)) ** 2)
    elif kind == 1:  # triphasic: a small lead, the trough, a rebound
        h = (rng.uniform(0.15, 0.35) * np.exp(-0.5 * ((t - c + 2.2 * w) / w) ** 2)
             - np.exp(-0.5 * ((t - c) / w) ** 2)
             + rng.uniform(0.3, 0.5) * np.exp(-0.5 * ((t - c - 3 * w) / (2 * w)) ** 2))
    else:            # damped oscillation
        f = rng.uniform(0.6, 1.2) / (4 * w)
        h = -np.cos(2 * np.pi * f * (t - c)) * np.exp(-0.5 * ((t - c) / (1.6 * w)) ** 2)
    h *= np.hanning(K + 2)[1:-1] ** 0.25                 # taper to zero at the ends
    if rng.random() < 0.3:
        h = -h
    return h / np.linalg.norm(h)


def simulate(seed, n_neurons, K, snr_db, rates, n_windows, W):
    """Windows (n_windows, W), true templates (C, K) and the noise std."""
    rng = np.random.default_rng(seed)
    H = []
    for _ in range(100_000):
        h = waveform(rng, K)
        if all(np.abs(np.correlate(h, g, "full")).max() < 0.8 for g in H):
            H.append(h)
        if len(H) == n_neurons:
            break
    H = np.array(H)
    n = n_windows * W
    clean = np.zeros(n + K - 1)
    for c in range(n_neurons):
        gaps = K + rng.exponential(FS / rates[c], size=int(3 * n * rates[c] / FS) + 10)
        onsets = np.cumsum(gaps).astype(int)
        onsets = onsets[onsets < n]
        scale = rng.uniform(0.8, 1.3)
        amplitudes = scale * (1 + 0.1 * rng.standard_normal(len(onsets)))
        x = np.zeros(n)
        np.add.at(x, onsets, amplitudes)
        clean += np.convolve(x, H[c])
    clean = clean[:n]
    active = clean[np.abs(clean) > 1e-3 * np.abs(clean).max()]
    noise = np.sqrt(np.mean(active ** 2)) / 10 ** (snr_db / 20)
    return (clean + noise * rng.standard_normal(n)).reshape(n_windows, W), H, noise


def settings(n_recordings, quick):
    rng = np.random.default_rng(2026)
    out = []
    for i in range(n_recordings):
        C = int(rng.integers(2, 7))
        K = int(rng.integers(20, 61))
        snr = float(rng.uniform(10, 20))
        rates = rng.uniform(10, 50, C)
        W = int(rng.choice([400, 600, 800]))
        W = max(W, 8 * K)
        n_windows = int(rng.integers(200, 401))
        n_windows = 150 if quick else n_windows       # --quick: the first 4, shorter
        out.append(dict(seed=100 + i, n_neurons=C, K=K, snr_db=snr, rates=rates,
                        n_windows=n_windows, W=W))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 recordings of 150 windows")
    parser.add_argument("--before", action="store_true", help="the defaults before issue 13")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra = OLD_DEFAULTS if args.before else {}
    label = "OLD defaults " + repr(OLD_DEFAULTS) if args.before else "defaults"
    print(f"CRsAE1d(n_filters, filter_length, random_state=0) with {label}; torch "
          f"{torch.__version__}, factorlab {fl.__version__}")
    print(f"{'rec':>3} {'C':>2} {'K':>3} {'SNR':>5} {'rates (Hz)':>11} {'windows':>9} "
          f"{'sigma/true':>10} {'fit s':>6}  {'start errors':<30} {'learned errors':<30} pass")
    n_pass, total = 0, 0.0
    cases = settings(4 if args.quick else 10, args.quick)
    for i, s in enumerate(cases):
        Y, H, noise = simulate(s["seed"], s["n_neurons"], s["K"], s["snr_db"], s["rates"],
                               s["n_windows"], s["W"])
        t0 = time.perf_counter()
        model = fl.CRsAE1d(s["n_neurons"], s["K"], random_state=0, **extra).fit(Y)
        elapsed = time.perf_counter() - t0
        total += elapsed
        start = template_error(H, model.filter_history_[0])[0]
        err = template_error(H, model.filters_)[0]
        ok = bool((err < 0.1).all())
        n_pass += ok
        rates = f"{s['rates'].min():.0f}-{s['rates'].max():.0f}"
        fmt = lambda e: " ".join(f"{v:.3f}" for v in e)
        print(f"{i:3d} {s['n_neurons']:2d} {s['K']:3d} {s['snr_db']:5.1f} {rates:>11} "
              f"{s['n_windows']:4d}x{s['W']:<4d} {model.sigma_ / noise:10.3f} {elapsed:6.1f}  "
              f"{fmt(start):<30} {fmt(err):<30} {'yes' if ok else 'NO'}", flush=True)
    print(f"\nall templates below 0.1 in {n_pass} of {len(cases)} recordings; "
          f"fit time {total:.0f} s in all")


if __name__ == "__main__":
    main()
