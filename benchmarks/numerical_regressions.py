"""The numerical defects of issue 12, measured on any checkout (before and after a fix).

1. CP with some signed modes, ``CP(3, nonneg=[True, False, True])``, on exact rank-3 tensors
   (12 x 10 x 8; the middle factor Gaussian, the others uniform): how many of 20 fits end with
   a dead (all-zero) component, and the range of final relative errors.
2. ANLS NMF at rank 5 on small near-full-rank data (8 x 6 uniform): dead components in 180 fits.
3. Semi-NMF: the largest gap between ``fit_transform`` and ``transform`` on the training data,
   and the smallest coordinate ``transform`` gives (semi-NMF coordinates are nonnegative).
4. PCA with a rank above the data's (rank 6 on rank-3 data): the largest error of
   ``explained_variance_`` against numpy's SVD.

The API used (``fit(X)``, ``factors_``, ``U_``/``V_``) is the same before and after the
redesign, so the script runs on the old code too::

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


def semi_nmf_consistency():
    rng = np.random.default_rng(0)
    X = rng.exponential(size=(40, 3)) @ rng.standard_normal((3, 15))
    X += 0.1 * rng.standard_normal(X.shape)
    model = fl.SemiNMF(rank=3)
    U = model.fit_transform(X)
    T = model.transform(X)
    return float(np.abs(U - T).max()), float(T.min())


def pca_above_rank():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 20))
    model = fl.PCA(rank=6, random_state=0).fit(X)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)[:6]
    return float(np.abs(model.explained_variance_ - s**2 / 49).max())


def main():
    print(f"factorlab from {os.path.dirname(fl.__file__)}")
    dead, lo, hi = cp_signed_modes()
    print(f"CP(3, nonneg=[True, False, True]), exact rank-3 data: {dead} of 20 fits end with a "
          f"dead component; final relative error {lo:.1e} to {hi:.1e}")
    print(f"NMF(rank=5, solver='anls') on 8 x 6 data: {anls_small()} of 180 fits end with a "
          "dead component")
    gap, low = semi_nmf_consistency()
    print(f"SemiNMF(rank=3): max |fit_transform - transform| = {gap:.1e}, smallest transform "
          f"coordinate {low:.1e}")
    print(f"PCA(rank=6) on rank-3 data: max |explained_variance_ - SVD| = {pca_above_rank():.1e}")


if __name__ == "__main__":
    main()
