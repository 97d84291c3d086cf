"""Feature scaling fitted on the training data and re-applied unchanged to new data.

Constant features get a unit range so they map to 0 instead of NaN or inf. Under
``robust``, a feature whose interquartile range is 0 but which still varies (mostly zeros,
say) is divided by its standard deviation instead, so that its units do not matter.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("minmax", "standard", "robust", "global", "none")
_ROUNDING = 1e-12  # a spread below this share of the values' own size is float rounding


def is_spread(spread: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """Whether ``spread`` is real variation of values as large as ``size`` (their largest
    magnitude) rather than the rounding of a constant. Relative, so that it does not
    depend on the units: a feature measured in 1e-15 still varies."""
    return np.asarray(spread) > _ROUNDING * np.asarray(size)


def safe_std(flat: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Per-column standard deviation that neither overflows (values above ~1e154 square to
    inf) nor underflows: computed on the columns divided by their largest magnitude."""
    unit = np.where(size > 0, size, 1.0)
    return (flat / unit).std(axis=0) * unit


class Scaler:
    """Affine per-feature (or global) scaling: ``(X - offset) / scale``."""

    def __init__(self, method: str = "minmax"):
        if method not in SCALINGS:
            raise ValueError(f"Unknown scaling {method!r}; choose one of {', '.join(SCALINGS)}.")
        self.method = method

    def fit(self, X: np.ndarray) -> Scaler:
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fit(X.reshape(len(X), -1))

    def _fit(self, flat: np.ndarray) -> Scaler:
        size = np.abs(flat).max(axis=0, initial=0.0)
        if self.method == "minmax":
            offset, scale = flat.min(axis=0), np.ptp(flat, axis=0)
        elif self.method == "standard":
            offset, scale = flat.mean(axis=0), safe_std(flat, size)
        elif self.method == "robust":
            q1, med, q3 = np.percentile(flat, [25, 50, 75], axis=0)
            iqr = q3 - q1
            offset = med
            scale = np.where(is_spread(iqr, size), iqr, safe_std(flat, size))
        elif self.method == "global":
            size = size.max(initial=0.0)
            offset, scale = np.array([flat.min()]), np.array([np.ptp(flat)])
        else:
            offset, scale = np.zeros(1), np.ones(1)
        if not (np.isfinite(offset).all() and np.isfinite(scale).all()):
            raise ValueError(
                "X has values too large to scale: their range overflows float64. Divide X by a "
                "constant first."
            )
        if self.method != "none":  # a constant feature gets a unit scale: it maps to 0
            scale = np.where(is_spread(scale, size), scale, 1.0)
        self.offset_, self.scale_ = offset.astype(np.float64), scale.astype(np.float64)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        flat = X.reshape(len(X), -1)
        return ((flat - self.offset_) / self.scale_).reshape(X.shape)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Back to the input's units (prototypes live in the scaled space)."""
        flat = X.reshape(len(X), -1)
        return (flat * self.scale_ + self.offset_).reshape(X.shape)

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"method": self.method}, {"offset": self.offset_, "scale": self.scale_}

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> Scaler:
        scaler = cls(config["method"])
        scaler.offset_, scaler.scale_ = arrays["offset"], arrays["scale"]
        return scaler
