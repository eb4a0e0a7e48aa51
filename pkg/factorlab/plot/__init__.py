"""Figures for the book and for users (matplotlib only; plotting never fits a model).

One module per topic; this file only re-exports them.
"""

from .assess import (cv_plot, dominant_order, error_plot, similarity_plot,
                     sorted_factor_heatmap)
from .basics import animation_html, heatmap, reconstruction_panel
from .crsae import plot_detection_curves, plot_filters_2d, plot_templates
from .foreground import foreground_panel, prox_kink_plot
from .matrix import component_images, factor_plot, loss_curves, sorted_heatmap
from .models import factor_menu, loadings, norm_balls, shrinkage_curves
from .movies import bear_summary, footprint_overlay, movie_panels
from .tensor import cp_factor_grid
from .var import contribution_overlay, coupling_matrix, lasso_path_plot

__all__ = [
    "heatmap", "reconstruction_panel", "animation_html",
    "factor_plot", "sorted_heatmap", "loss_curves", "component_images",
    "norm_balls", "shrinkage_curves", "loadings", "factor_menu",
    "error_plot", "similarity_plot", "cv_plot", "dominant_order", "sorted_factor_heatmap",
    "cp_factor_grid",
    "movie_panels", "footprint_overlay", "bear_summary",
    "foreground_panel", "prox_kink_plot",
    "plot_templates", "plot_detection_curves", "plot_filters_2d",
    "coupling_matrix", "lasso_path_plot", "contribution_overlay",
]
