"""The ``factorlab`` command line.

``factorlab bear MOVIE --rank R --out DIR`` splits a movie (``.npy`` or TIFF, frames first) into
background ``L`` and foreground ``S`` with BEAR, streaming it from disk, and writes ``L.npy``,
``S.npy``, ``W.npy`` (pixels x rank), ``summary.png`` and ``summary.json`` into ``DIR``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys

__all__ = ["main"]

OUTPUTS = ("L.npy", "S.npy", "W.npy", "summary.png", "summary.json")


class CommandError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def _rank(value: str):
    if value == "greedy":
        return value
    try:
        rank = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'greedy', got {value!r}") from None
    if rank < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {rank}")
    return rank


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="factorlab", description="factorlab command line tools.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bear", help="robust PCA of a movie with BEAR (out of core)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("movie", help=".npy or .tif/.tiff movie, frames first")
    b.add_argument("--rank", type=_rank, default=2, help="rank of the background, or 'greedy'")
    b.add_argument("--out", required=True, help="output folder (created if missing)")
    b.add_argument("--epochs", type=int, default=50, help="maximum epochs (default 50)")
    b.add_argument("--batch-size", type=int, default=None, help="frames per step (default: "
                   "min(64, frames), lowered to fit --memory-budget)")
    b.add_argument("--lr", type=float, default=None, help="Adam step (default 0.1/sqrt(pixels))")
    b.add_argument("--memory-budget", type=float, default=1000.0,
                   help="MB for the working copies of a batch (default 1000)")
    b.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--force", action="store_true", help="overwrite existing outputs")
    b.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _check_outputs(out: pathlib.Path, force: bool, bytes_needed: int) -> None:
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder.")
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not force:
        raise CommandError(f"{out} already holds {', '.join(existing)}; use --force to overwrite "
                           "or choose another --out.")
    probe = out if out.exists() else next(p for p in out.parents if p.exists())
    free = shutil.disk_usage(probe).free
    if free < bytes_needed:
        raise CommandError(f"Not enough disk space in {probe}: L.npy and S.npy need about "
                           f"{bytes_needed / 2**30:.2f} GiB, {free / 2**30:.2f} GiB are free.")


def _bear(args) -> None:
    import numpy as np

    from .io import open_movie
    from .robust.bear import BEAR

    try:
        src = open_movie(args.movie)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if len(src.frame_shape) != 2:
        raise CommandError(f"{args.movie} has shape {src.shape}; the command needs frames x "
                           "height x width so that it can draw the summary images.")
    out = pathlib.Path(args.out)
    # L and S in float32, plus W and the figure
    _check_outputs(out, args.force, int(2 * 4 * src.n_frames * src.n_pixels * 1.02) + 2**20)
    out.mkdir(parents=True, exist_ok=True)
    bear = BEAR(args.rank, lr=args.lr, n_epochs=args.epochs, batch_size=args.batch_size,
                memory_budget=args.memory_budget * 2**20, device=args.device,
                random_state=args.seed, progress=not args.no_progress)
    try:
        bear.fit(args.movie)
    except ValueError as exc:   # NaN in the movie, rank too large, bad settings
        raise CommandError(str(exc)) from None
    L, S = bear.decompose(args.movie, out_L=out / "L.npy", out_S=out / "S.npy")
    np.save(out / "W.npy", bear.W_)
    _summary(args, src, bear, L, S, out)
    print(f"factorlab bear: rank {bear.rank_}, {bear.n_iter_} epochs, final mean |Y - L| "
          f"{bear.loss_history_[-1]:.4g}; wrote {', '.join(OUTPUTS)} to {out}")


def _summary(args, src, bear, L, S, out) -> None:
    import matplotlib

    matplotlib.use("Agg")   # a command line tool draws to a file, never to a window
    import matplotlib.pyplot as plt
    import numpy as np

    from .plot.movies import bear_summary

    mean = np.zeros(src.n_pixels)
    for _, _, block in src.chunks(copy=False):   # ~128 MB at a time, whatever the movie size
        mean += block.sum(axis=0, dtype=np.float64)
    mean = (mean / src.n_frames).reshape(src.frame_shape)
    t = src.n_frames // 2
    frame = src.read([t]).reshape(src.frame_shape)
    fig = bear_summary(mean, bear.W_, frame, np.asarray(L[t]), np.asarray(S[t]),
                       bear.loss_history_, frame_index=t)
    fig.savefig(out / "summary.png", dpi=90)
    plt.close(fig)
    info = {"movie": str(pathlib.Path(args.movie).resolve()), "shape": list(src.shape),
            "rank": bear.rank_, "epochs": bear.n_iter_, "early_stopped": bear.converged_,
            "batch_size": bear.batch_size_, "lr": bear.lr_, "seed": args.seed,
            "loss_history": bear.loss_history_}
    (out / "summary.json").write_text(json.dumps(info, indent=1))


def main(argv=None) -> int:
    """Entry point of the ``factorlab`` console script; returns the exit status.

    Examples
    --------
    >>> main(["bear", "no_such_movie.npy", "--out", "unused"])   # the message goes to stderr
    2
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "bear":
            _bear(args)
    except CommandError as exc:
        print(f"factorlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
