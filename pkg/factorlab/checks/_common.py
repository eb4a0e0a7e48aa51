"""Shared pieces of the answer checks."""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy

__all__ = ["ExerciseCheckError", "require", "answer_array"]


class ExerciseCheckError(AssertionError):
    """Raised by a check when an exercise answer is wrong; the message says how to fix it."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ExerciseCheckError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseCheckError(message)


def answer_array(name, value, shape):
    """Return a student's answer as a NumPy array, after checking it is filled in, has
    ``shape`` and is finite."""
    require(value is not None and not isinstance(value, type(Ellipsis)),
            f"{name} is still a placeholder (...): fill in the exercise first.")
    arr = to_numpy(value)
    require(arr.shape == shape, f"{name} should have shape {shape} (rows x rank), got {arr.shape}. "
            "Remember the convention X ≈ U @ V.T.")
    require(bool(np.isfinite(arr).all()), f"{name} contains NaN or inf: check the division by "
            "the Gram matrix (use np.linalg.solve rather than an explicit inverse).")
    return arr
