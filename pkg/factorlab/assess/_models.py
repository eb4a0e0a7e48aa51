"""What the assessment tools need from any factor model: its factors, its reconstruction, its
error on a set of entries, and a fresh copy with another rank or seed."""

from __future__ import annotations

import multiprocessing as mp
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import torch

from .._backend import to_numpy
from .._validate import check_int

__all__ = ["factors_of", "relative_error", "clone_with", "check_estimator", "run_tasks"]


def factors_of(x) -> tuple[list[np.ndarray], np.ndarray | None]:
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


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _picklable(tasks) -> bool:
    """Whether the tasks can be sent to worker processes (spawned workers import what they
    run, so a function or estimator class defined in ``__main__``, e.g. a notebook, cannot)."""
    try:  # every task has the same function and argument types: check the first
        fn, args = tasks[0]
        if fn.__module__ == "__main__" or any(type(a).__module__ == "__main__" for a in args):
            return False
        pickle.dumps((fn, args))
    except Exception:  # noqa: BLE001 - anything unpicklable: fall back to threads
        return False
    return True


def run_tasks(tasks, n_jobs, bar) -> list:
    """Run independent fits and return their results in order.

    Each task is a pair ``(fn, args)`` of a module-level function and its arguments, called
    as ``fn(*args)``. With ``n_jobs > 1`` they run in ``n_jobs`` worker processes: the solvers'
    many small kernels and Python loops hold the GIL too often for threads to use more than
    one core. Workers are started with "spawn" (safe on every platform and whatever thread
    pools the parent runs); starting them costs a few seconds for importing torch and
    factorlab, so the pool is kept and reused by later calls. As with any multiprocessing code,
    a script must make such calls under ``if __name__ == "__main__":``. Each worker uses
    ``torch.get_num_threads() // n_jobs`` intra-op threads (at least 1), so the cores are not
    oversubscribed. Tasks that cannot be sent to another process (a model class defined in
    ``__main__``, e.g. in a notebook) run in threads instead. Every task carries its own seed,
    so the results do not depend on ``n_jobs`` (bit for bit when torch runs one intra-op
    thread, as with ``OMP_NUM_THREADS=1``).
    """
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    n_jobs = min(n_jobs, max(len(tasks), 1))
    if n_jobs == 1:
        results = []
        for fn, args in tasks:
            results.append(fn(*args))
            bar.update()
        return results
    if not _picklable(tasks):
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            return _collect(pool, tasks, bar)
    try:
        return _collect(_process_pool(n_jobs), tasks, bar)
    except BrokenProcessPool:  # a worker died (e.g. killed): start afresh once
        _POOLS.clear()
        return _collect(_process_pool(n_jobs), tasks, bar)


# The worker pool is kept for the session (one per n_jobs and thread count): starting spawned
# workers costs a few seconds, paid once rather than by every call (they exit with Python).
_POOLS: dict = {}


def _process_pool(n_jobs: int) -> ProcessPoolExecutor:
    key = (n_jobs, max(1, torch.get_num_threads() // n_jobs))
    if key not in _POOLS:
        for old in _POOLS.values():  # keep at most one idle pool of workers
            old.shutdown()
        _POOLS.clear()
        _POOLS[key] = ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn"),
                                          initializer=_init_worker, initargs=(key[1],))
    return _POOLS[key]


def _collect(pool, tasks, bar) -> list:
    futures = [pool.submit(fn, *args) for fn, args in tasks]
    for future in futures:
        future.add_done_callback(lambda _: bar.update())
    return [f.result() for f in futures]
