"""The ``factorlab`` command line.

``factorlab bear MOVIE [--rank R] --out DIR`` splits a movie (``.npy`` or TIFF, frames first)
into background ``L`` and foreground ``S`` with BEAR (the rank searched unless given), streaming
it from disk, and writes ``L.npy``, ``S.npy``, ``W.npy`` (pixels x rank), ``summary.png`` and
``summary.json`` into ``DIR``.

Every output is first written to a hidden temporary file in ``DIR`` and renamed into place only
when all of them are complete, so an interrupted run (Ctrl-C, SIGTERM) leaves no file that looks
finished; a lock on ``DIR`` makes a second run into the same folder stop at once, and the input
movie may not lie inside ``DIR``.

``--nproc N`` trains in N local processes with ``torch.distributed`` (gloo on the CPU, NCCL on
CUDA): each streams its share of every mini-batch, the gradients are summed, and with the same
``--seed`` the result is the one-process result to float rounding; each process then writes
``L`` and ``S`` for its own frames.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile

__all__ = ["main"]

OUTPUTS = ("L.npy", "S.npy", "W.npy", "summary.png", "summary.json")
LOCK_NAME = ".factorlab.lock"
_TEMP_PREFIX = ".factorlab-partial-"     # as factorlab.io.PARTIAL_PREFIX: hidden, never an output


class CommandError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def _positive_int(value: str, expected: str = "a positive integer") -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected}, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def _rank(value: str):
    return value if value == "greedy" else _positive_int(value, "a positive integer or 'greedy'")


def _nproc(value: str) -> int:
    return _positive_int(value)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="factorlab", description="factorlab command line tools.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bear", help="robust PCA of a movie with BEAR (out of core)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("movie", help=".npy or .tif/.tiff movie, frames first")
    b.add_argument("--rank", type=_rank, default="greedy", help="rank of the background, or "
                   "'greedy' (the default: searched as BEAR(rank=None) does)")
    b.add_argument("--out", required=True, help="output folder (created if missing)")
    b.add_argument("--epochs", type=int, default=50, help="maximum epochs (default 50)")
    b.add_argument("--batch-size", type=int, default=None, help="frames per step (default: "
                   "min(64, frames), lowered to fit --memory-budget)")
    b.add_argument("--lr", type=float, default=None, help="Adam step (default "
                   "0.01/sqrt(pixels) from the PCA start)")
    b.add_argument("--memory-budget", type=float, default=1000.0,
                   help="MB for the working copies of a batch (default 1000)")
    b.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--nproc", type=_nproc, default=1, help="train in N local processes with "
                   "torch.distributed, each streaming its share of every batch (default 1)")
    b.add_argument("--force", action="store_true", help="overwrite existing outputs")
    b.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _first_existing(path: pathlib.Path) -> pathlib.Path:
    return path if path.exists() else next(p for p in path.absolute().parents if p.exists())


def _check_writable(out: pathlib.Path) -> None:
    """Create (and remove) a probe file where the outputs will go, so that a read-only or
    virtual file system (``/proc``, ``/sys``) or a missing permission gets a true message."""
    probe = _first_existing(out)
    if not probe.is_dir():
        raise CommandError(f"--out {out} cannot be created: {probe} is not a folder.")
    try:
        fd, name = tempfile.mkstemp(dir=probe, prefix=_TEMP_PREFIX + "probe-")
    except OSError as exc:
        where = "" if probe == out else f" (its nearest existing folder {probe})"
        why = _why(exc)
        with contextlib.suppress(OSError):
            if os.statvfs(probe).f_blocks == 0:    # /proc, /sys: no storage behind them
                why = f"{probe} is on a virtual file system that cannot hold files"
        raise CommandError(f"--out {out}{where} cannot be written ({why}); choose a "
                           "folder you can write to.") from None
    os.close(fd)
    os.unlink(name)


def _check_outputs(out: pathlib.Path, force: bool, bytes_needed: int) -> None:
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder.")
    _refuse_existing(out, force)
    _check_writable(out)
    probe = _first_existing(out)
    free = shutil.disk_usage(probe).free
    if free < bytes_needed:
        raise CommandError(f"Not enough disk space in {probe}: L.npy and S.npy need about "
                           f"{bytes_needed / 2**30:.2f} GiB, {free / 2**30:.2f} GiB are free.")


def _refuse_existing(out: pathlib.Path, force: bool) -> None:
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not force:
        raise CommandError(f"{out} already holds {', '.join(existing)}; use --force to overwrite "
                           "or choose another --out.")


def _check_input_outside(movie: pathlib.Path, out: pathlib.Path) -> None:
    """The movie may not lie inside --out (nor be one of its outputs, through a link)."""
    real_movie, real_out = movie.resolve(), out.resolve()
    inside = real_out == real_movie.parent or real_out in real_movie.parents
    linked = False
    for name in OUTPUTS:
        with contextlib.suppress(OSError):
            linked = linked or os.path.samefile(movie, out / name)
    if inside or linked:
        raise CommandError(f"the movie {movie} is inside --out {out} (or is one of its outputs); "
                           "choose an output folder that does not hold the input.")


class _Lock:
    """An exclusive, non-blocking ``flock`` on ``DIR/.factorlab.lock``, released (and the
    file removed) on exit; the kernel releases it if the process dies."""

    def __init__(self, out: pathlib.Path):
        self.path, self._fd = out / LOCK_NAME, None

    def acquire(self) -> None:
        import fcntl

        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise CommandError(f"--out {self.path.parent} cannot be written "
                                   f"({_why(exc)}).") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise CommandError(f"another factorlab run is writing to {self.path.parent} "
                                       f"(it holds {self.path}); wait for it to finish or "
                                       "choose another --out.") from None
                raise CommandError(f"--out {self.path.parent}: cannot lock {self.path} "
                                   f"({_why(exc)}).") from None
            # the holder before us may have removed the file after we opened it: retry then
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                os.write(fd, f"{os.getpid()}\n".encode())
                return
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None


class _Outputs:
    """Temporary files in the output folder, renamed onto their final names together."""

    def __init__(self, out: pathlib.Path):
        self.out, self.temps = out, {}

    def temp(self, name: str) -> pathlib.Path:
        fd, path = tempfile.mkstemp(dir=self.out, prefix=f"{_TEMP_PREFIX}{name}-", suffix=".part")
        os.close(fd)
        self.temps[name] = pathlib.Path(path)
        return self.temps[name]

    def remove_stale(self) -> None:
        """Temporaries left by a run that was killed (we hold the lock: none is in use)."""
        for path in self.out.glob(_TEMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                path.unlink()

    def commit(self) -> None:
        """fsync every temporary, then rename them all into place with SIGINT/SIGTERM held
        back, so that an interrupt never leaves a mix of old and new outputs."""
        for path in self.temps.values():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        held = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            for name in OUTPUTS:
                os.replace(self.temps.pop(name), self.out / name)
            with contextlib.suppress(OSError):   # make the renames durable
                fd = os.open(self.out, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def discard(self) -> None:
        for path in self.temps.values():
            with contextlib.suppress(OSError):
                path.unlink()
        self.temps.clear()
        self.remove_stale()      # and the writers' own temporaries (we still hold the lock)


class _Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way swallows it)."""


def _bear(args) -> None:
    from .io import open_movie

    try:
        src = open_movie(args.movie)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if len(src.frame_shape) != 2:
        raise CommandError(f"{args.movie} has shape {src.shape}; the command needs frames x "
                           "height x width so that it can draw the summary images.")
    out = pathlib.Path(args.out)
    _check_input_outside(pathlib.Path(args.movie), out)
    # L and S in float32, plus W and the figure
    _check_outputs(out, args.force, int(2 * 4 * src.n_frames * src.n_pixels * 1.02) + 2**20)
    created = [p for p in (out, *out.absolute().parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"--out {out} cannot be created ({_why(exc)}).") from None
    lock, outputs = _Lock(out), _Outputs(out)
    try:
        lock.acquire()
        _refuse_existing(out, args.force)   # again, now that no other run can write here
        outputs.remove_stale()
        report = _run_bear(args, src, out, outputs)
        outputs.commit()
        args.committed = True
    finally:
        if lock.held:       # never touch the temporaries of another run that holds the lock
            outputs.discard()   # whatever was not renamed into place: nothing half-written
        lock.release()
        if not any((out / name).exists() for name in OUTPUTS):
            for folder in created:       # deepest first; only the empty ones we made
                with contextlib.suppress(OSError):
                    folder.rmdir()
    print(f"factorlab bear: {report}; wrote {', '.join(OUTPUTS)} to {out}")


def _run_bear(args, src, out, outputs) -> str:
    import numpy as np

    from .robust.bear import BEAR

    bear = BEAR(args.rank, lr=args.lr, n_epochs=args.epochs, batch_size=args.batch_size,
                memory_budget=args.memory_budget * 2**20, device=args.device,
                random_state=args.seed, progress=not args.no_progress)
    nproc = getattr(args, "nproc", 1)
    try:
        if nproc > 1:    # each process writes L and S for its own frames
            L_path, S_path = outputs.temp("L.npy"), outputs.temp("S.npy")
            bear.fit_distributed(args.movie, nproc, out_L=L_path, out_S=S_path)
        else:
            bear.fit(args.movie)
    except ValueError as exc:   # NaN in the movie, rank too large, bad settings
        raise CommandError(str(exc)) from None
    try:
        if nproc > 1:
            L, S = np.load(L_path, mmap_mode="r"), np.load(S_path, mmap_mode="r")
        else:
            L, S = bear.decompose(args.movie, out_L=outputs.temp("L.npy"),
                                  out_S=outputs.temp("S.npy"))
        with open(outputs.temp("W.npy"), "wb") as f:
            np.save(f, bear.W_)
        _summary(args, src, bear, L, S, outputs)
        del L, S
    except OSError as exc:      # disk full, folder removed under us, ...
        raise CommandError(f"writing the outputs in {out} failed ({_why(exc)}); nothing was "
                           "written.") from None
    return (f"rank {bear.rank_}, {bear.n_iter_} epochs, final mean |Y - L| "
            f"{bear.loss_history_[-1]:.4g}")


def _summary(args, src, bear, L, S, outputs) -> None:
    import matplotlib

    matplotlib.use("Agg")   # a command line tool draws to a file, never to a window
    import matplotlib.pyplot as plt
    import numpy as np

    from .plot.movies import bear_summary

    mean = np.zeros(src.n_pixels)
    # in chunks of half of --memory-budget once converted to float32 (the other half is
    # left to the figure and W), whatever the movie size
    for _, _, block in src.chunks(copy=False, budget_bytes=args.memory_budget * 2**19):
        mean += block.sum(axis=0, dtype=np.float64)
        del block     # else it stays alive while the next chunk is read: two chunks at once
    mean = (mean / src.n_frames).reshape(src.frame_shape)
    t = src.n_frames // 2
    frame = src.read([t]).reshape(src.frame_shape)
    fig = bear_summary(mean, bear.W_, frame, np.asarray(L[t]), np.asarray(S[t]),
                       bear.loss_history_, frame_index=t)
    fig.savefig(outputs.temp("summary.png"), dpi=90, format="png")
    plt.close(fig)
    info = {"movie": str(pathlib.Path(args.movie).resolve()), "shape": list(src.shape),
            "rank": bear.rank_, "epochs": bear.n_iter_, "early_stopped": bear.converged_,
            "batch_size": bear.batch_size_, "lr": bear.lr_, "seed": args.seed,
            "processes": getattr(args, "nproc", 1),
            "loss_history": bear.loss_history_}
    outputs.temp("summary.json").write_text(json.dumps(info, indent=1))


def main(argv=None) -> int:
    """Entry point of the ``factorlab`` console script; returns the exit status.

    Examples
    --------
    >>> main(["bear", "no_such_movie.npy", "--out", "unused"])   # the message goes to stderr
    2
    """
    args = _parser().parse_args(argv)
    args.committed = False
    restore = _catch_signals()
    try:
        if args.command == "bear":
            _bear(args)
    except CommandError as exc:
        print(f"factorlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Interrupted) as exc:
        name = exc.args[0] if isinstance(exc, _Interrupted) else "SIGINT"
        done = (f"all outputs had already been written to {args.out}" if args.committed else
                f"no new outputs were written to {args.out} (temporary files removed)")
        print(f"factorlab {args.command}: interrupted by {name}; {done}.", file=sys.stderr)
        return 128 + getattr(signal, name, signal.SIGINT)
    finally:
        restore()
    return 0


def _catch_signals():
    """Turn the first SIGINT/SIGTERM into :class:`_Interrupted` and ignore repeats, so that
    the clean-up after an interrupt is not itself interrupted. Returns the undo function."""
    hit = []

    def handler(signum, frame):
        if not hit:
            hit.append(signum)
            raise _Interrupted(signal.Signals(signum).name)

    try:
        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:      # not the main thread: signals stay as they are
        return lambda: None

    def restore():
        for sig, previous in old.items():
            if previous is not None:     # None: set from C, cannot be put back from Python
                signal.signal(sig, previous)
    return restore


if __name__ == "__main__":
    sys.exit(main())
