"""Normal equations of (masked, weighted) least squares, for every row at once."""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch

__all__ = ["blas_matmul", "float_mask", "sparse_pattern",
           "weighted_gram", "gram_and_rhs"]


def blas_matmul(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``A @ B``, through NumPy's BLAS for CPU tensors that autograd does not track.

    The same product, faster on the CPU: torch's CPU wheel multiplies with MKL, which on an
    AMD EPYC (the project's 2-core development machines) took 1.2-3.2x OpenBLAS's time for
    the float64 products of the factorizations, ``(m, n) x (n, r)`` with ``r`` ~ 10-20, and
    3x for small ones (500 x 200 x 10), where torch's per-call cost dominates. Measured in
    ``benchmarks/nmf_defaults.py`` (section "Products"); MKL on Intel processors was not.
    NumPy views the tensors' memory, so nothing is copied. Anything else (GPU tensors,
    tensors that need gradients, mixed dtypes) is multiplied by torch.

    Examples
    --------
    >>> import torch
    >>> A = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    >>> blas_matmul(A, A.T).tolist()
    [[5.0, 14.0], [14.0, 50.0]]
    """
    if (isinstance(A, torch.Tensor) and isinstance(B, torch.Tensor)
            and A.device.type == "cpu" and B.device.type == "cpu" and A.dtype == B.dtype
            and A.dtype in (torch.float32, torch.float64)
            and not (A.requires_grad or B.requires_grad)):
        return torch.from_numpy(A.numpy() @ B.numpy())
    return A @ B


def float_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """The mask as 0/1 numbers of ``dtype`` (unchanged if it already is; None stays None).

    Examples
    --------
    >>> import torch
    >>> float_mask(torch.tensor([True, False]), torch.float64).tolist()
    [1.0, 0.0]
    """
    if mask is None or mask.dtype == dtype:
        return mask
    return mask.to(dtype)


def sparse_pattern(X) -> scipy.sparse.csr_matrix:
    """The 0/1 float64 CSR matrix of a CSR matrix's stored entries (explicit zeros included):
    the observation weights of ``mask="stored"``.

    Examples
    --------
    >>> import scipy.sparse
    >>> sparse_pattern(scipy.sparse.csr_matrix([[0.0, 3.0], [2.0, 0.0]])).toarray().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    return scipy.sparse.csr_matrix((np.ones(X.nnz), X.indices, X.indptr), shape=X.shape)


def weighted_gram(weights: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """``A^T diag(w_i) A`` for every row ``w_i`` of ``weights``, shape ``(m, r, r)``.

    ``G_i = sum_j w_ij a_j a_j^T`` for all rows in one ``(m, n) x (n, r(r+1)/2)`` product of
    the weights with the pairwise products of ``A``'s columns (upper triangle only: ``G_i`` is
    symmetric), so no ``m x n x r`` array is built and no small product is done per row.

    Parameters
    ----------
    weights : tensor or scipy.sparse matrix of shape (m, n)
        A 0/1 mask or any nonnegative weights; a sparse matrix (such as the pattern of a sparse
        data matrix's stored entries) is used through its sparse product only.
    A : tensor of shape (n, r)

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    >>> weighted_gram(torch.tensor([[1.0, 0.0]], dtype=torch.float64), A)[0].tolist()
    [[1.0, 2.0], [2.0, 4.0]]
    """
    m, r = weights.shape[0], A.shape[1]
    rows, cols = torch.triu_indices(r, r, device=A.device)
    pairs = A[:, rows] * A[:, cols]
    if scipy.sparse.issparse(weights):
        upper = torch.from_numpy(np.asarray(weights @ pairs.cpu().numpy())).to(A.device)
    else:
        upper = blas_matmul(weights, pairs)
    G = torch.empty((m, r, r), dtype=A.dtype, device=A.device)
    G[:, rows, cols] = upper
    G[:, cols, rows] = upper
    return G


def gram_and_rhs(X: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None,
                 zeroed: bool = False):
    """The normal equations of ``min_U ||M * (X - U V^T)||_F`` for every row of ``U``.

    Parameters
    ----------
    X : tensor of shape (m, n)
    V : tensor of shape (n, r)
    mask : bool or 0/1 float tensor of shape (m, n), or None
    zeroed : bool
        ``X`` is already zero wherever ``mask`` is False, so ``M * X`` is ``X`` itself and the
        product is skipped (the solvers zero masked entries once, before iterating).

    Returns
    -------
    G : tensor of shape (r, r) without a mask, (m, r, r) with one
    P : tensor of shape (m, r)

    Examples
    --------
    >>> import torch
    >>> X, V = torch.ones(3, 4, dtype=torch.float64), torch.ones(4, 1, dtype=torch.float64)
    >>> G, P = gram_and_rhs(X, V, torch.tensor([[1, 1, 0, 0]] * 3).bool())
    >>> G.shape, P[:, 0].tolist()
    (torch.Size([3, 1, 1]), [2.0, 2.0, 2.0])
    """
    if mask is None:
        return V.T @ V, blas_matmul(X, V)
    Mf = float_mask(mask, V.dtype)
    P = blas_matmul(X if zeroed else Mf * X, V)
    return weighted_gram(Mf, V), P
