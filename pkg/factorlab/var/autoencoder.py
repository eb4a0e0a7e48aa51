"""A convolutional autoencoder with a sparse VAR fitted on its latent series in every pass.

Following Kabus et al. (2026): frames minus the mean frame go through a convolutional encoder to
latent vectors ``z_t``; a lasso VAR is fitted afresh on the latent series inside each forward pass
(LARS forward, closed form on the active set backward, see :mod:`factorlab.var.lasso`), so the
encoder learns latents whose dynamics are sparse and predictable; the decoder adds the mean frame
back (a skip connection for the static, non-sparse content). ``mode="two_stage"`` is the baseline:
train the autoencoder for reconstruction only, fit the VAR afterwards.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn


from .._backend import check_random_state, like_input, resolve_device, to_numpy, to_torch
from .._validate import (check_array, check_int, check_nonnegative_number, check_option,
                         check_positive)
from ..base import ModuleEstimator, NotFittedError, TransformerMixin, resolve_dtype
from .sparse_var import SparseVAR, lagged_design, var_lasso

__all__ = ["VARAutoencoder"]


def _check_frame_shape(shape, name):
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be (height, width), got {shape!r}.")
    H, W = (check_int(v, name, minimum=4) for v in shape)
    if H % 4 or W % 4:
        raise ValueError(f"{name} must be multiples of 4 (two stride-2 layers), got "
                         f"{(H, W)}; crop or pad the movie.")
    return H, W


def _progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc)


def _lazy(layer, device, dtype):
    """``layer`` (built on the meta device, so that no random numbers are drawn) with
    uninitialised weight and bias, which :meth:`VARAutoencoder.reset_parameters` fills."""
    layer.weight = nn.UninitializedParameter(device=device, dtype=dtype)
    layer.bias = nn.UninitializedParameter(device=device, dtype=dtype)
    return layer


class VARAutoencoder(TransformerMixin, ModuleEstimator):
    """Convolutional autoencoder whose latent series follows a sparse VAR(p).

    Loss (all terms relative, so their weights do not depend on the data's units)::

        ||X - X_hat||^2 / ||X - mean||^2                           reconstruction
        + prediction_weight * ||z_t - z_hat_t||^2 / ||z - z_bar||^2   one-step latent prediction
        + variance_weight * mean_j (var(z_j) - 1)^2                  keeps the latent scale fixed

    with ``z_hat_t = sum_k A_k z_{t-k}`` and ``A`` the lasso VAR fitted on the current latents
    (end-to-end). In ``mode="two_stage"`` the prediction term is left out of training and the
    VAR is only fitted at the end.

    Parameters
    ----------
    frame_shape : (int, int) or None
        Height and width, both multiples of 4; ``None`` takes them from the movie in ``fit``
        (given, they are checked against it).
    latent_dim : int
        Size ``d`` of the latent vector per frame.
    order : int
        VAR order ``p``.
    alpha : float
        Lasso penalty of the latent VAR (on standardised latents when ``standardize``).
    mode : {"end_to_end", "two_stage"}
    channels : (int, int)
        Channels of the two stride-2 convolutions.
    prediction_weight, variance_weight : float
    standardize : bool
        Fit the VAR on unit-variance latents (see :func:`~factorlab.var.var_lasso`).
    n_steps : int
        Adam steps of :meth:`fit`.
    window : int
        Consecutive frames per step (at most the movie's length, at least ``order + 2``).
    lr : float
        Adam's step size.
    device : str or torch.device
        Where the parameters are created (``"auto"``: CUDA when available); ``fit`` trains
        where they are, so ``model.to(...)`` is respected.
    dtype : {None, "float32", "float64"}
        Dtype of the network (default float32); the latent VAR is fitted in float64.
    random_state : int, numpy Generator, RandomState or None
        Seeds the weights and the training windows.
    progress : bool
        Show a progress bar over the steps.

    Attributes
    ----------
    var_ : SparseVAR
        The VAR fitted on the latents of the whole training movie after training (rebuilt
        from the buffers ``var_coefs``, ``var_mean``, so it survives :meth:`save`/:meth:`load`).
    loss_history_ : ndarray of shape (n_steps, 3)
        Reconstruction, prediction and variance terms at every step.
    frame_shape_ : tuple of int
        The frame shape learned from the movie.

    Notes
    -----
    Takes movies ``(T, H, W)`` (3-D data, so scikit-learn's 2-D estimator checks do not
    apply); :meth:`transform` is :meth:`encode`, the latent series ``(T, d)``. Parameters and
    buffers are created uninitialised at construction and given their shapes and values in
    place by :meth:`fit` (:meth:`reset_parameters`).

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.data import var_movie
    >>> data = var_movie(n_frames=200, shape=(16, 16), n_network=4, n_distractors=2,
    ...                  n_edges=2, random_state=0)
    >>> model = VARAutoencoder(latent_dim=4, n_steps=5, window=64, device="cpu",
    ...                        random_state=0).fit(data.movie)
    >>> model.encode(data.movie).shape, model.var_.coefs_.shape
    ((200, 4), (1, 4, 4))
    """

    _input_ndim = 3

    def __init__(self, frame_shape=None, latent_dim=8, order=1, alpha=0.05, mode="end_to_end",
                 channels=(8, 16), prediction_weight=1.0, variance_weight=0.1, standardize=True,
                 n_steps=300, window=256, lr=3e-3, device="auto", dtype=None, random_state=0,
                 progress=False):
        super().__init__()
        self.frame_shape = frame_shape
        self.latent_dim = latent_dim
        self.order = order
        self.alpha = alpha
        self.mode = mode
        self.channels = channels
        self.prediction_weight = prediction_weight
        self.variance_weight = variance_weight
        self.standardize = standardize
        self.n_steps = n_steps
        self.window = window
        self.lr = lr
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress
        dev, dt = self._init_device(), self._init_dtype()
        # the architecture is fixed; the sizes (channels, latent_dim, frame) come in fit
        self.encoder = nn.Sequential(
            _lazy(nn.Conv2d(1, 1, 3, stride=2, padding=1, device="meta"), dev, dt), nn.ELU(),
            _lazy(nn.Conv2d(1, 1, 3, stride=2, padding=1, device="meta"), dev, dt), nn.ELU(),
            nn.Flatten(), _lazy(nn.Linear(1, 1, device="meta"), dev, dt))
        self.decoder = nn.Sequential(_lazy(nn.Linear(1, 1, device="meta"), dev, dt), nn.ELU())
        self.upsample = nn.Sequential(
            _lazy(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, device="meta"), dev, dt),
            nn.ELU(),
            _lazy(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, device="meta"), dev, dt))
        self.register_buffer("mean_frame", nn.parameter.UninitializedBuffer(device=dev, dtype=dt))
        for name in ("var_coefs", "var_mean"):
            self.register_buffer(name, nn.parameter.UninitializedBuffer(
                device=dev, dtype=torch.float64))
        # penalty of the latent VAR and its alpha_max_ (NaN until fitted)
        self.register_buffer("var_alphas", torch.full((2,), torch.nan, device=dev,
                                                      dtype=torch.float64))

    # -- hyperparameters -------------------------------------------------------------------
    def _settings(self) -> dict:
        """The hyperparameters, checked (``fit`` calls this; nothing is stored)."""
        channels = tuple(self.channels)
        if len(channels) != 2:
            raise ValueError(f"channels must be two ints, got {self.channels!r}.")
        out = dict(
            latent_dim=check_int(self.latent_dim, "latent_dim", minimum=1),
            order=check_int(self.order, "order", minimum=1),
            alpha=check_nonnegative_number(self.alpha, "alpha"),
            mode=check_option(self.mode, "mode", ("end_to_end", "two_stage")),
            channels=tuple(check_int(c, "channels", minimum=1) for c in channels),
            prediction_weight=check_nonnegative_number(self.prediction_weight,
                                                       "prediction_weight"),
            variance_weight=check_nonnegative_number(self.variance_weight, "variance_weight"),
            n_steps=check_int(self.n_steps, "n_steps", minimum=1),
            lr=check_positive(self.lr, "lr"))
        out["window"] = check_int(self.window, "window", minimum=out["order"] + 2)
        if self.frame_shape is not None:
            out["frame_shape"] = _check_frame_shape(self.frame_shape, "frame_shape")
        resolve_device(self.device)
        resolve_dtype(self.dtype)
        return out

    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, (numbers.Integral, np.integer)) and not isinstance(rs, bool):
            return check_int(rs, "random_state", minimum=0)
        return int(check_random_state(rs).integers(2**63 - 1))

    def reset_parameters(self, frame_shape=None, seed=None) -> None:
        """Give every layer its shape and its seeded starting weights (PyTorch's default
        initialisation, drawn in the order of the layers from ``random_state`` on the CPU, so
        the same seed gives the same network on any device); zero mean frame and VAR.

        ``frame_shape`` defaults to the ``frame_shape`` hyperparameter, else to the frames
        seen by the last ``fit``."""
        cfg = self._settings()
        shape = frame_shape or cfg.get("frame_shape") or getattr(self, "frame_shape_", None)
        if shape is None:
            raise ValueError("reset_parameters needs the frame shape: pass frame_shape= to "
                             "the constructor or call fit(movie).")
        H, W = _check_frame_shape(shape, "frame_shape")
        (c1, c2), d, p = cfg["channels"], cfg["latent_dim"], cfg["order"]
        flat = c2 * (H // 4) * (W // 4)
        dt = self.param_dtype
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(self._seed() if seed is None else seed)
            reference = [nn.Conv2d(1, c1, 3, stride=2, padding=1, dtype=dt),
                         nn.Conv2d(c1, c2, 3, stride=2, padding=1, dtype=dt),
                         nn.Linear(flat, d, dtype=dt), nn.Linear(d, flat, dtype=dt),
                         nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, dtype=dt),
                         nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1, dtype=dt)]
        for own, ref in zip(self._layers(), reference):
            self._set_parameter(own.weight, ref.weight)
            self._set_parameter(own.bias, ref.bias)
        self._set_parameter(self.mean_frame, torch.zeros(H, W))
        self._set_parameter(self.var_coefs, torch.zeros(p, d, d))
        self._set_parameter(self.var_mean, torch.zeros(d))
        self.var_alphas.fill_(torch.nan)

    def _layers(self):
        return [self.encoder[0], self.encoder[2], self.encoder[5], self.decoder[0],
                self.upsample[0], self.upsample[2]]

    # -- the model -------------------------------------------------------------------------
    def _encode(self, X):
        """Latents (T, d) of a float tensor movie (T, H, W) already on the device."""
        return self.encoder((X - self.mean_frame)[:, None])

    def _decode(self, Z):
        H, W = self.mean_frame.shape
        hidden = self.decoder(Z).reshape(Z.shape[0], -1, H // 4, W // 4)
        return self.upsample(hidden)[:, 0] + self.mean_frame

    def forward(self, X):
        """Encode, fit the lasso VAR on the latents, predict and decode.

        Parameters
        ----------
        X : tensor of shape (T, H, W) on the model's device

        Returns
        -------
        dict with ``reconstruction`` (T, H, W), ``latents`` (T, d), ``coefs`` (p, d, d, float64,
        differentiable) and ``prediction`` (T - p, d): the one-step VAR predictions of the latents.
        """
        Z = self._encode(X)
        coefs, mean = var_lasso(Z.double(), self.order, self.alpha,
                                standardize=self.standardize)
        return dict(reconstruction=self._decode(Z), latents=Z, coefs=coefs,
                    prediction=self._predict(Z, coefs, mean))

    def _predict(self, Z, coefs, mean):
        p, d = coefs.shape[0], coefs.shape[1]
        Phi, _ = lagged_design(Z.double() - mean.double(), p)
        B = coefs.double().permute(1, 0, 2).reshape(d, p * d)
        return (Phi @ B.T + mean.double()).to(Z.dtype)

    def _loss_terms(self, X, end_to_end):
        p = self.order
        if end_to_end:
            out = self.forward(X)
            Z, X_hat = out["latents"], out["reconstruction"]
            target = Z[p:]
            pred = ((target - out["prediction"]) ** 2).mean() / target.var(0).mean().clamp_min(1e-8)
        else:
            Z = self._encode(X)
            X_hat = self._decode(Z)
            pred = torch.zeros((), device=X.device)
        recon = ((X_hat - X) ** 2).mean() / ((X - self.mean_frame) ** 2).mean().clamp_min(1e-12)
        variance = ((Z.var(0) - 1) ** 2).mean()
        return recon, pred, variance

    # -- training --------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train on one movie ``(T, H, W)`` with random contiguous windows; returns ``self``.

        Starts from :meth:`reset_parameters` (the frame shape from ``X``); the mean frame is
        taken from ``X``. Each of ``n_steps`` steps encodes ``window`` consecutive frames, fits
        the VAR on their latents (end-to-end mode) and takes one Adam step. Afterwards the VAR
        ``var_`` is fitted on the latents of the whole movie (both modes). ``y`` is ignored.
        """
        cfg = self._settings()
        arr = self._validate_input(X, "X", reset=True)
        shape = _check_frame_shape(arr.shape[1:], "X's frames")
        if "frame_shape" in cfg and cfg["frame_shape"] != shape:
            raise ValueError(f"X's frames are {shape}, but frame_shape is {cfg['frame_shape']}.")
        seed = self._seed()
        self.reset_parameters(shape, seed=seed)
        self.frame_shape_ = shape
        movie = self._as_module_input(arr)
        window = min(cfg["window"], movie.shape[0])
        # the windows' stream follows the weights' seed (one int seeds both)
        rng = check_random_state(seed)
        self._set_parameter(self.mean_frame, movie.mean(0))
        end_to_end = cfg["mode"] == "end_to_end"
        optimizer = torch.optim.Adam([p for layer in self._layers() for p in layer.parameters()],
                                     lr=cfg["lr"])
        history = []
        self.train()
        for _ in _progress(range(cfg["n_steps"]), self.progress, "VARAutoencoder"):
            start = int(rng.integers(0, movie.shape[0] - window + 1))
            recon, pred, variance = self._loss_terms(movie[start:start + window], end_to_end)
            loss = (recon + cfg["prediction_weight"] * pred + cfg["variance_weight"] * variance)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append([float(recon.detach()), float(pred.detach()), float(variance.detach())])
        self.eval()
        self.loss_history_ = np.array(history)
        self.refit_var(arr)
        return self

    def refit_var(self, movie, alpha=None):
        """Fit the latent VAR on the whole ``movie`` (optionally with another ``alpha``)."""
        alpha = self.alpha if alpha is None else alpha
        Z = to_numpy(self.encode(movie)).astype(np.float64)
        var = SparseVAR(self.order, alpha, standardize=self.standardize).fit(Z)
        self._set_parameter(self.var_coefs, torch.as_tensor(var.coefs_))
        self._set_parameter(self.var_mean, torch.as_tensor(var.mean_))
        self.var_alphas.copy_(torch.tensor([float(alpha), var.alpha_max_]))
        return self

    @property
    def var_(self) -> SparseVAR:
        """The latent VAR (a fitted :class:`SparseVAR`), rebuilt from the buffers."""
        if not bool(torch.isfinite(self.var_alphas).all()):
            raise NotFittedError("The latent VAR is not fitted: call fit(movie) or "
                                 "refit_var(movie).")
        alpha, alpha_max = (float(a) for a in self.var_alphas)
        var = SparseVAR(self.order, alpha, standardize=self.standardize)
        return var._set_fitted(to_numpy(self.var_coefs).astype(np.float64),
                               to_numpy(self.var_mean).astype(np.float64), alpha_max)

    # -- using a trained model -------------------------------------------------------------
    def _movie(self, movie, name="movie"):
        self._check_fitted()
        movie = check_array(movie, name, ndim=3)
        self._check_magnitude(movie, name)
        if tuple(movie.shape[1:]) != tuple(self.mean_frame.shape):
            raise ValueError(f"{name} frames must be {tuple(self.mean_frame.shape)}, got "
                             f"{tuple(movie.shape[1:])}.")
        return self._as_module_input(movie)

    @torch.no_grad()
    def encode(self, movie, chunk=512):
        """Latent series (T, d) of a movie (NumPy in, NumPy out; tensor in, tensor out)."""
        X = self._movie(movie)
        Z = torch.cat([self._encode(X[i:i + chunk]) for i in range(0, X.shape[0], chunk)])
        return like_input(Z, movie)

    def transform(self, X):
        """The latent series ``(T, d)`` of the movie ``X``: :meth:`encode`."""
        self._validate_input(X, "X", reset=False)
        return self.encode(X)

    @torch.no_grad()
    def decode(self, Z, chunk=512):
        """Frames (T, H, W) from latents (T, d), the mean frame added back."""
        self._check_fitted()
        Zt = self._as_module_input(check_array(Z, "Z", ndim=2))
        out = torch.cat([self._decode(Zt[i:i + chunk]) for i in range(0, Zt.shape[0], chunk)])
        return like_input(out, Z)

    def reconstruct(self, movie):
        """Decode(encode(movie))."""
        return like_input(to_torch(self.decode(to_numpy(self.encode(movie)))), movie)

    def reconstruction_error(self, movie) -> float:
        """``||X - X_hat||^2 / ||X - mean frame||^2`` (0 is perfect, 1 is the mean frame alone)."""
        X = to_numpy(movie).astype(np.float64)
        X_hat = to_numpy(self.reconstruct(movie))
        mu = to_numpy(self.mean_frame)
        return float(np.sum((X - X_hat) ** 2) / np.sum((X - mu) ** 2))

    def prediction_error(self, movie) -> float:
        """Relative one-step latent prediction error ``1 - R^2`` of the fitted VAR on ``movie``."""
        return self.var_.prediction_error(to_numpy(self.encode(movie)).astype(np.float64))

    def forecast(self, context, steps):
        """Decode the VAR's ``steps``-ahead forecast from the last frames of ``context``."""
        Z = to_numpy(self.encode(context)).astype(np.float64)
        return like_input(to_torch(self.decode(self.var_.forecast(Z, steps))), context)

    def contribution_map(self, movie, max_frames=300):
        """Which pixels drive the learned dynamics: input gradients through encoder and VAR.

        ``Omega(pixel) = mean_t || d z_hat_{t+1} / d X_t(pixel) ||`` where
        ``z_hat_{t+1} = sum_k A_k z_{t+1-k}`` uses the fitted VAR (norm over the ``d`` outputs).

        Returns
        -------
        ndarray of shape (H, W)
        """
        self._check_fitted()
        X = self._movie(movie)[:max_frames].clone().requires_grad_(True)
        pred = self._predict(self._encode(X), self.var_coefs, self.var_mean)
        squares = torch.zeros_like(X)
        for i in range(pred.shape[1]):
            (g,) = torch.autograd.grad(pred[:, i].sum(), X, retain_graph=True)
            squares += g ** 2
        return to_numpy(squares.sqrt().mean(0))
