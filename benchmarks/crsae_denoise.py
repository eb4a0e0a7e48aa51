"""Image denoising with CRsAE2d: the EM lambda against a freely learned bias, by unrolled steps T.

The CRsAE paper reports that learning lambda by its EM update denoises better than learning the
threshold as a free bias. This script trains both variants on the book's data (noisy 24 x 24
patches of scikit-image's astronaut, coffee and chelsea photographs, noise std 20/255, clean
patches as targets; 16 filters of 7 x 7) with T = 10, 20 and 30 unrolled FISTA steps, and a
longer run at T = 30, and prints the PSNR on a noisy crop of the cameraman. Run:

    OMP_NUM_THREADS=1 python benchmarks/crsae_denoise.py          # about 3 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

NOISE = 20 / 255
# (unrolled steps T, epochs): the chapter trains with (30, 8)
SETTINGS = [(10, 8), (20, 8), (30, 8), (30, 16)]


def denoising_data():
    """Training patches (clean, noisy) and a test image (clean, noisy), as in the chapter."""
    from skimage import color, data, transform

    from factorlab.data import noisy_patches

    def grey(img):
        img = color.rgb2gray(img) if img.ndim == 3 else img / 255.0
        return transform.resize(img, (256, 256), anti_aliasing=True)

    train = [grey(data.astronaut()), grey(data.coffee()), grey(data.chelsea())]
    clean, noisy = noisy_patches(train, n_per_image=80, size=24, noise_std=NOISE, random_state=0)
    test = grey(data.camera())[64:192, 64:192]
    test = test - test.mean()
    return clean, noisy, test, test + NOISE * np.random.default_rng(1).standard_normal(test.shape)


def run(n_iter, n_epochs, mode):
    import torch

    from factorlab.metrics import psnr
    from factorlab.csc import CRsAE2d
    torch.set_num_threads(1)
    clean, noisy, test, test_noisy = denoising_data()
    t0 = time.perf_counter()
    model = CRsAE2d(16, 7, n_iter=n_iter, sigma=NOISE, lam=10.0, prior_rate=500.0,
                    lambda_update=mode, lr=1e-2, lr_decay=0.9, n_epochs=n_epochs, batch_size=16,
                    random_state=0).fit(noisy, targets=clean)
    score = psnr(test, model.decode(model.encode(test_noisy)))
    return score, float(np.mean(model.lambda_)), time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    from factorlab.metrics import psnr
    _, _, test, test_noisy = denoising_data()
    tasks = [(T, epochs, mode) for T, epochs in SETTINGS for mode in ("em", "bias")]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        results = dict(zip(tasks, pool.map(run, *zip(*tasks))))
    print(f"PSNR of the noisy test crop: {psnr(test, test_noisy):.2f} dB")
    print("   T  epochs  PSNR EM lambda  PSNR free bias  EM - bias  mean EM lambda  seconds (EM, bias)")
    for T, epochs in SETTINGS:
        (em, lam, t_em), (bias, _, t_bias) = results[T, epochs, "em"], results[T, epochs, "bias"]
        print(f"{T:4d}  {epochs:6d}  {em:11.2f} dB  {bias:11.2f} dB  {em - bias:+6.2f} dB"
              f"  {lam:14.1f}  {t_em:7.0f} {t_bias:5.0f}")


if __name__ == "__main__":
    main()
