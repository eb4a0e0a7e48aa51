"""The estimator base of every factorlab model, and the mixin that makes a torch module one.

Every model follows scikit-learn's protocol, so that ``clone``, ``Pipeline``,
``cross_val_score`` and ``GridSearchCV`` work on it:

- hyperparameters are keyword arguments of ``__init__``, stored untouched under the same name
  (no validation and no work in ``__init__``); ``get_params``/``set_params`` come from
  :class:`sklearn.base.BaseEstimator`;
- ``fit(X, y=None, *, mask=None)`` returns ``self``; ``y`` is ignored (it is there so that a
  model can sit in a supervised ``Pipeline``) and ``mask`` (True = observed) is keyword-only;
- learned attributes end in ``_``; ``n_features_in_`` is set by ``fit`` and checked by
  ``transform``; using a model before ``fit`` raises :class:`~sklearn.exceptions.NotFittedError`;
- NumPy in gives NumPy out, a torch tensor in gives a tensor out on its device.

**Dtype policy.** Classical models (matrix, tensor, robust PCA solvers, the sparse VAR) return
learned arrays and outputs in the input's floating dtype: float32 stays float32, float64 stays
float64, anything else (integers, booleans) becomes float64. They may compute internally in
float64 for accuracy. Torch modules (:class:`ModuleEstimator`) compute and return in their own
dtype, the ``dtype`` given at construction or set later by ``.to()``, as any ``nn.Module`` does.

**Saving.** :meth:`Estimator.save` writes an ``.npz`` file (hyperparameters as JSON, learned
arrays as arrays; no pickle). :meth:`ModuleEstimator.save` writes a ``torch.save`` file of the
hyperparameters, the ``state_dict`` and the learned attributes, read back with
``weights_only=True``. Both ``load`` methods check the class and the format version, accept only
learned attribute names (ending in ``_``), so a file cannot shadow a method, and check the loaded
hyperparameters (:func:`check_loaded_params`) and learned shapes before returning the model.
"""

from __future__ import annotations

import json
import numbers
import pathlib

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.base import TransformerMixin as _SklearnTransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._backend import check_random_state, resolve_device, to_numpy
from ._validate import (check_array, check_int, check_magnitude, check_nonnegative_number,
                        check_positive)

__all__ = ["Estimator", "ModuleEstimator", "TransformerMixin", "NotFittedError", "resolve_dtype",
           "result_dtype", "cast_like_input_dtype"]


def result_dtype(X):
    """The floating dtype results take for input ``X``: float32 stays, the rest is float64."""
    dt = X.dtype if isinstance(X, torch.Tensor) else getattr(np.asarray(X), "dtype", None)
    return dt if dt in (np.float32, torch.float32) else (
        torch.float64 if isinstance(X, torch.Tensor) else np.float64)


def cast_like_input_dtype(a, dtype):
    """``a`` (array or tensor) in ``dtype`` as given by :func:`result_dtype`."""
    if isinstance(a, torch.Tensor):
        return a.to(dtype if isinstance(dtype, torch.dtype) else
                    (torch.float32 if dtype == np.float32 else torch.float64))
    return np.asarray(a).astype(dtype, copy=False)


def _learned_attributes(obj) -> dict:
    """Public attributes set by ``fit`` (names ending in one ``_``)."""
    return {k: v for k, v in vars(obj).items()
            if k.endswith("_") and not k.startswith("_") and not k.endswith("__")}


#: Version of the saved-model layout; ``load`` refuses files from a newer factorlab.
MODEL_FORMAT = 1


def _check_format(path, version) -> None:
    if version is not None and int(version) > MODEL_FORMAT:
        raise ValueError(f"{path} was saved in model format {int(version)} by a newer factorlab; "
                         f"this version reads format {MODEL_FORMAT}. Upgrade factorlab to load it.")


def _check_sizes(value, name, minimum):
    if isinstance(value, (tuple, list)):   # a per-axis size such as CRsAE2d's filter_length
        return [check_int(v, name, minimum=minimum) for v in value]
    return check_int(value, name, minimum=minimum)


def _check_bool(value, name):
    # one flag, or one per mode (CP's nonneg=[True, False, True])
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or not all(isinstance(v, (bool, np.bool_)) for v in values):
        raise TypeError(f"{name} must be True or False (or one per mode), got {value!r}.")


def _check_str(value, name):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}.")


# What every hyperparameter of these names must be, whichever model holds it. A saved file is
# data from outside, so ``load`` checks it (``fit`` checks the same values with the data's
# shape in hand). A value equal to the class default, or None where the default is None, is
# always accepted; strings are accepted where the default is a string (BEAR's rank="greedy").
_PARAM_RULES = {
    **dict.fromkeys(["rank", "n_components", "n_filters", "filter_length", "latent_dim",
                     "base_channels", "n_init", "n_iter", "order", "max_rank", "rank_step",
                     "window", "chunk_size", "batch_size", "n_pixels"],
                    lambda v, n: _check_sizes(v, n, 1)),
    **dict.fromkeys(["max_iter", "n_epochs", "nmf_max_iter", "n_steps", "background_rank",
                     "anneal_epochs"], lambda v, n: check_int(v, n, minimum=0)),
    **dict.fromkeys(["alpha", "tol", "loss_tol", "epsilon", "lam", "lam_nuclear", "prior_rate",
                     "rank_penalty", "prediction_weight", "variance_weight", "sigma", "tau",
                     "lr_lambda"], check_nonnegative_number),
    **dict.fromkeys(["lr", "mu", "memory_budget", "anneal_factor", "lr_decay"], check_positive),
    **dict.fromkeys(["center", "standardize", "nonneg", "nonnegative", "offset",
                     "early_stopping", "estimate_sigma", "shift_search", "backprop_encoder",
                     "progress"], _check_bool),
    **dict.fromkeys(["solver", "init", "method", "rule", "loss", "mode", "missing",
                     "lambda_update", "device"], _check_str),
    "random_state": lambda v, n: check_random_state(v),
}


def check_loaded_params(model, path) -> None:
    """Check the hyperparameters read from a saved file, with one clear error naming the file.

    Parameters
    ----------
    model : Estimator
        The model just constructed from the file's hyperparameters.
    path : path-like
        The file, named in the error.

    Examples
    --------
    >>> from factorlab import NMF
    >>> check_loaded_params(NMF(rank=-5), "model.npz")
    Traceback (most recent call last):
    ...
    ValueError: model.npz holds an invalid NMF: rank must be >= 1, got -5.
    """
    defaults = {k: v.default for k, v in model._get_param_names_and_defaults().items()}
    for name, value in model.get_params(deep=False).items():
        rule, default = _PARAM_RULES.get(name), defaults.get(name)
        if rule is None or value is None and default is None:
            continue
        if isinstance(value, str) and isinstance(default, str):
            continue
        try:
            if not (type(value) is type(default) and value == default):
                rule(value, name)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path} holds an invalid {type(model).__name__}: {exc}") from None


def _check_learned_name(path, cls, name) -> None:
    """A saved file may only restore learned attributes: never a method or a private setting."""
    if not name.endswith("_") or name.startswith("_") or hasattr(cls, name):
        raise ValueError(f"{path} is not a {cls.__name__} file written by save(): it holds an "
                         f"attribute {name!r}.")


class Estimator(BaseEstimator):
    """Base class of every factorlab estimator (scikit-learn's protocol, see the module doc).

    Subclasses set the class attribute ``_positive_only = True`` when the model needs
    nonnegative data (NMF and friends): scikit-learn's tags then say so, and
    :meth:`_validate_input` rejects negative entries with a message naming the model.
    """

    _positive_only = False
    #: Number of dimensions of the data accepted by ``fit`` (2 = samples x features).
    _input_ndim: int | tuple = 2

    @classmethod
    def _get_param_names_and_defaults(cls) -> dict:
        import inspect

        return {k: p for k, p in inspect.signature(cls.__init__).parameters.items()
                if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

    def _check_loaded(self, path) -> None:
        """Hook run by ``load`` once attributes are set: subclasses check learned shapes."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = bool(self._positive_only)
        ndims = (self._input_ndim,) if isinstance(self._input_ndim, int) else self._input_ndim
        tags.input_tags.two_d_array = 2 in ndims
        tags.input_tags.three_d_array = 3 in ndims
        return tags

    def _preserved_dtypes(self) -> list[str]:
        """The input dtypes that ``transform`` returns unchanged (the dtype policy above)."""
        return ["float64", "float32"]

    # --- input checks at the public boundary ---------------------------------------------
    def _compute_dtype(self):
        """The precision the model computes in (classical solvers: float64)."""
        return np.float64

    def _check_magnitude(self, arr, name) -> None:
        """Refuse data whose squares under- or overflow in the model's precision
        (:func:`factorlab._validate.check_magnitude`)."""
        check_magnitude(arr, name, self._compute_dtype(), owner=type(self).__name__)

    def _validate_input(self, X, name="X", *, reset, ndim=None, nonnegative=None, allow_nan=False):
        """Check ``X`` (see :func:`factorlab._validate.check_array`) and its feature count.

        With ``reset=True`` (in ``fit``) ``n_features_in_`` is stored; with ``reset=False``
        (``transform`` and friends) the number of features must match it.
        """
        positive = self._positive_only if nonnegative is None else nonnegative
        arr = check_array(X, name, ndim=self._input_ndim if ndim is None else ndim,
                          nonnegative=positive, allow_nan=allow_nan,
                          owner=type(self).__name__)
        self._check_magnitude(arr, name)
        n_features = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
        if reset:
            self.n_features_in_ = n_features
        else:
            check_is_fitted(self)
            expected = getattr(self, "n_features_in_", None)
            if expected is not None and n_features != expected:
                raise ValueError(f"{name} has {n_features} features, but {type(self).__name__} "
                                 f"is expecting {expected} features as input.")
        return arr

    def _check_fitted(self) -> None:
        check_is_fitted(self)

    # --- persistence --------------------------------------------------------------------
    def save(self, path) -> pathlib.Path:
        """Save hyperparameters and learned attributes to an ``.npz`` file (no pickle).

        Learned arrays are stored as NumPy arrays (lists of arrays and JSON-able values such
        as dicts are kept too), so :meth:`load` returns NumPy attributes. Returns the path
        written (``.npz`` is appended when missing, as NumPy does).
        """
        self._check_fitted()
        params = self.get_params(deep=False)
        try:
            params_json = json.dumps(params)
        except TypeError as exc:
            raise TypeError(f"Cannot save {type(self).__name__}: a hyperparameter is not a plain "
                            f"number/string/list ({params}). Pass random_state as an int to "
                            "save the model.") from exc
        arrays, extra = {}, {}
        for name, value in _learned_attributes(self).items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)) and value and all(
                    isinstance(v, (np.ndarray, torch.Tensor)) for v in value):
                for i, v in enumerate(value):
                    arrays[f"list__{name}__{i}"] = to_numpy(v)
            elif isinstance(value, (np.ndarray, torch.Tensor, numbers.Number, np.generic)):
                arrays[f"attr__{name}"] = to_numpy(value)
            else:
                try:
                    extra[name] = json.loads(json.dumps(value))
                except TypeError:
                    continue  # fitted sub-objects are refitted, not saved
        path = pathlib.Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        np.savez(path, __class__=np.array(type(self).__name__), __params__=np.array(params_json),
                 __json__=np.array(json.dumps(extra)), __format__=np.array(MODEL_FORMAT), **arrays)
        return path

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` of this class.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from factorlab import PCA
        >>> X = np.random.default_rng(0).standard_normal((20, 6))
        >>> model = PCA(rank=2, random_state=0).fit(X)
        >>> path = model.save(os.path.join(tempfile.mkdtemp(), "pca"))
        >>> bool(np.allclose(PCA.load(path).V_, model.V_))
        True
        """
        path = pathlib.Path(path)
        if not path.exists() and path.with_name(path.name + ".npz").exists():
            path = path.with_name(path.name + ".npz")
        try:
            data = np.load(path, allow_pickle=False)
            if not hasattr(data, "files") or "__class__" not in data.files:
                raise ValueError("no __class__ entry")
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{path} is not a {cls.__name__} file written by save() "
                             f"({exc}).") from exc
        with data:
            name = str(data["__class__"])
            if name != cls.__name__:
                raise ValueError(f"{path} holds a {name}, not a {cls.__name__}; use "
                                 f"{name}.load(path).")
            _check_format(path, data["__format__"] if "__format__" in data.files else None)
            try:
                params = json.loads(str(data["__params__"]))
                model = cls(**params)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path} is not a {cls.__name__} file written by save(): its "
                                 f"hyperparameters do not fit the class ({exc}).") from None
            check_loaded_params(model, path)
            attrs = dict(json.loads(str(data["__json__"]))) if "__json__" in data.files else {}
            lists = {}
            for key in data.files:
                value = data[key]
                if key.startswith("attr__"):
                    attrs[key[len("attr__"):]] = value.item() if value.ndim == 0 else value
                elif key.startswith("list__"):
                    attr, index = key[len("list__"):].rsplit("__", 1)
                    lists.setdefault(attr, {})[int(index)] = value
            attrs.update({k: [v[i] for i in sorted(v)] for k, v in lists.items()})
        for attr, value in attrs.items():
            _check_learned_name(path, cls, attr)
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, np.ndarray) and v.dtype.kind == "f" and not np.isfinite(v).all():
                    raise ValueError(f"{path}: the learned {attr} holds NaN or inf; the file is "
                                     "damaged or was not written by a successful fit.")
            setattr(model, attr, value)
        model._check_loaded(path)
        return model


class TransformerMixin(_SklearnTransformerMixin):
    """scikit-learn's ``TransformerMixin`` with factorlab's dtype policy in the tags.

    (scikit-learn's mixin creates the transformer tags after the base classes have run, so the
    policy is applied here, last.)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = self._preserved_dtypes()
        return tags


def resolve_dtype(dtype, default=torch.float32) -> torch.dtype:
    """Turn ``None``, ``"float32"``, ``"float64"`` or a floating ``torch.dtype`` into a dtype.

    Examples
    --------
    >>> resolve_dtype("float64")
    torch.float64
    """
    if dtype is None:
        return default
    resolved = {"float32": torch.float32, "float64": torch.float64}.get(dtype, dtype) \
        if isinstance(dtype, str) else dtype
    if resolved not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be 'float32', 'float64', torch.float32 or torch.float64, "
                         f"got {dtype!r}.")
    return resolved


class ModuleEstimator(Estimator, nn.Module):
    """Base of the models that are torch modules (BEAR, CRsAE, the U-Net, the VAR autoencoder).

    They are ``nn.Module`` s first: parameters are created once, at construction or lazily
    (``nn.UninitializedParameter``) at the first ``fit``, and ``fit`` updates them in place, so an
    outer optimizer that holds them keeps working; ``fit`` trains where the parameters are, so
    ``model.to("cuda")`` (or ``.double()``) is respected; the data are moved to the parameters'
    device and dtype. They are scikit-learn estimators too (``get_params``, ``clone``).

    A subclass calls ``super().__init__()`` before storing its hyperparameters, creates its
    parameters and submodules with ``device=self._init_device()`` and
    ``dtype=self._init_dtype()``, and implements ``reset_parameters()``.
    """

    def __init__(self):
        nn.Module.__init__(self)

    # scikit-learn's repr and state handling rather than nn.Module's
    __repr__ = BaseEstimator.__repr__

    def __setstate__(self, state):
        nn.Module.__setstate__(self, state)

    def _init_device(self) -> torch.device:
        """The device for parameters made in ``__init__`` or ``set_params``, which must not
        raise (scikit-learn's protocol): a bad ``device`` gives the CPU here, and ``fit``
        reports it."""
        try:
            return resolve_device(getattr(self, "device", "auto"))
        except (ValueError, TypeError, RuntimeError):
            return torch.device("cpu")

    def _compute_dtype(self):
        # a module computes in its parameters' dtype (float32 unless set otherwise)
        return np.float64 if self._init_dtype() == torch.float64 else np.float32

    def _init_dtype(self) -> torch.dtype:
        """The dtype for parameters made in ``__init__``; a bad ``dtype`` gives float32 here,
        and ``fit`` reports it."""
        try:
            return resolve_dtype(getattr(self, "dtype", None))
        except (ValueError, TypeError):
            return torch.float32

    def _preserved_dtypes(self) -> list[str]:
        # a torch module computes in its own dtype, whatever the input's
        return [str(self.param_dtype).replace("torch.", "")]

    def set_params(self, **params):
        """Set hyperparameters; a new ``device`` or ``dtype`` moves the parameters there, as
        ``.to()`` would (so ``clone`` + ``set_params`` in a grid search keeps its promise)."""
        super().set_params(**params)
        if "device" in params or "dtype" in params:
            self.to(device=self._init_device(), dtype=self._init_dtype())
        return self

    @property
    def param_device(self) -> torch.device:
        """The device of the module's parameters (where ``fit`` trains)."""
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return self._init_device()

    @property
    def param_dtype(self) -> torch.dtype:
        """The floating dtype of the module's parameters."""
        for t in self.parameters():
            if t.is_floating_point():
                return t.dtype
        return self._init_dtype()

    def _as_module_input(self, X) -> torch.Tensor:
        """``X`` as a tensor on the parameters' device and dtype, detached from any graph."""
        if isinstance(X, torch.Tensor):
            t = X
        else:
            arr = np.ascontiguousarray(X)
            # torch cannot share memory with a read-only (memory-mapped) array: copy it
            t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
        return t.detach().to(device=self.param_device, dtype=self.param_dtype)

    @staticmethod
    def _set_parameter(param: nn.Parameter, value: torch.Tensor) -> None:
        """Give ``param`` the value (and, if it differs, the shape) of ``value``, keeping the
        same Parameter object; an uninitialised (lazy) parameter is materialised first."""
        with torch.no_grad():
            if isinstance(param, nn.parameter.UninitializedTensorMixin):   # parameter or buffer
                param.materialize(tuple(value.shape))
            if tuple(param.shape) != tuple(value.shape):
                param.data = value.detach().to(device=param.device, dtype=param.dtype).clone()
            else:
                param.copy_(value)

    def reset_parameters(self) -> None:  # pragma: no cover - each module defines its own
        raise NotImplementedError

    # --- persistence --------------------------------------------------------------------
    def save(self, path) -> pathlib.Path:
        """Save hyperparameters, ``state_dict`` and learned attributes with ``torch.save``.

        The file holds only tensors, numbers, strings, lists and dicts, so :meth:`load` reads
        it with ``weights_only=True``.
        """
        self._check_fitted()
        params = {k: (str(v).replace("torch.", "") if isinstance(v, torch.dtype) else
                      v.item() if isinstance(v, np.generic) else
                      v.tolist() if isinstance(v, np.ndarray) else v)   # weights_only-safe
                  for k, v in self.get_params(deep=False).items()}
        learned, from_numpy = {}, []
        for name, value in _learned_attributes(self).items():
            if isinstance(value, np.ndarray):
                from_numpy.append(name)
                learned[name] = torch.from_numpy(np.array(value))
            elif isinstance(value, torch.Tensor):
                learned[name] = value.detach().cpu()
            elif isinstance(value, (numbers.Number, str, list, tuple, dict, type(None))):
                learned[name] = value
            elif isinstance(value, np.generic):
                learned[name] = value.item()
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        path = pathlib.Path(path)
        torch.save({"class": type(self).__name__, "format": MODEL_FORMAT, "params": params,
                    "state_dict": state, "learned": learned, "numpy": from_numpy}, path)
        return path

    @classmethod
    def load(cls, path, map_location=None):
        """Load a model written by :meth:`save` (safe: ``weights_only=True``).

        ``map_location`` (``"cpu"``, ``"cuda"``...) says where the parameters go; default the
        ``device`` the model was saved with, or the CPU where that is not available.
        """
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:   # garbage, truncated or pickled-object files
            # (torch's own message suggests weights_only=False, which would run the file's code)
            raise ValueError(f"{path} is not a {cls.__name__} file written by save() "
                             f"({type(exc).__name__}).") from None
        if not isinstance(blob, dict) or blob.get("class") != cls.__name__:
            found = blob.get("class") if isinstance(blob, dict) else type(blob).__name__
            raise ValueError(f"{path} holds a {found}, not a {cls.__name__} saved by save().")
        _check_format(path, blob.get("format"))
        missing = {"params", "state_dict", "learned"} - set(blob)
        if missing:
            raise ValueError(f"{path} is not a complete {cls.__name__} file: it lacks "
                             f"{sorted(missing)}.")
        params = dict(blob["params"])
        if map_location is not None and "device" in params:
            params["device"] = str(map_location)
        elif params.get("device") not in (None, "auto", "cpu") and not torch.cuda.is_available():
            params["device"] = "cpu"
        try:
            model = cls(**params)
        except TypeError as exc:
            raise ValueError(f"{path}: its hyperparameters do not fit {cls.__name__} "
                             f"({exc}).") from None
        check_loaded_params(model, path)
        # a model moved by .double() after construction is stored in float64: load it so
        floating = {v.dtype for v in blob["state_dict"].values() if v.is_floating_point()}
        if len(floating) == 1:
            model.to(dtype=floating.pop())
        # lazy (uninitialised) parameters and buffers take their shapes from the file
        own = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        for key, value in blob["state_dict"].items():
            if isinstance(own.get(key), nn.parameter.UninitializedTensorMixin):
                own[key].materialize(tuple(value.shape))
        try:
            model.load_state_dict(blob["state_dict"])
        except RuntimeError as exc:   # names or shapes that the hyperparameters do not give
            first = str(exc).strip().splitlines()
            raise ValueError(f"{path}: its weights do not match its hyperparameters "
                             f"({first[-1].strip() if first else exc}).") from None
        for name, value in blob["learned"].items():
            _check_learned_name(path, cls, name)
            if name in blob.get("numpy", []) and isinstance(value, torch.Tensor):
                value = value.numpy()
            object.__setattr__(model, name, value)
        model._check_loaded(path)
        return model
