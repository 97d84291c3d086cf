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

With ``bazin=True`` five more columns describe the best single supernova-like rise and
fall (the Bazin function, fitted by the package's ``BazinFit`` to the flux relative to the
curve's median brightness): ``bazin_amplitude``, ``bazin_rise_time``,
``bazin_fall_time``, ``bazin_peak_phase`` (where the fit's reference time, just before
the maximum, falls in the observed span: 0 at the first observation, 1 at the last) and
``bazin_reduced_chi2`` (how well one explosion explains the curve). The fit has five
parameters, so it needs :data:`BAZIN_MIN_POINTS` distinct times.

Quantities that span orders of magnitude (a rate, a duration, a count, a chi-square, a
period) enter as ``log10(1 + x)`` so that a min-max scaling is not ruled by one extreme
object. Observations at the same time are merged (inverse-variance weighted mean, the
error of that mean) because the extractor needs strictly increasing times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BAZIN_FEATURES", "BAZIN_MIN_POINTS", "FEATURES", "MIN_POINTS",
           "OBSERVATION_FEATURES", "extract", "require_light_curve"]

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
BAZIN_FEATURES = ("bazin_amplitude", "bazin_rise_time", "bazin_fall_time", "bazin_peak_phase",
                  "bazin_reduced_chi2")
# Five free parameters (amplitude, baseline, peak time, rise and fall times) and one
# degree of freedom left for the chi-square.
BAZIN_MIN_POINTS = 6
# A peak this far (in units of the observed span) outside the observations was not seen:
# all such fits say "no peak in the window", so they are put at the same place.
PEAK_PHASE_RANGE = (-1.0, 2.0)


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


_BAZIN: list[Any] = []


def _bazin() -> Any:
    if not _BAZIN:  # the Levenberg-Marquardt fit: a tenth of a millisecond per curve
        _BAZIN.append(require_light_curve().BazinFit("lmsder"))
    return _BAZIN[0]


def bazin_features(t: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The :data:`BAZIN_FEATURES` of one curve (merged, sorted times): the Bazin function
    fitted to the flux relative to the median magnitude, so that the amplitude compares
    between objects of any brightness; NaN where the fit gives no finite value."""
    if len(t) < BAZIN_MIN_POINTS:
        raise ValueError(f"The Bazin fit needs at least {BAZIN_MIN_POINTS} distinct times; "
                         f"got {len(t)}.")
    flux = 10.0 ** (-0.4 * (m - np.median(m)))
    flux_err = 0.4 * np.log(10.0) * flux * e
    amplitude, _, peak, rise, fall, chi2 = _bazin()(t, flux, flux_err)
    phase = np.clip((peak - t[0]) / (t[-1] - t[0]), *PEAK_PHASE_RANGE)
    return np.array([np.log10(1.0 + amplitude), np.log10(1.0 + rise), np.log10(1.0 + fall),
                     phase, np.log10(1.0 + chi2)], dtype=np.float64)


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


def extract(t: np.ndarray, m: np.ndarray, e: np.ndarray, *, bazin: bool = False
            ) -> np.ndarray:
    """The :data:`FEATURES` of one curve (finite float64 inputs of one length), followed by
    the :data:`BAZIN_FEATURES` when ``bazin``; NaN where a feature is undefined (a flat
    curve has no skewness); the caller decides what to do."""
    t, m, e = merge_same_times(t, m, e)
    if len(t) < MIN_POINTS:
        raise ValueError(f"A light curve needs at least {MIN_POINTS} distinct times for its "
                         f"features; got {len(t)}.")
    fitted = bazin_features(t, m, e) if bazin else np.empty(0)
    extractor = _extractor()
    values = dict(zip(extractor.names, extractor(t, m, e, fill_value=np.nan), strict=True))
    values["median_err"] = float(np.median(e))
    for name in LOG_FEATURES:
        values[name] = np.log10(1.0 + values[name])
    return np.concatenate([[values[name] for name in FEATURES], fitted])
