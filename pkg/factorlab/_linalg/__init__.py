"""The linear algebra every factorization in factorlab is built on, one implementation each.

Private: the model modules (:mod:`factorlab.matrix`, :mod:`factorlab.tensor`, :mod:`factorlab.prox`,
:mod:`factorlab.robust`) import from
here, and nothing here imports from them (one-way dependencies).

- :mod:`.gram`: the per-row weighted Gram matrices and right-hand sides of masked least squares,
  and the products with the data (NumPy's BLAS on the CPU).
- :mod:`.solve`: one symmetric (batched) normal-equation solve, exact also when singular.
- :mod:`.hals`: the HALS column sweep of nonnegative updates (torch, and a NumPy loop for
  the small blocks of NMF on the CPU).
- :mod:`.randsvd`: randomized truncated SVD from products with the matrix only.
- :mod:`.nnls`: nonnegative least squares by block principal pivoting.
- :mod:`.axes`: principal axes of a product ``U V^T`` (QR of both factors, SVD of the core),
  and the thin SVD of a tall or wide matrix through one QR.
- :mod:`.revive`: re-seeding dead components of nonnegative fits from the residual.
"""

from .axes import principal_axes, thin_svd
from .gram import blas_matmul, float_mask, gram_and_rhs, sparse_pattern, weighted_gram
from .hals import hals_update, hals_update_numpy
from .nnls import nnls, nnls_gram
from .randsvd import randomized_svd
from .revive import dead_components, revive_component
from .solve import solve_gram

__all__ = ["principal_axes", "thin_svd", "blas_matmul", "float_mask", "gram_and_rhs",
           "sparse_pattern", "weighted_gram", "hals_update", "hals_update_numpy",
           "randomized_svd", "nnls", "nnls_gram", "dead_components", "revive_component",
           "solve_gram"]
