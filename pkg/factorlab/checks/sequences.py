"""Checks for the neural-sequences exercise (convolutional NMF, seqNMF's significance test)."""

from __future__ import annotations

import numpy as np

from ..matrix.convnmf import conv_reconstruct
from ._common import ExerciseCheckError, answer_array, call_student, require

__all__ = [
    "check_best_rank_and_lag",
    "check_conv_reconstruct",
    "check_null_template",
    "check_p_value",
    "check_template_match",
]


def _reconstruct_variant(W, H, shift=0, transpose=False, lags=None):
    """The model with one of the usual mistakes: delays off by ``shift``, onsets read
    backwards in time (``transpose``), or only the first ``lags`` frames of the template."""
    T, N, L = H.shape[0], W.shape[0], W.shape[2]
    out = np.zeros((T, N))
    for l in range(L if lags is None else lags):
        d = l + shift
        if transpose:           # X_hat[t] += H[t + l] W_l: the template runs backwards
            out[:T - l] += H[l:] @ W[:, :, l].T
        elif d >= 0:
            out[d:] += H[:T - d] @ W[:, :, l].T
    return out


def check_conv_reconstruct(func) -> None:
    """Check ``func(W, H)``: the convolutional model
    ``X_hat[t, n] = sum_k sum_l H[t - l, k] W[n, k, l]`` (zero before ``t = 0``).

    Examples
    --------
    >>> from factorlab import conv_reconstruct
    >>> check_conv_reconstruct(conv_reconstruct)
    ✓ the convolution agrees with factorlab's on 3 test cases.
    """
    rng = np.random.default_rng(2)
    cases = [(rng.random((6, 2, 4)), rng.random((15, 2))),
             (rng.random((3, 1, 1)), rng.random((8, 1))),
             (rng.random((5, 3, 7)), rng.random((20, 3)) * (rng.random((20, 3)) > 0.7))]
    mistakes = [
        (dict(shift=-1), "Frame l of the template appears l frames after the onset: "
         "X_hat[t] gets H[t - l] @ W[:, :, l].T, so the onset at frame t itself uses l = 0."),
        (dict(shift=1), "Your delays are one frame too long: frame l = 0 of the template "
         "sits on the onset's own frame, X_hat[l:] += H[:T - l] @ W[:, :, l].T."),
        (dict(transpose=True), "The template runs backwards in time: an onset at frame t "
         "produces frame l of the template at t + l, so shift H forward (X_hat[l:] gets "
         "H[:T - l]), not backwards."),
        (dict(lags=1), "Only the first frame of the template is used: sum over all L frames "
         "of the template (W.shape[2])."),
    ]
    for W, H in cases:
        T, N = H.shape[0], W.shape[0]
        got = answer_array("conv_reconstruct(W, H)",
                           call_student(func, W.copy(), H.copy(), name="conv_reconstruct"),
                           (T, N), "time x neurons: one row per frame of H")
        if np.allclose(got, conv_reconstruct(W, H), atol=1e-10):
            continue
        for options, message in mistakes:
            require(not np.allclose(got, _reconstruct_variant(W, H, **options), atol=1e-10),
                    message)
        require(False, "The reconstruction is wrong: for each frame l of the template add "
                "H delayed by l frames times W[:, :, l] transposed, X_hat[l:] += "
                "H[:T - l] @ W[:, :, l].T.")
    print(f"✓ the convolution agrees with factorlab's on {len(cases)} test cases.")


def _match(W_k, X, flip=False, backward=False):
    """(W_k ⋆ X)[t] = sum_{n, l} W_k[n, l] X[t + l, n], or with the template reversed
    (``flip``), or looking back in time, sum_{n, l} W_k[n, l] X[t - l, n] (``backward``)."""
    T, L = X.shape[0], W_k.shape[1]
    W_use = W_k[:, ::-1] if flip else W_k
    if backward:
        Xp = np.vstack([np.zeros((L - 1, X.shape[1])), X])
        return np.array([np.sum(W_use[:, ::-1] * Xp[t:t + L].T) for t in range(T)])
    Xp = np.vstack([X, np.zeros((L - 1, X.shape[1]))])
    return np.array([np.sum(W_use * Xp[t:t + L].T) for t in range(T)])


def check_template_match(func) -> None:
    """Check ``func(W_k, X)``: how much the data from each frame on look like one template,
    ``m[t] = sum_{n, l} W_k[n, l] X[t + l, n]``, with ``X`` taken as zero after its last frame.

    Examples
    --------
    >>> import numpy as np
    >>> def match(W_k, X):
    ...     L = W_k.shape[1]
    ...     Xp = np.vstack([X, np.zeros((L - 1, X.shape[1]))])
    ...     return np.array([np.sum(W_k * Xp[t:t + L].T) for t in range(len(X))])
    >>> check_template_match(match)
    ✓ the sliding match agrees on 2 test cases.
    """
    rng = np.random.default_rng(3)
    cases = [(rng.random((5, 4)), rng.random((12, 5))), (rng.random((3, 6)), rng.random((9, 3)))]
    for W_k, X in cases:
        raw = call_student(func, W_k.copy(), X.copy(), name="template_match")
        shape = np.shape(raw)
        L, T = W_k.shape[1], X.shape[0]
        require(shape != (T - L + 1,), f"Your match has {T - L + 1} values, one per frame "
                "where the whole template fits: give one value for every frame of X (T of "
                "them), taking X as zero after its last frame.")
        got = answer_array("template_match(W_k, X)", raw, (T,), "one value per frame of X")
        if np.allclose(got, _match(W_k, X), atol=1e-10):
            continue
        require(not np.allclose(got, _match(W_k, X, flip=True), atol=1e-10),
                "The template is reversed: frame l of the template meets frame t + l of the "
                "data (a correlation, not a convolution).")
        require(not np.allclose(got, _match(W_k, X, backward=True), atol=1e-10),
                "Your match looks backwards in time: frame l of the template meets frame "
                "t + l of the data, after t, not before.")
        require(False, "The match is wrong: m[t] = sum over neurons n and template frames l "
                "of W_k[n, l] * X[t + l, n], with X zero after its last frame.")
    print(f"✓ the sliding match agrees on {len(cases)} test cases.")


def check_null_template(func) -> None:
    """Check ``func(W_k, rng)``: a null template whose every row (neuron) is the template's
    row shifted circularly by its own random delay (``np.roll`` along the frames).

    Examples
    --------
    >>> import numpy as np
    >>> def null(W_k, rng):
    ...     L = W_k.shape[1]
    ...     return np.stack([np.roll(row, rng.integers(L)) for row in W_k])
    >>> check_null_template(null)
    ✓ every row is a circular shift of the template's row, with delays that differ.
    """
    rng = np.random.default_rng(4)
    W_k = rng.random((30, 12))
    outs = []
    for seed in range(5):
        raw = call_student(func, W_k.copy(), np.random.default_rng(seed), name="null_template")
        outs.append(answer_array("null_template(W_k, rng)", raw, W_k.shape,
                                 "neurons x frames, like W_k"))
    L = W_k.shape[1]
    delays = []
    for out in outs:
        row_delays = []
        for n in range(W_k.shape[0]):
            match = [d for d in range(L) if np.allclose(out[n], np.roll(W_k[n], d))]
            if not match:
                require(not np.allclose(np.sort(out[n]), np.sort(W_k[n])),
                        "A row holds the right values in a new order that is not a circular "
                        "shift: use np.roll on each row, which keeps the shape of each "
                        "neuron's response and only moves it in time.")
                require(not any(np.allclose(out[n], W_k[m]) for m in range(W_k.shape[0])),
                        "Your null template swaps neurons (rows): keep each neuron's row and "
                        "shift it in time (along the frames, axis 1).")
                require(False, f"Row {n} is not a circular shift of the template's row {n}: "
                        "shift each row with np.roll(row, delay) along the frames.")
            row_delays.append(match[0])
        delays.append(row_delays)
    delays = np.array(delays)
    require(not np.all(delays == delays[:, :1]), "Every neuron got the same delay, which "
            "moves the whole template in time and keeps the sequence: draw a separate delay "
            "for each neuron (row).")
    require(len({tuple(d) for d in delays}) > 1, "The delays are the same for every random "
            "generator: draw them from rng (the argument), e.g. rng.integers(L).")
    print("✓ every row is a circular shift of the template's row, with delays that differ.")


def check_p_value(func) -> None:
    """Check ``func(observed, null)``: the permutation p-value
    ``(1 + #{null >= observed}) / (1 + len(null))``.

    Examples
    --------
    >>> import numpy as np
    >>> check_p_value(lambda obs, null: (1 + np.sum(null >= obs)) / (1 + len(null)))
    ✓ the p-value is right on 3 test cases.
    """
    rng = np.random.default_rng(5)
    null = rng.standard_normal(99)
    cases = [(3.5, null), (0.0, null), (float(np.sort(null)[90]), null)]
    for observed, values in cases:
        got = call_student(func, observed, values.copy(), name="p_value")
        require(got is not None and got is not Ellipsis, "p_value returns a placeholder (...).")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseCheckError(f"p_value should return a number, got "
                                     f"{type(got).__name__}.") from None
        n_null = len(values)
        right = (1 + np.sum(values >= observed)) / (1 + n_null)
        if abs(got - right) < 1e-12:
            continue
        wrong = [
            (np.sum(values >= observed) / n_null, "Count the observed value as one of the "
             "samples: (1 + count) / (1 + n_null). Without it a p-value can be 0, a claim no "
             "finite test can make."),
            ((1 + np.sum(values <= observed)) / (1 + n_null), "Count the null values at least "
             "as large as the observed one (null >= observed): a real sequence is more "
             "skewed than the null, so large values are the extreme ones."),
            ((1 + np.sum(values > observed)) / (1 + n_null), "Count ties too: null >= "
             "observed, not >."),
            ((1 + np.sum(values >= observed)) / n_null, "Divide by 1 + n_null: the observed "
             "value is one of the samples."),
        ]
        for value, message in wrong:
            require(abs(got - value) > 1e-12, message)
        require(False, "The p-value is wrong: (1 + number of null values >= observed) / "
                "(1 + number of null values).")
    print(f"✓ the p-value is right on {len(cases)} test cases.")


class _CV:
    """A stand-in for :class:`factorlab.assess.crossval.CVResult` (ranks, errors)."""

    def __init__(self, ranks, train, test):
        self.ranks = np.asarray(ranks)
        self.train_errors = np.asarray(train, dtype=float)
        self.test_errors = np.asarray(test, dtype=float)


def check_best_rank_and_lag(func) -> None:
    """Check ``func(cv_by_lag)``: given ``{lag: cross-validation result}``, the ``(rank,
    lag)`` pair with the lowest median test error over replicates.

    Examples
    --------
    >>> import numpy as np
    >>> def best(cv_by_lag):
    ...     scores = {(int(r), lag): float(np.median(e))
    ...               for lag, cv in cv_by_lag.items()
    ...               for r, e in zip(cv.ranks, cv.test_errors)}
    ...     return min(scores, key=scores.get)
    >>> check_best_rank_and_lag(best)
    ✓ (rank, lag) chosen by the lowest median test error.
    """
    ranks = [1, 2, 3]
    # the medians and the means disagree (one wild replicate), and so do test and train
    table = {
        10: _CV(ranks, [[0.9, 0.9, 0.9], [0.8, 0.8, 0.8], [0.7, 0.7, 0.7]],
                [[0.95, 0.95, 0.95], [0.90, 0.91, 0.92], [0.93, 0.94, 0.95]]),
        20: _CV(ranks, [[0.8, 0.8, 0.8], [0.6, 0.6, 0.6], [0.5, 0.5, 0.5]],
                [[0.94, 0.94, 0.94], [0.86, 0.87, 3.00], [0.89, 0.90, 0.91]]),
        30: _CV(ranks, [[0.7, 0.7, 0.7], [0.5, 0.5, 0.5], [0.3, 0.3, 0.3]],
                [[0.93, 0.93, 0.93], [0.88, 0.88, 0.88], [1.20, 1.30, 1.40]]),
    }
    got = call_student(func, dict(table), name="best_rank_and_lag")
    require(isinstance(got, (tuple, list)) and len(got) == 2,
            f"Return a pair (rank, lag), got {got!r}.")
    rank, lag = (int(v) for v in got)
    require((rank, lag) != (2, 30), "That pair has the lowest mean test error, but one wild "
            "replicate (3.00 at rank 2, lag 20) should not decide: use the median over "
            "replicates, as the chapter does.")
    require((rank, lag) != (3, 30), "That pair has the lowest training error, which always "
            "falls with the rank and the lag: choose by the test errors.")
    require((rank, lag) != (20, 2), "Return the rank first, then the lag: (rank, lag).")
    require((rank, lag) == (2, 20), f"({rank}, {lag}) is not the pair with the lowest median "
            "test error: compare np.median(cv.test_errors, axis=1) over every lag and rank.")
    print("✓ (rank, lag) chosen by the lowest median test error.")
