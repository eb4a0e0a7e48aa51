"""Trial-structured neural data (neurons x time x trials) with known CP factors.

Each component is an assembly of neurons (nonnegative, sparse loadings) that fires with its own
time course within a trial (a Gaussian bump at its own latency) and with its own amplitude
across trials. The trial amplitudes are what makes the data interesting to a neuroscientist:

* component 0 **learns**: a sigmoid that rises over the session;
* component 1 **adapts**: an exponential decay;
* component 2 depends on the **trial type** (two interleaved conditions);
* further components drift slowly (smoothed random walks).

The data are ``X = sum_r a_r ∘ b_r ∘ c_r + noise`` exactly, so CP of the right rank recovers the
three factor sets while PCA of any unfolding mixes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._backend import check_random_state
from .._validate import check_int, check_nonnegative_number

__all__ = ["TrialTensor", "trial_tensor"]


@dataclass
class TrialTensor:
    """A synthetic trial tensor and the truth that made it.

    Attributes
    ----------
    X : ndarray of shape (n_neurons, n_time, n_trials)
        The data: CP tensor plus Gaussian noise.
    factors : list of three ndarrays
        Neuron ``(n_neurons, rank)``, time ``(n_time, rank)`` and trial ``(n_trials, rank)``
        factors, nonnegative, with ``X ≈ einsum("ir,jr,kr->ijk", *factors)``.
    trial_type : ndarray of shape (n_trials,)
        Condition of each trial (0 or 1), which drives component 2.
    noise : float
        Noise standard deviation, relative to the standard deviation of the noiseless tensor.
    """

    X: np.ndarray
    factors: list
    trial_type: np.ndarray
    noise: float

    def __iter__(self):
        # allows ``X, factors, trial_type = trial_tensor(...)``
        return iter((self.X, self.factors, self.trial_type))


def _trial_profiles(n_trials, rank, trial_type, rng):
    k = np.arange(n_trials) / max(n_trials - 1, 1)
    profiles = [0.1 + 0.9 / (1 + np.exp(-(k - 0.4) / 0.06)),  # learning
                0.2 + 0.8 * np.exp(-k / 0.3),  # adaptation
                np.where(trial_type == 1, 1.0, 0.25)]  # condition
    for _ in range(3, rank):
        walk = np.cumsum(rng.standard_normal(n_trials)) / np.sqrt(n_trials)
        smooth = np.convolve(walk, np.ones(5) / 5, mode="same")
        profiles.append(0.5 + (smooth - smooth.min()) / (np.ptp(smooth) + 1e-12))
    return np.stack(profiles[:rank], axis=1)


def trial_tensor(n_neurons=60, n_time=50, n_trials=80, rank=3, noise=0.1, random_state=None):
    """Draw neurons x time x trials data from known nonnegative CP factors.

    Parameters
    ----------
    n_neurons, n_time, n_trials : int
        Shape of the tensor.
    rank : int
        Number of components (assemblies); the first three have the learning, adaptation and
        trial-type profiles described in the module docstring.
    noise : float
        Gaussian noise standard deviation relative to the standard deviation of the signal.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    TrialTensor
        ``X``, ``factors`` (neurons, time, trials), ``trial_type``, ``noise``; it also unpacks
        as ``X, factors, trial_type``.

    Examples
    --------
    >>> X, factors, trial_type = trial_tensor(20, 15, 10, rank=2, noise=0.0, random_state=0)
    >>> X.shape, [f.shape for f in factors]
    ((20, 15, 10), [(20, 2), (15, 2), (10, 2)])
    >>> bool(np.allclose(X, np.einsum("ir,jr,kr->ijk", *factors)))
    True
    """
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    n_time = check_int(n_time, "n_time", minimum=1)
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    rank = check_int(rank, "rank", minimum=1)
    noise = check_nonnegative_number(noise, "noise")
    rng = check_random_state(random_state)

    # assemblies: each neuron joins a component with probability 0.35 (at least 3 members)
    member = rng.random((n_neurons, rank)) < 0.35
    for r in range(rank):
        if member[:, r].sum() < min(3, n_neurons):
            member[rng.choice(n_neurons, min(3, n_neurons), replace=False), r] = True
    neurons = member * rng.gamma(2.0, 0.5, size=(n_neurons, rank))

    t = np.linspace(0, 1, n_time)
    latencies = np.linspace(0.2, 0.8, rank) if rank > 1 else np.array([0.5])
    widths = rng.uniform(0.05, 0.12, size=rank)
    times = np.exp(-0.5 * ((t[:, None] - latencies[None, :]) / widths[None, :]) ** 2)

    trial_type = rng.permutation(np.arange(n_trials) % 2)
    trials = _trial_profiles(n_trials, rank, trial_type, rng)

    signal = np.einsum("ir,jr,kr->ijk", neurons, times, trials)
    X = signal + noise * signal.std() * rng.standard_normal(signal.shape)
    return TrialTensor(X, [neurons, times, trials], trial_type, noise)
