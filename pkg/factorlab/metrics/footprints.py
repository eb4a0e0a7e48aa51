"""Scores for calcium-imaging decompositions against ground truth.

Footprints are matched one to one (Hungarian assignment on their intersection over union), a
match counts when its IoU reaches ``iou_min``, and the matched cells' traces are correlated.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._backend import to_numpy
from .._validate import check_array

__all__ = ["binarize_footprints", "footprint_iou", "match_footprints", "trace_correlation",
           "decomposition_errors"]


def binarize_footprints(footprints, level=0.2):
    """Boolean masks: pixels above ``level`` times each footprint's peak.

    Examples
    --------
    >>> import numpy as np
    >>> binarize_footprints(np.array([[[0.1, 1.0]]])).tolist()
    [[[False, True]]]
    """
    F = to_numpy(footprints).astype(float)
    if F.ndim < 2:
        raise ValueError(f"footprints must be (cells, height, width) or (cells, pixels), got "
                         f"shape {F.shape}.")
    flat = F.reshape(len(F), -1)
    peak = flat.max(axis=1, keepdims=True)
    return (flat > level * np.where(peak > 0, peak, np.inf)).reshape(F.shape)


def footprint_iou(estimated, truth, level=0.2):
    """Intersection over union of every estimated footprint with every true one.

    Returns
    -------
    ndarray of shape (n_estimated, n_true)

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[1.0, 1.0, 0.0]]]); b = np.array([[[0.0, 1.0, 1.0]]])
    >>> footprint_iou(a, b).round(3).tolist()
    [[0.333]]
    """
    A = binarize_footprints(estimated, level).reshape(len(estimated), -1).astype(float)
    B = binarize_footprints(truth, level).reshape(len(truth), -1).astype(float)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"estimated and true footprints have {A.shape[1]} and {B.shape[1]} "
                         "pixels; they must come from the same field of view.")
    inter = A @ B.T
    union = A.sum(1)[:, None] + B.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_footprints(estimated, truth, iou_min=0.5, level=0.2):
    """Match estimated to true footprints one to one and score the detection.

    Returns
    -------
    dict
        ``pairs`` (list of (estimated, true) index pairs with IoU >= ``iou_min``), ``iou``
        (their IoUs), ``precision``, ``recall``, ``f1`` and ``mean_iou`` (over matched pairs).

    Examples
    --------
    >>> import numpy as np
    >>> F = np.eye(3).reshape(3, 1, 3)
    >>> match_footprints(F[[2, 0]], F)["f1"]
    0.8
    """
    iou = footprint_iou(estimated, truth, level)
    rows, cols = linear_sum_assignment(-iou)
    keep = iou[rows, cols] >= iou_min
    pairs = [(int(r), int(c)) for r, c in zip(rows[keep], cols[keep])]
    tp = len(pairs)
    precision = tp / iou.shape[0] if iou.shape[0] else 0.0
    recall = tp / iou.shape[1] if iou.shape[1] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    ious = iou[rows[keep], cols[keep]]
    return {"pairs": pairs, "iou": ious, "precision": precision, "recall": recall, "f1": f1,
            "mean_iou": float(ious.mean()) if tp else 0.0}


def trace_correlation(estimated, truth, pairs):
    """Pearson correlation of matched traces (columns of ``(frames, cells)`` arrays).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10.0)[:, None]
    >>> trace_correlation(2 * t + 1, t, [(0, 0)]).tolist()
    [1.0]
    """
    E = to_numpy(check_array(estimated, "estimated", mask_hint=False)).astype(float)
    T = to_numpy(check_array(truth, "truth", mask_hint=False)).astype(float)
    if E.shape[0] != T.shape[0]:
        raise ValueError(f"estimated and truth must have the same number of frames (rows), got "
                         f"{E.shape[0]} and {T.shape[0]}.")
    out = []
    for i, j in pairs:
        a, b = E[:, i] - E[:, i].mean(), T[:, j] - T[:, j].mean()
        denom = np.linalg.norm(a) * np.linalg.norm(b)
        out.append(float(a @ b / denom) if denom > 0 else 0.0)
    return np.array(out)


def decomposition_errors(L, S, L_true, S_true):
    """Relative errors ``||L - L*||_F / ||L*||_F`` and ``||S - S*||_F / ||S*||_F``.

    Examples
    --------
    >>> import numpy as np
    >>> decomposition_errors(np.ones(4), np.zeros(4), np.ones(4), np.ones(4))
    {'L': 0.0, 'S': 1.0}
    """
    def rel(a, b):
        a, b = to_numpy(a).astype(float), to_numpy(b).astype(float)
        if a.shape != b.shape:
            raise ValueError(f"shapes differ: estimate {a.shape} vs truth {b.shape}.")
        return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))

    return {"L": rel(L, L_true), "S": rel(S, S_true)}
