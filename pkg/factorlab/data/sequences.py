"""Neural sequences with ground truth, for convolutional NMF (:mod:`factorlab.matrix.convnmf`).

Like the premotor neurons of a singing songbird (HVC), each neuron of a sequence fires at its
own delay after the sequence starts; sequences recur at random times; the other neurons, and
the members between sequences, fire at random.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_nonnegative_number, check_positive

__all__ = ["NeuralSequences", "neural_sequences"]


class NeuralSequences(NamedTuple):
    """The ground truth of :func:`neural_sequences`.

    Attributes
    ----------
    W : ndarray of shape (n_neurons, n_sequences, lag)
        Templates: the calcium-like response of each neuron ``l`` frames into each sequence.
    H : ndarray of shape (n_samples, n_sequences)
        Onsets: the amplitude of each sequence at each frame where it starts (0 elsewhere).
    members : list of ndarray
        The neurons taking part in each sequence.
    """

    W: np.ndarray
    H: np.ndarray
    members: list


def neural_sequences(n_neurons=60, n_samples=1500, n_sequences=3, lag=30,
                     neurons_per_sequence=None,
                     rate=None, tau=3.0, background_rate=0.0005, noise=0.02,
                     random_state=None):
    """Time x neurons activity made of repeating sequences (songbird-like), with the truth.

    Sequence ``k`` recruits ``neurons_per_sequence`` neurons, each firing once at a delay drawn
    uniformly over the first three quarters of ``lag`` frames (a chain), with a calcium-like
    response (jump, then exponential decay with ``tau`` frames) that the template keeps for the
    rest of the ``lag`` frames. Sequences start at random frames, at most one at a time and
    never closer than ``lag`` frames, with amplitudes between 0.5 and 1.5. Every neuron also
    fires at random (``background_rate`` per frame), and Gaussian noise of standard deviation
    ``noise`` is added (clipped at zero).

    Parameters
    ----------
    n_neurons, n_samples : int
        Shape of ``X`` is (n_samples, n_neurons): time points in rows.
    n_sequences : int
    lag : int
        Length of the true templates in frames.
    neurons_per_sequence : int, optional
        Default: ``n_neurons // (n_sequences + 1)`` (a quarter of the neurons stay outside).
    rate : float, optional
        Expected number of sequence onsets per frame, all sequences together; default one
        per ``3 lag`` frames.
    tau : float
        Decay time of a response, frames.
    background_rate : float
        Probability per frame that a neuron fires outside any sequence.
    noise : float
    random_state : int, numpy Generator or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_neurons), nonnegative
    truth : NeuralSequences

    Examples
    --------
    >>> X, truth = neural_sequences(random_state=0)
    >>> X.shape, truth.W.shape, truth.H.shape
    ((1500, 60), (60, 3, 30), (1500, 3))
    """
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_sequences = check_int(n_sequences, "n_sequences", minimum=1)
    lag = check_int(lag, "lag", minimum=2)
    size = n_neurons // (n_sequences + 1) if neurons_per_sequence is None else \
        neurons_per_sequence
    size = check_int(size, "neurons_per_sequence", minimum=1, maximum=n_neurons)
    rate = 1.0 / (3 * lag) if rate is None else check_positive(rate, "rate")
    tau = check_positive(tau, "tau")
    background_rate = check_nonnegative_number(background_rate, "background_rate")
    noise = check_nonnegative_number(noise, "noise")
    rng = check_random_state(random_state)

    response = np.exp(-np.arange(lag) / tau)
    W = np.zeros((n_neurons, n_sequences, lag))
    members = []
    for k in range(n_sequences):
        chosen = np.sort(rng.choice(n_neurons, size=size, replace=False))
        delays = rng.integers(0, max(1, (3 * lag) // 4), size=size)
        for n, d in zip(chosen, delays):
            W[n, k, d:] = response[:lag - d]
        members.append(chosen)
    H = np.zeros((n_samples, n_sequences))
    t = int(rng.geometric(rate))
    while t < n_samples:
        H[t, rng.integers(n_sequences)] = rng.uniform(0.5, 1.5)
        t += lag + int(rng.geometric(rate))
    # the model X_hat[t, n] = sum_{k, l} H[t - l, k] W[n, k, l], written out with NumPy
    X = np.zeros((n_samples, n_neurons))
    for l in range(lag):
        X[l:] += H[:n_samples - l] @ W[:, :, l].T
    spikes = (rng.random((n_samples, n_neurons)) < background_rate).astype(float)
    decay = np.exp(-1.0 / tau)
    level = np.zeros(n_neurons)
    for t in range(n_samples):
        level = decay * level + spikes[t]
        X[t] += level
    X += noise * rng.standard_normal(X.shape)
    return np.maximum(X, 0.0), NeuralSequences(W, H, members)
