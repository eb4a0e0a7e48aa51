"""Answer checks for the workshop exercises.

Each check prints a short confirmation when the answer is right and raises
:class:`ExerciseCheckError` (an ``AssertionError``) with a hint when it is not, so that an
exercise notebook stops at the first wrong answer with advice rather than a bare traceback.
One module per exercise topic; this file only re-exports them.
"""

from ._common import ExerciseCheckError
from .warmup import check_als_factors

__all__ = ["ExerciseCheckError", "check_als_factors"]
