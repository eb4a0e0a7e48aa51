"""Checks for the sparse-VAR exercise: a coupling graph and the lasso's derivative in alpha."""

from __future__ import annotations

import numpy as np
import torch

from ..metrics.graphs import support_f1
from ..var.lasso import lasso
from ._common import ExerciseCheckError, answer_array, call_student, require

__all__ = ["check_coupling_edges", "check_coupling_graph", "check_lasso_alpha_gradient"]


def _edge_matrix(edges, d):
    require(edges is not None and not isinstance(edges, type(Ellipsis)),
            "edges is still a placeholder (...): fill in the exercise first.")
    M = np.zeros((d, d), dtype=bool)
    for edge in edges:
        require(len(edge) == 2, f"Each edge should be a pair (source, target), got {edge!r}.")
        j, i = (int(v) for v in edge)
        require(0 <= i < d and 0 <= j < d, f"Edge {edge!r} names a channel outside 0..{d - 1}.")
        require(i != j, f"Edge {edge!r} is a self-edge (the diagonal of support_): every "
                "channel depends on its own past, which is not a coupling. Leave out i == j.")
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
    require(f1 >= min_f1, f"F1 = {f1:.2f} against the true graph ({int(M[off].sum())} edges "
            "found). Use var.support_ (non-zero at any lag), drop the diagonal, and try "
            "a larger alpha if you find too many edges or a smaller one if too few.")
    print(f"✓ coupling graph F1 = {f1:.2f} ({int(M[off].sum())} edges found, {n_true} true).")
    return f1


def check_lasso_alpha_gradient(grad, X, y, alpha, rtol=1e-6) -> None:
    """Check ``d beta / d alpha`` of the lasso (scaling ``1/(2n)``) at ``alpha``.

    The reference is the closed form on the active set, ``-(X_A^T X_A / n)^{-1} s_A`` (zero off
    the active set), which is also what autograd gives through :func:`factorlab.var.lasso`.
    ``grad`` is the derivative, or the function ``grad(X, y, alpha)`` that computes it: then
    it is run on the check's own data first, and on ``X, y, alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 0.2, 1.2])
    >>> check_lasso_alpha_gradient(np.array([-1.0, -1.0]), X, y, 0.1)
    ✓ d beta / d alpha matches the closed form on the active set [0, 1].
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if callable(grad):
        # run the student's function on fresh data first, then on the exercise's
        rng = np.random.default_rng(11)
        Xf = rng.standard_normal((50, 6)) * [1.0, 2.0, 0.5, 1.0, 1.5, 1.0]
        yf = Xf[:, [0, 1, 3]] @ np.array([1.5, -0.7, 0.6]) + 0.5 * rng.standard_normal(50)
        for data in ((Xf, yf, 0.08), (X, y, alpha)):
            g = call_student(grad, *data, name="alpha_gradient(X, y, alpha)",
                             hint="Use the columns of X on the active set, X[:, active].")
            _check_gradient(g, *data, rtol, quiet=data[0] is not X)
        return
    _check_gradient(grad, X, y, alpha, rtol)


def _check_gradient(grad, X, y, alpha, rtol, quiet=False):
    n, p = X.shape
    grad = answer_array("grad", grad, (p,), "one derivative per coefficient, zero off the "
                        "active set")
    a = torch.tensor(float(alpha), dtype=torch.float64, requires_grad=True)
    coef, [(active, signs)] = lasso(torch.tensor(X), torch.tensor(y), a, return_active=True)
    active = np.asarray(active)
    signs = np.asarray(signs, dtype=float)
    ref = torch.autograd.functional.jacobian(
        lambda t: lasso(torch.tensor(X), torch.tensor(y), t), a).numpy()
    scale = np.abs(ref).max() + 1e-12
    if not np.allclose(grad, ref, rtol=rtol, atol=rtol * scale):
        off = np.setdiff1d(np.arange(p), active)
        require(np.allclose(grad[off], 0), "Coefficients off the active set are exactly zero "
                "near alpha, so their derivative is 0.")
        require(not np.allclose(grad * n, ref, rtol=1e-4),
                "Off by a factor n: with the 1/(2n) scaling, G_A = X_A^T X_A / n.")
        require(not np.allclose(-grad, ref, rtol=1e-4),
                "Wrong sign: increasing alpha shrinks every coefficient towards zero.")
        XA = X[:, active]
        G = XA.T @ XA / n

        def on_active(v):
            out = np.zeros(p)
            out[active] = v
            return out

        wrong = [
            (on_active(-np.linalg.solve(G, np.ones(len(active)))), "The signs are missing: "
             "the derivative of alpha * s_A is s_A (the signs of the active coefficients), not "
             "a vector of ones."),
            (on_active(np.linalg.solve(G, XA.T @ y / n - signs)), "You kept the Xᵀy / n term: "
             "it does not depend on alpha, so its derivative is 0; only -G_A⁻¹ s_A remains."),
            (on_active(-np.linalg.solve(X.T @ X / n, on_active(signs))[active]), "You inverted "
             "the Gram matrix of all columns; on the active set the closed form uses "
             "G_A = X_A^T X_A / n, of the active columns only."),
            (on_active(-signs / np.diag(G)), "You divided by the diagonal of G_A only: the "
             "active columns are correlated, so solve with the whole G_A."),
            (on_active(-G @ signs), "You multiplied by G_A; the closed form divides: "
             "-G_A⁻¹ s_A (np.linalg.solve)."),
        ]
        for value, message in wrong:
            require(not np.allclose(grad, value, rtol=1e-4, atol=1e-8), message)
        require(False, "d beta / d alpha is wrong. On the active set A with signs s: "
                "d beta_A / d alpha = -(X_A^T X_A / n)^(-1) s_A, and 0 elsewhere.")
    if quiet:
        return
    print("✓ d beta / d alpha matches the closed form on the active set "
          f"{sorted(active.tolist())}.")


def check_coupling_edges(coupling_edges) -> None:
    """Check ``coupling_edges(support)``: the directed edges ``(source j, target i)`` of a
    boolean ``d x d`` support matrix (``support[i, j]``: ``j`` helps predict ``i``), without
    the diagonal. The function is run on the check's own support matrices.

    Examples
    --------
    >>> import numpy as np
    >>> check_coupling_edges(lambda S: [(j, i) for i, j in zip(*np.nonzero(S)) if i != j])
    ✓ coupling_edges lists every off-diagonal coupling as (source, target).
    """
    rng = np.random.default_rng(12)
    cases = []
    for d in (4, 6):
        S = rng.random((d, d)) < 0.35
        np.fill_diagonal(S, True)
        S[0, d - 1], S[d - 1, 0] = True, False           # at least one one-way coupling
        cases.append(S)
    for S in cases:
        d = S.shape[0]
        out = call_student(coupling_edges, S.copy(), name="coupling_edges(support)")
        require(out is not None and not isinstance(out, type(Ellipsis)),
                "coupling_edges returns nothing: return the list of edges.")
        try:
            edges = [tuple(int(v) for v in e) for e in out]
        except (TypeError, ValueError):
            raise ExerciseCheckError("coupling_edges should return a list of pairs "
                                     "(source, target) of channel numbers.") from None
        require(all(len(e) == 2 for e in edges), "Each edge is a pair (source, target).")
        want = {(j, i) for i, j in zip(*np.nonzero(S)) if i != j}
        got = set(edges)
        if got == want and len(edges) == len(got):
            continue
        require(len(edges) == len(got), "Some edges appear twice.")
        with_diag = want | {(i, i) for i in range(d)}
        require(got != with_diag and not (got - want and all(i == j for i, j in got - want)),
                "The diagonal is in: support_[i, i] says a channel depends on its own past, "
                "which is not a coupling. Leave out i == j.")
        flipped = {(i, j) for j, i in want}
        require(got != flipped and got != flipped | {(i, i) for i in range(d)},
                "The pairs are reversed: support[i, j] is the effect OF channel j ON channel i, "
                "so the edge is (source j, target i), not (i, j).")
        off = {(j, i) for i in range(d) for j in range(d) if i != j}
        require(got != off, "That lists every pair: keep only those where support is True.")
        require(got != off - want, "That lists the pairs where support is False.")
        require(False, "coupling_edges is wrong: one (j, i) for every True support[i, j] with "
                "i != j.")
    print("✓ coupling_edges lists every off-diagonal coupling as (source, target).")
