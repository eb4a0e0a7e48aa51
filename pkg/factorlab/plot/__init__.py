"""Figures for the book and for users (matplotlib only; plotting never fits a model).

One module per topic; this file only re-exports them.
"""

from .basics import heatmap, reconstruction_panel

__all__ = ["heatmap", "reconstruction_panel"]
