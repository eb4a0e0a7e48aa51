"""Execute notebooks in place, the way the committed chapters must be stored.

Usage::

    python tools/run_notebooks.py book/01_pca.ipynb exercises/solutions/00_warmup_als_sol.ipynb
    python tools/run_notebooks.py --all          # every chapter and solution, 2 at a time

Each notebook runs in its own kernel from its own folder (as nbval and Jupyter Book do), with the
widget state stored so widgets render in the static book, and the time each took printed so the
two-minute budget per chapter stays visible. Cells tagged ``raises-exception`` may fail.
"""

from __future__ import annotations

import argparse
import multiprocessing
import pathlib
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def all_notebooks() -> list[pathlib.Path]:
    """The chapters and exercise solutions, i.e. every notebook committed executed."""
    found = sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "exercises" / "solutions").glob("*.ipynb"))
    return [p for p in found if ".ipynb_checkpoints" not in str(p)]


def execute(path: pathlib.Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom, store outputs in place, and return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    # Jupyter Book needs a kernel name; notebooks written as scripts may lack one.
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True, record_timing=False)
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--all", action="store_true", help="every chapter and solution")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    paths = all_notebooks() if args.all else [p.resolve() for p in args.notebooks]
    if not paths:
        parser.error("name notebooks to run, or pass --all")
    # 'spawn': a forked worker inherits the parent's event-loop and ZMQ state and can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        for path, seconds in zip(paths, pool.map(execute, paths)):
            print(f"{seconds:7.1f} s  {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
