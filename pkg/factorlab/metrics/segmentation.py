"""Foreground masks from a sparse component, and how good they are.

Robust PCA and the prox-loss U-Net return a sparse movie ``S``; to compare with a ground-truth
segmentation one thresholds ``|S|`` (Otsu's method, as Sakai et al. do) and counts true and
false positives over all pixels of all frames, as the CDnet 2014 benchmark does for one video.
"""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy
from .._validate import check_array, check_int, check_option

__all__ = ["otsu_threshold", "foreground_mask", "segmentation_scores"]

# CDnet 2014 ground-truth codes: 0 static, 50 hard shadow, 85 outside the region of interest,
# 170 unknown motion, 255 motion. Only 255 is foreground; 85 and 170 are not counted at all.
_CDNET_CODES = (0, 50, 85, 170, 255)


def otsu_threshold(values, nbins=256):
    """Otsu's threshold: the cut of a histogram that maximises the between-class variance.

    For a cut after bin ``k`` the two classes have weights ``w0, w1`` and means ``m0, m1``;
    Otsu picks the ``k`` that maximises ``w0 * w1 * (m0 - m1)**2`` and returns that bin's
    centre (the same convention as ``skimage.filters.threshold_otsu``).

    Parameters
    ----------
    values : array_like or torch.Tensor
        Any shape; flattened.
    nbins : int
        Number of histogram bins between the minimum and maximum value.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> x = np.r_[np.zeros(50), np.ones(50)]
    >>> 0 < otsu_threshold(x) < 1
    True
    """
    x = np.ravel(to_numpy(check_array(values, "values", ndim=tuple(range(1, 9))))).astype(float)
    nbins = check_int(nbins, "nbins", minimum=2)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        return lo
    counts, edges = np.histogram(x, bins=nbins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(counts)  # pixels at or below each bin
    w1 = np.cumsum(counts[::-1])[::-1]  # pixels at or above each bin
    m0 = np.cumsum(counts * centres) / np.maximum(w0, 1)
    m1 = (np.cumsum((counts * centres)[::-1]) / np.maximum(w1[::-1], 1))[::-1]
    # Cut between bin k and k + 1: lower class = bins <= k, upper class = bins > k.
    between = w0[:-1] * w1[1:] * (m0[:-1] - m1[1:]) ** 2
    return float(centres[int(np.argmax(between))])


def foreground_mask(S, threshold="otsu", per_frame=False):
    """Threshold ``|S|`` into a boolean foreground mask.

    Parameters
    ----------
    S : array_like or torch.Tensor of shape (n_frames, height, width) (or any shape)
        A sparse component (robust PCA's ``S``, the U-Net's output).
    threshold : "otsu", "std" or float
        ``"otsu"``: Otsu's threshold of ``|S|``; ``"std"``: ``|S| > std(S)`` (LRSLibrary's
        rule); a number: a fixed threshold on ``|S|``.
    per_frame : bool
        Compute the threshold separately for each frame (first axis) instead of once for all.

    Returns
    -------
    ndarray of bool, same shape as ``S``

    Examples
    --------
    >>> import numpy as np
    >>> S = np.zeros((2, 4, 4)); S[:, 1, 1] = 0.5
    >>> int(foreground_mask(S).sum())
    2
    """
    A = np.abs(to_numpy(check_array(S, "S", ndim=tuple(range(1, 9)))))
    if per_frame:
        if A.ndim < 2:
            raise ValueError("per_frame=True needs S with a frame axis (at least 2-D).")
        return np.stack([foreground_mask(a, threshold) for a in A])
    if isinstance(threshold, str):
        check_option(threshold, "threshold", ("otsu", "std"))
        t = otsu_threshold(A) if threshold == "otsu" else float(np.std(A))
    else:
        t = float(threshold)
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"threshold must be 'otsu', 'std' or a number >= 0, got {threshold!r}.")
    return A > t


def segmentation_scores(predicted, truth, roi=None):
    """Precision, recall and F-measure of a foreground mask, counted as CDnet 2014 does.

    Pixels of all frames are pooled (one video = one count). ``truth`` may be a boolean mask or
    CDnet ground-truth codes (0 static, 50 shadow, 85 outside ROI, 170 unknown, 255 motion):
    then only 255 is foreground, shadows count as background, 85 and 170 are not counted.

    Parameters
    ----------
    predicted : array_like of bool
        The detected foreground.
    truth : array_like of bool or of CDnet codes (uint8), same shape
    roi : array_like of bool, optional
        Count only these pixels (broadcast against ``truth``).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f_measure``, ``specificity``, ``fpr``, ``fnr``, ``pwc``
        (percentage of wrong classifications) and the counts ``tp``, ``fp``, ``fn``, ``tn``.
        A ratio whose denominator is zero is reported as 0.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([True, True, False, False])
    >>> s = segmentation_scores(np.array([True, False, True, False]), truth)
    >>> s["precision"], s["recall"], s["f_measure"]
    (0.5, 0.5, 0.5)
    """
    pred = np.asarray(to_numpy(predicted))
    gt = np.asarray(to_numpy(truth))
    if pred.shape != gt.shape:
        raise ValueError(f"predicted and truth must have the same shape, got {pred.shape} and "
                         f"{gt.shape}.")
    if pred.dtype != bool:
        if not np.isin(pred, (0, 1)).all():
            raise TypeError("predicted must be a boolean mask (use foreground_mask(S) first).")
        pred = pred.astype(bool)
    if gt.dtype == bool or np.isin(gt, (0, 1)).all():
        positive = gt.astype(bool)
        counted = np.ones(gt.shape, dtype=bool)
    else:
        if not np.isin(gt, _CDNET_CODES).all():
            raise ValueError("truth must be boolean or hold CDnet codes 0, 50, 85, 170, 255; got "
                             f"values {np.unique(gt)[:8].tolist()}.")
        positive = gt == 255
        counted = ~np.isin(gt, (85, 170))
    if roi is not None:
        counted = counted & np.broadcast_to(np.asarray(roi, dtype=bool), gt.shape)
    tp = int(np.sum(pred & positive & counted))
    fp = int(np.sum(pred & ~positive & counted))
    fn = int(np.sum(~pred & positive & counted))
    tn = int(np.sum(~pred & ~positive & counted))

    def ratio(a, b):
        return float(a / b) if b else 0.0

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f_measure": ratio(2 * precision * recall, precision + recall),
        "specificity": ratio(tn, tn + fp),
        "fpr": ratio(fp, fp + tn),
        "fnr": ratio(fn, tp + fn),
        "pwc": ratio(100.0 * (fn + fp), tp + fp + fn + tn),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }
