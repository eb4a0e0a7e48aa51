"""The sequence test: did the dynamics change between two conditions?

A block-permutation test of a sparse VAR fitted on one condition and scored on the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._backend import check_random_state, to_numpy
from .._validate import check_array, check_fraction, check_int, check_nonnegative_number, check_option
from .sparse_var import lagged_design, var_lasso

__all__ = ["sequence_test", "SequenceTestResult"]


@dataclass
class SequenceTestResult:
    """Outcome of :func:`sequence_test`."""

    statistic: float  #: one-step error on B minus that on held-out A
    p_value: float
    null_distribution: np.ndarray
    error_a: float  #: mean squared one-step error on the held-out blocks of A
    error_b: float  #: the same on B, with the VAR fitted on A
    support_a: np.ndarray  #: coupling graph fitted on all of A
    support_b: np.ndarray  #: coupling graph fitted on all of B


def _blocks(Z, length):
    # Each block loses its own mean: slow drifts (bleaching, neuropil) then do not count as a
    # change in dynamics, and do not break the exchangeability of blocks under the null.
    return [Z[i:i + length] - Z[i:i + length].mean(0)
            for i in range(0, Z.shape[0] - length + 1, length)]


def _block_errors(blocks, train, tests, order, alpha, standardize):
    """Fit on the ``train`` blocks; return the mean squared one-step error on each test set."""
    coefs, mean = var_lasso([blocks[i] for i in train], order, alpha, standardize=standardize)
    B = coefs.transpose(1, 0, 2).reshape(coefs.shape[1], -1)
    errors = []
    for test in tests:
        Phi, Y = lagged_design([blocks[i] - mean for i in test], order)
        errors.append(float(np.mean((Y - Phi @ B.T) ** 2)))
    return errors


def sequence_test(Z_a, Z_b, order=1, alpha=0.05, block_length=100, n_permutations=199,
                  train_fraction=0.5, standardize=True, statistic="prediction",
                  random_state=None) -> SequenceTestResult:
    """Do two latent series from the same field of view follow the same sparse VAR?

    The statistic is ``S = error(B) - error(held-out A)``: a sparse VAR is fitted on the first
    ``train_fraction`` of A's time blocks and scored (mean squared one-step error) on A's other
    blocks and on B's. Each block is centred on its own mean first, so slow drifts of the
    baseline are not mistaken for a change in dynamics. With ``statistic="coefficients"``, ``S``
    is instead the Frobenius distance between the VARs fitted on all of A and all of B (less
    powerful when the lasso estimates are noisy). Under the null (same dynamics) the blocks are
    exchangeable, so the labels A/B are permuted over contiguous blocks of ``block_length``
    points (which keeps the autocorrelation inside each block), the VAR is refitted and ``S``
    recomputed;
    ``p = (1 + #{S_perm >= S}) / (1 + n_permutations)``.

    Parameters
    ----------
    Z_a, Z_b : arrays of shape (T_a, d) and (T_b, d)
        Latent series of the two sequences (the same encoder for both).
    order, alpha : VAR order and lasso penalty.
    block_length : int
        Points per block; choose it longer than the autocorrelation time (e.g. ~10 s).
    n_permutations : int
    train_fraction : float
        Fraction of A's blocks used to fit the VAR.
    standardize : bool
        Passed to :func:`var_lasso`.
    statistic : {"prediction", "coefficients"}
        One-step prediction error difference (default) or distance between fitted VARs.
    random_state : int, Generator or None

    Returns
    -------
    SequenceTestResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def sim(c):
    ...     z = np.zeros((1200, 2))
    ...     for t in range(1, 1200):
    ...         z[t] = [0.5 * z[t-1, 0], c * z[t-1, 0]] + rng.standard_normal(2)
    ...     return z
    >>> sequence_test(sim(0.0), sim(0.8), block_length=100, n_permutations=99,
    ...               random_state=0).p_value
    0.01
    """
    Z_a = to_numpy(check_array(Z_a, "Z_a", ndim=2)).astype(np.float64)
    Z_b = to_numpy(check_array(Z_b, "Z_b", ndim=2)).astype(np.float64)
    if Z_a.shape[1] != Z_b.shape[1]:
        raise ValueError(f"Z_a and Z_b must have the same number of variables, got "
                         f"{Z_a.shape[1]} and {Z_b.shape[1]}.")
    order = check_int(order, "order", minimum=1)
    alpha = check_nonnegative_number(alpha, "alpha")
    block_length = check_int(block_length, "block_length", minimum=order + 2)
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    train_fraction = check_fraction(train_fraction, "train_fraction")
    statistic = check_option(statistic, "statistic", ("prediction", "coefficients"))
    rng = check_random_state(random_state)
    blocks = _blocks(Z_a, block_length) + _blocks(Z_b, block_length)
    n_a = Z_a.shape[0] // block_length
    n_train = int(round(train_fraction * n_a))
    if n_train < 1 or n_a - n_train < 1 or len(blocks) - n_a < 1:
        raise ValueError(f"block_length={block_length} leaves too few blocks (A: {n_a}, B: "
                         f"{len(blocks) - n_a}); use shorter blocks or longer series.")

    def stat(order_of_blocks):
        a_idx, b_idx = order_of_blocks[:n_a], order_of_blocks[n_a:]
        if statistic == "coefficients":
            fit_a = var_lasso([blocks[i] for i in a_idx], order, alpha, standardize=standardize)
            fit_b = var_lasso([blocks[i] for i in b_idx], order, alpha, standardize=standardize)
            return float(np.sqrt(np.sum((fit_a[0] - fit_b[0]) ** 2))), np.nan, np.nan
        err_a, err_b = _block_errors(blocks, a_idx[:n_train], (a_idx[n_train:], b_idx), order,
                                     alpha, standardize)
        return err_b - err_a, err_a, err_b

    s, err_a, err_b = stat(np.arange(len(blocks)))
    null = np.array([stat(rng.permutation(len(blocks)))[0] for _ in range(n_permutations)])
    p = (1 + np.sum(null >= s)) / (1 + n_permutations)
    sup_a = np.abs(var_lasso(Z_a, order, alpha, standardize=standardize)[0]).max(0) > 0
    sup_b = np.abs(var_lasso(Z_b, order, alpha, standardize=standardize)[0]).max(0) > 0
    return SequenceTestResult(float(s), float(p), null, err_a, err_b, sup_a, sup_b)
