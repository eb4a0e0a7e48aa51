"""Simulated extracellular recordings with known spike waveforms and spike times."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_positive

__all__ = ["SpikeRecording", "spike_recording", "spike_templates", "noisy_templates"]


@dataclass
class SpikeRecording:
    """A simulated recording and the ground truth that produced it.

    Attributes
    ----------
    recording : ndarray of shape (n_samples,)
        ``clean + noise``.
    clean : ndarray of shape (n_samples,)
        ``sum_c h_c * x_c`` without noise.
    templates : ndarray of shape (n_neurons, template_length), unit-norm rows
    codes : ndarray of shape (n_neurons, n_samples - template_length + 1)
        Spike amplitudes at spike onsets (zero elsewhere): ``clean`` is their convolution
        with the templates.
    spike_times : list of int arrays
        Onset sample of every spike of each neuron (a spike of neuron c at t adds
        ``a * templates[c]`` to ``recording[t:t + template_length]``).
    amplitudes : list of float arrays
    noise_std : float
    fs : float
        Sampling rate (Hz).
    """

    recording: np.ndarray
    clean: np.ndarray
    templates: np.ndarray
    codes: np.ndarray
    spike_times: list
    amplitudes: list
    noise_std: float
    fs: float


def spike_templates(n_neurons=3, template_length=45, max_similarity=0.8, random_state=None):
    """Distinct unit-norm spike waveforms: a sharp trough then a wider, later rebound.

    Trough width, rebound delay, width and size, and an optional small positive pre-peak are
    drawn per neuron; shapes are redrawn until every pair's largest normalised
    cross-correlation (over all lags) is below ``max_similarity``.

    Returns
    -------
    ndarray of shape (n_neurons, template_length)

    Examples
    --------
    >>> H = spike_templates(3, 45, random_state=0)
    >>> H.shape, bool(abs((H ** 2).sum(1) - 1).max() < 1e-12)
    ((3, 45), True)
    """
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    K = check_int(template_length, "template_length", minimum=8)
    rng = check_random_state(random_state)
    t = np.arange(K, dtype=float)
    out = []
    for _ in range(1000 * n_neurons):
        if len(out) == n_neurons:
            break
        t0 = rng.uniform(0.2, 0.35) * K
        w1 = rng.uniform(0.02, 0.09) * K
        delay = rng.uniform(0.1, 0.35) * K
        w2 = rng.uniform(0.06, 0.2) * K
        size = rng.uniform(0.1, 0.8)
        pre = rng.uniform(0.0, 0.6) * (rng.random() < 0.5)
        h = (-np.exp(-0.5 * ((t - t0) / w1) ** 2)
             + size * np.exp(-0.5 * ((t - t0 - delay) / w2) ** 2)
             + pre * np.exp(-0.5 * ((t - t0 + 2.5 * w1) / w1) ** 2))
        h -= h.mean() * np.hanning(K) / np.hanning(K).mean()  # no DC: it would mimic drift
        h /= np.linalg.norm(h)
        if all(np.abs(np.correlate(h, g, "full")).max() < max_similarity for g in out):
            out.append(h)
    if len(out) < n_neurons:
        raise ValueError(f"could not draw {n_neurons} templates with pairwise similarity below "
                         f"max_similarity={max_similarity}; raise it or ask for fewer neurons.")
    return np.array(out)


def spike_recording(duration=10.0, n_neurons=3, template_length=45, fs=10_000.0,
                    rate_range=(10.0, 30.0), rate_modulation=0.5, refractory=None,
                    amplitude=2.0, amplitude_jitter=0.1, snr_db=16.0, random_state=None):
    """Simulate an extracellular trace: a few neurons, their spikes, and white noise.

    Each neuron has its own waveform (:func:`spike_templates`), a mean rate drawn uniformly from
    ``rate_range`` and modulated slowly (a sinusoid of 0.2-1 Hz and relative depth
    ``rate_modulation``: firing-rate variability), a refractory period during which it cannot
    fire again (no overlap with its own previous spike), and amplitudes
    ``N(amplitude, amplitude_jitter)``. White Gaussian noise is added at ``snr_db``, defined as
    in the CRsAE experiments: noise std = std of the nonzero clean samples / 10^(SNR/20).

    Parameters
    ----------
    duration : float
        Seconds.
    n_neurons, template_length : int
    fs : float
        Sampling rate (Hz).
    rate_range : (float, float)
        Range of mean firing rates (Hz).
    rate_modulation : float in [0, 1)
    refractory : int, optional
        Samples; default ``template_length``.
    amplitude, amplitude_jitter : float
    snr_db : float
    random_state : int, numpy Generator or None

    Returns
    -------
    SpikeRecording

    Examples
    --------
    >>> rec = spike_recording(duration=1.0, n_neurons=2, template_length=30, random_state=0)
    >>> rec.recording.shape, rec.templates.shape
    ((10000,), (2, 30))
    >>> H, X = rec.templates, rec.codes
    >>> clean = sum(np.convolve(X[c], H[c]) for c in range(2))
    >>> bool(np.allclose(clean, rec.clean))
    True
    """
    duration = check_positive(duration, "duration")
    fs = check_positive(fs, "fs")
    K = check_int(template_length, "template_length", minimum=8)
    n = int(round(duration * fs))
    if n < 2 * K:
        raise ValueError(f"duration * fs = {n} samples is too short for template_length={K}.")
    lo, hi = (float(r) for r in rate_range)
    if not 0 < lo <= hi:
        raise ValueError(f"rate_range must be (low, high) with 0 < low <= high, got {rate_range!r}.")
    if not 0 <= rate_modulation < 1:
        raise ValueError(f"rate_modulation must be in [0, 1), got {rate_modulation!r}.")
    refractory = K if refractory is None else check_int(refractory, "refractory", minimum=1)
    amplitude = check_positive(amplitude, "amplitude")
    snr_db = float(snr_db)
    rng = check_random_state(random_state)
    H = spike_templates(n_neurons, K, random_state=rng)
    n_code = n - K + 1
    X = np.zeros((n_neurons, n_code))
    times, amps = [], []
    for c in range(n_neurons):
        rate = rng.uniform(lo, hi)
        freq, phase = rng.uniform(0.2, 1.0), rng.uniform(0, 2 * np.pi)
        sec = np.arange(n_code) / fs
        p = rate * (1 + rate_modulation * np.sin(2 * np.pi * freq * sec + phase)) / fs
        # time rescaling: spikes where the integrated rate crosses unit-exponential steps
        cum = np.cumsum(p)
        t, next_level, spikes = 0, rng.exponential(), []
        while True:
            t = int(np.searchsorted(cum, next_level, side="left"))
            if t >= n_code:
                break
            spikes.append(t)
            # refractory: the next spike is looked for only after the dead time
            after = min(t + refractory, n_code - 1)
            next_level = cum[after] + rng.exponential()
        s = np.array(spikes, dtype=int)
        a = rng.normal(amplitude, amplitude_jitter, size=len(s))
        X[c, s] = a
        times.append(s)
        amps.append(a)
    clean = sum(np.convolve(X[c], H[c]) for c in range(n_neurons))
    nz = clean[np.abs(clean) > 1e-12]
    noise_std = float(nz.std() / 10 ** (snr_db / 20)) if nz.size else 0.0
    recording = clean + noise_std * rng.standard_normal(n)
    return SpikeRecording(recording=recording, clean=clean, templates=H, codes=X,
                          spike_times=times, amplitudes=amps, noise_std=noise_std, fs=fs)


def noisy_templates(templates, error_range=(0.4, 0.5), noise=0.12, random_state=None):
    """A noisy start for dictionary learning: each template plus white noise, renormalised,
    redrawn until its template error (sine of the angle to the truth) lies in ``error_range``.

    This is the CRsAE experiments' protocol for starting filters "close but clearly wrong".

    Parameters
    ----------
    templates : ndarray of shape (n_neurons, template_length), unit-norm rows
    error_range : (float, float)
        Accepted range of the per-template error, within (0, 1).
    noise : float
        Standard deviation of the added noise per sample (the error must be reachable with it).
    random_state : int, numpy Generator or None

    Returns
    -------
    ndarray of the shape of ``templates``, unit-norm rows

    Examples
    --------
    >>> H = spike_templates(2, 30, random_state=0)
    >>> start = noisy_templates(H, random_state=1)
    >>> err = np.sqrt(1 - np.sum(H * start, axis=1) ** 2)
    >>> bool(((err > 0.4) & (err < 0.5)).all())
    True
    """
    H = np.asarray(templates, dtype=float)
    if H.ndim != 2:
        raise ValueError(f"templates must have shape (n_neurons, template_length), got {H.shape}.")
    lo, hi = (float(e) for e in error_range)
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"error_range must be (low, high) with 0 <= low < high <= 1, got {error_range!r}.")
    noise = check_positive(noise, "noise")
    rng = check_random_state(random_state)
    out = []
    for h in H / np.linalg.norm(H, axis=1, keepdims=True):
        for _ in range(10_000):
            g = h + noise * rng.standard_normal(h.shape)
            g /= np.linalg.norm(g)
            if lo < np.sqrt(max(1 - (g @ h) ** 2, 0.0)) < hi:
                out.append(g)
                break
        else:
            raise ValueError(f"noise={noise} rarely gives an error in {error_range}: change noise.")
    return np.array(out)
