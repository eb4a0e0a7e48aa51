"""Surveillance video generator (factorlab.data.video) and segmentation scores (assess)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factorlab.metrics import foreground_mask, otsu_threshold, segmentation_scores
from factorlab.data import camera_motion, surveillance_video


# --- the video ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def video():
    return surveillance_video(n_frames=60, height=40, width=48, n_objects=3, n_stopping=1,
                              stop_frames=20, random_state=0)


def test_video_shapes_ranges_and_seed(video):
    assert video.frames.shape == video.background.shape == video.masks.shape == (60, 40, 48)
    assert video.frames.dtype == np.float32 and video.masks.dtype == bool
    assert 0 <= video.frames.min() and video.frames.max() <= 1
    again = surveillance_video(n_frames=60, height=40, width=48, n_objects=3, n_stopping=1,
                               stop_frames=20, random_state=0)
    np.testing.assert_array_equal(video.frames, again.frames)
    other = surveillance_video(n_frames=60, height=40, width=48, n_objects=3, random_state=1)
    assert not np.array_equal(video.frames, other.frames)


def test_background_has_rank_two_and_frames_differ_from_it_only_under_masks(video):
    s = np.linalg.svd(video.background.reshape(60, -1).astype(float), compute_uv=False)
    assert s[2] < 1e-5 * s[0]
    residual = np.abs(video.frames - video.background)
    assert residual[~video.masks].max() < 0.1            # only noise outside the sprites
    assert residual[video.masks].mean() > 0.15           # sprites stand out from the background


def test_stopping_sprite_stands_still_for_stop_frames(video):
    still_frames = np.flatnonzero(video.still_masks.any(axis=(1, 2)))
    assert 15 <= len(still_frames) <= 20                  # other sprites may walk in front
    assert not (video.still_masks & ~video.masks).any()
    # a standing sprite covers the same pixels in every frame of its stop (up to occlusion)
    union = video.still_masks.any(axis=0)
    assert union.sum() == video.still_masks.sum(axis=(1, 2)).max()


def test_video_no_stop_and_bad_arguments():
    v = surveillance_video(n_frames=10, height=20, width=20, n_stopping=0, random_state=0)
    assert not v.still_masks.any()
    with pytest.raises(ValueError, match="n_stopping must be <= 2"):
        surveillance_video(n_objects=2, n_stopping=3)
    with pytest.raises(ValueError, match="illumination must be < 1"):
        surveillance_video(illumination=1.5)
    with pytest.raises(TypeError, match="n_frames"):
        surveillance_video(n_frames=10.5)


def test_camera_motion_shift_and_zoom(video):
    moved, mmask = camera_motion(video.frames[:2], shift=(3, -2), masks=video.masks[:2])
    np.testing.assert_allclose(moved[:, 10:30, 10:30], video.frames[:2, 7:27, 12:32], atol=1e-6)
    np.testing.assert_array_equal(mmask[:, 10:30, 10:30], video.masks[:2, 7:27, 12:32])
    zoomed, zmask = camera_motion(video.frames[:2], zoom=1.2, masks=video.masks[:2])
    assert zoomed.shape == video.frames[:2].shape and zmask.dtype == bool
    assert zmask.sum() > 1.2 * video.masks[:2].sum()     # objects look larger (1.44x area)
    single = camera_motion(video.frames[0], zoom=1.0)
    np.testing.assert_allclose(single, video.frames[0], atol=1e-6)
    with pytest.raises(TypeError, match="shift must be a pair"):
        camera_motion(video.frames, shift=3)
    with pytest.raises(ValueError, match="masks must have the shape"):
        camera_motion(video.frames, masks=video.masks[:2])


# --- Otsu and scores ---------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), nbins=st.sampled_from([16, 64, 256]))
def test_otsu_matches_scikit_image(seed, nbins):
    filters = pytest.importorskip("skimage.filters")
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(0, 1, 500), rng.normal(rng.uniform(2, 6), 0.5, 200)]
    assert otsu_threshold(x, nbins) == pytest.approx(filters.threshold_otsu(x, nbins=nbins))


def test_otsu_on_an_image_and_constant_input():
    filters = pytest.importorskip("skimage.filters")
    data = pytest.importorskip("skimage.data")
    img = data.camera() / 255.0  # (integer images: skimage counts one bin per level)
    assert otsu_threshold(img) == pytest.approx(filters.threshold_otsu(img))
    assert otsu_threshold(np.full(5, 0.3)) == 0.3


def test_foreground_mask_rules():
    S = np.zeros((2, 5, 5))
    S[0, 1, 1], S[1, 2, 2] = -0.8, 0.4
    assert foreground_mask(S).sum() == 2
    assert foreground_mask(S, threshold=0.5).sum() == 1
    assert foreground_mask(S, threshold="std").sum() == 2
    assert foreground_mask(S, per_frame=True).sum() == 2
    with pytest.raises(ValueError, match="threshold must be one of"):
        foreground_mask(S, threshold="mean")
    with pytest.raises(ValueError, match="threshold must be"):
        foreground_mask(S, threshold=-1.0)


def test_scores_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    truth = rng.random((4, 10, 10)) < 0.2
    pred = truth ^ (rng.random((4, 10, 10)) < 0.1)
    s = segmentation_scores(pred, truth)
    assert s["precision"] == pytest.approx(metrics.precision_score(truth.ravel(), pred.ravel()))
    assert s["recall"] == pytest.approx(metrics.recall_score(truth.ravel(), pred.ravel()))
    assert s["f_measure"] == pytest.approx(metrics.f1_score(truth.ravel(), pred.ravel()))
    assert s["tp"] + s["fp"] + s["fn"] + s["tn"] == truth.size
    assert s["pwc"] == pytest.approx(100 * np.mean(pred != truth))


def test_cdnet_codes_and_roi():
    gt = np.array([255, 255, 50, 0, 85, 170], dtype=np.uint8)
    pred = np.array([True, False, True, False, True, True])
    s = segmentation_scores(pred, gt)   # shadow counts as background, 85/170 not counted
    assert (s["tp"], s["fn"], s["fp"], s["tn"]) == (1, 1, 1, 1)
    roi = np.array([True, True, False, True, True, True])
    assert segmentation_scores(pred, gt, roi=roi)["fp"] == 0
    with pytest.raises(ValueError, match="CDnet codes"):
        segmentation_scores(pred, np.array([1, 2, 3, 4, 5, 6]))
    with pytest.raises(ValueError, match="same shape"):
        segmentation_scores(pred, gt[:3])
    with pytest.raises(TypeError, match="boolean mask"):
        segmentation_scores(np.linspace(0, 1, 6), gt)
