"""ipywidgets explorers used by the chapters.

Each explorer draws its default view at once, so the static book already shows the point; in a
live kernel the controls redraw it. One module per topic; this file only re-exports them.
"""

from .basics import rank_explorer

__all__ = ["rank_explorer"]
