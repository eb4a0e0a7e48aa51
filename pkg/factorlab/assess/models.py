"""What the assessment tools (and the plots and widgets built on them) need from any factor
model: its factors, its error on a set of entries, a fresh copy with another rank or seed, and a
way to run many independent fits."""

from __future__ import annotations

import numpy as np
import torch
from joblib import Parallel, delayed

from .._backend import to_numpy
from .._validate import check_int

__all__ = ["factors_of", "relative_error", "clone_with", "check_estimator", "run_tasks"]


def factors_of(x) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The factor matrices and weights of ``x`` (see :func:`_factors_of`), all finite."""
    factors, weights = _factors_of(x)
    if not all(np.isfinite(f).all() for f in factors) or (
            weights is not None and not np.isfinite(weights).all()):
        raise ValueError("The factors contain NaN or inf; a similarity or alignment of them "
                         "would be meaningless. Check the fit that produced them.")
    return factors, weights


def _factors_of(x) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The factor matrices (one per mode, components in columns) and weights of ``x``.

    ``x`` may be a fitted CP model (``factors_``, ``weights_``), a fitted matrix model (``U_``,
    ``V_``), a tensorly ``CPTensor`` or ``(weights, factors)`` pair, or a list of factor
    matrices.
    """
    if hasattr(x, "factors_"):
        return [to_numpy(f) for f in x.factors_], to_numpy(x.weights_)
    if hasattr(x, "U_") and hasattr(x, "V_"):
        return [to_numpy(x.U_), to_numpy(x.V_)], None
    if hasattr(x, "factors") and hasattr(x, "weights"):  # tensorly CPTensor
        return [to_numpy(f) for f in x.factors], to_numpy(x.weights)
    if isinstance(x, (list, tuple)) and len(x) == 2 and np.ndim(x[0]) == 1 \
            and isinstance(x[1], (list, tuple)):
        return [to_numpy(f) for f in x[1]], to_numpy(x[0])
    if isinstance(x, (list, tuple)) and len(x) >= 1 and all(np.ndim(f) == 2 for f in x):
        return [to_numpy(f) for f in x], None
    if hasattr(x, "fit") and not hasattr(x, "U_"):
        raise ValueError(f"{type(x).__name__} is not fitted yet; call fit(X) first.")
    raise TypeError("Expected a fitted model (CP, PCA, NMF, ...), a tensorly CPTensor, a "
                    "(weights, factors) pair or a list of factor matrices (one per mode, "
                    f"components in columns); got {type(x).__name__}.")


def relative_error(X, X_hat, mask=None) -> float:
    """``||X - X_hat|| / ||X||`` over the entries where ``mask`` is True (all by default)."""
    X, X_hat = to_numpy(X), to_numpy(X_hat)
    if mask is not None:
        m = to_numpy(mask).astype(bool)
        X, X_hat = X[m], X_hat[m]
    return float(np.linalg.norm(X - X_hat) / max(np.linalg.norm(X), 1e-300))


def check_estimator(estimator) -> None:
    """Raise a TypeError unless ``estimator`` is an unfitted-style factor model template."""
    needed = ("fit", "get_params", "set_params", "reconstruct")
    missing = [m for m in needed if not hasattr(estimator, m)]
    if missing or "rank" not in estimator.get_params():
        raise TypeError("estimator must be a factorlab model such as PCA(rank=1), NMF(rank=1) "
                        f"or CP(rank=1) (with fit, get_params, reconstruct and a rank); got "
                        f"{type(estimator).__name__}.")


def clone_with(estimator, **params):
    """A new, unfitted estimator of the same class with ``params`` overriding its own."""
    return type(estimator)(**{**estimator.get_params(), **params})


def _run_with_threads(threads: int, fn, args):
    """Call ``fn(*args)`` with ``threads`` torch intra-op threads (in a worker process)."""
    torch.set_num_threads(threads)
    return fn(*args)


def run_tasks(tasks, n_jobs, bar) -> list:
    """Run independent fits and return their results in order.

    Each task is a pair ``(fn, args)``, called as ``fn(*args)``. With ``n_jobs > 1`` they run
    in ``n_jobs`` worker processes of joblib's default backend: the solvers' many small kernels
    and Python loops hold the GIL too often for threads to use more than one core. joblib keeps
    its workers between calls and pickles with cloudpickle, so functions and model classes
    defined in ``__main__`` (a notebook) work too. Each worker uses
    ``torch.get_num_threads() // n_jobs`` intra-op threads (at least 1), so the cores are not
    oversubscribed. Every task carries its own seed, so the results do not depend on
    ``n_jobs`` (bit for bit when torch runs one intra-op thread, as with ``OMP_NUM_THREADS=1``).
    """
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    n_jobs = min(n_jobs, max(len(tasks), 1))
    if n_jobs == 1:
        results = []
        for fn, args in tasks:
            results.append(fn(*args))
            bar.update()
        return results
    threads = max(1, torch.get_num_threads() // n_jobs)
    results = []
    # results come back in task order as they finish, so the bar moves while fits run
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    for result in parallel(delayed(_run_with_threads)(threads, fn, args) for fn, args in tasks):
        results.append(result)
        bar.update()
    return results
