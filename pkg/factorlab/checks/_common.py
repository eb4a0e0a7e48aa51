"""Shared pieces of the answer checks."""

from __future__ import annotations

import numpy as np

from .._backend import to_numpy

__all__ = ["ExerciseCheckError", "answer_array", "call_student", "placeholder", "require"]


class ExerciseCheckError(AssertionError):
    """Raised by a check when an exercise answer is wrong; the message says how to fix it."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ExerciseCheckError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseCheckError(message)


def placeholder(name, value) -> None:
    """Fail when ``value`` is still the exercise's ``...`` (or ``None``)."""
    require(value is not None and not isinstance(value, type(Ellipsis)),
            f"{name} is still a placeholder (...): fill in the exercise first.")


def answer_array(name, value, shape, what: str | None = None, nonfinite: str | None = None):
    """Return a student's answer as a NumPy array, after checking it is filled in, has
    ``shape`` and is finite.

    ``what`` says what the array is and how its shape comes about (for example "neurons x
    rank: one row per feature"); ``nonfinite`` is the hint when it holds NaN or inf.
    """
    placeholder(name, value)
    arr = np.asarray(to_numpy(value))
    described = f" ({what})" if what else ""
    require(arr.shape == tuple(shape),
            f"{name} should have shape {tuple(shape)}{described}, got {arr.shape}.")
    require(np.issubdtype(arr.dtype, np.number) or arr.dtype == bool,
            f"{name} should hold numbers, got {arr.dtype}.")
    require(bool(np.isfinite(arr).all()),
            f"{name} contains NaN or inf" + (f": {nonfinite}" if nonfinite else "."))
    return arr


def call_student(func, *args, name: str = "your function", hint: str = ""):
    """Call a student's function on the check's own inputs.

    ``NotImplementedError`` (a blank not yet filled in) passes through; any other exception
    becomes an :class:`ExerciseCheckError` that says which call failed, plus ``hint``.
    """
    require(callable(func), f"Pass {name} itself (the function), not its result.")
    try:
        return func(*args)
    except NotImplementedError:
        raise
    except ExerciseCheckError:
        raise
    except Exception as exc:  # a student's bug: say where it happened
        shapes = ", ".join(str(np.shape(a)) if hasattr(a, "shape") else type(a).__name__
                           for a in args)
        raise ExerciseCheckError(f"Calling {name} on the check's own inputs (shapes {shapes}) "
                                 f"failed with {type(exc).__name__}: {exc}. {hint}".strip()
                                 ) from exc
