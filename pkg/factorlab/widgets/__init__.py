"""ipywidgets explorers used by the chapters.

Each explorer draws its default view at once, so the static book already shows the point; in a
live kernel the controls redraw it. One module per topic; this file only re-exports them.
"""

from .assess import cv_explorer, holdout_explorer
from .basics import rank_explorer
from .matrix import nmf_explorer, pca_explorer
from .models import l1_weight_explorer
from .robust import sparse_explorer
from .var import coupling_explorer

__all__ = [
    "rank_explorer", "pca_explorer", "nmf_explorer", "l1_weight_explorer",
    "cv_explorer", "holdout_explorer", "sparse_explorer", "coupling_explorer",
]
