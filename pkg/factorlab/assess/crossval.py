"""Cross-validation of factor models by speckled hold-out.

Holding out whole rows does not work for factor models: a held-out row needs its own row of
``U``, which has to be fitted on that very row, so the "test" error keeps falling as the rank
grows. Instead a random scatter of single entries is held out (a speckled mask), the model is
fitted on the observed entries only, and the held-out entries are predicted from the factors
(Williams 2018; Owen & Perry 2009 for the block variant).
"""

from __future__ import annotations

import json
import numbers
import pathlib
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .._backend import check_random_state, to_numpy
from .._validate import check_array, check_fraction, check_int, hide_unobserved
from .models import check_estimator, clone_with, relative_error, run_tasks

__all__ = ["speckled_mask", "cross_validate", "CVResult"]


def speckled_mask(shape, holdout=0.1, min_observed=1, random_state=None) -> np.ndarray:
    """A random boolean mask (True = observed, used for training) hiding about ``holdout`` of
    the entries, with at least ``min_observed`` observed entries in every row and column (every
    slice along every mode, for tensors), so no row is ever held out whole.

    Parameters
    ----------
    shape : tuple of int
    holdout : float in (0, 1)
        Fraction of entries held out.
    min_observed : int
        Minimum number of observed entries per slice; use at least the rank, so that every row
        of every factor is determined by its observed entries.
    random_state : int, numpy Generator or None

    Returns
    -------
    ndarray of bool with the given shape

    Examples
    --------
    >>> m = speckled_mask((100, 50), holdout=0.2, random_state=0)
    >>> round(float(1 - m.mean()), 1), bool(m.any(axis=1).all())
    (0.2, True)
    """
    shape = tuple(check_int(s, "shape entry", minimum=1) for s in shape)
    holdout = check_fraction(holdout, "holdout")
    min_observed = check_int(min_observed, "min_observed", minimum=0)
    rng = check_random_state(random_state)
    for n, size in enumerate(shape):
        slice_size = int(np.prod(shape)) // size
        if min_observed > slice_size:
            raise ValueError(f"min_observed={min_observed} exceeds the {slice_size} entries of "
                             f"each slice along mode {n} of shape {shape}.")
    mask = rng.random(shape) >= holdout
    for n in range(len(shape)):
        moved = np.moveaxis(mask, n, 0).reshape(shape[n], -1)  # a copy: written back below
        for i in np.flatnonzero(moved.sum(1) < min_observed):
            hidden = np.flatnonzero(~moved[i])
            need = min_observed - int(moved[i].sum())
            moved[i, rng.choice(hidden, need, replace=False)] = True
        rest = tuple(s for k, s in enumerate(shape) if k != n)
        mask = np.moveaxis(moved.reshape((shape[n],) + rest), 0, n)
    return np.ascontiguousarray(mask)


@dataclass
class CVResult:
    """Train and test errors of a cross-validation, one row per rank, one column per replicate.

    Errors are relative: ``||X - X_hat||`` over the training (observed) or test (held-out)
    entries divided by ``||X||`` over the same entries.
    """

    ranks: np.ndarray
    train_errors: np.ndarray
    test_errors: np.ndarray
    holdout: float
    estimator: str = ""
    best_rank: int = field(init=False)

    def __post_init__(self):
        self.ranks = np.asarray(self.ranks, dtype=int)
        self.train_errors = np.asarray(self.train_errors, dtype=float)
        self.test_errors = np.asarray(self.test_errors, dtype=float)
        self.best_rank = int(self.ranks[np.argmin(self.test_errors.mean(axis=1))])

    def save(self, path) -> None:
        """Write the result to an ``.npz`` file (no pickle)."""
        np.savez(pathlib.Path(path), ranks=self.ranks, train_errors=self.train_errors,
                 test_errors=self.test_errors,
                 meta=np.array(json.dumps({"holdout": self.holdout,
                                           "estimator": self.estimator})))

    @classmethod
    def load(cls, path) -> "CVResult":
        """Read a result written by :meth:`save`."""
        with np.load(pathlib.Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(data["ranks"], data["train_errors"], data["test_errors"], **meta)


def _check_ranks(ranks) -> list[int]:
    if isinstance(ranks, numbers.Integral):
        ranks = [ranks]
    try:
        ranks = [check_int(r, "ranks", minimum=1) for r in ranks]
    except TypeError as exc:
        raise TypeError(f"ranks must be an int or a sequence of ints, got {ranks!r}.") from exc
    if not ranks:
        raise ValueError("ranks is empty; give at least one rank.")
    return ranks


def _fit_and_score(estimator, X, mask, rank, seed, test=None):
    """Fit a clone at ``rank`` on the observed entries; its (train, test) relative errors."""
    model = clone_with(estimator, rank=rank, random_state=seed).fit(X, mask=mask)
    X_hat = model.reconstruct()
    return relative_error(X, X_hat, mask), relative_error(X, X_hat, ~mask if test is None else test)


def cross_validate(estimator, X, ranks, holdout=0.1, replicates=3, random_state=None,
                   progress=True, n_jobs=1, *, mask=None) -> CVResult:
    """Speckled hold-out cross-validation of a factor model over a range of ranks.

    For each replicate a fresh :func:`speckled_mask` hides ``holdout`` of the entries (keeping
    at least ``max(ranks)`` observed entries in every row and column); the estimator is fitted
    at every rank on the observed entries only (``fit(X, mask=...)``) and scored on both parts.
    The training error falls with the rank; the test error falls until the model starts to fit
    noise, then rises. The rank with the lowest mean test error is ``best_rank``.

    Parameters
    ----------
    estimator : factorlab model
        A template such as ``NMF(rank=1)``, ``PCA(rank=1)`` or ``CP(rank=1)``; it is cloned
        with each rank and seed and never fitted itself.
    X : array (matrix or tensor)
    ranks : int or sequence of int
    holdout : float in (0, 1)
        Fraction of entries held out per replicate.
    replicates : int
        Number of masks (and random starts) per rank.
    random_state : int, numpy Generator or None
    progress : bool
        Show a ``tqdm`` progress bar.
    n_jobs : int
        Fits run in this many worker processes (see ``run_tasks`` in
        ``factorlab.assess.models``); the result does not depend on it.
    mask : boolean array of X's shape, optional
        True where ``X`` is observed. Missing entries (which may hold NaN) are never used: the
        hold-out is drawn from the observed entries, the models are fitted on the rest of them
        and scored on the held-out ones.

    Returns
    -------
    CVResult
        ``ranks``, ``train_errors`` and ``test_errors`` (ranks x replicates), ``best_rank``.

    Examples
    --------
    >>> from factorlab.data import lowrank_matrix
    >>> from factorlab.tensor import CP
    >>> X, _, _ = lowrank_matrix(40, 30, rank=2, noise=0.1, random_state=0)
    >>> cv = cross_validate(CP(rank=1), X, ranks=[1, 2, 3, 4], random_state=0, progress=False)
    >>> cv.best_rank
    2
    """
    check_estimator(estimator)
    ndim = tuple(range(2, 17))
    if mask is None:
        Xa, observed = check_array(X, "X", ndim=ndim), None
    else:
        Xa, observed = hide_unobserved(X, mask, ndim=ndim)
        observed = np.asarray(to_numpy(observed), dtype=bool)
    ranks = _check_ranks(ranks)
    holdout = check_fraction(holdout, "holdout")
    replicates = check_int(replicates, "replicates", minimum=1)
    rng = check_random_state(random_state)
    Xn = to_numpy(Xa)

    tasks, where = [], []
    for j in range(replicates):
        fit_mask = speckled_mask(Xn.shape, holdout, max(ranks), random_state=rng)
        test_mask = None if observed is None else ~fit_mask & observed
        if observed is not None:
            fit_mask &= observed
        if (~fit_mask if test_mask is None else test_mask).sum() == 0:
            # tiny data: make sure there is something to test on
            candidates = np.flatnonzero(fit_mask)
            pick = candidates[rng.integers(candidates.size)]
            fit_mask.flat[pick] = False
            if test_mask is not None:
                test_mask.flat[pick] = True
        for i, rank in enumerate(ranks):
            tasks.append((_fit_and_score, (estimator, Xa, fit_mask, rank,
                                           int(rng.integers(2**31 - 1)), test_mask)))
            where.append((i, j))
    train = np.empty((len(ranks), replicates))
    test = np.empty_like(train)
    with tqdm(total=len(tasks), disable=not progress, desc="cross-validation") as bar:
        for (i, j), (tr, te) in zip(where, run_tasks(tasks, n_jobs, bar)):
            train[i, j], test[i, j] = tr, te
    return CVResult(np.array(ranks), train, test, holdout, repr(estimator))
