"""Feature scaling fitted on the training data and re-applied unchanged to new data.

Constant features get a unit range so they map to 0 instead of NaN or inf. Under
``robust``, a feature whose interquartile range is 0 but which still varies (mostly zeros,
say) is divided by its standard deviation instead, so that its units do not matter.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("minmax", "standard", "robust", "global", "none")


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
        if self.method == "minmax":
            offset, scale = flat.min(axis=0), np.ptp(flat, axis=0)
        elif self.method == "standard":
            offset, scale = flat.mean(axis=0), flat.std(axis=0)
        elif self.method == "robust":
            q1, med, q3 = np.percentile(flat, [25, 50, 75], axis=0)
            iqr = q3 - q1
            offset = med
            scale = np.where(iqr > 1e-12 * np.maximum(1.0, np.abs(med)), iqr, flat.std(axis=0))
        elif self.method == "global":
            offset, scale = np.array([flat.min()]), np.array([np.ptp(flat)])
        else:
            offset, scale = np.zeros(1), np.ones(1)
        if not (np.isfinite(offset).all() and np.isfinite(scale).all()):
            raise ValueError(
                "X has values too large to scale: their range overflows float64. Divide X by a "
                "constant first."
            )
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(offset)), scale, 1.0)
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
