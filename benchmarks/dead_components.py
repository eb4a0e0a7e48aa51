"""How often a nonnegative fit ends with a dead (all-zero) component, and how well CP fits.

The two cases of issue 12 where a component died for good:

1. CP with some signed modes, ``CP(3, nonneg=[True, False, True])``, on exact rank-3 tensors
   (12 x 10 x 8; the middle factor Gaussian, the others uniform), one seed per tensor and start.
2. ANLS NMF at rank 5 on small near-full-rank data (8 x 6 uniform), one seed per matrix/start.

It prints, per case, how many fits ended with a dead component, and for CP the range of final
relative errors. Run it on any checkout to compare versions (the API it uses, ``fit(X)`` and
``factors_``/``U_``/``V_``, is the same before and after the redesign)::

    OMP_NUM_THREADS=1 python benchmarks/dead_components.py
    OMP_NUM_THREADS=1 PYTHONPATH=/path/to/old/pkg python benchmarks/dead_components.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import factorlab as fl  # noqa: E402


def _dead(factors) -> bool:
    return any(bool((np.abs(np.asarray(f)).max(0) == 0).any()) for f in factors)


def cp_signed_modes(n_fits=20):
    dead, errors = 0, []
    for seed in range(n_fits):
        rng = np.random.default_rng(seed)
        A, B, C = rng.random((12, 3)), rng.standard_normal((10, 3)), rng.random((8, 3))
        X = np.einsum("ir,jr,kr->ijk", A, B, C)
        model = fl.CP(3, nonneg=[True, False, True], random_state=seed).fit(X)
        dead += _dead(model.factors_)
        errors.append(float(model.loss_history_[-1]))
    return dead, min(errors), max(errors)


def anls_small(n_fits=180):
    dead = 0
    for seed in range(n_fits):
        X = np.random.default_rng(seed).random((8, 6))
        model = fl.NMF(rank=5, solver="anls", random_state=seed).fit(X)
        dead += _dead([model.U_, model.V_])
    return dead


def main():
    print(f"factorlab from {os.path.dirname(fl.__file__)}")
    dead, lo, hi = cp_signed_modes()
    print(f"CP(3, nonneg=[True, False, True]), exact rank-3 data: {dead} of 20 fits end with a "
          f"dead component; final relative error {lo:.1e} to {hi:.1e}")
    print(f"NMF(rank=5, solver='anls') on 8 x 6 data: {anls_small()} of 180 fits end with a "
          "dead component")


if __name__ == "__main__":
    main()
