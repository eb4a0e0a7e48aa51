"""Movie files that are not what they seem: frame-by-frame TIFFs, empty, garbage, truncated,
pickled or unreadable files, FIFOs and devices, and the memory budget of the NaN scan."""

import os
import threading

import factorlab as fl
import numpy as np
import pytest
import tifffile
from factorlab.io import MovieSource, open_movie


@pytest.fixture()
def frames():
    return (np.random.default_rng(0).random((8, 6, 5)) * 1000).astype(np.uint16)


# ------------------------------------------------------------------ TIFF layouts
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_tiff_written_frame_by_frame_opens_as_all_its_frames(tmp_path, frames, compression):
    path = tmp_path / "fbf.tif"
    with tifffile.TiffWriter(path) as tif:
        for frame in frames:                 # one page (and one series) per frame
            tif.write(frame, compression=compression)
    src = open_movie(path)
    assert src.shape == (8, 6, 5) and src.n_pixels == 30
    np.testing.assert_array_equal(src.read(slice(0, 8)), frames.reshape(8, -1))
    np.testing.assert_array_equal(src.read([2, 7]), frames[[2, 7]].reshape(2, -1))


def test_bear_fits_a_frame_by_frame_tiff_like_the_array(tmp_path, frames):
    path = tmp_path / "fbf.tif"
    with tifffile.TiffWriter(path) as tif:
        for frame in frames:
            tif.write(frame)
    a = fl.BEAR(1, n_epochs=3, random_state=0).fit(path)
    b = fl.BEAR(1, n_epochs=3, random_state=0).fit(frames.astype(np.float32))
    assert a.n_features_in_ == 30
    np.testing.assert_allclose(a.W_, b.W_, rtol=1e-4, atol=1e-6)


def test_tiff_of_unrelated_images_is_refused(tmp_path, frames):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(frames[0])
        tif.write(np.zeros((3, 3), np.uint16))
    with pytest.raises(ValueError, match=r"mixed\.tif holds 2 images that are not frames"):
        open_movie(path)


def test_tiff_with_the_movie_split_in_series_is_refused(tmp_path, frames):
    path = tmp_path / "split.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(frames[:4], photometric="minisblack")
        tif.write(frames[4:], photometric="minisblack")
    with pytest.raises(ValueError, match=r"split\.tif holds the movie in 2 separate TIFF series"):
        open_movie(path)


def test_ordinary_tiff_stacks_still_open(tmp_path, frames):
    tifffile.imwrite(tmp_path / "one.tif", frames)
    tifffile.imwrite(tmp_path / "z.tif", frames, compression="zlib")
    for name in ("one.tif", "z.tif"):
        src = open_movie(tmp_path / name)
        assert src.shape == (8, 6, 5)
        np.testing.assert_array_equal(src.read(slice(0, 8)), frames.reshape(8, -1))


# ------------------------------------------------------------------ broken files
def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _npy_bytes(tmp_path):
    np.save(tmp_path / "ok.npy", np.zeros((10, 4, 4), np.float32))
    return (tmp_path / "ok.npy").read_bytes()


@pytest.mark.parametrize("name, content, message", [
    ("empty.npy", lambda d: b"", r"empty\.npy is empty \(0 bytes\)"),
    ("empty.tif", lambda d: b"", r"empty\.tif is empty \(0 bytes\)"),
    ("garbage.npy", lambda d: b"not an array at all" * 5, r"garbage\.npy is not a \.npy file"),
    ("garbage.tif", lambda d: b"not an image at all" * 5, r"garbage\.tif is not a readable TIFF"),
    ("bad.tiff", lambda d: b"II*\x00" + b"\xff" * 40, r"bad\.tiff is not a readable TIFF"),
    ("header.npy", lambda d: _npy_bytes(d)[:40], r"header\.npy could not be memory-mapped"),
    ("data.npy", lambda d: _npy_bytes(d)[:200], r"data\.npy could not be memory-mapped"),
])
def test_broken_files_give_one_clear_error_naming_the_file(tmp_path, name, content, message):
    path = _write(tmp_path / name, content(tmp_path))
    with pytest.raises(ValueError, match=message) as exc:
        open_movie(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    assert exc.value.__cause__ is None      # no chained traceback from inside numpy/tifffile


def test_pickled_npy_is_refused_without_suggesting_to_load_it_unsafely(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([None, 1, 2], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"obj\.npy") as exc:
        open_movie(tmp_path / "obj.npy")
    assert "allow_pickle" not in str(exc.value) and "unsafe" not in str(exc.value)


def _opens_quickly(path):
    """open_movie(path) in a thread: (finished within 5 s, the exception it raised)."""
    result = []

    def target():
        try:
            open_movie(path)
            result.append(None)
        except Exception as exc:   # noqa: BLE001 - the test inspects it
            result.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    return (not thread.is_alive()), (result[0] if result else None)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["pipe.npy", "pipe.tif"])
def test_a_fifo_is_refused_at_once(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    done, exc = _opens_quickly(path)
    if not done:                     # unblock the reader so the thread can end
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert done, "open_movie blocked on a FIFO"
    assert isinstance(exc, ValueError) and "FIFO" in str(exc) and str(path) in str(exc)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_named_like_a_movie_is_refused(tmp_path):
    link = tmp_path / "movie.npy"
    link.symlink_to("/dev/null")
    done, exc = _opens_quickly(link)
    assert done and isinstance(exc, ValueError) and "character device" in str(exc)


def test_an_unreadable_file_gives_one_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "locked.npy"
    np.save(path, np.zeros((4, 3, 3), np.float32))
    if os.geteuid() == 0:        # root reads anything: simulate the refusal of open(2)
        real_open = os.open

        def deny(p, *a, **k):
            if os.fspath(p) == os.fspath(path):
                raise PermissionError(13, "Permission denied", os.fspath(p))
            return real_open(p, *a, **k)
        monkeypatch.setattr(os, "open", deny)
    else:
        path.chmod(0)
    with pytest.raises(PermissionError, match="permission denied") as exc:
        open_movie(path)
    assert str(path) in str(exc.value)


def test_a_symlink_to_a_regular_movie_still_opens(tmp_path, frames):
    np.save(tmp_path / "real.npy", frames)
    (tmp_path / "link.npy").symlink_to(tmp_path / "real.npy")
    assert open_movie(tmp_path / "link.npy").shape == (8, 6, 5)


# ------------------------------------------------------------------ the scan's memory budget
class _Recorder:
    """Wrap MovieSource.read to record the bytes of every block it returns."""

    def __init__(self, monkeypatch):
        self.sizes, real = [], MovieSource.read

        def read(src, indices, copy=True):
            block = real(src, indices, copy=copy)
            self.sizes.append(block.nbytes)
            return block
        monkeypatch.setattr(MovieSource, "read", read)


def test_integer_movies_are_not_scanned_at_all(tmp_path, monkeypatch):
    np.save(tmp_path / "cam.npy", np.ones((50, 16, 16), np.uint16))
    rec = _Recorder(monkeypatch)
    open_movie(tmp_path / "cam.npy").check_finite(budget_bytes=1)
    assert rec.sizes == []


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.float32])
def test_float_scan_chunks_fit_the_budget_after_conversion(tmp_path, monkeypatch, dtype):
    Y = np.ones((200, 16, 16), dtype)
    Y[173, 3, 3] = np.nan
    np.save(tmp_path / "f.npy", Y)
    src = open_movie(tmp_path / "f.npy")
    budget = 20 * 256 * 5              # 20 frames of float32 plus their boolean mask
    rec = _Recorder(monkeypatch)
    with pytest.raises(ValueError, match="first at frame 173"):
        src.check_finite(budget_bytes=budget)
    assert max(rec.sizes) <= budget and len(rec.sizes) >= 200 // 20 - 2


def test_page_wise_tiff_scan_counts_the_pages_too(tmp_path):
    Y = np.ones((30, 16, 16), np.float32)
    tifffile.imwrite(tmp_path / "z.tif", Y, compression="zlib")
    src = open_movie(tmp_path / "z.tif")
    # read() returns float32 (4 bytes) while the float32 pages (4 bytes) are held as well
    assert src.chunk_frames(8 * 256 * 10) == 10
    assert open_movie(Y).chunk_frames(4 * 256 * 10) == 10


def test_values_too_large_for_float32_still_count_as_inf(tmp_path):
    Y = np.ones((6, 4, 4))
    Y[4, 0, 0] = 1e300                 # finite in float64, inf once read as float32
    np.save(tmp_path / "big.npy", Y)
    with pytest.raises(ValueError, match="first at frame 4"):
        open_movie(tmp_path / "big.npy").check_finite()


def test_bear_scans_a_file_within_its_memory_budget(tmp_path, monkeypatch):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).random((120, 16, 16)))  # float64
    budget = 8 * 4 * 256 * 4           # a batch of 4 frames, 8 working copies
    seen = []
    real = MovieSource.check_finite

    def spy(src, chunk_size=None, budget_bytes=2**27):
        seen.append(budget_bytes)
        return real(src, chunk_size, budget_bytes)
    monkeypatch.setattr(MovieSource, "check_finite", spy)
    rec = _Recorder(monkeypatch)
    fl.BEAR(1, n_epochs=2, memory_budget=budget, random_state=0).fit(tmp_path / "f.npy")
    assert seen == [budget] and max(rec.sizes) <= budget


def test_a_bad_budget_falls_back_and_bear_still_reports_it(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((10, 4, 4), np.float32))
    open_movie(tmp_path / "f.npy").check_finite(budget_bytes=float("nan"))   # no crash
    with pytest.raises(ValueError, match="memory_budget must be > 0"):
        fl.BEAR(1, memory_budget=0).fit(tmp_path / "f.npy")


# ------------------------------------------------------------------ the allocator (glibc)
@pytest.fixture()
def tuning(monkeypatch):
    """Record calls that would fix glibc's mmap threshold, without changing this process."""
    from factorlab import io as flio

    calls = []
    monkeypatch.setattr(flio, "_return_large_buffers", lambda: calls.append(1))
    return calls


def test_hold_budget_only_for_files_big_against_the_budget(tmp_path, tuning):
    np.save(tmp_path / "m.npy", np.zeros((100, 32, 32), np.uint16))   # 400 kB as float32
    src = open_movie(tmp_path / "m.npy")
    src.hold_budget(1e9)                  # the default budget: the movie is tiny against it
    open_movie(np.zeros((100, 32, 32))).hold_budget(1)      # in memory: nothing to stream
    assert tuning == []
    src.hold_budget(4 * 100 * 32 * 32 * 4)  # a quarter of the budget: held
    assert tuning == [1]


def test_bear_holds_its_budget_when_streaming(tmp_path, tuning):
    np.save(tmp_path / "m.npy", np.ones((64, 16, 16), np.uint16))
    fl.BEAR(1, n_epochs=2, memory_budget=8 * 4 * 256 * 4, random_state=0).fit(tmp_path / "m.npy")
    assert tuning == [1]
    fl.BEAR(1, n_epochs=2, random_state=0).fit(tmp_path / "m.npy")   # budget 1 GB: left alone
    assert tuning == [1]


def test_keep_malloc_leaves_the_allocator_alone(monkeypatch):
    from factorlab import io as flio

    monkeypatch.setattr(flio, "_malloc_tuned", False)
    monkeypatch.setenv("FACTORLAB_KEEP_MALLOC", "1")
    flio._return_large_buffers()
    assert flio._malloc_tuned is False


# ------------------------------------------------------------------ atomic .npy writing
def test_npy_writer_shows_the_file_only_when_complete(tmp_path):
    from factorlab.io import NpyWriter

    path = tmp_path / "x.npy"
    w = NpyWriter(path, (4, 2))
    w.write(0, np.ones((2, 2)))
    assert not path.exists() and len(list(tmp_path.iterdir())) == 1   # the hidden temporary
    w.write(2, np.ones((2, 2)))
    w.close()
    assert np.load(path).sum() == 8 and [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_npy_writer_interrupted_leaves_the_old_file_and_no_temporary(tmp_path):
    from factorlab.io import NpyWriter

    path = tmp_path / "x.npy"
    np.save(path, np.full((4, 2), 7, np.float32))
    with pytest.raises(KeyboardInterrupt), NpyWriter(path, (4, 2)) as w:
        w.write(0, np.zeros((2, 2)))
        raise KeyboardInterrupt
    assert (np.load(path) == 7).all() and [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_decompose_to_files_interrupted_leaves_no_file(tmp_path, monkeypatch):
    import gc

    from factorlab import io as flio

    Y = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
    bear = fl.BEAR(1, n_epochs=2, random_state=0).fit(Y)
    real, calls = flio.NpyWriter.write, []

    def write(self, *a, **k):
        calls.append(1)
        real(self, *a, **k)
        if len(calls) == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(flio.NpyWriter, "write", write)
    with pytest.raises(KeyboardInterrupt):
        bear.decompose(Y, out_L=tmp_path / "L.npy", out_S=tmp_path / "S.npy", batch_size=8)
    gc.collect()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    L, S = bear.decompose(Y, out_L=tmp_path / "L.npy", out_S=tmp_path / "S.npy")
    np.testing.assert_allclose(np.asarray(L) + np.asarray(S), Y.reshape(40, 64).reshape(Y.shape),
                               atol=1e-5)
