"""Nonnegative least squares, :func:`nnls` (public as ``factorlab.nnls``) and the batched
:func:`nnls_gram` on normal equations; implemented in :mod:`factorlab._linalg.nnls`."""

from .._linalg.nnls import nnls, nnls_gram

__all__ = ["nnls", "nnls_gram"]
