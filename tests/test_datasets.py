"""The bundled real datasets: they load offline, hold what their docstrings say, and ship in the wheel."""

import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse

import factorlab as fl
from factorlab import datasets

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOADERS = [getattr(datasets, name) for name in datasets.__all__ if name.startswith("load_")]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_loader_states_its_source_and_licence(loader):
    ds = loader()
    assert isinstance(ds, datasets.Dataset)
    assert ds.data.ndim == len(ds.dims)
    assert np.isfinite(np.asarray(ds.data, dtype=np.float64)).all()
    assert ds.source and ds.licence and ds.units
    # the docstring a user reads says where the data come from and under which licence
    assert "Source:" in loader.__doc__ and "Licence:" in loader.__doc__
    assert ds.DESCR.splitlines()[0] in repr(ds)
    if ds.labels is not None:
        assert ds.labels.shape == ds.data.shape[:1]
        assert ds.labels.min() >= 0 and ds.labels.max() < len(ds.label_names)
    if ds.feature_names is not None:
        assert len(ds.feature_names) == ds.data.shape[-1]


def test_dataset_is_read_only_and_exposes_its_extra_arrays():
    hvc = datasets.load_songbird()
    assert hvc.song is hvc.extra["song"]
    assert "song" in dir(hvc)
    with pytest.raises(AttributeError, match="extra arrays are"):
        hvc.not_there
    with pytest.raises(Exception):
        hvc.data = None
    with pytest.raises(TypeError):
        hvc.extra["song"] = None


def test_songbird_activity_and_song_cover_the_same_time():
    hvc = datasets.load_songbird()
    assert hvc.data.shape == (75, 666) and hvc.song.shape == (141, 4440)
    # 666 frames at 30 Hz and 4440 spectrogram bins at 200 Hz are both 22.2 s
    assert hvc.data.shape[1] / hvc.sampling_rate == pytest.approx(hvc.song.shape[1] / hvc.song_rate)
    assert hvc.data.min() >= 0 and hvc.song.min() >= 0 and hvc.song.max() <= 1


def test_pbmc_dense_and_sparse_agree_and_every_cell_type_is_present():
    dense, sparse = datasets.load_pbmc(), datasets.load_pbmc(sparse=True)
    assert scipy.sparse.issparse(sparse.data)
    np.testing.assert_array_equal(sparse.data.toarray(), dense.data)
    assert dense.data.min() >= 0
    assert np.bincount(dense.labels).min() > 0 and len(dense.label_names) == 10
    assert "CD14+ Monocyte" in dense.label_names.tolist()


def test_fmri_regions_drop_the_nuisance_signals_unless_asked():
    rois, everything = datasets.load_fmri_rois(), datasets.load_fmri_rois(nuisance=True)
    assert rois.data.shape == (250, 28) and everything.data.shape == (250, 31)
    assert everything.feature_names[:3].tolist() == ["WM", "Vent", "Brain"]
    np.testing.assert_array_equal(everything.data[:, 3:], rois.data)
    np.testing.assert_allclose(rois.data.mean(0), 0, atol=0.1)   # regions are mean-removed


def test_fmri_events_mark_six_trial_types():
    ev = datasets.load_fmri_events()
    counts = np.bincount(ev.events)
    assert len(counts) == 7 and (counts[1:] == counts[1]).all()   # a balanced design


def test_pedestrian_foreground_is_sparse_and_in_every_frame():
    video = datasets.load_pedestrians()
    fg = video.foreground
    assert fg.dtype == bool and fg.shape == video.data.shape
    per_frame = fg.mean(axis=(1, 2))
    assert 0 < per_frame.min() and per_frame.max() < 0.1   # walkers are a few % of the pixels
    # foreground pixels differ from the temporal median more than background pixels do
    deviation = np.abs(video.data.astype(float) - np.median(video.data, axis=0))
    assert deviation[fg].mean() > 3 * deviation[~fg].mean()


def test_natural_images_by_name_and_bad_names_refused():
    imgs = datasets.load_natural_images(["gravel", "camera"])
    assert imgs.label_names.tolist() == ["gravel", "camera"]
    np.testing.assert_array_equal(imgs.data[1], datasets.load_natural_images(["camera"]).data[0])
    with pytest.raises(ValueError, match="names"):
        datasets.load_natural_images(["lena"])


def test_serology_labels_follow_the_tensorly_ticks():
    sero = datasets.load_serology()
    assert sero.data.shape == (438, 6, 11)
    assert len(sero.antigens) == 6 and len(sero.receptors) == 11
    assert np.bincount(sero.labels).tolist() == [74, 7, 122, 39, 196]


def test_loaders_fit_models_from_their_defaults():
    # the arrays go straight into the models, dtype and orientation as shipped
    hvc = datasets.load_songbird()
    model = fl.NMF(rank=3, random_state=0).fit(hvc.data)
    assert model.U_.shape == (75, 3) and model.V_.shape == (666, 3)


@pytest.mark.slow
def test_the_wheel_holds_the_data_and_stays_small(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(ROOT / "pkg")], check=True)
    (wheel,) = tmp_path.glob("factorlab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {pathlib.Path(n).name for n in names if "/datasets/_data/" in n}
    expected = {p.name for p in (ROOT / "pkg/factorlab/datasets/_data").iterdir()}
    assert shipped == expected
    assert wheel.stat().st_size < 25e6
