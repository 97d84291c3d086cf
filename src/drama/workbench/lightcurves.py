"""A light curve as observed, for the object pane: points with error bars on the real
time axis, one series per band, and the prototype on the same axis.

DRAMA scores a long-format table (one row per observation) through
:func:`drama.datasets.lightcurves.curves_from_table`, as a grid of magnitudes over each
object's own time span or as the ``light-curve`` package's features. Neither is what the
telescope saw, so a run on such a table keeps its observations (:class:`Observations`)
and the page draws those. The prototype is put on the object's axis: a grid prototype is
mapped back through the grid (its bins at their times, its brightening below the object's
median magnitude), a features prototype, which has no curve, is represented by the run's
object nearest to it, moved to start when the object starts and to its median magnitude.
Bins of the grid that lie in a gap of the object's observations (``GAP_BINS``) are left
empty, so no line crosses a gap in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from drama._validation import check_option

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession

__all__ = ["GAP_BINS", "Observations", "light_curve"]

# A grid bin farther than this many bin widths from every observation of the object lies
# in a gap: the prototype's line is broken there.
GAP_BINS = 2


@dataclass(frozen=True)
class Observations:
    """The observations behind a light-curve run, in the columns ``id``, ``time``, ``mag``,
    ``err`` (NaN when the table has none) and ``band`` ("" when it has none), and how
    :func:`curves_from_table` represented them (``representation``, ``n_bins``,
    ``time_grid``, ``channels``), so that a grid prototype can be read back."""

    frame: pd.DataFrame
    representation: str = "features"
    n_bins: int = 64
    time_grid: str = "curve"
    channels: tuple[str, ...] = ("mag", "err")

    @classmethod
    def from_table(cls, table: pd.DataFrame, *, id: str, time: str,  # noqa: A002
                   mag: str, err: str | None = None, band: str | None = None,
                   representation: str = "features", n_bins: int = 64,
                   time_grid: str = "curve",
                   channels: tuple[str, ...] = ("mag", "err")) -> Observations:
        """Keep the columns the run was made from, named by the options of
        ``curves_from_table`` (the same names, so the two cannot disagree)."""
        check_option(representation, ("features", "grid"), "representation")
        check_option(time_grid, ("curve", "survey"), "time_grid")
        frame = pd.DataFrame({
            "id": table[id].astype(str),
            "time": pd.to_numeric(table[time], errors="coerce"),
            "mag": pd.to_numeric(table[mag], errors="coerce"),
            "err": np.nan if err is None else pd.to_numeric(table[err], errors="coerce"),
            "band": "" if band is None else table[band].astype(str),
        })
        frame = frame[np.isfinite(frame[["time", "mag"]]).all(axis=1)]
        return cls(frame.sort_values(["id", "time"], kind="stable").reset_index(drop=True),
                   representation, n_bins, time_grid, tuple(channels))

    def of(self, oid: str) -> pd.DataFrame:
        return self.frame[self.frame["id"] == oid]

    def bands(self) -> list[str]:
        return sorted(self.frame["band"].unique())


def _points(rows: pd.DataFrame) -> dict[str, Any]:
    err = rows["err"].to_numpy(dtype=np.float64)
    return {"time": rows["time"].tolist(), "mag": rows["mag"].tolist(),
            "err": None if np.isnan(err).all() else np.nan_to_num(err).tolist()}


def _grid_prototype(obs: Observations, rows: pd.DataFrame, prototype: np.ndarray,
                    band_index: int, band_rows: pd.DataFrame) -> dict[str, Any]:
    """A grid prototype's magnitude channel at its bins' times on the object's axis, in
    magnitudes about the object's median in that band; bins in a gap of the object's
    observations are null (the line breaks there)."""
    if obs.time_grid == "survey":
        t0, t1 = float(obs.frame["time"].min()), float(obs.frame["time"].max())
    else:
        t0, t1 = float(rows["time"].min()), float(rows["time"].max())
    grid = prototype.reshape(obs.n_bins, -1)
    column = band_index * len(obs.channels) + obs.channels.index("mag")
    times = t0 + (np.arange(obs.n_bins) + 0.5) / obs.n_bins * (t1 - t0)
    mags = float(np.median(band_rows["mag"])) - grid[:, column]
    observed = np.sort(band_rows["time"].to_numpy())
    at = np.searchsorted(observed, times).clip(1, len(observed) - 1)
    nearest = np.minimum(np.abs(times - observed[at - 1]), np.abs(observed[at] - times))
    seen = nearest <= GAP_BINS * (t1 - t0) / obs.n_bins
    return {"time": times.tolist(), "mag": [float(m) if s else None
                                            for m, s in zip(mags, seen, strict=True)]}


def _representative(session: ActiveSession, i: int, prototype: np.ndarray) -> int:
    """The run's object (not ``i``) nearest to a features prototype, in the robust-scaled
    features the relevance model uses."""
    scale = session.space.spread
    flat = session.X.reshape(len(session.X), -1)
    distance = (((flat - prototype.reshape(-1)) / scale) ** 2).sum(axis=1)
    distance[i] = np.inf
    return int(np.argmin(distance))


def light_curve(session: ActiveSession, obs: Observations, i: int,
                prototype: np.ndarray | None) -> dict[str, Any]:
    """Object ``i``'s observations per band and its prototype (or the object representing
    it) on the same time axis, with a sentence that says which."""
    oid = session.ids[i]
    rows = obs.of(oid)
    if rows.empty:
        raise KeyError(f"The run keeps no observations of object {oid!r}.")
    bands = obs.bands()
    out: dict[str, Any] = {"bands": [], "prototype": [], "prototype_note": None}
    for b in bands:
        part = rows[rows["band"] == b]
        if len(part):
            out["bands"].append({"band": b, **_points(part)})
    if prototype is None:
        return out
    if obs.representation == "grid" and "mag" in obs.channels:
        for k, b in enumerate(bands):
            part = rows[rows["band"] == b]
            if len(part):
                out["prototype"].append({"band": b, **_grid_prototype(obs, rows, prototype,
                                                                      k, part)})
        out["prototype_note"] = ("the prototype's grid on this object's time span, about "
                                 "its median magnitude; broken where it was not observed")
        return out
    if obs.representation == "grid":  # a grid without its magnitude channel: no curve
        return out
    other = session.ids[_representative(session, i, prototype)]
    theirs = obs.of(other)
    shift = float(rows["time"].min()) - float(theirs["time"].min())
    for b in bands:
        mine, part = rows[rows["band"] == b], theirs[theirs["band"] == b]
        if len(mine) and len(part):
            offset = float(np.median(mine["mag"])) - float(np.median(part["mag"]))
            out["prototype"].append({"band": b, "time": (part["time"] + shift).tolist(),
                                     "mag": (part["mag"] + offset).tolist()})
    out["prototype_note"] = (f"object {other}, the nearest to the prototype in features, "
                             "moved to start with this object and to its median magnitude")
    out["representative"] = other
    return out
