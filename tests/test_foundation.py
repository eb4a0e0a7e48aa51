"""The shared foundation: input checks, NumPy/torch backend, proximal basics, the warm-up check
and the exercise generator."""

import importlib.util
import pathlib

import nbformat
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import factorlab as fl
from factorlab import _backend, _validate
from factorlab.checks import ExerciseCheckError, check_als_factors

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- input checks -------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (np.ones(3), "2-D"),
    (np.ones((0, 3)), "empty"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "NaN or inf"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_check_array_names_the_problem(bad, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        _validate.check_array(bad, name="Y")
    assert "Y" in str(info.value)


def test_check_array_rejects_negative_when_asked_and_says_the_minimum():
    with pytest.raises(ValueError, match=r"nonnegative.*-2"):
        _validate.check_array(np.array([[1.0, -2.0]]), nonnegative=True)


def test_check_array_keeps_float_dtypes_and_never_modifies_input():
    x32 = np.ones((2, 2), dtype=np.float32)
    assert _validate.check_array(x32).dtype == np.float32
    ints = np.arange(6).reshape(2, 3)
    out = _validate.check_array(ints)
    out[0, 0] = 99.0
    assert ints[0, 0] == 0 and out.dtype == np.float64


def test_check_array_accepts_tensors_unless_told_not_to():
    t = torch.ones(2, 3)
    assert _validate.check_array(t) is t
    with pytest.raises(TypeError, match="NumPy"):
        _validate.check_array(t, allow_torch=False)
    with pytest.raises(ValueError, match="NaN"):
        _validate.check_array(torch.tensor([[float("nan")]]))


def test_check_mask_shape_dtype_and_empty():
    assert _validate.check_mask(None, (2, 2)) is None
    assert _validate.check_mask([[1, 0], [0, 1]], (2, 2)).dtype == bool
    with pytest.raises(ValueError, match=r"same shape.*\(2, 2\)"):
        _validate.check_mask(np.ones((3, 2), bool), (2, 2))
    with pytest.raises(TypeError, match="boolean"):
        _validate.check_mask(np.full((2, 2), 0.5), (2, 2))
    with pytest.raises(ValueError, match="no entry"):
        _validate.check_mask(np.zeros((2, 2), bool), (2, 2))


@pytest.mark.parametrize("rank", [0, -1, 6])
def test_check_rank_bounds(rank):
    with pytest.raises(ValueError, match="between 1 and min"):
        _validate.check_rank(rank, (10, 5))


def test_scalar_checks():
    assert _validate.check_rank(np.int64(2), (3, 3)) == 2
    with pytest.raises(TypeError):
        _validate.check_rank(2.0, (3, 3))
    with pytest.raises(ValueError, match="> 0"):
        _validate.check_positive(0, "tol")
    with pytest.raises(ValueError, match="between 0 and 1"):
        _validate.check_fraction(1.0, "holdout")
    with pytest.raises(ValueError, match="'hals', 'mu'"):
        _validate.check_option("als", "solver", ("hals", "mu"))
    with pytest.raises(TypeError):
        _validate.check_int(True, "max_iter")


# --- backend --------------------------------------------------------------------------------

def test_same_container_out():
    x = np.arange(4.0)
    t = _backend.to_torch(x)
    assert t.dtype == torch.float64
    assert isinstance(_backend.like_input(t * 2, x), np.ndarray)
    ref = torch.zeros(1)
    assert isinstance(_backend.like_input(t, ref), torch.Tensor)


def test_device_resolution():
    assert _backend.resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert _backend.resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device"):
        _backend.resolve_device("tpu-9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            _backend.resolve_device("cuda")


def test_seeding_is_reproducible():
    a = _backend.check_random_state(3).standard_normal(3)
    b = _backend.check_random_state(3).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    g1, g2 = _backend.torch_generator(5), _backend.torch_generator(5)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))
    with pytest.raises(TypeError):
        _backend.check_random_state("seed")


# --- proximal basics -----------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-5, 5)), st.floats(0, 3))
def test_soft_threshold_is_the_l1_prox(x, t):
    out = fl.soft_threshold(x, t)
    # The prox of t|.| minimises 0.5 (z - x)^2 + t |z|, entry by entry; check the optimality
    # condition: x - z is in t * subgradient(|z|).
    r = x - out
    nonzero = out != 0
    assert np.allclose(r[nonzero], t * np.sign(out[nonzero]))
    assert np.all(np.abs(r[~nonzero]) <= t + 1e-12)


@pytest.mark.parametrize("shape", [(200, 7), (7, 200), (30, 30)])
def test_svt_matches_full_svd(shape):
    X = np.random.default_rng(0).standard_normal(shape)
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    expected = (U * np.maximum(s - 1.5, 0)) @ Vt
    out, rank = fl.svt(X, 1.5, return_rank=True)
    np.testing.assert_allclose(out, expected, atol=1e-10)
    assert rank == int((s > 1.5).sum())
    out_t = fl.svt(torch.from_numpy(X), 1.5)
    assert isinstance(out_t, torch.Tensor)
    np.testing.assert_allclose(out_t.numpy(), expected, atol=1e-10)


def test_prox_input_errors():
    with pytest.raises(ValueError):
        fl.soft_threshold(np.ones(2), -1)
    with pytest.raises(ValueError):
        fl.svt(np.ones(3), 1.0)


# --- data and the warm-up check -------------------------------------------------------------

def test_lowrank_matrix_has_the_planted_rank():
    X, U, V = fl.data.lowrank_matrix(30, 20, rank=4, noise=0.0, random_state=1)
    assert np.linalg.matrix_rank(X) == 4
    np.testing.assert_allclose(X, U @ V.T)
    Xn, _, _ = fl.data.lowrank_matrix(30, 20, rank=4, nonnegative=True, random_state=1)
    assert (Xn >= 0).all()


def _svd_factors(X, r):
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    return u[:, :r] * s[:r], vt[:r].T


def test_warmup_check_accepts_a_right_answer(capsys):
    X, _, _ = fl.data.lowrank_matrix(40, 30, rank=3, noise=0.1, random_state=0)
    U, V = _svd_factors(X, 3)
    err = check_als_factors(U, V, X, rank=3)
    assert "✓" in capsys.readouterr().out and 0 < err < 1


@pytest.mark.parametrize("mistake, hint", [
    ("placeholder", "placeholder"),
    ("transposed", "shape"),
    ("too_few_iterations", "above the best possible"),
    ("nan", "NaN"),
])
def test_warmup_check_explains_wrong_answers(mistake, hint):
    X, _, _ = fl.data.lowrank_matrix(40, 30, rank=3, noise=0.1, random_state=0)
    U, V = _svd_factors(X, 3)
    if mistake == "placeholder":
        U = ...
    elif mistake == "transposed":
        U = U.T
    elif mistake == "too_few_iterations":
        U = U + 0.3 * np.random.default_rng(1).standard_normal(U.shape)
    else:
        U = U.copy()
        U[0, 0] = np.nan
    with pytest.raises(ExerciseCheckError, match=hint):
        check_als_factors(U, V, X, rank=3)


# --- exercise generator ---------------------------------------------------------------------

def _solution_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Exercise"),
        nbformat.v4.new_code_cell("def f(x):\n    # BEGIN SOLUTION: double it\n    y = 2 * x\n"
                                  "    # END SOLUTION\n    return y\n\nz = f(2)"),
        nbformat.v4.new_code_cell("assert z == 4", metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("print('plain')", outputs=[nbformat.v4.new_output(
            "stream", text="plain\n")], execution_count=3),
    ]
    return nb


def test_student_version_blanks_marked_code_and_tags_cells():
    make_exercises = load_tool("make_exercises")
    solution = _solution_notebook()
    before = nbformat.writes(solution)
    student = make_exercises.student_version(solution, "demo")
    assert nbformat.writes(solution) == before, "the solution must not be modified"
    stub = student.cells[1]
    assert "2 * x" not in stub.source
    assert "    # TODO: double it\n    ...\n    raise NotImplementedError('Exercise: double it')" \
        in stub.source
    assert {"raises-exception", "remove-output"} <= set(stub.metadata.tags)
    assert "raises-exception" in student.cells[2].metadata.tags
    # a given-code cell that reads no answer keeps its stored output, re-checked by nbval
    assert student.cells[3].outputs == solution.cells[3].outputs
    assert "nbval-check-output" in student.cells[3].metadata.tags
    compile(stub.source, "stub", "exec")  # the stub is still valid Python


def test_student_version_rejects_unbalanced_markers():
    make_exercises = load_tool("make_exercises")
    with pytest.raises(ValueError, match="never closed"):
        make_exercises.blank_solutions("# BEGIN SOLUTION\nx = 1", "demo")
    with pytest.raises(ValueError, match="without BEGIN"):
        make_exercises.blank_solutions("x = 1\n# END SOLUTION", "demo")


def test_committed_student_notebooks_are_up_to_date():
    make_exercises = load_tool("make_exercises")
    solutions = sorted(make_exercises.SOLUTIONS.glob("*_sol.ipynb"))
    assert solutions, "no exercise solutions found"
    for sol in solutions:
        target = make_exercises.student_path(sol)
        expected = make_exercises.render(
            make_exercises.student_version(nbformat.read(sol, as_version=4), sol.name))
        assert target.exists() and target.read_text() == expected, (
            f"{target.name} is stale: run `python tools/make_exercises.py`")


# --- notebook comparison across CPU models --------------------------------------------------

@pytest.mark.parametrize("stored, new", [
    ("relative error of L after 80 epochs: 0.036\n", "relative error of L after 80 epochs: 0.035\n"),
    ("precision 0.951  recall 0.893  F 0.921", "precision 0.951  recall 0.895  F 0.922"),
    ("objective 741.2", "objective 741.4"),
])
def test_nbval_accepts_last_digit_differences(stored, new):
    assert load_tool("nbval_numbers").texts_agree(stored, new)


@pytest.mark.parametrize("stored, new", [
    ("relative error 0.036", "relative error 0.040"),  # a real change
    ("converged in 248 iterations", "converged in 249 iterations"),  # integers are exact
    ("gap 6.306e-14", "gap 6.345e-14"),  # rounding-level numbers must not be printed
    ("F 0.97", "F1 0.97"),  # text is exact
    ("error 0.036", "error 0.036 (cpu)"),
])
def test_nbval_still_reports_real_differences(stored, new):
    assert not load_tool("nbval_numbers").texts_agree(stored, new)


def test_nbval_snapping_pairs_streams_by_name_and_keeps_other_outputs():
    tool = load_tool("nbval_numbers")

    class Cell:
        sanitize = staticmethod(lambda text: text)

    stored = [nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "F 0.974"}),
              nbformat.from_dict({"output_type": "execute_result",
                                  "data": {"text/plain": "0.50", "image/png": "AAA"}})]
    new = [nbformat.from_dict({"output_type": "execute_result",
                               "data": {"text/plain": "0.51", "image/png": "BBB"}}),
           nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "F 0.973"})]
    snapped = tool.snap_outputs(Cell(), new, stored)
    assert snapped[1]["text"] == "F 0.974"
    assert snapped[0]["data"] == {"text/plain": "0.50", "image/png": "BBB"}
    assert new[1]["text"] == "F 0.973"  # the re-computed outputs themselves are left alone
