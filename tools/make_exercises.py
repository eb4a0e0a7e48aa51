"""Generate the student exercise notebooks from their solutions.

The solution notebooks in ``exercises/solutions/NAME_sol.ipynb`` are the only source. In them,
answer code sits between two marker lines::

    # BEGIN SOLUTION: compute the Gram matrix and solve for U
    G = V.T @ V
    U = np.linalg.solve(G, (X @ V).T).T
    # END SOLUTION

The label after ``BEGIN SOLUTION`` says what to do, not how: it becomes the student's TODO line.
In ``exercises/NAME.ipynb`` each such region becomes ``# TODO: <label>``, ``...`` and
``raise NotImplementedError("Exercise: <label>")`` at the marker's indentation, and the cell is
tagged ``raises-exception`` (so the notebook still runs, under nbval and Jupyter Book alike) and
``remove-output``. Cells tagged ``check`` (answer checks) get the same two tags, since they fail
until the blanks are filled.

A solution notebook also carries, and this script checks (``validate``):

- a title ``# Exercise N (solution): ...`` in its first cell; the student title drops
  " (solution)";
- one markdown cell tagged ``solution-note`` that links the exercise (``../NAME.ipynb``); in the
  student notebook it is replaced by a note that links the solution and says to try first;
- ``hide-input`` on every cell with answer code, so that the book's solution page folds the
  answer away behind a toggle (the student version drops the tag);
- before every cell with answer code, a markdown cell tagged ``hint`` with one to three hints
  per blank, each a collapsed ``<details><summary>Hint k ...</summary>`` block (it renders
  folded in JupyterLab and in the book alike), the later ones more specific;
- code lines of at most 80 characters (the book's code column), in both versions.

Outputs. A student cell keeps the solution's stored outputs when nothing it reads can depend on
an answer: ``answer_dependent`` follows, statement by statement, which names a blank (or a
statement after one that stops the cell, or a check) binds, and which later statements read
them; a cell that rebinds a name from given code clears it again. Cells whose outputs are kept
are tagged ``nbval-check-output``, so the ``--nbval-lax`` run of the student notebooks in
``make test`` re-runs them and compares, which catches a dependence the names do not show
(hidden state such as a global random generator). They keep the solution's execution counts
too (nbval skips a cell without one); cells tagged ``nbval-ignore-output`` (timings) never keep
outputs, so the student notebooks are a pure function of the solutions. Cells that would print but keep no output are tagged
``remove-output``, so that a book build that executes the notebooks shows the same.

Usage::

    python tools/make_exercises.py           # (re)write the student notebooks
    python tools/make_exercises.py --check   # exit 1 if any student notebook is stale

Both exit 1, writing nothing, if a solution notebook breaks one of the rules above.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?::\s*(?P<hint>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
HINT_TAG, NOTE_TAG, CHECK_TAG = "hint", "solution-note", "check"
KEEP_TAG = "nbval-check-output"
TITLE_MARK = " (solution)"
MAX_LINE = 80
MAX_HINTS = 3  # per blank
# Cells whose outputs are never stored for students (they vary, or never run).
NO_OUTPUT_TAGS = {"nbval-ignore-output", "nbval-skip", "skip-execution", "raises-exception",
                  "remove-output", "remove-cell"}
HINT_OPEN = re.compile(r"<details>\s*<summary>\s*Hint\b[^<]*</summary>\s*\n\s*\n")
STUDENT_NOTE = (
    "**Try first.** Each blank has up to three hints just above it, folded away:\n"
    "open the first only when you are stuck, and the next only if you still are.\n"
    "Once your checks pass, or when your teacher hands it out, compare with the\n"
    "[worked solution]({link}).")


def _stub(indent: str, hint: str) -> list[str]:
    message = repr("Exercise: " + hint)
    if len(f"{indent}raise NotImplementedError({message})") > MAX_LINE:
        message = repr("Exercise: fill in the TODO above")
    return [f"{indent}# TODO: {hint}", f"{indent}...",
            f"{indent}raise NotImplementedError({message})"]


def solution_regions(source: str, where: str) -> list[tuple[int, int, str]]:
    """The marked regions of ``source``: (first line, last line, label), 1-based, markers
    included."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if start is not None:
                raise ValueError(f"{where}, line {number}: BEGIN SOLUTION inside another region")
            start, label = number, (begin["hint"] or "fill in this part").strip()
        elif END.match(line):
            if start is None:
                raise ValueError(f"{where}, line {number}: END SOLUTION without BEGIN")
            regions.append((start, number, label))
            start = None
    if start is not None:
        raise ValueError(f"{where}: BEGIN SOLUTION is never closed")
    return regions


def blank_solutions(source: str, where: str) -> tuple[str, bool]:
    """Replace every marked region of ``source``; return the new source and whether any was."""
    regions = solution_regions(source, where)
    lines, out, region = source.splitlines(), [], 0
    for number, line in enumerate(lines, start=1):
        if region < len(regions) and regions[region][0] <= number <= regions[region][1]:
            if number == regions[region][0]:
                out += _stub(BEGIN.match(line)["indent"], regions[region][2])
            if number == regions[region][1]:
                region += 1
        else:
            out.append(line)
    return "\n".join(out), bool(regions)


# --- which cells depend on an answer ----------------------------------------------------------

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _binds(nodes) -> set[str]:
    """Names the statements ``nodes`` bind in the scope they run in."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            names.update(n for g in ast.walk(node) if isinstance(g, ast.Global) for n in g.names)
            return
        if isinstance(node, _SCOPES):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for node in nodes:
        visit(node)
    return names


def _reads(node) -> set[str]:
    """Names ``node`` reads from the scope it runs in (a function body's reads included, less
    its own parameters and locals)."""
    names: set[str] = set()

    def visit(node, local):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for expr in (getattr(node, "decorator_list", []) + args.defaults
                         + [d for d in args.kw_defaults if d is not None]):
                visit(expr, local)
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | params | _binds(body)
            for stmt in body:
                visit(stmt, inner)
            return
        if isinstance(node, ast.ClassDef):
            for expr in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                visit(expr, local)
            inner = local | _binds(node.body)
            for stmt in node.body:
                visit(stmt, inner)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            inner = local | _binds([g.target for g in node.generators])
            for child in ast.iter_child_nodes(node):
                visit(child, inner)
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local:
                names.add(node.id)
            return
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id not in local:
            names.add(node.target.id)
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    visit(node, frozenset())
    return names


def answer_dependent(solution: nbformat.NotebookNode, name: str = "notebook") -> list[bool]:
    """For every cell: could what it prints in the student notebook depend on an answer?

    True for cells with answer code, for checks, and for cells that read a name which a blank
    binds (or which a statement binds that reads one, or that follows a statement that stops
    its cell by raising); False for markdown cells and for code that reads only given names.
    """
    tainted: set[str] = set()
    dependent = []
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code":
            dependent.append(False)
            continue
        where = f"{name} cell {index}"
        regions = solution_regions(cell.source, where)
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as exc:
            raise ValueError(f"{where}: not plain Python ({exc.msg}, line {exc.lineno}); the "
                             "output analysis needs it") from exc
        affected = CHECK_TAG in cell.metadata.get("tags", [])
        stopped = False      # an earlier statement of this cell may have raised
        for stmt in tree.body:
            answer = any(a <= stmt.end_lineno and stmt.lineno <= b for a, b, _ in regions)
            if stopped or answer or _reads(stmt) & tainted:
                affected = True
                tainted |= _binds([stmt])
                # defining a function with a blank raises only when it is called
                stopped |= not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.ClassDef))
            else:
                tainted -= _binds([stmt])
        dependent.append(affected)
    return dependent


# --- the student notebook ---------------------------------------------------------------------

def _add_tags(cell, *tags):
    current = cell.metadata.setdefault("tags", [])
    current.extend(t for t in tags if t not in current)


def _drop_tags(cell, *tags):
    kept = [t for t in cell.metadata.get("tags", []) if t not in tags]
    if kept:
        cell.metadata["tags"] = kept
    else:
        cell.metadata.pop("tags", None)


def _keepable(outputs) -> bool:
    return bool(outputs) and all(o.output_type != "error" for o in outputs)


def student_path(solution_path: pathlib.Path) -> pathlib.Path:
    return ROOT / "exercises" / solution_path.name.replace("_sol.ipynb", ".ipynb")


def student_version(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student notebook for one solution notebook (a new object; the input is unchanged)."""
    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    dependent = answer_dependent(nb, name)
    for index, cell in enumerate(nb.cells):
        # Only tags matter to students; run timestamps would make every re-run a change.
        cell.metadata = nbformat.NotebookNode(
            {"tags": cell.metadata["tags"]} if cell.metadata.get("tags") else {})
        tags = cell.metadata.get("tags", [])
        if index == 0 and cell.cell_type == "markdown":
            first, _, rest = cell.source.partition("\n")
            cell.source = first.replace(TITLE_MARK, "", 1) + ("\n" + rest if rest else "")
        if NOTE_TAG in tags:
            cell.source = STUDENT_NOTE.format(link=f"solutions/{name}")
            _drop_tags(cell, NOTE_TAG)
            continue
        if cell.cell_type != "code":
            continue
        cell.source, blanked = blank_solutions(cell.source, f"{name} cell {index}")
        outputs, count = cell.outputs, cell.execution_count
        cell.outputs, cell.execution_count = [], None
        if blanked:
            _drop_tags(cell, "hide-input")
            _add_tags(cell, "raises-exception", "remove-output")
        elif CHECK_TAG in tags:
            _add_tags(cell, "raises-exception", "remove-output")
        elif not dependent[index] and _keepable(outputs) and not NO_OUTPUT_TAGS & set(tags):
            # nbval compares only cells with a count: keep the solution's (deterministic)
            cell.outputs, cell.execution_count = outputs, count
            _add_tags(cell, KEEP_TAG)
        elif outputs:
            _add_tags(cell, "remove-output")
    nb.metadata.pop("widgets", None)
    # Jupyter Book needs the kernel and language to run and highlight the stripped notebook.
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    nb.metadata.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    return nb


# --- the rules a solution notebook keeps ------------------------------------------------------

def _long_lines(nb, what):
    return [f"{what} cell {i}: code line of {len(line)} > {MAX_LINE} characters: {line.strip()}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > MAX_LINE]


def _hint_problems(source: str, n_blanks: int, where: str) -> list[str]:
    problems = []
    opened, closed = source.count("<details"), source.count("</details>")
    if opened != closed:
        problems.append(f"{where}: {opened} <details> but {closed} </details>")
    if "<details open" in source:
        problems.append(f"{where}: a hint must start folded (no 'open' attribute)")
    well_formed = len(HINT_OPEN.findall(source))
    if well_formed != opened:
        problems.append(f"{where}: write each hint as '<details><summary>Hint k</summary>' "
                        "then an empty line (so the hint's markdown renders), then the text")
    if not n_blanks <= opened <= MAX_HINTS * n_blanks:
        problems.append(f"{where}: {opened} hints for {n_blanks} blank(s); give 1 to "
                        f"{MAX_HINTS} per blank")
    return problems


def validate(solution: nbformat.NotebookNode, name: str) -> list[str]:
    """The rules of the module docstring that ``solution`` breaks (an empty list if none)."""
    problems, cells = [], solution.cells
    student = name.replace("_sol.ipynb", ".ipynb")
    if not (cells and cells[0].cell_type == "markdown"
            and cells[0].source.startswith("# ")
            and TITLE_MARK in cells[0].source.partition("\n")[0]):
        problems.append(f"{name}: the first cell must be the title "
                        f"'# Exercise N{TITLE_MARK}: …'")
    notes = [c for c in cells if NOTE_TAG in c.metadata.get("tags", [])]
    if len(notes) != 1 or notes[0].cell_type != "markdown":
        problems.append(f"{name}: needs one markdown cell tagged {NOTE_TAG!r}")
    elif f"](../{student})" not in notes[0].source:
        problems.append(f"{name}: the {NOTE_TAG} cell must link the exercise, (../{student})")
    for index, cell in enumerate(cells):
        where = f"{name} cell {index}"
        tags = cell.metadata.get("tags", [])
        if HINT_TAG in tags:
            after = cells[index + 1] if index + 1 < len(cells) else None
            if cell.cell_type != "markdown" or after is None or after.cell_type != "code" or \
                    not solution_regions(after.source, where):
                problems.append(f"{where}: a {HINT_TAG!r} cell must be markdown, just before "
                                "a cell with answer code")
        if cell.cell_type != "code":
            continue
        regions = solution_regions(cell.source, where)
        if not regions:
            continue
        if "hide-input" not in tags:
            problems.append(f"{where}: answer code must be tagged hide-input (folded in the "
                            "book's solution page)")
        before = cells[index - 1] if index else None
        if before is None or HINT_TAG not in before.metadata.get("tags", []):
            problems.append(f"{where}: put a markdown cell tagged {HINT_TAG!r} with the hints "
                            "just before it")
        else:
            problems += _hint_problems(before.source, len(regions), f"{name} cell {index - 1}")
    problems += _long_lines(solution, name)
    problems += _long_lines(student_version(solution, name), student)
    return problems


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate student notebooks from solutions.")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    stale, problems, texts = [], [], {}
    for sol in sorted(SOLUTIONS.glob("*_sol.ipynb")):
        solution = nbformat.read(sol, as_version=4)
        problems += validate(solution, sol.name)
        texts[student_path(sol)] = render(student_version(solution, sol.name))
    if problems:
        print("Solution notebooks break the rules of tools/make_exercises.py:", *problems,
              sep="\n  ")
        return 1
    for target, text in texts.items():
        if target.exists() and target.read_text() == text:
            continue
        if args.check:
            stale.append(target.relative_to(ROOT))
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("Stale student notebooks (run `python tools/make_exercises.py`):", *stale,
              sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
