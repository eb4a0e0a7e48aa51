"""Bad and edge inputs for every public function (the estimators are in test_bad_inputs.py).

Each public function is called once with valid arguments, then again with one argument
corrupted at a time: arrays get a NaN, an inf, an extreme scale, another dtype, a dropped or
added axis, an empty axis, complex or text values, a tensor that requires grad; numbers get
negative, zero, NaN, inf, huge and text values. Every call must end in one of two outcomes:
a ``ValueError``/``TypeError`` raised by factorlab's own checks, or a finite result. Silent
NaN or inf, and errors from deep inside NumPy, SciPy or torch, fail the test.
"""

import numbers

import numpy as np
import pytest
import torch

import factorlab as fl
from test_bad_inputs import _assert_clear, _corrupt, _finite

ARRAY_CORRUPTIONS = ["nan", "inf", "tiny", "huge", "int", "float16", "complex", "text",
                     "drop_axis", "add_axis", "empty", "tensor_grad"]
NUMBER_CORRUPTIONS = [-1, 0, np.nan, np.inf, 1e300, "text"]


def _rng():
    return np.random.default_rng(0)


def _corrupt_array(x, how):
    if how in ("tiny", "huge"):
        return _corrupt(x, "scale", 0, -300 if how == "tiny" else 300)
    return _corrupt(x, how, np.size(x) // 2, 0)


def _matrix(nonneg=True, shape=(12, 8)):
    x = _rng().random(shape)
    return x if nonneg else x - 0.5


def _spike_windows():
    """Six windows of noise with two spike shapes, a few spikes each."""
    rng = _rng()
    Y = 0.05 * rng.standard_normal((6, 80))
    shapes = [np.hanning(8), -np.sin(np.linspace(0, np.pi, 8))]
    for w in range(6):
        for start, k in zip(rng.choice(70, 2, replace=False), (0, 1)):
            Y[w, start:start + 8] += shapes[k]
    return Y


def _series():
    return _rng().standard_normal((60, 3))


def _spike_codes():
    codes = np.zeros((2, 100))
    codes[0, [10, 50]] = 1.0
    codes[1, [30, 80]] = 1.0
    return codes


def _masks():
    truth = np.zeros((4, 6, 6), dtype=bool)
    truth[:, 2:4, 2:4] = True
    return truth


# name -> factory of (args, kwargs) for a valid call.
CALLS = {
    "soft_threshold": lambda: ((_matrix(False), 0.1), {}),
    "svt": lambda: ((_matrix(False), 0.5), {}),
    "relative_error": lambda: ((_matrix(), _matrix(shape=(12, 2)), _matrix(shape=(8, 2))), {}),
    "censored_lstsq": lambda: ((torch.tensor(_matrix()), torch.tensor(_matrix(shape=(8, 2)))),
                               {}),
    "pca_als": lambda: ((_matrix(False), 2), {"random_state": 0, "max_iter": 50}),
    "nmf": lambda: ((_matrix(), 2), {"random_state": 0, "max_iter": 50}),
    "nnls": lambda: ((_matrix(shape=(12, 3)), _matrix(shape=(12, 4))), {}),
    "sparse_pca": lambda: ((_matrix(False), 2, 0.1), {"max_iter": 50}),
    "sparse_nmf": lambda: ((_matrix(), 2, 0.1), {"max_iter": 50}),
    "semi_nmf": lambda: ((_matrix(False), 2), {"max_iter": 50}),
    "kmeans_factorization": lambda: ((_matrix(False), 2), {"random_state": 0, "n_init": 2}),
    "glrm": lambda: ((_matrix(False), 2), {"max_iter": 50}),
    "conv_nmf": lambda: ((_matrix(), 2, 3), {"random_state": 0, "max_iter": 30}),
    "conv_reconstruct": lambda: ((_rng().random((8, 2, 3)), _matrix(shape=(12, 2))), {}),
    "sequence_significance": lambda: ((_rng().random((8, 2, 3)), _matrix()),
                                      {"n_null": 20, "random_state": 0}),
    "cp_als": lambda: ((_rng().random((6, 5, 4)), 2), {"random_state": 0, "max_iter": 50}),
    "ialm": lambda: ((_matrix(False),), {"max_iter": 50}),
    "pcp": lambda: ((_matrix(False),), {"max_iter": 50}),
    "godec": lambda: ((_matrix(False), 2), {"random_state": 0, "max_iter": 20}),
    "default_lambda": lambda: (((12, 8),), {}),
    "rpca_forward_backward": lambda: ((_matrix(False),), {"max_iter": 50}),
    "rpca_admm": lambda: ((_matrix(False),), {"max_iter": 50}),
    "project_foreground": lambda: ((_matrix(), _matrix(shape=(12, 8))), {}),
    "lambda_closed_form": lambda: ((3.0, 100, 1.0, 2.0), {}),
    "fista_csc": lambda: ((_rng().standard_normal(40), _rng().standard_normal((2, 5)), 0.1),
                          {"max_iter": 100}),
    "lipschitz_bound": lambda: ((_rng().standard_normal((2, 5)),), {}),
    "spike_snippet_templates": lambda: ((_spike_windows(), 2, 8, 0.05),
                                        {"random_state": 0}),
    "csc_objective": lambda: ((_rng().standard_normal(40), _rng().standard_normal((2, 36)),
                               _rng().standard_normal((2, 5)), 0.1), {}),
    "lasso": lambda: ((_matrix(False, (30, 5)), _rng().standard_normal(30), 0.1), {}),
    "lasso_path": lambda: ((_matrix(False, (30, 5)), _rng().standard_normal(30)), {}),
    "var_lasso": lambda: ((_series(), 1, 0.05), {}),
    "lagged_design": lambda: ((_series(), 2), {}),
    "companion_matrix": lambda: ((0.1 * _rng().standard_normal((2, 3, 3)),), {}),
    "spectral_radius": lambda: ((0.1 * _rng().standard_normal((2, 3, 3)),), {}),
    "sequence_test": lambda: ((_series(), _series()[::-1].copy()),
                              {"block_length": 10, "n_permutations": 9, "random_state": 0}),
    "similarity": lambda: (([_matrix(shape=(6, 2)), _matrix(shape=(5, 2))],
                            [_matrix(shape=(6, 2)), _matrix(shape=(5, 2))]), {}),
    "align": lambda: (([_matrix(shape=(6, 2)), _matrix(shape=(5, 2))],
                       [_matrix(shape=(6, 2)), _matrix(shape=(5, 2))]), {}),
    "speckled_mask": lambda: (((12, 8),), {"holdout": 0.1, "random_state": 0}),
    "svd_bound": lambda: ((_matrix(), [1, 2]), {}),
    "otsu_threshold": lambda: ((_matrix().ravel(),), {}),
    "foreground_mask": lambda: ((_matrix(False, (4, 6, 6)),), {}),
    "segmentation_scores": lambda: ((_masks(), _masks()), {}),
    "binarize_footprints": lambda: ((_matrix(shape=(3, 36)),), {}),
    "footprint_iou": lambda: ((_matrix(shape=(3, 36)), _matrix(shape=(2, 36))), {}),
    "match_footprints": lambda: ((_matrix(shape=(3, 36)), _matrix(shape=(2, 36))), {}),
    "trace_correlation": lambda: ((_matrix(shape=(40, 3)), _matrix(shape=(40, 2)),
                                   [(0, 0), (1, 1)]), {}),
    "decomposition_errors": lambda: ((_matrix(), _matrix(), _matrix(), _matrix()), {}),
    "template_error": lambda: ((_rng().standard_normal((2, 9)),
                                _rng().standard_normal((2, 9))), {}),
    "detect_spikes": lambda: ((_spike_codes()[0], 0.5), {}),
    "match_spikes": lambda: ((np.array([10, 50]), np.array([11, 52, 90])), {}),
    "spike_detection_curve": lambda: ((_spike_codes(), [np.array([10, 50]),
                                                         np.array([30, 80])]), {}),
    "psnr": lambda: ((_matrix(), _matrix() + 0.01), {}),
    "support_f1": lambda: ((_matrix(False, (3, 3)), _matrix(False, (3, 3))), {}),
}


# (function, corruption) pairs whose non-finite result is the documented behaviour.
ELEMENTWISE_NAN = {
    # an elementwise map like np.maximum: a NaN or inf entry maps to NaN or inf at that entry
    # only; a finiteness check on every call would double its cost inside the solvers' loops
    ("soft_threshold", "argument 0 nan"), ("soft_threshold", "argument 0 inf"),
}


def _variants(args, kwargs):
    """(label, args, kwargs) with one argument corrupted at a time."""
    slots = [(i, v) for i, v in enumerate(args)] + list(kwargs.items())
    for slot, value in slots:
        if isinstance(value, (np.ndarray, torch.Tensor)) and np.asarray(value).dtype.kind == "f":
            corruptions = [(how, _corrupt_array(np.asarray(value), how))
                           for how in ARRAY_CORRUPTIONS]
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            corruptions = [(repr(c), c) for c in NUMBER_CORRUPTIONS]
        else:
            continue
        for how, bad in corruptions:
            new_args, new_kwargs = list(args), dict(kwargs)
            if isinstance(slot, int):
                new_args[slot] = bad
            else:
                new_kwargs[slot] = bad
            yield f"argument {slot} {how}", tuple(new_args), new_kwargs


def _outcome(func, args, kwargs):
    """'error' (a clear factorlab error) or 'result' (finite); any other outcome raises."""
    try:
        out = func(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        _assert_clear(exc, "the error")
        return "error"
    if hasattr(out, "_fields"):              # result tuples (MatrixFit, CPResult...)
        values = [getattr(out, field) for field in out._fields]
    elif hasattr(out, "__dict__"):           # result objects
        values = list(vars(out).values())
    else:
        values = [out]
    numbers_ = [v for v in values if isinstance(v, (np.ndarray, torch.Tensor, float, list, tuple))
                and not (isinstance(v, np.ndarray) and v.dtype.kind not in "fciub")]
    assert all(_finite(v) for v in numbers_), "non-finite result"
    return "result"


def test_every_public_function_is_covered():
    import inspect

    public = {name for name in fl.__all__ if inspect.isfunction(getattr(fl, name))}
    # Not data functions: device and seed helpers, movie files (tests/test_io_files.py; BEAR
    # across processes in tests/test_bear_distributed.py) and cross-validation of an
    # estimator (tests/test_bad_inputs.py drives the estimators).
    elsewhere = {"resolve_device", "seed_everything", "open_movie", "save_movie",
                 "cross_validate", "bear_distributed"}
    assert public - elsewhere == set(CALLS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_argument_gives_a_clear_error_or_a_finite_result(name):
    func = getattr(fl, name)
    args, kwargs = CALLS[name]()
    assert _outcome(func, args, kwargs) == "result", "the valid call must succeed"
    for label, bad_args, bad_kwargs in _variants(args, kwargs):
        if (name, label) in ELEMENTWISE_NAN:
            continue
        try:
            _outcome(func, bad_args, bad_kwargs)
        except AssertionError as failure:
            raise AssertionError(f"{name}, {label}: {failure}") from None
