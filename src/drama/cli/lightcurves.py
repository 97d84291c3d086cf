"""Light curves on the command line: ``--light-curves`` makes a long-format table (one row
per observation) into one row per object before ``drama score`` / ``drama fit``, and a
long-format table given without it is pointed out (it would be scored per observation).

See ``docs/lightcurves.md`` for the representations and the too-few-points rule.
"""

from __future__ import annotations

import fnmatch
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.markup import escape

from drama.cli.common import err_console, table_format
from drama.exceptions import UserError

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import pandas as pd

__all__ = ["CurveOptions", "curve_options", "read_light_curves", "warn_if_long_format"]

LightCurvesOpt = Annotated[
    bool,
    typer.Option("--light-curves", help="INPUT has one row per observation (id, time, "
                 "magnitude, error): score one row per object, made from its observations "
                 "(needs --id-column, --time, --mag; see docs/lightcurves.md)."),
]
TimeOpt = Annotated[
    str | None, typer.Option("--time", help="With --light-curves: the time column (e.g. MJD).",
                             show_default=False)]
MagOpt = Annotated[
    str | None, typer.Option("--mag", help="With --light-curves: the magnitude column.",
                             show_default=False)]
ErrOpt = Annotated[
    str | None, typer.Option("--err", help="With --light-curves: the magnitude-error column "
                             "(needed by --representation features).", show_default=False)]
BandOpt = Annotated[
    str | None, typer.Option("--band", help="With --light-curves: the passband column; each "
                             "band gets its own features or grid channels.",
                             show_default=False)]
RepresentationOpt = Annotated[
    str | None, typer.Option("--representation", help="With --light-curves: features (the "
                             "light-curve package's per-curve features), features+bazin "
                             "(those and a Bazin fit, for supernova-like transients) or grid "
                             "(64 bins of magnitude and error, for --reducer cae1d).",
                             show_default="features")]
MinPointsOpt = Annotated[
    int | None, typer.Option("--min-points", min=2, help="With --light-curves: objects with "
                             "fewer observations at distinct times (in any band) are left "
                             "out, with a warning that names them.",
                             show_default="5; 6 with features+bazin")]

# Column names that hold the time of an observation, compared in lower case.
TIME_NAMES = ("mjd", "jd", "hjd", "bjd", "time", "t", "date", "epoch", "timestamp",
              "mjd_*", "*_mjd", "time_*", "*_time", "obs_date", "jd_*")


@dataclass(frozen=True)
class CurveOptions:
    """The ``--light-curves`` options of one command, checked."""

    id: str
    time: str
    mag: str
    err: str | None
    band: str | None
    representation: str
    min_points: int


def curve_options(light_curves: bool, time: str | None, mag: str | None, err: str | None,
                  band: str | None, representation: str | None, min_points: int | None,
                  id_column: str | None) -> CurveOptions | None:
    """The checked options, or None without ``--light-curves`` (then none may be given)."""
    from drama.datasets.lightcurves import FEATURE_SETS, REPRESENTATIONS, least_points

    given = {"--time": time, "--mag": mag, "--err": err, "--band": band,
             "--representation": representation, "--min-points": min_points}
    if not light_curves:
        stray = [name for name, value in given.items() if value is not None]
        if stray:
            raise UserError(f"{', '.join(stray)} describe(s) light curves; add --light-curves "
                            "to score one row per object from its observations.")
        return None
    if id_column is None or time is None or mag is None:
        lacking = [name for name, value in (("--id-column", id_column), ("--time", time),
                                            ("--mag", mag)) if value is None]
        raise UserError(f"--light-curves needs {', '.join(lacking)}: the columns that name "
                        "each object, the time and the magnitude of each observation.")
    chosen = representation or "features"
    if chosen not in REPRESENTATIONS:
        raise UserError(f"--representation {chosen!r}: choose {', '.join(REPRESENTATIONS)}.")
    if chosen in FEATURE_SETS and err is None:
        raise UserError(f"--representation {chosen} needs --err (the magnitude errors); "
                        "without errors use --representation grid.")
    if min_points is not None and chosen in FEATURE_SETS and min_points < least_points(chosen):
        raise UserError(f"--min-points {min_points}: --representation {chosen} needs at least "
                        f"{least_points(chosen)} points at distinct times.")
    return CurveOptions(id_column, time, mag, err, band, chosen,
                        least_points(chosen) if min_points is None else min_points)


def _object_labels(frame: pd.DataFrame, id_column: str, label_column: str,
                   ids: np.ndarray) -> np.ndarray:
    """One 0/1 label per object: every observation of an object must carry the same one."""
    from drama.datasets.readers import as_labels

    per_object = frame.groupby(id_column, sort=False)[label_column]
    varying = per_object.nunique(dropna=False)
    if (varying > 1).any():
        first = varying.index[varying > 1][0]
        raise UserError(f"--label-column {label_column!r} differs between the observations of "
                        f"object {first!r}; an object has one label.")
    labels = per_object.first().reindex(ids)
    return as_labels(labels.to_numpy(), len(ids), label_column)


def read_light_curves(path: Path, label_column: str | None, options: CurveOptions
                      ) -> tuple[pd.DataFrame | np.ndarray, np.ndarray, np.ndarray | None, str]:
    """Features (a table) or grids (an array), ids, labels and the id column's name, one
    row per object in the order of first appearance; what was left out is said on stderr."""
    from drama.datasets.lightcurves import curves_from_table
    from drama.datasets.readers import read_table_file

    id_column = options.id
    table_format(path, "input")
    if not path.is_file():
        raise UserError(f"Input file {str(path)!r} does not exist; check the path.")
    frame = read_table_file(path, id_column)
    if label_column is not None and label_column not in frame.columns:
        raise UserError(f"--label-column {label_column!r} is not a column of {path.name}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curves = curves_from_table(
            frame, id=id_column, time=options.time, mag=options.mag, err=options.err,
            band=options.band, representation=options.representation,
            min_points=options.min_points, source=path.name)
    console = err_console()
    for warning in caught:  # one readable line each, not Python's file:line form
        console.print(f"[yellow]Warning:[/yellow] {escape(str(warning.message))}")
    shape = "x".join(map(str, curves.X.shape[1:]))
    console.print(f"Light curves: {len(frame)} observations of "
                  f"{len(curves.ids) + len(curves.left_out)} objects; {len(curves.ids)} scored "
                  f"as {options.representation} ({shape} per object), "
                  f"{len(curves.left_out)} left out.")
    y = None if label_column is None else _object_labels(frame, id_column, label_column,
                                                         curves.ids)
    X = curves.table() if curves.X.ndim == 2 else curves.X
    return X, curves.ids, y, id_column


def _looks_like_time(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in TIME_NAMES)


def warn_if_long_format(columns: list[str], ids: np.ndarray | None, id_name: str | None
                        ) -> None:
    """Say so when ids repeat and a column looks like a time: one row per observation of
    a light curve, which without --light-curves is scored observation by observation."""
    if ids is None or len(ids) < 2:
        return
    repeated = len(ids) - len(set(map(str, ids)))
    times = [c for c in columns if _looks_like_time(c)]
    if not repeated or not times:
        return
    mags = [c for c in columns if "mag" in c.lower() and "err" not in c.lower()]
    errs = [c for c in columns if "err" in c.lower()]
    hint = (f"--light-curves --id-column {id_name} --time {times[0]} "
            f"--mag {mags[0] if mags else 'MAG'}{f' --err {errs[0]}' if errs else ''}")
    err_console().print(
        f"[yellow]Warning:[/yellow] {escape(str(repeated))} of {len(ids)} rows repeat an id "
        f"and column {escape(repr(times[0]))} looks like a time: this looks like a light-curve "
        "table with one row per observation, which is being scored observation by "
        f"observation. To score one row per object, add {escape(hint)}."
    )
