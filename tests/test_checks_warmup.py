"""Exercise 0 (ALS warm-up): the checks call the student's als on their own data and name each
common mistake without printing the answer."""

import factorlab as fl
import numpy as np
import pytest
from factorlab.checks import ExerciseCheckError, check_als, check_error_curve


def fails(check, *args, match, answer=()):
    with pytest.raises(ExerciseCheckError, match=match) as info:
        check(*args)
    for value in answer:          # the expected values must not be given away
        assert f"{value:.3f}" not in str(info.value)
    return str(info.value)


def make_als(mistake=None):
    def als(X, rank, n_iter=100, seed=0):
        rng = np.random.default_rng(seed)
        V = rng.standard_normal((X.shape[1], rank))
        steps = 100 if mistake == "fixed_iterations" else n_iter
        for _ in range(steps):
            if mistake in ("no_gram", "no_gram_u"):
                U = X @ V
            else:
                U = np.linalg.solve(V.T @ V, (X @ V).T).T
            if mistake == "no_v_update":
                continue
            if mistake in ("no_gram", "no_gram_v"):
                V = X.T @ U
            elif mistake == "gram_of_v":
                V = np.linalg.solve(V.T @ V, (X.T @ U).T).T
            elif mistake == "x_not_transposed":
                V = np.linalg.solve(U.T @ U, (X @ U).T).T
            elif mistake == "untransposed_solve":
                V = np.linalg.solve(U.T @ U, X.T @ U)
            else:
                V = np.linalg.solve(U.T @ U, (X.T @ U).T).T
        return (V, U) if mistake == "swapped_outputs" else (U, V)
    return als


@pytest.fixture(scope="module")
def X():
    return fl.data.lowrank_matrix(60, 40, rank=3, noise=0.1, random_state=0)[0]


def test_check_als_right(X, capsys):
    assert check_als(make_als(), X, 3) < 0.06
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, keyword", [
    ("no_v_update", "never updated"),
    ("no_gram", "Gram matrices"),
    ("no_gram_v", "V update leaves out"),
    ("gram_of_v", "UᵀU"),
    ("x_not_transposed", "X.T"),
    ("untransposed_solve", "transposed system"),
    ("fixed_iterations", "n_iter"),
    ("swapped_outputs", "shape"),
])
def test_check_als_names_the_mistake(X, mistake, keyword):
    fails(check_als, make_als(mistake), X, 3, match=keyword)


def curve(X, als, n=10):
    fits = [als(X, 3, n_iter=k) for k in range(1, n + 1)]
    return [np.linalg.norm(X - U @ V.T) / np.linalg.norm(X) for U, V in fits]


def test_check_error_curve(X, capsys):
    als = make_als()
    right = curve(X, als)
    check_error_curve(right, als, X, 3)
    assert "✓" in capsys.readouterr().out
    norm = np.linalg.norm(X)
    U, V = als(X, 3)
    final = np.linalg.norm(X - U @ V.T) / norm
    cases = [
        ([], "empty"),                                            # forgot to append
        (right[:5], "one per number of sweeps"),                  # loop stopped early
        ([e * norm for e in right], "absolute errors"),           # not divided by ||X||
        ([e ** 2 for e in right], "squared"),
        ([final] * 10, "the same"),                               # U, V of part 1 each time
        (right[::-1], "reverse"),
        (curve(X[:, ::-1].copy(), als), "earlier run"),           # another matrix
        (..., "placeholder"),
    ]
    for errors, keyword in cases:
        fails(check_error_curve, errors, als, X, 3, match=keyword, answer=right[-1:])


def test_check_error_curve_runs_the_function(X):
    # a list left from a right run does not pass a broken als: the check calls it again
    right = curve(X, make_als())
    fails(check_error_curve, right, make_als("no_gram_v"), X, 3, match="als|error|NaN")
