"""factorlab: matrix and tensor factorization for neuroscience data.

Everything public is re-exported here, grouped by family; submodules whose names start with an
underscore are private. Dependencies run one way:
``_backend/_validate -> base, io, _linalg, prox -> families (matrix, tensor, robust, csc, var)
-> assess, metrics -> plot, widgets, checks``; ``data`` (the simulators) and ``datasets`` (bundled real
recordings) depend only on the bottom layer.

Examples
--------
>>> import factorlab as fl
>>> fl.__version__
'0.1.0'
"""

__version__ = "0.1.0"

from . import checks, data, datasets, io, prox  # noqa: E402
from ._backend import resolve_device, seed_everything  # noqa: E402
from .io import MovieSource, NpyWriter, open_movie, save_movie  # noqa: E402
from .prox import soft_threshold, svt  # noqa: E402
from .matrix import *  # noqa: E402,F401,F403
from .tensor import *  # noqa: E402,F401,F403
from .robust import *  # noqa: E402,F401,F403
from .csc import *  # noqa: E402,F401,F403
from .var import *  # noqa: E402,F401,F403
from .assess import *  # noqa: E402,F401,F403
from .metrics import *  # noqa: E402,F401,F403
from . import matrix, tensor, robust, csc, var, assess, metrics  # noqa: E402

__all__ = (
    ["__version__", "checks", "data", "datasets", "io", "prox", "resolve_device", "seed_everything",
     "soft_threshold", "svt", "MovieSource", "NpyWriter", "open_movie", "save_movie"]
    + matrix.__all__ + tensor.__all__ + robust.__all__ + csc.__all__ + var.__all__
    + assess.__all__ + metrics.__all__
)


def __getattr__(name):
    # plot and widgets import matplotlib/ipywidgets; load them only when asked for.
    if name in ("plot", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'factorlab' has no attribute {name!r}")
