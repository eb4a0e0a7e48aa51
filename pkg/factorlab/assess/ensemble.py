"""Ensembles of restarts: fit every rank many times and ask how stable the answer is.

Nonconvex models (NMF, CP) reach different local optima from different starts. Past the data's
true rank the extra components have nothing real to lock onto, so restarts stop agreeing: the
similarity of each restart to the best one drops below 1 exactly where the rank is too large.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._backend import check_random_state
from .._validate import check_array, check_int, hide_unobserved
from .models import check_estimator, clone_with, factors_of, relative_error, run_tasks
from .crossval import _check_ranks
from .similarity import align, similarity

__all__ = ["Ensemble"]


def _absorbed(model) -> list[np.ndarray]:
    """A model's factors with any weights folded into the first mode (what is saved)."""
    factors, weights = factors_of(model)
    if weights is not None:
        factors = [factors[0] * weights] + factors[1:]
    return factors


def _fit_one(estimator, X, mask, rank, seed):
    """Fit a clone at ``rank`` with ``seed``; the model and its relative error."""
    model = clone_with(estimator, rank=rank, random_state=seed).fit(X, mask=mask)
    return model, relative_error(X, model.reconstruct(), mask)


def _estimator_from(spec, path):
    """Rebuild a template estimator from the ``{"class", "params"}`` stored by ``save``."""
    import factorlab

    if not isinstance(spec, dict):  # files written before the estimator was stored as params
        raise ValueError(f"{path} stores the estimator only as text ({spec!r}); refit and save "
                         "it again to be able to load it.")
    cls = getattr(factorlab, spec["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ValueError(f"{path} names an unknown estimator class {spec['class']!r}.")
    return cls(**spec["params"])


class Ensemble(BaseEstimator):
    """Fit a model at several ranks from several random starts; keep errors and similarities.

    Parameters
    ----------
    estimator : factorlab model
        A template such as ``NMF(rank=1)`` or ``CP(rank=1, nonneg=True)``; cloned with each rank
        and seed, never fitted itself.
    ranks : int or sequence of int
    replicates : int
        Random starts per rank.
    random_state : int, numpy Generator or None
    progress : bool
        Show a ``tqdm`` progress bar.
    n_jobs : int
        Fits run in this many worker processes (see ``run_tasks`` in
        ``factorlab.assess.models``); the result does not depend on it.

    Attributes
    ----------
    ranks_ : list of int
    losses_ : dict rank -> ndarray of shape (replicates,)
        Relative error ``||X - X_hat|| / ||X||`` (observed entries if masked) of each replicate,
        sorted from best to worst.
    similarities_ : dict rank -> ndarray of shape (replicates,)
        :func:`~factorlab.similarity` of each replicate to the best one (the first entry, the
        best with itself, is 1).
    factors_ : dict rank -> list of lists of ndarrays
        Every replicate's factors (weights folded into the first mode), aligned to the best of
        that rank, whose components are in turn aligned to the best of the previous rank.
    models_ : dict rank -> list of fitted models
        The aligned models in the same order (empty after :meth:`load`).

    Examples
    --------
    >>> from factorlab.data import trial_tensor
    >>> from factorlab.tensor import CP
    >>> X, _, _ = trial_tensor(30, 20, 15, rank=2, noise=0.01, random_state=0)
    >>> ens = Ensemble(CP(rank=1), ranks=[1, 2, 3], replicates=3, random_state=0, progress=False)
    >>> ens = ens.fit(X)
    >>> [round(float(ens.similarities_[r].min()), 2) for r in (1, 2)]
    [1.0, 1.0]
    """

    def __init__(self, estimator, ranks, replicates=10, random_state=None, progress=True,
                 n_jobs=1):
        self.estimator = estimator
        self.ranks = ranks
        self.replicates = replicates
        self.random_state = random_state
        self.progress = progress
        self.n_jobs = n_jobs

    def fit(self, X, y=None, *, mask=None):
        """Fit ``replicates`` models at each rank to ``X`` (observed entries only if masked).

        Parameters
        ----------
        X : array or tensor
        y : ignored
        mask : boolean array of X's shape, optional
            True where an entry is observed.

        Returns
        -------
        self
        """
        check_estimator(self.estimator)
        if mask is None:
            Xa = check_array(X, "X", ndim=tuple(range(2, 17)))
        else:
            Xa, mask = hide_unobserved(X, mask, ndim=tuple(range(2, 17)))
        ranks = _check_ranks(self.ranks)
        replicates = check_int(self.replicates, "replicates", minimum=1)
        rng = check_random_state(self.random_state)
        self.ranks_, self.losses_, self.similarities_ = ranks, {}, {}
        self.factors_, self.models_ = {}, {}

        tasks = [(_fit_one, (self.estimator, Xa, mask, rank, int(rng.integers(2**31 - 1))))
                 for rank in ranks for _ in range(replicates)]
        with tqdm(total=len(tasks), disable=not self.progress, desc="ensemble") as bar:
            fits = run_tasks(tasks, self.n_jobs, bar)
        previous_best = None
        for k, rank in enumerate(ranks):
            models, losses = zip(*fits[k * replicates:(k + 1) * replicates])
            order = np.argsort(losses, kind="stable")
            best = models[order[0]]
            if previous_best is not None:
                best = align(previous_best, best)
            aligned = [best] + [align(best, models[i]) for i in order[1:]]
            self.losses_[rank] = np.asarray(losses)[order]
            self.similarities_[rank] = np.array([similarity(best, m) for m in aligned])
            self.models_[rank] = aligned
            self.factors_[rank] = [_absorbed(m) for m in aligned]
            previous_best = best
        return self

    def best(self, rank) -> list[np.ndarray]:
        """The factors of the best (lowest-error) replicate at ``rank``."""
        self._check_fitted()
        if rank not in self.factors_:
            raise ValueError(f"rank {rank} was not fitted; fitted ranks: {self.ranks_}.")
        return self.factors_[rank][0]

    def _check_fitted(self) -> None:
        check_is_fitted(self, "losses_")

    def save(self, path) -> None:
        """Write ranks, errors, similarities and all factors to an ``.npz`` file (no pickle)."""
        self._check_fitted()
        arrays = {}
        for rank in self.ranks_:
            arrays[f"loss_{rank}"] = self.losses_[rank]
            arrays[f"sim_{rank}"] = self.similarities_[rank]
            for i, factors in enumerate(self.factors_[rank]):
                for n, f in enumerate(factors):
                    arrays[f"factor_{rank}_{i}_{n}"] = f
        meta = {"ranks": self.ranks_, "replicates": len(self.losses_[self.ranks_[0]]),
                "n_modes": len(self.factors_[self.ranks_[0]][0]),
                "estimator": {"class": type(self.estimator).__name__,
                              "params": self.estimator.get_params(deep=False)},
                "random_state": self.random_state
                if isinstance(self.random_state, (int, type(None))) else None}
        try:
            meta_json = json.dumps(meta)
        except TypeError as exc:
            raise TypeError(f"Cannot save: a hyperparameter of {self.estimator!r} is not a plain "
                            "number/string/list (pass random_state as an int).") from exc
        np.savez(pathlib.Path(path), meta=np.array(meta_json), **arrays)

    @classmethod
    def load(cls, path) -> "Ensemble":
        """Read an ensemble written by :meth:`save`: errors, similarities and factors (the
        fitted model objects themselves are not stored, so ``models_`` is empty; ``estimator``
        is rebuilt from its class and hyperparameters, so the ensemble can be refitted).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from factorlab.tensor import CP
        >>> X = np.random.default_rng(0).random((8, 6, 5))
        >>> ens = Ensemble(CP(rank=1), [1, 2], replicates=2, random_state=0, progress=False)
        >>> path = os.path.join(tempfile.mkdtemp(), "ens.npz")
        >>> ens.fit(X).save(path)
        >>> loaded = Ensemble.load(path)
        >>> bool(np.array_equal(loaded.losses_[2], ens.losses_[2])), loaded.estimator
        (True, CP(rank=1))
        """
        with np.load(pathlib.Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            estimator = _estimator_from(meta["estimator"], path)
            ens = cls(estimator, meta["ranks"], meta["replicates"],
                      meta["random_state"], progress=False)
            ens.ranks_ = list(meta["ranks"])
            ens.losses_ = {r: data[f"loss_{r}"] for r in ens.ranks_}
            ens.similarities_ = {r: data[f"sim_{r}"] for r in ens.ranks_}
            ens.factors_ = {r: [[data[f"factor_{r}_{i}_{n}"] for n in range(meta["n_modes"])]
                                for i in range(meta["replicates"])] for r in ens.ranks_}
            ens.models_ = {}
        return ens
