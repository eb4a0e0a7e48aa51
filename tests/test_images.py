"""fl.data.noisy_patches: patches of the images, noise of the asked size, seeds, bad inputs."""

import numpy as np
import pytest

from factorlab.data import noisy_patches


def _ramp(height, width):
    # every pixel value is unique, so a patch's top-left value tells where it was cut
    return np.arange(height * width, dtype=float).reshape(height, width)


def test_patches_are_windows_of_their_image():
    images = [_ramp(9, 12), 1000 + _ramp(6, 7)]
    clean, noisy = noisy_patches(images, n_per_image=20, size=5, noise_std=0.0, center=False,
                                 random_state=0)
    assert clean.shape == noisy.shape == (40, 5, 5)
    np.testing.assert_array_equal(clean, noisy)
    corners = set()
    for k, patch in enumerate(clean):
        img = images[k // 20]
        i, j = np.argwhere(img == patch[0, 0])[0]
        np.testing.assert_array_equal(patch, img[i:i + 5, j:j + 5])
        corners.add((k // 20, i, j))
    # positions vary, and patches touching the far borders (the last valid start) are drawn
    assert len(corners) > 20
    assert any(i == 9 - 5 for img, i, _ in corners if img == 0)
    assert any(j == 12 - 5 for img, _, j in corners if img == 0)
    # a patch as large as its image is the image itself
    _, whole = noisy_patches([_ramp(5, 5)], 1, 5, 0.0, center=False, random_state=0)
    np.testing.assert_array_equal(whole[0], _ramp(5, 5))


def test_centering_and_noise_level():
    rng = np.random.default_rng(3)
    images = [rng.random((64, 64)) + 5.0 for _ in range(2)]
    clean, noisy = noisy_patches(images, 200, 8, noise_std=0.3, random_state=1)
    np.testing.assert_allclose(clean.mean(axis=(1, 2)), 0.0, atol=1e-12)
    assert abs((noisy - clean).std() - 0.3) < 0.01
    assert abs((noisy - clean).mean()) < 0.01


def test_seed_and_inputs_untouched():
    images = np.stack([_ramp(10, 10), _ramp(10, 10) * 2])
    before = images.copy()
    a = noisy_patches(images, 4, 3, 0.5, random_state=7)
    b = noisy_patches(list(images), 4, 3, 0.5, random_state=7)
    c = noisy_patches(images, 4, 3, 0.5, random_state=8)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("images, kwargs, error, match", [
    (_ramp(8, 8), {}, TypeError, "wrap a single image in a list"),
    ("astronaut", {}, TypeError, "list of 2-D images"),
    ([], {}, ValueError, "images is empty"),
    ([np.ones((8, 8, 3))], {}, ValueError, r"images\[0\] must be a 2-D array"),
    ([_ramp(8, 8), _ramp(3, 20)], {}, ValueError, r"images\[1\] has shape \(3, 20\)"),
    ([np.full((8, 8), np.nan)], {}, ValueError, "NaN"),
    ([_ramp(8, 8)], {"size": 0}, ValueError, "size"),
    ([_ramp(8, 8)], {"n_per_image": 0}, ValueError, "n_per_image"),
    ([_ramp(8, 8)], {"noise_std": -1.0}, ValueError, "noise_std"),
])
def test_bad_inputs(images, kwargs, error, match):
    args = {"n_per_image": 2, "size": 4, "noise_std": 0.1, **kwargs}
    with pytest.raises(error, match=match):
        noisy_patches(images, **args)
