"""Wrong answers to the neural-sequences exercise (exercises/09_sequences): each check must
refuse them with a message that says what to fix, and accept the right answer."""

import numpy as np
import pytest

import factorlab as fl
from factorlab.checks import (ExerciseCheckError, check_best_rank_and_lag,
                              check_conv_reconstruct, check_null_template, check_p_value,
                              check_template_match)


def fails(check, answer, match):
    with pytest.raises(ExerciseCheckError, match=match) as info:
        check(answer)
    assert "expected" not in str(info.value).lower()


def reconstruct(W, H, shift=0, backwards=False, lags=None):
    T, L = H.shape[0], W.shape[2]
    out = np.zeros((T, W.shape[0]))
    for l in range(L if lags is None else lags):
        if backwards:
            out[:T - l] += H[l:] @ W[:, :, l].T
        else:
            d = l + shift
            if d >= 0:
                out[d:] += H[:T - d] @ W[:, :, l].T
    return out


def test_conv_reconstruct():
    check_conv_reconstruct(reconstruct)
    check_conv_reconstruct(fl.conv_reconstruct)
    fails(check_conv_reconstruct, lambda W, H: reconstruct(W, H, shift=-1), "onset at frame t")
    fails(check_conv_reconstruct, lambda W, H: reconstruct(W, H, shift=1), "one frame too long")
    fails(check_conv_reconstruct, lambda W, H: reconstruct(W, H, backwards=True), "backwards")
    fails(check_conv_reconstruct, lambda W, H: reconstruct(W, H, lags=1), "all L frames")
    fails(check_conv_reconstruct, lambda W, H: reconstruct(W, H).T, "shape")
    fails(check_conv_reconstruct, lambda W, H: 2 * reconstruct(W, H), "reconstruction is wrong")
    fails(check_conv_reconstruct, lambda W, H: ..., "placeholder")


def match(W_k, X, flip=False, backward=False, trim=False):
    T, L = X.shape[0], W_k.shape[1]
    W_use = W_k[:, ::-1] if flip else W_k
    if backward:
        Xp = np.vstack([np.zeros((L - 1, X.shape[1])), X])
        return np.array([np.sum(W_use[:, ::-1] * Xp[t:t + L].T) for t in range(T)])
    Xp = np.vstack([X, np.zeros((L - 1, X.shape[1]))])
    out = np.array([np.sum(W_use * Xp[t:t + L].T) for t in range(T)])
    return out[:T - L + 1] if trim else out


def test_template_match():
    check_template_match(match)
    fails(check_template_match, lambda W, X: match(W, X, flip=True), "reversed")
    fails(check_template_match, lambda W, X: match(W, X, backward=True), "backwards in time")
    fails(check_template_match, lambda W, X: match(W, X, trim=True), "every frame of X")
    fails(check_template_match, lambda W, X: match(W, X) / 2, "match is wrong")


def null(W_k, rng, same=False, fixed=False, permute=False, swap=False):
    L = W_k.shape[1]
    if fixed:
        rng = np.random.default_rng(0)
    if same:
        d = rng.integers(1, L)
        return np.roll(W_k, d, axis=1)
    if permute:
        return np.stack([rng.permutation(row) for row in W_k])
    if swap:
        return W_k[rng.permutation(W_k.shape[0])]
    return np.stack([np.roll(row, rng.integers(L)) for row in W_k])


def test_null_template():
    check_null_template(null)
    fails(check_null_template, lambda W, r: null(W, r, same=True), "same delay")
    fails(check_null_template, lambda W, r: null(W, r, fixed=True), "from rng")
    fails(check_null_template, lambda W, r: null(W, r, permute=True), "not a circular")
    fails(check_null_template, lambda W, r: null(W, r, swap=True), "swaps neurons")
    fails(check_null_template, lambda W, r: null(W, r).T, "shape")


def test_p_value():
    check_p_value(lambda o, n: (1 + np.sum(n >= o)) / (1 + len(n)))
    fails(check_p_value, lambda o, n: np.sum(n >= o) / len(n), "one of the samples")
    fails(check_p_value, lambda o, n: (1 + np.sum(n <= o)) / (1 + len(n)), "at least")
    fails(check_p_value, lambda o, n: (1 + np.sum(n > o)) / (1 + len(n)), "ties")
    fails(check_p_value, lambda o, n: (1 + np.sum(n >= o)) / len(n), "Divide by 1 \\+ n_null")
    fails(check_p_value, lambda o, n: "small", "number")


def best(cv_by_lag, reduce=np.median, errors="test_errors", swap=False):
    scores = {(int(r), lag): float(reduce(e))
              for lag, cv in cv_by_lag.items()
              for r, e in zip(cv.ranks, getattr(cv, errors))}
    rank, lag = min(scores, key=scores.get)
    return (lag, rank) if swap else (rank, lag)


def test_best_rank_and_lag():
    check_best_rank_and_lag(best)
    fails(check_best_rank_and_lag, lambda cv: best(cv, reduce=np.mean), "median")
    fails(check_best_rank_and_lag, lambda cv: best(cv, errors="train_errors"), "training")
    fails(check_best_rank_and_lag, lambda cv: best(cv, swap=True), "rank first")
    fails(check_best_rank_and_lag, lambda cv: 2, "pair")
    fails(check_best_rank_and_lag, lambda cv: (1, 10), "not the pair")
