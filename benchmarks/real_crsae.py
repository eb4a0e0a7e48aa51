"""CRsAE2d on the bundled real photographs against FISTA and classical denoisers, same run.

    OMP_NUM_THREADS=1 python benchmarks/real_crsae.py

The model is trained as in chapter 08, section 5 (16 filters of 7 x 7, T = 30, EM lambda, on
noisy patches of three scikit-image photographs with clean targets). On a 128 x 128 centre crop
of each image in ``fl.datasets.load_natural_images()`` with noise of std 20/255:

- PSNR of the 30-step encoder, of FISTA with the same filters and lambda run to tolerance 1e-4,
  of total variation and of a Gaussian blur (their parameter chosen on a training photograph);
- time of the encoder against FISTA stopped at the *same lasso objective* as the encoder (the
  fewest FISTA steps that reach it) and against FISTA run to tolerance 1e-4.
Times are medians of 5 runs; ratios are FISTA / encoder (above 1: CRsAE faster).
"""

import time

import numpy as np
import torch
from scipy import ndimage
from skimage import color, data, transform
from skimage.restoration import denoise_tv_chambolle

import factorlab as fl
from factorlab.metrics import psnr

ROUNDS = 5
NOISE = 20 / 255


def grey(img):
    img = color.rgb2gray(img) if img.ndim == 3 else img / 255.0
    return transform.resize(img, (256, 256), anti_aliasing=True)


def median_time(fn):
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def steps_to_objective(noisy, model, lam, target):
    """Fewest FISTA steps whose objective is at most ``target`` (doubling, then bisection)."""
    def objective(k):
        codes = fl.fista_csc(noisy, model.filters_, lam, tol=1e-300, max_iter=k)
        return fl.csc_objective(noisy, codes, model.filters_, lam)
    hi = 1
    while objective(hi) > target:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if objective(mid) <= target else (mid, hi)
    return hi


def main():
    torch.set_num_threads(1)
    images = [grey(data.astronaut()), grey(data.coffee()), grey(data.chelsea())]
    clean, noisy = fl.data.noisy_patches(images, n_per_image=80, size=24, noise_std=NOISE,
                                         random_state=0)
    model = fl.CRsAE2d(16, 7, n_iter=30, sigma=NOISE, lam=10.0, prior_rate=500.0,
                       lambda_update="em", lr=1e-2, lr_decay=0.9, n_epochs=8, batch_size=16,
                       random_state=0, progress=False).fit(noisy, targets=clean)
    lam = model.lambda_ * model.sigma_ ** 2
    tune = images[0][64:192, 64:192] - images[0][64:192, 64:192].mean()
    tune_noisy = tune + NOISE * np.random.default_rng(2).standard_normal(tune.shape)
    tv = max([0.02, 0.04, 0.06, 0.08, 0.1, 0.15],
             key=lambda w: psnr(tune, denoise_tv_chambolle(tune_noisy, weight=w)))
    blur = max([0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
               key=lambda s: psnr(tune, ndimage.gaussian_filter(tune_noisy, s)))
    print(f"trained CRsAE2d (16 filters 7x7, T=30); TV weight {tv}, blur sigma {blur} "
          "(chosen on the astronaut)")
    print(f"{'image':<8} {'PSNR: noisy':>11} {'CRsAE':>6} {'FISTA':>6} {'TV':>6} {'blur':>6}"
          f" | {'encoder':>8} {'FISTA=obj':>10} {'ratio':>6} {'FISTA tol':>10} {'ratio':>6}")
    photos = fl.datasets.load_natural_images()
    rng = np.random.default_rng(3)
    for name, img in zip(photos.label_names, photos.data):
        crop = img[192:320, 192:320] / 255.0
        crop = crop - crop.mean()
        y = crop + NOISE * rng.standard_normal(crop.shape)
        enc_codes = model.encode(y)
        target = fl.csc_objective(y, enc_codes.astype(np.float64), model.filters_, lam)
        k = steps_to_objective(y, model, lam, target)
        fista_codes = fl.fista_csc(y, model.filters_, lam, tol=1e-4)
        scores = [psnr(crop, y), psnr(crop, model.decode(enc_codes)),
                  psnr(crop, model.decode(np.asarray(fista_codes, dtype=np.float32))),
                  psnr(crop, denoise_tv_chambolle(y, weight=tv)),
                  psnr(crop, ndimage.gaussian_filter(y, blur))]
        t_enc = median_time(lambda: model.decode(model.encode(y)))
        t_obj = median_time(lambda: fl.fista_csc(y, model.filters_, lam, tol=1e-300,
                                                 max_iter=k))
        t_tol = median_time(lambda: fl.fista_csc(y, model.filters_, lam, tol=1e-4))
        print(f"{name:<8} {scores[0]:11.2f} " + " ".join(f"{s:6.2f}" for s in scores[1:])
              + f" | {t_enc * 1e3:6.1f}ms {t_obj * 1e3:8.1f}ms {t_obj / t_enc:6.1f}"
              f" {t_tol * 1e3:8.1f}ms {t_tol / t_enc:6.1f}   (FISTA steps to equal objective: {k})")


if __name__ == "__main__":
    main()
