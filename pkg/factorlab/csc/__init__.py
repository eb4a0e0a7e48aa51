"""Convolutional sparse coding: the convex FISTA reference and CRsAE.

A signal is a sum of a few shifted copies of short filters (spike waveforms, image patches).
:func:`fista_csc` solves the convex coding problem to a tolerance; :class:`CRsAE1d` and
:class:`CRsAE2d` unroll FISTA into an autoencoder whose tied decoder learns the filters.
"""

from .crsae import CRsAE1d, CRsAE2d, lambda_closed_form, spike_snippet_templates
from .fista import csc_objective, fista_csc, lipschitz_bound

__all__ = ["CRsAE1d", "CRsAE2d", "lambda_closed_form", "fista_csc", "lipschitz_bound",
           "csc_objective", "spike_snippet_templates"]
