"""BEAR across processes: data-parallel training with ``torch.distributed``.

For a movie file too large for one machine's time budget, :func:`bear_distributed` trains
:class:`~factorlab.robust.bear.BEAR` in several processes. Every process holds the same ``W``
and the same random generator, so every process draws the same global mini-batch at every step
(the batches of a one-process fit with the same seed); each reads and differentiates only its
own share of that batch (a contiguous slice of the sorted frame indices). The loss is a sum
over frames, so the sum of the processes' gradients -- one ``all_reduce`` of the gradient and
the loss per step -- is the gradient of the whole batch, and every process then takes the
same Adam step. The learned ``W`` is therefore the one-process ``W`` up to the rounding of a
sum taken in another order: 1e-16 relative in float64; in float32 1e-8 after 3 epochs,
growing to 1e-5 after 10-30 (a residual within rounding of 0 can take the other sign of the
L1 gradient), on a 120-frame 32 x 32 movie with 2 or 3 processes.

The initial ``W`` (from one random batch) is computed by every process and broadcast from
process 0, the finiteness scan and the greedy rank search's ``||Y - L||_1`` are split by frame
range and summed, and after training each process writes ``L`` and ``S`` for its own frames
into the output ``.npy`` files (whole chunks of the one-process :meth:`BEAR.decompose`, so the
files are byte for byte the ones it writes with that ``W``). As with
:class:`~factorlab.io.NpyWriter`, the outputs are filled in hidden temporary files next to
them and renamed into place only when every process has finished.

Launch, on one machine (the processes are spawned here; gloo on the CPU, NCCL on CUDA)::

    bear = fl.BEAR(rank=2, random_state=0).fit_distributed("movie.npy", nproc=2,
                                                            out_L="L.npy", out_S="S.npy")

or from a script run by ``torchrun`` (one call per process; ``RANK``/``WORLD_SIZE`` are read
from the environment, and a process group that is already initialised is used as it is)::

    torchrun --nproc-per-node=2 my_script.py   # my_script.py calls bear_distributed(path, ...)

and from the shell, ``factorlab bear movie.npy --out DIR --nproc 2``.
"""

from __future__ import annotations

import datetime
import numbers
import os
import pathlib
import pickle
import resource
import tempfile
import time
import traceback

import numpy as np
import torch
import torch.distributed as dist

from .._backend import resolve_device, to_numpy
from ..io import NpyWriter, open_movie
from .bear import BEAR

__all__ = ["bear_distributed"]

_RESULT_KEYS = ("loss_history_", "n_iter_", "converged_", "rank_", "batch_size_", "lr_",
                "n_features_in_", "rank_scores_", "rank_spreads_")


# ------------------------------------------------------------------------------- the model
class _DistributedBEAR(BEAR):
    """BEAR whose steps, scans and initial weight are shared by the processes of a group."""

    # set by _worker (not hyperparameters)
    _world = 1
    _rank = 0
    _reduce_device = torch.device("cpu")
    _step_seconds = None     # wall time of every step (distributed_ reports them)

    def _all_reduce(self, t, op=None):
        t = t.to(self._reduce_device)
        dist.all_reduce(t, op=op or dist.ReduceOp.SUM)
        return t

    def _source(self, X, reset):
        if not reset:
            return super()._source(X, reset)
        src = open_movie(X)
        src.hold_budget(self.memory_budget)
        self._check_finite(src)
        self.n_features_in_ = src.n_pixels
        return src

    def _check_finite(self, src):
        """:meth:`MovieSource.check_finite` with each process scanning its frame range."""
        if src._is_integer():
            return
        lo, hi = _split(src.n_frames, self._world, self._rank)
        chunk = src.chunk_frames(self.memory_budget, extra_bytes_per_value=1)
        first = src.n_frames
        for start in range(lo, hi, chunk):
            block = src.read(slice(start, min(start + chunk, hi)), copy=False)
            ok = np.isfinite(block).all(axis=1)
            del block
            if not ok.all():
                first = start + int(np.flatnonzero(~ok)[0])
                break
        first = int(self._all_reduce(torch.tensor([first], dtype=torch.int64),
                                     dist.ReduceOp.MIN).item())
        if first < src.n_frames:
            raise ValueError(f"The movie in {src.path} contains NaN or inf (first at frame "
                             f"{first}). Interpolate or drop those frames first.")

    def _initial_weight(self, src, k, gen, batch, base=None):
        # every process draws the same (the generators agree); process 0's is broadcast so
        # that the copies are bitwise equal whatever the BLAS does
        W = super()._initial_weight(src, k, gen, batch, base).contiguous()
        W_dev = W.to(self._reduce_device)
        dist.broadcast(W_dev, src=0)
        return W_dev.to(W.device)

    def _step(self, src, idx, opt):
        t0 = time.perf_counter()
        loss = self._shared_step(src, idx, opt)
        if self._step_seconds is None:
            self._step_seconds = []
        self._step_seconds.append(time.perf_counter() - t0)
        return loss

    def _shared_step(self, src, idx, opt):
        # this process's contiguous share of the sorted global batch
        part = np.array_split(idx, self._world)[self._rank]
        W = self.weight
        if len(part):       # the closed-form gradient of the one-process step
            loss, grad = self._loss_and_grad(self._batch(src, part))
            grad, loss = grad.reshape(-1), loss.reshape(1)
        else:       # fewer frames in the batch than processes
            grad = torch.zeros(W.numel(), dtype=W.dtype, device=W.device)
            loss = torch.zeros(1, dtype=W.dtype, device=W.device)
        # the batch loss is a sum over frames: its gradient is the sum of the shares'
        buf = self._all_reduce(torch.cat([grad, loss]))
        W.grad = buf[:-1].reshape(W.shape).to(W.device)
        opt.step()
        return float(buf[-1])

    def _l1(self, src, chunk):
        lo, hi = _split(src.n_frames, self._world, self._rank)
        total = 0.0
        with torch.no_grad():
            for start in range(lo, hi, chunk):
                Yb = self._batch(src, slice(start, min(start + chunk, hi)))
                R = Yb if self.weight.shape[1] == 0 else Yb - self(Yb)
                total += float(R.abs().sum())
        return float(self._all_reduce(torch.tensor([total], dtype=torch.float64)).item())

    def _write_range(self, src, paths):
        """Write ``L``, ``S`` of this process's whole chunks of :meth:`decompose`."""
        chunk = self._chunk(None)
        n_chunks = -(-src.n_frames // chunk)
        mine = np.array_split(np.arange(n_chunks), self._world)[self._rank]
        if not len(mine):
            return
        maps = [np.lib.format.open_memmap(p, mode="r+") for p in paths]
        with torch.no_grad():
            for c in mine:
                start, stop = int(c) * chunk, min((int(c) + 1) * chunk, src.n_frames)
                Yb = self._batch(src, slice(start, stop))
                Lb = self(Yb)
                for mm, block in zip(maps, (Lb, Yb - Lb)):
                    block = to_numpy(block)
                    mm[start:stop] = block.reshape(len(block), *mm.shape[1:])
        for mm in maps:
            mm.flush()
        del maps


def _split(n, parts, i):
    """Frame range ``[lo, hi)`` of part ``i`` of ``parts`` nearly equal contiguous parts."""
    lo = (n * i) // parts
    return lo, (n * (i + 1)) // parts


# ------------------------------------------------------------------------------- one process
def _memory():
    """Peak resident memory of this process (VmHWM; ``ru_maxrss`` where there is no /proc,
    which on Linux would also count the parent that a spawned process was forked from) and
    its anonymous resident memory now (RssAnon), in MiB."""
    peak = anon = float("nan")
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak, anon


def _train(params, path, world, rank, local_rank, outputs, backend):
    """Fit in this process (its group already initialised); returns the model on rank 0
    with ``distributed_`` filled in, and the model everywhere else."""
    params = dict(params)
    device = resolve_device(params.get("device", "auto"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        params["device"] = device
    params["progress"] = bool(params.get("progress")) and rank == 0
    model = _DistributedBEAR(**params)
    model._world, model._rank = world, rank
    model._reduce_device = device if backend == "nccl" else torch.device("cpu")
    t0 = time.perf_counter()
    model.fit(path)
    fit_s = time.perf_counter() - t0
    # the copies agree (same steps from the same start); make it exact whatever happened
    W = model.weight.detach().contiguous().to(model._reduce_device)
    dist.broadcast(W, src=0)
    model._set_parameter(model.weight, W)
    model.W_ = to_numpy(model.weight).copy()
    t1 = time.perf_counter()
    if outputs is not None:
        src = open_movie(path)
        model._write_range(src, outputs)
    dist.barrier()
    write_s = time.perf_counter() - t1
    stats = [None] * world
    peak, anon = _memory()
    steps = model._step_seconds or []
    dist.all_gather_object(stats, {"fit_seconds": fit_s, "write_seconds": write_s,
                                   "steps": len(steps), "step_seconds_median":
                                   float(np.median(steps)) if steps else float("nan"),
                                   "peak_rss_mib": peak, "rss_anon_mib": anon})
    model.distributed_ = {"world_size": world, "backend": backend, "per_process": stats}
    return model


def _backend_for(params, backend):
    if backend not in ("auto", "gloo", "nccl"):
        raise ValueError(f"backend must be 'auto', 'gloo' or 'nccl', got {backend!r}.")
    if backend == "auto":
        cuda = resolve_device(params.get("device", "auto")).type == "cuda"
        backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
    if backend == "nccl" and not (torch.cuda.is_available() and dist.is_nccl_available()):
        raise ValueError("backend='nccl' needs CUDA and a PyTorch built with NCCL; use 'gloo'.")
    return backend


def _worker(rank, world, params, path, outputs, backend, init_file, result_dir, timeout, threads):
    """Entry point of a spawned process: join the group, fit, write; process 0 saves the
    result. An error is saved for the parent (with its type) before the process fails."""
    try:
        torch.set_num_threads(threads)
        dist.init_process_group(backend, init_method=f"file://{init_file}", rank=rank,
                                world_size=world, timeout=datetime.timedelta(seconds=timeout))
        try:
            model = _train(params, path, world, rank, rank, outputs, backend)
            if rank == 0:
                _save_result(model, pathlib.Path(result_dir) / "result.pt")
        finally:
            dist.destroy_process_group()
    except BaseException as exc:
        with open(pathlib.Path(result_dir) / f"error-{rank}.pkl", "wb") as f:
            pickle.dump((type(exc).__name__, str(exc), traceback.format_exc()), f)
        raise


def _save_result(model, path):
    state = {key: getattr(model, key) for key in _RESULT_KEYS if hasattr(model, key)}
    state["W"] = model.weight.detach().cpu().clone()
    state["distributed_"] = model.distributed_
    torch.save(state, path)


# ------------------------------------------------------------------------------- the launcher
def _check_nproc(nproc):
    if isinstance(nproc, bool) or not isinstance(nproc, numbers.Integral) or nproc < 1:
        raise ValueError(f"nproc must be a positive integer (the number of processes), got "
                         f"{nproc!r}.")
    return int(nproc)


def _torchrun_env():
    """(rank, world size, local rank) from torchrun's environment, or None."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        try:
            return (int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                    int(os.environ.get("LOCAL_RANK", "0")))
        except ValueError:
            raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun "
                             "sets them).") from None
    return None


def bear_distributed(movie, nproc=None, *, out_L=None, out_S=None, model=None, backend="auto",
                     timeout=1800, threads=None, **params):
    """Fit BEAR on a movie file in several processes (data parallel, ``torch.distributed``).

    Each process streams its share of every global mini-batch from the file; the gradients of
    ``W`` are summed over processes (gloo on the CPU, NCCL on CUDA), so that with the same
    seed the learned ``W`` is the one :meth:`BEAR.fit` learns in one process, to float
    rounding. After training each process writes ``L`` and ``S`` for its own frames.

    Parameters
    ----------
    movie : str or path
        A ``.npy`` or TIFF movie, frames first (read by every process; never loaded whole).
    nproc : int, optional
        Number of local processes to spawn (default 2). Under ``torchrun`` (``RANK`` and
        ``WORLD_SIZE`` set, or a process group already initialised) nothing is spawned: this
        process is one of the group, and ``nproc`` must be omitted or equal the world size.
    out_L, out_S : str or path, optional
        ``.npy`` files for the low-rank and sparse parts (both or neither), float32, filled by
        frame range and renamed into place when complete.
    model : BEAR, optional
        The estimator to fit (its hyperparameters are used and its ``weight`` updated in
        place); default ``BEAR(**params)``.
    backend : {"auto", "gloo", "nccl"}
        ``"auto"``: NCCL when the model's device is CUDA, gloo otherwise.
    timeout : float
        Seconds a process waits for the others at any collective before failing.
    threads : int, optional
        Torch threads per spawned process; default the parent's ``torch.get_num_threads()``
        divided by ``nproc`` (at least 1).
    **params
        Hyperparameters of :class:`BEAR` when ``model`` is not given.

    Returns
    -------
    BEAR
        Fitted as by :meth:`BEAR.fit` on the file (``W_``, ``loss_history_``, ...), plus
        ``distributed_``: the world size, backend and, per process, the fit and write times,
        the median step time and the peak and anonymous resident memory (MiB). Under
        ``torchrun`` every process returns its (identical) model.

    Raises
    ------
    ValueError
        For a bad ``nproc``, ``backend`` or movie, ``nproc`` above the number of frames,
        only one of ``out_L``/``out_S``, or any error :meth:`BEAR.fit` would raise (it is
        raised here with the same type and message, from the first process that failed).
    FileNotFoundError
        If the movie does not exist.
    """
    if model is None:
        model = BEAR(**params)
    elif params:
        raise TypeError(f"give BEAR's hyperparameters in model or as keywords, not both "
                        f"(got model and {sorted(params)}).")
    elif not isinstance(model, BEAR):
        raise TypeError(f"model must be a factorlab BEAR, got {type(model).__name__}.")
    if not isinstance(movie, (str, os.PathLike)):
        raise TypeError("bear_distributed streams a movie file: give the path of a .npy or "
                        f"TIFF movie, not a {type(movie).__name__} (fit a movie held in "
                        "memory with BEAR.fit).")
    src = open_movie(movie)        # a missing or unreadable movie fails here, before spawning
    if (out_L is None) != (out_S is None):
        raise ValueError("Give both out_L and out_S, or neither.")
    timeout = float(timeout)
    if not timeout > 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}.")
    hyper = model.get_params(deep=False)
    backend = _backend_for(hyper, backend)
    env = _torchrun_env()
    if env is not None:
        rank, world, local_rank = env
        if nproc is not None and _check_nproc(nproc) != world:
            raise ValueError(f"nproc={nproc} but this process is one of a torchrun group of "
                             f"{world}; omit nproc under torchrun.")
        _check_frames(src, world)
        return _run_in_group(model, hyper, movie, src, out_L, out_S, rank, world,
                             local_rank, backend, timeout)
    nproc = _check_nproc(2 if nproc is None else nproc)
    _check_frames(src, nproc)
    if threads is None:
        threads = max(1, torch.get_num_threads() // nproc)
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}.")
    return _spawn(model, hyper, movie, src, out_L, out_S, nproc, backend, timeout, int(threads))


def _check_frames(src, world):
    if world > src.n_frames:
        raise ValueError(f"nproc={world} is more processes than the movie's {src.n_frames} "
                         "frames.")


def _writers(src, out_L, out_S):
    if out_L is None:
        return None
    writers = [NpyWriter(out_L, src.shape)]
    try:
        writers.append(NpyWriter(out_S, src.shape))
    except BaseException:
        writers[0].abort()
        raise
    return writers


def _finish(model, state):
    """Give the parent's model the fit of process 0."""
    model._set_parameter(model.weight, state.pop("W"))
    for key, value in state.items():
        setattr(model, key, value)
    model.W_ = to_numpy(model.weight).copy()
    model.L_ = model.S_ = None
    return model


def _spawn(model, hyper, movie, src, out_L, out_S, nproc, backend, timeout, threads):
    import torch.multiprocessing as mp

    path = str(pathlib.Path(movie).absolute())
    writers = _writers(src, out_L, out_S)
    try:
        with tempfile.TemporaryDirectory(prefix="factorlab-bear-") as tmp:
            outputs = None if writers is None else [str(w._temp) for w in writers]
            args = (nproc, hyper, path, outputs, backend, os.path.join(tmp, "rendezvous"),
                    tmp, timeout, threads)
            ctx = mp.start_processes(_worker, args=args, nprocs=nproc, join=False,
                                     start_method="spawn")
            try:
                while not ctx.join():
                    pass
            except (mp.ProcessRaisedException, mp.ProcessExitedException) as exc:
                _raise_worker_error(tmp, nproc, exc)
            finally:
                for p in ctx.processes:       # an interrupt here: leave no process behind
                    if p.is_alive():
                        p.terminate()
                for p in ctx.processes:
                    p.join(5)
                    if p.is_alive():
                        p.kill()
                        p.join()
            state = torch.load(os.path.join(tmp, "result.pt"), weights_only=True)
        if writers is not None:
            for w in writers:
                w.close()
    except BaseException:
        for w in writers or ():
            w.abort()
        raise
    return _finish(model, state)


def _raise_worker_error(tmp, nproc, exc):
    for rank in range(nproc):
        f = pathlib.Path(tmp) / f"error-{rank}.pkl"
        if f.exists():
            name, message, tb = pickle.loads(f.read_bytes())
            kinds = {"ValueError": ValueError, "TypeError": TypeError,
                     "FileNotFoundError": FileNotFoundError, "PermissionError": PermissionError}
            if name in kinds:
                raise kinds[name](message) from None
            raise RuntimeError(f"BEAR process {rank} of {nproc} failed with {name}: {message}"
                               f"\n{tb}") from None
    raise RuntimeError(f"a BEAR process failed without reporting why ({exc}); was it killed "
                       "(out of memory)?") from None


def _run_in_group(model, hyper, movie, src, out_L, out_S, rank, world, local_rank, backend,
                  timeout):
    """This process is one of a torchrun group: fit with it, and write by frame range."""
    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    try:
        writers = _writers(src, out_L, out_S) if rank == 0 else None
        temps = [None, None] if writers is None else [str(w._temp) for w in writers]
        dist.broadcast_object_list(temps, src=0)
        try:
            fitted = _train(hyper, str(movie), world, rank, local_rank,
                            None if out_L is None else temps, backend)
            # every process has written and passed the barrier: process 0 renames
            for w in writers or ():
                w.close()
        except BaseException:
            for w in writers or ():
                w.abort()
            raise
        state = {key: getattr(fitted, key) for key in _RESULT_KEYS if hasattr(fitted, key)}
        state["W"] = fitted.weight.detach().cpu()
        state["distributed_"] = fitted.distributed_
        dist.barrier()
    finally:
        if created:
            dist.destroy_process_group()
    return _finish(model, state)
