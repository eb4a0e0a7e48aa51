"""A synthetic surveillance video with exact foreground masks.

The scene imitates the I2R "hall" sequence used in the robust-PCA and DeepLS papers: a textured
background under slowly drifting light (a rank-2 movie), people-like sprites that walk across it,
and some sprites that *stop* for a while. Stopped sprites are the interesting part: inside a
window where they do not move they are part of the low-rank background as far as robust PCA can
tell, so RPCA misses them, while a detector that has learnt what the objects look like does not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from .._backend import check_random_state
from .._validate import check_array, check_int, check_nonnegative_number, check_positive

__all__ = ["SurveillanceVideo", "surveillance_video", "camera_motion"]


class SurveillanceVideo(NamedTuple):
    """What :func:`surveillance_video` returns (unpacks like a tuple).

    Attributes
    ----------
    frames : ndarray of shape (n_frames, height, width), float32 in [0, 1]
        The movie the methods see (background, sprites and noise).
    background : ndarray of shape (n_frames, height, width), float32
        The background alone under the same illumination (the true low-rank part).
    masks : ndarray of shape (n_frames, height, width), bool
        True where a sprite covers the pixel (the ground-truth foreground).
    still_masks : ndarray of shape (n_frames, height, width), bool
        The part of ``masks`` covered by sprites that are standing still in that frame.
    """

    frames: np.ndarray
    background: np.ndarray
    masks: np.ndarray
    still_masks: np.ndarray


def _background_texture(rng, height, width, edge_contrast):
    """Floor, walls and doors: a smooth field plus a few flat rectangles with sharp edges."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = 0.5 + 0.08 * np.sin(6.0 * xx + 1.0) * np.cos(4.0 * yy)
    base += 0.05 * ndimage.gaussian_filter(rng.standard_normal((height, width)), 2.0) * 4.0
    base += 0.02 * rng.standard_normal((height, width))  # fine grain (tiles, carpet)
    for _ in range(6):
        h, w = rng.integers(height // 8, height // 3), rng.integers(width // 10, width // 4)
        y, x = rng.integers(0, height - h), rng.integers(0, width - w)
        base[y:y + h, x:x + w] += rng.uniform(-edge_contrast, edge_contrast)
    return np.clip(base, 0.2, 0.8)


def _sprite(rng, height):
    """A person-like sprite: an elliptic body and a round head, with its own shading."""
    ry = max(3, int(round(rng.uniform(0.09, 0.13) * height)))
    rx = max(2, int(round(ry * rng.uniform(0.35, 0.5))))
    head = max(1, int(round(rx * 0.8)))
    h, w = 2 * ry + 2 * head + 1, 2 * rx + 1
    yy, xx = np.mgrid[0:h, 0:w]
    body = ((yy - (2 * head + ry)) / ry) ** 2 + ((xx - rx) / rx) ** 2 <= 1.0
    skull = (yy - head) ** 2 + (xx - rx) ** 2 <= head ** 2
    mask = body | skull
    # Dark or bright clothes, clearly off the background level, with a vertical shading.
    level = rng.choice([-1.0, 1.0]) * rng.uniform(0.22, 0.32)
    shade = level + 0.06 * np.cos(np.pi * yy / h + rng.uniform(0, np.pi))
    shade += 0.02 * rng.standard_normal((h, w))
    return mask, shade


def _trajectory(rng, n_frames, span_y, span_x, stop):
    """Positions of a sprite that walks with constant speed, bounces off the walls, and stands
    still during ``stop`` (a range of frames, possibly empty)."""
    pos = np.array([rng.uniform(0, span_y), rng.uniform(0, span_x)])
    angle = rng.uniform(-0.5, 0.5) + rng.choice([0.0, np.pi])  # mostly walking sideways
    vel = rng.uniform(0.7, 1.4) * np.array([np.sin(angle), np.cos(angle)])
    out = np.empty((n_frames, 2))
    for t in range(n_frames):
        out[t] = pos
        if t in stop:
            continue
        pos = pos + vel
        for k, span in enumerate((span_y, span_x)):
            if pos[k] < 0 or pos[k] > span:
                vel[k] = -vel[k]
                pos[k] = np.clip(pos[k], 0, span)
    return np.round(out).astype(int)


def surveillance_video(n_frames=300, height=72, width=88, n_objects=4, n_stopping=1,
                       stop_frames=None, illumination=0.15, noise=0.01, edge_contrast=0.12,
                       random_state=None):
    """Draw a surveillance-like movie with its background and exact foreground masks.

    The background is a fixed texture under an illumination drift with two components (a
    global gain and a left-right gradient), so the true background movie has rank 2. Sprites
    move at about one pixel per frame and bounce off the borders; the first ``n_stopping`` of
    them stand still for ``stop_frames`` consecutive frames at a random time.

    Parameters
    ----------
    n_frames, height, width : int
        Size of the movie, ``(n_frames, height, width)``.
    n_objects : int
        Number of sprites (people).
    n_stopping : int
        How many of them stop for a while (at most ``n_objects``).
    stop_frames : int, optional
        Length of each stop, in frames (at most ``n_frames``); default a quarter of the movie.
    illumination : float
        Relative amplitude of the light drift (0 = constant light).
    noise : float
        Standard deviation of the additive Gaussian noise.
    edge_contrast : float
        Largest brightness step of the flat rectangles (doors, posters) in the background;
        sharp edges are what make a moved camera hard for a fixed background model.
    random_state : int, numpy.random.Generator or None
        Seed; the same seed gives the same movie.

    Returns
    -------
    SurveillanceVideo
        ``(frames, background, masks, still_masks)``; see :class:`SurveillanceVideo`.

    Examples
    --------
    >>> video = surveillance_video(n_frames=20, height=36, width=44, random_state=0)
    >>> video.frames.shape, video.masks.dtype.name
    ((20, 36, 44), 'bool')
    >>> bool(video.frames.min() >= 0 and video.frames.max() <= 1)
    True
    """
    n_frames = check_int(n_frames, "n_frames", minimum=2)
    height = check_int(height, "height", minimum=16)
    width = check_int(width, "width", minimum=16)
    n_objects = check_int(n_objects, "n_objects", minimum=0)
    n_stopping = check_int(n_stopping, "n_stopping", minimum=0, maximum=n_objects)
    if stop_frames is None:
        stop_frames = max(1, n_frames // 4)
    stop_frames = check_int(stop_frames, "stop_frames", minimum=1, maximum=n_frames)
    illumination = check_nonnegative_number(illumination, "illumination")
    if illumination >= 1:
        raise ValueError(f"illumination must be < 1 (a relative amplitude), got {illumination}.")
    noise = check_nonnegative_number(noise, "noise")
    edge_contrast = check_nonnegative_number(edge_contrast, "edge_contrast")
    rng = check_random_state(random_state)

    texture = _background_texture(rng, height, width, edge_contrast)
    t = np.arange(n_frames) / n_frames
    gain = 1.0 + illumination * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 2 * np.pi))
    tilt = 0.5 * illumination * np.cos(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi))
    ramp = np.linspace(-0.5, 0.5, width)[None, :] * np.ones((height, 1))
    background = gain[:, None, None] * texture + tilt[:, None, None] * ramp

    frames = background.copy()
    masks = np.zeros((n_frames, height, width), dtype=bool)
    still = np.zeros_like(masks)
    for k in range(n_objects):
        mask, shade = _sprite(rng, height)
        h, w = mask.shape
        stop = range(0)
        if k < n_stopping:
            start = int(rng.integers(0, n_frames - stop_frames + 1))
            stop = range(start, start + stop_frames)
        path = _trajectory(rng, n_frames, height - h, width - w, stop)
        for f, (y, x) in enumerate(path):
            # The sprite is lit by the same light as the scene; later sprites occlude earlier.
            patch = frames[f, y:y + h, x:x + w]
            patch[mask] = gain[f] * (texture[y:y + h, x:x + w][mask] + shade[mask])
            masks[f, y:y + h, x:x + w] |= mask
            if f in stop:
                still[f, y:y + h, x:x + w] |= mask
            else:  # a walking sprite in front hides a standing one
                still[f, y:y + h, x:x + w] &= ~mask
    frames = frames + noise * rng.standard_normal(frames.shape)
    return SurveillanceVideo(np.clip(frames, 0, 1).astype(np.float32),
                             background.astype(np.float32), masks, still)


def camera_motion(frames, shift=(0.0, 0.0), zoom=1.0, masks=None):
    """Move the camera: shift by ``(dy, dx)`` pixels and/or zoom about the frame centre.

    Used to test a background model on frames whose background no longer lines up with the
    training frames (DeepLS's shift and 1.2x zoom test). Pixels that come in from outside the
    field of view are filled by reflection, so the frames stay realistic.

    Parameters
    ----------
    frames : array_like of shape (n_frames, height, width) or (height, width)
    shift : pair of float
        Content moves down by ``dy`` and right by ``dx`` pixels.
    zoom : float
        Magnification (``1.2`` = objects look 20 % larger).
    masks : array_like of bool, same shape as ``frames``, optional
        Ground-truth masks, moved the same way (nearest neighbour).

    Returns
    -------
    moved : ndarray, same shape and dtype as ``frames``
    moved_masks : ndarray of bool
        Only when ``masks`` is given.

    Examples
    --------
    >>> img = np.zeros((1, 5, 5)); img[0, 2, 2] = 1.0
    >>> np.argwhere(camera_motion(img, shift=(1, 0)) > 0.5).tolist()
    [[0, 3, 2]]
    """
    arr = check_array(frames, "frames", ndim=(2, 3), allow_torch=False)
    zoom = check_positive(zoom, "zoom")
    try:
        dy, dx = (float(s) for s in shift)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"shift must be a pair of numbers (dy, dx), got {shift!r}.") from exc
    stack = arr[None] if arr.ndim == 2 else arr
    centre = (np.array(stack.shape[1:]) - 1) / 2.0
    # Output pixel o samples the input at centre + (o - centre) / zoom - shift.
    matrix = np.eye(2) / zoom
    offset = centre - matrix @ centre - np.array([dy, dx]) / zoom

    def move(img, order):
        return ndimage.affine_transform(img, matrix, offset=offset, order=order, mode="reflect")

    moved = np.stack([move(f, 1) for f in stack]).astype(arr.dtype).reshape(arr.shape)
    if masks is None:
        return moved
    m = np.asarray(masks)
    if m.shape != arr.shape:
        raise ValueError(f"masks must have the shape of frames {arr.shape}, got {m.shape}.")
    m_stack = m[None] if m.ndim == 2 else m
    moved_masks = np.stack([move(f.astype(np.float32), 0) > 0.5 for f in m_stack])
    return moved, moved_masks.reshape(arr.shape)
