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


def column_size(flat: np.ndarray) -> np.ndarray:
    """The largest magnitude in each column (0 for an empty one)."""
    return np.abs(flat).max(axis=0, initial=0.0)


def safe_mean_std(flat: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation that neither overflow (values above ~1e154
    square to inf, and n values near 1e308 sum to it) nor underflow: computed on the
    columns divided by their largest magnitude ``size``."""
    unit = np.where(size > 0, size, 1.0)
    scaled = flat / unit
    return scaled.mean(axis=0) * unit, scaled.std(axis=0) * unit


def _unit_if_constant(spread: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """``spread``, or 1 where it is rounding next to ``size``: a constant feature then
    maps to 0 instead of dividing by (almost) nothing."""
    return np.where(is_spread(spread, size), spread, 1.0)


def robust_centre_spread(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and spread: the interquartile range, or the standard deviation
    where the IQR is 0 but the column varies (mostly zeros, or binary), or 1 for a
    constant column. The IQR is judged against the size of the quartiles themselves, so
    that one huge value does not make a real IQR count as rounding."""
    q1, median, q3 = np.percentile(flat, [25, 50, 75], axis=0)
    size = column_size(flat)
    iqr = q3 - q1
    std = safe_mean_std(flat, size)[1]
    spread = np.where(is_spread(iqr, np.maximum(np.abs(q1), np.abs(q3))), iqr,
                      _unit_if_constant(std, size))
    return median, spread


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
        size = column_size(flat)
        if self.method == "minmax":
            offset = flat.min(axis=0)
            scale = _unit_if_constant(np.ptp(flat, axis=0), size)
        elif self.method == "standard":
            offset, std = safe_mean_std(flat, size)
            scale = _unit_if_constant(std, size)
        elif self.method == "robust":
            offset, scale = robust_centre_spread(flat)
        elif self.method == "global":
            offset = np.array([flat.min()])
            scale = _unit_if_constant(np.array([np.ptp(flat)]), size.max(initial=0.0))
        else:
            offset, scale = np.zeros(1), np.ones(1)
        if not (np.isfinite(offset).all() and np.isfinite(scale).all()):
            raise ValueError(
                "X has values too large to scale: their range overflows float64. Divide X by a "
                "constant first."
            )
        self.offset_, self.scale_ = offset.astype(np.float64), scale.astype(np.float64)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        flat = X.reshape(len(X), -1)
        # one float64 result written in place (float32 input is converted on the way, each
        # value exactly), not a temporary per operation
        out = np.subtract(flat, self.offset_, dtype=np.float64)
        out /= self.scale_
        return out.reshape(X.shape)

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
