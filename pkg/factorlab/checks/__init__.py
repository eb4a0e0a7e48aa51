"""Answer checks for the workshop exercises.

Each check prints a short confirmation when the answer is right and raises
:class:`ExerciseCheckError` (an ``AssertionError``) with a hint when it is not, so that an
exercise notebook stops at the first wrong answer with advice rather than a bare traceback.
Where an answer is a function, the check calls it on its own fresh inputs, so that a value
left from an earlier run cannot pass. One module per exercise topic; this file only
re-exports them.
"""

from ._common import ExerciseCheckError
from .assess import (
                     check_choose_rank,
                     check_cp_mode_update,
                     check_heldout_error,
                     check_learning_component,
                     check_matched_similarity,
                     check_rank_choice,
                     check_stable_rank,
)
from .classical import (
                     check_als_updates,
                     check_celltype_agreement,
                     check_centre,
                     check_dominant_order,
                     check_marker_recall,
                     check_merged_types,
                     check_nestedness,
                     check_pca_als,
                     check_pca_equivalences,
                     check_principal_angles,
                     check_principal_axes,
                     check_rank_by_gain,
                     check_rank_sweep,
                     check_standardized,
                     check_top_genes,
)
from .crsae import (
                     check_fista_step,
                     check_two_sided_relu,
                     check_unrolled_encoder,
                     check_unrolled_fista,
)
from .prox import check_soft_threshold_backward
from .robust import check_ialm, check_rpca_split, check_shrink, check_svt
from .sequences import (
                     check_best_rank_and_lag,
                     check_conv_reconstruct,
                     check_null_template,
                     check_p_value,
                     check_template_match,
)
from .var import check_coupling_edges, check_coupling_graph, check_lasso_alpha_gradient
from .warmup import check_als, check_als_factors, check_error_curve

__all__ = [
                     "ExerciseCheckError",
                     "check_als",
                     "check_als_factors",
                     "check_als_updates",
                     "check_best_rank_and_lag",
                     "check_celltype_agreement",
                     "check_centre",
                     "check_choose_rank",
                     "check_conv_reconstruct",
                     "check_coupling_edges",
                     "check_coupling_graph",
                     "check_cp_mode_update",
                     "check_dominant_order",
                     "check_error_curve",
                     "check_fista_step",
                     "check_heldout_error",
                     "check_ialm",
                     "check_lasso_alpha_gradient",
                     "check_learning_component",
                     "check_marker_recall",
                     "check_matched_similarity",
                     "check_merged_types",
                     "check_nestedness",
                     "check_null_template",
                     "check_p_value",
                     "check_pca_als",
                     "check_pca_equivalences",
                     "check_principal_angles",
                     "check_principal_axes",
                     "check_rank_by_gain",
                     "check_rank_choice",
                     "check_rank_sweep",
                     "check_rpca_split",
                     "check_shrink",
                     "check_soft_threshold_backward",
                     "check_stable_rank",
                     "check_standardized",
                     "check_svt",
                     "check_template_match",
                     "check_top_genes",
                     "check_two_sided_relu",
                     "check_unrolled_encoder",
                     "check_unrolled_fista",
]
