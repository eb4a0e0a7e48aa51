"""Model assessment and scores.

Similarity across restarts, ensembles, cross-validation and the SVD bound for choosing and
trusting a factorization; and the scores that compare a result with the ground truth of each
kind of data (foreground masks, calcium footprints and traces, spike trains).
"""

from .bounds import svd_bound
from .calcium import (binarize_footprints, decomposition_errors, footprint_iou,
                      match_footprints, trace_correlation)
from .crossval import CVResult, cross_validate, speckled_mask
from .ensemble import Ensemble
from .segmentation import foreground_mask, otsu_threshold, segmentation_scores
from .similarity import align, similarity
from .spikes import (DetectionCurve, detect_spikes, match_spikes, psnr,
                     spike_detection_curve, template_error)

__all__ = [
    # choosing and trusting a model
    "similarity", "align", "Ensemble", "cross_validate", "speckled_mask", "CVResult",
    "svd_bound",
    # foreground segmentation
    "otsu_threshold", "foreground_mask", "segmentation_scores",
    # calcium imaging
    "binarize_footprints", "footprint_iou", "match_footprints", "trace_correlation",
    "decomposition_errors",
    # spike sorting and denoising
    "template_error", "detect_spikes", "match_spikes", "DetectionCurve",
    "spike_detection_curve", "psnr",
]
