"""Built-in anomaly tasks made from data bundled with scikit-learn.

They need no data folder and no download, so examples, tests and a first
``drama run`` work on any machine. Each turns a labelled classification set into an
anomaly task: one class (or several) is normal, a small random subset of another class
plays the anomalies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .synthetic import RandomStateLike, _rng

__all__ = ["BUILTINS", "BuiltinTask", "load_breast_cancer_task", "load_digits_task"]


def _check_fraction(anomaly_fraction: float) -> float:
    if isinstance(anomaly_fraction, bool) or not isinstance(
        anomaly_fraction, int | float | np.floating | np.integer
    ):
        raise TypeError(
            f"anomaly_fraction must be a number between 0 and 1, got {anomaly_fraction!r}."
        )
    fraction = float(anomaly_fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"anomaly_fraction must lie strictly between 0 and 1, got {fraction}.")
    return fraction


def _assemble(
    X_normal: np.ndarray,
    X_pool: np.ndarray,
    anomaly_fraction: float,
    random_state: RandomStateLike,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Add a random subset of ``X_pool`` so that anomalies are ``anomaly_fraction`` of all."""
    fraction = _check_fraction(anomaly_fraction)
    n_normal = X_normal.shape[0]
    n_anomalies = max(1, int(round(fraction / (1.0 - fraction) * n_normal)))
    if n_anomalies > X_pool.shape[0]:
        # rounded down, so that the share suggested always works
        largest = math.floor(1e3 * X_pool.shape[0] / (X_pool.shape[0] + n_normal)) / 1e3
        raise ValueError(
            f"anomaly_fraction={fraction} needs {n_anomalies} {what} but only "
            f"{X_pool.shape[0]} exist; use anomaly_fraction <= {largest:.3f}."
        )
    rng = _rng(random_state)
    chosen = rng.choice(X_pool.shape[0], size=n_anomalies, replace=False)
    X = np.concatenate([X_normal, X_pool[np.sort(chosen)]]).astype(np.float64)
    y = np.concatenate([np.zeros(n_normal, np.int64), np.ones(n_anomalies, np.int64)])
    order = rng.permutation(X.shape[0])
    return X[order], y[order]


def load_breast_cancer_task(
    anomaly_fraction: float = 0.1, random_state: RandomStateLike = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin breast cancer (scikit-learn copy) as an anomaly task.

    All 357 benign tumours are normal; a random subset of the 212 malignant ones are the
    anomalies, so that they make up ``anomaly_fraction`` of the result. A real, small
    (30 features) task that needs no download.

    Parameters
    ----------
    anomaly_fraction
        Share of anomalies among the returned objects, in (0, 0.37].
    random_state
        Seed (or ``numpy.random.Generator``) choosing the anomalies and the row order.

    Returns
    -------
    X : ndarray of shape (n, 30), float64
    y : ndarray of shape (n,), int64, 1 = malignant (anomaly)
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X, target = np.asarray(data.data), np.asarray(data.target)
    # scikit-learn codes malignant as 0 and benign as 1.
    return _assemble(X[target == 1], X[target == 0], anomaly_fraction, random_state, "malignant")


def load_digits_task(
    anomaly_digit: int = 0,
    anomaly_fraction: float = 0.05,
    random_state: RandomStateLike = 0,
    images: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits (8x8, scikit-learn copy) with one digit as a new-class anomaly.

    Every image of the nine other digits is normal; a random subset of ``anomaly_digit``
    images are the anomalies, so that they make up ``anomaly_fraction`` of the result
    (the defaults give 1619 normal images and 85 zeros). It is the real-data counterpart
    of :func:`drama.datasets.make_new_class_anomaly`.

    Parameters
    ----------
    anomaly_digit
        The digit (0-9) that plays the anomaly.
    anomaly_fraction
        Share of anomalies among the returned objects: above 0 and at most what the
        digit's images allow (about 0.09-0.1, each digit having about 180 images; a larger
        share raises a ValueError that names the largest possible).
    random_state
        Seed (or ``numpy.random.Generator``) choosing the anomalies and the row order.
    images
        Return each object as its 8 x 8 image, the shape the 2-D convolutional reducers
        (``cae2d``, ``cvae2d``) need, instead of a row of 64 pixels.

    Returns
    -------
    X : ndarray of shape (n, 64), or (n, 8, 8) with ``images=True``; float64, pixel values 0-16
    y : ndarray of shape (n,), int64, 1 = the anomaly digit
    """
    if isinstance(anomaly_digit, bool) or not isinstance(anomaly_digit, int | np.integer):
        raise TypeError(f"anomaly_digit must be an integer 0-9, got {anomaly_digit!r}.")
    if not 0 <= int(anomaly_digit) <= 9:
        raise ValueError(f"anomaly_digit must be between 0 and 9, got {anomaly_digit}.")
    if not isinstance(images, bool | np.bool_):
        raise TypeError(f"images must be True or False, got {images!r}.")
    from sklearn.datasets import load_digits

    data = load_digits()
    X, target = np.asarray(data.data), np.asarray(data.target)
    is_anomaly = target == int(anomaly_digit)
    X, y = _assemble(
        X[~is_anomaly], X[is_anomaly], anomaly_fraction, random_state, f"images of {anomaly_digit}"
    )
    return (X.reshape(-1, 8, 8) if images else X), y


@dataclass(frozen=True)
class BuiltinTask:
    """A named task that ``load`` can build without any file."""

    name: str
    loader: Callable[[], tuple[np.ndarray, np.ndarray]]
    description: str


#: Built-in tasks by name; ``load(name)`` looks here before the data folders.
BUILTINS: dict[str, BuiltinTask] = {
    task.name: task
    for task in (
        BuiltinTask(
            "breast_cancer",
            load_breast_cancer_task,
            "scikit-learn breast cancer: benign normal, 10% malignant anomalies (30 features)",
        ),
        BuiltinTask(
            "digits_new_class",
            load_digits_task,
            "scikit-learn digits: digits 1-9 normal, 5% zeros as new-class anomalies (64 px)",
        ),
    )
}
