"""Generate the student exercise notebooks from their solutions.

The solution notebooks in ``exercises/solutions/NAME_sol.ipynb`` are the only source. In them,
answer code sits between two marker lines::

    # BEGIN SOLUTION: compute the Gram matrix and solve for U
    G = V.T @ V
    U = np.linalg.solve(G, (X @ V).T).T
    # END SOLUTION

In ``exercises/NAME.ipynb`` each such region becomes ``...`` plus
``raise NotImplementedError("Exercise: <the hint>")`` at the marker's indentation, and the cell is
tagged ``raises-exception`` (so the notebook still runs, under nbval and Jupyter Book alike) and
``remove-output``. Cells tagged ``check`` (answer checks) are tagged ``raises-exception`` as well,
since they fail until the blanks are filled. Outputs are stripped.

Usage::

    python tools/make_exercises.py           # (re)write the student notebooks
    python tools/make_exercises.py --check   # exit 1 if any student notebook is stale
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?::\s*(?P<hint>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


def blank_solutions(source: str, where: str) -> tuple[str, bool]:
    """Replace every marked region of ``source``; return the new source and whether any was."""
    out, inside, changed = [], False, False
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ValueError(f"{where}, line {number}: BEGIN SOLUTION inside another region")
            indent, hint = begin["indent"], (begin["hint"] or "fill in this part").strip()
            out += [f"{indent}# TODO: {hint}", f"{indent}...",
                    f"{indent}raise NotImplementedError({('Exercise: ' + hint)!r})"]
            inside = changed = True
        elif END.match(line):
            if not inside:
                raise ValueError(f"{where}, line {number}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: BEGIN SOLUTION is never closed")
    return "\n".join(out), changed


def _add_tags(cell, *tags):
    current = cell.metadata.setdefault("tags", [])
    current.extend(t for t in tags if t not in current)


def student_version(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student notebook for one solution notebook (a new object; the input is unchanged)."""
    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    for index, cell in enumerate(nb.cells):
        # Only tags matter to students; run timestamps would make every re-run a change.
        cell.metadata = nbformat.NotebookNode(
            {"tags": cell.metadata["tags"]} if cell.metadata.get("tags") else {})
        if cell.cell_type != "code":
            continue
        cell.source, blanked = blank_solutions(cell.source, f"{name} cell {index}")
        tags = cell.metadata.get("tags", [])
        if blanked:
            _add_tags(cell, "raises-exception", "remove-output")
        elif "check" in tags:
            _add_tags(cell, "raises-exception")
        cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    # Jupyter Book needs the kernel and language to run and highlight the stripped notebook.
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    nb.metadata.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    return nb


def student_path(solution_path: pathlib.Path) -> pathlib.Path:
    return ROOT / "exercises" / solution_path.name.replace("_sol.ipynb", ".ipynb")


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate student notebooks from solutions.")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    stale = []
    for sol in sorted(SOLUTIONS.glob("*_sol.ipynb")):
        target = student_path(sol)
        text = render(student_version(nbformat.read(sol, as_version=4), sol.name))
        if target.exists() and target.read_text() == text:
            continue
        if args.check:
            stale.append(target.relative_to(ROOT))
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("Stale student notebooks (run `python tools/make_exercises.py`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
