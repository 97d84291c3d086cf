"""Per-curve features from the ``light-curve`` package (the SNAD group's feature extractor).

The feature set and the reason for each member are in ``docs/lightcurves.md``. In short:
how much a source varies (``amplitude``, ``inter_percentile_range_5``,
``standard_deviation``, ``chi2``: beyond its errors), the shape of its magnitude
distribution (``skew``: outbursts are bright-side tails, eclipses faint-side;
``kurtosis``, ``stetson_K``, ``beyond_1_std``: rare excursions vs steady oscillation), how
it varies in time (``eta``: smooth trend vs point-to-point noise; ``linear_trend``: secular
fading or brightening; ``maximum_slope``: the fastest change, for flares; the periodogram's
best ``period`` and its signal-to-noise: periodic variables), and three columns that say how
a source was observed (``median``: brightness, ``median_err``: noise level, ``duration``
and ``observation_count``: sampling) -- those can carry a selection effect, so they are
named apart in :data:`OBSERVATION_FEATURES`.

Quantities that span orders of magnitude (a rate, a duration, a count, a chi-square, a
period) enter as ``log10(1 + x)`` so that a min-max scaling is not ruled by one extreme
object. Observations at the same time are merged (inverse-variance weighted mean, the
error of that mean) because the extractor needs strictly increasing times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FEATURES", "MIN_POINTS", "OBSERVATION_FEATURES", "extract", "require_light_curve"]

# Columns in output order; the extractor's own names, plus median_err (which it lacks).
FEATURES = ("amplitude", "inter_percentile_range_5", "standard_deviation", "stetson_K", "skew",
            "kurtosis", "beyond_1_std", "eta", "chi2", "linear_trend", "maximum_slope",
            "periodogram_period_0", "periodogram_period_s_to_n_0", "median", "median_err",
            "duration", "observation_count")
OBSERVATION_FEATURES = ("median", "median_err", "duration", "observation_count")
LOG_FEATURES = ("chi2", "maximum_slope", "periodogram_period_0", "duration",
                "observation_count")
# Kurtosis needs 4 distinct times; one more keeps the periodogram from fitting a single gap.
MIN_POINTS = 5
ERR_FLOOR = 1e-3  # magnitudes; a quoted error of 0 would make every weight infinite


def require_light_curve(needed_by: str = "representation='features'") -> Any:
    """Import and return the ``light_curve`` package, or say how to install it."""
    try:
        import light_curve
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs the light-curve package: pip install "
            "'drama-anomaly[lightcurves]' (or pip install light-curve)"
        ) from exc
    return light_curve


_EXTRACTOR: list[Any] = []  # built once: the extractor is immutable and reusable


def _extractor() -> Any:
    if not _EXTRACTOR:
        lc = require_light_curve()
        _EXTRACTOR.append(lc.Extractor(
            lc.Amplitude(), lc.InterPercentileRange(0.05), lc.StandardDeviation(),
            lc.StetsonK(), lc.Skew(), lc.Kurtosis(), lc.BeyondNStd(1), lc.Eta(),
            lc.ReducedChi2(), lc.LinearTrend(), lc.MaximumSlope(), lc.Periodogram(peaks=1),
            lc.Median(), lc.Duration(), lc.ObservationCount(),
        ))
    return _EXTRACTOR[0]


def merge_same_times(t: np.ndarray, m: np.ndarray, e: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort by time and merge observations at one time into their weighted mean."""
    order = np.argsort(t, kind="stable")
    t, m, e = t[order], m[order], np.maximum(e[order], ERR_FLOOR)
    times, slot = np.unique(t, return_inverse=True)
    if len(times) == len(t):
        return t, m, e
    w = 1.0 / e**2
    wsum = np.bincount(slot, weights=w)
    return times, np.bincount(slot, weights=w * m) / wsum, 1.0 / np.sqrt(wsum)


def extract(t: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` of one curve (finite float64 inputs of one length), NaN where a
    feature is undefined (a flat curve has no skewness); the caller decides what to do."""
    t, m, e = merge_same_times(t, m, e)
    if len(t) < MIN_POINTS:
        raise ValueError(f"A light curve needs at least {MIN_POINTS} distinct times for its "
                         f"features; got {len(t)}.")
    extractor = _extractor()
    values = dict(zip(extractor.names, extractor(t, m, e, fill_value=np.nan), strict=True))
    values["median_err"] = float(np.median(e))
    for name in LOG_FEATURES:
        values[name] = np.log10(1.0 + values[name])
    return np.array([values[name] for name in FEATURES], dtype=np.float64)
