"""Movie loaders and chunked writers for movies larger than memory.

:func:`open_movie` gives one interface, :class:`MovieSource`, over an in-memory array or tensor,
a ``.npy`` file (memory-mapped, nothing read until asked) or a TIFF stack (memory-mapped when
the file is uncompressed and contiguous, page by page otherwise). Frames are read in batches as
``(batch, pixels)`` float32 arrays, so a model that streams mini-batches never holds the movie.
:class:`NpyWriter` writes a ``.npy`` file chunk by chunk through a memory map.

Memory: a movie file streamed within the memory budget of a fit (BEAR's ``memory_budget``)
is only worth streaming if the budget holds, and with glibc's default adaptive mmap threshold
it does not: the freed batch buffers stay in the heap, fragmented, and the resident memory
grows to 2-5x the budget although about half of it is in use (``benchmarks/bear_memory.py``).
:meth:`MovieSource.hold_budget` therefore fixes glibc's mmap threshold at 1 MiB
(``mallopt(M_MMAP_THRESHOLD)``, once per process, Linux/glibc only) when the movie, read as
float32, is at least a quarter of the budget, so that every buffer of 1 MiB or more goes back
to the system when freed. The price is CPU time: fresh buffers are page-faulted in, which
makes a memory-bound low-rank step about 1.5-2x slower. Set ``FACTORLAB_KEEP_MALLOC=1`` to
keep glibc's default (faster, but the budget is then not held).
"""

from __future__ import annotations

import numbers
import os
import pathlib
import stat

import numpy as np
import torch

from ._validate import check_array

__all__ = ["MovieSource", "NpyWriter", "open_movie", "save_movie"]

_TIFF_SUFFIXES = (".tif", ".tiff")
_MMAP_THRESHOLD = 2**20
_malloc_tuned = False


def _return_large_buffers() -> None:
    """Fix glibc's mmap threshold (see the module docstring); a no-op elsewhere."""
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("FACTORLAB_KEEP_MALLOC"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
            _malloc_tuned = bool(libc.mallopt(-3, _MMAP_THRESHOLD))   # M_MMAP_THRESHOLD
    except (OSError, AttributeError):   # not glibc, or no C library to load
        pass


class MovieSource:
    """Frames of a movie, read in batches as ``(batch, pixels)`` float32 (float64 movies held in
    memory stay float64, so that a float64 fit is not rounded).

    Use :func:`open_movie` to build one.

    Attributes
    ----------
    n_frames : int
    frame_shape : tuple of int
        ``(height, width)``, or ``(pixels,)`` for a movie given as a frames x pixels matrix.
    n_pixels : int
    path : pathlib.Path or None
        The file the frames come from (``None`` in memory).
    """

    def __init__(self, data, frame_shape, path=None, reader=None):
        self._data = data            # array-like indexable by frame, or None with a reader
        self._reader = reader        # callable(indices) -> ndarray, for page-wise TIFFs
        self.n_frames = int(data.shape[0]) if data is not None else int(reader.n_frames)
        #: dtype of the stored frames (NumPy or torch), before conversion by :meth:`read`
        self.dtype = data.dtype if data is not None else np.dtype(reader.dtype)
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self.n_pixels = int(np.prod(self.frame_shape))
        self.path = path

    @property
    def shape(self) -> tuple[int, ...]:
        """``(n_frames, *frame_shape)``."""
        return (self.n_frames, *self.frame_shape)

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def read(self, indices, copy: bool = True) -> np.ndarray | torch.Tensor:
        """Frames ``indices`` (sorted ints or a slice) as a ``(len, pixels)`` float32 array
        (float64 for a float64 movie in memory).

        A torch source returns a tensor on its own device; everything else NumPy. With
        ``copy=False`` a slice of a float32 memory map comes back as a read-only view (no
        anonymous memory used); by default the result is always writable memory.
        """
        if self._reader is not None:
            block = self._reader(indices)
        else:
            block = self._data[indices]
        keep64 = self.in_memory and block.dtype in (np.float64, torch.float64)
        if isinstance(block, torch.Tensor):
            return block.reshape(block.shape[0], -1).to(torch.float64 if keep64 else torch.float32)
        block = np.asarray(block, dtype=np.float64 if keep64 else np.float32)
        block = block.reshape(-1, self.n_pixels)
        # a view of a read-only memmap: copy, so callers get memory they may hand to torch
        return block if block.flags.writeable or not copy else block.copy()

    def _out_itemsize(self) -> int:
        """Bytes per value of what :meth:`read` returns (float64 for a float64 movie in
        memory, float32 otherwise)."""
        keep64 = self.in_memory and self.dtype in (np.float64, torch.float64)
        return 8 if keep64 else 4

    def _is_integer(self) -> bool:
        """Integer or boolean frames: always finite, nothing to scan."""
        if isinstance(self.dtype, torch.dtype):
            return not (self.dtype.is_floating_point or self.dtype.is_complex)
        return bool(np.issubdtype(self.dtype, np.integer) or self.dtype == np.bool_)

    def chunk_frames(self, budget_bytes: float = 2**27, extra_bytes_per_value: float = 0) -> int:
        """How many frames fit in ``budget_bytes`` as returned by :meth:`read` (float32, or
        float64 for a float64 movie in memory; at least one frame).

        A TIFF read page by page also holds its pages in their stored dtype while they are
        converted, which is counted; ``extra_bytes_per_value`` adds what the caller itself
        allocates per value (for instance 1 for a boolean mask).
        """
        budget = _budget(budget_bytes)
        per_value = self._out_itemsize() + extra_bytes_per_value
        if self._reader is not None:
            per_value += np.dtype(self.dtype).itemsize
        return max(1, min(self.n_frames, int(budget // (per_value * self.n_pixels))))

    def chunks(self, chunk_size: int | None = None, copy: bool = True,
               budget_bytes: float = 2**27):
        """Yield ``(start, stop, frames)`` over the movie in order, ``chunk_size`` frames each
        (default: as many as fit in ``budget_bytes`` after conversion, see
        :meth:`chunk_frames`)."""
        chunk_size = chunk_size or self.chunk_frames(budget_bytes)
        for start in range(0, self.n_frames, chunk_size):
            stop = min(start + chunk_size, self.n_frames)
            yield start, stop, self.read(slice(start, stop), copy=copy)

    def hold_budget(self, budget_bytes: float) -> bool:
        """Prepare to stream a file within ``budget_bytes`` of working memory: when the movie
        read as float32 is at least a quarter of the budget (smaller movies stay within it
        even with glibc's heap retention, about 2-4x the working set), fix glibc's mmap
        threshold so that freed buffers are returned to the system (see the module
        docstring). Returns whether the threshold is (now) fixed; a no-op for a movie in
        memory, off glibc, or with ``FACTORLAB_KEEP_MALLOC`` set."""
        if self.in_memory or 4 * self.n_frames * self.n_pixels < _budget(budget_bytes) / 4:
            return _malloc_tuned
        _return_large_buffers()
        return _malloc_tuned

    def check_finite(self, chunk_size: int | None = None, budget_bytes: float = 2**27) -> None:
        """Raise ``ValueError`` naming the first frame with NaN or inf.

        Integer and boolean movies (camera formats such as uint16) are finite by
        construction and are not read at all. Floating-point movies are scanned in one pass,
        in chunks that fit ``budget_bytes`` in the dtype :meth:`read` returns, so that a
        value too large for float32 counts as inf, as it would in a fit.
        """
        if self._is_integer():
            return
        chunk_size = chunk_size or self.chunk_frames(budget_bytes, extra_bytes_per_value=1)
        for start, _, block in self.chunks(chunk_size, copy=False):
            if isinstance(block, torch.Tensor):
                ok = torch.isfinite(block).all(dim=1).cpu().numpy()
            else:
                ok = np.isfinite(block).all(axis=1)
            del block
            if not ok.all():
                bad = start + int(np.flatnonzero(~ok)[0])
                where = f" in {self.path}" if self.path else ""
                raise ValueError(f"The movie{where} contains NaN or inf (first at frame {bad}). "
                                 "Interpolate or drop those frames first.")


def _budget(budget_bytes) -> float:
    """A positive finite byte budget, or the default 128 MB for anything else (the caller
    reports bad settings with its own argument name)."""
    ok = (isinstance(budget_bytes, numbers.Real) and not isinstance(budget_bytes, bool)
          and np.isfinite(budget_bytes) and budget_bytes > 0)
    return float(budget_bytes) if ok else float(2**27)


class _TiffPages:
    """Page-wise random access to a TIFF whose frames are its pages (compressed files)."""

    def __init__(self, path, n_frames, dtype):
        import tifffile

        self.path, self.n_frames, self.dtype = path, n_frames, np.dtype(dtype)
        self._tiff = tifffile.TiffFile(path)

    def __call__(self, indices):
        if isinstance(indices, slice):
            indices = range(*indices.indices(self.n_frames))
        return np.stack([self._tiff.pages[int(i)].asarray() for i in indices])


def _not_a_movie(what, shape, dtype) -> ValueError:
    return ValueError(f"{what} is not a movie: expected frames x height x width (3-D) or "
                      f"frames x pixels (2-D) real numbers with at least 2 frames, got shape "
                      f"{tuple(shape)} and dtype {dtype}.")


def _check_movie_layout(what, shape, dtype):
    if len(shape) not in (2, 3) or shape[0] < 2 or any(s == 0 for s in shape):
        raise _not_a_movie(what, shape, dtype)
    if not (np.issubdtype(dtype, np.number) or dtype == bool) or np.issubdtype(dtype, np.complexfloating):
        raise _not_a_movie(what, shape, dtype)


def open_movie(movie) -> MovieSource:
    """Open a movie held in memory or in a ``.npy`` / TIFF file, without loading a file.

    Parameters
    ----------
    movie : ndarray, torch.Tensor, str or os.PathLike
        ``(frames, height, width)`` or ``(frames, pixels)``. A path to a ``.npy`` file is
        memory-mapped; a ``.tif``/``.tiff`` stack is memory-mapped when uncompressed and read
        page by page otherwise.

    Returns
    -------
    MovieSource

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ValueError
        If the file type is not supported or the array is not a movie.

    Examples
    --------
    >>> import numpy as np
    >>> src = open_movie(np.zeros((5, 4, 3)))
    >>> src.shape, src.read([0, 2]).shape
    ((5, 4, 3), (2, 12))
    """
    if isinstance(movie, (str, os.PathLike)):
        return _open_file(pathlib.Path(movie))
    if isinstance(movie, (np.ndarray, torch.Tensor)):
        _check_movie_layout("The array", movie.shape,
                            np.dtype(str(movie.dtype).replace("torch.", "")))
        data = movie
    else:
        data = check_array(movie, name="movie", ndim=(2, 3))
    return MovieSource(data, data.shape[1:])


_NPY_MAGIC = b"\x93NUMPY"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")   # classic and BigTIFF


def _file_kind(mode) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _read_head(path: pathlib.Path, n: int) -> bytes:
    """The first ``n`` bytes of a regular file, never blocking: a FIFO, socket or device
    is refused before anything is read, and an unreadable file gives one clear error."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise PermissionError(f"Cannot read the movie file {path}: permission denied.") from None
    except OSError as exc:
        raise ValueError(f"Cannot open the movie file {path}: {exc.strerror or exc}.") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is {_file_kind(mode)}, not a regular file; give the "
                             "path of a .npy or .tif movie file.")
        try:
            return os.read(fd, n)
        except OSError as exc:
            raise ValueError(f"Cannot read the movie file {path}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)


def _open_file(path: pathlib.Path) -> MovieSource:
    if not path.exists():
        raise FileNotFoundError(f"Movie file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the path of a .npy or .tif movie file.")
    suffix = path.suffix.lower()
    if suffix not in (".npy", *_TIFF_SUFFIXES):
        raise ValueError(f"Unsupported movie file type {suffix!r} for {path}; use .npy or "
                         ".tif/.tiff.")
    head = _read_head(path, 8)
    if not head:
        raise ValueError(f"{path} is empty (0 bytes), not a movie.")
    if suffix == ".npy":
        return _open_npy(path, head)
    return _open_tiff(path, head)


def _open_npy(path, head) -> MovieSource:
    if not head.startswith(_NPY_MAGIC):
        raise ValueError(f"{path} is not a .npy file (it does not start with the NumPy "
                         "header); save the movie with numpy.save.")
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickled" in str(exc):   # numpy's message suggests loading unsafely: never
            raise ValueError(f"{path} holds an object (pickled) array, not numbers; "
                             "factorlab does not load pickled data.") from None
        raise ValueError(f"{path} could not be memory-mapped as a numeric .npy array "
                         f"({exc}).") from None
    except (EOFError, OSError, SyntaxError) as exc:   # truncated or corrupt header
        raise ValueError(f"{path} could not be memory-mapped as a numeric .npy array: its "
                         f"header is truncated or corrupt ({exc}).") from None
    _check_movie_layout(str(path), data.shape, data.dtype)
    return MovieSource(data, data.shape[1:], path=path)


def _open_tiff(path, head) -> MovieSource:
    import tifffile

    if head[:4] not in _TIFF_MAGICS:
        raise ValueError(f"{path} is not a readable TIFF file (it does not start with a TIFF "
                         "header).")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape, dtype, n_pages = series.shape, series.dtype, len(tif.pages)
            others = [(s.shape, s.dtype) for s in tif.series[1:]]
    except Exception as exc:  # noqa: BLE001 - tifffile raises several types for broken files
        raise ValueError(f"{path} is not a readable TIFF file ({exc}).") from None
    if others and len(shape) == 2:
        # one page per frame written one at a time (TiffWriter.write per frame): each page is
        # its own series; read them as frames when they all agree, never the first as a movie
        if any(s != shape or d != dtype for s, d in others) or n_pages != len(others) + 1:
            kinds = sorted({f"{s} {d}" for s, d in [(shape, dtype), *others]})
            raise ValueError(f"{path} holds {len(others) + 1} images that are not frames of one "
                             f"movie (shapes and dtypes {', '.join(kinds)}); save the movie as "
                             "one series, e.g. with factorlab.io.save_movie.")
        _check_movie_layout(str(path), (n_pages, *shape), dtype)
        return MovieSource(None, shape, path=path, reader=_TiffPages(path, n_pages, dtype))
    if others and any(s[1:] == shape[1:] and d == dtype for s, d in others):
        raise ValueError(f"{path} holds the movie in {len(others) + 1} separate TIFF series "
                         f"(the first of shape {shape}); save it as one series (e.g. with "
                         "factorlab.io.save_movie) so that no frames are left out.")
    _check_movie_layout(str(path), shape, dtype)
    try:
        data = tifffile.memmap(path, mode="r")
        return MovieSource(data, data.shape[1:], path=path)
    except ValueError:   # compressed or non-contiguous: read pages
        if n_pages != shape[0]:
            raise ValueError(f"{path}: expected one TIFF page per frame ({shape[0]} frames) "
                             f"for page-wise reading, found {n_pages} pages.") from None
        return MovieSource(None, shape[1:], path=path, reader=_TiffPages(path, shape[0], dtype))


PARTIAL_PREFIX = ".factorlab-partial-"   # hidden temporaries, never named like an output


def _remove_quietly(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class NpyWriter:
    """Write a ``(frames, ...)`` float32 ``.npy`` file chunk by chunk through a memory map.

    The chunks go to a hidden temporary file next to ``path`` (``.factorlab-partial-...``),
    renamed onto ``path`` by :meth:`close`, so that ``path`` appears only once it is complete;
    :meth:`abort` (or an exception inside ``with``, or the writer being garbage-collected
    unclosed) removes the temporary and leaves ``path`` as it was.

    Parameters
    ----------
    path : str or os.PathLike
    shape : tuple of int
        Shape of the whole array; frames first.
    dtype : numpy dtype

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> with NpyWriter(path, (4, 2)) as w:
    ...     w.write(0, np.ones((2, 2))); w.write(2, np.zeros((2, 2)))
    >>> np.load(path).sum()
    np.float32(4.0)
    """

    def __init__(self, path, shape, dtype=np.float32):
        import tempfile
        import weakref

        self.path = pathlib.Path(path)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, suffix=".part",
                                    prefix=f"{PARTIAL_PREFIX}{self.path.name}-")
        os.close(fd)
        self._temp = pathlib.Path(temp)
        # removes the temporary if the writer is dropped unclosed (an exception mid-write)
        self._cleanup = weakref.finalize(self, _remove_quietly, temp)
        try:
            self._mm = np.lib.format.open_memmap(self._temp, mode="w+", dtype=dtype,
                                                 shape=tuple(shape))
        except BaseException:
            self._cleanup()
            raise

    def write(self, start: int, block) -> None:
        """Write ``block`` (frames x anything that reshapes to a frame) at frame ``start``."""
        block = np.asarray(block)
        self._mm[start:start + len(block)] = block.reshape(len(block), *self._mm.shape[1:])

    def close(self) -> None:
        """Flush and rename the finished file onto ``path``."""
        if self._mm is not None:
            self._mm.flush()
            self._mm = None
            os.replace(self._temp, self.path)
            self._cleanup.detach()

    def abort(self) -> None:
        """Drop what was written; ``path`` is left untouched."""
        self._mm = None
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save_movie(path, movie, chunk_size: int = 64) -> pathlib.Path:
    """Save a movie to ``.npy`` or TIFF (``.tif``/``.tiff``), frames first, as float32.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = save_movie(os.path.join(tempfile.mkdtemp(), "m.tif"), np.zeros((3, 4, 4)))
    >>> open_movie(p).shape
    (3, 4, 4)
    """
    path = pathlib.Path(path)
    src = open_movie(movie)
    if path.suffix.lower() == ".npy":
        with NpyWriter(path, src.shape) as writer:
            for start, _, block in src.chunks(chunk_size):
                writer.write(start, block.cpu().numpy() if isinstance(block, torch.Tensor) else block)
    elif path.suffix.lower() in _TIFF_SUFFIXES:
        import tifffile

        with tifffile.TiffWriter(path) as tif:
            for _, _, block in src.chunks(chunk_size):
                block = block.cpu().numpy() if isinstance(block, torch.Tensor) else block
                for frame in block:
                    tif.write(frame.reshape(src.frame_shape), contiguous=True)
    else:
        raise ValueError(f"path must end in .npy, .tif or .tiff, got {path.name!r}.")
    return path
