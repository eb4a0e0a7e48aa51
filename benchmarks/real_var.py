"""Sparse VAR on the real fMRI regions against statsmodels and scikit-learn, same run.

    OMP_NUM_THREADS=1 python benchmarks/real_var.py

- alpha = 0: factorlab's ``SparseVAR`` against statsmodels' OLS ``VAR`` (same coefficients);
- alpha = 0.05 on the standardised lagged design: factorlab's ``var_lasso`` (one LARS path per
  region on a shared Gram matrix) against scikit-learn's ``LassoLars`` fitted region by region
  (same objective, same coefficients), and against ``LassoLars`` on all regions at once.
Times are medians of 7 alternating rounds; ratios are factorlab / peer (below 1: faster).
"""

import time
import warnings

import numpy as np
from sklearn.linear_model import LassoLars
from statsmodels.tsa.api import VAR

import factorlab as fl

warnings.simplefilter("ignore")
ROUNDS = 7


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    Z = fl.datasets.load_fmri_rois().data.astype(np.float64)
    Z = (Z - Z.mean(0)) / Z.std(0)
    Phi, Y = fl.lagged_design(Z, 1)
    d = Z.shape[1]
    print(f"fMRI regions {Z.shape}, VAR(1): {d * d} coefficients, {len(Y)} lagged pairs")
    for order in (1, 2):
        ours = lambda: fl.SparseVAR(order=order, alpha=0.0, standardize=False).fit(Z).coefs_
        peer = lambda: VAR(Z).fit(order, trend="n").coefs
        t_ours, t_peer = [], []
        for r in range(ROUNDS):
            pairs = [(ours, t_ours), (peer, t_peer)]
            for fn, acc in (pairs if r % 2 == 0 else pairs[::-1]):
                acc.append(timed(fn)[0])
        diff = np.abs(ours() - peer()).max()
        print(f"alpha 0, VAR({order}): factorlab {np.median(t_ours) * 1e3:.1f} ms, statsmodels "
              f"{np.median(t_peer) * 1e3:.1f} ms, ratio {np.median(t_ours) / np.median(t_peer):.2f}"
              f", max |coef diff| {diff:.0e}")
    alpha = 0.05
    ours = lambda: fl.var_lasso(Z, 1, alpha, center=False)[0][0]
    per_region = lambda: np.array([LassoLars(alpha=alpha, fit_intercept=False)
                                   .fit(Phi, Y[:, i]).coef_ for i in range(d)])
    at_once = lambda: LassoLars(alpha=alpha, fit_intercept=False).fit(Phi, Y).coef_
    times = {"factorlab": [], "sklearn per region": [], "sklearn all at once": []}
    fns = dict(zip(times, (ours, per_region, at_once)))
    for r in range(ROUNDS):
        names = list(times) if r % 2 == 0 else list(times)[::-1]
        for name in names:
            times[name].append(timed(fns[name])[0])
    ref = ours()
    for name in list(times)[1:]:
        diff = np.abs(np.asarray(fns[name]()) - ref).max()
        print(f"alpha {alpha}: factorlab {np.median(times['factorlab']) * 1e3:.1f} ms, {name} "
              f"{np.median(times[name]) * 1e3:.1f} ms, ratio "
              f"{np.median(times['factorlab']) / np.median(times[name]):.2f}, "
              f"max |coef diff| {diff:.0e}")


if __name__ == "__main__":
    main()
