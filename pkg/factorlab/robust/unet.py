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
import numbers

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._backend import check_random_state, like_input, resolve_device
from .._validate import check_array, check_int, check_nonnegative_number, check_positive
from ..base import ModuleEstimator, resolve_dtype
from ..prox import l1_prox_loss, nuclear_prox_loss
from .prox_rpca import rpca_forward_backward

__all__ = ["ProxUNet"]


def _block(c_in, c_out):
    """3x3 convolution (reflect padding, no bias: BN has one) + batch norm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect", bias=False),
        nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ProxUNet(ModuleEstimator):
    """U-Net trained by the RPCA loss ``lam_nuclear ||D - S||_* + lam ||S||_1`` on its output.

    Architecture: two 3x3 conv + BN + ReLU blocks per level, 2 max-pools, a bottleneck, bilinear
    upsampling with skip connections, and a bias-free 1x1 output convolution (no constant
    offset: silent features give ``S = 0``). With ``base_channels=32`` it has about 333 k
    parameters (DeepLS: about 334 k); reflect padding avoids dark borders in ``S``.

    The layers are built at construction (so ``base_channels`` must be a positive integer
    there; ``set_params`` of ``base_channels``, ``random_state``, ``device`` or ``dtype``
    rebuilds them), on ``device`` and in ``dtype``; ``fit`` trains wherever the parameters
    are, so ``net.to("cuda")`` later is respected. Data are 3-D, frames x height x width, so
    scikit-learn's 2-D estimator checks do not apply; ``clone``, ``get_params``/``set_params``,
    ``save``/``load`` and ``NotFittedError`` do.

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
    device : "auto", "cpu", "cuda" or torch.device
        Where the layers are created (``"auto"``: CUDA when available).
    dtype : None, "float32" or "float64"
        The layers' dtype (default float32); predictions come back in it.
    random_state : int, Generator, RandomState or None
        Seed of the weight initialisation (drawn on the CPU, so the same on every device;
        the global torch generator is left untouched).
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    loss_history_ : list of float
        The loss after each epoch.
    lam_ : float
        The ``lam`` used.
    n_features_in_ : int
        Pixels per training frame (:meth:`predict` takes frames of any size >= 4 x 4: the
        network is convolutional).

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

    _input_ndim = 3

    def __init__(self, base_channels=32, lam=None, lam_nuclear=1.0, lr=3e-4, n_epochs=500,
                 device="auto", dtype=None, random_state=None, progress=False):
        super().__init__()
        self.base_channels, self.lam, self.lam_nuclear = base_channels, lam, lam_nuclear
        self.lr, self.n_epochs = lr, n_epochs
        self.device, self.dtype, self.random_state, self.progress = device, dtype, random_state, progress
        self._build()

    _ARCHITECTURE = ("base_channels", "random_state", "device", "dtype")

    def _seeded_layers(self) -> dict:
        """The layers, freshly initialised on the CPU in float32 from ``random_state``."""
        c = check_int(self.base_channels, "base_channels", minimum=1)   # needed to build
        seed = self.random_state
        if seed is not None and not isinstance(seed, numbers.Integral):
            seed = int(check_random_state(seed).integers(2**63 - 1))
        # Seed the initialisation without touching the global generator.
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            return {"enc1": nn.Sequential(_block(1, c), _block(c, c)),
                    "enc2": nn.Sequential(_block(c, 2 * c), _block(2 * c, 2 * c)),
                    "mid": nn.Sequential(_block(2 * c, 4 * c), _block(4 * c, 2 * c)),
                    "dec2": nn.Sequential(_block(4 * c, 2 * c), _block(2 * c, c)),
                    "dec1": nn.Sequential(_block(2 * c, c), _block(c, c)),
                    "out": nn.Conv2d(c, 1, 1, bias=False)}

    def _build(self) -> None:
        for name, layer in self._seeded_layers().items():
            setattr(self, name, layer.to(device=self._init_device(), dtype=self._init_dtype()))

    def reset_parameters(self) -> None:
        """Re-initialise every layer in place, as at construction (same seed, same values)."""
        fresh = nn.Module()
        for name, layer in self._seeded_layers().items():
            fresh.add_module(name, layer)
        self.load_state_dict(fresh.state_dict())   # copies into the existing parameters

    def set_params(self, **params):
        """Set hyperparameters; the architecture's (``base_channels``, ``random_state``,
        ``device``, ``dtype``) rebuild the layers, unfitted."""
        super().set_params(**params)
        if any(k in params for k in self._ARCHITECTURE):
            self._build()
        return self

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

    def _frames(self, frames, name, reset=None):
        """Validated frames and the ``(n, 1, h, w)`` network input on the parameters' device
        and dtype (detached: the caller's tensor never gets a gradient)."""
        if reset is None:
            self._check_fitted()
            arr = check_array(frames, name, ndim=3)   # any frame size: convolutional
            self._check_magnitude(arr, name)
        else:
            arr = self._validate_input(frames, name, reset=reset)
        if min(arr.shape[1:]) < 4:
            raise ValueError(f"{name} must be at least 4 x 4 pixels per frame, got "
                             f"{tuple(arr.shape[1:])}.")
        return arr, self._as_module_input(arr)[:, None]

    def loss(self, D, S):
        """The training loss ``lam_nuclear ||D - S||_* + lam ||S||_1`` on frames x pixels."""
        n = D.shape[0]
        D2, S2 = D.reshape(n, -1), S.reshape(n, -1)
        return nuclear_prox_loss(D2 - S2, self.lam_nuclear_) + l1_prox_loss(S2, self.lam_)

    def fit(self, X, y=None):
        """Train on a batch of frames (no labels) by full-batch Adam on :meth:`loss`.

        Starts from the seeded initialisation (:meth:`reset_parameters`, in place), so
        fitting twice gives the same network; trains on the parameters' device and dtype.

        Parameters
        ----------
        X : array or tensor of shape (n_frames, height, width)
            Typically a few dozen frames drawn at random from a recording, scaled to [0, 1].
        y : ignored

        Returns
        -------
        self
        """
        lr = check_positive(self.lr, "lr")
        n_epochs = check_int(self.n_epochs, "n_epochs", minimum=0)
        lam_nuclear = check_nonnegative_number(self.lam_nuclear, "lam_nuclear")
        lam = None if self.lam is None else check_positive(self.lam, "lam")
        resolve_device(self.device), resolve_dtype(self.dtype)   # report bad settings
        _, X = self._frames(X, "X", reset=True)
        if X.shape[0] < 2:
            raise ValueError("X must hold at least 2 frames: the low-rank prior couples "
                             "frames.")
        self.reset_parameters()
        n, pixels = X.shape[0], X.shape[-2] * X.shape[-1]
        self.lam_ = lam if lam is not None else 1.0 / math.sqrt(max(n, pixels))
        self.lam_nuclear_ = lam_nuclear
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        self.train()
        self.loss_history_ = []
        for _ in tqdm(range(n_epochs), disable=not self.progress, desc="ProxUNet"):
            loss = self.loss(X, self(X))
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.loss_history_.append(float(loss.detach()))
        self.eval()
        return self

    @torch.no_grad()
    def predict(self, X, batch_size=64):
        """The sparse foreground ``S`` of (new) frames, one frame at a time in effect.

        Parameters
        ----------
        X : array or tensor of shape (n_frames, height, width)
            Frames of any size (at least 4 x 4).
        batch_size : int
            Frames per forward pass (only memory; the result does not depend on it).

        Returns
        -------
        S : like ``X``, in the network's dtype
        """
        arr, X = self._frames(X, "X")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        was_training = self.training
        self.eval()   # batch norm with its running statistics: frames are independent
        try:
            S = torch.cat([self(x) for x in X.split(batch_size)])[:, 0]
        finally:
            self.train(was_training)
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
