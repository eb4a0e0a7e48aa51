"""Checks for the rank-selection (NMF) and CP-on-trials exercises."""

from __future__ import annotations

import numpy as np

from ..assess.similarity import similarity
from ._common import answer_array, require

__all__ = ["check_matched_similarity", "check_heldout_error", "check_rank_choice",
           "check_cp_mode_update", "check_learning_component"]


def _number(name, value) -> float:
    require(value is not None and value is not Ellipsis, f"{name} is still a placeholder (...).")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a number, got {type(value).__name__}.") from None


def check_matched_similarity(func) -> None:
    """Check ``func(V1, V2)``: the mean absolute cosine of optimally matched columns of two factor
    matrices (Hungarian matching), i.e. :func:`factorlab.similarity` for one mode.

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab import similarity
    >>> check_matched_similarity(lambda A, B: similarity([A], [B]))
    ✓ matched similarity agrees on 4 test cases.
    """
    rng = np.random.default_rng(0)
    V = rng.random((20, 3))
    cases = [(V, V[:, [2, 0, 1]] * [2.0, 0.5, 3.0], "a permuted, rescaled copy"),
             (V, rng.random((20, 3)), "two unrelated matrices"),
             (V, -V, "a sign-flipped copy"),
             (V, V[:, :2], "matrices with different numbers of columns")]
    for A, B, what in cases:
        got = _number("your similarity", func(A.copy(), B.copy()))
        want = similarity([A], [B])
        require(abs(got - want) < 1e-6,
                f"For {what} your function gives {got:.4f}, expected {want:.4f}. Normalise the "
                "columns, take |cos|, match with scipy.optimize.linear_sum_assignment(..., "
                "maximize=True) and average over the matched pairs.")
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
    got = _number("your held-out error", func(X.copy(), X_hat.copy(), mask.copy()))
    test = np.linalg.norm((X - X_hat)[~mask]) / np.linalg.norm(X[~mask])
    train = np.linalg.norm((X - X_hat)[mask]) / np.linalg.norm(X[mask])
    require(abs(got - train) > 1e-9 or abs(got - test) < 1e-9,
            "That is the error on the training entries (mask True = observed); the test error "
            "uses the held-out ones, ~mask.")
    require(abs(got - test) < 1e-9, f"Got {got:.4f}, expected {test:.4f}: divide the norm of the "
            "held-out residual by the norm of the held-out data.")
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
    require(chosen == best, f"Rank {chosen} is not the one with the lowest mean test error "
            f"(that is rank {best}). Average over replicates (axis=1), then take the argmin; "
            "the training error always prefers the largest rank.")
    print(f"✓ rank {chosen} has the lowest mean test error.")


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
    factors = [rng.random((n, 2)) for n in X.shape]
    for mode in range(3):
        got = answer_array(f"the mode-{mode} factor", func(X.copy(), [f.copy() for f in factors],
                                                            mode), (X.shape[mode], 2))
        letters = "abc"
        spec = ",".join(f"{letters[k]}r" for k in range(3) if k != mode)
        others = [f for k, f in enumerate(factors) if k != mode]
        # least squares on the full tensor, independent of any unfolding order convention
        design = np.einsum(f"{spec}->{''.join(letters[k] for k in range(3) if k != mode)}r",
                           *others).reshape(-1, 2)
        target = np.moveaxis(X, mode, -1).reshape(-1, X.shape[mode])
        want = np.linalg.lstsq(design, target, rcond=None)[0].T
        require(np.allclose(got, want, atol=1e-8),
                f"The mode-{mode} update differs from the least-squares solution. Check that the "
                "Khatri–Rao rows follow the unfolding's column order (np.moveaxis(X, mode, 0)"
                ".reshape(...) runs over the remaining modes with the first varying slowest).")
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

