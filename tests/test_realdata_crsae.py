"""CRsAE2d on the bundled real photographs: a briefly trained model denoises crops it never
saw, and its 30-step encoder is close to the converged lasso with the same filters."""

import numpy as np
import pytest
import torch

import factorlab as fl
from factorlab.metrics import psnr

NOISE = 20 / 255


@pytest.fixture(scope="module")
def model_and_crops():
    torch.set_num_threads(1)
    photos = fl.datasets.load_natural_images()
    rng = np.random.default_rng(0)
    scaled = [img / 255.0 for img in photos.data]
    # train on the brick and grass photographs, test on crops of the cameraman and gravel
    clean, noisy = fl.data.noisy_patches([s[:256, :256] for s in scaled[1:3]], n_per_image=40,
                                         size=20, noise_std=NOISE, random_state=0)
    model = fl.CRsAE2d(8, 5, n_iter=20, sigma=NOISE, lam=10.0, prior_rate=500.0, lr=1e-2,
                       n_epochs=3, batch_size=16, random_state=0, progress=False)
    model.fit(noisy, targets=clean)
    crops = []
    for s in (scaled[0], scaled[3]):
        crop = s[200:264, 200:264] - s[200:264, 200:264].mean()
        crops.append((crop, crop + NOISE * rng.standard_normal(crop.shape)))
    return model, crops


def test_trained_model_denoises_unseen_real_crops(model_and_crops):
    model, crops = model_and_crops
    for clean, noisy in crops:
        gain = psnr(clean, model.decode(model.encode(noisy))) - psnr(clean, noisy)
        assert gain > 2.0          # measured 4.2 dB (cameraman) and 3.0 dB (gravel)


def test_encoder_objective_is_close_to_the_converged_lasso(model_and_crops):
    model, crops = model_and_crops
    lam = model.lambda_ * model.sigma_ ** 2
    for _, noisy in crops:
        converged = fl.fista_csc(noisy, model.filters_, lam, tol=1e-6)
        unrolled = model.encode(noisy).astype(np.float64)
        best = fl.csc_objective(noisy, converged, model.filters_, lam)
        ours = fl.csc_objective(noisy, unrolled, model.filters_, lam)
        assert best <= ours * (1 + 1e-9)
        assert ours < 1.1 * best   # measured 1.03-1.04: the 20-step encoder is near the optimum
