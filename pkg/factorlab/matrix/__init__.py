"""Matrix factorization: PCA, NMF and the model menu, fitted by alternating minimization.

Every model writes ``X ≈ U @ V.T`` with ``U`` (samples, rank) and ``V`` (features, rank), is
available as a plain function returning a :class:`MatrixFit` and as an estimator class
(``fit(X, y=None, *, mask=None)``, ``transform``, ``save``/``load``), and accepts a mask of observed entries.
"""

from ._base import MatrixFactorization, MatrixFit, relative_error
from .masked import censored_lstsq
from .nmf import NMF, nmf
from .nnls import nnls
from .pca import PCA, pca_als
from .sparse import SparseNMF, SparsePCA, sparse_nmf, sparse_pca
from .constrained import KMeansFactorization, SemiNMF, kmeans_factorization, semi_nmf
from .glrm import GLRM, glrm
from .convnmf import (ConvNMF, ConvNMFFit, SequenceSignificance, conv_nmf, conv_reconstruct,
                      sequence_significance)

__all__ = ["MatrixFactorization", "MatrixFit", "relative_error", "censored_lstsq", "PCA",
           "pca_als", "NMF", "nmf", "nnls"]
__all__ += ["SparsePCA", "sparse_pca", "SparseNMF", "sparse_nmf", "SemiNMF", "semi_nmf",
            "KMeansFactorization", "kmeans_factorization", "GLRM", "glrm"]
__all__ += ["ConvNMF", "conv_nmf", "ConvNMFFit", "conv_reconstruct", "sequence_significance",
            "SequenceSignificance"]
