"""Real recordings that ship inside factorlab: no network, no download, licences stated.

Each ``load_*`` function reads a small compressed file bundled with the package (or, for the
serology tensor, with tensorly, which factorlab depends on) and returns a :class:`Dataset`: the
array, what its axes are, units, sampling rate, labels where the source has them, and the source
and licence to cite. ``tools/extract_datasets.py`` in the repository records how each file was
derived from its public source; the book's *Datasets* page has the licence table.

===========================  =====================================  ============================
loader                       data                                   licence (as the source says)
===========================  =====================================  ============================
:func:`load_songbird`        songbird HVC calcium, 75 x 666, 30 Hz  MIT (seqnmf 0.1.2)
:func:`load_pbmc`            blood cells x genes, 700 x 765         BSD-3-Clause (scanpy 1.11.5)
:func:`load_fmri_rois`       fMRI regions, 250 TRs x 28 (+3)        BSD-3-Clause (nitime 0.12.1)
:func:`load_fmri_events`     event-related BOLD, 3360 TRs           BSD-3-Clause (nitime 0.12.1)
:func:`load_pedestrians`     video, 300 x 144 x 192, 5 Hz           Apache-2.0 / BSD-3 (OpenCV)
:func:`load_natural_images`  4 images, 512 x 512                    CC0 (scikit-image 0.26)
:func:`load_serology`        serology tensor, 438 x 6 x 11          MIT (tensorly)
===========================  =====================================  ============================

Examples
--------
>>> import factorlab as fl
>>> hvc = fl.datasets.load_songbird()
>>> hvc.data.shape, hvc.dims, hvc.sampling_rate
((75, 666), ('neuron', 'frame'), 30.0)
>>> hvc.song.shape
(141, 4440)
"""

from __future__ import annotations

import numpy as np

from .._validate import check_option
from ._base import Dataset, read_npz

__all__ = ["Dataset", "load_songbird", "load_pbmc", "load_fmri_rois", "load_fmri_events",
           "load_pedestrians", "load_natural_images", "load_serology"]

_MIT_SEQNMF = "MIT License, Copyright (c) 2018 Contextual Dynamics Laboratory (seqnmf package)"
_BSD_SCANPY = ("BSD-3-Clause, Copyright (c) 2025 scverse, (c) 2017 F. Alexander Wolf, "
               "P. Angerer, Theis Lab (scanpy package)")
_BSD_NITIME = "BSD-3-Clause, Copyright (c) 2006-2011, NIPY Developers (nitime package)"


def load_songbird() -> Dataset:
    """Calcium imaging of 75 neurons in songbird HVC during singing, with the song.

    Premotor nucleus HVC of a zebra finch, imaged with a head-mounted microscope while the bird
    sang (Mackevicius et al. 2019, the seqNMF paper). HVC neurons fire in sequences
    locked to the song, which is what convolutional NMF finds. ``data`` is the activity as
    seqNMF ships it (neurons x frames, 30 frames per second, 22.2 s, nonnegative, scaled to
    at most about 1; 93 % of entries are zero); ``song`` is the simultaneous song spectrogram
    (141 frequency bins x 4440 time bins at 200 Hz, scaled to [0, 1]).

    Returns
    -------
    Dataset
        ``data`` float32 (75, 666), dims ``("neuron", "frame")``, 30 Hz; extra ``song``
        float32 (141, 4440) and ``song_rate`` (200.0).

    Notes
    -----
    Source: ``seqnmf/data/MackeviciusData.mat`` in the ``seqnmf`` 0.1.2 source distribution on
    PyPI (the Python port of the Fee lab's seqNMF toolbox). Cite Mackevicius, Bahle, Williams,
    Gu, Denisenko, Goldman & Fee (2019), eLife 8:e38471. Licence: MIT (the package's licence).

    Examples
    --------
    >>> hvc = load_songbird()
    >>> float(hvc.data.min()), bool((hvc.data == 0).mean() > 0.9)
    (0.0, True)
    """
    f = read_npz("songbird_hvc")
    return Dataset(
        data=f["neural"], dims=("neuron", "frame"),
        DESCR="Songbird HVC calcium activity during singing (75 neurons x 666 frames, 30 Hz), "
              "with the song spectrogram\n" + load_songbird.__doc__,
        units="calcium activity as shipped by seqNMF (nonnegative, arbitrary units)",
        sampling_rate=float(f["neural_rate"]),
        source="seqnmf 0.1.2 (PyPI sdist), seqnmf/data/MackeviciusData.mat; "
               "Mackevicius et al. (2019) eLife 8:e38471",
        licence=_MIT_SEQNMF,
        extra={"song": f["song"], "song_rate": float(f["song_rate"])})


def load_pbmc(*, sparse: bool = False) -> Dataset:
    """Gene expression of 700 human blood cells (765 genes) with 10 annotated cell types.

    A subsample of the 10x Genomics 68k peripheral blood mononuclear cell data set (Zheng et
    al. 2017), as bundled by scanpy (``pbmc68k_reduced``). The values are scanpy's ``raw.X``:
    log(1 + library-size-normalised counts), nonnegative (the raw integer counts are not in the
    source), for 765 variable genes; 67 % of entries are zero. ``labels`` are the cell types
    (``bulk_labels``) that Zheng et al. assigned by correlating each cell's expression with
    reference profiles of FACS-sorted populations: an outside check for clusters found by NMF
    or k-means, though not independent of expression. Several types (the CD4+ T-cell subsets) are hard to tell apart from
    expression alone.

    Parameters
    ----------
    sparse : bool, default=False
        Return ``data`` as a ``scipy.sparse.csr_matrix`` instead of a dense array.

    Returns
    -------
    Dataset
        ``data`` float32 (700, 765), dims ``("cell", "gene")``; ``labels`` int (700,),
        ``label_names`` (10,), ``feature_names`` (gene symbols); extra ``n_counts`` (total counts
        per cell before normalisation) and ``percent_mito``.

    Notes
    -----
    Source: ``scanpy/datasets/10x_pbmc68k_reduced.h5ad`` in the scanpy 1.11.5 wheel, read with
    h5py at extraction time. Cite Zheng et al. (2017), Nat. Commun. 8:14049 and Wolf, Angerer &
    Theis (2018), Genome Biol. 19:15. Licence: BSD-3-Clause (the package's licence).

    Examples
    --------
    >>> pbmc = load_pbmc()
    >>> pbmc.data.shape, len(pbmc.label_names), bool(pbmc.data.min() >= 0)
    ((700, 765), 10, True)
    """
    from scipy.sparse import csr_matrix

    f = read_npz("pbmc68k_reduced")
    X = csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
    return Dataset(
        data=X if sparse else X.toarray(), dims=("cell", "gene"),
        DESCR="Peripheral blood mononuclear cells, 700 cells x 765 genes, log-normalised "
              "expression, 10 annotated cell types\n" + load_pbmc.__doc__,
        units="log(1 + normalised counts)", sampling_rate=None,
        source="scanpy 1.11.5 (PyPI wheel), scanpy/datasets/10x_pbmc68k_reduced.h5ad, raw.X; "
               "Zheng et al. (2017) Nat. Commun. 8:14049",
        licence=_BSD_SCANPY,
        labels=f["cell_type"].astype(np.intp), label_names=f["cell_type_names"],
        feature_names=f["genes"],
        extra={"n_counts": f["n_counts"], "percent_mito": f["percent_mito"]})


def load_fmri_rois(*, nuisance: bool = False) -> Dataset:
    """Resting-state fMRI: mean BOLD signal in 28 brain regions (plus 3 nuisance signals).

    One subject's time series averaged within anatomical regions of interest (left and right
    caudate, putamen, thalamus, frontal pole, angular and supramarginal gyri, middle temporal
    gyrus, hippocampus, parahippocampal gyrus, amygdala, paracingulate, posterior cingulate and
    precuneus), 250 volumes at TR = 1.89 s (7.9 min), as shipped with nitime for its correlation,
    coherence and Granger-causality examples. The regional series have their mean removed; the
    nuisance signals (white matter ``WM``, ventricles ``Vent`` and whole brain ``Brain``) are
    raw scanner values of about 10^4 and are left out unless asked for.

    Parameters
    ----------
    nuisance : bool, default=False
        Keep the three nuisance signals as the first three columns.

    Returns
    -------
    Dataset
        ``data`` float32 (250, 28) (or (250, 31)), dims ``("volume", "region")``,
        ``sampling_rate`` 1/1.89 Hz; ``feature_names`` the region names (``L``/``R`` prefix).

    Notes
    -----
    Source: ``nitime/data/fmri_timeseries.csv`` in the nitime 0.12.1 wheel; the TR is the one
    nitime's examples use. Licence: BSD-3-Clause (the package's licence).

    Examples
    --------
    >>> rois = load_fmri_rois()
    >>> rois.data.shape, rois.feature_names[:3].tolist()
    ((250, 28), ['LCau', 'LPut', 'LThal'])
    """
    f = read_npz("fmri_nitime")
    keep = slice(None) if nuisance else slice(3, None)
    return Dataset(
        data=f["roi_series"][:, keep], dims=("volume", "region"),
        DESCR="Resting-state fMRI region time series (250 volumes, TR 1.89 s)\n"
              + load_fmri_rois.__doc__,
        units="BOLD signal, scanner units (regions mean-removed)",
        sampling_rate=1.0 / float(f["roi_tr"]),
        source="nitime 0.12.1 (PyPI wheel), nitime/data/fmri_timeseries.csv",
        licence=_BSD_NITIME, feature_names=f["roi_names"][keep])


def load_fmri_events() -> Dataset:
    """Event-related fMRI: BOLD in motion-sensitive voxels near area MT, with 6 trial types.

    The subject watched moving stimuli (6 kinds of trial: directions and locations of motion)
    while BOLD was recorded, TR = 2 s, 3360 volumes. ``data`` is the BOLD series (percent
    signal change); extra ``events`` gives, per volume, the trial type starting then (1-6) or 0.

    Returns
    -------
    Dataset
        ``data`` float32 (3360,), dims ``("volume",)``, ``sampling_rate`` 0.5 Hz; extra
        ``events`` int8 (3360,).

    Notes
    -----
    Source: ``nitime/data/event_related_fmri.csv`` in the nitime 0.12.1 wheel; TR as in
    nitime's event-related example. Licence: BSD-3-Clause (the package's licence).

    Examples
    --------
    >>> ev = load_fmri_events()
    >>> ev.data.shape, sorted(set(ev.events.tolist()))
    ((3360,), [0, 1, 2, 3, 4, 5, 6])
    """
    f = read_npz("fmri_nitime")
    return Dataset(
        data=f["event_bold"], dims=("volume",),
        DESCR="Event-related fMRI BOLD near area MT (3360 volumes, TR 2 s), 6 trial types\n"
              + load_fmri_events.__doc__,
        units="percent signal change", sampling_rate=1.0 / float(f["event_tr"]),
        source="nitime 0.12.1 (PyPI wheel), nitime/data/event_related_fmri.csv",
        licence=_BSD_NITIME, extra={"events": f["event_code"]})


def load_pedestrians() -> Dataset:
    """A static-camera video of people walking across a square, with reference foreground masks.

    OpenCV's sample video ``vtest.avi`` (795 colour frames, 576 x 768, 10 frames per second),
    converted to grey, binned 4 x 4 to 144 x 192 and every second frame kept: 300 frames at
    5 Hz (one minute). The background is still and the walkers are the sparse foreground, the
    setting robust PCA was made for.

    No hand-labelled masks exist, so ``foreground`` is a *reference* made by a documented
    procedure on the full-resolution video, not ground truth: the per-pixel median of all 795
    frames as background, ``|frame - background| > 30`` grey levels after a 5 x 5 Gaussian blur,
    a 5 x 5 morphological opening and closing, blobs under 200 pixels dropped, then binned like
    the video (foreground where more than half of the 16 pixels are). It misses people standing
    still for most of the video and small distant walkers, and includes some shadows; scores
    against it measure agreement with a careful median-background model.

    Returns
    -------
    Dataset
        ``data`` uint8 (300, 144, 192), dims ``("frame", "row", "column")``, 5 Hz; extra
        ``foreground`` bool (300, 144, 192) and ``source_frames`` (index of each frame in the
        original video).

    Notes
    -----
    Source: ``examples/data/vtest.avi`` in Debian's ``opencv-doc`` 4.6.0+dfsg-12 package.
    Licence: Apache-2.0 AND BSD-3-Clause, as Debian's copyright file states for it (``Files: *``),
    Copyright Intel Corporation, Willow Garage, OpenCV Foundation and contributors.

    Examples
    --------
    >>> video = load_pedestrians()
    >>> video.data.shape, video.data.dtype.name, video.foreground.shape
    ((300, 144, 192), 'uint8', (300, 144, 192))
    """
    f = read_npz("pedestrians_vtest")
    shape = tuple(f["mask_shape"])
    foreground = np.unpackbits(f["foreground"])[:np.prod(shape)].reshape(shape).astype(bool)
    return Dataset(
        data=f["movie"], dims=("frame", "row", "column"),
        DESCR="Pedestrians on a square, static camera (300 frames of 144 x 192, 5 Hz), with "
              "reference foreground masks\n" + load_pedestrians.__doc__,
        units="grey level (0-255)", sampling_rate=float(f["frame_rate"]),
        source="Debian opencv-doc 4.6.0+dfsg-12, examples/data/vtest.avi (OpenCV sample data)",
        licence="Apache-2.0 AND BSD-3-Clause (OpenCV; Debian copyright file, Files: *)",
        extra={"foreground": foreground, "source_frames": f["source_frames"]})


def load_natural_images(names=None) -> Dataset:
    """Grey natural images from scikit-image: a photograph and three textures (CC0).

    ``camera`` (a photographer with a camera on a tripod, by Lav Varshney), and ``brick``,
    ``grass`` and ``gravel`` (textures from CC0Textures), each 512 x 512, 8 bits. Used to learn
    convolutional dictionaries and to test denoising on images no simulator made.

    Parameters
    ----------
    names : list of str, optional
        Which images, in this order; default all four.

    Returns
    -------
    Dataset
        ``data`` uint8 (n_images, 512, 512), dims ``("image", "row", "column")``;
        ``label_names`` the image names.

    Notes
    -----
    Source: ``skimage/data/{camera,brick,grass,gravel}.png`` in scikit-image 0.26.0. Licence:
    CC0 1.0 (public-domain dedication), as stated in scikit-image's ``skimage.data`` docstrings.

    Examples
    --------
    >>> imgs = load_natural_images(["camera", "gravel"])
    >>> imgs.data.shape, imgs.label_names.tolist()
    ((2, 512, 512), ['camera', 'gravel'])
    """
    f = read_npz("natural_images")
    available = f["names"].tolist()
    names = available if names is None else [check_option(n, "names", available) for n in names]
    index = [available.index(n) for n in names]
    return Dataset(
        data=f["images"][index], dims=("image", "row", "column"),
        DESCR="Natural grey images (512 x 512): " + ", ".join(names) + "\n"
              + load_natural_images.__doc__,
        units="grey level (0-255)", sampling_rate=None,
        source="scikit-image 0.26.0, skimage/data/*.png", licence="CC0 1.0",
        labels=np.arange(len(names)), label_names=np.array(names))


def load_serology() -> Dataset:
    """COVID-19 systems serology: 438 samples x 6 antigens x 11 antibody/receptor features.

    Antibody binding of serum from 438 samples to six SARS-CoV-2 antigens, read out by 11
    detection reagents (IgG1-3, IgA1-2, IgM and five Fc receptors), as a three-way tensor
    (Zohar et al. 2020; arranged as a tensor by Tan et al. 2021). Values are standardised as
    tensorly ships them. ``labels`` give each sample's patient status (deceased, severe,
    moderate, mild, negative): a check on the sample factor of a CP decomposition.

    Returns
    -------
    Dataset
        ``data`` float64 (438, 6, 11), dims ``("sample", "antigen", "receptor")``; ``labels``,
        ``label_names``; extra ``antigens`` and ``receptors`` (names along axes 1 and 2).

    Notes
    -----
    Source: tensorly's bundled ``COVID19_data.npy`` (``tensorly.datasets.load_covid19_serology``),
    read from the installed tensorly, a factorlab dependency. Not neural data: no trial tensor
    of neural recordings with a redistribution licence was found. Licence: MIT, Copyright 2022
    The Regents of the University of California (stated in tensorly's loader).

    Examples
    --------
    >>> sero = load_serology()
    >>> sero.data.shape, sero.label_names.tolist()
    ((438, 6, 11), ['Deceased', 'Mild', 'Moderate', 'Negative', 'Severe'])
    """
    from tensorly.datasets import load_covid19_serology

    bunch = load_covid19_serology()
    status = np.asarray(bunch.ticks[0]).astype(str)
    names, labels = np.unique(status, return_inverse=True)
    return Dataset(
        data=np.asarray(bunch.tensor, dtype=np.float64), dims=("sample", "antigen", "receptor"),
        DESCR="COVID-19 systems serology tensor (438 samples x 6 antigens x 11 receptors)\n"
              + load_serology.__doc__,
        units="standardised binding signal", sampling_rate=None,
        source="tensorly.datasets.load_covid19_serology; Zohar et al. (2020) Cell 183:1508; "
               "Tan et al. (2021) Mol. Syst. Biol. 17:e10243",
        licence="MIT, Copyright 2022 The Regents of the University of California (tensorly)",
        labels=labels, label_names=names,
        extra={"antigens": np.array(bunch.ticks[1]), "receptors": np.array(bunch.ticks[2])})
