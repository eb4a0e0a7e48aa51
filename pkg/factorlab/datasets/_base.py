"""The result object every loader returns, and the reader of the bundled ``.npz`` files."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

import numpy as np

__all__ = ["Dataset"]


@dataclass(frozen=True, repr=False)
class Dataset:
    """A real recording shipped with factorlab, with what you need to use and cite it.

    Attributes
    ----------
    data : ndarray
        The main array; its shape and orientation are given in ``DESCR`` and ``dims``.
    dims : tuple of str
        What each axis of ``data`` indexes, e.g. ``("neuron", "frame")``.
    DESCR : str
        What was recorded, how, and how the shipped file was derived from its source.
    units : str
        Units of the values in ``data``.
    sampling_rate : float or None
        Samples per second along the time axis (``None`` when there is no time axis).
    source : str
        Where the data come from (package, file and version), and the paper to cite.
    licence : str
        The licence under which the source distributes the data, as stated by the source.
    labels : ndarray or None
        Integer label per sample (e.g. cell type), where the source provides labels.
    label_names : ndarray of str or None
        Name of each label value: ``label_names[labels[i]]``.
    feature_names : ndarray of str or None
        Name of each feature (gene, brain region, ...), where the source provides names.
    extra : mapping
        Further arrays that come with the recording (a song spectrogram, foreground masks...);
        each is also readable as an attribute, ``ds.song`` for ``ds.extra["song"]``.
    """

    data: np.ndarray
    dims: tuple
    DESCR: str
    units: str
    sampling_rate: float | None
    source: str
    licence: str
    labels: np.ndarray | None = None
    label_names: np.ndarray | None = None
    feature_names: np.ndarray | None = None
    extra: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def __getattr__(self, name):
        # only called when normal lookup fails: expose the extra arrays as attributes
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}; "
                             f"its extra arrays are {sorted(extra)}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.extra))

    def __repr__(self):
        rate = "" if self.sampling_rate is None else f", {self.sampling_rate:g} Hz"
        extra = f", extra={sorted(self.extra)}" if self.extra else ""
        return (f"Dataset({self.DESCR.splitlines()[0]!r}, data {self.data.dtype} "
                f"{'x'.join(map(str, self.data.shape))} ({', '.join(self.dims)}){rate}{extra})")


def read_npz(name: str) -> dict:
    """All arrays of the bundled file ``_data/<name>.npz``, read into memory."""
    path = resources.files(__package__) / "_data" / f"{name}.npz"
    with resources.as_file(path) as local, np.load(local, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
