"""Scores that compare a result with the ground truth of each kind of data.

Foreground masks (segmentation), calcium footprints and traces, spike templates and detected
spikes, denoised images, and coupling graphs. Metrics never fit a model.
"""

from .footprints import (binarize_footprints, decomposition_errors, footprint_iou,
                         match_footprints, trace_correlation)
from .graphs import support_f1
from .images import psnr
from .segmentation import foreground_mask, otsu_threshold, segmentation_scores
from .spikes import (DetectionCurve, detect_spikes, match_spikes, spike_detection_curve,
                     template_error)

__all__ = [
    # foreground segmentation
    "otsu_threshold", "foreground_mask", "segmentation_scores",
    # calcium imaging
    "binarize_footprints", "footprint_iou", "match_footprints", "trace_correlation",
    "decomposition_errors",
    # spike sorting
    "template_error", "detect_spikes", "match_spikes", "DetectionCurve", "spike_detection_curve",
    # images and graphs
    "psnr", "support_f1",
]
