"""factorlab: matrix and tensor factorization for neuroscience data.

Everything public is re-exported here; submodules whose names start with an underscore are
private. The dependency runs one way: data -> models -> assessment -> plots and widgets.

Examples
--------
>>> import factorlab as fl
>>> fl.__version__
'0.1.0'
"""

__version__ = "0.1.0"

from . import checks, data, prox  # noqa: E402
from ._backend import resolve_device, seed_everything  # noqa: E402
from .prox import soft_threshold, svt  # noqa: E402
from .matrix import *  # noqa: E402,F401,F403
from .tensor import *  # noqa: E402,F401,F403
from .assess import *  # noqa: E402,F401,F403
from .robust import *  # noqa: E402,F401,F403
from .deep import *  # noqa: E402,F401,F403
from . import matrix, tensor, assess, robust, deep  # noqa: E402

__all__ = (
    ["__version__", "checks", "data", "prox", "resolve_device", "seed_everything",
     "soft_threshold", "svt"]
    + matrix.__all__ + tensor.__all__ + assess.__all__ + robust.__all__ + deep.__all__
)


def __getattr__(name):
    # plot and widgets import matplotlib/ipywidgets; load them only when asked for.
    if name in ("plot", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'factorlab' has no attribute {name!r}")
