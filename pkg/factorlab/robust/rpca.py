"""``RobustPCA``: one estimator over the reference solvers IALM, PCP and GoDec."""

from __future__ import annotations

from .._validate import check_option
from .solvers import godec, ialm, pcp

__all__ = ["RobustPCA"]


class RobustPCA:
    """Split a movie into low-rank plus sparse, ``Y = L + S``, with a reference solver.

    Parameters
    ----------
    method : {"ialm", "pcp", "godec"}
        ``"ialm"`` (Lin et al. 2010; fast, the usual reference), ``"pcp"`` (constant-penalty
        ADMM of Candès et al. 2011) or ``"godec"`` (fixed rank, no full SVD).
    lam : float, optional
        Weight of ``||S||_1`` (IALM, PCP). Default ``1/sqrt(max(frames, pixels))``, the value
        with recovery guarantees; raise it for a sparser ``S``, lower it to push more into ``S``.
    rank : int, optional
        GoDec's rank (required for ``method="godec"``).
    tau : float, optional
        GoDec's soft threshold, in the units of ``Y`` (default: from the noise level).
    mu : float, optional
        Initial (IALM) or constant (PCP) penalty of the augmented Lagrangian; the thresholds
        are ``1/mu`` and ``lam/mu``. The defaults come from norms of ``Y``, so they follow the
        data's scale.
    rule : {"candes", "lrslibrary"}
        PCP's parameter and stopping rule (see :func:`factorlab.robust.pcp`).
    tol : float, optional
    max_iter : int, optional
        Default 1000 (IALM, PCP) or 100 (GoDec).
    device, dtype : optional
        Where and in what precision (default: where ``Y`` is, its float dtype).
    random_state : int, Generator or None
        GoDec's random start.
    progress : bool

    Attributes
    ----------
    L_, S_ : arrays shaped like ``Y`` (same container)
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L0 = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 70))
    >>> S0 = np.where(rng.random((50, 70)) < 0.05, 4.0, 0.0)
    >>> model = RobustPCA().fit(L0 + S0)
    >>> bool(np.linalg.norm(model.L_ - L0) / np.linalg.norm(L0) < 1e-4), model.converged_
    (True, True)
    """

    def __init__(self, method="ialm", lam=None, rank=None, tau=None, mu=None, rule="candes",
                 tol=None, max_iter=None, device=None, dtype=None, random_state=None,
                 progress=False):
        self.method, self.lam, self.rank, self.tau, self.mu = method, lam, rank, tau, mu
        self.rule, self.tol, self.max_iter = rule, tol, max_iter
        self.device, self.dtype, self.random_state, self.progress = device, dtype, random_state, progress

    def fit(self, Y, y=None):
        """Decompose ``Y`` (frames x pixels, or frames x height x width); returns ``self``."""
        method = check_option(self.method, "method", ("ialm", "pcp", "godec"))
        common = dict(device=self.device, dtype=self.dtype, progress=self.progress)
        if method == "godec":
            if self.rank is None:
                raise ValueError("method='godec' needs rank=... (the number of components).")
            res = godec(Y, self.rank, tau=self.tau, max_iter=self.max_iter or 100,
                        tol=self.tol or 1e-6, random_state=self.random_state, **common)
        elif method == "ialm":
            res = ialm(Y, lam=self.lam, tol=self.tol, max_iter=self.max_iter or 1000,
                       mu=self.mu, **common)
        else:
            res = pcp(Y, lam=self.lam, rule=self.rule, tol=self.tol,
                      max_iter=self.max_iter or 1000, mu=self.mu, **common)
        self.L_, self.S_, self.n_iter_, self.converged_ = res.L, res.S, res.n_iter, res.converged
        return self

    def fit_transform(self, Y, y=None):
        """Fit and return ``(L, S)``."""
        self.fit(Y)
        return self.L_, self.S_
