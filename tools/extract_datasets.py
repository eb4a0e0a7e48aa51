"""Derive the real datasets shipped in ``factorlab/datasets/_data`` from their public sources.

Nothing here runs at install or test time: the derived ``.npz`` files are committed, and this
script records exactly how each one was made, so that anyone can rebuild and check them.
The sources are package files (no web downloads), fetched once by hand into ``SOURCES``::

    mkdir -p /tmp/src && cd /tmp/src
    pip download seqnmf==0.1.2 --no-deps --no-binary :all:   # MIT; MackeviciusData.mat
    pip download scanpy==1.11.5 --no-deps                    # BSD-3; 10x_pbmc68k_reduced.h5ad
    pip download nitime==0.12.1 --no-deps                    # BSD-3; nitime/data/*.csv
    apt-get download opencv-doc                              # Debian 4.6.0+dfsg-12; vtest.avi
    tar xzf seqnmf-0.1.2.tar.gz
    unzip -q scanpy-1.11.5-py3-none-any.whl -d scanpy_whl
    unzip -q nitime-0.12.1-*.whl -d nitime_whl
    dpkg-deb -x opencv-doc_4.6.0+dfsg-12_all.deb ocv

The extraction needs ``h5py`` (to read the ``.h5ad`` file) and ``opencv-python-headless`` (to
decode the AVI) besides numpy and scipy; factorlab itself needs neither. The natural images are
read from scikit-image, which the book's environment already has.

Run: ``python tools/extract_datasets.py [SOURCES]`` (default ``/tmp/src``); it prints each
file's size and a checksum of its arrays.
"""

import hashlib
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "pkg" / "factorlab" / "datasets" / "_data"

# The pedestrian video is binned 4 x 4 (576 x 768 -> 144 x 192) and every second frame kept
# (10 -> 5 frames per second), 300 frames: a minute of video in under 4 MB.
VIDEO_BIN, VIDEO_STEP, VIDEO_FRAMES = 4, 2, 300
# Foreground reference (no hand labels exist): per-pixel median of all 795 full-resolution
# frames as the background, |frame - background| > 30 grey levels after a 5 x 5 Gaussian blur,
# a 5 x 5 opening then closing, components under 200 px dropped, then binned like the video
# (a binned pixel is foreground when more than half of its 16 pixels are).
FG_THRESHOLD, FG_MIN_AREA = 30, 200


def save(name, **arrays):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB, "
          f"sha256 of arrays {digest.hexdigest()[:16]}")


def songbird(src):
    from scipy.io import loadmat

    mat = loadmat(src / "seqnmf-0.1.2" / "seqnmf" / "data" / "MackeviciusData.mat")
    save("songbird_hvc",
         neural=mat["NEURAL"].astype(np.float32),
         song=mat["SONG"].astype(np.float32),
         neural_rate=np.float32(mat["VIDEOfs"].item()),
         song_rate=np.float32(mat["SONGfs"].item()))


def pbmc(src):
    import h5py

    path = src / "scanpy_whl" / "scanpy" / "datasets" / "10x_pbmc68k_reduced.h5ad"
    with h5py.File(path, "r") as f:
        raw = f["raw.X"]
        obs = f["obs"][:]
        save("pbmc68k_reduced",
             data=raw["data"][:].astype(np.float32),
             indices=raw["indices"][:].astype(np.int32),
             indptr=raw["indptr"][:].astype(np.int32),
             shape=np.asarray(raw.attrs["h5sparse_shape"], dtype=np.int64),
             genes=np.array([g.decode() for g in f["raw.var"]["index"][:]]),
             cell_type=obs["bulk_labels"].astype(np.int8),
             cell_type_names=np.array([c.decode() for c in f["uns"]["bulk_labels_categories"][:]]),
             n_counts=obs["n_counts"].astype(np.float32),
             percent_mito=obs["percent_mito"].astype(np.float32))


def fmri(src):
    data = src / "nitime_whl" / "nitime" / "data"
    with open(data / "fmri_timeseries.csv") as f:
        rois = [name.strip('"') for name in f.readline().strip().split(",")]
    roi = np.loadtxt(data / "fmri_timeseries.csv", delimiter=",", skiprows=1, dtype=np.float32)
    event = np.loadtxt(data / "event_related_fmri.csv", delimiter=",", skiprows=1)
    save("fmri_nitime", roi_series=roi, roi_names=np.array(rois), roi_tr=np.float32(1.89),
         event_bold=event[:, 0].astype(np.float32), event_code=event[:, 1].astype(np.int8),
         event_tr=np.float32(2.0))


def pedestrians(src):
    import cv2

    capture = cv2.VideoCapture(str(src / "ocv" / "usr" / "share" / "doc" / "opencv-doc"
                                   / "examples" / "data" / "vtest.avi"))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    full = np.stack(frames)                                   # (795, 576, 768) uint8
    background = np.median(full, axis=0).astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    kept = np.arange(0, VIDEO_STEP * VIDEO_FRAMES, VIDEO_STEP)
    movie, masks = [], []
    for t in kept:
        diff = np.abs(cv2.GaussianBlur(full[t].astype(np.float32), (5, 5), 0)
                      - cv2.GaussianBlur(background, (5, 5), 0))
        fg = (diff > FG_THRESHOLD).astype(np.uint8)
        fg = cv2.morphologyEx(cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= FG_MIN_AREA)
        fg = np.isin(labels, big[big > 0])
        h, w = full.shape[1] // VIDEO_BIN, full.shape[2] // VIDEO_BIN
        movie.append(cv2.resize(full[t], (w, h), interpolation=cv2.INTER_AREA))
        masks.append(fg.reshape(h, VIDEO_BIN, w, VIDEO_BIN).mean(axis=(1, 3)) > 0.5)
    save("pedestrians_vtest", movie=np.stack(movie), foreground=np.packbits(np.stack(masks)),
         mask_shape=np.array(np.shape(masks), dtype=np.int64),
         frame_rate=np.float32(10.0 / VIDEO_STEP), source_frames=kept.astype(np.int16))


def natural_images():
    from skimage import data

    names = ["camera", "brick", "grass", "gravel"]
    save("natural_images", names=np.array(names),
         images=np.stack([getattr(data, name)() for name in names]).astype(np.uint8))


def main(argv):
    src = pathlib.Path(argv[1] if len(argv) > 1 else "/tmp/src")
    songbird(src)
    pbmc(src)
    fmri(src)
    pedestrians(src)
    natural_images()


if __name__ == "__main__":
    main(sys.argv)
