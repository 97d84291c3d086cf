"""Light curves: irregularly sampled magnitudes turned into fixed-length arrays for ``cae1d``.

A convolutional reducer needs every object on the same grid, but a survey observes each
source at its own irregular times (CRTS: 1 to ~470 points over up to nine years, with
seasonal gaps). :func:`curve_to_grid` makes one curve into an ``(n_bins, C)`` array:

1. sort the points by time and map the time axis onto [0, 1] -- by default each curve's own
   first-to-last span (``time_grid="curve"``: curves are compared by the *shape* of their
   variability whatever their length), or a window shared by all curves
   (``time_grid="survey"``: keeps absolute time scales, at the cost of empty stretches);
2. cut [0, 1] into ``n_bins`` equal bins and take, in each bin, the inverse-variance weighted
   mean magnitude and the error of that mean (faint noisy points count less);
3. fill bins without points by linear interpolation between neighbouring filled bins
   (constant beyond the ends), so gaps do not read as sudden dimming;
4. subtract the curve's median magnitude and flip the sign, so channel ``mag`` is
   *brightening* in magnitudes (an outburst is a peak) and sources of different brightness
   compare by behaviour.

Channels (last axis): ``mag`` (as above), ``err`` (the binned error, interpolated in gaps)
and, on request, ``count`` (log(1 + points in the bin): where the curve was really seen).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drama.datasets.folders import DATA_ENV, data_dirs, data_subfolder
from drama.scaling import is_spread

__all__ = ["CHANNELS", "FEATURES", "crts_folder", "curve_features", "curve_to_grid", "load_crts"]

CHANNELS = ("mag", "err", "count")
CRTS_CURVES = "CRTS_subset_500.csv"
CRTS_LABELS = "transient_labels.csv"
FEATURES = ("log_points", "median_mag", "std_mag", "skew_mag", "amplitude", "median_err",
            "log_span", "von_neumann", "log_chi2", "beyond_1std")
_ERR_FLOOR = 1e-3  # magnitudes; keeps the weights finite for a zero quoted error


def _check_channels(channels: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(channels)
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown or not chosen:
        raise ValueError(
            f"channels must be a non-empty list from {CHANNELS}; got {list(chosen)}."
        )
    return chosen


def curve_to_grid(
    mjd: Any,
    mag: Any,
    magerr: Any = None,
    n_bins: int = 64,
    *,
    time_range: tuple[float, float] | None = None,
    channels: Sequence[str] = ("mag", "err"),
) -> np.ndarray:
    """One irregular light curve as an ``(n_bins, len(channels))`` float64 array.

    Parameters
    ----------
    mjd, mag, magerr
        Times, magnitudes and their errors (``magerr`` None: equal weights, error channel 0).
    n_bins
        Length of the grid.
    time_range
        ``(t0, t1)`` mapped onto the grid; None uses the curve's own first and last times.
    channels
        Any of ``"mag"``, ``"err"``, ``"count"`` (see the module docstring).
    """
    chosen = _check_channels(channels)
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2; got {n_bins!r}.")
    t, m, e = _checked_curve(mjd, mag, magerr)
    if len(t) < 2:
        raise ValueError(
            f"A light curve needs at least 2 points to be put on a time grid; got {len(t)}. "
            "Drop such curves (load_crts skips them with min_points)."
        )
    if time_range is not None:  # points outside the window are not part of this grid
        t0, t1 = (float(v) for v in time_range)
        if not t1 > t0:
            raise ValueError(f"time_range must have t1 > t0; got {time_range}.")
        inside = (t >= t0) & (t <= t1)
        if not inside.any():
            raise ValueError(f"No point of this light curve lies inside time_range {time_range}.")
        t, m, e = t[inside], m[inside], None if e is None else e[inside]
    else:
        t0, t1 = float(t.min()), float(t.max())
        if t1 <= t0:
            raise ValueError(
                "All points of this light curve have the same time, so it has no time axis to "
                "put on a grid; pass time_range=(t0, t1) or drop the curve."
            )
    phase = (t - t0) / (t1 - t0)  # in [0, 1]: every point lies inside [t0, t1]
    idx = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    w = np.ones_like(m) if e is None else 1.0 / np.maximum(e, _ERR_FLOOR) ** 2
    wsum = np.bincount(idx, weights=w, minlength=n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    filled = counts > 0
    mean_mag = np.bincount(idx, weights=w * m, minlength=n_bins)[filled] / wsum[filled]
    centres = (np.arange(n_bins) + 0.5) / n_bins
    mag_grid = np.interp(centres, centres[filled], mean_mag)
    if e is None:
        err_grid = np.zeros(n_bins)
    else:
        err_grid = np.interp(centres, centres[filled], 1.0 / np.sqrt(wsum[filled]))
    columns = {
        "mag": np.median(m) - mag_grid,
        "err": err_grid,
        "count": np.log1p(counts.astype(np.float64)),
    }
    return np.stack([columns[c] for c in chosen], axis=1)


def _checked_curve(mjd: Any, mag: Any, magerr: Any | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Times, magnitudes and errors as float64 vectors of one length, finite, with
    non-negative errors -- or a ValueError that says which rule was broken."""
    t = np.asarray(mjd, dtype=np.float64).ravel()
    m = np.asarray(mag, dtype=np.float64).ravel()
    e = None if magerr is None else np.asarray(magerr, dtype=np.float64).ravel()
    if len(t) != len(m) or (e is not None and len(e) != len(t)):
        raise ValueError(
            f"mjd, mag and magerr must have the same length; got {len(t)}, {len(m)}"
            f"{'' if e is None else f' and {len(e)}'}."
        )
    for name, values in (("mjd", t), ("mag", m), ("magerr", e)):
        if values is not None and not np.isfinite(values).all():
            raise ValueError(
                f"The light curve's {name} contains NaN or infinite values; remove those "
                "observations first."
            )
    if e is not None and (e < 0).any():
        raise ValueError("magerr must be non-negative.")
    return t, m, e


def curve_features(mjd: np.ndarray, mag: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Variability statistics of one curve (``FEATURES``), for detectors on a plain table.

    Unlike the grid they keep what the grid removes on purpose -- how bright, how long and
    how densely observed a source is -- and summarise variability by quantities astronomers
    read directly: scatter, skewness (outbursts are bright-side tails), the 5-95 % amplitude,
    the von Neumann ratio (smooth trend vs point-to-point noise), the reduced chi-square
    against a constant (is it variable beyond its errors?) and the share of points beyond
    one standard deviation.
    """
    t, m, e = _checked_curve(mjd, mag, err)
    if e is None:
        raise ValueError("curve_features needs the magnitude errors (err): its chi-square "
                         "and median error are measured against them.")
    if not len(t):
        raise ValueError("A light curve needs at least one point for its features.")
    order = np.argsort(t, kind="stable")
    t, m, e = t[order], m[order], np.maximum(e[order], _ERR_FLOOR)
    centred = m - m.mean()
    # A constant curve's std is rounding noise, not 0: decide flatness with a tolerance.
    varies = is_spread(np.ptp(m), max(1.0, abs(float(m.mean()))))
    std = float(m.std()) if varies else 0.0
    skew = float((centred**3).mean() / std**3) if varies else 0.0
    step = np.diff(m)
    von_neumann = float((step**2).mean() / std**2) if varies and len(m) > 1 else 2.0
    weights = 1.0 / e**2
    weighted_mean = float((weights * m).sum() / weights.sum())
    chi2 = float((weights * (m - weighted_mean) ** 2).sum() / max(len(m) - 1, 1))
    return np.array([
        np.log1p(len(m)), float(np.median(m)), std, skew,
        float(np.percentile(m, 95) - np.percentile(m, 5)), float(np.median(e)),
        np.log1p(float(t[-1] - t[0])), von_neumann, np.log1p(chi2),
        float((np.abs(centred) > std).mean()) if varies else 0.0,
    ])


def crts_folder(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the CRTS files are: ``folder``, else ``lightcurves/crts`` in a data folder
    (``$DRAMA_DATA``, then the cache); None where there is none."""
    if folder is not None:
        return Path(folder)
    return data_subfolder("lightcurves", "crts")


def load_crts(
    folder: str | os.PathLike[str] | None = None,
    n_bins: int = 64,
    *,
    min_points: int = 5,
    on_short: str = "skip",
    time_grid: str = "curve",
    channels: Sequence[str] = ("mag", "err"),
    dropna: bool = False,
    unlabelled: str = "unlabelled",
    representation: str = "grid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Catalina Real-time Transient Survey light curves on a fixed grid (see module docstring),
    or as a table of variability statistics (``representation="features"``).

    Parameters
    ----------
    folder
        Holds ``CRTS_subset_500.csv`` (columns ID, Mag, Magerr, MJD; one row per observation)
        and optionally ``transient_labels.csv`` (Classification, TransientID, where
        TransientID is the ID without its ``TranID`` prefix). Default: :func:`crts_folder`.
    n_bins
        Grid length.
    min_points
        Curves with fewer points carry too little shape to learn from.
    on_short
        ``"skip"`` (default: drop them and warn with their count) or ``"raise"``.
    time_grid
        ``"curve"`` (each curve's own span) or ``"survey"`` (one window for all curves).
    channels
        Channels of the last axis, from ``("mag", "err", "count")``.
    dropna
        Drop observations with NaN values (or without an ID) instead of refusing the file.
    unlabelled
        Class name given to curves missing from the label file (or when it is absent).
    representation
        ``"grid"`` (default, for ``cae1d``) or ``"features"``: one row of
        :func:`curve_features` per curve (``n_bins``, ``time_grid``, ``channels`` unused).

    Returns
    -------
    X : ndarray (n, n_bins, len(channels)) or (n, len(FEATURES)), float64
    labels : ndarray (n,) of class names (str)
    ids : ndarray (n,) of curve IDs (str)
    """
    import pandas as pd

    chosen = _check_channels(channels)
    if not isinstance(min_points, (int, np.integer)) or min_points < 2:
        raise ValueError(f"min_points must be an integer >= 2; got {min_points!r}.")
    if on_short not in ("skip", "raise"):
        raise ValueError(f"on_short must be 'skip' or 'raise'; got {on_short!r}.")
    if time_grid not in ("curve", "survey"):
        raise ValueError(f"time_grid must be 'curve' or 'survey'; got {time_grid!r}.")
    if representation not in ("grid", "features"):
        raise ValueError(
            f"representation must be 'grid' or 'features'; got {representation!r}."
        )
    root = crts_folder(folder)
    if root is None:
        raise FileNotFoundError(
            f"No lightcurves/crts folder in the data folders ({', '.join(map(str, data_dirs()))})"
            f". Pass folder=..., or set {DATA_ENV} to the folder that holds lightcurves/crts/."
        )
    path = root / CRTS_CURVES
    if not path.is_file():
        raise FileNotFoundError(f"No {CRTS_CURVES} in {root}; pass the folder that holds it.")
    try:
        table = pd.read_csv(path, dtype={"ID": str})  # IDs are names: keep "0123" as it is
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())  # the parser's message spans lines
        raise ValueError(f"{path} is not a readable CSV table: {reason}.") from None
    missing = [c for c in ("ID", "Mag", "Magerr", "MJD") if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {missing}; it needs ID, Mag, Magerr and MJD "
            f"(found {list(table.columns)})."
        )
    for column in ("Mag", "Magerr", "MJD"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        text = numbers.isna() & table[column].notna()
        if text.any():
            raise ValueError(
                f"{path}: column {column} holds {int(text.sum())} value(s) that are not "
                f"numbers (first {table.loc[text, column].iloc[0]!r}, in curve "
                f"{table.loc[text, 'ID'].iloc[0]}); fix or remove those rows."
            )
        table[column] = numbers
    no_id = table["ID"].isna() | (table["ID"].str.strip() == "")
    values = table[["Mag", "Magerr", "MJD"]]
    bad = no_id.to_numpy() | ~np.isfinite(
        values.to_numpy(dtype=np.float64, na_value=np.nan)).all(axis=1)
    if bad.any():
        if not dropna:
            what = (f"{int(no_id.sum())} observation(s) without an ID" if no_id.any() else
                    f"{int(bad.sum())} observation(s) with NaN or infinite Mag, Magerr or MJD "
                    f"(first in curve {table.loc[bad, 'ID'].iloc[0]})")
            raise ValueError(f"{path} has {what}; clean them or pass dropna=True.")
        table = table.loc[~bad]
    codes, uniques = pd.factorize(table["ID"], sort=False)  # curves in file order
    sizes = np.bincount(codes, minlength=len(uniques))
    short = np.flatnonzero(sizes < min_points)
    if len(short):
        if on_short == "raise":
            raise ValueError(
                f"{len(short)} light curve(s) have fewer than {min_points} points (e.g. "
                f"{uniques[short[0]]} with {int(sizes[short[0]])}); pass on_short='skip' to "
                "drop them."
            )
        warnings.warn(
            f"load_crts skipped {len(short)} of {len(uniques)} light curves with fewer than "
            f"{min_points} points.",
            stacklevel=2,
        )
    kept = np.flatnonzero(sizes >= min_points)
    if not len(kept):
        raise ValueError(f"No light curve in {path} has at least {min_points} points.")
    window = None
    if time_grid == "survey":
        window = (float(table["MJD"].min()), float(table["MJD"].max()))
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    mjd, mag, err = (table[c].to_numpy(dtype=np.float64)[order] for c in ("MJD", "Mag", "Magerr"))
    if representation == "grid" and time_grid == "curve":
        # a curve whose points share one time has no time axis of its own to grid
        flat = [c for c in kept if np.ptp(mjd[starts[c]:starts[c + 1]]) == 0]
        if flat:
            warnings.warn(
                f"load_crts skipped {len(flat)} light curve(s) whose points all share one "
                f"time (e.g. {uniques[flat[0]]}); time_grid='survey' keeps them.",
                stacklevel=2,
            )
            kept = np.setdiff1d(kept, flat)
            if not len(kept):
                raise ValueError(f"No light curve in {path} spans more than one time.")
    shape = (len(FEATURES),) if representation == "features" else (n_bins, len(chosen))
    X = np.empty((len(kept), *shape))
    for row, code in enumerate(kept):
        part = slice(starts[code], starts[code + 1])
        try:
            X[row] = (curve_features(mjd[part], mag[part], err[part])
                      if representation == "features" else
                      curve_to_grid(mjd[part], mag[part], err[part], n_bins,
                                    time_range=window, channels=chosen))
        except ValueError as exc:
            raise ValueError(f"Light curve {uniques[code]}: {exc}") from None
    keep = [str(uniques[code]) for code in kept]
    ids = np.asarray(keep, dtype=str)
    labels = np.full(len(keep), unlabelled, dtype=object)
    label_path = root / CRTS_LABELS
    if label_path.is_file():
        names = pd.read_csv(label_path, dtype=str)
        if not {"Classification", "TransientID"} <= set(names.columns):
            raise ValueError(
                f"{label_path} needs the columns Classification and TransientID; found "
                f"{list(names.columns)}."
            )
        lookup = names.drop_duplicates("TransientID").set_index("TransientID")["Classification"]
        keys = [str(i).removeprefix("TranID") for i in ids]
        found = lookup.reindex(keys).to_numpy()
        if pd.isna(found).all():
            warnings.warn(
                f"No curve ID of {path.name} is in {label_path.name} (e.g. {ids[0]} looked up "
                f"as {keys[0]!r}), so every curve is {unlabelled!r}; its TransientID column "
                "should hold the IDs without their 'TranID' prefix.",
                stacklevel=2,
            )
        labels = np.where(pd.isna(found), unlabelled, found).astype(object)
    return X, labels.astype(str), ids
