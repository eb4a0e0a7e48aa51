"""Exercises 1, 5-8: each check calls the student's function on its own inputs and names each
common mistake (a keyword of the message) without printing the expected values."""

import numpy as np
import pytest
import torch
from factorlab.checks import (
    ExerciseCheckError,
    check_als_updates,
    check_centre,
    check_coupling_edges,
    check_coupling_graph,
    check_fista_step,
    check_ialm,
    check_lasso_alpha_gradient,
    check_principal_angles,
    check_principal_axes,
    check_shrink,
    check_soft_threshold_backward,
    check_svt,
    check_two_sided_relu,
    check_unrolled_encoder,
)
from factorlab.checks.crsae import _step
from factorlab.checks.robust import _ialm_variant


def fails(check, *args, match):
    with pytest.raises(ExerciseCheckError, match=match) as info:
        check(*args)
    assert "expected" not in str(info.value).lower()


# --- exercise 1 -------------------------------------------------------------------------------
def test_centre():
    check_centre(lambda X: X - X.mean(0))
    for f, k in [(lambda X: X, "unchanged"), (lambda X: X - X.mean(1, keepdims=True), "row"),
                 (lambda X: X - X.mean(), "one number"),
                 (lambda X: (X - X.mean(0)) / X.std(0), "standard deviation"),
                 (lambda X: X.mean(0), "shape")]:
        fails(check_centre, f, match=k)


def test_als_updates():
    def good(X, F):
        return np.linalg.solve(F.T @ F, (X @ F).T).T

    def good_v(X, U):
        return np.linalg.solve(U.T @ U, (X.T @ U).T).T

    check_als_updates(good, good_v)
    for u, v, k in [(lambda X, V: X @ V, good_v, "leaves out the Gram"),
                    (lambda X, V: X @ V @ (V.T @ V), good_v, "multiplies"),
                    (lambda X, V: X @ V / np.diag(V.T @ V), good_v, "diagonal"),
                    (lambda X, V: np.linalg.solve(V.T @ V, X @ V), good_v, "transposed system"),
                    (good, lambda X, U: np.linalg.solve(U.T @ U, (X @ U).T).T, "Xc.T"),
                    (good, lambda X, U: X.T @ U, "update_V")]:
        fails(check_als_updates, u, v, match=k)


def axes_fn(mistake=None):
    def f(U, V):
        Qu, Ru = np.linalg.qr(U)
        Qv, Rv = np.linalg.qr(V)
        A, s, Bt = np.linalg.svd(Ru @ Rv.T)
        if mistake == "qr_only":
            return Qu @ Ru @ Rv.T, Qv
        if mistake == "bt":
            return Qu @ A * s, Qv @ Bt
        if mistake == "no_s":
            return Qu @ A, Qv @ Bt.T
        if mistake == "order":
            return (Qu @ A * s)[:, ::-1], (Qv @ Bt.T)[:, ::-1]
        if mistake == "not_orthonormal":
            return U, V
        return Qu @ A * s, Qv @ Bt.T
    return f


def test_principal_axes():
    check_principal_axes(axes_fn())
    for m, k in [("qr_only", "QR of V"), ("bt", "Bt.T"), ("no_s", "singular values"),
                 ("order", "out of order"), ("not_orthonormal", "orthonormal")]:
        fails(check_principal_axes, axes_fn(m), match=k)


def angles(degrees=False, clip=True, cosines=False):
    def f(A, B):
        c = np.linalg.svd(np.linalg.qr(A)[0].T @ np.linalg.qr(B)[0], compute_uv=False)
        c = np.clip(c, 0, 1) if clip else c * (1 + 1e-12)
        if cosines:
            return np.sort(c)
        a = np.sort(np.arccos(c))
        return np.rad2deg(a) if degrees else a
    return f


def test_principal_angles_mistakes():
    check_principal_angles(angles())
    fails(check_principal_angles, angles(degrees=True), match="degrees")
    fails(check_principal_angles, angles(clip=False), match="Clip")
    fails(check_principal_angles, angles(cosines=True), match="cosines")


# --- exercise 5 -------------------------------------------------------------------------------
def test_shrink_and_svt_mistakes():
    fails(check_shrink, lambda X, t: np.maximum(X - t, 0), match="Negative entries")
    fails(check_shrink, lambda X, t: np.maximum(np.abs(X) - t, 0), match="sign")
    fails(check_shrink, lambda X, t: X * (np.abs(X) > t), match="hard thresholding")

    def svd_shrink(X, t, clip=True, full=False):
        U, s, Vt = np.linalg.svd(X, full_matrices=full)
        return (U * (np.maximum(s - t, 0) if clip else s - t)) @ Vt
    fails(check_svt, lambda X, t: svd_shrink(X, t, clip=False), match="negative")
    fails(check_svt, lambda X, t: np.sign(X) * np.maximum(np.abs(X) - t, 0), match="entries")
    fails(check_svt, lambda X, t: svd_shrink(X, t, full=True), match="full_matrices")


@pytest.mark.parametrize("options, keyword", [
    (dict(s_thr=lambda lam, mu: lam), "threshold of S is lam"),
    (dict(l_thr=lambda lam, mu: 1.0), "threshold of L is 1"),
    (dict(s_thr=lambda lam, mu: lam, l_thr=lambda lam, mu: 1.0), "Both thresholds"),
    (dict(s_thr=lambda lam, mu: 1 / mu, l_thr=lambda lam, mu: lam / mu), "swapped"),
    (dict(s_thr=lambda lam, mu: lam * mu, l_thr=lambda lam, mu: mu), "multiplied by mu"),
    (dict(z_scale=lambda Z, mu: Z), "Z / mu"),
    (dict(z_scale=lambda Z, mu: -Z / mu), "sign of Z / mu"),
    (dict(swap=True), "exchanged"),
])
def test_ialm_mistakes(options, keyword):
    def wrong(D):
        out = _ialm_variant(D, **options)
        return out if out is not None else (D * np.nan, D, 1)
    fails(check_ialm, wrong, match=keyword)


def test_ialm_right_and_iteration_count():
    assert check_ialm(_ialm_variant) > 5

    def stops_late(D):
        L, S, it = _ialm_variant(D, tol=1e-12)
        return L, S, it
    fails(check_ialm, stops_late, match="iterations")


# --- exercise 6 -------------------------------------------------------------------------------
def backward_fn(forward="ok", backward="ok"):
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, Q, w):
            ctx.save_for_backward(Q)
            ctx.w = w
            return {"ok": w * Q.abs().sum(), "no_w": Q.abs().sum(),
                    "square": w * (Q ** 2).sum()}[forward]

        @staticmethod
        def backward(ctx, g):
            (Q,) = ctx.saved_tensors
            soft = torch.sign(Q) * torch.clamp(Q.abs() - ctx.w, min=0)
            if backward == "no_none":
                return g * (Q - soft)
            if backward == "minus":
                return g * (soft - Q), None
            if backward == "one":
                return g * (Q - torch.sign(Q) * torch.clamp(Q.abs() - 1, min=0)), None
            return g * (Q - soft), None
    return F.apply


def test_soft_threshold_backward_mistakes():
    check_soft_threshold_backward(backward_fn())
    for opts, k in [(dict(forward="no_w"), "multiply by the weight"),
                    (dict(forward="square"), "Q²"), (dict(backward="no_none"), "None for w"),
                    (dict(backward="minus"), "Wrong sign"), (dict(backward="one"), "uses 1")]:
        fails(check_soft_threshold_backward, backward_fn(**opts), match=k)


# --- exercise 7 -------------------------------------------------------------------------------
def test_two_sided_relu_mistakes():
    fails(check_two_sided_relu, lambda u, b: np.maximum(u - b, 0) + np.maximum(-u - b, 0),
          match="added")
    fails(check_two_sided_relu, lambda u, b: np.maximum(u - b, 0) - np.maximum(u + b, 0),
          match="mirrored")
    fails(check_two_sided_relu, lambda u, b: u * (np.abs(u) > b), match="hard thresholding")


@pytest.mark.parametrize("options, keyword", [
    (dict(grad_sign=-1), "wrong way"), (dict(divide=False), "divided by L"),
    (dict(at="x"), "momentum point"), (dict(mom="s"), "new s"),
    (dict(diff="z"), "x_t - x_"), (dict(s_rule="lin"), "squared"),
])
def test_fista_step_mistakes(options, keyword):
    check_fista_step(_step)
    fails(check_fista_step, lambda *a: _step(*a, **options), match=keyword)


def encoder(mistake=None):
    def enc(y, h, b, L, n_iter):
        x = z = np.zeros((len(h), len(y) - h.shape[1] + 1))
        s = 1.0
        n = {"fewer": n_iter - 1, "more": n_iter + 1}.get(mistake, n_iter)
        for _ in range(n):
            x_prev = np.zeros_like(x) if mistake == "no_x" else x
            x, z, s_new = _step(y, h, z, x_prev, s, b, L)
            s = 1.0 if mistake == "no_s" else s_new
            if mistake == "one":
                break
        return z if mistake == "z" else x
    return enc


def test_unrolled_encoder_mistakes():
    check_unrolled_encoder(encoder())
    for m, k in [("z", "momentum point"), ("fewer", "too few"), ("more", "too many"),
                 ("one", "Only one step"), ("no_x", "previous x"), ("no_s", "carried forward")]:
        fails(check_unrolled_encoder, encoder(m), match=k)


# --- exercise 8 -------------------------------------------------------------------------------
def test_coupling_edges_and_graph_mistakes():
    def right(S):
        return [(j, i) for i, j in zip(*np.nonzero(S)) if i != j]
    check_coupling_edges(right)
    for f, k in [(lambda S: [(j, i) for i, j in zip(*np.nonzero(S))], "diagonal"),
                 (lambda S: [(i, j) for i, j in zip(*np.nonzero(S)) if i != j], "reversed"),
                 (lambda S: [(j, i) for i in range(len(S)) for j in range(len(S)) if i != j],
                  "every pair"),
                 (lambda S: right(S) + right(S)[:1], "twice"),
                 (lambda S: S, "pair")]:
        fails(check_coupling_edges, f, match=k)
    A = np.array([[[0.5, 0.0, 0.0], [0.3, 0.5, 0.0], [0.0, 0.4, 0.5]]])
    check_coupling_graph([(0, 1), (1, 2)], A)
    fails(check_coupling_graph, [(0, 1), (1, 2), (0, 0), (1, 1), (2, 2)], A, match="self-edge")


def test_lasso_alpha_gradient_mistakes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 7))
    y = X[:, :3] @ np.array([1.0, -0.8, 0.5]) + 0.3 * rng.standard_normal(80)
    from factorlab import lasso

    def fn(mistake=None):
        def g(X, y, alpha):
            n, p = X.shape
            _, [(act, s)] = lasso(X, y, alpha, return_active=True)
            act, s = np.asarray(act), np.asarray(s, float)
            G = X[:, act].T @ X[:, act] / n
            out = np.zeros(p)
            out[act] = {None: lambda: -np.linalg.solve(G, s),
                        "ones": lambda: -np.linalg.solve(G, np.ones(len(act))),
                        "xty": lambda: np.linalg.solve(G, X[:, act].T @ y / n - s),
                        "full": lambda: -np.linalg.solve(X.T @ X / n,
                                                         np.bincount(act, s, p))[act],
                        "diag": lambda: -s / np.diag(G),
                        "times": lambda: -G @ s}[mistake]()
            return out
        return g
    check_lasso_alpha_gradient(fn(), X, y, 0.05)
    for m, k in [("ones", "signs are missing"), ("xty", "Xᵀy"), ("full", "all columns"),
                 ("diag", "diagonal"), ("times", "multiplied")]:
        fails(check_lasso_alpha_gradient, fn(m), X, y, 0.05, match=k)
