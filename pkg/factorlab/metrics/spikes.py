"""Scoring learned spike templates and detected spikes against the truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.signal import find_peaks

from .._backend import to_numpy
from .._validate import _check_real, check_array, check_int, check_nonnegative_number

__all__ = ["template_error", "detect_spikes", "match_spikes", "DetectionCurve",
           "spike_detection_curve"]


def template_error(true, learned, max_lag=None):
    """Template error: sine of the angle between each true and its matched learned filter.

    For unit-norm ``h`` and ``g`` the error is ``sqrt(1 - <h, g>^2)``: 0 for the same shape (up
    to sign), 1 for orthogonal shapes. Learned filters are matched one-to-one to true templates
    (Hungarian assignment on the errors), each at its best shift within ``±max_lag`` samples,
    since a dictionary is only identifiable up to order and small shifts.

    Parameters
    ----------
    true : array of shape (n_true, K)
    learned : array of shape (n_learned, K)
        Normalised here, so any scale is fine.
    max_lag : int, optional
        Largest shift tried (default ``K - 1``: all overlaps); 0 compares aligned filters.

    Returns
    -------
    errors : ndarray of shape (n_true,)
        1.0 for a true template left without a learned filter.
    assignment : int ndarray of shape (n_true,)
        Index of the matched learned filter (-1 if none).
    lags : int ndarray of shape (n_true,)
        Shift ``l`` with ``learned[k + l] ≈ true[k]``: a spike with onset ``t`` shows up in the
        matched code at ``t - l``.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([[0.0, 1.0, 0.0, 0.0], [0.6, 0.0, 0.8, 0.0]])
    >>> err, assign, lags = template_error(h, np.roll(h[::-1], 1, axis=1))
    >>> np.round(err, 6).tolist(), assign.tolist(), lags.tolist()
    ([0.0, 0.0], [1, 0], [1, 1])
    """
    H = check_array(to_numpy(true), "true", ndim=2)
    G = check_array(to_numpy(learned), "learned", ndim=2)
    if H.shape[1] != G.shape[1]:
        raise ValueError(f"true and learned filters must have the same length, got {H.shape[1]} "
                         f"and {G.shape[1]}.")
    K = H.shape[1]
    max_lag = K - 1 if max_lag is None else check_int(max_lag, "max_lag", minimum=0, maximum=K - 1)
    H = H / np.linalg.norm(H, axis=1, keepdims=True).clip(1e-300)
    G = G / np.linalg.norm(G, axis=1, keepdims=True).clip(1e-300)
    err = np.ones((len(H), len(G)))
    lag = np.zeros((len(H), len(G)), dtype=int)
    lags_all = np.arange(-(K - 1), K)
    keep = np.abs(lags_all) <= max_lag
    for i, h in enumerate(H):
        for j, g in enumerate(G):
            corr = np.abs(np.correlate(g, h, "full"))[keep]
            k = int(np.argmax(corr))
            err[i, j] = np.sqrt(max(0.0, 1.0 - min(corr[k], 1.0) ** 2))
            lag[i, j] = lags_all[keep][k]
    rows, cols = linear_sum_assignment(err)
    errors, assignment, lags = np.ones(len(H)), -np.ones(len(H), dtype=int), np.zeros(len(H), dtype=int)
    errors[rows], assignment[rows], lags[rows] = err[rows, cols], cols, lag[rows, cols]
    return errors, assignment, lags


def detect_spikes(code, threshold, min_distance=1):
    """Spike times in one code (or separated trace): local maxima at least ``threshold``.

    Parameters
    ----------
    code : 1-D array
    threshold : float
        Absolute height.
    min_distance : int
        Minimal samples between two detections (the larger peak wins).

    Returns
    -------
    int ndarray of sample indices

    Examples
    --------
    >>> detect_spikes([0, 2.0, 0.5, 0, 0, 1.0, 0], threshold=0.8).tolist()
    [1, 5]
    """
    code = np.asarray(to_numpy(code), dtype=float)
    if code.ndim != 1:
        raise ValueError(f"code must be 1-D, got shape {code.shape}.")
    threshold = _check_real(threshold, "threshold")
    peaks, _ = find_peaks(np.r_[-np.inf, code, -np.inf], height=threshold,
                          distance=check_int(min_distance, "min_distance", minimum=1))
    return peaks - 1


def match_spikes(true_times, detected, tol=5):
    """Match detections one-to-one to true spikes within ``±tol`` samples (in time order).

    Returns
    -------
    n_hits : int
        True spikes with a detection within the tolerance.
    n_true, n_detected : int

    Examples
    --------
    >>> match_spikes([10, 50, 90], [12, 49, 200], tol=3)
    (2, 3, 3)
    """
    t = np.sort(np.asarray(true_times, dtype=float))
    d = np.sort(np.asarray(detected, dtype=float))
    tol = check_nonnegative_number(tol, "tol")
    i = j = hits = 0
    while i < len(t) and j < len(d):
        if abs(t[i] - d[j]) <= tol:
            hits, i, j = hits + 1, i + 1, j + 1
        elif d[j] < t[i]:
            j += 1
        else:
            i += 1
    return hits, len(t), len(d)


@dataclass
class DetectionCurve:
    """Miss and false-alarm rates along a threshold sweep (pooled over neurons).

    ``miss`` = missed / true spikes; ``false_alarm`` = unmatched / detections;
    ``f1`` = harmonic mean of hit rate (1 - miss) and precision (1 - false_alarm).
    """

    thresholds: np.ndarray
    miss: np.ndarray
    false_alarm: np.ndarray
    f1: np.ndarray

    @property
    def best_f1(self) -> float:
        """F1 at the best threshold."""
        return float(self.f1.max())

    @property
    def best_threshold(self) -> float:
        """Relative threshold with the best F1."""
        return float(self.thresholds[int(np.argmax(self.f1))])


def spike_detection_curve(codes, spike_times, thresholds=None, tol=5, assignment=None, lags=None,
                          min_distance=None):
    """Score spike detection from sparse codes against true spike times over thresholds.

    For each true neuron ``c``, peaks of its matched code row above ``th * max(row)`` are
    detections (shifted by the template lag), matched within ``±tol`` samples to the true
    spikes. Counts are pooled over neurons at each relative threshold ``th``.

    Parameters
    ----------
    codes : array of shape (n_filters, n)
        Codes of the whole recording (e.g. ``model.encode(recording)``).
    spike_times : list of int arrays
        True onsets per neuron.
    thresholds : array, optional
        Relative thresholds (default 0.05, 0.10, ..., 0.95).
    tol : int
        Tolerance window (samples).
    assignment, lags : int arrays of shape (n_neurons,), optional
        From :func:`template_error` (default: filter c for neuron c, no lag).
    min_distance : int, optional
        Samples between detections in one code (default ``2 * tol + 1``).

    Returns
    -------
    DetectionCurve

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.zeros((1, 100)); codes[0, [10, 50]] = 2.0; codes[0, 80] = 0.3
    >>> curve = spike_detection_curve(codes, [np.array([10, 51])], thresholds=[0.1, 0.5])
    >>> curve.false_alarm.round(3).tolist(), curve.best_f1
    ([0.333, 0.0], 1.0)
    """
    X = check_array(to_numpy(codes), "codes", ndim=2)
    n_neurons = len(spike_times)
    assignment = np.arange(n_neurons) if assignment is None else np.asarray(assignment)
    lags = np.zeros(n_neurons, dtype=int) if lags is None else np.asarray(lags)
    if len(assignment) != n_neurons or len(lags) != n_neurons:
        raise ValueError("assignment and lags need one entry per neuron in spike_times.")
    thresholds = np.linspace(0.05, 0.95, 19) if thresholds is None else np.asarray(thresholds, float)
    min_distance = 2 * int(tol) + 1 if min_distance is None else min_distance
    miss, fa, f1 = [], [], []
    for th in thresholds:
        hits = n_true = n_det = 0
        for c in range(n_neurons):
            n_c = len(spike_times[c])
            if assignment[c] < 0:
                n_true += n_c
                continue
            row = X[assignment[c]]
            det = detect_spikes(row, th * max(float(row.max()), 1e-300), min_distance) + lags[c]
            h, nt, nd = match_spikes(spike_times[c], det, tol)
            hits, n_true, n_det = hits + h, n_true + nt, n_det + nd
        recall = hits / max(n_true, 1)
        precision = hits / n_det if n_det else 0.0
        miss.append(1 - recall)
        fa.append(1 - precision if n_det else 0.0)
        f1.append(2 * recall * precision / (recall + precision) if hits else 0.0)
    return DetectionCurve(thresholds, np.array(miss), np.array(fa), np.array(f1))
