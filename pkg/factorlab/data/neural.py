"""Synthetic neuroscience-flavoured matrices with known nonnegative or low-rank structure.

* :func:`cell_assemblies` — population activity (neurons x time) made of cell assemblies:
  groups of neurons that fire together, each with its own train of transient activations.
* :func:`celltype_counts` — expression counts (cells x genes) from a few cell types, each with
  its own marker genes; Poisson or negative-binomial noise, with the true labels.
* :func:`binary_lowrank` — binary data (say spike / no spike in a bin) drawn as Bernoulli of
  a low-rank logit matrix.

Every generator returns the data together with the ground truth, so that fitted factors can be
scored against it.
"""

from __future__ import annotations

import numpy as np

from .._backend import check_random_state
from .._validate import check_fraction, check_int, check_nonnegative_number, check_positive

__all__ = ["cell_assemblies", "celltype_counts", "binary_lowrank"]


def cell_assemblies(n_neurons=60, n_timepoints=400, n_assemblies=4, assembly_size=12,
                    event_rate=0.02, tau=5.0, baseline=0.05, noise=0.1, random_state=None):
    """Neurons x time activity built from nonnegative, sparse cell assemblies.

    Assembly ``k`` is a set of ``assembly_size`` neurons with positive weights ``U[:, k]``
    (a neuron may belong to several assemblies); it switches on at random times (Bernoulli
    events with probability ``event_rate`` per bin, random amplitudes) and each event decays
    with time constant ``tau`` bins, like a calcium transient: ``V[:, k]``. The activity is
    ``X = U V^T + baseline`` plus Gaussian noise, clipped at zero.

    Parameters
    ----------
    n_neurons, n_timepoints : int
        Shape of ``X`` (neurons are the rows).
    n_assemblies : int
        Number of planted assemblies (the true NMF rank).
    assembly_size : int
        Neurons per assembly.
    event_rate : float
        Probability that an assembly activates in a time bin (between 0 and 1).
    tau : float
        Decay time constant of each activation, in bins.
    baseline : float
        Constant background activity.
    noise : float
        Standard deviation of the additive Gaussian noise.
    random_state : int, numpy Generator or None

    Returns
    -------
    X : ndarray of shape (n_neurons, n_timepoints), nonnegative
    U : ndarray of shape (n_neurons, n_assemblies)
        Membership weights (zero outside the assembly).
    V : ndarray of shape (n_timepoints, n_assemblies)
        Temporal activations.

    Examples
    --------
    >>> X, U, V = cell_assemblies(random_state=0)
    >>> X.shape, U.shape, V.shape, bool(X.min() >= 0)
    ((60, 400), (60, 4), (400, 4), True)
    >>> (U > 0).sum(0).tolist()
    [12, 12, 12, 12]
    """
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    n_timepoints = check_int(n_timepoints, "n_timepoints", minimum=1)
    n_assemblies = check_int(n_assemblies, "n_assemblies", minimum=1)
    assembly_size = check_int(assembly_size, "assembly_size", minimum=1, maximum=n_neurons)
    event_rate = check_fraction(event_rate, "event_rate")
    tau = check_positive(tau, "tau")
    baseline = check_nonnegative_number(baseline, "baseline")
    noise = check_nonnegative_number(noise, "noise")
    rng = check_random_state(random_state)
    U = np.zeros((n_neurons, n_assemblies))
    for k in range(n_assemblies):
        members = rng.choice(n_neurons, size=assembly_size, replace=False)
        U[members, k] = rng.uniform(0.5, 1.5, size=assembly_size)
    events = (rng.random((n_timepoints, n_assemblies)) < event_rate)
    events = events * rng.uniform(0.5, 2.0, size=events.shape)
    # Each event decays exponentially: a causal filter run along time.
    decay = np.exp(-1.0 / tau)
    V = np.zeros_like(events)
    level = np.zeros(n_assemblies)
    for t in range(n_timepoints):
        level = decay * level + events[t]
        V[t] = level
    X = U @ V.T + baseline + noise * rng.standard_normal((n_neurons, n_timepoints))
    return np.maximum(X, 0.0), U, V


def celltype_counts(n_cells=300, n_genes=200, n_types=4, markers_per_type=20, depth=5.0,
                    fold_change=6.0, dispersion=None, random_state=None):
    """Cells x genes expression counts from a few cell types with marker genes.

    Each type ``k`` has an expression profile ``V[:, k]`` (a shared background plus
    ``markers_per_type`` marker genes raised by ``fold_change``); cell ``i`` of type ``k`` has
    mean counts ``size_i * V[:, k]``, with a log-normal size factor ``size_i`` (sequencing
    depth). Counts are Poisson, or negative binomial with the given ``dispersion``
    (variance = mean + dispersion * mean**2), as in single-cell RNA-seq.

    Parameters
    ----------
    n_cells, n_genes : int
        Shape of ``X`` (cells are rows).
    n_types : int
        Number of cell types (the true rank).
    markers_per_type : int
        Marker genes per type (disjoint sets; ``n_types * markers_per_type <= n_genes``).
    depth : float
        Mean count of a background gene.
    fold_change : float
        How much higher a marker gene is in its own type.
    dispersion : float or None
        ``None`` for Poisson counts, a positive number for negative-binomial counts.
    random_state : int, numpy Generator or None

    Returns
    -------
    X : ndarray of shape (n_cells, n_genes)
        Nonnegative integer counts (float dtype).
    labels : ndarray of shape (n_cells,)
        The true type of each cell, ``0 .. n_types - 1``.
    U : ndarray of shape (n_cells, n_types)
        Size factor in the column of each cell's type, zero elsewhere.
    V : ndarray of shape (n_genes, n_types)
        Mean expression profile of each type; ``E[X] = U @ V.T``.

    Examples
    --------
    >>> X, labels, U, V = celltype_counts(random_state=0)
    >>> X.shape, bool((X == X.round()).all()), sorted(set(labels.tolist()))
    ((300, 200), True, [0, 1, 2, 3])
    """
    n_cells = check_int(n_cells, "n_cells", minimum=1)
    n_genes = check_int(n_genes, "n_genes", minimum=1)
    n_types = check_int(n_types, "n_types", minimum=1, maximum=n_cells)
    markers_per_type = check_int(markers_per_type, "markers_per_type", minimum=0)
    if n_types * markers_per_type > n_genes:
        raise ValueError(f"n_types * markers_per_type = {n_types * markers_per_type} marker genes "
                         f"do not fit in n_genes = {n_genes}.")
    depth = check_positive(depth, "depth")
    fold_change = check_positive(fold_change, "fold_change")
    if dispersion is not None:
        dispersion = check_positive(dispersion, "dispersion")
    rng = check_random_state(random_state)
    background = depth * rng.gamma(2.0, 0.5, size=n_genes)
    V = np.tile(background[:, None], (1, n_types)) * rng.uniform(0.3, 1.0, size=(n_genes, n_types))
    markers = rng.permutation(n_genes)[: n_types * markers_per_type].reshape(n_types, -1)
    for k in range(n_types):
        V[markers[k], k] = fold_change * background[markers[k]]
    labels = np.sort(rng.integers(n_types, size=n_cells))
    size = rng.lognormal(0.0, 0.3, size=n_cells)
    U = np.zeros((n_cells, n_types))
    U[np.arange(n_cells), labels] = size
    mean = U @ V.T
    if dispersion is None:
        X = rng.poisson(mean)
    else:
        # Negative binomial as a gamma-Poisson mixture with shape 1 / dispersion.
        X = rng.poisson(rng.gamma(1.0 / dispersion, dispersion * mean))
    return X.astype(float), labels, U, V


def binary_lowrank(n_samples=100, n_features=80, rank=3, scale=2.0, offset=0.0,
                   random_state=None):
    """Binary data: ``X_ij ~ Bernoulli(sigmoid(offset + (U V^T)_ij))`` with known low rank.

    Parameters
    ----------
    n_samples, n_features : int
    rank : int
        Rank of the logit matrix ``U V^T``.
    scale : float
        Standard deviation of the logits (larger = more deterministic data).
    offset : float
        Constant added to every logit (negative = sparser data, like spikes in short bins).
    random_state : int, numpy Generator or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) with entries 0.0 or 1.0
    U : ndarray of shape (n_samples, rank)
    V : ndarray of shape (n_features, rank)
        The logits are ``offset + U @ V.T``.

    Examples
    --------
    >>> X, U, V = binary_lowrank(random_state=0)
    >>> X.shape, sorted(set(X.ravel().tolist()))
    ((100, 80), [0.0, 1.0])
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    rank = check_int(rank, "rank", minimum=1, maximum=min(n_samples, n_features))
    scale = check_positive(scale, "scale")
    if not np.isfinite(offset):
        raise ValueError(f"offset must be finite, got {offset}.")
    rng = check_random_state(random_state)
    U = rng.standard_normal((n_samples, rank))
    V = rng.standard_normal((n_features, rank)) * (scale / np.sqrt(rank))
    logits = offset + U @ V.T
    X = (rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))).astype(float)
    return X, U, V
