"""Synthetic signal benchmarks of the DRAMA paper (docs/algorithm.md#synthetic-benchmarks).

Ten signal shapes on ``x = linspace(0, 1, n_features)``, each object jittered by a
random stretch ``a1``, shift ``a2``, amplitude ``a3`` and offset ``a4`` plus Gaussian
noise, so that "normal" is a family of similar curves rather than one template. Two
anomaly kinds are built on them: a *local* anomaly (a small bump on a normal curve) and
a *new-class* anomaly (a few curves of a different shape).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import signal

__all__ = [
    "N_SHAPES",
    "RandomStateLike",
    "make_local_anomaly",
    "make_new_class_anomaly",
    "make_signals",
]

RandomStateLike = int | np.integer | np.random.Generator | np.random.RandomState | None

#: Number of signal shapes; shapes are numbered 1..N_SHAPES as in the paper.
N_SHAPES = 10


def _rng(random_state: RandomStateLike) -> np.random.Generator:
    """Turn a seed, Generator or legacy RandomState into a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or (
        isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise TypeError(
        f"random_state must be None, an int or a numpy Generator, got {random_state!r}."
    )


def _heaviside(values: np.ndarray) -> np.ndarray:
    return np.heaviside(values, 0.5)


# Each shape maps (x, t, a1) to f; x has shape (1, n_f), t = x - a2 and a1 are (n, n_f)
# and (n, 1). Formulas as in docs/algorithm.md#synthetic-benchmarks.
_SHAPES: dict[int, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    1: lambda x, t, a1: x * np.sin(2 * np.pi * a1 * t) + 0.8,
    2: lambda x, t, a1: (signal.sawtooth(10 * np.pi * a1 * t) + 1) / 2,
    3: lambda x, t, a1: _heaviside(np.sin(6 * np.pi * a1 * t)),
    4: lambda x, t, a1: np.tan(a1 * t) / 1.5,
    # x - 0.5 - a2 == t - 0.5
    5: lambda x, t, a1: (signal.gausspulse(0.5 * a1 * (t - 0.5), fc=5) + 1) / 2,
    6: lambda x, t, a1: (-a1 * t + np.sin(5 * np.pi * a1 * t) + 1.7) / 2.7,
    7: lambda x, t, a1: _heaviside(np.sin(4 * np.pi * a1 * t**2)),
    8: lambda x, t, a1: (np.exp(np.sin(6 * np.pi * a1 * t**3)) - 0.3) / 2.5,
    9: lambda x, t, a1: (
        (signal.square(60 * np.pi * a1 * t, duty=(np.sin(2 * np.pi * x) + 1) / 2) + 1) / 2
    ),
    10: lambda x, t, a1: np.clip(np.sin(25 * a1 * t), -1, 0) + 1,
}


def check_shape(shape: object, what: str = "shape") -> int:
    """``shape`` as an int, or an error naming ``what`` unless it is one of the 10 shapes."""
    if isinstance(shape, bool) or not isinstance(shape, int | np.integer):
        raise TypeError(f"{what} must be an integer 1-{N_SHAPES}, got {shape!r}.")
    if not 1 <= int(shape) <= N_SHAPES:
        raise ValueError(f"{what} must be between 1 and {N_SHAPES}, got {shape}.")
    return int(shape)


def check_count(value: object, what: str, minimum: int = 0) -> int:
    """``value`` as an int, or an error naming ``what`` unless it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{what} must be an integer, got {value!r}.")
    if int(value) < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}.")
    return int(value)


def _check_scale(value: object, what: str, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{what} must be a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value}.")
    if below_one and number >= 1:
        raise ValueError(f"{what} must be below 1 so that the factor 1 +/- {what} stays > 0.")
    return number


def make_signals(
    shape: int,
    n_objects: int,
    n_features: int = 100,
    *,
    stretch: float = 0.1,
    shift: float = 0.1,
    amplitude: float = 0.1,
    offset: float = 0.1,
    noise: float = 0.1,
    random_state: RandomStateLike = None,
) -> np.ndarray:
    """Draw ``n_objects`` jittered, noisy copies of one of the paper's ten signal shapes.

    Each object is ``a3 * (f(x) - a4) + noise * N(0, 1)`` with ``t = x - a2``,
    ``a1 ~ U[1 - stretch, 1 + stretch]``, ``a2 ~ U[-shift, shift]``,
    ``a3 ~ U[1 - amplitude, 1 + amplitude]`` and ``a4 ~ U[-offset, offset]`` drawn per
    object; ``f`` is shape 1-10 of docs/algorithm.md#synthetic-benchmarks.

    Parameters
    ----------
    shape
        Signal shape, 1 to 10.
    n_objects, n_features
        Number of curves and of samples per curve (100 and 3000 in the paper).
    stretch, shift, amplitude, offset
        Half-widths of the uniform jitters (n1..n4 in the paper).
    noise
        Standard deviation of the additive Gaussian noise.
    random_state
        Seed or ``numpy.random.Generator``; the same seed gives the same array.

    Returns
    -------
    ndarray of shape (n_objects, n_features), float64
    """
    shape = check_shape(shape)
    n_objects = check_count(n_objects, "n_objects")
    n_features = check_count(n_features, "n_features", minimum=1)
    stretch = _check_scale(stretch, "stretch", below_one=True)
    shift = _check_scale(shift, "shift")
    amplitude = _check_scale(amplitude, "amplitude", below_one=True)
    offset = _check_scale(offset, "offset")
    noise = _check_scale(noise, "noise")
    if shape == 4 and (1 + stretch) * (1 + shift) >= math.pi / 2:
        raise ValueError(
            "shape 4 is tan(a1 t), which diverges at a1 t = pi/2; with "
            f"stretch={stretch} and shift={shift} it can reach the pole. Keep "
            "(1 + stretch) * (1 + shift) below pi/2 (about 1.57)."
        )
    rng = _rng(random_state)
    a1 = rng.uniform(1 - stretch, 1 + stretch, size=(n_objects, 1))
    a2 = rng.uniform(-shift, shift, size=(n_objects, 1))
    a3 = rng.uniform(1 - amplitude, 1 + amplitude, size=(n_objects, 1))
    a4 = rng.uniform(-offset, offset, size=(n_objects, 1))
    x = np.linspace(0.0, 1.0, n_features)[np.newaxis, :]
    t = x - a2
    f = np.broadcast_to(_SHAPES[shape](x, t, a1), (n_objects, n_features))
    values = a3 * (f - a4)
    if noise > 0:
        values = values + rng.normal(0.0, noise, size=values.shape)
    return np.ascontiguousarray(values, dtype=np.float64)


def _check_range(value: Sequence[float], what: str, positive: bool = False) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a pair (low, high), got {value!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high or low < 0:
        raise ValueError(f"{what} must satisfy 0 <= low <= high, got {value!r}.")
    if positive and low <= 0:
        raise ValueError(f"{what} must be > 0, got {value!r}.")
    return low, high


def _shuffle(
    parts: list[np.ndarray], labels: list[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate(parts)
    y = np.concatenate(labels).astype(np.int64)
    order = rng.permutation(X.shape[0])
    return X[order], y[order]


def make_local_anomaly(
    n_inliers: int = 1000,
    n_outliers: int = 50,
    n_features: int = 100,
    shape: int = 1,
    noise: float = 0.3,
    bump_amplitude: tuple[float, float] = (0.3, 0.4),
    bump_width: tuple[float, float] = (0.08, 0.1),
    random_state: RandomStateLike = None,
    **jitter: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Local-anomaly benchmark: normal curves, and a few with a small Gaussian bump.

    Outliers are curves of the same shape plus ``A * exp(-(x - mu)^2 / (2 s^2))`` with
    ``mu ~ U[0, 1]``, ``A ~ U[bump_amplitude]`` and ``s ~ U[bump_width]``, so they
    differ from normal objects only in a small region (the paper ran 1000 inliers,
    50 outliers, noise 0.3). ``jitter`` may set :func:`make_signals`'s half-widths
    ``stretch``, ``shift``, ``amplitude`` and ``offset`` (0.1 each by default).

    Returns
    -------
    X : ndarray of shape (n_inliers + n_outliers, n_features), float64
    y : ndarray of int64, 1 = outlier; rows are shuffled.
    """
    n_inliers = check_count(n_inliers, "n_inliers")
    n_outliers = check_count(n_outliers, "n_outliers")
    if n_inliers + n_outliers == 0:
        raise ValueError("n_inliers + n_outliers must be at least 1.")
    amp_low, amp_high = _check_range(bump_amplitude, "bump_amplitude")
    width_low, width_high = _check_range(bump_width, "bump_width", positive=True)
    rng = _rng(random_state)
    _check_jitter(jitter)
    inliers = make_signals(shape, n_inliers, n_features, noise=noise, random_state=rng,
                           **jitter)
    outliers = make_signals(shape, n_outliers, n_features, noise=noise, random_state=rng,
                            **jitter)
    x = np.linspace(0.0, 1.0, outliers.shape[1])[np.newaxis, :]
    centre = rng.uniform(0.0, 1.0, size=(n_outliers, 1))
    height = rng.uniform(amp_low, amp_high, size=(n_outliers, 1))
    width = rng.uniform(width_low, width_high, size=(n_outliers, 1))
    outliers = outliers + height * np.exp(-((x - centre) ** 2) / (2 * width**2))
    return _shuffle([inliers, outliers], [np.zeros(n_inliers), np.ones(n_outliers)], rng)


def _per_class(value: int | Sequence[int], shapes: tuple[int, ...], what: str) -> list[int]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return [check_count(value, what)] * len(shapes)
    try:
        counts = list(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an integer or a list of integers.") from None
    if len(counts) != len(shapes):
        raise ValueError(
            f"{what} has {len(counts)} entries but there are {len(shapes)} shapes; give one "
            "count per shape or a single integer."
        )
    return [check_count(c, what) for c in counts]


JITTER = ("stretch", "shift", "amplitude", "offset")


def _check_jitter(jitter: dict[str, float]) -> None:
    unknown = sorted(set(jitter) - set(JITTER))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; the jitter half-widths are "
                         f"{', '.join(JITTER)}.")


def _shape_list(shapes: Any, what: str) -> Sequence[Any] | np.ndarray:
    """Shapes as a sequence: a bare integer is refused with the form that works."""
    if not isinstance(shapes, (Sequence, np.ndarray)) or isinstance(shapes, str):
        raise ValueError(f"{what} must be a sequence of shapes from 1 to 10, e.g. (3,); "
                         f"got {shapes!r}.")
    return shapes


def make_new_class_anomaly(
    n_per_inlier_class: int | Sequence[int] = 1000,
    inlier_shapes: Sequence[int] = (1,),
    outlier_shapes: Sequence[int] | None = None,
    n_per_outlier_class: int | Sequence[int] = 5,
    n_features: int = 100,
    noise: float = 0.1,
    random_state: RandomStateLike = None,
    **jitter: float,
) -> tuple[np.ndarray, np.ndarray]:
    """New-class benchmark: many curves of the normal shapes, a few of other shapes.

    The paper's variants: one shape of 1000 plus 5 of every other shape (the default);
    five shapes of 500 plus five of 5; nine shapes of 500 plus one of 50.

    Parameters
    ----------
    n_per_inlier_class
        Objects per normal shape: one integer, or one per entry of ``inlier_shapes``.
    inlier_shapes
        Shapes (1-10) that are normal.
    outlier_shapes
        Shapes that are anomalies; by default every shape not in ``inlier_shapes``.
    n_per_outlier_class
        Objects per anomalous shape: one integer or one per outlier shape.
    **jitter
        :func:`make_signals`'s half-widths ``stretch``, ``shift``, ``amplitude`` and
        ``offset`` (0.1 each by default).

    Returns
    -------
    X : ndarray of shape (n, n_features), float64
    y : ndarray of int64, 1 = object of an outlier shape; rows are shuffled.
    """
    inliers = tuple(check_shape(s, "inlier_shapes entries") for s in _shape_list(
        inlier_shapes, "inlier_shapes"))
    if not inliers:
        raise ValueError("inlier_shapes must name at least one shape.")
    if outlier_shapes is None:
        outliers = tuple(s for s in range(1, N_SHAPES + 1) if s not in inliers)
    else:
        outliers = tuple(check_shape(s, "outlier_shapes entries") for s in _shape_list(
            outlier_shapes, "outlier_shapes"))
    if not outliers:
        raise ValueError(
            "there are no outlier shapes; leave some of the 10 shapes out of "
            "inlier_shapes or name outlier_shapes."
        )
    if len(set(inliers)) != len(inliers) or len(set(outliers)) != len(outliers):
        raise ValueError("inlier_shapes and outlier_shapes must not repeat a shape.")
    common = sorted(set(inliers) & set(outliers))
    if common:
        raise ValueError(f"shape(s) {common} are both inlier and outlier shapes.")
    _check_jitter(jitter)
    n_in = _per_class(n_per_inlier_class, inliers, "n_per_inlier_class")
    n_out = _per_class(n_per_outlier_class, outliers, "n_per_outlier_class")
    if sum(n_in) + sum(n_out) == 0:
        raise ValueError("the requested counts add up to no objects at all.")
    rng = _rng(random_state)
    parts: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for shapes, counts, label in ((inliers, n_in, 0.0), (outliers, n_out, 1.0)):
        for shape, count in zip(shapes, counts, strict=True):
            parts.append(make_signals(shape, count, n_features, noise=noise, random_state=rng,
                                      **jitter))
            labels.append(np.full(count, label))
    return _shuffle(parts, labels, rng)
