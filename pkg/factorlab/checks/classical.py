"""Checks for the classical exercises: PCA by ALS (exercise 1), the NMF practical (exercise 2)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles

from .._backend import to_numpy
from ._common import answer_array, call_student, placeholder, require

__all__ = [
    "check_celltype_agreement",
    "check_dominant_order",
    "check_marker_recall",
    "check_merged_types",
    "check_nestedness",
    "check_pca_als",
    "check_pca_equivalences",
    "check_principal_angles",
    "check_rank_by_gain",
    "check_rank_sweep",
    "check_standardized",
    "check_top_genes",
]


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
    V = answer_array("axes", V, (np.shape(X)[1], rank),
                     "features x rank: one principal axis per column")
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
        got = call_student(principal_angles, A.copy(), B.copy(), name="principal_angles(A, B)")
        placeholder("principal_angles(A, B)", got)
        got = np.asarray(to_numpy(got), dtype=float)
        require(got.shape == expected.shape,
                f"principal_angles should return one angle per column ({expected.size}), got "
                f"shape {got.shape}. With np.linalg.qr's default (reduced) mode Q has as many "
                "columns as A.")
        require(bool(np.isfinite(got).all()),
                "Some angles are NaN: rounding pushes a cosine a hair above 1, and arccos of "
                "that is NaN. Clip the singular values to [0, 1] before np.arccos.")
        require(not np.allclose(got, np.rad2deg(expected), atol=1e-4) or np.allclose(expected, 0),
                "These angles are in degrees; return radians (np.arccos gives radians: do not "
                "convert).")
        require(not np.allclose(np.sort(got)[::-1], np.cos(expected), atol=1e-6),
                "These are the cosines (the singular values); the angles are their arccos.")
        require(bool(np.all(np.diff(got) >= -1e-12)), "Return the angles in ascending order.")
        require(np.allclose(got, expected, atol=1e-6),
                "The angles are wrong. Orthonormalise both bases first (QR), then take arccos "
                "of the singular values of Q_Aᵀ Q_B (clipped to [0, 1]). A test case with "
                "columns of very different scale is what catches a missing orthonormalisation.")
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
    shape = "features x rank: one column per axis, the first rank rows of Vᵀ transposed"
    V_svd = answer_array("V_svd", V_svd, axes.shape, shape)
    V_eig = answer_array("V_eig", V_eig, axes.shape,
                         "features x rank: the eigenvectors are the columns of eigh's E")
    eigenvalues = answer_array("eigenvalues", eigenvalues, (rank,), "one per axis")
    require(np.rad2deg(subspace_angles(V_svd, axes)).max() < 1e-4,
            "V_svd is not the top right singular vectors of the centred data: use "
            "np.linalg.svd(Xc, full_matrices=False) and the first rows of Vᵀ, transposed.")
    Xraw = np.asarray(X, float)
    _, E_raw = np.linalg.eigh(Xraw.T @ Xraw)
    require(np.rad2deg(subspace_angles(V_eig, E_raw[:, ::-1][:, :rank])).max() > 1e-4
            or np.rad2deg(subspace_angles(V_eig, axes)).max() < 1e-4,
            "V_eig are the eigenvectors of Xᵀ X of the raw data: centre X first (Xc).")
    if np.rad2deg(subspace_angles(V_eig, axes)).max() >= 1e-4:
        _, E = np.linalg.eigh(Xc.T @ Xc)
        require(np.rad2deg(subspace_angles(V_eig, E[:, :rank])).max() > 1e-4,
                "V_eig spans the bottom of the spectrum: np.linalg.eigh returns eigenvalues in "
                "ascending order, so take the last columns (and reverse them).")
        require(not np.allclose(np.abs(V_eig), np.abs(E[::-1][:rank].T))
                and not np.allclose(np.abs(V_eig), np.abs(E[-rank:].T)),
                "V_eig is made of rows of eigh's E; its eigenvectors are the columns, E[:, k].")
        require(False, "V_eig does not span the top principal subspace: the top eigenvectors "
                "of the covariance of the centred data, the last columns of eigh's E reversed.")
    expected = s[:rank] ** 2 / (Xc.shape[0] - 1)
    if not np.allclose(eigenvalues, expected, rtol=1e-6):
        m = Xc.shape[0]
        require(not np.allclose(eigenvalues, expected[::-1], rtol=1e-6),
                "The eigenvalues are in ascending order (np.linalg.eigh's): reverse them, "
                "largest first, in the same order as V_eig's columns.")
        require(not np.allclose(eigenvalues, s[:rank], rtol=1e-6),
                "These are the singular values s of the centred data; the covariance "
                "eigenvalues are s² / (m - 1).")
        require(not np.allclose(eigenvalues, expected * (m - 1) / m, rtol=1e-6),
                "The eigenvalues are divided by m: the sample covariance divides by m - 1.")
        require(not np.allclose(eigenvalues, expected * (m - 1), rtol=1e-6),
                "These are the eigenvalues of Xcᵀ Xc: divide by m - 1 for the covariance.")
        require(False, "The eigenvalues are not the top eigenvalues of the covariance "
                "Xcᵀ Xc / (m - 1) of the centred data, largest first.")
    print("✓ SVD and covariance eigenvectors span the same subspace; eigenvalues = s² / (m - 1).")


def _placeholder(name, value) -> None:
    require(value is not None and value is not Ellipsis,
            f"{name} is still a placeholder (...): fill in the exercise first.")


def _vector(name, value, length):
    """A student's 1-D answer as a float array of ``length`` finite entries."""
    _placeholder(name, value)
    arr = np.asarray(to_numpy(value), dtype=float)
    require(arr.shape == (length,),
            f"{name} should hold {length} numbers, one per rank, got shape {arr.shape}.")
    require(bool(np.isfinite(arr).all()), f"{name} contains NaN or inf.")
    return arr


def _relative_error(model, X) -> float:
    U, V = (np.asarray(to_numpy(getattr(model, a)), float) for a in ("U_", "V_"))
    return float(np.linalg.norm(X - U @ V.T) / np.linalg.norm(X))


def _svd_bounds(X, ranks) -> np.ndarray:
    s = np.linalg.svd(np.asarray(X, float), compute_uv=False)
    return np.array([np.sqrt(np.sum(s[r:] ** 2)) for r in ranks]) / np.linalg.norm(s)


def check_standardized(Xs, X) -> None:
    """Check that ``Xs`` is ``X`` with every column divided by its standard deviation (no centring).

    Either standard deviation (``ddof=0``, NumPy's default, or ``ddof=1``) is accepted; genes
    with zero variance may be left as they are.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).poisson(3.0, size=(20, 4)).astype(float)
    >>> check_standardized(X / X.std(0), X)
    ✓ every gene has standard deviation 1 and the data are still nonnegative.
    """
    X = np.asarray(to_numpy(X), float)
    _placeholder("Xs", Xs)
    Xs = np.asarray(to_numpy(Xs), float)
    require(Xs.shape == X.shape, f"Xs should have the shape of X, {X.shape}, got {Xs.shape}: "
            "divide every entry by its gene's standard deviation, do not reduce X.")
    require(bool(np.isfinite(Xs).all()), "Xs contains NaN or inf: is there a gene with zero "
            "variance? Divide by np.where(std > 0, std, 1).")
    require(not np.allclose(Xs, X), "Xs is still X: divide every gene (column) by its "
            "standard deviation.")
    require(Xs.min() >= 0, "Xs has negative entries: do not subtract the mean — NMF needs "
            "nonnegative data. Only divide each column by its standard deviation.")

    def same(Y):
        return Y.shape == X.shape and np.allclose(Xs, Y, rtol=1e-5, atol=1e-8)

    def per(scale):
        scale = np.asarray(scale, float)
        return X / np.where(scale > 0, scale, 1)

    if same(per(X.std(0))) or same(per(X.std(0, ddof=1))):
        print("✓ every gene has standard deviation 1 and the data are still nonnegative.")
        return
    require(not same(per(X.std(1, keepdims=True))),
            "You divided every cell (row) by its standard deviation; scale every gene "
            "(column) instead: the standard deviation along axis=0.")
    require(not same(X / X.std()), "You divided by one number, the standard deviation of all "
            "entries together; each gene (column) needs its own: X.std(axis=0).")
    require(not same(per(X.var(0))), "You divided by the variance; divide by the standard "
            "deviation, its square root.")
    require(False, "Each column (gene) of Xs should be the column of X divided by that column's "
            "standard deviation, X.std(axis=0) (not a row's, not the maximum, not the overall "
            "std).")


def check_rank_sweep(errors, X, ranks, slack: float = 0.05) -> None:
    """Check relative errors of NMF fits of ``X`` over ``ranks`` against the SVD bound.

    Each error must be a relative error (between 0 and 1), on or above the best any rank-r
    model can do (the SVD bound) and at most ``slack`` above it, and the errors must fall
    from the smallest rank to the largest.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((20, 10))
    >>> s = np.linalg.svd(X, compute_uv=False)
    >>> bound = [np.sqrt((s[r:] ** 2).sum()) / np.linalg.norm(X) for r in (1, 2)]
    >>> check_rank_sweep([b * 1.01 for b in bound], X, [1, 2])
    ✓ 2 errors, all on or above the SVD bound, falling from 0.447 to 0.381.
    """
    ranks = [int(r) for r in ranks]
    errors = _vector("errors", errors, len(ranks))
    bound = _svd_bounds(X, ranks)
    require(bool(np.all(errors <= 1.0 + 1e-9)) and bool(np.all(errors >= 0)),
            "Relative errors lie between 0 and 1: divide ||X - W Hᵀ|| by ||X||.")
    require(errors[-1] < errors[0],
            "The error should fall as the rank grows: did you fit each model with its own rank "
            "(inside the loop), and append the error of the model just fitted?")
    if not np.all(errors >= bound - 1e-6):
        # the most specific diagnoses first: a rank off by one, then squared errors
        above = _svd_bounds(X, [r + 1 for r in ranks])
        require(not (np.all(errors >= above - 1e-6) and np.all(errors <= above + slack)),
                "Each error is below the SVD bound of its own rank but fits the bound of the "
                "next rank: the models have one component too many (rank=r + 1, or ranks "
                "counted from 0?). Fit fl.NMF(rank=r) with r from ranks.")
        root = np.sqrt(np.clip(errors, 0, None))
        require(not (np.all(root >= bound - 1e-6) and np.all(root <= bound + slack)),
                "These look like squared errors: take the norm itself, "
                "np.linalg.norm(X - W Hᵀ) / np.linalg.norm(X), not its square.")
    require(bool(np.all(errors >= bound - 1e-6)),
            "Some errors are below the SVD bound, which no model of that rank can beat: is each "
            "the relative Frobenius error ||X - W Hᵀ||_F / ||X||_F (not squared) of a model of "
            "exactly that rank, fitted to this X?")
    require(bool(np.all(errors <= bound + slack)),
            "Some errors are far above the best a model of that rank can do: is each the error "
            "of a model fitted to this same X (not to a scaled copy, and not a model left from "
            "an earlier cell), measured on the data it was fitted to?")
    print(f"✓ {len(ranks)} errors, all on or above the SVD bound, falling from {errors[0]:.3f} to "
          f"{errors[-1]:.3f}.")


def check_rank_by_gain(rank, errors, ranks, min_gain: float = 0.005) -> None:
    """Check a rank chosen by the stopping rule "add components while each still gains".

    Starting from the smallest rank, components are added while the next one reduces the
    relative error by at least ``min_gain``; ``rank`` is the last rank before the first gain
    below ``min_gain`` (the largest rank when every gain is large enough). ``errors`` are the
    relative errors at ``ranks`` (check them first with :func:`check_rank_sweep`).

    Examples
    --------
    >>> check_rank_by_gain(3, [0.5, 0.4, 0.35, 0.348, 0.347], [1, 2, 3, 4, 5], min_gain=0.01)
    ✓ rank 3: one more component would reduce the error by only 0.0020 (< 0.01).
    """
    ranks = [int(r) for r in ranks]
    errors = _vector("errors", errors, len(ranks))
    _placeholder("rank", rank)
    require(np.ndim(rank) == 0 and float(rank).is_integer(),
            f"rank should be a single whole number, got {rank!r}.")
    rank = int(rank)
    gains = errors[:-1] - errors[1:]
    small = np.flatnonzero(gains < min_gain)
    stop = int(small[0]) if small.size else len(ranks) - 1
    if rank == ranks[stop]:
        if stop < len(gains):
            print(f"✓ rank {rank}: one more component would reduce the error by only "
                  f"{gains[stop]:.4f} (< {min_gain:g}).")
        else:
            print(f"✓ rank {rank}: every added component gains at least {min_gain:g}, up to "
                  "the largest rank tried.")
        return
    require(rank in ranks, f"Rank {rank} is not one of the ranks you fitted ({ranks[0]} to "
            f"{ranks[-1]}). gains[i] belongs to ranks[i + 1]: convert a position in the list "
            "to a rank with ranks[...].")
    where = ranks.index(rank)
    require(not (where == stop - 1 and ranks[0] != 0 and rank == stop),
            "You gave a position in the list, not a rank: positions start at 0, ranks at "
            f"{ranks[0]}. Convert with ranks[i].")
    require(not (where == len(ranks) - 1),
            "The largest rank always has the lowest training error, so the error alone never "
            "stops there: use the gains, errors[i] - errors[i + 1].")
    require(where != stop + 1,
            "Off by one: gains[i] = errors[i] - errors[i + 1] is what the component added at "
            "rank ranks[i + 1] buys. When that gain is below min_gain, that component is not "
            "worth it: stop at ranks[i].")
    if where < stop:
        sign = (" (np.diff(errors) is negative while the error falls: the gains are "
                "-np.diff(errors))" if where == 0 else "")
        require(False, f"Too early: going from rank {rank} to {ranks[where + 1]} still reduces "
                f"the error by at least {min_gain:g}: keep adding components{sign}.")
    require(False, f"Rank {rank} is past the first component that gains less than "
            f"{min_gain:g}: stop at the last rank before the first gain below min_gain.")


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


def check_celltype_agreement(assigned, table, W, labels) -> float:
    """Check the dominant component of every cell and its table against the cell types.

    Parameters
    ----------
    assigned : array (cells,)
        The component with the largest loading in each row of ``W``.
    table : array (cell types, components)
        ``table[i, k]``: how many cells of type ``i`` have dominant component ``k``.
    W : array (cells, components)
        The cell factor of the model (``model.U_``).
    labels : array of int (cells,)
        The known cell type of every cell, ``0 .. types - 1``.

    Returns
    -------
    float
        The adjusted Rand index between ``assigned`` and ``labels`` (it ignores how the
        components are numbered; 1 = the same partition, about 0 = chance).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0.9, 0.1], [0.8, 0.3], [0.2, 0.7], [0.1, 0.5]])
    >>> labels = np.array([1, 1, 0, 2])
    >>> table = np.array([[0, 1], [2, 0], [0, 1]])
    >>> round(check_celltype_agreement(W.argmax(1), table, W, labels), 3)
    ✓ assigned and table are right; adjusted Rand index with the 3 types: 0.571.
    0.571
    """
    from sklearn.metrics import adjusted_rand_score

    W = np.asarray(to_numpy(W), float)
    labels = np.asarray(to_numpy(labels)).astype(int)
    n_cells, rank = W.shape
    n_types = int(labels.max()) + 1
    _placeholder("assigned", assigned)
    a = np.asarray(to_numpy(assigned))
    require(a.ndim == 1, f"assigned should be a 1-D array, one component number per cell; got "
            f"shape {a.shape}.")
    require(a.shape != (rank,) or rank == n_cells,
            f"assigned has {rank} entries, one per component: for each cell take the "
            "component with its largest loading, the argmax along axis=1 (across a row of W), "
            "not along axis=0.")
    require(a.shape == (n_cells,),
            f"assigned should have one entry per cell ({n_cells}), got {a.shape[0]}: use W "
            "(cells × components, the model's U_), not H (genes × components).")
    require(np.issubdtype(a.dtype, np.integer) or bool(np.all(a == np.round(a))),
            "assigned should hold component numbers (0, 1, ...), not loadings: argmax, not max.")
    a = a.astype(int)
    dominant = W.argmax(axis=1)
    require(not (np.array_equal(a, W.argmin(axis=1)) and not np.array_equal(a, dominant)),
            "assigned picks each cell's smallest loading; the dominant component is the largest.")
    wrong = int(np.sum(a != dominant))
    require(wrong == 0,
            f"assigned differs from the dominant component of W for {wrong} of {n_cells} cells. "
            "Compute it from this model's W (not from an earlier fit, a model of another rank, "
            "or with the cells reordered).")

    _placeholder("table", table)
    T = np.asarray(to_numpy(table), float)
    expected = np.zeros((n_types, rank))
    np.add.at(expected, (labels, dominant), 1)
    require(T.shape != (rank, n_types) or rank == n_types,
            "table is transposed: one row per cell type and one column per component, "
            "table[i, k] = number of cells of type i whose dominant component is k.")
    require(T.shape == (n_types, rank),
            f"table should have shape (cell types, components) = {(n_types, rank)}, got "
            f"{T.shape}.")
    require(not np.allclose(T.sum(axis=1), 1),
            "table holds fractions (each row sums to 1): count the cells instead.")
    require(np.isclose(T.sum(), n_cells),
            f"table should count every cell exactly once (total {n_cells}); its total is "
            f"{T.sum():g}.")
    require(np.allclose(T.sum(axis=1), expected.sum(axis=1)),
            "The rows of table should add up to the number of cells of each type "
            "(np.bincount(labels)): index the rows by labels and the columns by assigned.")
    require(np.allclose(T, expected),
            "The row totals are right but the counts are not: table[i, k] must count cells "
            "with labels == i AND assigned == k, the two arrays taken cell by cell in the same "
            "order (did you sort or shuffle one of them, or keep a table from an earlier fit?).")
    ari = float(adjusted_rand_score(labels, dominant))
    print(f"✓ assigned and table are right; adjusted Rand index with the {n_types} types: "
          f"{ari:.3f}.")
    return ari


def check_merged_types(merged_types, table, label_names) -> None:
    """Check the cell types that share the component chosen by the most types.

    Each cell type (row of ``table``) goes to the component that takes more of its cells than
    any other; ``merged_types`` must be the names of the types that go to the component chosen
    by the most types.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([[9, 1], [7, 3], [1, 8]])
    >>> check_merged_types(["a", "b"], table, ["a", "b", "c"])
    ✓ 2 cell types share component 0: a, b.
    """
    import textwrap

    T = np.asarray(to_numpy(table), float)
    names = np.asarray(label_names).astype(str)
    require(T.ndim == 2 and T.shape[0] == names.size,
            f"table should have one row per cell type ({names.size}); got shape {T.shape}. Pass "
            "the table checked in the previous part.")
    majority = T.argmax(axis=1)
    shared = int(np.bincount(majority, minlength=T.shape[1]).argmax())
    expected = set(names[majority == shared])
    _placeholder("merged_types", merged_types)
    got = list(np.atleast_1d(np.asarray(merged_types, dtype=object)))
    require(not all(isinstance(g, (int, np.integer)) for g in got),
            "Give the cell types' names (label_names[...]), not their indices.")
    got = [str(g) for g in got]
    unknown = sorted(set(got) - set(names))
    require(not unknown, f"Not cell types in label_names: {unknown}.")
    got_set = set(got)
    require(got_set == expected or got_set != set(names[T.argmax(axis=0)]),
            "Those are the largest type of each component (argmax down each column). Go the "
            "other way: for each cell type (row), the component that takes most of its cells "
            "(argmax along axis=1), then the component chosen by the most types.")
    require(len(got) == len(got_set), "Some cell types appear twice in merged_types.")
    if got_set != expected:
        require(got_set != set(names[T[:, shared] > 0]),
                "That is every type with at least one cell in the component; keep only the "
                "types that send more of their cells there than to any other component.")
        require(not got_set < expected,
                "Some types are missing: a type belongs to the component "
                "that takes more of its cells than any other, even when that is under half.")
        require(not got_set > expected,
                "Some of these types send more of their cells to another "
                "component.")
        require(False, "These are not the types that share the component chosen by the most "
                "cell types: for each row of table take the column with the largest count, "
                "then keep the types whose column is the most common one.")
    listed = ", ".join(n for n in names if n in expected)
    print(textwrap.fill(f"✓ {len(expected)} cell types share component {shared}: {listed}.",
                        width=78, subsequent_indent="  "))


def check_top_genes(top, H, feature_names) -> None:
    """Check the top genes of every component: one row per column of ``H``, largest first.

    Parameters
    ----------
    top : array of str (components, n)
        ``top[k]``: the names of the ``n`` genes with the largest loadings in ``H[:, k]``,
        largest first.
    H : array (genes, components)
        The gene factor (``model.V_``).
    feature_names : array of str (genes,)

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[0.9, 0.0], [0.1, 0.5], [0.4, 0.8]])
    >>> check_top_genes([["g0", "g2"], ["g2", "g1"]], H, ["g0", "g1", "g2"])
    ✓ top 2 genes of each of the 2 components, largest loading first.
    """
    H = np.asarray(to_numpy(H), float)
    names = np.asarray(feature_names).astype(str)
    n_genes, rank = H.shape
    _placeholder("top", top)
    T = np.asarray(top)
    require(T.ndim == 2, "top_genes should return one row of gene names per component: a 2-D "
            f"array (components, n); got shape {T.shape}.")
    require(not (T.shape[1] == rank and T.shape[0] != rank),
            "One row per component, please: your array has one column per component "
            "(transpose it).")
    require(T.shape[0] == rank, f"Expected one row per component ({rank}), got {T.shape[0]} "
            "rows. The components are the columns of H (genes × components).")
    require(not np.issubdtype(T.dtype, np.number),
            "Return gene names (feature_names[indices]), not indices.")
    index = {g: i for i, g in enumerate(names)}
    unknown = sorted({str(g) for g in T.ravel()} - set(index))
    require(not unknown, f"Not gene names: {unknown[:5]}.")
    n = T.shape[1]
    idx = np.array([[index[str(g)] for g in row] for row in T])
    for k in range(rank):
        got = H[idx[k], k]
        column = np.sort(H[:, k])
        require(not (np.allclose(np.sort(got), column[:n])
                     and not np.allclose(np.sort(got), column[::-1][:n][::-1])),
                f"Row {k} holds the genes with the smallest loadings: sort in decreasing order "
                "(np.argsort(-H[:, k]) or reverse np.argsort).")
        require(np.allclose(np.sort(got)[::-1], column[::-1][:n]),
                f"Row {k} should be the {n} genes with the largest values in column {k} of H "
                "(model.V_, genes × components). Did you use W (cells), the rows of H instead "
                "of its columns, or an H from another fit?")
        require(bool(np.all(np.diff(got) <= 1e-12)),
                f"Row {k} has the right genes but not in order: largest loading first.")
    print(f"✓ top {n} genes of each of the {rank} components, largest loading first.")


def check_marker_recall(found_log, found_scaled, model_log, model_scaled, X, Xs, feature_names,
                        markers, n: int = 10, slack: float = 0.05) -> None:
    """Check how many known marker genes the top genes of two models contain.

    ``model_log`` is an NMF of ``X`` and ``model_scaled`` one of the same rank of ``Xs`` (the
    genes scaled to unit variance). ``found_log`` and ``found_scaled`` are the numbers of
    ``markers`` that appear among the top ``n`` genes of at least one component of each model
    (each marker counted once).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace as Fit
    >>> X = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]])
    >>> m = Fit(U_=np.eye(2), V_=X.T)
    >>> check_marker_recall(2, 2, m, m, X, X, ["a", "b", "c"], ["a", "c"], n=1)
    ✓ known markers among the top 1 genes: 2 of 2 without scaling, 2 with.
    """
    X, Xs = (np.asarray(to_numpy(a), float) for a in (X, Xs))
    names = np.asarray(feature_names).astype(str)
    wanted = set(map(str, markers))
    for name, model in (("model_log", model_log), ("model_scaled", model_scaled)):
        require(getattr(model, "V_", None) is not None and getattr(model, "U_", None) is not None,
                f"{name} should be a fitted model (call .fit(...) first).")
    V_log, V_scaled = (np.asarray(to_numpy(m.V_), float) for m in (model_log, model_scaled))
    require(V_log.shape == V_scaled.shape,
            "Fit both models with the same rank, so that only the normalisation differs.")
    rank = V_log.shape[1]
    bound_log, bound_scaled = _svd_bounds(X, [rank])[0], _svd_bounds(Xs, [rank])[0]

    def excess(model):
        """How far the model is from the best rank-r fit of X and of Xs."""
        return _relative_error(model, X) - bound_log, _relative_error(model, Xs) - bound_scaled

    on_log, on_scaled = excess(model_log)
    require(on_log <= on_scaled, "model_log fits the scaled Xs better than X: pass the NMF of "
            "the unscaled X as model_log.")
    require(on_log <= slack, "model_log is not a good fit of X: pass the NMF of X of this rank.")
    on_log, on_scaled = excess(model_scaled)
    require(on_scaled <= on_log, "model_scaled fits X, not the scaled Xs: fit the new model on "
            "Xs (a model left from an earlier cell, or fit(X) by mistake?).")
    require(on_scaled <= slack, "model_scaled is not a good fit of Xs: fit fl.NMF of the same "
            "rank on Xs.")

    def tops(V):
        return [set(names[np.argsort(-V[:, k], kind="stable")[:n]]) for k in range(rank)]

    def count(V):
        return len(set().union(*tops(V)) & wanted)

    def count_repeats(V):
        return sum(len(t & wanted) for t in tops(V))

    answers = {}
    for name, value in (("found_log", found_log), ("found_scaled", found_scaled)):
        _placeholder(name, value)
        require(np.ndim(value) == 0 and float(value).is_integer(),
                f"{name} should be a whole number of genes, got {value!r}.")
        answers[name] = int(value)
    expect = {"found_log": count(V_log), "found_scaled": count(V_scaled)}
    if answers != expect:
        require(not (answers["found_log"] == expect["found_scaled"]
                     and answers["found_scaled"] == expect["found_log"]),
                "found_log and found_scaled are swapped: found_log belongs to model_log "
                "(unscaled X), found_scaled to model_scaled (Xs).")
        for name, V in (("found_log", V_log), ("found_scaled", V_scaled)):
            if answers[name] == expect[name]:
                continue
            require(answers[name] != count_repeats(V),
                    f"{name}: count each marker once, even when it is among the top genes of "
                    "several components (take the union of the top-gene sets first).")
            require(answers[name] != len(set().union(*tops(V))),
                    f"{name} counts all the top genes; count only those in markers.")
            require(not (name == "found_scaled" and answers[name] == expect["found_log"]),
                    "found_scaled is the count of the unscaled model: compute it from "
                    "model_scaled.V_ (a value left from an earlier cell?).")
            require(False, f"{name} should be the number of markers among the top {n} genes of "
                    "at least one component (model.V_, the largest loadings of each column).")
    print(f"✓ known markers among the top {n} genes: {expect['found_log']} of {len(wanted)} "
          f"without scaling, {expect['found_scaled']} with.")


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
            "Some PCA gaps are clearly above 0, but PCA's rank-r subspace lies inside its "
            "rank-(r+1) subspace: compare the axes V_ of the rank-r fit with those of the "
            "rank-(r + 1) fit of the same centred data.")
    require(not (nmf_gaps.max() <= 1.0 and nmf_gaps.max() > 0.01),
            "The NMF gaps are all below 1 but not zero: they look like radians "
            "(scipy.linalg.subspace_angles returns radians). Convert with np.rad2deg.")
    require(bool(np.any(nmf_gaps > 1.0)),
            "The NMF gaps are all ~0; NMF's rank-r factors are in general not inside the "
            "rank-(r+1) ones. Did you fit a separate NMF for each rank?")
    print(f"✓ PCA is nested (largest gap {pca_gaps.max():.3f}°); NMF is not (largest gap "
          f"{nmf_gaps.max():.1f}°).")


# --- exercise 1, one blank at a time ---------------------------------------------------------

def check_centre(centre) -> None:
    """Check ``centre(X)``: ``X`` minus its column means (every feature's mean is 0).

    Examples
    --------
    >>> check_centre(lambda X: X - X.mean(axis=0))
    ✓ centre subtracts every column's mean.
    """
    rng = np.random.default_rng(7)
    X = rng.standard_normal((9, 5)) + np.arange(1.0, 6.0) * [3.0, -2.0, 5.0, 1.0, 4.0]
    got = answer_array("centre(X)", call_student(centre, X.copy(), name="centre(X)"), X.shape,
                       "the shape of X: subtract the means, do not reduce X to them")
    want = X - X.mean(axis=0)
    if not np.allclose(got, want):
        require(not np.allclose(got, X), "centre returns X unchanged: subtract X.mean(axis=0).")
        require(not np.allclose(got, X - X.mean(axis=1, keepdims=True)),
                "You subtracted every row's mean; PCA centres every column (feature): "
                "X.mean(axis=0).")
        require(not np.allclose(got, X - X.mean()), "You subtracted one number, the mean of all "
                "entries; each column needs its own mean: X.mean(axis=0).")
        require(not np.allclose(got, want / X.std(axis=0))
                and not np.allclose(got, want / X.std(axis=0, ddof=1)),
                "You also divided by the standard deviation: PCA here only centres (subtract "
                "the column means, do not scale).")
        require(False, "centre(X) should be X minus the mean of each column, X.mean(axis=0).")
    print("✓ centre subtracts every column's mean.")


def check_als_updates(update_U, update_V) -> None:
    """Check ``update_U(Xc, V)`` (the least-squares ``U`` of ``Xc ≈ U Vᵀ`` for fixed ``V``,
    ``Xc V (VᵀV)⁻¹``) and ``update_V(Xc, U)`` (``Xcᵀ U (UᵀU)⁻¹``) on the check's own matrices.

    Examples
    --------
    >>> import numpy as np
    >>> check_als_updates(lambda X, V: np.linalg.solve(V.T @ V, (X @ V).T).T,
    ...                   lambda X, U: np.linalg.solve(U.T @ U, (X.T @ U).T).T)
    ✓ both updates are the least-squares solutions.
    """
    rng = np.random.default_rng(8)
    Xc = rng.standard_normal((30, 12))
    for name, func, F, data in (("update_U(Xc, V)", update_U, rng.standard_normal((12, 3)) * 3,
                                 Xc),
                                ("update_V(Xc, U)", update_V, rng.standard_normal((30, 3)) * 3,
                                 Xc.T)):
        other = "V" if name.startswith("update_U") else "U"
        rows = "samples" if other == "V" else "features"
        hint = ("np.linalg.solve(G, B) solves G Z = B: for Z G = B solve the transposed system, "
                "np.linalg.solve(G, B.T).T." + (" update_V works with Xc.T." if other == "U"
                                               else ""))
        out = call_student(func, Xc.copy(), F.copy(), name=name, hint=hint)
        got = answer_array(name, out, (data.shape[0], 3),
                           f"{rows} x rank: one row per row of " + ("Xc" if other == "V"
                                                                    else "Xcᵀ"), hint)
        B = data @ F
        G = F.T @ F
        want = np.linalg.solve(G, B.T).T
        if np.allclose(got, want):
            continue
        fixed = f"{other}ᵀ{other}"
        require(not np.allclose(got, B), f"{name} leaves out the Gram matrix: solve "
                f"Z ({fixed}) = ..., not just the product.")
        require(not np.allclose(got, B @ G), f"{name} multiplies by the Gram matrix {fixed}; "
                "divide by it instead (np.linalg.solve).")
        require(not np.allclose(got, B / np.diag(G)), f"{name} divides by the diagonal of "
                f"{fixed} only; the columns are not orthogonal, so solve with the whole r x r "
                "matrix.")
        require(False, f"{name} is not the least-squares solution: "
                + ("U = Xc V (VᵀV)⁻¹." if other == "V" else "V = Xcᵀ U (UᵀU)⁻¹."))
    print("✓ both updates are the least-squares solutions.")


def check_principal_axes(principal_axes) -> None:
    """Check ``principal_axes(U, V)``: scores and orthonormal axes with the same product
    ``U Vᵀ``, the axes ordered by singular value (QR of both, then the SVD of the core).

    Examples
    --------
    >>> import numpy as np
    >>> def principal_axes(U, V):
    ...     A, s, Bt = np.linalg.svd(U @ V.T, full_matrices=False)
    ...     return A[:, :U.shape[1]] * s[:U.shape[1]], Bt[:U.shape[1]].T
    >>> check_principal_axes(principal_axes)
    ✓ same product U Vᵀ, orthonormal axes in order of singular value.
    """
    rng = np.random.default_rng(9)
    r = 3
    U = rng.standard_normal((40, r)) * [4.0, 0.5, 2.0]
    V = rng.standard_normal((10, r)) @ np.array([[1.0, 0.7, 0.0], [0.0, 1.0, 0.4],
                                                 [0.3, 0.0, 1.0]])
    out = call_student(principal_axes, U.copy(), V.copy(), name="principal_axes(U, V)")
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            "principal_axes should return the pair scores, axes.")
    scores = answer_array("scores", out[0], U.shape, "samples x rank, like U")
    axes = answer_array("axes", out[1], V.shape, "features x rank, like V")
    P = U @ V.T
    # the steps the exercise describes, so that each mistake can be recognised exactly
    Qu, Ru = np.linalg.qr(U)
    Qv, Rv = np.linalg.qr(V)
    A, _, Bt = np.linalg.svd(Ru @ Rv.T)
    B = Qv @ Bt.T

    def same(a, b):
        return np.allclose(np.abs(a), np.abs(b), atol=1e-8)

    require(not (same(axes, Qv) and not same(axes, B)),
            "axes is the Q of the QR of V: an orthonormal basis of the right subspace, but not "
            "the principal axes. Rotate it by B from the SVD of the core R_u R_vᵀ = A S Bᵀ.")
    require(not same(axes, Qv @ Bt) or same(axes, B),
            "np.linalg.svd returns Bᵀ (its third output): the axes are Q_v @ Bt.T.")
    require(np.allclose(axes.T @ axes, np.eye(r), atol=1e-8),
            "The axes are not orthonormal: build them from Q_v (the QR of V) times B.")
    require(not same(scores, Qu @ A), "The scores have lost the singular values: they are "
            "Q_u A S (Qu @ A * s), not Q_u A, so that scores @ axes.T stays U @ V.T.")
    cos = np.abs(np.sum(axes * B, axis=0))
    if not np.all(cos > 1 - 1e-8):
        require(not np.allclose(np.sort(np.abs(axes.T @ B).max(axis=0)), 1, atol=1e-6),
                "The axes are the principal axes but out of order: keep the SVD's order, "
                "largest singular value first.")
        require(False, "The axes are orthonormal but not the principal axes: SVD of the core "
                "R_u R_vᵀ = A S Bᵀ, then axes = Q_v B (and scores = Q_u A S).")
    require(np.allclose(scores @ axes.T, P, atol=1e-8 * np.abs(P).max()),
            "scores @ axes.T is not U @ V.T: the rotation must keep the product; scores = "
            "Q_u A S with A and S from the SVD of R_u R_vᵀ.")
    print("✓ same product U Vᵀ, orthonormal axes in order of singular value.")
