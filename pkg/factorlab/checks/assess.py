"""Checks for the rank-selection (NMF) and CP-on-trials exercises."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..assess.similarity import similarity
from ._common import ExerciseCheckError, answer_array, call_student, require

__all__ = [
    "check_choose_rank",
    "check_cp_mode_update",
    "check_heldout_error",
    "check_learning_component",
    "check_matched_similarity",
    "check_rank_choice",
    "check_stable_rank",
]


def _number(name, value) -> float:
    require(value is not None and value is not Ellipsis, f"{name} is still a placeholder (...).")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExerciseCheckError(f"{name} should be a number, got {type(value).__name__}."
                                 ) from None


def check_matched_similarity(func) -> None:
    """Check ``func(V1, V2)``: the mean absolute cosine of optimally matched columns of two factor
    matrices (Hungarian matching), i.e. :func:`factorlab.similarity` for one mode.

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab import similarity
    >>> check_matched_similarity(lambda A, B: similarity([A], [B]))
    ✓ matched similarity agrees on 6 test cases.
    """
    rng = np.random.default_rng(0)
    V = rng.random((20, 3))
    near = V[:, [0, 0, 1]] + 0.3 * rng.random((20, 3))   # two columns near V's column 0
    cases = [(V, V[:, [2, 0, 1]] * [2.0, 0.5, 3.0], "a permuted, rescaled copy"),
             (V, rng.random((20, 3)), "two unrelated matrices"),
             (V, -V, "a sign-flipped copy"),
             (V, V[:, :2], "matrices with different numbers of columns"),
             (V, near, "a matrix with two columns close to the same column"),
             (V * [1.0, 10.0, 0.1], rng.standard_normal((20, 3)), "columns of mixed sign")]

    def variant(A, B, norm=0, absolute=True, match="hungarian", reduce=np.mean):
        if norm is not None:
            A = A / np.linalg.norm(A, axis=norm, keepdims=True)
            B = B / np.linalg.norm(B, axis=norm, keepdims=True)
        S = A.T @ B
        if absolute:
            S = np.abs(S)
        if match == "hungarian":
            rows, cols = linear_sum_assignment(S, maximize=True)
        elif match == "minimize":
            rows, cols = linear_sum_assignment(S)
        elif match == "greedy":
            return float(reduce(S.max(axis=1)))
        else:                                   # columns taken in the given order
            k = min(S.shape)
            rows = cols = np.arange(k)
        return float(reduce(S[rows, cols]))

    mistakes = [
        (dict(match="none"), "Your function compares column k with column k: the columns "
         "come in any order, so match them first with scipy.optimize.linear_sum_assignment"
         "(S, maximize=True)."),
        (dict(absolute=False), "Take the absolute value of the cosines: a factor and its "
         "negative are the same component (signs are arbitrary)."),
        (dict(norm=None), "Normalise the columns to unit length first: the scale of a factor "
         "is arbitrary, only its direction counts."),
        (dict(norm=1), "You normalised the rows; normalise every column (axis=0): the columns "
         "are the components."),
        (dict(match="greedy"), "Each column took its best partner, so two columns can share "
         "one: match one to one with linear_sum_assignment(S, maximize=True)."),
        (dict(match="minimize"), "linear_sum_assignment minimises by default: pass "
         "maximize=True to pair the most similar columns."),
        (dict(reduce=np.sum), "Average over the matched pairs (mean), do not sum them."),
    ]
    got = []
    for A, B, what in cases:
        got.append(_number("your similarity", call_student(func, A.copy(), B.copy(),
                                                             name="matched_similarity")))
    got = np.array(got)
    want = np.array([similarity([A], [B]) for A, B, _ in cases])
    if not np.allclose(got, want, atol=1e-6):
        for options, message in mistakes:
            wrong = np.array([variant(A, B, **options) for A, B, _ in cases])
            require(not np.allclose(got, wrong, atol=1e-6), message)
        bad = [what for (_, _, what), g, w in zip(cases, got, want) if abs(g - w) > 1e-6]
        require(False, f"Your function is wrong for {bad[0]}. Normalise the columns, take "
                "|cos|, match with scipy.optimize.linear_sum_assignment(..., maximize=True) "
                "and average over the matched pairs.")
    print(f"✓ matched similarity agrees on {len(cases)} test cases.")


def check_heldout_error(func) -> None:
    """Check ``func(X, X_hat, mask)``: relative error over the held-out entries (``~mask``),
    ``||(X - X_hat)[~mask]|| / ||X[~mask]||``.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda X, Xh, m: np.linalg.norm((X - Xh)[~m]) / np.linalg.norm(X[~m])
    >>> check_heldout_error(f)
    ✓ held-out error is right.
    """
    rng = np.random.default_rng(1)
    X, X_hat = rng.random((12, 9)), rng.random((12, 9))
    mask = rng.random((12, 9)) > 0.3
    got = _number("your held-out error", call_student(func, X.copy(), X_hat.copy(), mask.copy(),
                                                      name="heldout_error(X, X_hat, mask)"))
    R = X - X_hat
    h = ~mask
    test = np.linalg.norm(R[h]) / np.linalg.norm(X[h])
    if abs(got - test) > 1e-9:
        mistakes = [
            (np.linalg.norm(R[mask]) / np.linalg.norm(X[mask]), "That is the error on the "
             "training entries (mask True = observed); the test error uses the held-out ones, "
             "~mask."),
            (np.linalg.norm(R[h]) ** 2 / np.linalg.norm(X[h]) ** 2, "That is the ratio of "
             "squared norms: take the norms themselves (no square)."),
            (np.linalg.norm(R[h]) / np.linalg.norm(X), "The denominator is the norm of all of "
             "X: divide by the norm of the held-out data only, X[~mask]."),
            (np.linalg.norm(R[h]) / np.linalg.norm(X_hat[h]), "Divide by the norm of the data "
             "X[~mask], not of the prediction X_hat."),
            (np.linalg.norm(R[h]), "Divide the residual norm by the norm of the held-out data "
             "to make the error relative."),
            (np.abs(R[h]).mean() / np.abs(X[h]).mean(), "Use the Frobenius (2-) norm of the "
             "held-out entries, np.linalg.norm, not mean absolute values."),
        ]
        for value, message in mistakes:
            require(abs(got - value) > 1e-9, message)
        require(False, "The held-out error is wrong: the norm of the residual X - X_hat over the "
                "held-out entries (~mask) divided by the norm of X over the same entries.")
    print("✓ held-out error is right.")


def check_rank_choice(rank, ranks, test_errors) -> None:
    """Check that ``rank`` is the rank with the lowest mean test error.

    ``test_errors`` has one row per rank and one column per replicate.

    Examples
    --------
    >>> check_rank_choice(2, [1, 2, 3], [[0.5, 0.6], [0.2, 0.3], [0.4, 0.3]])
    ✓ rank 2 has the lowest mean test error.
    """
    errors = np.asarray(test_errors, dtype=float)
    ranks = list(ranks)
    require(errors.ndim == 2 and errors.shape[0] == len(ranks),
            f"test_errors should have one row per rank ({len(ranks)} rows), got shape "
            f"{errors.shape}.")
    best = ranks[int(np.argmin(errors.mean(axis=1)))]
    chosen = int(_number("rank", rank))
    require(chosen == best, f"Rank {chosen} is not the one with the lowest mean test error. "
            "Average over replicates (axis=1), then take the argmin; the training error always "
            "prefers the largest rank.")
    print(f"✓ rank {chosen} has the lowest mean test error.")


def check_stable_rank(largest_stable_rank) -> None:
    """Check ``largest_stable_rank(similarities, threshold)``: the largest rank whose lowest
    similarity (over restarts) is above ``threshold``; ``similarities`` maps rank -> the
    similarities of every restart to the best one (``Ensemble.similarities_``).

    The function is run on the check's own dictionaries, whose ranks start at 2.

    Examples
    --------
    >>> import numpy as np
    >>> check_stable_rank(lambda sims, threshold=0.99:
    ...                   max(r for r in sims if np.min(sims[r]) > threshold))
    ✓ largest_stable_rank is right on 3 test cases.
    """
    cases = [
        ({2: [1.0, 0.992, 0.998], 3: [1.0, 0.964, 0.994], 4: [1.0, 0.97, 0.979],
          5: [1.0, 0.862, 0.942], 6: [1.0, 0.985, 0.989]}, 0.99),
        ({2: [1.0, 0.961], 3: [1.0, 1.0], 4: [1.0, 0.987], 5: [1.0, 0.837]}, 0.95),
        ({3: [1.0, 0.994, 0.995, 0.996], 4: [1.0, 0.954, 0.996, 0.993],
          5: [1.0, 0.969, 0.927, 0.918], 6: [1.0, 0.739, 0.941, 0.748]}, 0.99),
    ]

    def largest(sims, t, reduce=np.min):
        return max([r for r in sims if reduce(sims[r]) > t] or [None])

    candidates = [
        (lambda s, t: min(r for r in s if np.min(s[r]) > t),
         "That is the smallest stable rank; the question is the largest (max)."),
        (lambda s, t: largest(s, t, np.mean), "Every restart must agree: compare the lowest "
         "similarity (min) with the threshold, not the mean."),
        (lambda s, t: largest(s, t, np.median), "Every restart must agree: compare the lowest "
         "similarity (min) with the threshold, not the median."),
        (lambda s, t: largest(s, 0.99), "Use the threshold argument rather than a fixed 0.99."),
        (lambda s, t: min(r for r in s if np.min(s[r]) <= t), "That is the first rank that is "
         "not stable: the answer is the largest rank that still is."),
        (lambda s, t: sorted(s).index(largest(s, t)), "That is a position in a list, not a "
         "rank: return the key r of similarities."),
        (lambda s, t: sum(np.min(s[r]) > t for r in s), "That counts the stable ranks; return "
         "the largest stable rank itself."),
    ]
    got = []
    for sims, t in cases:
        copy = {r: np.array(v) for r, v in sims.items()}
        got.append(_number("largest_stable_rank(...)", call_student(
            largest_stable_rank, copy, t, name="largest_stable_rank(similarities, threshold)")))
    if got != [largest(sims, t) for sims, t in cases]:
        for func, message in candidates:
            require(got != [func(sims, t) for sims, t in cases], message)
        require(False, "largest_stable_rank is wrong: the largest rank r with "
                "min(similarities[r]) > threshold.")
    print(f"✓ largest_stable_rank is right on {len(cases)} test cases.")


def check_choose_rank(choose_rank) -> None:
    """Check ``choose_rank(ranks, test_errors)``: the rank with the lowest test error averaged
    over replicates (``test_errors`` has one row per rank, one column per replicate).

    The function is run on the check's own error tables, where every mistake gives another
    answer.

    Examples
    --------
    >>> import numpy as np
    >>> check_choose_rank(lambda ranks, E: ranks[int(np.argmin(np.mean(E, axis=1)))])
    ✓ choose_rank picks the lowest mean test error on 2 test tables.
    """
    tables = [
        ([1, 2, 3, 4, 5, 6],
         [[0.35, 0.49, 0.24], [0.48, 0.29, 0.33], [0.45, 0.32, 0.36], [0.21, 0.43, 0.36],
          [0.3, 0.44, 0.29], [0.34, 0.24, 0.32]]),
        ([2, 3, 4, 5],
         [[0.26, 0.28, 0.43, 0.28, 0.35], [0.49, 0.49, 0.42, 0.36, 0.28],
          [0.25, 0.49, 0.35, 0.23, 0.39], [0.43, 0.38, 0.48, 0.21, 0.36]]),
    ]

    def pick(ranks, values, fn=np.argmin):
        return ranks[int(fn(values))]

    candidates = [
        (lambda r, E: pick(r, E.mean(axis=0)),
         "You averaged over the ranks (axis=0): rows are ranks and columns replicates, so "
         "average over the replicates, axis=1."),
        (lambda r, E: int(np.argmin(E.mean(axis=0))), "You averaged over the ranks (axis=0): "
         "rows are ranks and columns replicates, so average over the replicates, axis=1."),
        (lambda r, E: pick(r, E.mean(axis=1), np.argmax),
         "That is the rank with the highest mean test error: argmin, not argmax."),
        (lambda r, E: int(np.argmin(E.mean(axis=1))),
         "That is a position in the list, not a rank: return ranks[i]."),
        (lambda r, E: pick(r, E.min(axis=1)), "That is the rank with the lowest single "
         "replicate: average over the replicates (mean along axis=1) first."),
        (lambda r, E: pick(r, E[:, 0]), "That uses one replicate only: average over all of "
         "them (axis=1)."),
        (lambda r, E: pick(r, E[:, -1]), "That uses one replicate only: average over all of "
         "them (axis=1)."),
        (lambda r, E: pick(r, np.median(E, axis=1)), "Use the mean over replicates, not the "
         "median."),
    ]
    got = []
    for ranks, errors in tables:
        got.append(_number("choose_rank(...)", call_student(
            choose_rank, list(ranks), np.array(errors), name="choose_rank(ranks, test_errors)")))
    if got != [pick(r, np.mean(E, axis=1)) for r, E in tables]:
        for func, message in candidates:
            require(got != [func(r, np.array(E)) for r, E in tables], message)
        require(False, "choose_rank is wrong: ranks[argmin of the mean over replicates "
                "(axis=1)].")
    print(f"✓ choose_rank picks the lowest mean test error on {len(tables)} test tables.")


def check_cp_mode_update(func) -> None:
    """Check ``func(X, factors, mode)``: the ALS update of one CP factor,
    ``unfold(X, mode) @ KR @ inv(G)`` with ``G`` the Hadamard product of the other Gram
    matrices.

    Examples
    --------
    >>> import numpy as np
    >>> def update(X, F, n):
    ...     others = [f for k, f in enumerate(F) if k != n]
    ...     Xn = np.moveaxis(X, n, 0).reshape(X.shape[n], -1)
    ...     K = np.einsum("ir,jr->ijr", *others).reshape(-1, F[0].shape[1])
    ...     return np.linalg.solve(K.T @ K, (Xn @ K).T).T
    >>> check_cp_mode_update(update)
    ✓ CP mode update is right for all 3 modes.
    """
    rng = np.random.default_rng(2)
    X = rng.random((6, 5, 4))
    r = 2
    factors = [rng.random((n, r)) for n in X.shape]

    def update(mode, unfold="moveaxis", order="first-slowest", gram="hadamard"):
        others = [f for k, f in enumerate(factors) if k != mode]
        if unfold == "moveaxis":
            Xn = np.moveaxis(X, mode, 0).reshape(X.shape[mode], -1)
        else:                                   # a plain reshape, the axes never moved
            Xn = X.reshape(X.shape[mode], -1)
        first, second = others if order == "first-slowest" else others[::-1]
        K = np.einsum("ir,jr->ijr", first, second).reshape(-1, r)
        M = Xn @ K
        if gram == "none":
            return M
        if gram == "sum":
            G = others[0].T @ others[0] + others[1].T @ others[1]
        elif gram == "all":
            G = np.prod([f.T @ f for f in factors], axis=0)
        else:
            G = (others[0].T @ others[0]) * (others[1].T @ others[1])
        return np.linalg.solve(G, M.T).T

    hint = ("np.linalg.solve(G, B) solves G Z = B; for Z G = Xn K solve the transposed system, "
            "np.linalg.solve(G, (Xn @ K).T).T.")
    mistakes = [
        (dict(unfold="reshape"), "The unfolding is wrong: X.reshape(X.shape[mode], -1) without "
         "np.moveaxis(X, mode, 0) mixes the modes (it is right for mode 0 only). Move the "
         "mode to the front first."),
        (dict(order="reversed"), "The Khatri–Rao rows are in the wrong order: "
         "np.moveaxis(X, mode, 0).reshape(...) runs over the remaining modes with the first "
         "varying slowest, so the Khatri–Rao product of (first, second) other factor must "
         "have first-slowest rows: einsum('ir,jr->ijr', first, second)."),
        (dict(gram="none"), "The update leaves out the pseudo-inverse: Xn @ K is not the "
         "least-squares factor; divide by the Gram matrix, solve Z G = Xn K with "
         "G = (BᵀB) * (CᵀC)."),
        (dict(gram="sum"), "The Gram matrix of the Khatri–Rao product is the elementwise "
         "(Hadamard) product (BᵀB) * (CᵀC), not their sum."),
        (dict(gram="all"), "The Gram matrix must leave out the factor being updated: "
         "(BᵀB) * (CᵀC) over the two other factors only."),
        (dict(order="reversed", gram="none"), "Two things: the Khatri–Rao rows are in the "
         "wrong order (first other factor varying slowest) and the Gram matrix is missing."),
    ]
    for mode in range(3):
        out = call_student(func, X.copy(), [f.copy() for f in factors], mode,
                           name=f"cp_mode_update(X, factors, {mode})", hint=hint)
        got = answer_array(f"the mode-{mode} factor", out, (X.shape[mode], r),
                           f"size of mode {mode} x rank: one row per index of that mode")
        letters = "abc"
        spec = ",".join(f"{letters[k]}r" for k in range(3) if k != mode)
        others = [f for k, f in enumerate(factors) if k != mode]
        # least squares on the full tensor, independent of any unfolding order convention
        design = np.einsum(f"{spec}->{''.join(letters[k] for k in range(3) if k != mode)}r",
                           *others).reshape(-1, r)
        target = np.moveaxis(X, mode, -1).reshape(-1, X.shape[mode])
        want = np.linalg.lstsq(design, target, rcond=None)[0].T
        if np.allclose(got, want, atol=1e-8):
            continue
        for options, message in mistakes:
            require(not np.allclose(got, update(mode, **options), atol=1e-8), message)
        require(False, f"The mode-{mode} update differs from the least-squares solution: "
                "unfold with np.moveaxis(X, mode, 0).reshape(X.shape[mode], -1), build the "
                "Khatri–Rao product of the two other factors in the unfolding's column order, "
                "and solve with G = (BᵀB) * (CᵀC).")
    print("✓ CP mode update is right for all 3 modes.")


def check_learning_component(trial_factor, true_trial_factors) -> None:
    """Check that ``trial_factor`` (a vector over trials) is the learning component: it should
    correlate with the true learning profile (column 0 of the true trial factors) better than
    with any other true component, and rise over the session.

    Examples
    --------
    >>> from factorlab.data import trial_tensor
    >>> data = trial_tensor(10, 10, 40, rank=3, random_state=0)
    >>> check_learning_component(data.factors[2][:, 0] * 2, data.factors[2])
    ✓ this trial factor is the learning component (correlation 1.00).
    """
    truth = np.asarray(true_trial_factors, dtype=float)
    f = answer_array("trial_factor", np.ravel(trial_factor)[:, None], (truth.shape[0], 1))[:, 0]
    corr = [np.corrcoef(f, truth[:, k])[0, 1] for k in range(truth.shape[1])]
    require(int(np.nanargmax(np.abs(corr))) == 0,
            "This trial factor follows another component (adaptation or trial type), not "
            "learning: look for the factor that rises over the session.")
    require(corr[0] > 0.9, f"The correlation with the learning profile is only {corr[0]:.2f}; is "
            "the sign flipped, or the model rank wrong?")
    print(f"✓ this trial factor is the learning component (correlation {corr[0]:.2f}).")

