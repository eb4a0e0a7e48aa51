"""The exercises as a workshop: hints folded before every blank, solutions folded in the book,
and student pages that store the outputs of given code only (tools/make_exercises.py)."""

import importlib.util
import pathlib
import re

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "exercises" / "solutions").glob("*_sol.ipynb"))


def _tool():
    spec = importlib.util.spec_from_file_location("make_exercises",
                                                  ROOT / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_exercises = _tool()


def _pair(sol):
    return nbformat.read(sol, as_version=4), nbformat.read(make_exercises.student_path(sol),
                                                           as_version=4)


def _tags(cell):
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("sol", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_keeps_the_rules(sol):
    assert make_exercises.validate(nbformat.read(sol, as_version=4), sol.name) == []


@pytest.mark.parametrize("sol", SOLUTIONS, ids=lambda p: p.stem)
def test_every_blank_has_folded_hints_that_do_not_give_the_answer(sol):
    solution, student = _pair(sol)
    assert [c.source for c in solution.cells if "hint" in _tags(c)] == \
        [c.source for c in student.cells if "hint" in _tags(c)]
    for index, cell in enumerate(solution.cells):
        regions = make_exercises.solution_regions(cell.source, sol.name)
        if cell.cell_type != "code" or not regions:
            continue
        hints = solution.cells[index - 1].source
        assert len(regions) <= hints.count("<summary>Hint") <= 3 * len(regions)
        assert "<details open" not in hints
        lines = cell.source.splitlines()
        for first, last, _ in regions:
            answer = [line.strip() for line in lines[first:last - 1]]
            assert "\n".join(answer) not in hints
            # a hint may quote a step, but not every line of the answer word for word
            quoted = [line for line in answer if f"`{line}`" in hints or f"`return {line}`"
                      in hints or (line.startswith("return ") and f"`{line[7:]}`" in hints)]
            assert len(quoted) < len(answer), quoted


@pytest.mark.parametrize("sol", SOLUTIONS, ids=lambda p: p.stem)
def test_answer_cells_are_folded_in_the_solution_and_open_in_the_exercise(sol):
    solution, student = _pair(sol)
    for sol_cell, cell in zip(solution.cells, student.cells, strict=True):
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in sol_cell.source:
            assert "hide-input" in _tags(sol_cell)
            assert "hide-input" not in _tags(cell)
            assert "NotImplementedError" in cell.source and "BEGIN" not in cell.source


@pytest.mark.parametrize("sol", SOLUTIONS, ids=lambda p: p.stem)
def test_student_outputs_come_from_given_code_only(sol):
    solution, student = _pair(sol)
    dependent = make_exercises.answer_dependent(solution, sol.name)
    kept = 0
    for index, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        if cell.outputs:
            kept += 1
            assert not dependent[index]
            assert "nbval-check-output" in _tags(cell)   # make test re-runs and compares
            assert not {"check", "raises-exception", "nbval-ignore-output"} & set(_tags(cell))
            assert "NotImplementedError" not in cell.source
            assert cell.outputs == solution.cells[index].outputs
        elif solution.cells[index].outputs:
            assert "remove-output" in _tags(cell)        # the same if the book executes it
    assert kept >= 1                                     # every exercise shows its set-up


@pytest.mark.parametrize("sol", SOLUTIONS, ids=lambda p: p.stem)
def test_visible_code_lines_fit_the_book_column(sol):
    for nb in _pair(sol):
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert max(map(len, cell.source.splitlines() or [""])) <= 80, cell.source


def test_titles_say_which_is_the_solution():
    for sol in SOLUTIONS:
        solution, student = _pair(sol)
        assert re.match(r"# Exercise \d+ \(solution\): ", solution.cells[0].source)
        assert re.match(r"# Exercise \d+: ", student.cells[0].source)


# --- the output analysis on small notebooks ---------------------------------------------------

def _notebook(*sources, checks=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": ["check"]} if i in checks
                                          else {}) for i, source in enumerate(sources)]
    return nb


def test_a_name_bound_in_a_blank_taints_its_readers_until_rebound():
    nb = _notebook(
        "import numpy as np\nX = np.ones(3)",                               # given
        "m = 2\n# BEGIN SOLUTION: do it\ny = X * m\n# END SOLUTION\nz = 1",  # blank, then after
        "print(m, X)",                  # reads given names only
        "print(y)",                     # reads an answer
        "w = z + 1",                    # z follows the raise: not defined for students
        "y = np.zeros(3)\nprint(y)",    # rebinds y from given code
        "print(y.sum(), w)",            # w still depends on the blank
    )
    assert make_exercises.answer_dependent(nb) == [False, True, False, True, True, False, True]


def test_functions_with_blanks_taint_their_callers_not_the_cells_before():
    nb = _notebook(
        "def f(x):\n    # BEGIN SOLUTION: double\n    return 2 * x\n    # END SOLUTION\n"
        "\n\ndef g(x):\n    return x",
        "print(g(1))",                          # g is given code
        "def h(x):\n    return f(x) + 1",       # calls the blank at call time
        "print(h(1))",
        "ref = g(3)\nfl_check(f)",              # a check: what precedes it is given
        "print(ref)",
        "print([f(v) for v in range(2)])",
        "def k(f):\n    return f(1)\nprint(k(g))",   # a parameter named like the blank
        checks={4},
    )
    assert make_exercises.answer_dependent(nb) == [True, False, True, True, True, False, True,
                                                   False]


def test_student_version_keeps_given_outputs_with_their_count():
    nb = _notebook("print('given')", "# BEGIN SOLUTION: x\nx = 1\n# END SOLUTION\nprint(x)",
                   "print(x + 1)")
    for count, cell in enumerate(nb.cells, start=1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", text=f"{count}\n")]
    student = make_exercises.student_version(nb, "demo_sol.ipynb")
    given, blank, after = student.cells
    assert given.outputs == nb.cells[0].outputs and given.execution_count == 1
    assert "nbval-check-output" in given.metadata.tags
    assert blank.outputs == [] and after.outputs == [] and after.execution_count is None
    assert "remove-output" in after.metadata.tags


def test_validate_names_a_missing_hint_and_fold():
    nb = _notebook("# BEGIN SOLUTION: x\nx = 1\n# END SOLUTION")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Exercise 9 (solution): demo"))
    problems = "\n".join(make_exercises.validate(nb, "demo_sol.ipynb"))
    assert "solution-note" in problems and "hide-input" in problems and "'hint'" in problems
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        "<details open><summary>Hint 1</summary>x</details>", metadata={"tags": ["hint"]}))
    problems = "\n".join(make_exercises.validate(nb, "demo_sol.ipynb"))
    assert "folded" in problems and "empty line" in problems
