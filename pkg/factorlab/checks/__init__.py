"""Answer checks for the workshop exercises.

Each check prints a short confirmation when the answer is right and raises
:class:`ExerciseCheckError` (an ``AssertionError``) with a hint when it is not, so that an
exercise notebook stops at the first wrong answer with advice rather than a bare traceback.
One module per exercise topic; this file only re-exports them.
"""

from ._common import ExerciseCheckError
from .assess import (check_cp_mode_update, check_heldout_error, check_learning_component,
                     check_matched_similarity, check_rank_choice)
from .classical import (check_celltype_agreement, check_dominant_order, check_marker_recall,
                        check_merged_types, check_nestedness, check_pca_als,
                        check_pca_equivalences, check_principal_angles, check_rank_by_gain,
                        check_rank_sweep, check_standardized, check_top_genes)
from .crsae import check_two_sided_relu, check_unrolled_fista
from .prox import check_soft_threshold_backward
from .robust import check_rpca_split, check_shrink, check_svt
from .var import check_coupling_graph, check_lasso_alpha_gradient
from .warmup import check_als_factors

__all__ = [
    "ExerciseCheckError",
    "check_als_factors",
    "check_pca_als", "check_principal_angles", "check_pca_equivalences", "check_standardized",
    "check_rank_sweep", "check_rank_by_gain", "check_dominant_order", "check_celltype_agreement",
    "check_merged_types", "check_top_genes", "check_marker_recall", "check_nestedness",
    "check_matched_similarity", "check_heldout_error", "check_rank_choice",
    "check_cp_mode_update", "check_learning_component",
    "check_shrink", "check_svt", "check_rpca_split",
    "check_soft_threshold_backward",
    "check_two_sided_relu", "check_unrolled_fista",
    "check_coupling_graph", "check_lasso_alpha_gradient",
]
