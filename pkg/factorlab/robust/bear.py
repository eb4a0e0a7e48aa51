"""BEAR: robust PCA as a bilinear autoencoder trained by mini-batch Adam (Han et al. 2021).

With frames as rows, BEAR models the low-rank part as ``L = Y W W^T`` for a pixels x rank
weight ``W`` (an encoder ``Y -> Y W`` and a tied decoder ``-> (Y W) W^T``), and minimises the
entrywise L1 loss ``||Y - L||_1`` -- the sparse part ``S = Y - L`` -- with Adam on random
mini-batches of frames. No SVD is ever computed: an epoch costs O(frames x pixels x rank), and
only a few frames need to be in memory at once, so the movie can stay on disk.

Because it is an ``nn.Module`` whose forward pass is ``Y -> Y W W^T``, BEAR can sit inside a
larger network and be trained end to end. As a scikit-learn transformer, ``transform`` gives
the codes ``Y W`` (one row per frame) and :meth:`BEAR.decompose` the split ``(L, S)``.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from torch import nn
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, resolve_device, to_numpy, torch_generator
from .._validate import (check_array, check_int, check_nonnegative_number, check_option,
                         check_positive, check_rank)
from ..base import ModuleEstimator, TransformerMixin, resolve_dtype
from ..io import MovieSource, NpyWriter, open_movie

__all__ = ["BEAR"]

# Working copies of a batch held during one Adam step (batch, reconstruction, residual, its
# absolute value, and the gradients flowing back), in units of one batch of frames.
_BATCH_COPIES = 8


def _spread(W, k):
    """The smallest participation ratio ``(sum q^2)^2 / (pixels * sum q^4)`` of the last ``k``
    columns of ``W`` made orthonormal to the others (the fraction of the pixels they cover)."""
    Q = torch.linalg.qr(W.to(torch.float64))[0][:, -k:]
    ratio = Q.square().sum(0).square() / (Q.shape[0] * Q.pow(4).sum(0).clamp_min(1e-300))
    return float(ratio.min())


class BEAR(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ModuleEstimator):
    """Robust PCA by a bilinear autoencoder ``L = Y W W^T`` with an L1 loss.

    Parameters
    ----------
    rank : int, "greedy" or None
        Number of columns of ``W``. ``None`` (default) or ``"greedy"`` searches it: ranks
        ``rank_step, 2 rank_step, ...`` are trained in turn (each warm-started from the last)
        and the search keeps the last rank whose penalised score
        ``||Y - L||_1 + rank_penalty * ||Y||_1 * rank`` still improved and whose new
        component is spread over the frame (see ``min_spread``).
    n_pixels : int, optional
        Create ``W`` now, drawn as in the paper (for use inside a larger network before any
        ``fit``); ``fit`` then checks that the frames have that many pixels.
    init : {"pca", "random"}
        Start from the top right singular vectors of one random batch (default; skips the
        slow escape of a random start towards weak background components and the accuracy
        floor it leaves after a few dozen epochs) or from uniform noise in ``±1/sqrt(pixels)``
        as in the paper.
    lr : float, optional
        Adam's step size; default ``0.01 / sqrt(pixels)`` from the PCA start and
        ``0.1 / sqrt(pixels)`` from a random start (all published settings, which start at
        random, sit near ``lr * sqrt(pixels)`` = 0.07-0.16).
    n_epochs : int
        Maximum number of epochs; an epoch is ``frames // batch_size`` steps, each on
        ``batch_size`` distinct random frames.
    batch_size : int, optional
        Frames per step; default ``min(64, frames)``, lowered so that about 8 copies of a batch
        fit in ``memory_budget``.
    memory_budget : float
        Bytes allowed for the working copies of a batch (default 1e9).
    early_stopping : bool
        Stop once ``tol`` relative progress is no longer made: after ``n_epochs // 5`` epochs,
        when the mean loss of the previous ``n_epochs // 10`` epochs is below
        ``(1 + tol)`` times the current one.
    tol : float
    max_rank, rank_step, rank_penalty
        Greedy rank search (``rank=None`` or ``"greedy"``): the largest rank tried, the
        increment, and the price of one rank as a fraction of ``||Y||_1``.
    min_spread : float
        Greedy rank search: the smallest fraction of the pixels a new component must cover to
        be kept, measured by its participation ratio ``(sum w^2)^2 / (pixels * sum w^4)``
        once it is made orthogonal to the kept ones (1 for a flat map, about 1/3 for noise,
        ``k / pixels`` for a map on ``k`` pixels). A background (illumination, bleaching,
        neuropil, drift) covers the frame; a component concentrated on a few cells is
        foreground being absorbed into ``L``, which lowers the L1 loss but removes those
        cells from ``S``, so the search stops before it. The first component is always kept.
        ``0`` turns the test off (the paper's search).
    device : "auto", "cpu", "cuda" or torch.device
        Where ``W`` is created; ``"auto"`` picks CUDA when available. ``fit`` trains where
        ``W`` is, so ``model.to("cuda")`` later is respected; batches are copied there.
    dtype : None, "float32", "float64" or a torch dtype
        Dtype of ``W`` (default float32); ``.to(torch.float64)`` / ``.double()`` work too.
        BEAR computes and returns in this dtype, whatever the input's.
    random_state : int, Generator, RandomState or None
        Seed of the initial ``W`` (random batch or noise) and of the batches.
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    weight : nn.Parameter of shape (pixels, rank)
        The module's parameter; created (uninitialised until the pixel count is known) at
        construction and updated in place by every ``fit``, so an optimizer holding it stays
        valid.
    W_ : array of shape (pixels, rank)
        A copy of the learned weight (NumPy unless ``fit`` got a tensor).
    L_, S_ : arrays shaped like ``Y``
        Low-rank and sparse parts of the training movie (``None`` when ``Y`` was a file:
        use :meth:`decompose` with ``out_L``/``out_S`` to stream them to disk). Saved with
        the model when present.
    loss_history_ : list of float
        Mean absolute residual per entry, per epoch.
    n_iter_ : int
        Epochs run (at the final rank).
    converged_ : bool
        Whether early stopping ended the training.
    rank_ : int
    rank_scores_, rank_spreads_ : dict
        Greedy search only: score and spread (see ``min_spread``) of each rank tried.
    batch_size_, lr_ : the values used.
    n_features_in_ : int
        Pixels per frame.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = np.outer(rng.random(100), rng.random(400)) + (rng.random((100, 400)) < 0.05)
    >>> bear = BEAR(rank=1, n_epochs=60, random_state=0).fit(Y)
    >>> bear.W_.shape, bear.L_.shape, bear.transform(Y).shape
    ((400, 1), (100, 400), (100, 1))
    >>> bool(bear.loss_history_[-1] < bear.loss_history_[0])
    True
    >>> L, S = bear.decompose(Y[:5])        # background and foreground of (new) frames
    >>> L.shape, bool(np.allclose(L + S, Y[:5], atol=1e-5))
    ((5, 400), True)
    """

    _input_ndim = (2, 3)

    def __init__(self, rank=None, n_pixels=None, *, init="pca", lr=None, n_epochs=50,
                 batch_size=None, memory_budget=1e9, early_stopping=True, tol=0.005, max_rank=10,
                 rank_step=1, rank_penalty=0.005, min_spread=0.25, device="auto", dtype=None,
                 random_state=None, progress=False):
        super().__init__()
        self.rank, self.n_pixels, self.init, self.lr, self.n_epochs = rank, n_pixels, init, lr, n_epochs
        self.batch_size, self.memory_budget = batch_size, memory_budget
        self.early_stopping, self.tol = early_stopping, tol
        self.max_rank, self.rank_step, self.rank_penalty = max_rank, rank_step, rank_penalty
        self.min_spread = min_spread
        self.device, self.dtype, self.random_state, self.progress = device, dtype, random_state, progress
        self.weight = nn.UninitializedParameter(device=self._init_device(),
                                                dtype=self._init_dtype())
        self.reset_parameters()

    def _check_loaded(self, path) -> None:
        # W is created lazily, so its shape comes from the file: check it against the fit's
        expected = (self.n_features_in_, self.rank_)
        if tuple(self.weight.shape) != expected:
            raise ValueError(f"{path}: its weights do not match its learned attributes (W has "
                             f"shape {tuple(self.weight.shape)}, n_features_in_ and rank_ give "
                             f"{expected}).")

    def reset_parameters(self) -> None:
        """Draw ``W`` afresh, as in the paper (uniform in ``±1/sqrt(pixels)``, seeded by
        ``random_state``), when its size is known (``n_pixels``, or after a ``fit``)."""
        if isinstance(self.weight, nn.parameter.UninitializedParameter):
            shape = self._n_pixels_shape()
            if shape is None:
                return          # created at the first fit, when the frames give the size
        else:
            shape = tuple(self.weight.shape)
        try:
            seed = check_random_state(self.random_state)
        except (ValueError, TypeError):
            seed = None   # __init__ must not raise (scikit-learn's protocol); fit reports it
        gen = torch_generator(seed)
        self._set_parameter(self.weight, self._new_columns(shape[0], shape[1], gen))

    def _n_pixels_shape(self):
        ok = (isinstance(self.n_pixels, numbers.Integral) and self.n_pixels >= 1
              and isinstance(self.rank, numbers.Integral) and self.rank >= 1
              and not isinstance(self.rank, bool))
        return (int(self.n_pixels), int(self.rank)) if ok else None

    @property
    def _n_features_out(self):
        return self.rank_

    # ---------------------------------------------------------------- the model itself
    def _new_columns(self, n_pixels, k, gen):
        # PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in the paper
        bound = 1.0 / math.sqrt(n_pixels)
        W = (torch.rand(n_pixels, k, generator=gen, dtype=self.param_dtype) * 2 - 1) * bound
        return W.to(self.param_device)

    def _has_weight(self) -> bool:
        return not isinstance(self.weight, nn.parameter.UninitializedParameter)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """The low-rank part ``L = Y W W^T`` of a batch of frames, differentiable in both.

        ``frames`` is ``(batch, pixels)`` or ``(batch, height, width)``; ``L`` has its shape.
        """
        if not self._has_weight():
            raise RuntimeError("BEAR has no weight yet: call fit() or pass n_pixels=...")
        flat = frames.reshape(frames.shape[0], -1)
        if flat.shape[1] != self.weight.shape[0]:
            raise ValueError(f"frames have {flat.shape[1]} pixels but W has "
                             f"{self.weight.shape[0]} rows.")
        return ((flat @ self.weight) @ self.weight.T).reshape(frames.shape)

    # ---------------------------------------------------------------- input
    def _source(self, X, reset):
        """The frames of ``X`` (a file is opened, not read), with the pixel count checked
        against ``n_features_in_`` (``reset=False``) or stored (``reset=True``)."""
        if isinstance(X, (str, os.PathLike)):
            src = open_movie(X)
            if reset:
                # hold memory_budget for a file larger than it (see factorlab.io); integer
                # movies are not scanned, float ones in chunks that fit the budget
                src.hold_budget(self.memory_budget)
                src.check_finite(budget_bytes=self.memory_budget)
                self.n_features_in_ = src.n_pixels
            else:
                self._check_fitted()
                if src.n_pixels != self.n_features_in_:
                    raise ValueError(f"X has {src.n_pixels} features, but BEAR is expecting "
                                     f"{self.n_features_in_} features as input.")
            return src
        arr = self._validate_input(X, reset=reset)
        return MovieSource(arr, arr.shape[1:])   # in memory: a single frame is fine too

    def _batch(self, src, idx):
        block = src.read(idx)
        block = block if isinstance(block, torch.Tensor) else torch.from_numpy(block)
        return block.detach().to(device=self.param_device, dtype=self.param_dtype)

    # ---------------------------------------------------------------- fitting
    def _settings(self, src):
        m, n = src.n_pixels, src.n_frames
        # the PCA start is already close, so it takes 10x smaller steps than a random start
        base = 0.01 if self.init == "pca" else 0.1
        lr = base / math.sqrt(m) if self.lr is None else check_positive(self.lr, "lr")
        budget = check_positive(self.memory_budget, "memory_budget")
        if self.batch_size is None:
            fits = int(budget // (_BATCH_COPIES * 4 * m))
            batch = max(1, min(64, n, fits))
        else:
            batch = check_int(self.batch_size, "batch_size", minimum=1, maximum=n)
        return lr, batch

    def _initial_weight(self, src, k, gen, batch, base=None):
        """``k`` columns of ``W`` to start from: uniform noise (the paper), or the top right
        singular vectors of a random batch of frames (``init="pca"``), which skips the slow
        escape of the random start towards the weaker background components. With ``base``
        (greedy search), the batch's part already explained by ``base`` is removed first."""
        W = self._new_columns(src.n_pixels, k, gen)
        if self.init == "pca":
            size = min(src.n_frames, max(batch, 2 * k))
            idx = torch.randperm(src.n_frames, generator=gen)[:size].sort().values.numpy()
            Yb = self._batch(src, idx)
            if base is not None and base.shape[1]:
                Yb = Yb - (Yb @ base) @ base.T
            # right singular vectors from the small size x size Gram matrix (in float64),
            # so that no float64 copy of the batch is made
            evals, U = torch.linalg.eigh((Yb @ Yb.T).to(torch.float64))
            top = torch.argsort(evals, descending=True)[:k]
            scale = evals[top].clamp_min(1e-30).rsqrt()
            W = Yb.T @ (U[:, top] * scale).to(self.param_dtype)
        return W

    def _train(self, src, gen, lr, batch, n_epochs):
        """Adam on random mini-batches of the (in-place updated) weight; returns
        (losses, converged)."""
        opt = torch.optim.Adam([self.weight], lr=lr)
        n, m = src.n_frames, src.n_pixels
        steps = max(1, n // batch)
        start = max(2, n_epochs // 5)
        window = max(1, n_epochs // 10)
        losses = []
        bar = tqdm(range(n_epochs), disable=not self.progress, desc=f"BEAR rank {self.weight.shape[1]}")
        for _ in bar:
            total = 0.0
            for _ in range(steps):
                # b distinct frames, drawn afresh each step (an epoch is not a permutation);
                # sorted so that a memory-mapped file is read forwards
                idx = torch.randperm(n, generator=gen)[:batch].sort().values.numpy()
                total += self._step(src, idx, opt) / (batch * m)
            losses.append(total / steps)
            bar.set_postfix(loss=f"{losses[-1]:.4g}")
            if (self.early_stopping and len(losses) > max(start, window)
                    and np.mean(losses[-window - 1:-1]) < (1 + self.tol) * losses[-1]):
                return losses, True
        return losses, False

    def _step(self, src, idx, opt):
        """One Adam step on the frames ``idx``; returns their summed loss (a float). The
        distributed fit (:mod:`.distributed`) replaces it by a step on this process's
        share of the batch with the gradient summed over processes."""
        loss, grad = self._loss_and_grad(self._batch(src, idx))
        self.weight.grad = grad
        opt.step()
        return float(loss)

    def _loss_and_grad(self, Yb):
        """The summed L1 loss ``||Y_b - Y_b W W^T||_1`` of a batch and its gradient in ``W``,
        in closed form: what autograd gives, without its graph and temporaries.

        With ``C = Y_b W`` and ``G = sign(Y_b - C W^T)`` the gradient is
        ``-(Y_b^T G W + G^T C)`` and the loss is ``sum(G * Y_b) - sum(C * G W)``: five
        ``batch x pixels x rank`` products, one dot product and a single ``batch x pixels``
        buffer (the residual, turned into its sign in place). The products are written as
        ``rank x ...`` ones, which BLAS runs about twice as fast for a small rank.
        """
        with torch.no_grad():
            Wt = self.weight.detach().T.contiguous()        # rank x pixels
            Ct = Wt @ Yb.T                                  # codes, rank x batch
            G = torch.addmm(Yb, Ct.T, Wt, alpha=-1)         # the residual Y - C W^T
            G.sign_()
            GWt = Wt @ G.T                                  # (G W)^T, rank x batch
            loss = torch.dot(G.reshape(-1), Yb.reshape(-1)) - (Ct * GWt).sum()
            grad_t = torch.addmm(Ct @ G, GWt, Yb)           # (G^T C + Y^T G W)^T
        return loss, grad_t.neg_().T.contiguous()

    def _l1(self, src, chunk):
        """``||Y - L||_1`` over the whole movie, in chunks, without gradients."""
        total = 0.0
        with torch.no_grad():
            for start in range(0, src.n_frames, chunk):
                Yb = self._batch(src, slice(start, min(start + chunk, src.n_frames)))
                R = Yb if self.weight.shape[1] == 0 else Yb - self(Yb)
                total += float(R.abs().sum())
        return total

    def fit(self, X, y=None):
        """Learn ``W`` from a movie in memory or in a ``.npy``/TIFF file (streamed).

        Trains on the device and in the dtype of :attr:`weight` (see ``device``, ``dtype``
        and ``.to()``); ``weight`` is updated in place.

        Parameters
        ----------
        X : array, tensor, str or path
            The movie ``Y``: ``(frames, height, width)`` or ``(frames, pixels)``; a path is
            memory-mapped and read one mini-batch at a time.
        y : ignored

        Returns
        -------
        self
        """
        src = self._source(X, reset=True)
        n_epochs = check_int(self.n_epochs, "n_epochs", minimum=1)
        check_nonnegative_number(self.tol, "tol")
        greedy = self.rank is None or isinstance(self.rank, str)
        if isinstance(self.rank, str) and self.rank != "greedy":
            raise ValueError(f"rank must be a positive integer or 'greedy', got {self.rank!r}.")
        if not greedy:
            check_rank(self.rank, (src.n_frames, src.n_pixels))
        if self.n_pixels is not None:
            n_pixels = check_int(self.n_pixels, "n_pixels", minimum=1)
            if n_pixels != src.n_pixels:
                raise ValueError(f"BEAR was built for n_pixels={n_pixels}, but X has "
                                 f"{src.n_pixels} pixels per frame.")
        check_option(self.init, "init", ("pca", "random"))
        resolve_device(self.device), resolve_dtype(self.dtype)   # report bad settings
        lr, batch = self._settings(src)
        gen = torch_generator(check_random_state(self.random_state))
        if greedy:
            losses, converged = self._fit_greedy(src, gen, lr, batch, n_epochs)
        else:
            self._set_parameter(self.weight, self._initial_weight(src, self.rank, gen, batch))
            losses, converged = self._train(src, gen, lr, batch, n_epochs)
        self.loss_history_, self.n_iter_, self.converged_ = losses, len(losses), converged
        self.rank_, self.batch_size_, self.lr_ = int(self.weight.shape[1]), batch, lr
        self.W_ = self.weight.detach().clone() if isinstance(X, torch.Tensor) \
            else to_numpy(self.weight).copy()
        self.L_ = self.S_ = None
        if src.in_memory:
            self.L_, self.S_ = self._decompose(src, X, None, None, self._chunk(None))
        return self

    def fit_distributed(self, X, nproc=None, *, out_L=None, out_S=None, **options):
        """Fit on a movie file in ``nproc`` processes with ``torch.distributed`` (the same
        ``W`` as :meth:`fit` to float rounding), optionally writing ``L``/``S`` to ``.npy``.

        See :func:`factorlab.robust.distributed.bear_distributed` for the arguments
        (``backend``, ``timeout``, ``threads``) and for running under ``torchrun``.
        Returns ``self``.
        """
        from .distributed import bear_distributed

        return bear_distributed(X, nproc, out_L=out_L, out_S=out_S, model=self, **options)

    def _fit_greedy(self, src, gen, lr, batch, n_epochs):
        max_rank = check_int(self.max_rank, "max_rank", minimum=1,
                             maximum=min(src.n_frames, src.n_pixels))
        step = check_int(self.rank_step, "rank_step", minimum=1)
        price = check_nonnegative_number(self.rank_penalty, "rank_penalty")
        min_spread = check_nonnegative_number(self.min_spread, "min_spread")
        chunk = batch
        self._set_parameter(self.weight, torch.zeros(src.n_pixels, 0))
        norm1 = self._l1(src, chunk)
        scores, spreads = {0: norm1}, {}
        best = (self.weight.detach().clone(), [], False)
        for r in range(step, max_rank + 1, step):
            base = self.weight.detach().clone()
            grown = torch.cat([base, self._initial_weight(src, step, gen, batch, base)], dim=1)
            self._set_parameter(self.weight, grown)     # same Parameter, one more column block
            losses, converged = self._train(src, gen, lr, batch, n_epochs)
            scores[r] = self._l1(src, chunk) + price * norm1 * r
            spreads[r] = _spread(self.weight.detach(), step)
            if scores[r] >= scores[r - step] or (r > step and spreads[r] < min_spread):
                break
            best = (self.weight.detach().clone(), losses, converged)
        self.rank_scores_, self.rank_spreads_ = scores, spreads
        if best[0].shape[1] == 0:
            raise ValueError("Greedy BEAR found no rank that beats L = 0 with rank_penalty="
                             f"{price}; lower rank_penalty or give an integer rank.")
        self._set_parameter(self.weight, best[0])
        return best[1], best[2]

    # ---------------------------------------------------------------- using the fit
    def _chunk(self, batch_size):
        chunk = getattr(self, "batch_size_", None) if batch_size is None else batch_size
        return check_int(chunk or 64, "batch_size", minimum=1)

    def transform(self, X):
        """The codes ``Y W`` of frames (the encoder's output), one row per frame.

        Parameters
        ----------
        X : array, tensor, str or path
            Frames ``(frames, height, width)`` or ``(frames, pixels)`` with the training
            movie's pixel count; a file is read in chunks.

        Returns
        -------
        codes : array or tensor of shape (frames, rank)
            In BEAR's dtype; a tensor (on its device) for tensor input.
        """
        src = self._source(X, reset=False)
        chunk = self._chunk(None)
        out = torch.empty((src.n_frames, self.weight.shape[1]), dtype=self.param_dtype)
        with torch.no_grad():
            for start in range(0, src.n_frames, chunk):
                stop = min(start + chunk, src.n_frames)
                out[start:stop] = (self._batch(src, slice(start, stop)) @ self.weight).cpu()
        return like_input(out, X) if isinstance(X, torch.Tensor) else out.numpy()

    def inverse_transform(self, X):
        """Frames from codes: ``codes @ W^T`` (the decoder), of shape (frames, pixels).

        Parameters
        ----------
        X : array or tensor of shape (frames, rank)
        """
        self._check_fitted()
        codes = check_array(X, "X")
        if codes.shape[1] != self.weight.shape[1]:
            raise ValueError(f"X must have {self.weight.shape[1]} columns (the rank), got "
                             f"shape {tuple(codes.shape)}.")
        with torch.no_grad():
            out = self._as_module_input(codes) @ self.weight.T
        return like_input(out, X) if isinstance(X, torch.Tensor) else to_numpy(out)

    def decompose(self, X, out_L=None, out_S=None, batch_size=None):
        """Split frames into ``L = Y W W^T`` and ``S = Y - L`` with the learned ``W``.

        Parameters
        ----------
        X : array, tensor, str or path
            New (or the training) frames, with the training movie's pixel count.
        out_L, out_S : str or path, optional
            Write ``L`` / ``S`` to these ``.npy`` files chunk by chunk instead of returning
            them in memory (both or neither); they are returned memory-mapped read-only.
        batch_size : int, optional
            Frames per chunk; default the training batch size.

        Returns
        -------
        L, S
            Shaped like ``X`` (NumPy, a tensor for tensor input, or read-only memmaps), in
            BEAR's dtype (float32 in the files).
        """
        if not self._has_weight():
            self._check_fitted()
        src = self._source(X, reset=False) if hasattr(self, "n_features_in_") else None
        if src is None:    # a weight made with n_pixels= but never fitted
            arr = check_array(X, "X", ndim=(2, 3))
            src = MovieSource(arr, arr.shape[1:])
            if src.n_pixels != self.weight.shape[0]:
                raise ValueError(f"X has {src.n_pixels} pixels per frame but W has "
                                 f"{self.weight.shape[0]} rows.")
        if (out_L is None) != (out_S is None):
            raise ValueError("Give both out_L and out_S, or neither.")
        return self._decompose(src, X, out_L, out_S, self._chunk(batch_size))

    def _decompose(self, src, X, out_L, out_S, chunk):
        """:meth:`decompose` of a checked source (``fit`` reuses its own: no second scan)."""
        if out_L is not None:
            writers = NpyWriter(out_L, src.shape), NpyWriter(out_S, src.shape)
        else:
            L_all = torch.empty((src.n_frames, src.n_pixels), dtype=self.param_dtype)
            S_all = torch.empty_like(L_all)
        with torch.no_grad():
            for start in range(0, src.n_frames, chunk):
                stop = min(start + chunk, src.n_frames)
                Yb = self._batch(src, slice(start, stop))
                Lb = self(Yb)
                if out_L is not None:
                    writers[0].write(start, to_numpy(Lb))
                    writers[1].write(start, to_numpy(Yb - Lb))
                else:
                    L_all[start:stop], S_all[start:stop] = Lb.cpu(), (Yb - Lb).cpu()
        if out_L is not None:
            for w in writers:
                w.close()
            return (np.load(out_L, mmap_mode="r"), np.load(out_S, mmap_mode="r"))
        shape = src.shape
        if isinstance(X, torch.Tensor):
            return L_all.reshape(shape).to(X.device), S_all.reshape(shape).to(X.device)
        return L_all.reshape(shape).numpy(), S_all.reshape(shape).numpy()
