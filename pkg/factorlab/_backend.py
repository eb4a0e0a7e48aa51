"""NumPy <-> torch conversion, device choice and seeding.

The heavy loops of factorlab run in torch so that ``device="cuda"`` works unchanged, while the
public functions follow "arrays in, same arrays out": NumPy in gives NumPy out, a tensor in gives
a tensor out on the tensor's own device.
"""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

__all__ = [
    "resolve_device",
    "to_torch",
    "like_input",
    "to_numpy",
    "check_random_state",
    "torch_generator",
    "seed_everything",
]


def resolve_device(device="auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got "
                         f"{device!r}.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available on this "
                         "machine; use device='auto' or 'cpu'.")
    return dev


_NUMPY_TO_TORCH = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def to_torch(X, device=None, dtype=None) -> torch.Tensor:
    """Return ``X`` as a torch tensor, without copying when nothing needs to change.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor
    device : str or torch.device, optional
        Target device; ``None`` keeps a tensor where it is and puts NumPy input on the CPU.
    dtype : torch.dtype, optional
        Target dtype; ``None`` keeps float32/float64 and maps everything else to float64.

    Examples
    --------
    >>> import numpy as np
    >>> to_torch(np.zeros((2, 2))).dtype
    torch.float64
    """
    if isinstance(X, torch.Tensor):
        t = X
    else:
        arr = np.asarray(X)
        if arr.dtype not in _NUMPY_TO_TORCH:
            arr = arr.astype(np.float64)
        arr = np.ascontiguousarray(arr)
        # torch cannot share memory with a read-only (memory-mapped) array: copy it
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    if dtype is None and not t.is_floating_point():
        dtype = torch.float64
    dev = None if device is None else resolve_device(device)
    return t.to(device=dev, dtype=dtype)


def like_input(result: torch.Tensor, reference):
    """Return ``result`` in the kind of container ``reference`` was.

    NumPy reference -> NumPy array; tensor reference -> tensor on the reference's device.

    Examples
    --------
    >>> import numpy as np, torch
    >>> type(like_input(torch.ones(2), np.ones(2))).__name__
    'ndarray'
    """
    if isinstance(reference, torch.Tensor):
        return result.to(reference.device)
    return to_numpy(result)


def to_numpy(x) -> np.ndarray:
    """Detach a tensor (from any device) to NumPy; pass NumPy arrays through.

    Examples
    --------
    >>> import torch
    >>> to_numpy(torch.ones(2, requires_grad=True)).tolist()
    [1.0, 1.0]
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def check_random_state(random_state) -> np.random.Generator:
    """Turn ``None``, an int, a ``Generator`` or a ``RandomState`` into a ``Generator``.

    The same integer always gives the same stream, so the same seed gives the same result.

    Examples
    --------
    >>> float(check_random_state(0).random()) == float(check_random_state(0).random())
    True
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        if isinstance(random_state, bool):
            raise TypeError("random_state must be None, an int or a numpy Generator, got a bool.")
        if random_state is not None and not 0 <= int(random_state) < 2**63:
            raise ValueError(f"random_state must be an int from 0 to 2**63 - 1, got "
                             f"{random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # scikit-learn's legacy generator: draw a seed from it, so that it advances as usual
        return np.random.default_rng(int(random_state.randint(0, 2**31 - 1)))
    raise TypeError("random_state must be None, an int, a numpy.random.Generator or a "
                    f"RandomState, got {type(random_state).__name__}.")


def torch_generator(random_state, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from ``random_state``.

    An integer seeds it directly; ``None`` or a NumPy generator draw a seed first.

    Examples
    --------
    >>> g = torch_generator(0)
    >>> torch.rand(1, generator=g).item() == torch.rand(1, generator=torch_generator(0)).item()
    True
    """
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).integers(2**63 - 1))
    gen = torch.Generator(device=resolve_device(device))
    gen.manual_seed(seed)
    return gen


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's global and torch's random generators (for notebooks).

    Library code never relies on global state; it takes ``random_state`` instead.

    Examples
    --------
    >>> seed_everything(0)
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
