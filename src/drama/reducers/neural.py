"""Neural reducers on PyTorch: dense ``ae``/``vae``, 1-D convolutional ``cae1d``/``cvae1d``
for spectra and light curves, and 2-D convolutional ``cae2d``/``cvae2d`` for images.

This module imports no torch at import time (the networks live in
:mod:`drama.reducers.neural_torch`), so the registry can list these reducers everywhere and
the clear "needs PyTorch" error appears only when one is used.

Defaults, and why
-----------------
The splitting tree fits one reducer per node, so each fit must be cheap, repeatable and
good enough to place a few cluster centres -- not a state-of-the-art reconstruction.

* **Size from the input.** Dense: two hidden layers, the first about half the input size
  rounded to a power of two and kept in [16, 64], the second a quarter of that (at least 8
  and at least twice the latent size). A 2-D latent space needs little capacity, and the
  first layer's cost grows with the input size: on 3000-feature signals 64 units place the
  prototypes as well as 256 did, four times faster. Convolutional: strided stages (stride
  2; stride 4 while a sequence is longer than 256), as many as keep the shortest side at
  least 8 samples (1-D) or 4 pixels (2-D) long, with 8, 16, 32, 64, 64 channels (1-D) or
  16, 32, 64, 64 (2-D), then a 64-unit dense layer to the latent space.
* **Latent size** ``latent_dim=2``, as for every reducer: a node only has to be split in
  two, and the prototypes are decoded from the latent means whatever the size. 4 and 8
  dimensions did worse on ODDS mnist and no better on the n_f = 3000 local-anomaly signals
  (2 levels, seeds 0-2: AUC 0.832 and 0.820 against 0.881; 0.889 and 0.897 against 0.892).
* **Wide inputs through principal components** (dense only). Objects with more than
  ``input_components=128`` values are projected onto the top 128 principal components of
  the node's training objects and the network learns those coefficients: its first layer
  has at most 64 units, so it cannot use more directions than that, and a step then costs
  no more for 3000 inputs than for 128 (1.1-1.2x PyOD's AutoEncoder time on the n_f = 3000
  signals instead of 2.4-3.1x, at the same AUC). The projection is orthonormal, so the
  loss is still the squared L2 error, less the part outside the components, which early
  stopping adds back. Children keep their parent's components.
* **Training.** Adam, ``lr=1e-3``. The batch size (``batch_size=None``) is about a 32nd
  of the node's training objects as a power of two in [16, 128]: some 30 optimiser steps
  per epoch whatever the node size. (A fixed 128 gave 1000-object nodes only 8 steps an
  epoch; they stopped on a plateau before using their second latent dimension, and one seed
  in five fell to AUC 0.69 on the n_f = 3000 signals, against 0.89-0.91 with 32.) At most
  ``max_epochs=40`` epochs, stopping when the loss on a held-out 10 % of the node's training
  objects has not improved by 0.1 % for ``patience=4`` epochs; the best weights are kept.
  Training uses ``n_threads=1`` CPU thread: for networks this small, thread
  synchronisation costs more than it saves (ten times slower on a busy two-core machine),
  and results do not depend on the core count.
* **Cost grows gently with depth.** Each node trains on at most ``max_train_samples=5000``
  of its objects, and a child node starts from its parent's weights
  (:meth:`warm_start_from`) and fine-tunes for at most ``warm_start_epochs=12`` epochs.
* **Standardisation** (``standardize='auto'``): data already on a unit scale (all values in
  [-10, 10], as DRAMA's scalers leave them, with a mean spread of at least 0.01) is used
  as it is, so the network's loss is the
  squared L2 distance DRAMA measures; anything else is centred and divided by one global
  spread, so the same learning rate works in any units. (Per-feature standardisation,
  ``'feature'``, blows up nearly constant pixels: on ODDS mnist it lowered the AUC from
  about 0.88 to 0.73.) Decoded objects are mapped back to the input's units.
* **Determinism.** Weights are initialised from ``random_state`` in a forked torch RNG (the
  caller's global RNG is untouched), data order comes from a numpy Generator, the VAE's noise
  from a seeded ``torch.Generator``; CPU kernels are deterministic for a fixed thread count,
  and on a GPU deterministic kernels are switched on during training. The same seed gives
  the same encodings on the same machine.
* **VAE.** The loss is the negative ELBO with Gaussian observation noise of spread
  ``noise=0.1`` times the spread of the node's data (the summed squared error over
  2 sigma^2 plus ``beta=1`` times the KL divergence). A fixed unit noise would let the KL term
  win on data scaled to [0, 1] and collapse every code onto the prior; tying it to the data
  keeps the balance the same in any units. A VAE encodes to its latent *mean*, so scores
  never depend on sampling.
* **Deep clustering** (the tree's ``clustering="deep"``, :meth:`fit_clusters`):
  ``cluster_epochs=10`` epochs of joint training with the split, the clustering term
  weighted by ``cluster_gamma=1`` against the reconstruction loss normalised to 1 at the
  start (set a priori, not tuned; docs/neural.md#deep-clustering).

Shapes: dense reducers flatten any object shape. ``cae1d``/``cvae1d`` take ``(n, T)`` or
``(n, T, C)`` (channels last); ``cae2d``/``cvae2d`` take ``(n, H, W)`` or ``(n, H, W, C)``.
``decode`` returns objects in the shape the reducer was fitted on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from drama._numeric import TINY
from drama._validation import check_integer, check_positive, mixed_shapes
from drama.reducers.base import ReducerSpec
from drama.seeding import draw_seed, library_seed, spawn_seeds

__all__ = [
    "AutoEncoder",
    "ConvAutoEncoder1D",
    "ConvAutoEncoder2D",
    "ConvVariationalAutoEncoder1D",
    "ConvVariationalAutoEncoder2D",
    "NEURAL_NAMES",
    "SPECS",
    "VariationalAutoEncoder",
    "check_device",
    "require_torch",
]

# Version 2 added the dense reducers' principal-component input; version 1 states load.
STATE_VERSION = 2
READABLE_STATE_VERSIONS = (1, 2)
# standardize='auto' leaves data inside [-10, 10] (what DRAMA's scalers produce) untouched,
# unless its spread is below AUTO_MIN_SPREAD: data in tiny units (1e-6) would train as if
# every object were the same, at any learning rate.
AUTO_UNSCALED_LIMIT = 10.0
AUTO_MIN_SPREAD = 1e-2
# Principal components of at most this many objects or features are computed exactly.
EXACT_PCA_LIMIT = 1500
# Deep clustering (fit_clusters) refreshes its sharpened targets every this many epochs.
TARGET_REFRESH_EPOCHS = 2


def require_torch(name: str = "ae", needed_by: str | None = None) -> Any:
    """Import and return torch, or say how to install it; the message names the reducer
    ``name``, or ``needed_by`` when something else asks (used by the lazy registry)."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{needed_by or f'The {name!r} reducer'} needs PyTorch: "
            "pip install 'drama-anomaly[deep]'"
        ) from exc
    return torch


def _backend() -> Any:
    from drama.reducers import neural_torch

    return neural_torch


def check_device(device: str) -> None:
    """Refuse, before any work, a device PyTorch does not know (ValueError) or that this
    machine lacks (DeviceError)."""
    require_torch(needed_by=f"device={device!r} (for the neural reducers)")
    _backend().resolve_device(device)


def _pow2(x: float) -> int:
    return 2 ** int(round(math.log2(max(x, 1.0))))


def _clean_input(X: Any, what: str) -> np.ndarray:
    """float32 copy of ``X`` after the checks a user can act on (NaN, inf, float32 range)."""
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # objects of different shapes
        raise TypeError(f"{what} could not be read as an array: {mixed_shapes(X) or exc}"
                        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"{what} must be numeric; got an array of dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim < 2:
        raise ValueError(
            f"{what} must be shaped (n_objects, ...); got an array of shape {arr.shape}. "
            "Reshape a single object with X[None]."
        )
    if len(arr) == 0:
        raise ValueError(f"{what} has no objects (shape {arr.shape}).")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).reshape(len(arr), -1).any(axis=1).sum())
        raise ValueError(
            f"{what} contains NaN or infinite values (in {bad} of {len(arr)} objects). "
            "Remove or impute them before fitting a neural reducer."
        )
    if np.abs(arr).max() > 1e30:
        raise ValueError(
            f"{what} has values up to {np.abs(arr).max():.3g}, too large for float32 training; "
            "scale the data first (e.g. scaling='minmax')."
        )
    return arr.astype(np.float32)


def _principal_basis(data: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre (d,) and an orthonormal basis (d, k) of the top principal components of the
    flattened float32 ``data``; directions without variance, and the columns beyond a
    node's object count, stay zero, so every node of a tree keeps one network shape (and
    children warm-start).

    With at most ``EXACT_PCA_LIMIT`` objects or features the components come exactly from
    the eigenvectors of the smaller Gram or covariance matrix (under half the time of a
    randomized SVD on 1000 x 3000); beyond, from scikit-learn's randomized PCA, which is
    faster there. Work stays in float32 (one centred copy of the data) and the basis is
    re-orthonormalised in float64."""
    flat = data.reshape(len(data), -1).astype(np.float32, copy=False)
    n, d = flat.shape
    m = min(k, n, d)
    centre = flat.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = flat - centre
    basis = np.zeros((d, k), np.float32)
    if min(n, d) <= EXACT_PCA_LIMIT:
        from scipy.linalg import eigh

        small = (centred @ centred.T if n < d else centred.T @ centred).astype(np.float64)
        values, vectors = eigh(small, subset_by_index=[len(small) - m, len(small) - 1],
                               driver="evr")
        values, vectors = values[::-1], vectors[:, ::-1]
        if n < d:  # right singular vectors from the left ones
            vectors = (centred.T @ vectors.astype(np.float32)).astype(np.float64)
    else:
        from sklearn.decomposition import PCA

        if not centred.any():
            return centre, basis
        pca = PCA(n_components=m, random_state=seed, copy=False).fit(centred)
        values, vectors = pca.explained_variance_, pca.components_.T.astype(np.float64)
    # below 1e-5 of the top variance is float32 rounding (or a direction not worth keeping)
    kept = values > 1e-5 * max(float(values[0]), TINY)
    if kept.any():
        basis[:, : int(kept.sum())] = np.linalg.qr(vectors[:, kept])[0]
    return centre, basis


def _coefficients(data: np.ndarray, centre: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Standardised objects -> their principal-component coefficients (float32)."""
    flat = data.reshape(len(data), -1)
    return np.ascontiguousarray((flat - centre) @ basis, dtype=np.float32)


def _project(data: np.ndarray, centre: np.ndarray, basis: np.ndarray
             ) -> tuple[np.ndarray, float]:
    """The coefficients of ``data`` and the mean squared norm of what the (orthonormal)
    projection leaves out of it."""
    coefficients = _coefficients(data, centre, basis)
    whole = np.sum((data.reshape(len(data), -1) - centre).astype(np.float64) ** 2, axis=1)
    kept = np.sum(coefficients.astype(np.float64) ** 2, axis=1)
    return coefficients, float(np.mean(np.maximum(whole - kept, 0.0)))


def _standardize_mode(value: str | bool, name: str) -> str:
    modes = {True: "global", False: "none", "global": "global", "feature": "feature",
             "none": "none", "auto": "auto"}
    if not isinstance(value, (str, bool)) or value not in modes:
        raise ValueError(
            f"{name}: standardize must be 'auto', 'global', 'feature' or 'none'; got {value!r}."
        )
    return modes[value]


class _NeuralReducer:
    """Shared fit / encode / decode / save logic; subclasses define the layout and network."""

    name: ClassVar[str] = ""
    variational: ClassVar[bool] = False

    def __init__(
        self,
        latent_dim: int = 2,
        random_state: int | None = None,
        *,
        lr: float = 1e-3,
        batch_size: int | None = None,
        max_epochs: int = 40,
        warm_start_epochs: int = 12,
        patience: int = 4,
        min_delta: float = 1e-3,
        validation_fraction: float = 0.1,
        max_train_samples: int = 5000,
        standardize: str | bool = "auto",
        beta: float = 1.0,
        noise: float = 0.1,
        device: str = "cpu",
        progress: bool = False,
        encode_batch_size: int = 4096,
        n_threads: int | None = 1,
        cluster_gamma: float = 1.0,
        cluster_epochs: int = 10,
    ):
        self.latent_dim = latent_dim
        self.random_state = random_state
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.warm_start_epochs = warm_start_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.validation_fraction = validation_fraction
        self.max_train_samples = max_train_samples
        self.standardize = standardize
        self.beta = beta
        self.noise = noise
        self.device = device
        self.progress = progress
        self.encode_batch_size = encode_batch_size
        self.n_threads = n_threads
        self.cluster_gamma = cluster_gamma
        self.cluster_epochs = cluster_epochs
        self._net: Any = None
        self.centre_: np.ndarray | None = None
        self.basis_: np.ndarray | None = None
        self._parent: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None

    # ------------------------------------------------------------------ options
    def _options(self) -> dict[str, Any]:
        """Constructor options (JSON-able), saved with the weights."""
        keys = ["latent_dim", "random_state", "lr", "batch_size", "max_epochs",
                "warm_start_epochs", "patience", "min_delta", "validation_fraction",
                "max_train_samples", "standardize", "beta", "noise", "device", "progress",
                "encode_batch_size", "n_threads", "cluster_gamma", "cluster_epochs",
                *self._extra_options()]
        out = {}
        for k in keys:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        if not (out["random_state"] is None or isinstance(out["random_state"], int)):
            out["random_state"] = int(self.seed_)  # a Generator is not data; its draw is
        return out

    def _extra_options(self) -> list[str]:
        return []

    def _check_options(self) -> None:
        def integer(key: str, minimum: int = 1) -> None:
            check_integer(getattr(self, key), f"{self.name}: {key}", minimum)

        def positive(key: str, allow_zero: bool = False) -> None:
            check_positive(getattr(self, key), f"{self.name}: {key}", allow_zero=allow_zero)

        integer("latent_dim")
        if self.batch_size is not None:
            integer("batch_size")
        integer("max_epochs")
        integer("warm_start_epochs")
        integer("patience")
        integer("max_train_samples", 2)
        integer("encode_batch_size")
        integer("cluster_epochs")
        if self.n_threads is not None:
            integer("n_threads")
        positive("lr")
        positive("validation_fraction", allow_zero=True)
        if self.validation_fraction >= 0.5:
            raise ValueError(f"{self.name}: validation_fraction must be below 0.5; got "
                             f"{self.validation_fraction!r}.")
        positive("min_delta", allow_zero=True)
        _standardize_mode(self.standardize, self.name)
        positive("beta", allow_zero=True)
        positive("noise")
        positive("cluster_gamma", allow_zero=True)

    # ------------------------------------------------------------------ layout (subclasses)
    def _to_internal(self, X: np.ndarray) -> np.ndarray:
        """(n, *sample_shape) -> the network's layout."""
        raise NotImplementedError

    def _to_external(self, X: np.ndarray) -> np.ndarray:
        """The network's layout -> (n, *sample_shape)."""
        raise NotImplementedError

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        """Refuse an object shape this architecture cannot use."""

    def _architecture(self, shape: tuple[int, ...]) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, arch: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        """Axes of the internal layout pooled into one spread for ``standardize='feature'``."""
        return (0,)

    # ------------------------------------------------------------------ fitting
    def warm_start_from(self, parent: Any) -> None:
        """Start from a fitted parent's weights and standardisation so a child node only
        fine-tunes. Ignored (a cold start) when the parent is another kind of reducer, was
        not fitted, or has another architecture (``warm_started_`` tells which happened)."""
        if type(parent) is not type(self) or getattr(parent, "_net", None) is None:
            return
        self._parent = parent.to_state()

    def fit(self, X: np.ndarray) -> _NeuralReducer:
        """Train on (a sample of at most ``max_train_samples`` of) ``X``."""
        require_torch(self.name)
        self._check_options()
        nt = _backend()
        arr = _clean_input(X, f"The data given to the {self.name!r} reducer")
        self._check_shape(arr.shape[1:])
        device = nt.resolve_device(self.device)
        seed = library_seed(self.random_state)
        rng = np.random.default_rng(seed)
        data = self._to_internal(arr)
        if len(data) > self.max_train_samples:
            data = data[np.sort(rng.choice(len(data), self.max_train_samples, replace=False))]
        arch = self._architecture(arr.shape[1:])
        # The parent's arrays, where it has this architecture (a warm start), else None.
        parent = (self._parent[1] if self._parent is not None and self._parent[0]["arch"] == arch
                  else None)
        warm = parent is not None
        if parent is not None:
            offset = parent["offset"]
            scale = parent["scale"]
        else:
            offset, scale = self._standardisation(data)
        data = (data - offset) / scale
        order = rng.permutation(len(data))
        n_val = int(round(self.validation_fraction * len(data)))
        if len(data) - n_val < 8 or n_val < 4:
            n_val = 0  # too few objects to hold any out: stop on the training loss instead
        val = data[order[:n_val]] if n_val else None
        train = data[order[n_val:]]
        sigma = self._noise_sigma(train)
        n_features = int(np.prod(train.shape[1:]))
        torch = require_torch(self.name)
        with nt.threads(self.n_threads), nt.deterministic(device):
            centre = basis = None
            residual = (0.0, 0.0)  # the loss no network can remove (see train's floor)
            if arch.get("components"):
                centre, basis = ((parent["centre"], parent["basis"]) if parent is not None
                                 else _principal_basis(train, arch["components"], seed))
                train, left_train = _project(train, centre, basis)
                val, left_val = (None, 0.0) if val is None else _project(val, centre, basis)
                residual = (left_train, left_val)
            net = nt.seeded_init(seed, lambda: self._build(arch))
            if parent is not None:
                net.load_state_dict(nt.numpy_to_state(
                    {k[2:]: v for k, v in parent.items() if k.startswith("w.")}))
            net = net.to(device)
            gen = torch.Generator(device=device)
            gen.manual_seed(seed)
            info = nt.train(
                net, np.ascontiguousarray(train), val,
                loss_fn=nt.make_loss(self.variational, float(self.beta), sigma, n_features),
                epochs=self.warm_start_epochs if warm else self.max_epochs,
                batch_size=self._batch_size(len(train)), lr=float(self.lr),
                patience=self.patience, min_delta=float(self.min_delta), rng=rng,
                generator=gen, device=device, progress=self.progress,
                label=f"{self.name}{' (warm start)' if warm else ''}",
                floor=tuple(nt.sse_weight(self.variational, sigma, n_features) * r
                            for r in residual),
            )
        self.centre_, self.basis_ = centre, basis
        self._net = net
        self._device = device
        self.arch_ = arch
        self.sample_shape_ = tuple(int(s) for s in arr.shape[1:])
        self.offset_ = offset.astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        self.seed_ = seed
        self.warm_started_ = warm
        self.n_epochs_ = info["epochs_run"]
        # None only for a model loaded from a file that did not record it
        self.n_train_samples_: int | None = len(train) + n_val
        self.best_loss_ = float(info["best_loss"])
        self.loss_history_ = [float(v) for v in info["history"]]
        self._parent = None
        return self

    def fit_clusters(self, X: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Deep clustering (``clustering="deep"``, docs/neural.md#deep-clustering): fine-tune
        the fitted network on (at most ``max_train_samples`` of) ``X`` together with a
        two-way clustering of its codes that starts from ``centres`` (2, latent_dim), for
        ``cluster_epochs`` epochs with the clustering term weighted by ``cluster_gamma``.
        The network is changed in place; returns the learned centres."""
        arr = self._fitted_input(X)
        centres = np.asarray(centres, dtype=np.float64)
        if centres.shape != (2, self.latent_dim) or not np.isfinite(centres).all():
            raise ValueError(f"fit_clusters needs two finite centres shaped (2, "
                             f"{self.latent_dim}); got shape {centres.shape}.")
        self._check_options()
        nt = _backend()
        torch = require_torch(self.name)
        # a stream of its own, spawned from the fit's seed (docs/engine.md, "Seeds")
        rng = np.random.default_rng(spawn_seeds(self.seed_, 1)[0])
        if len(arr) > self.max_train_samples:
            arr = arr[np.sort(rng.choice(len(arr), self.max_train_samples, replace=False))]
        data = self._standardised(arr)
        sigma = self._noise_sigma(data)
        n_features = int(np.prod(data.shape[1:]))
        pca = self._input_pca()
        if pca is not None:
            data = _coefficients(data, *pca)
        with nt.threads(self.n_threads), nt.deterministic(self._device):
            gen = torch.Generator(device=self._device)
            gen.manual_seed(draw_seed(rng))
            learned = nt.train_clusters(
                self._net, np.ascontiguousarray(data, dtype=np.float32), centres,
                object_loss=nt.make_object_loss(self.variational, float(self.beta), sigma,
                                                n_features),
                gamma=float(self.cluster_gamma), epochs=int(self.cluster_epochs),
                refresh=TARGET_REFRESH_EPOCHS,
                batch_size=self._batch_size(len(data)), lr=float(self.lr), rng=rng,
                generator=gen, device=self._device)
        return learned

    def _noise_sigma(self, data: np.ndarray) -> float:
        """The VAE's observation noise: ``noise`` times the spread of the standardised
        training objects (1 where they do not vary)."""
        spread = float(np.sqrt(np.mean((data - data.mean(axis=0)) ** 2)))
        return float(self.noise) * (spread if spread > 0 else 1.0)

    def _batch_size(self, n_train: int) -> int:
        """``batch_size`` or, when None, about n/32 as a power of two in [16, 128]: some 30
        optimiser steps per epoch, so small nodes converge in few epochs and large ones
        do not pay for many tiny steps."""
        size = self.batch_size if self.batch_size is not None else min(
            128, max(16, _pow2(n_train / 32)))
        return max(1, min(int(size), n_train))

    def _standardisation(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mode = _standardize_mode(self.standardize, self.name)
        d64 = data.astype(np.float64)
        if mode == "auto":
            unit_scale = (np.abs(d64).max() <= AUTO_UNSCALED_LIMIT
                          and d64.std(axis=0).mean() >= AUTO_MIN_SPREAD)
            mode = "none" if unit_scale else "global"
        if mode == "none":
            return np.zeros(data.shape[1:], np.float32), np.ones(data.shape[1:], np.float32)
        offset = d64.mean(axis=0)
        centred = d64 - offset
        if mode == "global":
            rms = float(np.sqrt(np.mean(centred**2)))
            scale = np.full(data.shape[1:], rms if rms > 0 else 1.0)
        else:
            axes = self._stat_axes(data.ndim)
            std = np.sqrt(np.mean(centred**2, axis=axes, keepdims=True))[0]
            # Floor the spread at a tenth of the typical one: a nearly constant feature
            # should not be blown up into the loss's dominant term.
            typical = float(std.mean())
            std = np.maximum(std, 0.1 * typical) if typical > 0 else np.ones_like(std)
            scale = np.broadcast_to(std, data.shape[1:])
        return offset.astype(np.float32), np.ascontiguousarray(scale, dtype=np.float32)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if self._net is None:
            raise ValueError(f"This {self.name!r} reducer is not fitted yet; call fit(X) first.")

    def _fitted_input(self, X: np.ndarray) -> np.ndarray:
        """``X`` checked against the fitted object shape, as float32."""
        self._check_fitted()
        arr = _clean_input(X, f"The data given to the {self.name!r} reducer")
        if tuple(arr.shape[1:]) != self.sample_shape_:
            raise ValueError(
                f"The {self.name!r} reducer was fitted on objects of shape {self.sample_shape_}; "
                f"got objects of shape {tuple(arr.shape[1:])}."
            )
        return arr

    def _standardised(self, part: np.ndarray) -> np.ndarray:
        return (self._to_internal(part) - self.offset_) / self.scale_

    def _network_input(self, part: np.ndarray) -> np.ndarray:
        """Objects -> what the network reads: standardised and, for a wide dense input,
        projected onto the principal components."""
        data = self._standardised(part)
        pca = self._input_pca()
        return data if pca is None else _coefficients(data, *pca)

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Latent codes (the mean for a VAE), float64 shaped (n, latent_dim)."""
        arr = self._fitted_input(X)
        nt = _backend()
        with nt.threads(self.n_threads):
            Z = nt.run_batched(lambda xb: self._net.stats(xb)[0], arr, self.encode_batch_size,
                               self._device, prepare=self._network_input)
        Z = Z.reshape(len(arr), self.latent_dim)
        if not np.isfinite(Z).all():
            raise ValueError(
                f"The {self.name!r} reducer produced non-finite latent codes; the input is "
                "probably far outside the training range -- scale it like the training data."
            )
        return Z

    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Objects (float64) in the fitted input shape for latent points ``Z``."""
        self._check_fitted()
        z = np.asarray(Z, dtype=np.float64)
        if z.ndim == 1:
            z = z[None, :]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"decode needs latent points shaped (m, {self.latent_dim}); got {z.shape}."
            )
        if not np.isfinite(z).all():
            raise ValueError("decode was given NaN or infinite latent points.")
        nt = _backend()
        with nt.threads(self.n_threads):
            out = nt.run_batched(self._net.decoder, z.astype(np.float32),
                                 self.encode_batch_size, self._device)
            pca = self._input_pca()
            if pca is not None:
                centre, basis = pca
                out = out @ basis.T.astype(np.float64) + centre.astype(np.float64)
        out = out.reshape((len(z), *self._internal_shape()))
        out = out * self.scale_.astype(np.float64) + self.offset_.astype(np.float64)
        return self._to_external(out)

    def _input_pca(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(centre, basis) of the PCA in front of the network, None where it reads the input
        itself; the two are set together."""
        if self.basis_ is None:
            return None
        if self.centre_ is None:
            raise RuntimeError(f"The {self.name!r} reducer has an input PCA basis but no centre.")
        return self.centre_, self.basis_

    def _internal_shape(self) -> tuple[int, ...]:
        return self._to_internal(np.zeros((1, *self.sample_shape_), np.float32)).shape[1:]

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON config + arrays: the weights (``w.<name>``), the standardisation and, for a
        wide dense input, the principal components' ``centre`` and ``basis``."""
        self._check_fitted()
        nt = _backend()
        config = {
            "state_version": STATE_VERSION,
            "reducer": self.name,
            "options": self._options(),
            "arch": self.arch_,
            "sample_shape": list(self.sample_shape_),
            "seed": self.seed_,
            "warm_started": self.warm_started_,
            "n_epochs": self.n_epochs_,
            "n_train_samples": self.n_train_samples_,
            "best_loss": self.best_loss_ if math.isfinite(self.best_loss_) else None,
        }
        arrays = {f"w.{k}": v for k, v in nt.state_to_numpy(self._net).items()}
        arrays["offset"] = self.offset_
        arrays["scale"] = self.scale_
        if self.basis_ is not None:
            arrays["centre"] = self.centre_
            arrays["basis"] = self.basis_
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray],
                   device: str | None = None) -> _NeuralReducer:
        """Rebuild a fitted reducer; ``device`` overrides the saved one (e.g. load a GPU-trained
        model on a CPU machine)."""
        require_torch(cls.name)
        version = config.get("state_version")
        if version not in READABLE_STATE_VERSIONS or config.get("reducer") != cls.name:
            raise ValueError(
                f"This saved state is not a {cls.name!r} reducer of state version "
                f"{' or '.join(map(str, READABLE_STATE_VERSIONS))} (got "
                f"{config.get('reducer')!r}, version {version!r})."
            )
        options = dict(config["options"])
        arch = dict(config["arch"])
        if version == 1 and arch["kind"] == "dense":  # trained before the projection existed
            options.setdefault("input_components", None)
            arch.setdefault("components", None)
        if device is not None:
            options["device"] = device
        reducer = cls(**options)
        nt = _backend()
        dev = nt.resolve_device(reducer.device)
        reducer.arch_ = arch
        net = reducer._build(reducer.arch_)
        weights = {k[2:]: v for k, v in arrays.items() if k.startswith("w.")}
        try:
            net.load_state_dict(nt.numpy_to_state(weights))
        except RuntimeError as exc:  # torch's error for missing or misshapen tensors
            raise ValueError(f"the saved {cls.name!r} weights do not fit the saved "
                             f"architecture: {exc}") from None
        reducer._net = net.to(dev).eval()
        reducer._device = dev
        reducer.sample_shape_ = tuple(int(s) for s in config["sample_shape"])
        reducer.offset_ = np.asarray(arrays["offset"], dtype=np.float32)
        reducer.scale_ = np.asarray(arrays["scale"], dtype=np.float32)
        reducer.centre_ = reducer.basis_ = None
        if reducer.arch_.get("components"):
            reducer.centre_ = np.asarray(arrays["centre"], dtype=np.float32)
            reducer.basis_ = np.asarray(arrays["basis"], dtype=np.float32)
        reducer.seed_ = config["seed"]
        reducer.warm_started_ = config["warm_started"]
        reducer.n_epochs_ = config["n_epochs"]
        reducer.n_train_samples_ = config.get("n_train_samples")
        best = config.get("best_loss")
        reducer.best_loss_ = math.inf if best is None else float(best)
        reducer.loss_history_ = []
        return reducer

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(latent_dim={self.latent_dim}, "
                f"random_state={self.random_state})")


# ---------------------------------------------------------------------------- dense


class AutoEncoder(_NeuralReducer):
    """``ae``: a dense auto-encoder on flattened objects of any shape.

    ``hidden`` (default: from the input size, see the module docstring) lists the encoder's
    layer widths; the decoder mirrors them. Objects with more than ``input_components``
    values are learnt as their top principal-component coefficients (None: never). Other
    options are shared by all neural reducers:
    ``lr``, ``batch_size``, ``max_epochs``, ``warm_start_epochs``, ``patience``,
    ``validation_fraction``, ``max_train_samples``, ``standardize``, ``device`` ('cpu',
    'cuda', 'auto'), ``progress`` (rich progress bar), ``encode_batch_size``, ``n_threads``
    (CPU threads while training and encoding; None keeps torch's setting),
    ``cluster_gamma`` and ``cluster_epochs`` (deep clustering).
    """

    name = "ae"

    def __init__(self, latent_dim: int = 2, random_state: int | None = None, *,
                 hidden: Sequence[int] | None = None, input_components: int | None = 128,
                 **options: Any):
        super().__init__(latent_dim, random_state, **options)
        self.hidden = None if hidden is None else [int(h) for h in hidden]
        self.input_components = input_components

    def _extra_options(self) -> list[str]:
        return ["hidden", "input_components"]

    def default_hidden(self, n_features: int) -> list[int]:
        """Half the input rounded to a power of two in [16, 64], then a quarter of that."""
        first = min(64, max(16, _pow2(n_features / 2)))
        second = max(8, 2 * self.latent_dim, first // 4)
        return [first, second]

    def _to_internal(self, X: np.ndarray) -> np.ndarray:
        return X.reshape(len(X), -1)

    def _to_external(self, X: np.ndarray) -> np.ndarray:
        return X.reshape((len(X), *self.sample_shape_))

    def _architecture(self, shape: tuple[int, ...]) -> dict[str, Any]:
        d = int(np.prod(shape))
        hidden = self.hidden if self.hidden is not None else self.default_hidden(d)
        if any(h < 1 for h in hidden):
            raise ValueError(f"{self.name}: hidden sizes must be positive; got {hidden}.")
        k = self.input_components
        if k is not None and (not isinstance(k, (int, np.integer)) or isinstance(k, bool)
                              or k < 1):
            raise ValueError(
                f"{self.name}: input_components must be a positive integer or None; got {k!r}."
            )
        return {"kind": "dense", "n_features": d, "hidden": list(hidden),
                "components": int(k) if k is not None and d > k else None,
                "latent_dim": int(self.latent_dim), "variational": self.variational}

    def _build(self, arch: dict[str, Any]) -> Any:
        width = arch.get("components") or arch["n_features"]
        return _backend().dense_net(width, arch["hidden"], arch["latent_dim"],
                                    arch["variational"])


class VariationalAutoEncoder(AutoEncoder):
    """``vae``: the dense auto-encoder with a Gaussian latent space; encodes to the mean.
    ``beta`` weighs the KL term and ``noise`` sets the decoder's noise as a fraction of the
    data's spread (see the module docstring)."""

    name = "vae"
    variational = True


# ---------------------------------------------------------------------------- convolutional


class _ConvReducer(_NeuralReducer):
    dims: ClassVar[int] = 1

    def __init__(self, latent_dim: int = 2, random_state: int | None = None, *,
                 channels: Sequence[int] | None = None, hidden: int = 64, **options: Any):
        super().__init__(latent_dim, random_state, **options)
        self.channels = None if channels is None else [int(c) for c in channels]
        self.hidden = hidden

    def _extra_options(self) -> list[str]:
        return ["channels", "hidden"]

    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        # One spread per channel (the mean object is still subtracted position by
        # position): a spread per position would distort the shapes.
        return (0, *range(2, ndim))

    def _architecture(self, shape: tuple[int, ...]) -> dict[str, Any]:
        internal = self._to_internal(np.zeros((1, *shape), np.float32)).shape[1:]
        in_channels, spatial = int(internal[0]), [int(s) for s in internal[1:]]
        strides = self.default_strides(spatial)
        if self.channels is not None:
            if not self.channels or min(self.channels) < 1:
                raise ValueError(f"{self.name}: channels must list one positive count per "
                                 f"convolution stage, e.g. [8, 16, 32]; got {self.channels}.")
            # the user's stage count wins; strides follow the default rule, then 2
            strides = (strides + [2] * len(self.channels))[: len(self.channels)]
            channels = list(self.channels)
        else:
            channels = self.default_channels(len(strides))
        if not isinstance(self.hidden, (int, np.integer)) or self.hidden < 1:
            raise ValueError(f"{self.name}: hidden must be a positive integer; got {self.hidden}.")
        return {"kind": f"conv{self.dims}d", "in_channels": in_channels, "spatial": spatial,
                "channels": channels, "strides": strides, "hidden": int(self.hidden),
                "latent_dim": int(self.latent_dim), "variational": self.variational}

    def default_strides(self, spatial: list[int]) -> list[int]:
        """Down-sample while the shortest side stays >= 8 (1-D) or >= 4 (2-D) long, by 4 at a
        time while a sequence is longer than 256 (long spectra would otherwise spend most of
        the time in their first layers), else by 2; at most 5 (1-D) or 4 (2-D) stages."""
        smallest = min(spatial)
        floor, most = (8, 5) if self.dims == 1 else (4, 4)
        strides: list[int] = []
        while len(strides) < most:
            stride = 4 if self.dims == 1 and smallest > 256 else 2
            if math.ceil(smallest / stride) < floor:
                break
            smallest = math.ceil(smallest / stride)
            strides.append(stride)
        return strides

    def default_channels(self, n_stages: int) -> list[int]:
        """Channel widths per stage: 8, 16, 32, 64, 64 for sequences; 16, 32, 64, 64 for
        images (a 2-D latent space needs few features; narrow stages keep long inputs cheap)."""
        widths = [8, 16, 32, 64, 64] if self.dims == 1 else [16, 32, 64, 64]
        return widths[:n_stages]

    def _build(self, arch: dict[str, Any]) -> Any:
        return _backend().conv_net(self.dims, arch["in_channels"], arch["spatial"],
                                   arch["channels"], arch["strides"], arch["hidden"],
                                   arch["latent_dim"], arch["variational"])


class ConvAutoEncoder1D(_ConvReducer):
    """``cae1d``: a 1-D convolutional auto-encoder for spectra and light curves shaped
    ``(n, T)`` or ``(n, T, C)`` (C channels last, e.g. magnitude and error).

    ``channels`` lists the widths of the stride-2 convolution stages (kernel 5) and ``hidden``
    the dense layer before the latent space; other options as for ``ae``.
    """

    name = "cae1d"
    dims = 1

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) not in (1, 2):
            raise ValueError(
                f"{self.name} needs sequences shaped (n, T) or (n, T, C); got objects of shape "
                f"{shape} (data shape (n, {', '.join(map(str, shape))})). Use cae2d for images "
                "or 'ae' for any shape."
            )
        if shape[0] < 2:
            raise ValueError(
                f"{self.name} needs curves of at least 2 points; these have {shape[0]}. Use "
                "'ae' for single values, or resample the curves to a common grid first."
            )

    def _to_internal(self, X: np.ndarray) -> np.ndarray:
        return X[:, None, :] if X.ndim == 2 else np.ascontiguousarray(X.transpose(0, 2, 1))

    def _to_external(self, X: np.ndarray) -> np.ndarray:
        if len(self.sample_shape_) == 1:
            return X[:, 0, :]
        return np.ascontiguousarray(X.transpose(0, 2, 1))


class ConvVariationalAutoEncoder1D(ConvAutoEncoder1D):
    """``cvae1d``: the 1-D convolutional VAE; encodes to the latent mean."""

    name = "cvae1d"
    variational = True


class ConvAutoEncoder2D(_ConvReducer):
    """``cae2d``: a 2-D convolutional auto-encoder for images shaped ``(n, H, W)`` or
    ``(n, H, W, C)`` (channels last, as image files load).

    ``channels`` lists the widths of the stride-2 convolution stages (kernel 3) and ``hidden``
    the dense layer before the latent space; other options as for ``ae``.
    """

    name = "cae2d"
    dims = 2

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) == 1:
            raise ValueError(
                f"{self.name} needs images shaped (n, H, W) or (n, H, W, C); got a table of shape "
                f"(n, {shape[0]}). Reshape the rows into images, or use 'ae' (any shape) or "
                "'cae1d' (sequences)."
            )
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{self.name} needs images shaped (n, H, W) or (n, H, W, C); got objects of "
                f"shape {shape}."
            )

    def _to_internal(self, X: np.ndarray) -> np.ndarray:
        return X[:, None] if X.ndim == 3 else np.ascontiguousarray(X.transpose(0, 3, 1, 2))

    def _to_external(self, X: np.ndarray) -> np.ndarray:
        if len(self.sample_shape_) == 2:
            return X[:, 0]
        return np.ascontiguousarray(X.transpose(0, 2, 3, 1))


class ConvVariationalAutoEncoder2D(ConvAutoEncoder2D):
    """``cvae2d``: the 2-D convolutional VAE; encodes to the latent mean."""

    name = "cvae2d"
    variational = True


SPECS: list[ReducerSpec] = [
    ReducerSpec("ae", AutoEncoder, AutoEncoder,
                "dense auto-encoder (PyTorch); any object shape"),
    ReducerSpec("vae", VariationalAutoEncoder, VariationalAutoEncoder,
                "dense variational auto-encoder (PyTorch); encodes to the latent mean"),
    ReducerSpec("cae1d", ConvAutoEncoder1D, ConvAutoEncoder1D,
                "1-D convolutional auto-encoder for spectra and light curves (PyTorch)"),
    ReducerSpec("cvae1d", ConvVariationalAutoEncoder1D, ConvVariationalAutoEncoder1D,
                "1-D convolutional variational auto-encoder (PyTorch)"),
    ReducerSpec("cae2d", ConvAutoEncoder2D, ConvAutoEncoder2D,
                "2-D convolutional auto-encoder for images (PyTorch)"),
    ReducerSpec("cvae2d", ConvVariationalAutoEncoder2D, ConvVariationalAutoEncoder2D,
                "2-D convolutional variational auto-encoder for images (PyTorch)"),
]
NEURAL_NAMES = frozenset(spec.name for spec in SPECS)
