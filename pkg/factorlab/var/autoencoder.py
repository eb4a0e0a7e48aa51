"""A convolutional autoencoder with a sparse VAR fitted on its latent series in every pass.

Following Kabus et al. (2026): frames minus the mean frame go through a convolutional encoder to
latent vectors ``z_t``; a lasso VAR is fitted afresh on the latent series inside each forward pass
(LARS forward, closed form on the active set backward, see :mod:`factorlab.var.lasso`), so the
encoder learns latents whose dynamics are sparse and predictable; the decoder adds the mean frame
back (a skip connection for the static, non-sparse content). ``mode="two_stage"`` is the baseline:
train the autoencoder for reconstruction only, fit the VAR afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._backend import check_random_state, like_input, resolve_device, to_numpy, to_torch
from .._validate import (check_array, check_int, check_nonnegative_number, check_option,
                         check_positive)
from .sparse_var import SparseVAR, lagged_design, spectral_radius, var_lasso

__all__ = ["VARAutoencoder"]


def _progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc)


class VARAutoencoder(nn.Module):
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
    frame_shape : (int, int)
        Height and width, both multiples of 4.
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
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.
    random_state : int
        Seeds the weights and the training windows.

    Attributes
    ----------
    var_ : SparseVAR
        The VAR fitted on the latents of the whole training movie after training.
    loss_history_ : ndarray of shape (n_steps, 3)
        Reconstruction, prediction and variance terms at every step.

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.data import var_movie
    >>> data = var_movie(n_frames=200, shape=(16, 16), n_network=4, n_distractors=2,
    ...                  n_edges=2, random_state=0)
    >>> model = VARAutoencoder((16, 16), latent_dim=4, device="cpu", random_state=0)
    >>> model = model.fit(data.movie, n_steps=5, window=64)
    >>> model.encode(data.movie).shape, model.var_.coefs_.shape
    ((200, 4), (1, 4, 4))
    """

    def __init__(self, frame_shape, latent_dim=8, order=1, alpha=0.05, mode="end_to_end",
                 channels=(8, 16), prediction_weight=1.0, variance_weight=0.1, standardize=True,
                 device="auto", random_state=0):
        super().__init__()
        if len(frame_shape) != 2:
            raise ValueError(f"frame_shape must be (height, width), got {frame_shape!r}.")
        H, W = (check_int(s, "frame_shape", minimum=4) for s in frame_shape)
        if H % 4 or W % 4:
            raise ValueError(f"frame_shape must be multiples of 4 (two stride-2 layers), got "
                             f"{(H, W)}; crop or pad the movie.")
        self.config = dict(
            frame_shape=(H, W), latent_dim=check_int(latent_dim, "latent_dim", minimum=1),
            order=check_int(order, "order", minimum=1),
            alpha=check_nonnegative_number(alpha, "alpha"),
            mode=check_option(mode, "mode", ("end_to_end", "two_stage")),
            channels=tuple(check_int(c, "channels", minimum=1) for c in channels),
            prediction_weight=check_nonnegative_number(prediction_weight, "prediction_weight"),
            variance_weight=check_nonnegative_number(variance_weight, "variance_weight"),
            standardize=bool(standardize), random_state=check_int(random_state, "random_state"))
        c1, c2 = self.config["channels"]
        flat = c2 * (H // 4) * (W // 4)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            self.encoder = nn.Sequential(
                nn.Conv2d(1, c1, 3, stride=2, padding=1), nn.ELU(),
                nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ELU(),
                nn.Flatten(), nn.Linear(flat, latent_dim))
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, flat), nn.ELU(), nn.Unflatten(1, (c2, H // 4, W // 4)),
                nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ELU(),
                nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1))
        self.register_buffer("mean_frame", torch.zeros(H, W))
        self.register_buffer("var_coefs", torch.zeros(order, latent_dim, latent_dim,
                                                      dtype=torch.float64))
        self.register_buffer("var_mean", torch.zeros(latent_dim, dtype=torch.float64))
        self.device_ = resolve_device(device)
        self.to(self.device_)

    # -- the model -------------------------------------------------------------------------
    def _encode(self, X):
        """Latents (T, d) of a float tensor movie (T, H, W) already on the device."""
        return self.encoder((X - self.mean_frame)[:, None])

    def _decode(self, Z):
        return self.decoder(Z)[:, 0] + self.mean_frame

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
        coefs, mean = var_lasso(Z.double(), self.config["order"], self.config["alpha"],
                                standardize=self.config["standardize"])
        return dict(reconstruction=self._decode(Z), latents=Z, coefs=coefs,
                    prediction=self._predict(Z, coefs, mean))

    def _predict(self, Z, coefs, mean):
        p, d = coefs.shape[0], coefs.shape[1]
        Phi, _ = lagged_design(Z.double() - mean, p)
        B = coefs.permute(1, 0, 2).reshape(d, p * d)
        return (Phi @ B.T + mean).to(Z.dtype)

    def _loss_terms(self, X, end_to_end):
        p = self.config["order"]
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
    def fit(self, movie, n_steps=300, window=256, lr=3e-3, progress=False):
        """Train on one movie (T, H, W) with random contiguous windows; returns ``self``.

        The mean frame is taken from ``movie``. Each step encodes ``window`` consecutive frames,
        fits the VAR on their latents (end-to-end mode) and takes one Adam step. Afterwards the
        VAR ``var_`` is fitted on the latents of the whole movie (both modes).
        """
        X = self._movie(movie)
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        window = check_int(window, "window", minimum=self.config["order"] + 2)
        window = min(window, X.shape[0])
        lr = check_positive(lr, "lr")
        rng = check_random_state(self.config["random_state"])
        self.mean_frame.copy_(X.mean(0))
        end_to_end = self.config["mode"] == "end_to_end"
        optimizer = torch.optim.Adam(list(self.encoder.parameters())
                                     + list(self.decoder.parameters()), lr=lr)
        history = []
        self.train()
        for _ in _progress(range(n_steps), progress, "VARAutoencoder"):
            start = int(rng.integers(0, X.shape[0] - window + 1))
            recon, pred, variance = self._loss_terms(X[start:start + window], end_to_end)
            loss = (recon + self.config["prediction_weight"] * pred
                    + self.config["variance_weight"] * variance)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append([float(recon.detach()), float(pred.detach()), float(variance.detach())])
        self.eval()
        self.loss_history_ = np.array(history)
        self.refit_var(movie)
        return self

    def refit_var(self, movie, alpha=None):
        """Fit the latent VAR on the whole ``movie`` (optionally with another ``alpha``)."""
        alpha = self.config["alpha"] if alpha is None else alpha
        Z = to_numpy(self.encode(movie)).astype(np.float64)
        self.var_ = SparseVAR(self.config["order"], alpha,
                              standardize=self.config["standardize"]).fit(Z)
        self.var_coefs.copy_(torch.as_tensor(self.var_.coefs_))
        self.var_mean.copy_(torch.as_tensor(self.var_.mean_))
        return self

    # -- using a trained model -------------------------------------------------------------
    def _movie(self, movie, name="movie"):
        movie = check_array(movie, name, ndim=3)
        if tuple(movie.shape[1:]) != self.config["frame_shape"]:
            raise ValueError(f"{name} frames must be {self.config['frame_shape']}, got "
                             f"{tuple(movie.shape[1:])}.")
        return to_torch(movie, device=self.device_, dtype=torch.float32)

    def _check_var(self):
        if not hasattr(self, "var_"):
            raise RuntimeError("The latent VAR is not fitted: call fit(movie) or refit_var(movie).")

    @torch.no_grad()
    def encode(self, movie, chunk=512):
        """Latent series (T, d) of a movie (NumPy in, NumPy out; tensor in, tensor out)."""
        X = self._movie(movie)
        Z = torch.cat([self._encode(X[i:i + chunk]) for i in range(0, X.shape[0], chunk)])
        return like_input(Z, movie)

    @torch.no_grad()
    def decode(self, Z, chunk=512):
        """Frames (T, H, W) from latents (T, d), the mean frame added back."""
        Zt = to_torch(check_array(Z, "Z", ndim=2), device=self.device_, dtype=torch.float32)
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
        self._check_var()
        return self.var_.prediction_error(to_numpy(self.encode(movie)).astype(np.float64))

    def forecast(self, context, steps):
        """Decode the VAR's ``steps``-ahead forecast from the last frames of ``context``."""
        self._check_var()
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
        self._check_var()
        X = self._movie(movie)[:max_frames].clone().requires_grad_(True)
        pred = self._predict(self._encode(X), self.var_coefs, self.var_mean)
        squares = torch.zeros_like(X)
        for i in range(pred.shape[1]):
            (g,) = torch.autograd.grad(pred[:, i].sum(), X, retain_graph=True)
            squares += g ** 2
        return to_numpy(squares.sqrt().mean(0))

    # -- persistence -----------------------------------------------------------------------
    def save(self, path):
        """Save the configuration, the weights and the latent VAR (``torch.save`` of tensors)."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        torch.save({"config": {k: list(v) if isinstance(v, tuple) else v
                               for k, v in self.config.items()},
                    "state_dict": state, "fitted": hasattr(self, "var_")}, path)

    @classmethod
    def load(cls, path, device="auto"):
        """Load a model written by :meth:`save` (``weights_only=True``: no pickled code)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = cls(**blob["config"], device=device)
        model.load_state_dict(blob["state_dict"])
        if blob["fitted"]:
            var = SparseVAR(model.config["order"], model.config["alpha"],
                            standardize=model.config["standardize"])
            var.coefs_ = model.var_coefs.cpu().numpy()
            var.mean_ = model.var_mean.cpu().numpy()
            var.n_features_in_ = var.coefs_.shape[1]
            var.support_ = np.abs(var.coefs_).max(0) > 0
            var.spectral_radius_ = spectral_radius(var.coefs_)
            model.var_ = var
        model.eval()
        return model
