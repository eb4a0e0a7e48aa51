"""Synthetic data with ground truth (movie files are read and written by :mod:`factorlab.io`).

Every generator takes ``random_state`` and returns the data together with the factors, masks or
spikes that produced it, so that every method in the book can be scored against the truth.
"""

from .calcium import CalciumMovie, calcium_movie
from .images import noisy_patches
from .lowrank import lowrank_matrix
from .neural import binary_lowrank, cell_assemblies, celltype_counts
from .sequences import NeuralSequences, neural_sequences
from .spikes import SpikeRecording, noisy_templates, spike_recording, spike_templates
from .trials import TrialTensor, trial_tensor
from .var_movie import VARMovie, var_movie
from .video import SurveillanceVideo, camera_motion, surveillance_video

__all__ = [
    # matrices and tensors
    "lowrank_matrix", "cell_assemblies", "celltype_counts", "binary_lowrank",
    "NeuralSequences", "neural_sequences",
    "TrialTensor", "trial_tensor",
    # movies and recordings
    "CalciumMovie", "calcium_movie", "SurveillanceVideo", "surveillance_video",
    "camera_motion", "SpikeRecording", "spike_recording", "spike_templates", "noisy_templates",
    "VARMovie", "var_movie",
    # images
    "noisy_patches",
]
