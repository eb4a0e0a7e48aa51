"""Checks for the classical exercises: PCA by ALS (exercise 1), the NMF practical (exercise 2)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles

from .._backend import to_numpy
from ._common import answer_array, require

__all__ = ["check_pca_als", "check_principal_angles", "check_pca_equivalences",
           "check_standardized", "check_rank_sweep", "check_dominant_order",
           "check_celltype_agreement", "check_nestedness"]


def _top_axes(X, rank):
    Xc = np.asarray(X, float) - np.asarray(X, float).mean(0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc, s, Vt[:rank].T


def check_pca_als(V, X, rank: int, tol_degrees: float = 0.01) -> float:
    """Check principal axes ``V`` (features x rank) found by ALS on the centred ``X``.

    First the subspace (principal angles to the top ``rank`` right singular vectors of the
    centred data), then the axes themselves: orthonormal columns, each equal up to sign to the
    principal axis of the same order.

    Returns
    -------
    float
        The largest principal angle, in degrees.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((30, 6)) * [5, 4, 3, 1, 1, 1]
    >>> V = np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:2].T
    >>> check_pca_als(-V, X, rank=2) < 1e-6
    ✓ your axes span the principal subspace (largest angle 0.0000°) and are the principal axes.
    True
    """
    V = answer_array("V", V, (np.shape(X)[1], rank))
    _, _, axes = _top_axes(X, rank)
    worst = float(np.rad2deg(subspace_angles(V, axes)).max())
    require(worst <= tol_degrees,
            f"Your V is {worst:.2f}° away from the principal subspace. Did you centre X (subtract "
            "the column means) before ALS, and run enough sweeps?")
    require(np.allclose(V.T @ V, np.eye(rank), atol=1e-6),
            "V spans the right subspace but its columns are not orthonormal: ALS finds the "
            "subspace, not the axes. Orthonormalise: QR of U and of V, then the SVD of the small "
            "core R_u R_vᵀ.")
    cosines = np.abs(np.sum(V * axes, axis=0))
    require(bool(np.all(cosines > 1 - 1e-6)),
            "The columns of V are orthonormal and span the right subspace but are not the "
            "principal axes in order (|cos| with each axis: "
            f"{np.round(cosines, 3).tolist()}). Rotate by the SVD of the core R_u R_vᵀ and keep "
            "its order (largest singular value first).")
    print(f"✓ your axes span the principal subspace (largest angle {worst:.4f}°) and are the "
          "principal axes.")
    return worst


def check_principal_angles(principal_angles) -> None:
    """Check a function ``principal_angles(A, B)`` returning the principal angles (radians,
    ascending) between the column spans of ``A`` and ``B`` against SciPy on random matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import subspace_angles
    >>> check_principal_angles(lambda A, B: np.sort(subspace_angles(A, B)))
    ✓ principal angles agree with scipy.linalg.subspace_angles.
    """
    rng = np.random.default_rng(12345)
    cases = [(rng.standard_normal((20, 3)), rng.standard_normal((20, 3))),
             (rng.standard_normal((15, 2)) * [100.0, 0.01], rng.standard_normal((15, 2)))]
    Q = np.linalg.qr(rng.standard_normal((10, 3)))[0]
    cases.append((Q, Q @ rng.standard_normal((3, 3))))           # same span: all angles zero
    for A, B in cases:
        expected = np.sort(subspace_angles(A, B))
        got = to_numpy(principal_angles(A, B))
        require(got is not None and np.shape(got) == expected.shape,
                f"principal_angles should return {expected.size} angles, got {np.shape(got)}.")
        got = np.asarray(got, dtype=float)
        require(bool(np.all(np.diff(got) >= -1e-12)), "Return the angles in ascending order.")
        require(np.allclose(got, expected, atol=1e-6),
                f"Expected angles {np.round(expected, 4).tolist()} (radians), got "
                f"{np.round(got, 4).tolist()}. Orthonormalise both bases first (QR), then take "
                "arccos of the singular values of Q_Aᵀ Q_B (clip them to [0, 1]). Columns of "
                "very different scale are the test of the orthonormalisation.")
    print("✓ principal angles agree with scipy.linalg.subspace_angles.")


def check_pca_equivalences(V_svd, V_eig, eigenvalues, X, rank: int) -> None:
    """Check the three views of PCA on ``X``: SVD axes, covariance eigenvectors and eigenvalues.

    Parameters
    ----------
    V_svd : array (features, rank)
        Top right singular vectors of the centred data.
    V_eig : array (features, rank)
        Top eigenvectors of the covariance matrix.
    eigenvalues : array (rank,)
        The top eigenvalues of the covariance matrix, largest first.
    X : array (samples, features)
    rank : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((30, 5)) * [3, 2, 1, 1, 1]
    >>> Xc = X - X.mean(0)
    >>> w, E = np.linalg.eigh(np.cov(Xc.T))
    >>> V = np.linalg.svd(Xc)[2][:2].T
    >>> check_pca_equivalences(V, E[:, ::-1][:, :2], w[::-1][:2], X, 2)
    ✓ SVD and covariance eigenvectors span the same subspace; eigenvalues = s² / (m - 1).
    """
    Xc, s, axes = _top_axes(X, rank)
    V_svd = answer_array("V_svd", V_svd, axes.shape)
    V_eig = answer_array("V_eig", V_eig, axes.shape)
    eigenvalues = answer_array("eigenvalues", eigenvalues, (rank,))
    require(np.rad2deg(subspace_angles(V_svd, axes)).max() < 1e-4,
            "V_svd is not the top right singular vectors of the centred data: use "
            "np.linalg.svd(Xc, full_matrices=False) and the first rows of Vᵀ, transposed.")
    require(np.rad2deg(subspace_angles(V_eig, axes)).max() < 1e-4,
            "V_eig does not span the top principal subspace. np.linalg.eigh returns eigenvalues "
            "in ascending order: take the last columns (and reverse them).")
    expected = s[:rank] ** 2 / (Xc.shape[0] - 1)
    require(np.allclose(eigenvalues, expected, rtol=1e-6),
            f"Expected the top eigenvalues {np.round(expected, 4).tolist()}, got "
            f"{np.round(eigenvalues, 4).tolist()}. Use the covariance Xcᵀ Xc / (m - 1) of the "
            "centred data and sort from largest to smallest.")
    print("✓ SVD and covariance eigenvectors span the same subspace; eigenvalues = s² / (m - 1).")


def check_standardized(Xs, X) -> None:
    """Check that ``Xs`` is ``X`` with every column divided by its standard deviation (no centring).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).poisson(3.0, size=(20, 4)).astype(float)
    >>> check_standardized(X / X.std(0), X)
    ✓ every gene has standard deviation 1 and the data are still nonnegative.
    """
    X = np.asarray(X, float)
    Xs = answer_array("Xs", Xs, X.shape)
    require(Xs.min() >= 0, "Xs has negative entries: do not subtract the mean — NMF needs "
            "nonnegative data. Only divide each column by its standard deviation.")
    std = X.std(0)
    expected = X / np.where(std > 0, std, 1)
    require(np.allclose(Xs, expected, rtol=1e-6),
            "Each column (gene) of Xs should be the column of X divided by that column's standard "
            "deviation, X.std(axis=0) (not the rows, and not the overall std).")
    print("✓ every gene has standard deviation 1 and the data are still nonnegative.")


def check_rank_sweep(errors, X, ranks) -> None:
    """Check relative errors of NMF fits over ``ranks`` against the SVD bound.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((20, 10))
    >>> s = np.linalg.svd(X, compute_uv=False)
    >>> bound = [np.sqrt((s[r:] ** 2).sum()) / np.linalg.norm(X) for r in (1, 2)]
    >>> check_rank_sweep([b * 1.01 for b in bound], X, [1, 2])
    ✓ 2 errors, all on or above the SVD bound, falling from 0.447 to 0.381.
    """
    ranks = list(ranks)
    errors = answer_array("errors", errors, (len(ranks),))
    s = np.linalg.svd(np.asarray(X, float), compute_uv=False)
    bound = np.array([np.sqrt(np.sum(s[r:] ** 2)) for r in ranks]) / np.linalg.norm(s)
    require(bool(np.all(errors <= 1.0 + 1e-9)) and bool(np.all(errors >= 0)),
            "Relative errors lie between 0 and 1: divide ||X - U Vᵀ|| by ||X||.")
    require(bool(np.all(errors >= bound - 1e-6)),
            "Some errors are below the SVD bound, which no rank-r model can beat: use the "
            "relative Frobenius error ||X - U Vᵀ||_F / ||X||_F of the same standardised X.")
    require(errors[-1] < errors[0],
            "The error should fall as the rank grows; did you fit each model with its own rank?")
    print(f"✓ {len(ranks)} errors, all on or above the SVD bound, falling from {errors[0]:.3f} to "
          f"{errors[-1]:.3f}.")


def check_dominant_order(order, W) -> None:
    """Check a row order grouping rows of ``W`` by their largest factor, strongest first.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0.1, 0.9], [0.8, 0.1], [0.9, 0.2]])
    >>> check_dominant_order([2, 1, 0], W)
    ✓ rows grouped by dominant factor, strongest loading first within each group.
    """
    W = np.asarray(to_numpy(W), float)
    order = answer_array("order", order, (W.shape[0],)).astype(int)
    require(sorted(order.tolist()) == list(range(W.shape[0])),
            "order must be a permutation of the row indices (use np.lexsort or np.argsort).")
    dominant = W.argmax(1)[order]
    strength = W.max(1)[order]
    require(bool(np.all(np.diff(dominant) >= 0)),
            "Rows should be grouped by their dominant factor W.argmax(axis=1), factor 0 first.")
    same = np.diff(dominant) == 0
    require(bool(np.all(np.diff(strength)[same] <= 1e-12)),
            "Within each group, sort rows by their largest loading, strongest first "
            "(np.lexsort((-strength, dominant))).")
    print("✓ rows grouped by dominant factor, strongest loading first within each group.")


def check_celltype_agreement(assigned, labels, minimum: float = 0.9) -> float:
    """Check that factor assignments ``assigned`` (one int per cell) recover the cell types.

    Uses the adjusted Rand index, which ignores how the factors are numbered.

    Returns
    -------
    float
        The adjusted Rand index.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1, 2], 5)
    >>> round(check_celltype_agreement((labels + 1) % 3, labels), 3)
    ✓ the dominant factors recover the cell types (adjusted Rand index 1.000).
    1.0
    """
    from sklearn.metrics import adjusted_rand_score

    labels = np.asarray(labels)
    assigned = answer_array("assigned", assigned, labels.shape)
    ari = float(adjusted_rand_score(labels, assigned.astype(int)))
    require(ari >= minimum,
            f"Adjusted Rand index {ari:.3f} (1 = the same partition). Assign each cell to the "
            "factor with its largest loading, W.argmax(axis=1), for the rank-4 model.")
    print(f"✓ the dominant factors recover the cell types (adjusted Rand index {ari:.3f}).")
    return ari


def check_nestedness(pca_gaps, nmf_gaps) -> None:
    """Check the largest principal angle (degrees) between rank-r and rank-(r+1) factors.

    PCA is nested (all gaps zero); NMF in general is not (some gap clearly above zero).

    Examples
    --------
    >>> check_nestedness([0.0, 0.0], [0.5, 20.0])
    ✓ PCA is nested (largest gap 0.000°); NMF is not (largest gap 20.0°).
    """
    pca_gaps = np.asarray(pca_gaps, float)
    nmf_gaps = np.asarray(nmf_gaps, float)
    require(pca_gaps.shape == nmf_gaps.shape and pca_gaps.size > 0,
            "pca_gaps and nmf_gaps should each hold one angle per rank r.")
    require(bool(np.all(pca_gaps < 0.01)),
            f"PCA gaps {np.round(pca_gaps, 3).tolist()}° should all be ~0: PCA's rank-r subspace "
            "lies inside its rank-(r+1) subspace. Did you compare V_ of rank r with V_ of rank "
            "r + 1 and convert radians to degrees?")
    require(bool(np.any(nmf_gaps > 1.0)),
            f"NMF gaps {np.round(nmf_gaps, 3).tolist()}° are all ~0; expected at least one clearly "
            "above. Did you fit a separate NMF for each rank?")
    print(f"✓ PCA is nested (largest gap {pca_gaps.max():.3f}°); NMF is not (largest gap "
          f"{nmf_gaps.max():.1f}°).")
