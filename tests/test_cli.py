"""The ``factorlab bear`` command: round trip of a TIFF movie and clear refusals."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple

import numpy as np
import pytest
from factorlab import cli
from factorlab import io as flio
from factorlab.data import calcium_movie
from factorlab.io import save_movie


@pytest.fixture()
def tiff(tmp_path):
    mv = calcium_movie(n_frames=40, shape=(24, 20), n_cells=4, random_state=0)
    return save_movie(tmp_path / "movie.tif", mv.Y), mv.Y


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_round_trip_of_a_small_tiff(tiff, tmp_path, capsys):
    path, Y = tiff
    out = tmp_path / "result"
    code, stdout, err = run(["bear", path, "--rank", 2, "--out", out, "--no-progress"], capsys)
    assert code == 0, err
    L, S, W = (np.load(out / f"{n}.npy") for n in ("L", "S", "W"))
    assert L.shape == S.shape == Y.shape and W.shape == (24 * 20, 2)
    np.testing.assert_allclose(L + S, Y, atol=1e-5)
    np.testing.assert_allclose(L.reshape(40, -1), Y.reshape(40, -1) @ W @ W.T, atol=1e-5)
    info = json.loads((out / "summary.json").read_text())
    assert info["shape"] == [40, 24, 20] and info["rank"] == 2
    assert (out / "summary.png").stat().st_size > 1000
    assert "rank 2" in stdout


def test_the_default_rank_is_searched_as_by_the_estimator(tiff, tmp_path, capsys):
    import factorlab as fl

    path, Y = tiff
    out = tmp_path / "result"
    code, _, err = run(["bear", path, "--out", out, "--no-progress", "--epochs", 5], capsys)
    assert code == 0, err
    searched = fl.BEAR(n_epochs=5, random_state=0).fit(Y)
    assert json.loads((out / "summary.json").read_text())["rank"] == searched.rank_


def test_refuses_to_overwrite_without_force(tiff, tmp_path, capsys):
    path, _ = tiff
    out = tmp_path / "result"
    args = ["bear", path, "--out", out, "--no-progress", "--epochs", 3]
    assert run(args, capsys)[0] == 0
    before = (out / "L.npy").stat().st_mtime_ns
    code, _, err = run(args, capsys)
    assert code == 2 and "already holds L.npy" in err and "--force" in err
    assert (out / "L.npy").stat().st_mtime_ns == before
    assert run(args + ["--force"], capsys)[0] == 0


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.tif", "Movie file not found"),
    (lambda d: (np.save(d / "vec.npy", np.arange(10.0)), d / "vec.npy")[1], "is not a movie"),
    (lambda d: (np.save(d / "flat.npy", np.ones((5, 7))), d / "flat.npy")[1], "frames x height x width"),
    (lambda d: ((d / "notes.txt").write_text("x"), d / "notes.txt")[1], "Unsupported movie file type"),
    (lambda d: d, "is a folder"),
])
def test_bad_movies_give_one_line_errors(tmp_path, capsys, make, message):
    code, _, err = run(["bear", make(tmp_path), "--out", tmp_path / "o"], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_nan_in_the_movie_is_reported_with_its_frame(tmp_path, capsys):
    Y = calcium_movie(n_frames=20, shape=(8, 8), n_cells=1, random_state=0).Y
    Y[11, 2, 2] = np.nan
    np.save(tmp_path / "nan.npy", Y)
    code, _, err = run(["bear", tmp_path / "nan.npy", "--out", tmp_path / "o", "--no-progress"], capsys)
    assert code == 2 and "NaN or inf" in err and "frame 11" in err


def test_too_little_disk_space_is_refused(tiff, tmp_path, capsys, monkeypatch):
    path, _ = tiff
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(cli.shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))
    code, _, err = run(["bear", path, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "Not enough disk space" in err
    assert not (tmp_path / "o").exists()


def test_bad_rank_is_an_argparse_error(tiff, tmp_path, capsys):
    path, _ = tiff
    with pytest.raises(SystemExit) as exc:
        cli.main(["bear", str(path), "--rank", "zero", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "positive integer or 'greedy'" in capsys.readouterr().err


def test_console_entry_point_exits_with_status_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "factorlab.cli", "bear", str(tmp_path / "none.npy"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"factorlab bear: error: Movie file not found: {tmp_path / 'none.npy'}"


# ---------------------------------------------------------------- atomic outputs, lock, signals
def leftovers(out):
    """Files in ``out`` other than the finished outputs (temporaries, the lock)."""
    return sorted(p.name for p in out.iterdir() if p.name not in cli.OUTPUTS) if out.exists() else []


def small_args(path, out, *more):
    return ["bear", path, "--rank", 1, "--out", out, "--no-progress", "--epochs", 2, *more]


def test_a_finished_run_leaves_only_its_outputs(tiff, tmp_path, capsys):
    path, _ = tiff
    out = tmp_path / "deep" / "result"
    assert run(small_args(path, out), capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(cli.OUTPUTS)


def interrupt_at(monkeypatch, where, n=1, exc=KeyboardInterrupt):
    """Raise ``exc`` at the ``n``-th call of ``where`` (an NpyWriter method or _summary)."""
    calls = []
    if where == "summary":
        def hook(*a, **k):
            raise exc()
        monkeypatch.setattr(cli, "_summary", hook)
        return calls
    real = getattr(flio.NpyWriter, where)

    def hook(self, *a, **k):
        calls.append(1)
        real(self, *a, **k)
        if len(calls) == n:
            raise exc()
    monkeypatch.setattr(flio.NpyWriter, where, hook)
    return calls


@pytest.mark.parametrize("where, n", [("write", 1), ("write", 7), ("close", 1), ("close", 2),
                                      ("summary", 1)])
def test_interrupt_while_writing_leaves_nothing_that_looks_complete(tiff, tmp_path, capsys,
                                                                    monkeypatch, where, n):
    path, _ = tiff
    out = tmp_path / "result"
    calls = interrupt_at(monkeypatch, where, n)
    code, _, err = run(small_args(path, out, "--batch-size", 8), capsys)   # 10 writes
    assert code == 130 and len(calls) == (n if where != "summary" else 0)
    assert err.count("\n") == 1 and "interrupted by SIGINT" in err and "Traceback" not in err
    assert not out.exists() or (not any((out / n).exists() for n in cli.OUTPUTS)
                                and leftovers(out) == [])
    monkeypatch.undo()
    assert run(small_args(path, out), capsys)[0] == 0          # a rerun needs no --force
    assert leftovers(out) == []


def test_interrupt_with_force_keeps_the_previous_outputs_intact(tiff, tmp_path, capsys,
                                                                monkeypatch):
    path, _ = tiff
    out = tmp_path / "result"
    assert run(small_args(path, out), capsys)[0] == 0
    before = {n: (out / n).read_bytes() for n in cli.OUTPUTS}
    interrupt_at(monkeypatch, "write", 2)
    code, _, err = run(small_args(path, out, "--force", "--seed", 5), capsys)
    assert code == 130 and "no new outputs" in err
    assert {n: (out / n).read_bytes() for n in cli.OUTPUTS} == before
    assert leftovers(out) == []


def test_a_full_disk_while_writing_is_one_line_and_leaves_no_temporaries(tiff, tmp_path, capsys,
                                                                         monkeypatch):
    path, _ = tiff
    out = tmp_path / "result"

    def full(self, *a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(flio.NpyWriter, "write", full)
    code, _, err = run(small_args(path, out), capsys)
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1
    assert not out.exists()


def test_stale_temporaries_of_a_killed_run_are_removed(tiff, tmp_path, capsys):
    path, _ = tiff
    out = tmp_path / "result"
    out.mkdir()
    (out / ".factorlab-partial-L.npy-abc.part").write_bytes(b"\0" * 100)
    (out / cli.LOCK_NAME).write_text("12345\n")          # the lock file of a dead process
    assert run(small_args(path, out), capsys)[0] == 0
    assert leftovers(out) == []


def test_a_second_run_into_a_locked_folder_fails_at_once(tiff, tmp_path, capsys):
    path, _ = tiff
    out = tmp_path / "result"
    out.mkdir()
    holder = cli._Lock(out)
    holder.acquire()
    try:
        code, _, err = run(small_args(path, out), capsys)
        assert code == 2 and err.count("\n") == 1
        assert "another factorlab run is writing to" in err and "Traceback" not in err
        assert not any((out / n).exists() for n in cli.OUTPUTS)
        assert (out / cli.LOCK_NAME).exists()         # the holder's lock is left alone
    finally:
        holder.release()
    assert run(small_args(path, out), capsys)[0] == 0


# A CLI run whose L/S writer announces its first chunk in a flag file, then waits until a
# release file appears (or two minutes pass) before it writes on.
SLOW_RUN = """
import pathlib, sys, time
from factorlab import cli, io
flag, release, real = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), io.NpyWriter.write
def slow(self, *a, **k):
    real(self, *a, **k)
    flag.touch()
    end = time.monotonic() + 120
    while not release.exists() and time.monotonic() < end:
        time.sleep(0.02)
io.NpyWriter.write = slow
sys.exit(cli.main(sys.argv[3:]))
"""


def start_slow(flag, args, release=None, **kw):
    release = release or flag.with_name("never")
    return subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(flag), str(release),
                             *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for(flag, proc, timeout=60):
    end = time.monotonic() + timeout
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the run never started writing"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_real_signal_while_writing(tiff, tmp_path, capsys, sig, code):
    path, _ = tiff
    out, flag = tmp_path / "result", tmp_path / "writing"
    proc = start_slow(flag, small_args(path, out, "--batch-size", 4))
    wait_for(flag, proc)
    assert leftovers(out)                    # temporaries (and the lock) exist now...
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.count("\n") == 1 and f"interrupted by {sig.name}" in err, err
    assert not out.exists() or (not any((out / n).exists() for n in cli.OUTPUTS)
                                and leftovers(out) == [])          # ...and are gone
    assert run(small_args(path, out), capsys)[0] == 0


def test_two_concurrent_runs_into_one_folder(tiff, tmp_path):
    path, _ = tiff
    out, flag = tmp_path / "result", tmp_path / "writing"
    release = tmp_path / "go"
    first = start_slow(flag, small_args(path, out, "--batch-size", 8), release)
    wait_for(flag, first)                      # the first run holds the lock, mid-write
    second = subprocess.run([sys.executable, "-m", "factorlab.cli",
                             *map(str, small_args(path, out))],
                            check=False, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and second.stderr.count("\n") == 1
    assert "another factorlab run is writing to" in second.stderr
    release.touch()
    assert first.wait(timeout=120) == 0
    assert leftovers(out) == [] and all((out / n).exists() for n in cli.OUTPUTS)


# ---------------------------------------------------------------- the input is never an output
def test_the_movie_inside_out_is_refused_even_with_force(tmp_path, capsys):
    Y = calcium_movie(n_frames=20, shape=(8, 8), n_cells=1, random_state=0).Y
    out = tmp_path / "result"
    out.mkdir()
    for name in ("movie.npy", "L.npy"):
        np.save(out / name, Y)
        before = (out / name).read_bytes()
        code, _, err = run(small_args(out / name, out, "--force"), capsys)
        assert code == 2 and "is inside --out" in err and err.count("\n") == 1
        assert (out / name).read_bytes() == before
    sub = out / "raw"
    sub.mkdir()
    np.save(sub / "m.npy", Y)
    assert "is inside --out" in run(small_args(sub / "m.npy", out, "--force"), capsys)[2]


def test_the_movie_reached_through_links_is_refused(tmp_path, capsys):
    Y = calcium_movie(n_frames=20, shape=(8, 8), n_cells=1, random_state=0).Y
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "m.npy", Y)
    (tmp_path / "alias").symlink_to(data)                  # --out is the movie's folder
    code, _, err = run(small_args(data / "m.npy", tmp_path / "alias", "--force"), capsys)
    assert code == 2 and "is inside --out" in err
    out = tmp_path / "result"
    out.mkdir()
    os.link(data / "m.npy", out / "S.npy")                  # an output is the movie itself
    before = (data / "m.npy").read_bytes()
    code, _, err = run(small_args(data / "m.npy", out, "--force"), capsys)
    assert code == 2 and "one of its outputs" in err
    assert (data / "m.npy").read_bytes() == before


# ---------------------------------------------------------------- places that cannot be written
@pytest.mark.parametrize("out", ["/proc/factorlab-test/out", "/proc/self/factorlab-out"])
def test_a_virtual_file_system_gets_a_true_message(tiff, capsys, out):
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc")
    path, _ = tiff
    code, _, err = run(small_args(path, out), capsys)
    assert code == 2 and "cannot be written" in err and "virtual file system" in err
    assert "disk space" not in err and "Traceback" not in err and err.count("\n") == 1


def test_an_unwritable_out_is_one_line(tiff, tmp_path, capsys, monkeypatch):
    path, _ = tiff
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() == 0:           # root writes anywhere: make creating files fail as for a user
        def deny(*a, **k):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(cli.tempfile, "mkstemp", deny)
    else:
        out.chmod(0o500)
    try:
        code, _, err = run(small_args(path, out / "sub"), capsys)
    finally:
        out.chmod(0o700)
    assert code == 2 and "cannot be written (Permission denied)" in err
    assert "Traceback" not in err and err.count("\n") == 1 and not (out / "sub").exists()


def test_out_below_a_file_is_one_line(tiff, tmp_path, capsys):
    path, _ = tiff
    (tmp_path / "afile").write_text("x")
    code, _, err = run(small_args(path, tmp_path / "afile" / "out"), capsys)
    assert code == 2 and "is not a folder" in err


def test_a_failed_run_leaves_no_empty_folder_behind(tmp_path, capsys):
    Y = calcium_movie(n_frames=20, shape=(8, 8), n_cells=1, random_state=0).Y
    Y[3, 0, 0] = np.inf
    np.save(tmp_path / "inf.npy", Y)
    code, _, err = run(small_args(tmp_path / "inf.npy", tmp_path / "a" / "b"), capsys)
    assert code == 2 and "NaN or inf" in err and not (tmp_path / "a").exists()


def test_a_run_refused_by_the_lock_leaves_the_holders_temporaries(tiff, tmp_path, capsys):
    path, _ = tiff
    out = tmp_path / "result"
    out.mkdir()
    partial = out / ".factorlab-partial-L.npy-x.part"
    partial.write_bytes(b"\0" * 10)
    holder = cli._Lock(out)
    holder.acquire()
    try:
        assert run(small_args(path, out), capsys)[0] == 2
        assert partial.exists()
    finally:
        holder.release()
