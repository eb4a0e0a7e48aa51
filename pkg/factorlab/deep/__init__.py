"""Deep models with low-rank and sparse priors.

The proximal-loss U-Net for background subtraction, CRsAE (convolutional sparse coding unrolled
into an autoencoder) with its convex FISTA reference, and the l1-VAR autoencoder with the
differentiable lasso it is built on.
"""

from .crsae import CRsAE1d, CRsAE2d, lambda_closed_form
from .fista import fista_csc, lipschitz_bound
from .lasso import lasso, lasso_path
from .unet import ProxUNet
from .var import SparseVAR, sequence_test, var_lasso
from .var_autoencoder import VARAutoencoder

__all__ = [
    "ProxUNet",
    "CRsAE1d", "CRsAE2d", "lambda_closed_form", "fista_csc", "lipschitz_bound",
    "lasso", "lasso_path", "SparseVAR", "sequence_test", "var_lasso", "VARAutoencoder",
]
