"""Checks for the sparse-VAR exercise: a coupling graph and the lasso's derivative in alpha."""

from __future__ import annotations

import numpy as np
import torch

from ..var.lasso import lasso
from ..metrics.graphs import support_f1
from ._common import answer_array, require

__all__ = ["check_coupling_graph", "check_lasso_alpha_gradient"]


def _edge_matrix(edges, d):
    require(edges is not None and not isinstance(edges, type(Ellipsis)),
            "edges is still a placeholder (...): fill in the exercise first.")
    M = np.zeros((d, d), dtype=bool)
    for edge in edges:
        require(len(edge) == 2, f"Each edge should be a pair (source, target), got {edge!r}.")
        j, i = (int(v) for v in edge)
        require(0 <= i < d and 0 <= j < d, f"Edge {edge!r} names a channel outside 0..{d - 1}.")
        M[i, j] = True
    return M


def check_coupling_graph(edges, true_coefs, min_f1=0.8) -> float:
    """Check a list of directed couplings ``(source, target)`` read off a fitted sparse VAR.

    ``(j, i)`` means channel ``j`` at time ``t - k`` helps predict channel ``i`` at time ``t``,
    i.e. ``A_k[i, j] != 0``. Self-couplings (``i == j``) are ignored.

    Parameters
    ----------
    edges : iterable of (int, int)
    true_coefs : array of shape (order, d, d)
    min_f1 : float
        Required F1 score against the true off-diagonal support.

    Returns
    -------
    float
        The F1 score.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[[0.5, 0.0], [0.3, 0.5]]])
    >>> check_coupling_graph([(0, 1)], A)
    ✓ coupling graph F1 = 1.00 (1 edges found, 1 true).
    1.0
    """
    true_coefs = np.asarray(true_coefs, dtype=float)
    d = true_coefs.shape[-1]
    M = _edge_matrix(edges, d)
    f1 = support_f1(M[None].astype(float), true_coefs)
    off = ~np.eye(d, dtype=bool)
    n_true = int((np.abs(true_coefs).max(0) > 0)[off].sum())
    if f1 < min_f1:
        require(support_f1(M.T[None].astype(float), true_coefs) < min_f1,
                f"Your graph matches the truth only when transposed (F1 {f1:.2f}). coefs_[k][i, j] "
                "is the effect OF channel j ON channel i, so the edge is (source j, target i).")
    require(f1 >= min_f1, f"F1 = {f1:.2f} against the true graph ({int(M[off].sum())} edges found, "
            f"{n_true} true). Use var.support_ (non-zero at any lag), drop the diagonal, and try "
            "a larger alpha if you find too many edges or a smaller one if too few.")
    print(f"✓ coupling graph F1 = {f1:.2f} ({int(M[off].sum())} edges found, {n_true} true).")
    return f1


def check_lasso_alpha_gradient(grad, X, y, alpha, rtol=1e-6) -> None:
    """Check ``d beta / d alpha`` of the lasso (scaling ``1/(2n)``) at ``alpha``.

    The reference is the closed form on the active set, ``-(X_A^T X_A / n)^{-1} s_A`` (zero off
    the active set), which is also what autograd gives through :func:`factorlab.var.lasso`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 0.2, 1.2])
    >>> check_lasso_alpha_gradient(np.array([-1.0, -1.0]), X, y, 0.1)
    ✓ d beta / d alpha matches the closed form on the active set [0, 1].
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    grad = answer_array("grad", grad, (X.shape[1],))
    a = torch.tensor(float(alpha), dtype=torch.float64, requires_grad=True)
    coef, [(active, signs)] = lasso(torch.tensor(X), torch.tensor(y), a, return_active=True)
    ref = torch.autograd.functional.jacobian(
        lambda t: lasso(torch.tensor(X), torch.tensor(y), t), a).numpy()
    scale = np.abs(ref).max() + 1e-12
    if not np.allclose(grad, ref, rtol=rtol, atol=rtol * scale):
        off = np.setdiff1d(np.arange(X.shape[1]), active)
        require(np.allclose(grad[off], 0), "Coefficients off the active set are exactly zero "
                "near alpha, so their derivative is 0.")
        require(not np.allclose(grad * X.shape[0], ref, rtol=1e-4),
                "Off by a factor n: with the 1/(2n) scaling, G_A = X_A^T X_A / n.")
        require(not np.allclose(-grad, ref, rtol=1e-4),
                "Wrong sign: increasing alpha shrinks every coefficient towards zero.")
        require(False, f"d beta / d alpha should be {np.round(ref, 4).tolist()}, got "
                f"{np.round(grad, 4).tolist()}. On the active set A with signs s: "
                "d beta_A / d alpha = -(X_A^T X_A / n)^(-1) s_A.")
    print("✓ d beta / d alpha matches the closed form on the active set "
          f"{sorted(active.tolist())}.")
