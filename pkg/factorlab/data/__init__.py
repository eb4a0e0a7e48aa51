"""Synthetic data with ground truth, and loaders.

Every generator takes ``random_state`` and returns the data together with the factors, masks or
spikes that produced it, so that every method in the book can be scored against the truth.
"""

from .lowrank import lowrank_matrix

__all__ = ["lowrank_matrix"]
