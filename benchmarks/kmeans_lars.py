"""k-means and the LARS lasso path against scikit-learn, timed in the same run (issue 13, item 5).

k-means: ``factorlab.KMeansFactorization(k)`` at its defaults (10 greedy k-means++ starts,
tol 1e-4) against ``sklearn.cluster.KMeans(k, n_init=10)`` (also tol 1e-4) on ``make_blobs``
data; prints the median times of alternating runs, their ratio, the inertia ratio and the
adjusted Rand index between the two labelings. LARS: ``factorlab.lasso_path(X, y)`` (the whole
path, Gram matrix included) against ``sklearn.linear_model.lars_path(X, y, method="lasso")``;
prints the ratio, the number of knots of each and the largest knot and coefficient differences.
The "before" column is the implementation as it was before commit e072668 (non-greedy
k-means++ with Lloyd run until no label changes; LARS re-solving the active block and every
Schur complement at each step, then one closed-form solve per knot), copied into this file only
to print that column.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python benchmarks/kmeans_lars.py    # 4-7 minutes (--quick: seconds)
"""

import argparse
import os
import platform
import time

import numpy as np
import sklearn
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.linear_model import lars_path
from sklearn.metrics import adjusted_rand_score

import factorlab as fl
from factorlab._backend import check_random_state, to_torch
from factorlab.var.lasso import _DEGENERATE, _closed_form, _segment_of

torch.set_num_threads(1)


# ---- the code before e072668 (only for the "before" column) --------------------------------

def _old_lars_segments(gram, corr, alpha_min=0.0, max_steps=None):
    gram = np.asarray(gram, dtype=np.float64)
    corr = np.array(corr, dtype=np.float64)  # a copy: updated in place below
    p = corr.shape[0]
    max_steps = 8 * p if max_steps is None else max_steps
    beta = np.zeros(p)
    C = float(np.abs(corr).max()) if p else 0.0
    knots, segments = [C], []
    if C <= alpha_min:
        return np.array(knots), segments
    active = [int(np.argmax(np.abs(corr)))]
    diag = np.diag(gram)
    banned = -1  # a variable just dropped may not rejoin at the same point
    for _ in range(max_steps):
        A = np.array(active)
        signs = np.sign(corr[A])
        signs[signs == 0] = 1.0
        G_AA = gram[np.ix_(A, A)]
        solved = np.linalg.lstsq(G_AA, np.column_stack([signs, gram[A]]), rcond=None)[0]
        w = solved[:, 0]
        a = gram[:, A] @ w  # rate at which every correlation falls along the direction
        # A variable in the span of the active ones (a duplicated or collinear lag) would make
        # G_AA singular: its Schur complement G_jj - G_jA G_AA^-1 G_Aj is ~0, so it never joins.
        schur = diag - np.einsum("ij,ij->j", gram[A], solved[:, 1:])
        gamma, event, who = C - alpha_min, "stop", -1
        free = np.ones(p, dtype=bool)
        free[A] = False
        free &= schur > _DEGENERATE * np.maximum(diag, np.finfo(float).tiny)
        # Step at which each free variable's correlation reaches the shrinking maximum C - g,
        # with either sign; ties (numerator ~ 0) join at once. A variable just dropped sits at
        # the boundary it left: it may rejoin later in this step, but not at once (that would
        # undo the drop); banning it for the whole step loses a rejoin before alpha_min.
        just_left = np.zeros(p, dtype=bool)
        if banned >= 0:
            just_left[banned] = True
        steps = np.full(p, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for num, den in ((C - corr, 1.0 - a), (C + corr, 1.0 + a)):
                ok = free & (den > _DEGENERATE) & ~(just_left & (num <= _DEGENERATE * C))
                steps[ok] = np.fmin(steps[ok], np.maximum(num[ok] / den[ok], 0.0))
        j = int(np.argmin(steps))
        if steps[j] < gamma:
            gamma, event, who = float(steps[j]), "join", j
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = -beta[A] / w
        for k, g in zip(A, cross):
            if beta[k] != 0 and np.isfinite(g) and 0 < g < gamma:
                gamma, event, who = float(g), "drop", int(k)
        beta[A] += gamma * w
        corr -= gamma * a
        C -= gamma
        segments.append((A.copy(), signs.copy()))
        knots.append(max(C, alpha_min))
        if event == "stop":
            break
        if event == "drop":
            beta[who] = 0.0
            active.remove(who)
            banned = who
            if not active:  # cannot happen in exact arithmetic (b = 0 only at alpha_max)
                break
        else:
            active.append(who)
            banned = -1
    return np.array(knots), segments


class _OldObserved:
    """The data with its mask (``W`` is None when everything is observed), and the products
    that every distance computation reuses, computed once."""

    def __init__(self, T, W):
        self.T, self.W = T, W
        self.WT = T if W is None else W * T
        self.row_sq = (self.WT * T).sum(1, keepdim=True)
        counts = T.new_full((T.shape[1],), T.shape[0]) if W is None else W.sum(0)
        means = self.WT.sum(0) / counts.clamp_min(1)
        self.filled = self.WT if W is None else self.WT + (1 - W) * means

    def distances(self, V):
        """Squared distances from every row to every centroid over the observed entries only,
        Σ_j w_ij (x_ij − v_jk)², expanded so that no samples x features x rank array is built."""
        centroid_sq = (V * V).sum(0) if self.W is None else self.W @ (V * V)
        return self.row_sq - 2 * self.WT @ V + centroid_sq

    def member_means(self, U, V):
        """Censored least squares for the centroids: the mean of the observed members. An empty
        cluster (or a feature never observed in it) keeps its previous centroid value."""
        counts = U.sum(0).expand_as(V) if self.W is None else self.W.T @ U
        return torch.where(counts > 0, (self.WT.T @ U) / counts.clamp_min(1), V)


def _old_plus_plus(data, rank, rng):
    """k-means++ seeding: each new centroid is a data row drawn with probability ∝ its squared
    (observed-entry) distance to the nearest centroid so far. Unobserved entries of a seed row
    take the observed column means, so a seed never carries unobserved values."""
    n = data.T.shape[0]
    C = [data.filled[int(rng.integers(n))]]
    for _ in range(1, rank):
        d = data.distances(torch.stack(C, 1)).min(1).values.clamp_min(0)
        p = (d / d.sum()).cpu().numpy() if float(d.sum()) > 0 else None
        C.append(data.filled[int(rng.choice(n, p=p))])
    return torch.stack(C, 1)


def _old_lloyd(data, V, max_iter):
    history, labels, converged, n_iter = [], None, False, 0
    for n_iter in range(1, max_iter + 1):
        D = data.distances(V)
        new = D.argmin(1)
        history.append(float(D.gather(1, new[:, None]).sum()))
        if labels is not None and bool((new == labels).all()):
            converged = True
            break
        labels = new
        V = data.member_means(torch.nn.functional.one_hot(labels, V.shape[1]).to(V.dtype), V)
    U = torch.nn.functional.one_hot(labels, V.shape[1]).to(V.dtype)
    return U, V, history, n_iter, converged


def _old_lasso_path(X, y):
    n = X.shape[0]
    gram, corr = torch.as_tensor(X.T @ X / n), torch.as_tensor(X.T @ y / n)
    knots, segments = _old_lars_segments(gram.numpy(), corr.numpy())
    cols = []
    for a in knots:
        seg = _segment_of(knots, a)
        act = segments[seg] if seg is not None else (np.zeros(0, int), np.zeros(0))
        cols.append(_closed_form(gram, corr, float(a), *act))
    return knots, torch.stack(cols, 1).numpy()


def _old_kmeans(X, rank, n_init=10, max_iter=300, random_state=0):
    data = _OldObserved(to_torch(X), None)
    rng = check_random_state(random_state)
    best = None
    for _ in range(n_init):
        U, _, history, _, _ = _old_lloyd(data, _old_plus_plus(data, rank, rng), max_iter)
        if best is None or history[-1] < best[0]:
            best = (history[-1], U.argmax(1).numpy())
    return best


# ---- the benchmark ---------------------------------------------------------------------------

def _time(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _alternate(fns, pairs):
    """Run the callables in turn ``pairs`` times; medians of the times and the last outputs."""
    times, outs = [[] for _ in fns], [None] * len(fns)
    for _ in range(pairs):
        for i, fn in enumerate(fns):
            t, outs[i] = _time(fn)
            times[i].append(t)
    return [float(np.median(t)) for t in times], outs


def bench_kmeans(cases, pairs, before):
    print(f"\n== k-means, 10 starts each, medians of {pairs} alternating runs ==")
    print(f"{'data':28s}{'factorlab':>10s}{'sklearn':>9s}{'ratio':>7s}{'inertia':>10s}"
          f"{'ARI':>7s}" + (f"{'before':>9s}{'ratio':>7s}{'inertia':>10s}" if before else ""))
    ratios = []
    for m, n, k, std in cases:
        X, _ = make_blobs(m, n, centers=k, cluster_std=std, random_state=0)
        fns = [lambda: fl.KMeansFactorization(k, random_state=0).fit(X),
               lambda: KMeans(k, n_init=10, random_state=0).fit(X)]
        if before:
            fns.append(lambda: _old_kmeans(X, k))
        (t_fl, t_sk, *t_old), (ours, sk, *old) = _alternate(fns, pairs)
        line = (f"{m:5d} x {n:3d}, k={k:2d}, std {std:4.1f}    {t_fl:10.3f}{t_sk:9.3f}"
                f"{t_fl / t_sk:7.2f}{ours.inertia_ / sk.inertia_:10.5f}"
                f"{adjusted_rand_score(ours.labels_, sk.labels_):7.3f}")
        if before:
            line += f"{t_old[0]:9.3f}{t_old[0] / t_sk:7.2f}{old[0][0] / sk.inertia_:10.5f}"
        print(line)
        ratios.append(t_fl / t_sk)
    print(f"largest time ratio factorlab / scikit-learn: {max(ratios):.2f} (target <= 1.5)")


def _lars_problem(n, p, noise, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if noise:   # every fourth column gets a near copy: collinear-ish columns, more drops
        cols = len(range(1, p, 4))
        X[:, 1::4] = X[:, 0::4][:, :cols] + noise * rng.standard_normal((n, cols))
    y = X[:, :10] @ rng.standard_normal(10) + rng.standard_normal(n)
    return X, y


def bench_lars(cases, pairs, before):
    print(f"\n== LARS lasso path (alpha_max down to 0), medians of {pairs} alternating runs ==")
    print(f"{'data':30s}{'factorlab':>10s}{'sklearn':>9s}{'ratio':>7s}{'knots':>10s}"
          f"{'knot diff':>11s}{'coef diff':>11s}" + (f"{'before':>9s}{'ratio':>7s}"
                                                       if before else ""))
    ratios = []
    for n, p, noise in cases:
        X, y = _lars_problem(n, p, noise)
        fns = [lambda: fl.lasso_path(X, y), lambda: lars_path(X, y, method="lasso")]
        old_too = before and p <= n     # the old code takes ~35 s per path at 300 x 600
        if old_too:
            fns.append(lambda: _old_lasso_path(X, y))
        (t_fl, t_sk, *t_old), ((a_fl, c_fl), (a_sk, _, c_sk), *old) = _alternate(fns, pairs)
        same = a_fl.shape == a_sk.shape
        kd = f"{np.abs(a_fl - a_sk).max():11.1e}" if same else f"{'-':>11s}"
        cd = f"{np.abs(c_fl - c_sk).max():11.1e}" if same else f"{'-':>11s}"
        label = f"{n:5d} x {p:3d}" + (f", near copies {noise}" if noise else "")
        line = (f"{label:30s}{t_fl:10.4f}{t_sk:9.4f}{t_fl / t_sk:7.2f}"
                f"{len(a_fl):5d}/{len(a_sk):<4d}{kd}{cd}")
        if old_too:
            assert np.allclose(old[0][0], a_fl, atol=1e-8)
            line += f"{t_old[0]:9.3f}{t_old[0] / t_sk:7.2f}"
        elif before:
            line += f"{'(not run)':>16s}"
        print(line)
        ratios.append(t_fl / t_sk)
    print(f"largest time ratio factorlab / scikit-learn: {max(ratios):.2f} (target <= 2)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 5 pairs, no before")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS')}, torch threads {torch.get_num_threads()}; "
          f"numpy {np.__version__}, torch {torch.__version__}, scikit-learn "
          f"{sklearn.__version__}, factorlab {fl.__version__}")
    fl.KMeansFactorization(2, random_state=0).fit(np.eye(4))          # warm-up
    KMeans(2, n_init=1, random_state=0).fit(np.eye(4))
    if args.quick:
        bench_kmeans([(2000, 20, 8, 3.0)], 5, before=False)
        bench_lars([(200, 100, 0.0)], 5, before=False)
        return
    bench_kmeans([(20000, 50, 10, 3.0), (5000, 100, 20, 3.0), (5000, 100, 20, 10.0),
                  (10000, 10, 50, 1.0), (2000, 300, 5, 20.0)], 5, before=True)
    bench_lars([(200, 100, 0.0), (500, 200, 0.0), (1000, 300, 0.0), (1000, 300, 0.05),
                (300, 600, 0.0)], 5, before=True)


if __name__ == "__main__":
    main()
