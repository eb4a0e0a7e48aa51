"""A U-Net that learns background subtraction from low-rank and sparse priors, without labels.

Robust PCA splits a window of frames ``D`` (frames x pixels) into a low-rank background and a
sparse foreground by minimising ``||D - S||_* + lam ||S||_1`` over ``S``. DeepLS (Takeda,
Fujiwara & Sakai, 2022) minimises the *same* objective, but over the weights of a U-Net whose
output is ``S = S_theta(D)``, frame by frame. The loss needs the whole batch (the nuclear norm
couples the frames), but the trained network needs only one frame: it has learnt what the
foreground looks like, so it also finds objects that stand still, which robust PCA puts into
the background, and it runs on new frames without any SVD.

The two non-smooth norms are :class:`factorlab.prox.NuclearProxLoss` and
:class:`factorlab.prox.L1ProxLoss`, whose backward pass is the proximal residual (Sakai et al.,
2021). After Adam, :meth:`ProxUNet.predict` can refine the output on a batch by the
forward-backward steps of :func:`factorlab.robust.rpca_forward_backward`, warm-started at the
network's output (our reading of the paper's equation 7).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._backend import like_input, resolve_device, to_torch
from .._validate import check_array, check_int, check_nonnegative_number, check_positive
from ..prox import l1_prox_loss, nuclear_prox_loss
from .prox_rpca import rpca_forward_backward

__all__ = ["ProxUNet"]


def _block(c_in, c_out):
    """3x3 convolution (reflect padding, no bias: BN has one) + batch norm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect", bias=False),
        nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ProxUNet(nn.Module):
    """U-Net trained by the RPCA loss ``lam_nuclear ||D - S||_* + lam ||S||_1`` on its output.

    Architecture: two 3x3 conv + BN + ReLU blocks per level, 2 max-pools, a bottleneck, bilinear
    upsampling with skip connections, and a bias-free 1x1 output convolution (no constant
    offset: silent features give ``S = 0``). With ``base_channels=32`` it has about 333 k
    parameters (DeepLS: about 334 k); reflect padding avoids dark borders in ``S``.

    Parameters
    ----------
    base_channels : int
        Channels at full resolution (doubled at each level).
    lam : float, optional
        Weight of ``||S||_1``; default ``1/sqrt(max(frames, pixels))`` of the training matrix.
    lam_nuclear : float
        Weight of ``||D - S||_*``.
    lr : float
        Adam learning rate.
    n_epochs : int
        Full-batch Adam steps on the training frames.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.
    random_state : int or None
        Seed of the weight initialisation.
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    loss_history_ : list of float
        The loss after each epoch.
    lam_ : float
        The ``lam`` used.

    Examples
    --------
    >>> import numpy as np
    >>> from factorlab.data import surveillance_video
    >>> video = surveillance_video(n_frames=8, height=24, width=32, random_state=0)
    >>> net = ProxUNet(base_channels=4, n_epochs=3, device="cpu", random_state=0)
    >>> S = net.fit(video.frames).predict(video.frames)
    >>> S.shape, len(net.loss_history_)
    ((8, 24, 32), 3)
    """

    def __init__(self, base_channels=32, lam=None, lam_nuclear=1.0, lr=3e-4, n_epochs=500,
                 device="auto", random_state=None, progress=False):
        super().__init__()
        self.base_channels = check_int(base_channels, "base_channels", minimum=1)
        self.lam = None if lam is None else check_positive(lam, "lam")
        self.lam_nuclear = check_nonnegative_number(lam_nuclear, "lam_nuclear")
        self.lr = check_positive(lr, "lr")
        self.n_epochs = check_int(n_epochs, "n_epochs", minimum=0)
        self.device = device
        self.random_state = random_state
        self.progress = progress
        c = self.base_channels
        # Seed the initialisation without touching the global generator.
        with torch.random.fork_rng(devices=[]):
            if random_state is not None:
                torch.manual_seed(int(random_state))
            self.enc1 = nn.Sequential(_block(1, c), _block(c, c))
            self.enc2 = nn.Sequential(_block(c, 2 * c), _block(2 * c, 2 * c))
            self.mid = nn.Sequential(_block(2 * c, 4 * c), _block(4 * c, 2 * c))
            self.dec2 = nn.Sequential(_block(4 * c, 2 * c), _block(2 * c, c))
            self.dec1 = nn.Sequential(_block(2 * c, c), _block(c, c))
            self.out = nn.Conv2d(c, 1, 1, bias=False)
        self.lam_ = self.lam
        self.loss_history_ = []

    def forward(self, x):
        """Map frames ``(n, 1, h, w)`` to their sparse foreground ``(n, 1, h, w)``."""
        h, w = x.shape[-2:]
        # Two 2x poolings need sizes divisible by 4; pad by reflection and crop afterwards.
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        up = F.interpolate(m, size=e2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up, e2], dim=1))
        up = F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up, e1], dim=1))
        return self.out(d1)[..., :h, :w]

    def _frames(self, frames, name):
        arr = check_array(frames, name, ndim=3)
        if min(arr.shape[1:]) < 4:
            raise ValueError(f"{name} must be at least 4 x 4 pixels per frame, got "
                             f"{tuple(arr.shape[1:])}.")
        dev = resolve_device(self.device)
        return arr, to_torch(arr, device=dev, dtype=torch.float32)[:, None]

    def loss(self, D, S):
        """The training loss ``lam_nuclear ||D - S||_* + lam ||S||_1`` on frames x pixels."""
        n = D.shape[0]
        D2, S2 = D.reshape(n, -1), S.reshape(n, -1)
        return nuclear_prox_loss(D2 - S2, self.lam_nuclear) + l1_prox_loss(S2, self.lam_)

    def fit(self, frames):
        """Train on a batch of frames (no labels) by full-batch Adam on :meth:`loss`.

        Parameters
        ----------
        frames : array or tensor of shape (n_frames, height, width)
            Typically a few dozen frames drawn at random from a recording, scaled to [0, 1].

        Returns
        -------
        self
        """
        _, X = self._frames(frames, "frames")
        if X.shape[0] < 2:
            raise ValueError("frames must hold at least 2 frames: the low-rank prior couples "
                             "frames.")
        self.to(X.device)
        n, pixels = X.shape[0], X.shape[-2] * X.shape[-1]
        self.lam_ = self.lam if self.lam is not None else 1.0 / math.sqrt(max(n, pixels))
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        self.train()
        self.loss_history_ = []
        for _ in tqdm(range(self.n_epochs), disable=not self.progress, desc="ProxUNet"):
            loss = self.loss(X, self(X))
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.loss_history_.append(float(loss.detach()))
        self.eval()
        return self

    @torch.no_grad()
    def predict(self, frames, batch_size=64):
        """The sparse foreground ``S`` of (new) frames, one frame at a time in effect.

        Parameters
        ----------
        frames : array or tensor of shape (n_frames, height, width)
        batch_size : int
            Frames per forward pass (only memory; the result does not depend on it).

        Returns
        -------
        S : like ``frames``
        """
        arr, X = self._frames(frames, "frames")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.to(X.device).eval()
        S = torch.cat([self(x) for x in X.split(batch_size)])[:, 0]
        return like_input(S, arr)

    def refine(self, frames, S=None, n_iter=20, alpha=None):
        """Proximal refinement of the network's output on a batch (eqs. 4-5, warm start).

        Runs ``n_iter`` forward-backward steps ``L = svt(D - S, alpha)``,
        ``S = soft(D - L, alpha lam)`` starting from ``S = predict(frames)``: the soft threshold
        makes the background exactly zero, while a few steps keep what the network found.

        Parameters
        ----------
        frames : array or tensor of shape (n_frames, height, width)
        S : array or tensor like ``frames``, optional
            A prediction to refine (default: :meth:`predict` of ``frames``).
        n_iter : int
        alpha : float, optional
            As in :func:`factorlab.robust.rpca_forward_backward`.

        Returns
        -------
        S : like ``frames``
        """
        start = self.predict(frames) if S is None else S
        return rpca_forward_backward(frames, alpha=alpha, max_iter=n_iter, S_init=start).S

    def save(self, path):
        """Save hyperparameters and weights with ``torch.save`` (no pickled objects)."""
        config = {k: getattr(self, k) for k in ("base_channels", "lam", "lam_nuclear", "lr",
                                                "n_epochs")}
        torch.save({"config": config, "lam_": self.lam_, "state_dict": self.state_dict()}, path)

    @classmethod
    def load(cls, path, device="auto"):
        """Load a model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = cls(**blob["config"], device=device)
        model.load_state_dict(blob["state_dict"])
        model.lam_ = blob["lam_"]
        return model.to(resolve_device(device)).eval()
