"""Input checks shared by every public function.

Every check raises ``ValueError`` or ``TypeError`` at the public boundary with a message that
names the argument, says what was received and what is allowed, so that users never see a bare
traceback from deep inside NumPy or torch. None of them modifies its input.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse
import torch

from ._backend import to_numpy

__all__ = [
    "check_array",
    "check_sparse",
    "check_sparse_mask",
    "check_mask",
    "check_rank",
    "check_positive",
    "check_nonnegative_number",
    "check_fraction",
    "check_option",
    "check_int",
    "hide_unobserved",
]


def _describe(x) -> str:
    """A short description of ``x`` for error messages."""
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def check_array(
    X,
    name: str = "X",
    ndim: int | tuple[int, ...] = 2,
    nonnegative: bool = False,
    allow_torch: bool = True,
    dtype=None,
    allow_nan: bool = False,
    owner: str | None = None,
    mask_hint: bool = True,
):
    """Validate a data array and return it as a floating NumPy array or torch tensor.

    Parameters
    ----------
    X : array_like or torch.Tensor
        The data. Lists and integer arrays are converted to float64.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int
        Allowed number of dimensions.
    nonnegative : bool
        Reject negative entries (for NMF and other nonnegative models).
    allow_torch : bool
        Accept a torch tensor (returned as a tensor on its own device).
    dtype : numpy dtype, optional
        Convert NumPy input to this dtype (default float64 for non-float input; float32 and
        float64 input keeps its dtype).
    allow_nan : bool
        Accept NaN and inf (for entries a mask hides).
    owner : str, optional
        The model the data are passed to, named in the message about negative values.
    mask_hint : bool
        Suggest ``mask=...`` in the message about NaN (for functions that take a mask).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        A floating array; a copy whenever conversion was needed, never a modified input.

    Raises
    ------
    TypeError
        If ``X`` is not array-like, or is a tensor where only NumPy is allowed.
    ValueError
        On a sparse matrix, complex data, the wrong number of dimensions, an empty array, NaN
        or inf, or negative entries when ``nonnegative`` is set.

    Examples
    --------
    >>> import numpy as np
    >>> check_array(np.ones((3, 2))).shape
    (3, 2)
    >>> check_array(np.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: X must be a 2-D array, got ndarray of shape (3,) and dtype float64. Reshape your data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single sample.
    """
    allowed_ndim = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if isinstance(X, torch.Tensor):
        if not allow_torch:
            raise TypeError(f"{name} must be a NumPy array here, got a torch tensor; "
                            f"use {name}.cpu().numpy().")
        if not (X.is_floating_point() or X.dtype in (torch.int32, torch.int64, torch.bool)):
            raise TypeError(f"{name} must hold real numbers, got {_describe(X)}.")
        # a floating tensor comes back as it is, still in its autograd graph (the lasso and
        # the VAR autoencoder differentiate through their data); only the checks detach
        arr = X if X.is_floating_point() else X.to(torch.get_default_dtype())
        values = arr.detach()
        finite = bool(torch.isfinite(values).all()) if arr.numel() and not allow_nan else True
        negative = bool((values < 0).any()) if arr.numel() else False
    else:
        if scipy.sparse.issparse(X):
            raise TypeError(f"{name} is a sparse matrix, but this model needs dense data; pass "
                            f"{name}.toarray() if it fits in memory.")
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be array-like, got {_describe(X)}.") from exc
        if np.iscomplexobj(arr):
            raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; pass "
                             "real data (the real part, or magnitudes).")
        if arr.dtype == object:
            arr = arr.astype(np.float64)  # numbers stored as objects; anything else raises
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must hold real numbers, got {_describe(X)}.")
        target = dtype or (arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64)
        arr = arr.astype(target, copy=False)
        finite = True if allow_nan else bool(np.isfinite(arr).all())
        negative = bool((arr < 0).any()) if arr.size else False
    if arr.ndim not in allowed_ndim:
        want = " or ".join(f"{d}-D" for d in allowed_ndim)
        hint = ""
        if arr.ndim < min(allowed_ndim):
            hint = (f" Reshape your data: {name}.reshape(-1, 1) for a single feature, "
                    f"{name}.reshape(1, -1) for a single sample.")
        raise ValueError(f"{name} must be a {want} array, got {_describe(arr)}.{hint}")
    if any(s == 0 for s in arr.shape):
        what = "0 sample(s)" if arr.shape[0] == 0 else "0 feature(s)"
        raise ValueError(f"{name} is empty: found {what} (shape={tuple(arr.shape)}) while a "
                         "minimum of 1 is required along every axis.")
    if not finite:
        hint = (", or pass mask=... (True = observed) to fit only the observed entries"
                if mask_hint else "")
        raise ValueError(f"{name} contains NaN or inf. Remove or impute them first{hint}.")
    check_magnitude(arr, name, owner=owner)
    if nonnegative and negative:
        low = float(np.nanmin(to_numpy(arr)))
        where = f" passed to {owner}" if owner else ""
        raise ValueError(f"Negative values in data{where}: {name} must be nonnegative for this "
                         f"model, but its minimum is {low:.3g}. Shift or clip the data, or use "
                         "a model that allows signs (PCA, semi-NMF).")
    return arr


def check_sparse(X, name: str = "X", nonnegative: bool = False, owner: str | None = None):
    """Validate a scipy.sparse matrix and return it as canonical CSR, never densified.

    For the models that take sparse data (NMF, PCA). The stored values must be finite (and
    nonnegative when ``nonnegative`` is set); float32 stays float32, anything else becomes
    float64. Duplicate entries are summed, as scipy does when converting; the input itself is
    never modified (a copy whenever conversion or summing was needed).

    Examples
    --------
    >>> import scipy.sparse
    >>> check_sparse(scipy.sparse.eye(3, format="coo")).format
    'csr'
    """
    if not scipy.sparse.issparse(X):
        raise TypeError(f"{name} must be a scipy.sparse matrix here, got {_describe(X)}.")
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix, got shape {X.shape}.")
    if any(s == 0 for s in X.shape):
        what = "0 sample(s)" if X.shape[0] == 0 else "0 feature(s)"
        raise ValueError(f"{name} is empty: found {what} (shape={tuple(X.shape)}) while a "
                         "minimum of 1 is required along every axis.")
    if np.iscomplexobj(np.empty(0, dtype=X.dtype)):
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}.")
    target = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    out = X.tocsr(copy=False)   # any format (dok, lil, ...) to CSR
    if out is X or out.dtype != target:
        out = out.astype(target, copy=True)
    if not out.has_canonical_format:
        out = out.copy()
        out.sum_duplicates()
    if not np.isfinite(out.data).all():
        raise ValueError(f"{name} contains NaN or inf among its stored entries; remove or "
                         "impute them first.")
    check_magnitude(out.data, name, owner=owner)
    if nonnegative and out.nnz and float(out.data.min()) < 0:
        where = f" passed to {owner}" if owner else ""
        raise ValueError(f"Negative values in data{where}: {name} must be nonnegative for this "
                         f"model, but its minimum is {float(out.data.min()):.3g}. Shift or clip "
                         "the data, or use a model that allows signs (PCA, semi-NMF).")
    return out


def check_sparse_mask(mask, X) -> bool:
    """Whether ``mask`` is ``"stored"``: the stored entries of a scipy.sparse ``X`` are the
    observed ones, all others missing. ``None`` and boolean arrays give False (a dense ``X``
    then takes its array mask as usual); the only mask a sparse ``X`` takes is ``"stored"``.

    Examples
    --------
    >>> import scipy.sparse
    >>> X = scipy.sparse.eye(2, format="csr")
    >>> check_sparse_mask("stored", X), check_sparse_mask(None, X)
    (True, False)
    """
    stored = isinstance(mask, str) and mask == "stored"
    if scipy.sparse.issparse(X):
        if mask is not None and not stored:
            raise ValueError("With sparse X the only mask is mask='stored' (the stored entries "
                             "are the observed ones, all others missing): a sparse matrix says "
                             "which entries are zero, not which are missing. For another mask "
                             "pass the dense X.toarray() with it.")
    elif stored:
        raise ValueError("mask='stored' needs a scipy.sparse X (its stored entries are the "
                         "observed ones); for dense X pass a boolean mask.")
    return stored


def check_mask(mask, shape: tuple[int, ...], name: str = "mask"):
    """Validate a boolean observation mask (True = observed) of the given shape.

    Returns
    -------
    numpy.ndarray or torch.Tensor or None
        A boolean array (``None`` passes through, meaning everything is observed).

    Examples
    --------
    >>> import numpy as np
    >>> check_mask(np.ones((2, 3)), (2, 3)).dtype
    dtype('bool')
    """
    if mask is None:
        return None
    if isinstance(mask, torch.Tensor):
        out = mask.bool()
    else:
        out = np.asarray(mask)
        if out.dtype != bool:
            if not np.issubdtype(out.dtype, np.number) or not np.isin(out, (0, 1)).all():
                raise TypeError(f"{name} must be boolean (True = observed), got {_describe(mask)}.")
            out = out.astype(bool)
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{name} must have the same shape as the data {tuple(shape)}, "
                         f"got {tuple(out.shape)}.")
    if not bool(out.any()):
        raise ValueError(f"{name} marks no entry as observed (True = observed).")
    return out


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Validate an integer in ``[minimum, maximum]`` and return it as ``int``.

    Examples
    --------
    >>> check_int(3, "max_iter", minimum=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}.")
    return value


def check_rank(rank, shape: tuple[int, ...], name: str = "rank") -> int:
    """Validate a rank: an integer from 1 to the smallest dimension of the data.

    Examples
    --------
    >>> check_rank(2, (10, 5))
    2
    >>> check_rank(6, (10, 5))
    Traceback (most recent call last):
    ...
    ValueError: rank must be between 1 and min(shape) = 5 for data of shape (10, 5) (n_samples = 10, n_features = 5), got 6.
    """
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(rank)}.")
    limit = min(shape)
    if not 1 <= rank <= limit:
        sizes = (f" (n_samples = {shape[0]}, n_features = {shape[1]})" if len(shape) == 2
                 else "")
        raise ValueError(f"{name} must be between 1 and min(shape) = {limit} for data of "
                         f"shape {tuple(shape)}{sizes}, got {rank}.")
    return int(rank)


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


def check_positive(value, name: str) -> float:
    """Validate a finite number > 0.

    Examples
    --------
    >>> check_positive(1e-3, "tol")
    0.001
    """
    value = _check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}.")
    return value


def check_nonnegative_number(value, name: str) -> float:
    """Validate a finite number >= 0 (for instance a penalty weight).

    Examples
    --------
    >>> check_nonnegative_number(0, "alpha")
    0.0
    """
    value = _check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}.")
    return value


def check_fraction(value, name: str) -> float:
    """Validate a number strictly between 0 and 1 (a hold-out fraction, say).

    Examples
    --------
    >>> check_fraction(0.1, "holdout")
    0.1
    """
    value = _check_real(value, name)
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}.")
    return value


def check_option(value, name: str, allowed) -> str:
    """Validate that ``value`` is one of ``allowed``.

    Examples
    --------
    >>> check_option("hals", "solver", ("hals", "mu"))
    'hals'
    """
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")
    return value


def check_magnitude(arr, name: str = "X", dtype=np.float64, owner: str | None = None) -> None:
    """Refuse data whose squares under- or overflow in the precision ``dtype``.

    Sums of squares (losses, Gram matrices, norms) of entries beyond about ``sqrt(max)``
    overflow, and below ``sqrt(tiny)`` vanish: a fit would stop at once or return NaN while
    looking converged. Scaling by a constant is the user's one-line fix, and only the user
    knows which constant their units call for. NaN and inf are ignored here (other checks, or
    a mask, deal with them); all-zero data pass.

    Examples
    --------
    >>> import numpy as np
    >>> check_magnitude(np.ones(3) * 1e200)
    Traceback (most recent call last):
    ...
    ValueError: X's largest magnitude is 1e+200: factorlab computes in float64, where squares of such values overflow and the result would be meaningless. Rescale first, e.g. X / 1e+200 (then multiply what the model reconstructs by the same factor).
    """
    info = np.finfo(dtype)
    low, high = float(np.sqrt(info.tiny)), float(np.sqrt(info.max)) / 1e4
    if isinstance(arr, torch.Tensor):
        values = arr.detach()
        values = values[torch.isfinite(values)] if not bool(torch.isfinite(values).all()) \
            else values
        if values.numel() == 0:
            return
        peak = float(values.abs().max())
    else:
        values = np.asarray(arr)
        if values.size == 0:
            return
        if not np.isfinite(values).all():
            values = values[np.isfinite(values)]
            if values.size == 0:
                return
        # the extremes without an |x| copy of a large array
        peak = float(max(abs(values.max()), abs(values.min())))
    if 0 < peak < low or peak > high:
        raise ValueError(
            f"{name}'s largest magnitude is {peak:.3g}: {owner or 'factorlab'} computes in "
            f"{np.dtype(dtype).name}, where squares of such values "
            f"{'vanish' if peak < low else 'overflow'} and the result would be meaningless. "
            f"Rescale first, e.g. {name} / {peak:.3g} (then multiply what the model "
            "reconstructs by the same factor).")


def hide_unobserved(X, mask, name: str = "X", ndim=2, nonnegative: bool = False,
                    owner: str | None = None):
    """Validate data that come with a mask of observed entries (True = observed).

    What the mask hides is never used by a masked fit, so it may hold anything a user stores for
    "missing": NaN, inf, or (for nonnegative models) a negative sentinel such as -1. Those hidden
    entries are replaced by 0 in a copy (the input is never modified); observed entries must be
    finite (and nonnegative when ``nonnegative`` is set).

    Returns
    -------
    X, mask
        The checked data (a copy only where something was replaced) and the boolean mask.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, np.nan], [2.0, 3.0]])
    >>> M = ~np.isnan(X)
    >>> hide_unobserved(X, M)[0].tolist()
    [[1.0, 0.0], [2.0, 3.0]]
    """
    arr = check_array(X, name, ndim=ndim, allow_nan=True)
    m = check_mask(mask, tuple(arr.shape))
    if isinstance(arr, torch.Tensor):
        values = arr.detach()
        observed = torch.as_tensor(m if isinstance(m, torch.Tensor) else np.asarray(m),
                                   device=values.device)
        bad_value = ~torch.isfinite(values)
        negative = (values < 0) if nonnegative else torch.zeros_like(bad_value)
    else:
        values, observed = arr, np.asarray(m)
        bad_value = ~np.isfinite(values)
        negative = (values < 0) if nonnegative else np.zeros_like(bad_value)
    if bool((bad_value & observed).any()):
        raise ValueError(f"{name} contains NaN or inf at entries the mask marks as observed; "
                         "mark them False in mask (True = observed) or impute them.")
    if bool((negative & observed).any()):
        where = f" passed to {owner}" if owner else ""
        raise ValueError(f"Negative values in data{where}: {name} must be nonnegative at the "
                         "observed entries for this model.")
    hidden = (bad_value | negative) & ~observed
    if bool(hidden.any()):
        if isinstance(arr, torch.Tensor):
            arr = torch.where(hidden, torch.zeros_like(values), values)
        else:
            arr = np.where(hidden, 0.0, values).astype(values.dtype)
    return arr, m
