"""The ``factorlab bear`` command: round trip of a TIFF movie and clear refusals."""

import json
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

from factorlab import cli
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
