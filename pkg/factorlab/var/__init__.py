"""Sparse vector autoregression: the lasso by LARS, the sparse VAR, the sequence test, and the
l1-VAR autoencoder that learns latent regions whose dynamics are a sparse VAR."""

from .autoencoder import VARAutoencoder
from .lasso import lasso, lasso_path
from .sequence_test import SequenceTestResult, sequence_test
from .sparse_var import SparseVAR, companion_matrix, lagged_design, spectral_radius, var_lasso

__all__ = ["lasso", "lasso_path", "SparseVAR", "var_lasso", "lagged_design", "companion_matrix",
           "spectral_radius", "sequence_test", "SequenceTestResult", "VARAutoencoder"]
