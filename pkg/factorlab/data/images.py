"""Patches of images with added noise, for supervised denoising (CRsAE2d and the like)."""

from __future__ import annotations

import numpy as np

from .._backend import check_random_state
from .._validate import check_array, check_int, check_nonnegative_number

__all__ = ["noisy_patches"]


def noisy_patches(images, n_per_image, size, noise_std, center=True, random_state=None):
    """Random square patches of greyscale images and copies with white Gaussian noise.

    Every patch lies wholly inside its image. Positions are drawn first, then the noise, both
    from one generator, so the same seed gives the same patches and noise.

    Parameters
    ----------
    images : list of 2-D arrays, or array of shape (n, height, width)
        Greyscale images of any sizes, each at least ``size`` pixels along both axes (for
        example scikit-image's bundled photographs, or the mean images of a calcium movie).
    n_per_image : int
        Patches drawn from each image.
    size : int
        Side of the square patches in pixels.
    noise_std : float
        Standard deviation of the added noise, in the units of the images.
    center : bool
        Subtract each clean patch's mean (before the noise is added), so that a dictionary
        models the detail rather than the brightness.
    random_state : None, int or numpy Generator

    Returns
    -------
    clean, noisy : ndarrays of shape (len(images) * n_per_image, size, size)
        The patches image by image, and ``clean + noise``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(100.0).reshape(10, 10)
    >>> clean, noisy = noisy_patches([image], n_per_image=3, size=4, noise_std=0.1,
    ...                              random_state=0)
    >>> clean.shape, noisy.shape
    ((3, 4, 4), (3, 4, 4))
    >>> bool(np.allclose(clean.mean(axis=(1, 2)), 0))
    True
    """
    stack = isinstance(images, np.ndarray)
    if not (isinstance(images, (list, tuple)) or (stack and images.ndim == 3)):
        got = type(images).__name__ + (f" of shape {images.shape}" if stack else "")
        raise TypeError("images must be a list of 2-D images or an array of shape (n, height, "
                        f"width), got {got}; wrap a single image in a list: [image].")
    images = [check_array(img, f"images[{k}]", ndim=2, allow_torch=False)
              for k, img in enumerate(images)]
    if len(images) == 0:
        raise ValueError("images is empty; pass at least one 2-D image.")
    n_per_image = check_int(n_per_image, "n_per_image", minimum=1)
    size = check_int(size, "size", minimum=1)
    noise_std = check_nonnegative_number(noise_std, "noise_std")
    for k, img in enumerate(images):
        if min(img.shape) < size:
            raise ValueError(f"images[{k}] has shape {img.shape}, smaller than the patch size "
                             f"{size}; pass a smaller size or larger images.")
    rng = check_random_state(random_state)
    patches = []
    for img in images:
        for _ in range(n_per_image):
            i, j = (int(rng.integers(0, n - size + 1)) for n in img.shape)
            patches.append(img[i:i + size, j:j + size])
    clean = np.array(patches, dtype=np.float64)
    if center:
        clean -= clean.mean(axis=(1, 2), keepdims=True)
    return clean, clean + noise_std * rng.standard_normal(clean.shape)
