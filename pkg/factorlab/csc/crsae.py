"""CRsAE: convolutional dictionary learning as an unrolled sparse autoencoder.

The encoder runs ``n_iter`` FISTA steps for the convolutional sparse coding problem (the E-step:
MAP codes under a Laplace prior), the decoder is the convolutional dictionary itself with the
same weights, and training by backpropagation through the unrolled steps updates the filters
(the M-step) :cite:p:`tolooshams2020crsae`. The sparsity weight ``lambda`` of each filter is
updated as the M-step of a Gamma hyperprior, in closed form or by gradient steps.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from tqdm.auto import tqdm

from .._backend import like_input, resolve_device, to_numpy, to_torch, torch_generator
from .._validate import (check_array, check_int, check_nonnegative_number, check_option,
                         check_positive)
from .fista import conv_decode, fista_steps, gradient_operators, lipschitz_bound, shrink

__all__ = ["CRsAE1d", "CRsAE2d", "lambda_closed_form"]

_LAMBDA_UPDATES = ("em", "grad", "fixed", "bias")
# signals used to score half-sample filter shifts: the comparison is paired (same signals,
# two dictionaries), so a modest number shows a consistent gain
_SHIFT_SEARCH_SIGNALS = 128


def lambda_closed_form(code_l1, n_entries, prior_rate, prior_shape):
    """The M-step for a Laplace sparsity weight under a Gamma(shape r, rate delta) hyperprior.

    Minimises ``lam * ||x||_1 - (n_entries + r - 1) * log(lam) + delta * lam`` (the negative log
    of ``p(x | lam) p(lam)`` with ``p(x | lam) ∝ lam^n exp(-lam ||x||_1)``):
    ``lam* = (n_entries + r - 1) / (||x||_1 + delta)``.

    Parameters
    ----------
    code_l1 : float or array
        ``||x_c||_1`` of each filter's codes.
    n_entries : int
        Number of code entries that ``code_l1`` sums over.
    prior_rate, prior_shape : float
        ``delta`` and ``r`` of the Gamma prior (its mean is ``r / delta``).

    Examples
    --------
    >>> round(float(lambda_closed_form(10.0, 100, prior_rate=5.0, prior_shape=6.0)), 4)
    7.0
    """
    return (n_entries + prior_shape - 1) / (np.asarray(code_l1, dtype=float) + prior_rate)


class _CRsAE(nn.Module):
    """Shared implementation; the subclasses fix the number of signal axes."""

    _ndim = 1

    def __init__(self, n_filters, filter_length, n_iter=50, lam=None, sigma=None,
                 lambda_update="em", prior_rate=50.0, lr_lambda=0.1, estimate_sigma=False,
                 nonnegative=False, init_filters=None, lr=1e-2, lr_decay=1.0, n_epochs=10,
                 batch_size=64, anneal_factor=1.0, anneal_epochs=4, shift_search=False,
                 chunk_size=128, backprop_encoder=True, device="auto", random_state=None,
                 progress=False):
        super().__init__()
        self.n_filters = check_int(n_filters, "n_filters", minimum=1)
        ks = (filter_length,) * self._ndim if isinstance(filter_length, (int, np.integer)) \
            else tuple(filter_length)
        if len(ks) != self._ndim:
            raise ValueError(f"filter_length must be an int or a tuple of {self._ndim} ints, got "
                             f"{filter_length!r}.")
        self.filter_length = tuple(check_int(k, "filter_length", minimum=1) for k in ks)
        self.n_iter = check_int(n_iter, "n_iter", minimum=1)
        self.lam = None if lam is None else lam
        self.sigma = None if sigma is None else check_positive(sigma, "sigma")
        self.lambda_update = check_option(lambda_update, "lambda_update", _LAMBDA_UPDATES)
        self.prior_rate = check_nonnegative_number(prior_rate, "prior_rate")
        self.lr_lambda = check_positive(lr_lambda, "lr_lambda")
        self.estimate_sigma = bool(estimate_sigma)
        self.nonnegative = bool(nonnegative)
        self.lr = check_positive(lr, "lr")
        self.lr_decay = check_positive(lr_decay, "lr_decay")
        self.n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.anneal_factor = float(anneal_factor)
        if not self.anneal_factor >= 1.0:
            raise ValueError(f"anneal_factor must be >= 1 (1 = no annealing), got "
                             f"{anneal_factor!r}.")
        if self.anneal_factor > 1.0 and self.lambda_update != "fixed":
            raise ValueError("anneal_factor > 1 anneals a fixed lambda: use it with "
                             f"lambda_update='fixed', not {self.lambda_update!r}.")
        self.anneal_epochs = check_int(anneal_epochs, "anneal_epochs", minimum=1)
        self.shift_search = bool(shift_search)
        self.chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        self.backprop_encoder = bool(backprop_encoder)
        self.device = device
        self.random_state = random_state
        self.progress = progress
        shape = (self.n_filters, *self.filter_length)
        if init_filters is None:
            w = torch.randn(shape, generator=torch_generator(random_state), dtype=torch.float32)
        else:
            w = to_torch(check_array(init_filters, "init_filters", ndim=self._ndim + 1),
                         dtype=torch.float32).clone()
            if tuple(w.shape) != shape:
                raise ValueError(f"init_filters must have shape {shape} (n_filters, "
                                 f"*filter_length), got {tuple(w.shape)}.")
        self.weight = nn.Parameter(_unit_norm(w))
        lam0 = math.nan if lam is None else lam
        lam_t = torch.as_tensor(np.broadcast_to(np.asarray(lam0, dtype=np.float32), (self.n_filters,)).copy())
        if lam is not None and not bool((lam_t > 0).all()):
            raise ValueError(f"lam must be > 0 (a float or one value per filter), got {lam!r}.")
        self.lam_param = nn.Parameter(lam_t, requires_grad=self.lambda_update == "grad")
        self.bias = nn.Parameter(torch.zeros(self.n_filters), requires_grad=self.lambda_update == "bias")
        self.register_buffer("sigma_t", torch.tensor(math.nan if sigma is None else float(sigma)))
        self.register_buffer("L_t", torch.tensor(lipschitz_bound(self.weight.detach())))

    # ---------------------------------------------------------------- learned attributes
    @property
    def filters_(self) -> np.ndarray:
        """Learned unit-norm filters, shape ``(n_filters, *filter_length)``."""
        return to_numpy(self.weight)

    @property
    def lambda_(self) -> np.ndarray:
        """Sparsity weight of each filter (the threshold is ``lambda * sigma^2 / L``)."""
        return to_numpy(self.lam_param)

    @property
    def sigma_(self) -> float:
        """Noise standard deviation (fixed or estimated)."""
        return float(self.sigma_t)

    @property
    def L_(self) -> float:
        """Step-size constant: an upper bound on ``||H^T H||`` for the current filters."""
        return float(self.L_t)

    # ---------------------------------------------------------------- network
    def threshold(self) -> torch.Tensor:
        """Per-filter threshold of the shrinkage layer, shaped to broadcast over codes."""
        if self.lambda_update == "bias":
            b = torch.relu(self.bias)
        else:
            b = self.lam_param * self.sigma_t ** 2 / self.L_t
        return b.reshape(-1, *([1] * self._ndim))

    def _encode(self, Yb: torch.Tensor, n_iter: int) -> torch.Tensor:
        """``n_iter`` FISTA steps from zero on a batch ``(B, 1, *spatial)``."""
        h, b = self.weight, self.threshold()
        if not torch.is_grad_enabled():
            return fista_steps(Yb, h, self.L_t, b, n_iter, self.nonnegative)[0]
        # the same steps as fista_steps, written without in-place updates for autograd
        hty, gram = gradient_operators(Yb, h, self.L_t)
        x_old = torch.zeros_like(hty)
        z, s = x_old, 1.0
        for _ in range(n_iter):
            x = shrink(hty - gram(z) + z, b, self.nonnegative)
            s_new = (1 + math.sqrt(1 + 4 * s * s)) / 2
            z = x + ((s - 1) / s_new) * (x - x_old)
            x_old, s = x, s_new
        return x_old

    def forward(self, y: torch.Tensor):
        """Encode and decode a batch ``(B, *spatial)``; returns ``(reconstruction, codes)``."""
        self._check_ready()
        codes = self._encode(y.unsqueeze(1), self.n_iter)
        return conv_decode(codes, self.weight).squeeze(1), codes

    def _check_ready(self):
        if not bool(torch.isfinite(self.lam_param).all()) or not math.isfinite(self.sigma_):
            raise RuntimeError(f"{type(self).__name__} has no lambda/sigma yet: call fit(...) first, "
                               "or pass lam= and sigma= to the constructor.")

    def _as_batch(self, signals, name):
        d = self._ndim
        arr = check_array(signals, name, ndim=(d, d + 1))
        if any(s < k for s, k in zip(arr.shape[-d:], self.filter_length)):
            raise ValueError(f"{name} (shape {tuple(arr.shape)}) is shorter than the filters "
                             f"{self.filter_length} along a signal axis.")
        t = to_torch(arr, device=self.weight.device, dtype=self.weight.dtype)
        return (t, True) if t.ndim == d + 1 else (t.unsqueeze(0), False)

    # ---------------------------------------------------------------- public API
    @torch.no_grad()
    def encode(self, signals, n_iter=None):
        """Sparse codes of ``signals`` from the unrolled encoder.

        Parameters
        ----------
        signals : array or tensor of shape ``(n, *spatial)`` or ``spatial``
        n_iter : int, optional
            Number of FISTA steps (default: the ``n_iter`` the model was built with).

        Returns
        -------
        codes : shape ``(n, n_filters, *code)`` (or without ``n``), same container as the input.
            Each code axis is ``signal length - filter length + 1``. Encoded ``chunk_size``
            signals at a time.
        """
        self._check_ready()
        n_iter = self.n_iter if n_iter is None else check_int(n_iter, "n_iter", minimum=1)
        Y, batched = self._as_batch(signals, "signals")
        out = torch.cat([self._encode(c.unsqueeze(1), n_iter) for c in Y.split(self.chunk_size)])
        return like_input(out if batched else out[0], signals)

    @torch.no_grad()
    def decode(self, codes):
        """Signals ``sum_c h_c * x_c`` from codes of shape ``(n, n_filters, *code)`` or
        ``(n_filters, *code)``; same container as the input."""
        d = self._ndim
        arr = check_array(codes, "codes", ndim=(d + 1, d + 2))
        t = to_torch(arr, device=self.weight.device, dtype=self.weight.dtype)
        batched = t.ndim == d + 2
        t = t if batched else t.unsqueeze(0)
        if t.shape[1] != self.n_filters:
            raise ValueError(f"codes must have n_filters = {self.n_filters} channels on axis "
                             f"{1 if batched else 0}, got shape {tuple(arr.shape)}.")
        out = conv_decode(t, self.weight).squeeze(1)
        return like_input(out if batched else out[0], codes)

    def fit(self, signals, targets=None):
        """Learn the filters (and lambda) from windows of a recording or image patches.

        Each mini-batch: encode with ``n_iter`` FISTA steps, decode, take an Adam step on
        ``1/2 ||target - decoded||^2`` (``target`` = the input itself, or the clean ``targets``
        for supervised denoising) by backpropagation through the unrolled steps, renormalise
        every filter to unit norm, re-estimate ``L``, then update lambda:

        - ``"em"``: the closed-form M-step :func:`lambda_closed_form` on the batch's codes;
        - ``"grad"``: an Adam step (``lr_lambda``) on the same M-step objective, codes held fixed;
        - ``"fixed"``: keep ``lam`` (default: the universal threshold below);
        - ``"bias"``: no lambda; a free per-filter threshold learned with the filters.

        The starting lambda is ``sqrt(2 log(C N_e)) / sigma`` (``N_e`` code entries per filter and
        signal), whose threshold is Donoho's universal threshold; the Gamma prior has rate
        ``prior_rate`` and mean at that start. ``sigma``, if not given, is estimated once as
        ``median|y| / 0.6745``, or tracked by a moving average of the residual RMS when
        ``estimate_sigma=True``.

        Two aids against the local optima of dictionary learning, both off by default:
        ``anneal_factor > 1`` (fixed lambda only) starts lambda that many times larger and lowers
        it geometrically to ``lam`` over ``anneal_epochs`` epochs, so that early, poor filters
        are driven by clear spikes only; ``shift_search=True`` tries, after every epoch but the
        last, to move each filter by half a sample (see ``shift_history_``), which frees a
        filter that settled between two sampling points with its spikes split across two lags.

        Parameters
        ----------
        signals : array or tensor of shape ``(n, *spatial)``
        targets : array or tensor of the same shape, optional

        Returns
        -------
        self
        """
        d = self._ndim
        dev = resolve_device(self.device)
        self.to(dev)
        Y = to_torch(check_array(signals, "signals", ndim=d + 1), device=dev, dtype=torch.float32)
        Y, _ = self._as_batch(Y, "signals")
        T = Y if targets is None else to_torch(check_array(targets, "targets", ndim=d + 1),
                                               device=dev, dtype=torch.float32)
        if T.shape != Y.shape:
            raise ValueError(f"targets must have the shape of signals {tuple(Y.shape)}, got "
                             f"{tuple(T.shape)}.")
        n_code = int(np.prod([s - k + 1 for s, k in zip(Y.shape[1:], self.filter_length)]))
        with torch.no_grad():
            if self.sigma is None:
                self.sigma_t.fill_(float(Y.abs().median()) / 0.6745)
            else:
                self.sigma_t.fill_(self.sigma)
            lam_init = math.sqrt(2 * math.log(self.n_filters * n_code)) / self.sigma_
            if self.lam is None:
                self.lam_param.fill_(lam_init)
            else:
                self.lam_param.copy_(torch.as_tensor(np.broadcast_to(self.lam, (self.n_filters,)).copy()))
            self.weight.copy_(_unit_norm(self.weight))
            self.L_t.fill_(lipschitz_bound(self.weight))
            self.bias.copy_(self.lam_param.detach() * self.sigma_ ** 2 / self.L_)
        # Gamma prior with its mean r / delta at the starting lambda
        prior_shape = self.prior_rate * float(self.lam_param.detach().mean())
        params = [self.weight] + ([self.bias] if self.lambda_update == "bias" else [])
        opt = torch.optim.Adam(params, lr=self.lr)
        # Adam's step sets a floor on the template error, so it shrinks epoch by epoch
        schedule = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=self.lr_decay)
        opt_lam = torch.optim.Adam([self.lam_param], lr=self.lr_lambda) \
            if self.lambda_update == "grad" else None
        gen = torch_generator(self.random_state)
        self.loss_history_, self.lambda_history_, self.filter_history_ = [], [], [self.filters_.copy()]
        self.shift_history_ = []
        lam_final = self.lam_param.detach().clone()
        for epoch in tqdm(range(self.n_epochs), disable=not self.progress, desc="CRsAE epochs"):
            if self.anneal_factor > 1.0:
                # geometric continuation: a large lambda first, while the filters are poor, so
                # that only clear spikes drive the updates; the final lambda from anneal_epochs on
                progress = min(epoch / self.anneal_epochs, 1.0)
                self.lam_param.data.copy_(lam_final * self.anneal_factor ** (1.0 - progress))
            order = torch.randperm(Y.shape[0], generator=gen).to(dev)
            total = 0.0
            for idx in order.split(self.batch_size):
                y, target = Y[idx], T[idx]
                if self.backprop_encoder:
                    recon, codes = self(y)
                else:
                    with torch.no_grad():
                        codes = self._encode(y.unsqueeze(1), self.n_iter)
                    recon = conv_decode(codes, self.weight).squeeze(1)
                loss = 0.5 * ((recon - target) ** 2).sum() / len(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                with torch.no_grad():
                    self.weight.copy_(_unit_norm(self.weight))
                    self.L_t.fill_(lipschitz_bound(self.weight))
                    self._update_lambda(codes.detach(), len(idx) * n_code, prior_shape, opt_lam)
                    if self.estimate_sigma:
                        rms = float(((recon.detach() - y) ** 2).mean().sqrt())
                        self.sigma_t.mul_(0.99).add_(0.01 * rms)
            schedule.step()
            if self.shift_search and epoch < self.n_epochs - 1:
                moves = self._search_shifts(Y[:_SHIFT_SEARCH_SIGNALS], T[:_SHIFT_SEARCH_SIGNALS])
                self.shift_history_ += [(epoch, *move) for move in moves]
            self.loss_history_.append(total / Y.shape[0])
            self.lambda_history_.append(self.lambda_.copy())
            self.filter_history_.append(self.filters_.copy())
        return self

    @torch.no_grad()
    def objective(self, signals, targets=None) -> float:
        """Mean over signals of ``1/2 ||target - H x||^2 + sum_c lambda_c sigma^2 ||x_c||_1`` with
        the encoder's codes ``x`` (the MAP objective that training lowers; ``target`` is the
        signal itself unless clean ``targets`` are given)."""
        self._check_ready()
        Y, _ = self._as_batch(signals, "signals")
        T = Y if targets is None else self._as_batch(targets, "targets")[0]
        codes = torch.cat([self._encode(c.unsqueeze(1), self.n_iter)
                           for c in Y.split(self.chunk_size)])
        penalty = self.threshold() * self.L_t                  # lambda sigma^2 (or the bias)
        misfit = 0.5 * ((conv_decode(codes, self.weight).squeeze(1) - T) ** 2).sum()
        return float((misfit + (penalty * codes.abs()).sum()) / Y.shape[0])

    @torch.no_grad()
    def _search_shifts(self, Y, T):
        """Move filters by half a sample where that lowers :meth:`objective`.

        On sampled data a smooth waveform has a nearly equivalent copy half a sample off the
        grid, whose spikes the encoder splits between two neighbouring lags; gradient steps do
        not leave that state, because moving the filter and merging the codes must happen
        together. Each filter is shifted by -1/2 and +1/2 sample along every axis (cubic
        interpolation) and the better shift is kept if it lowers the objective on ``Y``.
        Returns the moves kept as ``(filter, axis, shift)``.
        """
        best = self.objective(Y, T)
        moves = []
        for c in range(self.n_filters):
            for axis in range(self._ndim):
                original = self.weight[c].clone()
                scores = {}
                for step in (-0.5, 0.5):
                    offset = [0.0] * self._ndim
                    offset[axis] = step
                    self._set_filter(c, ndimage.shift(to_numpy(original).astype(np.float64),
                                                      offset, order=3, mode="constant"))
                    scores[step] = (self.objective(Y, T), self.weight[c].clone())
                step = min(scores, key=lambda k: scores[k][0])
                if scores[step][0] < best:
                    best = scores[step][0]
                    moves.append((c, axis, step))
                    self._set_filter(c, scores[step][1])
                else:
                    self._set_filter(c, original)
        return moves

    def _update_lambda(self, codes, n_entries, prior_shape, opt_lam):
        if self.lambda_update in ("fixed", "bias"):
            return
        l1 = codes.abs().transpose(0, 1).reshape(self.n_filters, -1).sum(1)
        if self.lambda_update == "em":
            self.lam_param.copy_(torch.as_tensor(
                lambda_closed_form(to_numpy(l1), n_entries, self.prior_rate, prior_shape),
                dtype=self.lam_param.dtype))
            return
        # gradient of the M-step objective, divided by n_entries so Adam's scale is sensible
        lam = self.lam_param
        lam.grad = (l1 + self.prior_rate - (n_entries + prior_shape - 1) / lam) / n_entries
        opt_lam.step()
        lam.clamp_(min=1e-8)

    def _set_filter(self, c, values):
        """Replace filter ``c`` (unit-normalised) and re-estimate ``L``."""
        w = torch.as_tensor(values, dtype=self.weight.dtype, device=self.weight.device)
        self.weight[c] = w / w.norm().clamp_min(1e-12)
        self.L_t.fill_(lipschitz_bound(self.weight))

    def save(self, path):
        """Save hyperparameters and weights with ``torch.save`` (no pickled objects)."""
        config = {k: getattr(self, k) for k in ("n_filters", "n_iter", "lambda_update",
                                                "prior_rate", "lr_lambda", "estimate_sigma",
                                                "nonnegative", "lr", "lr_decay", "n_epochs", "batch_size",
                                                "anneal_factor", "anneal_epochs", "shift_search",
                                                "chunk_size")}
        config["filter_length"] = list(self.filter_length)
        torch.save({"config": config, "state_dict": self.state_dict()}, path)

    @classmethod
    def load(cls, path, device="auto"):
        """Load a model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = cls(**blob["config"], device=device)
        model.load_state_dict(blob["state_dict"])
        return model.to(resolve_device(device))


def _unit_norm(w: torch.Tensor) -> torch.Tensor:
    norms = w.flatten(1).norm(dim=1).clamp_min(1e-12)
    return w / norms.reshape(-1, *([1] * (w.ndim - 1)))


class CRsAE1d(_CRsAE):
    """Convolutional dictionary learning for 1-D signals (spike sorting) as an autoencoder.

    Model ``y = sum_c h_c * x_c + noise`` with unit-norm filters ``h_c`` of length
    ``filter_length`` and sparse codes. The encoder is ``n_iter`` unrolled FISTA steps with
    threshold ``lambda_c sigma^2 / L`` (two-sided, or one-sided with ``nonnegative=True``); the
    decoder is the dictionary with the same weights; :meth:`fit` learns the filters by
    backpropagation and lambda by an EM-style M-step :cite:p:`tolooshams2020crsae`.

    Parameters
    ----------
    n_filters : int
    filter_length : int
    n_iter : int
        Unrolled FISTA steps T.
    lam : float or array of shape (n_filters,), optional
        Starting (or fixed) lambda; default ``sqrt(2 log(C N_e)) / sigma``.
    sigma : float, optional
        Noise standard deviation; default a robust estimate from the data.
    lambda_update : {"em", "grad", "fixed", "bias"}
        How lambda is learned (see :meth:`fit`).
    prior_rate : float
        Rate ``delta`` of the Gamma hyperprior on lambda (its mean is the starting lambda).
    lr_lambda : float
        Adam step for ``lambda_update="grad"``.
    estimate_sigma : bool
        Track sigma by a moving average of the residual RMS.
    nonnegative : bool
        Nonnegative codes (one-sided ReLU), e.g. for spikes of one polarity.
    init_filters : array of shape (n_filters, filter_length), optional
        Starting filters (normalised); default random Gaussian from ``random_state``.
    lr, n_epochs, batch_size : Adam step, passes over the data, signals per step.
    lr_decay : float
        Factor applied to ``lr`` after every epoch (Adam's step sets a floor on the error).
    anneal_factor, anneal_epochs : float >= 1, int
        With ``lambda_update="fixed"``: start at ``anneal_factor * lam`` and reach ``lam``
        geometrically after ``anneal_epochs`` epochs (1 = no annealing).
    shift_search : bool
        After every epoch but the last, keep half-sample shifts of a filter that lower
        :meth:`objective` on (up to 128 of) the training signals.
    chunk_size : int
        Signals encoded at once by :meth:`encode` (about 128 is fastest on CPUs).
    device : "auto", "cpu", "cuda" or torch.device
    random_state : int, numpy Generator or None
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    filters_, lambda_, sigma_, L_ : learned filters, sparsity weights, noise level, step constant
    loss_history_, lambda_history_, filter_history_ : per epoch (filters also at the start)
    shift_history_ : list of ``(epoch, filter, axis, shift)`` moves kept by ``shift_search``

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.data import spike_recording
    >>> rec = spike_recording(duration=0.5, n_neurons=2, template_length=20, random_state=0)
    >>> windows = rec.recording.reshape(-1, 250)
    >>> model = CRsAE1d(2, 20, n_iter=20, nonnegative=True, n_epochs=2, random_state=0)
    >>> model.fit(windows).filters_.shape
    (2, 20)
    >>> bool(np.allclose((model.filters_ ** 2).sum(1), 1.0, atol=1e-5))
    True
    >>> model.encode(windows).shape
    (20, 2, 231)
    """

    _ndim = 1


class CRsAE2d(_CRsAE):
    """Convolutional dictionary learning for images (denoising) as an unrolled autoencoder.

    Same model and parameters as :class:`CRsAE1d` with 2-D filters of size ``filter_length``
    (an int or ``(K1, K2)``) and stride 1; inputs are images ``(n, H, W)`` or one ``(H, W)``.
    Pass clean ``targets`` to :meth:`fit` for supervised denoising.

    Examples
    --------
    >>> import numpy as np
    >>> model = CRsAE2d(4, 3, n_iter=5, lam=1.0, sigma=0.1, random_state=0)
    >>> model.encode(np.zeros((2, 8, 8))).shape
    (2, 4, 6, 6)
    """

    _ndim = 2
