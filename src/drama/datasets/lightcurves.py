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

:func:`curves_from_table` makes a long-format table (one row per observation) into one row
per object, as that grid or as the ``light-curve`` package's features
(:mod:`drama.datasets.lightcurve_features`); ``docs/lightcurves.md`` gives the rules.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from drama._validation import check_integer, check_option
from drama.datasets.folders import DATA_ENV, PathArg, data_dirs, data_subfolder
from drama.datasets.lightcurve_features import (
    BAZIN_FEATURES,
    BAZIN_MIN_POINTS,
    ERR_FLOOR,
    FEATURES,
    MIN_POINTS,
    extract,
)

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import pandas as pd

__all__ = ["CHANNELS", "FEATURES", "REPRESENTATIONS", "LightCurves", "crts_folder",
           "curve_features", "curve_to_grid", "curves_from_table", "load_crts"]

CHANNELS = ("mag", "err", "count")
CRTS_CURVES = "CRTS_subset_500.csv"
CRTS_LABELS = "transient_labels.csv"


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
    w = np.ones_like(m) if e is None else 1.0 / np.maximum(e, ERR_FLOOR) ** 2
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


def curve_features(mjd: Any, mag: Any, err: Any) -> np.ndarray:
    """The ``light-curve`` package's features of one curve, in the order of ``FEATURES``
    (see :mod:`drama.datasets.lightcurve_features` for the set and why each is in), NaN
    where a feature is undefined for this curve (a flat curve has no skewness)."""
    t, m, e = _checked_curve(mjd, mag, err)
    if e is None:
        raise ValueError("curve_features needs the magnitude errors (err): the chi-square "
                         "and Stetson K are measured against them.")
    return extract(t, m, e)


def crts_folder(folder: str | os.PathLike[str] | None = None, *,
                data_dir: PathArg | Iterable[PathArg] | None = None) -> Path | None:
    """Where the CRTS files are: ``folder``, else ``lightcurves/crts`` in a data folder
    (``data_dir``, ``$DRAMA_DATA``, then the cache); None where there is none."""
    if folder is not None:
        return Path(folder)
    return data_subfolder("lightcurves", "crts", data_dir=data_dir)


REPRESENTATIONS = ("features", "features+bazin", "grid")
#: The representations made of per-curve features (they need the magnitude errors).
FEATURE_SETS = ("features", "features+bazin")


def least_points(representation: str) -> int:
    """The default (and least) ``min_points`` of a features representation: what its
    features are defined on; the grid takes the features' default."""
    return BAZIN_MIN_POINTS if representation == "features+bazin" else MIN_POINTS


@dataclass(frozen=True)
class LightCurves:
    """Light curves made into one row per object by :func:`curves_from_table`.

    Attributes
    ----------
    X
        ``(n, len(columns))`` features, or the ``(n, n_bins, len(columns))`` grid.
    ids
        The objects' ids, in the order of their first observation in the table.
    columns
        Names along X's last axis (``band_name`` when the table has bands).
    left_out
        Id -> why that object has no row (too few points, undefined features).
    """

    X: np.ndarray
    ids: np.ndarray
    columns: tuple[str, ...]
    left_out: dict[Any, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The features as a DataFrame with named columns (not for the grid)."""
        import pandas as pd

        if self.X.ndim != 2:
            raise ValueError("table() is for representation='features'; the grid is "
                             f"an array of shape {self.X.shape}.")
        return pd.DataFrame(self.X, columns=list(self.columns))


def _numeric_columns(frame: pd.DataFrame, names: dict[str, str], ids: pd.Series,
                     source: str, dropna: bool) -> tuple[pd.DataFrame, pd.Series]:
    """The time, magnitude and error columns as float64 without NaN: text is named, NaN
    (and rows without an id) refused unless ``dropna``."""
    import pandas as pd

    values = pd.DataFrame(index=frame.index)
    for role, column in names.items():
        numbers = pd.to_numeric(frame[column], errors="coerce")
        text = numbers.isna() & frame[column].notna()
        if text.any():
            raise ValueError(
                f"{source}: column {column} holds {int(text.sum())} value(s) that are not "
                f"numbers (first {frame.loc[text, column].iloc[0]!r}, in curve "
                f"{ids[text].iloc[0]}); fix or remove those rows."
            )
        values[role] = numbers.astype(np.float64)
    no_id = ids.isna() | (ids.astype(str).str.strip() == "")
    bad = no_id.to_numpy() | ~np.isfinite(values.to_numpy()).all(axis=1)
    if bad.any():
        if not dropna:
            what = (f"{int(no_id.sum())} observation(s) without an ID" if no_id.any() else
                    f"{int(bad.sum())} observation(s) with NaN or infinite "
                    f"{', '.join(names.values())} (first in curve {ids[bad].iloc[0]})")
            raise ValueError(f"{source} has {what}; clean them or pass dropna=True.")
        values, ids = values.loc[~bad], ids.loc[~bad]
    if "err" in values and (values["err"] < 0).any():
        raise ValueError(f"{source}: column {names['err']} (the magnitude errors) must be "
                         "non-negative.")
    return values, ids


def curves_from_table(
    frame: pd.DataFrame,
    *,
    id: str,
    time: str,
    mag: str,
    err: str | None = None,
    band: str | None = None,
    representation: str = "features",
    min_points: int | None = None,
    on_short: str = "skip",
    n_bins: int = 64,
    channels: Sequence[str] = ("mag", "err"),
    time_grid: str = "curve",
    dropna: bool = False,
    source: str = "the table",
) -> LightCurves:
    """Turn a long-format table (one row per observation) into one row per object.

    Parameters
    ----------
    frame
        The observations; the columns named by ``id``, ``time``, ``mag``, ``err``, ``band``.
    id, time, mag, err, band
        Column names. ``err`` is needed by the features (chi-square, Stetson K); ``band``
        splits each object into one curve per band (features and grid channels per band).
    representation
        ``"features"`` (the ``light-curve`` package's features, see
        ``drama.datasets.lightcurve_features``), ``"features+bazin"`` (those and the five
        Bazin-fit columns, for supernova-like transients) or ``"grid"``
        (:func:`curve_to_grid`).
    min_points
        The too-few-points rule: an object needs at least this many observations at
        distinct times in every band, else it is left out (``on_short="skip"``: with a
        warning naming how many and one of them; ``"raise"``: a ValueError). The features
        need at least ``MIN_POINTS`` (the default), the Bazin fit ``BAZIN_MIN_POINTS``.
    n_bins, channels, time_grid
        The grid's length, channels per band and time axis (see :func:`curve_to_grid`):
        ``"curve"`` spans each object's own first to last observation (all bands on one
        axis), ``"survey"`` the whole table's.
    dropna
        Drop observations with NaN values (or without an id) instead of refusing them.
    source
        How messages name the table (a file name).

    Objects whose features are undefined (a flat curve has no skewness) are left out and
    named in a warning: no object gets a NaN feature.
    """
    import pandas as pd

    check_option(representation, REPRESENTATIONS, "representation")
    check_option(on_short, ("skip", "raise"), "on_short")
    check_option(time_grid, ("curve", "survey"), "time_grid")
    featured = representation in FEATURE_SETS
    if min_points is None:
        min_points = least_points(representation)
    check_integer(min_points, "min_points",
                  minimum=least_points(representation) if featured else 2)
    chosen = _check_channels(channels)
    if featured and err is None:
        raise ValueError(f"representation={representation!r} needs the magnitude errors "
                         "(err=...): the chi-square and Stetson K are measured against them.")
    roles = {"time": time, "mag": mag} | ({} if err is None else {"err": err})
    wanted = [id, *roles.values(), *([] if band is None else [band])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"{source} has no column(s) {missing}; its columns are "
                         f"{list(map(str, frame.columns))}.")
    frame = frame[list(dict.fromkeys(wanted))].reset_index(drop=True)  # rows by position
    values, ids = _numeric_columns(frame, roles, frame[id], source, dropna)
    bands = (np.full(len(ids), "", dtype=object) if band is None
             else frame.loc[ids.index, band].astype(str).to_numpy())
    band_names = sorted(set(bands))  # sorted: every file gives its bands one column order
    codes, uniques = pd.factorize(ids, sort=False)  # objects in order of first appearance
    t = values["time"].to_numpy()
    m = values["mag"].to_numpy()
    e = values["err"].to_numpy() if "err" in values else None
    errors = np.zeros(len(t)) if e is None else e  # the features path has its errors
    order = np.lexsort((t, codes))
    starts = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    window = (float(t.min()), float(t.max())) if time_grid == "survey" else None
    prefix = [f"{b}_" if band is not None else "" for b in band_names]
    bazin = representation == "features+bazin"
    names = (FEATURES + (BAZIN_FEATURES if bazin else ())) if featured else chosen
    columns = tuple(p + name for p in prefix for name in names)
    rows, kept, left_out = [], [], {}
    short, undefined = [], []
    for code in range(len(uniques)):
        part = order[starts[code]:starts[code + 1]]
        per_band = [part[bands[part] == b] for b in band_names]
        counts = [len(np.unique(t[p])) for p in per_band]
        if min(counts) < min_points:
            where = "" if band is None else f" in band {band_names[int(np.argmin(counts))]}"
            left_out[uniques[code]] = f"{min(counts)} distinct time(s){where}"
            short.append(code)
            continue
        if featured:
            row = np.concatenate([extract(t[p], m[p], errors[p], bazin=bazin)
                                  for p in per_band])
            if not np.isfinite(row).all():
                bad = [columns[i] for i in np.flatnonzero(~np.isfinite(row))]
                left_out[uniques[code]] = f"undefined features: {', '.join(bad)}"
                undefined.append(code)
                continue
        else:
            span = window or (float(t[part].min()), float(t[part].max()))
            row = np.concatenate([
                curve_to_grid(t[p], m[p], None if e is None else e[p], n_bins,
                              time_range=span, channels=chosen) for p in per_band], axis=1)
        rows.append(row)
        kept.append(code)
    if short and on_short == "raise":
        first = uniques[short[0]]
        raise ValueError(
            f"{len(short)} light curve(s) have fewer than {min_points} points at distinct "
            f"times (e.g. {first} with {left_out[first]}); pass on_short='skip' to drop them."
        )
    if not kept:
        raise ValueError(
            f"No light curve in {source} is left to score: {len(short)} have fewer than "
            f"{min_points} points at distinct times{'' if band is None else ' in every band'}"
            f", {len(undefined)} have undefined features.")
    if short:
        first = uniques[short[0]]
        warnings.warn(
            f"skipped {len(short)} of {len(uniques)} light curves with fewer than {min_points} "
            f"points at distinct times{'' if band is None else ' in every band'} (e.g. "
            f"{first} with {left_out[first]}).", stacklevel=2)
    if undefined:
        first = uniques[undefined[0]]
        warnings.warn(
            f"skipped {len(undefined)} of {len(uniques)} light curves whose features are "
            f"undefined (a flat curve has no skewness; e.g. {first}: {left_out[first]}).",
            stacklevel=2)
    return LightCurves(np.stack(rows), np.asarray(uniques)[kept], columns, left_out)


def load_crts(
    folder: str | os.PathLike[str] | None = None,
    n_bins: int = 64,
    *,
    min_points: int | None = None,
    on_short: str = "skip",
    time_grid: str = "curve",
    channels: Sequence[str] = ("mag", "err"),
    dropna: bool = False,
    unlabelled: str = "unlabelled",
    representation: str = "grid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Catalina Real-time Transient Survey light curves on a fixed grid (see module docstring),
    or as the ``light-curve`` package's features (``representation="features"``), through
    :func:`curves_from_table`.

    Parameters
    ----------
    folder
        Holds ``CRTS_subset_500.csv`` (columns ID, Mag, Magerr, MJD; one row per observation)
        and optionally ``transient_labels.csv`` (Classification, TransientID, where
        TransientID is the ID without its ``TranID`` prefix). Default: :func:`crts_folder`.
    n_bins
        Grid length.
    min_points
        Curves with fewer points at distinct times carry too little shape to learn from.
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
        ``"grid"`` (default, for ``cae1d``), ``"features"`` or ``"features+bazin"``
        (see :func:`curves_from_table`; ``n_bins``, ``time_grid``,
        ``channels`` unused; needs the light-curve package).

    Returns
    -------
    X : ndarray (n, n_bins, len(channels)) or (n, len(FEATURES)), float64
    labels : ndarray (n,) of class names (str)
    ids : ndarray (n,) of curve IDs (str)
    """
    import pandas as pd

    check_option(representation, REPRESENTATIONS, "representation")
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
    curves = curves_from_table(
        table, id="ID", time="MJD", mag="Mag", err="Magerr", representation=representation,
        min_points=min_points, on_short=on_short, n_bins=n_bins, channels=channels,
        time_grid=time_grid, dropna=dropna, source=str(path))
    ids = curves.ids.astype(str)
    labels = np.full(len(ids), unlabelled, dtype=object)
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
    return curves.X, labels.astype(str), ids
