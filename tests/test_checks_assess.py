"""Exercises 3 and 4 (rank selection, CP): each check calls the student's function on its own
inputs and names each common mistake without printing the expected values."""

import numpy as np
import pytest
from factorlab.checks import (
    ExerciseCheckError,
    check_choose_rank,
    check_cp_mode_update,
    check_heldout_error,
    check_matched_similarity,
    check_stable_rank,
)
from scipy.optimize import linear_sum_assignment


def fails(check, *args, match):
    with pytest.raises(ExerciseCheckError, match=match) as info:
        check(*args)
    assert "expected" not in str(info.value).lower()
    return str(info.value)


def similarity_fn(norm=0, absolute=True, match="max", reduce=np.mean):
    def f(V1, V2):
        A, B = V1, V2
        if norm is not None:
            A = A / np.linalg.norm(A, axis=norm, keepdims=True)
            B = B / np.linalg.norm(B, axis=norm, keepdims=True)
        S = A.T @ B
        S = np.abs(S) if absolute else S
        if match == "greedy":
            return float(reduce(S.max(axis=1)))
        if match == "diagonal":
            k = min(S.shape)
            return float(reduce(np.diag(S[:k, :k])))
        rows, cols = linear_sum_assignment(S, maximize=(match == "max"))
        return float(reduce(S[rows, cols]))
    return f


@pytest.mark.parametrize("options, keyword", [
    (dict(absolute=False), "absolute value"),
    (dict(norm=None), "unit length"),
    (dict(norm=1), "rows"),
    (dict(match="greedy"), "one to one"),
    (dict(match="diagonal"), "linear_sum_assignment"),
    (dict(match="min"), "maximize=True"),
    (dict(reduce=np.sum), "mean"),
])
def test_matched_similarity_mistakes(options, keyword):
    check_matched_similarity(similarity_fn())
    fails(check_matched_similarity, similarity_fn(**options), match=keyword)


def test_heldout_error_mistakes():
    norm = np.linalg.norm
    check_heldout_error(lambda X, Xh, m: norm((X - Xh)[~m]) / norm(X[~m]))
    cases = [
        (lambda X, Xh, m: norm((X - Xh)[m]) / norm(X[m]), "training entries"),
        (lambda X, Xh, m: norm((X - Xh)[~m]) ** 2 / norm(X[~m]) ** 2, "squared"),
        (lambda X, Xh, m: norm((X - Xh)[~m]) / norm(X), "all of X"),
        (lambda X, Xh, m: norm((X - Xh)[~m]) / norm(Xh[~m]), "prediction"),
        (lambda X, Xh, m: norm((X - Xh) * ~m) / norm(X), "all of X"),
        (lambda X, Xh, m: norm((X - Xh)[~m]), "relative"),
        (lambda X, Xh, m: np.abs((X - Xh)[~m]).mean() / np.abs(X[~m]).mean(), "Frobenius"),
    ]
    for func, keyword in cases:
        fails(check_heldout_error, func, match=keyword)


def test_stable_rank_mistakes():
    check_stable_rank(lambda s, t=0.99: max(r for r in s if np.min(s[r]) > t))
    cases = [
        (lambda s, t=0.99: min(r for r in s if np.min(s[r]) > t), "smallest"),
        (lambda s, t=0.99: max(r for r in s if np.mean(s[r]) > t), "lowest similarity"),
        (lambda s, t=0.99: max(r for r in s if np.min(s[r]) > 0.99), "threshold argument"),
        (lambda s, t=0.99: min(r for r in s if np.min(s[r]) <= t), "first rank that is not"),
        (lambda s, t=0.99: max(i for i, r in enumerate(s) if np.min(s[r]) > t), "position"),
        (lambda s, t=0.99: sum(np.min(s[r]) > t for r in s) + 10, "wrong"),
    ]
    for func, keyword in cases:
        fails(check_stable_rank, func, match=keyword)


def test_choose_rank_mistakes():
    check_choose_rank(lambda r, E: r[int(np.argmin(np.mean(E, axis=1)))])
    cases = [
        (lambda r, E: r[int(np.argmin(np.mean(E, axis=0)))], "axis=0"),
        (lambda r, E: int(np.argmin(np.mean(E, axis=0))), "axis=0"),
        (lambda r, E: r[int(np.argmax(np.mean(E, axis=1)))], "argmax"),
        (lambda r, E: int(np.argmin(np.mean(E, axis=1))), "position"),
        (lambda r, E: r[int(np.argmin(np.min(E, axis=1)))], "single replicate"),
        (lambda r, E: r[int(np.argmin(np.asarray(E)[:, 0]))], "one replicate"),
    ]
    for func, keyword in cases:
        fails(check_choose_rank, func, match=keyword)


def cp_update(unfold="moveaxis", order="first", gram="hadamard", transpose=False):
    def update(X, F, mode):
        others = [f for k, f in enumerate(F) if k != mode]
        Xn = (np.moveaxis(X, mode, 0).reshape(X.shape[mode], -1) if unfold == "moveaxis"
              else X.reshape(X.shape[mode], -1))
        a, b = others if order == "first" else others[::-1]
        K = np.einsum("ir,jr->ijr", a, b).reshape(-1, a.shape[1])
        M = Xn @ K
        if gram == "none":
            return M
        G = {"hadamard": (a.T @ a) * (b.T @ b), "sum": a.T @ a + b.T @ b,
             "all": np.prod([f.T @ f for f in F], axis=0)}[gram]
        if gram == "untransposed":
            pass
        out = np.linalg.solve(G, M.T).T
        return out.T if transpose else out
    return update


@pytest.mark.parametrize("options, keyword", [
    (dict(unfold="reshape"), "unfolding"),
    (dict(order="reversed"), "Khatri"),
    (dict(gram="none"), "pseudo-inverse"),
    (dict(gram="sum"), "Hadamard"),
    (dict(gram="all"), "leave out the factor"),
    (dict(transpose=True), "one row per index"),
])
def test_cp_mode_update_mistakes(options, keyword):
    check_cp_mode_update(cp_update())
    fails(check_cp_mode_update, cp_update(**options), match=keyword)


def test_cp_mode_update_untransposed_solve():
    def update(X, F, mode):
        a, b = [f for k, f in enumerate(F) if k != mode]
        Xn = np.moveaxis(X, mode, 0).reshape(X.shape[mode], -1)
        K = np.einsum("ir,jr->ijr", a, b).reshape(-1, a.shape[1])
        return np.linalg.solve((a.T @ a) * (b.T @ b), Xn @ K)
    fails(check_cp_mode_update, update, match="transposed system")
