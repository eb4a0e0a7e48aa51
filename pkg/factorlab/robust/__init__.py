"""Robust PCA: a low-rank background plus a sparse foreground.

Reference solvers (IALM, PCP, GoDec) in torch, proximal RPCA baselines, BEAR (a bilinear
autoencoder trained by mini-batch Adam that scales to movies larger than memory, also data
parallel across processes with ``bear_distributed``), the BEAR + NMF cascade that segments
neurons, and the U-Net trained with low-rank and sparse proximal losses.
"""

from ._common import RPCAResult, default_lambda
from .bear import BEAR
from .distributed import bear_distributed
from .cascade import BEARNMF
from .prox_rpca import project_foreground, rpca_admm, rpca_forward_backward
from .rpca import RobustPCA
from .solvers import godec, ialm, pcp
from .unet import ProxUNet

__all__ = [
    "RobustPCA", "ialm", "pcp", "godec", "RPCAResult", "default_lambda",
    "BEAR", "BEARNMF", "bear_distributed",
    "rpca_forward_backward", "rpca_admm", "project_foreground", "ProxUNet",
]
