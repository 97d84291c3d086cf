"""The PyTorch half of the neural reducers: networks, the training loop and batching.

Kept apart from :mod:`drama.reducers.neural` so that the public classes (and the reducer
registry) can be imported, listed and documented on a machine without torch; this module is
imported only when a neural reducer is fitted or restored.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from drama.exceptions import DeviceError, DivergedError

# ---------------------------------------------------------------------------- devices


def resolve_device(device: str) -> torch.device:
    """Turn the user's ``device`` option into a torch device, refusing a GPU that is absent
    (silently training on the CPU instead would hide a setup problem for hours)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:0' "
            "or 'auto'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"device={device!r} was asked for, but PyTorch sees no CUDA GPU here "
            "(torch.cuda.is_available() is False). Use device='cpu' (the default) or 'auto', "
            "or install a CUDA build of PyTorch."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceError(
            f"device={device!r} was asked for, but only {torch.cuda.device_count()} CUDA "
            "device(s) are present."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available here.")
    return dev


@contextmanager
def threads(n_threads: int | None) -> Iterator[None]:
    """Use ``n_threads`` CPU threads inside the block, in torch and in numpy's BLAS (the
    principal components and projections of wide inputs), and restore the caller's
    settings after: small networks often train fastest on one thread, especially on a busy
    machine, and a fixed count keeps results independent of the machine's cores."""
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        with threadpool_limits(limits=int(n_threads), user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """On a GPU, run a block with deterministic kernels and restore the caller's global
    setting after, so fitting never changes how the rest of the user's program behaves.
    CPU kernels are already deterministic for a fixed thread count (and switching the flag
    on costs seconds on first use), so nothing is changed there."""
    if device.type != "cuda":
        yield
        return
    # cuBLAS reads this when its first handle is made; set it before any CUDA work.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was_on = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    bench = torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=was_warn)
        torch.backends.cudnn.benchmark = bench


def make_optimizer(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam with the fused kernel where this torch build has it (a third of the per-step
    cost of the default loop on a CPU for these small networks), else the multi-tensor one."""
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(net.parameters(), lr=lr, foreach=True)


# ---------------------------------------------------------------------------- networks


class AutoEncoderNet(nn.Module):
    """encoder -> (mean[, log-variance]) -> decoder; ``variational`` adds the sampling step."""

    def __init__(self, encoder: nn.Module, n_features: int, latent_dim: int,
                 decoder: nn.Module, variational: bool):
        super().__init__()
        self.encoder = encoder
        self.to_latent = nn.Linear(n_features, latent_dim * (2 if variational else 1))
        self.decoder = decoder
        self.variational = variational
        self.latent_dim = latent_dim

    def stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.to_latent(self.encoder(x))
        if not self.variational:
            return h, None
        mu, logvar = h[:, : self.latent_dim], h[:, self.latent_dim:]
        return mu, logvar.clamp(-12.0, 8.0)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        mu, logvar = self.stats(x)
        z = mu
        if logvar is not None and self.training:  # logvar exists exactly when variational
            noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * noise
        return self.decoder(z), mu, logvar


def dense_net(n_features: int, hidden: Sequence[int], latent_dim: int,
              variational: bool) -> AutoEncoderNet:
    """A mirror-symmetric multi-layer perceptron auto-encoder on flattened objects."""
    enc: list[nn.Module] = []
    width = n_features
    for h in hidden:
        enc += [nn.Linear(width, h), nn.ELU()]
        width = h
    dec = _dense_decoder(latent_dim, hidden, n_features)
    return AutoEncoderNet(nn.Sequential(*enc), width, latent_dim, nn.Sequential(*dec),
                          variational)


def _dense_decoder(latent_dim: int, hidden: Sequence[int], n_out: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    width = latent_dim
    for h in reversed(hidden):
        layers += [nn.Linear(width, h), nn.ELU()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return layers


def conv_geometry(dims: int, stride: int) -> tuple[int, int]:
    """(kernel, padding) of a down-sampling stage: every stage maps a length L to
    ceil(L / stride), and its kernel overlaps the neighbouring windows."""
    if dims == 1:
        return 2 * stride + 1, stride
    return stride + 1, stride // 2


def conv_lengths(size: int, strides: Sequence[int], dims: int) -> list[int]:
    """Size along one axis after each down-sampling stage (index 0 is the input size)."""
    sizes = [size]
    for stride in strides:
        kernel, padding = conv_geometry(dims, stride)
        sizes.append((sizes[-1] + 2 * padding - kernel) // stride + 1)
    return sizes


def conv_net(dims: int, in_channels: int, spatial: Sequence[int], channels: Sequence[int],
             strides: Sequence[int], hidden: int, latent_dim: int,
             variational: bool) -> AutoEncoderNet:
    """Strided convolutions down, one dense layer to the latent space, and transposed
    convolutions back up; ``output_padding`` is chosen per stage so any input size is
    reproduced exactly (no cropping or padding of the user's objects)."""
    if len(strides) != len(channels):
        raise ValueError("one stride per convolution stage is needed")
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    sizes = [conv_lengths(s, strides, dims) for s in spatial]
    enc: list[nn.Module] = []
    width = in_channels
    for c, stride in zip(channels, strides, strict=True):
        kernel, padding = conv_geometry(dims, stride)
        enc += [conv(width, c, kernel, stride=stride, padding=padding), nn.ELU()]
        width = c
    last = tuple(s[-1] for s in sizes)
    flat = width * math.prod(last)
    enc += [nn.Flatten(), nn.Linear(flat, hidden), nn.ELU()]
    dec: list[nn.Module] = [nn.Linear(latent_dim, hidden), nn.ELU(), nn.Linear(hidden, flat)]
    dec.append(nn.Unflatten(1, (width, *last)))
    outs = [*reversed(channels[:-1]), in_channels] if channels else []
    for stage, c in enumerate(outs):
        k = len(channels) - stage  # this transposed convolution goes from size k to k - 1
        stride = strides[k - 1]
        kernel, padding = conv_geometry(dims, stride)
        pad = tuple(s[k - 1] - ((s[k] - 1) * stride - 2 * padding + kernel) for s in sizes)
        up: nn.Module = (
            nn.ConvTranspose1d(width, c, kernel, stride=stride, padding=padding,
                               output_padding=pad[0]) if dims == 1 else
            nn.ConvTranspose2d(width, c, kernel, stride=stride, padding=padding,
                               output_padding=(pad[0], pad[1])))
        dec += [nn.ELU(), up]
        width = c
    return AutoEncoderNet(nn.Sequential(*enc), hidden, latent_dim, nn.Sequential(*dec),
                          variational)


# ---------------------------------------------------------------------------- training


# A loss this many times the untrained (or warm-started) network's has diverged, even if
# it is still finite: its weights would give prototypes far outside the data.
DIVERGENCE_FACTOR = 100.0


def sse_weight(variational: bool, sigma: float, n_features: int) -> float:
    """What one unit of an object's summed squared error adds to its loss: 1 / n_features
    for an AE (its loss is the mean squared error over the input's features), 1 / (2
    sigma^2) for a VAE."""
    return 0.5 / sigma**2 if variational else 1.0 / n_features


def make_object_loss(variational: bool, beta: float, sigma: float,
                     n_features: int) -> Callable[..., torch.Tensor]:
    """Each object's loss from a forward pass ``(x, recon, mu, logvar)``: the weighted
    summed squared error (``sse_weight``) plus, for a VAE, ``beta`` times the KL term (the
    negative ELBO under Gaussian noise of spread ``sigma``). The error is summed over the
    network's outputs, which may be the principal-component coefficients of ``n_features``
    inputs."""
    weight = sse_weight(variational, sigma, n_features)

    def loss(x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor,
             logvar: torch.Tensor | None) -> torch.Tensor:
        sse = weight * ((recon - x) ** 2).flatten(1).sum(dim=1)
        if logvar is None:
            return sse
        return sse + beta * -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)

    return loss


def make_loss(variational: bool, beta: float, sigma: float,
              n_features: int) -> Callable[..., torch.Tensor]:
    """The training loss: ``make_object_loss`` averaged over a batch."""
    object_loss = make_object_loss(variational, beta, sigma, n_features)

    def loss(net: AutoEncoderNet, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        return torch.mean(object_loss(x, *net(x, gen)))

    return loss


def _diverged(epoch: int, lr: float, how: str = "became NaN or infinite") -> DivergedError:
    return DivergedError(
        f"training diverged: the loss {how} in epoch {epoch + 1}. "
        f"Try a lower learning rate (lr={lr:g} now; e.g. lr={lr / 10:g}) or scale the data "
        "(scaling='minmax')."
    )


def train(net: AutoEncoderNet, X_train: np.ndarray, X_val: np.ndarray | None, *,
          loss_fn: Callable[..., torch.Tensor], epochs: int, batch_size: int, lr: float,
          patience: int, min_delta: float, rng: np.random.Generator,
          generator: torch.Generator, device: torch.device, progress: bool,
          label: str, floor: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    """Adam on shuffled mini-batches with early stopping on ``X_val`` (or on the training
    loss after each epoch when the node is too small to hold data out); the best weights
    are kept. ``floor`` (training, held-out) is the loss no network can remove -- what
    projecting the input onto principal components leaves out -- added to the scores so
    that early stopping judges the loss on the input itself. A loss that is not finite, or
    ``DIVERGENCE_FACTOR`` times the starting one, raises :class:`DivergedError`."""
    opt = make_optimizer(net, lr)
    xt = torch.from_numpy(X_train).to(device)
    xv = None if X_val is None else torch.from_numpy(X_val).to(device)
    n = len(xt)

    def epoch_score() -> float:
        # the weights kept are the ones scored: after the epoch, never a running average
        if xv is None:
            return evaluate(net, xt, loss_fn, batch_size * 8) + floor[0]
        return evaluate(net, xv, loss_fn, batch_size * 8) + floor[1]

    start_score = epoch_score()
    best = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    history: list[float] = []
    bar = _Progress(label, epochs) if progress else None
    try:
        for epoch in range(epochs):
            net.train()
            order = torch.from_numpy(rng.permutation(n)).to(device)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                loss = loss_fn(net, xt[idx], generator)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise _diverged(epoch, lr)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            score = epoch_score()
            if not math.isfinite(score):
                raise _diverged(epoch, lr)
            if start_score > 0 and score > DIVERGENCE_FACTOR * start_score:
                raise _diverged(epoch, lr, f"grew from {start_score:.3g} to {score:.3g}")
            history.append(score)
            if bar is not None:
                bar.update(epoch, score)
            if score < best - min_delta * abs(best) or best_state is None:
                best = score
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                stale = 0
            else:
                stale += 1
                if stale >= patience:
                    break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return {"epochs_run": len(history), "best_loss": best, "history": history}


@torch.no_grad()
def evaluate(net: AutoEncoderNet, x: torch.Tensor, loss_fn: Callable[..., torch.Tensor],
             batch_size: int) -> float:
    """Held-out loss with the latent mean (no sampling), so early stopping is deterministic."""
    net.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        total += float(loss_fn(net, xb, None)) * len(xb)
    return total / len(x)


class _Progress:
    """A rich progress bar over epochs, on stderr (stdout stays for results), that
    disappears when training ends."""

    def __init__(self, label: str, epochs: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                             TextColumn("epoch {task.completed}/{task.total}"),
                             TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(label, total=epochs, loss="-")
        self._bar.start()

    def update(self, epoch: int, loss: float) -> None:
        self._bar.update(self._task, completed=epoch + 1, loss=f"{loss:.4g}")

    def close(self) -> None:
        self._bar.stop()


# ---------------------------------------------------------------------------- deep clustering


def soft_assignments(z: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Student's t (one degree of freedom) similarity of each code to each centre, as
    probabilities over the centres."""
    q = 1.0 / (1.0 + ((z[:, None, :] - centres[None, :, :]) ** 2).sum(dim=2))
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """The sharpened targets: each probability squared and divided by its cluster's total,
    so confident assignments weigh more and a large cluster cannot swallow the other."""
    weight = q**2 / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


@torch.no_grad()
def _mean_object_loss(net: AutoEncoderNet, x: torch.Tensor,
                      object_loss: Callable[..., torch.Tensor], batch_size: int) -> float:
    net.eval()
    total = sum(float(object_loss(x[s:s + batch_size], *net(x[s:s + batch_size])).sum())
                for s in range(0, len(x), batch_size))
    return total / len(x)


@torch.no_grad()
def _targets(net: AutoEncoderNet, x: torch.Tensor, centres: torch.Tensor,
             batch_size: int) -> torch.Tensor:
    """The targets P of every object, from the network's current codes."""
    net.eval()
    codes = torch.cat([net.stats(x[s:s + batch_size])[0] for s in range(0, len(x), batch_size)])
    return target_distribution(soft_assignments(codes, centres))


def train_clusters(net: AutoEncoderNet, X: np.ndarray, centres: np.ndarray, *,
                   object_loss: Callable[..., torch.Tensor], gamma: float, epochs: int,
                   refresh: int, batch_size: int, lr: float, rng: np.random.Generator,
                   generator: torch.Generator, device: torch.device) -> np.ndarray:
    """Train ``net`` and two cluster ``centres`` together (IDEC's objective): the
    reconstruction loss, divided by its value before this phase so that ``gamma`` means
    the same for every network and data scale, plus ``gamma`` times KL(P || Q) of the
    codes' soft assignments Q to their sharpened targets P, which are recomputed every
    ``refresh`` epochs. Returns the learned centres (float64)."""
    xt = torch.from_numpy(X).to(device)
    mu = nn.Parameter(torch.tensor(centres, dtype=xt.dtype, device=device))
    opt = make_optimizer(nn.ParameterList([*net.parameters(), mu]), lr)
    n, wide = len(xt), batch_size * 8
    start = _mean_object_loss(net, xt, object_loss, wide)
    scale = 1.0 / start if math.isfinite(start) and start > 0 else 1.0
    for epoch in range(epochs):
        if epoch % refresh == 0:
            target = _targets(net, xt, mu, wide)
        net.train()
        order = torch.from_numpy(rng.permutation(n)).to(device)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            recon, codes, logvar = net(xt[idx], generator)
            reconstruction = torch.mean(object_loss(xt[idx], recon, codes, logvar))
            p = target[idx]
            q = soft_assignments(codes, mu).clamp_min(1e-30)  # p = 0 (underflow) adds 0
            kl = torch.sum(torch.xlogy(p, p) - p * torch.log(q), dim=1)
            loss = scale * reconstruction + gamma * kl.mean()
            if not math.isfinite(float(loss.detach())):
                raise _diverged(epoch, lr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    return mu.detach().cpu().numpy().astype(np.float64)


# ---------------------------------------------------------------------------- inference


@torch.no_grad()
def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray, batch_size: int,
                device: torch.device,
                prepare: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Apply ``fn`` to float32 batches of ``X`` (each passed through ``prepare`` first, so
    a transformed copy exists for one batch only) and return float64, so memory stays
    bounded for any number of objects."""
    outs = []
    for start in range(0, len(X), batch_size):
        part = X[start:start + batch_size]
        if prepare is not None:
            part = prepare(part)
        xb = torch.from_numpy(np.ascontiguousarray(part)).to(device)
        outs.append(fn(xb).detach().cpu().numpy().astype(np.float64))
    if not outs:
        return np.empty((0,), dtype=np.float64)
    return np.concatenate(outs, axis=0)


def state_to_numpy(net: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def numpy_to_state(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v, copy=True)) for k, v in arrays.items()}


def seeded_init(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """Build a network with its initial weights drawn from ``seed`` without touching the
    caller's global torch random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
