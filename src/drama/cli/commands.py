"""The ``drama`` command line: score tables, fit and save models, list data sets, run a demo.

The engine, the loaders and the plotting code are imported inside the commands, so
``drama --help`` and ``drama --version`` answer at once and a broken optional
dependency only affects the command that needs it. Errors the user can cause (bad
file, unknown column, unknown reducer, ...) print one red line and exit with code 2;
nothing the user can cause ends in a traceback.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drama.cli.common import (
    check_replaceable,
    check_table_output,
    check_target,
    err_console,
    out_console,
    parse_hdu,
    table_format,
    user_errors,
    write_table,
)
from drama.cli.detector import (
    build_detector,
    describe,
    device_refused,
    fit_detector,
    is_run_record,
    print_selection,
    read_labels,
    sidecar_path,
    write_sidecar,
)
from drama.cli.lightcurves import (
    BandOpt,
    ErrOpt,
    LightCurvesOpt,
    MagOpt,
    MinPointsOpt,
    RepresentationOpt,
    TimeOpt,
    curve_options,
    read_light_curves,
    warn_if_long_format,
)
from drama.datasets.columns import match_model_features
from drama.exceptions import DeviceError, UserError
from drama.missing import check_missing, missing_per_row

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import pandas as pd

    from drama import Drama, DramaSearch
    from drama.datasets.columns import ColumnRoles
    from drama.datasets.readers import Catalogue

__all__ = ["app", "main"]

app = typer.Typer(
    name="drama",
    help="DRAMA - find anomalies in tables of objects by dimensionality reduction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

def _version() -> str:
    """The installed distribution's version, or the package's own when run from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("drama-anomaly")
    except PackageNotFoundError:
        import drama

        return str(getattr(drama, "__version__", "0+unknown"))


def _version_callback(value: bool) -> None:
    if value:
        out_console().print(f"drama {_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """DRAMA: the Dimensionality Reduction Anomaly Meta-Algorithm.

    Higher scores mean more anomalous; rank 1 is the most anomalous object.
    """


# ----------------------------------------------------------------------------- helpers


def _table_columns(path: Path, hdu: int | str | None = None) -> list[str]:
    """Column names of the input table (vector columns expanded), read from the header
    where the format has one."""
    from drama.datasets.readers import FORMAT_LABELS, table_columns

    fmt = table_format(path, "input")
    try:
        return table_columns(path, hdu)
    except OSError as exc:
        raise UserError(f"{path} is not a readable {FORMAT_LABELS[fmt]} table: {exc}") from None


def _check_input(path: Path, id_column: str | None, label_column: str | None,
                 hdu: int | str | None = None) -> list[str]:
    """Fail early, before any fitting, on a missing file or a column that is not there."""
    if not path.exists():
        raise UserError(f"Input file {str(path)!r} does not exist; check the path.")
    if path.is_dir():
        raise UserError(f"Input {str(path)!r} is a folder; pass a table file (CSV, Parquet, "
                        "FITS, VOTable, ECSV or HDF5).")
    columns = _table_columns(path, hdu)
    for option, name in (("--id-column", id_column), ("--label-column", label_column)):
        if name is not None and name not in columns:
            shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
            raise UserError(
                f"{option} {name!r} is not a column of {path.name}; available columns: {shown}."
            )
    if id_column is not None and id_column == label_column:
        raise UserError("--id-column and --label-column name the same column; give two columns.")
    return columns


# Columns that `drama score` writes; an input column of the same name is renamed.
OUTPUT_COLUMNS = ("score", "label", "rank", "n_imputed")


def _patterns(values: list[str] | None) -> list[str] | None:
    """Names and patterns from repeated options, each of which may list several with commas."""
    if not values:
        return None
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def print_roles(roles: ColumnRoles, source: str) -> None:
    """Each column's role, on stderr, before anything is fitted."""
    err = err_console()
    err.print(f"Column roles in {escape(source)}:")
    for line in roles.lines():
        err.print(escape(line), highlight=False)
    if roles.text:
        err.print(f"Text column(s) {escape(', '.join(roles.text))} are carried through, not "
                  "used as features.")


def read_input(
    path: Path, id_column: str | None, label_column: str | None,
    features: list[str] | None = None, exclude: list[str] | None = None,
    hdu: int | str | None = None,
) -> tuple[Catalogue, str, list[str]]:
    """The input split by column roles (printed on stderr), the id column's name
    ("row": row numbers) and the table's columns. The features are indexed by the object
    ids, so that a refusal of missing values names the object."""
    from drama.datasets import load_catalogue

    columns = _check_input(path, id_column, label_column, hdu)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalogue = load_catalogue(path, id_column, label_column, hdu=hdu,
                                   features=_patterns(features), exclude=_patterns(exclude))
    for warning in caught:  # one readable line each, not Python's file:line form
        err_console().print(f"[yellow]Warning:[/yellow] {escape(str(warning.message))}")
    roles = catalogue.roles
    print_roles(roles, path.name)
    id_name = roles.id or "row"
    if id_name in OUTPUT_COLUMNS:
        raise UserError(
            f"The id column is called {id_name!r}, which clashes with an output column; "
            "rename it in the input file."
        )
    if catalogue.ids is not None:
        catalogue.features.index = _id_index(catalogue.ids)
    return catalogue, id_name, columns


def read_objects(
    path: Path, id_column: str | None, label_column: str | None,
    features: list[str] | None, exclude: list[str] | None, hdu: int | str | None,
    curves: Any,
) -> tuple[Any, np.ndarray | None, np.ndarray | None, str, pd.DataFrame, ColumnRoles | None]:
    """What `drama score` and `fit` score: features (a table, or light-curve grids), ids,
    labels, the id column's name, the carried-through columns and the column roles (None
    for light curves, which are one row per object, not per input row)."""
    import pandas as pd

    if curves is not None:
        if features or exclude:
            raise UserError("--features and --exclude choose catalogue columns; with "
                            "--light-curves the features are computed from the curves.")
        X, ids, y, id_name = read_light_curves(path, label_column, curves)
        return X, ids, y, id_name, pd.DataFrame(index=range(len(X))), None
    catalogue, id_name, columns = read_input(path, id_column, label_column, features, exclude,
                                             hdu)
    warn_if_long_format(columns, catalogue.ids, id_name)
    return (catalogue.features, catalogue.ids, catalogue.y, id_name, catalogue.carried,
            catalogue.roles)


def _id_index(ids: np.ndarray) -> Any:
    """The object ids as a pandas index (kept exact: object dtype for text and big ids)."""
    import pandas as pd

    return pd.Index(ids, dtype=object if ids.dtype.kind in "OU" else None)


def _output_frame(id_name: str, ids: np.ndarray, scores: np.ndarray, flags: np.ndarray,
                  n_imputed: np.ndarray | None, carried: pd.DataFrame) -> pd.DataFrame:
    """id, score, label, rank (empty for an object left unscored), n_imputed with
    --missing impute, then the carried-through columns as read."""
    import pandas as pd

    scored = ~np.isnan(scores)
    ranks = np.zeros(len(scores), dtype=np.int64)
    ranks[scored] = _ranks(scores[scored])
    columns: dict[str, Any] = {
        id_name: ids, "score": scores,
        "label": pd.array(np.where(scored, flags, 0), dtype="Int64"),
        "rank": pd.array(ranks, dtype="Int64"),
    }
    columns["label"][~scored] = pd.NA
    columns["rank"][~scored] = pd.NA
    if n_imputed is not None:
        columns["n_imputed"] = n_imputed
    for name in carried.columns:
        taken = name in columns
        columns[f"input_{name}" if taken else name] = carried[name].to_numpy()
    return pd.DataFrame(columns)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score; ties keep the input order (as in drama.metrics)."""
    from drama.metrics import ranking

    order = ranking(scores)
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


# The options that choose or shape the detector, for messages.
OPTION_NAMES = {"reducer": "--reducer", "metric": "--metric", "levels": "--levels",
                "space": "--space",
                "latent_dim": "--latent-dim", "scaling": "--scaling",
                "contamination": "--contamination", "seed": "--seed", "labels": "--labels"}


def _load_model(path: Path, device: str | None = None) -> Drama | DramaSearch:
    from drama import load_detector
    from drama.reducers.neural import NEURAL_NAMES, check_device

    if not path.exists():
        raise UserError(f"Model file {str(path)!r} does not exist; create it with `drama fit`.")
    if device is not None:
        try:
            check_device(device)
        except DeviceError as exc:
            raise UserError(f"--device {device}: {exc}") from None
    try:
        det = load_detector(path, device=device)
    except DeviceError:
        raise UserError(f"{path} holds a model trained on a device this machine lacks (a "
                        "GPU); add --device cpu to run it on the CPU.") from None
    reducers = list(det.reducers) if hasattr(det, "reducers") else [det.reducer]
    if device is not None and not any(r in NEURAL_NAMES for r in reducers):
        raise UserError(device_refused(reducers[0]))
    return det


def _print_metrics(y: np.ndarray, scores: np.ndarray, console: Console) -> dict[str, float]:
    """AUC / MCC / RWS table when true labels are known."""
    from drama.metrics import evaluate

    values = evaluate(y, scores)
    table = Table(title="Evaluation against the true labels")
    for name in ("AUC", "MCC", "RWS", "AP"):
        table.add_column(name, justify="right")
    table.add_row(*(f"{values[k]:.3f}" for k in ("auc", "mcc", "rws", "ap")))
    console.print(table)
    return values


def _print_top(
    ids: np.ndarray,
    scores: np.ndarray,
    console: Console,
    *,
    y: np.ndarray | None = None,
    id_name: str = "row",
    n: int = 10,
) -> None:
    """The n most anomalous objects as a rich table."""
    from drama.metrics import ranking

    order = ranking(scores)[:n]
    table = Table(title=f"Top {len(order)} anomalies")
    table.add_column("rank", justify="right")
    table.add_column(escape(id_name))
    table.add_column("score", justify="right")
    if y is not None:
        table.add_column("true label", justify="right")
    for r, i in enumerate(order, start=1):
        row = [str(r), "(empty)" if ids[i] is None else escape(str(ids[i])), f"{scores[i]:.4g}"]
        if y is not None:
            row.append(str(int(y[i])))
        table.add_row(*row)
    console.print(table)


# ----------------------------------------------------------------------------- options

InputArg = Annotated[
    Path,
    typer.Argument(help="Table to read: .csv (.csv.gz), .parquet/.pq, FITS (.fits, .fits.gz), "
                   "VOTable (.vot, .xml, also .gz), .ecsv (.ecsv.gz) or HDF5 (.h5).",
                   show_default=False),
]
HduOpt = Annotated[
    str | None,
    typer.Option("--hdu", help="FITS/VOTable: the table to read, by number (0 = primary) or "
                 "name; HDF5: the table's path in the file.", show_default="the first table"),
]
IdOpt = Annotated[
    str | None,
    typer.Option("--id-column", help="Column that identifies objects; copied to the output. "
                 "Default: the first column named id, objid, object_id, source_id, *_id, "
                 "name or designation (any case) that holds text or integers.",
                 show_default=False),
]
FeaturesOpt = Annotated[
    list[str] | None,
    typer.Option("--features", help="Feature columns: names or shell patterns such as "
                 "'mag_*' (repeat the option or separate with commas). Default: every "
                 "numeric column except the id, the label, other id-like columns and sky "
                 "and bookkeeping columns (ra, dec, ra_*, dec_*, glon, glat, l, b, mjd, "
                 "epoch). Columns that are not features are carried through to the output.",
                 show_default=False),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Columns to leave out of the features: names or shell "
                 "patterns (repeat the option or separate with commas); they are carried "
                 "through to the output.", show_default=False),
]
MissingOpt = Annotated[
    str,
    typer.Option("--missing", help="What to do with NaN, empty and infinite feature values: "
                 "error (stop, naming the column, the object and the number of rows), impute "
                 "(fill with the training medians; the output gets an n_imputed column) or "
                 "drop (leave those objects out: empty score in the output)."),
]
LabelOpt = Annotated[
    str | None,
    typer.Option(
        "--label-column",
        help="Column of true labels (1 = anomaly); left out of the features and used to "
        "report AUC / MCC / RWS.",
    ),
]
ReducerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--reducer",
        help="Dimensionality reducer: none (no reduction: prototypes in input space), pca, "
        "ica, nmf (ae, vae, ... with extras). Repeat to search among several. With one "
        "--reducer, one --metric and one --levels: that single configuration.",
        show_default="none, pca, ica, nmf (searched)",
    ),
]
MetricOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        help="Distance to the prototypes: l1, l2, l4, wl2, wl4, braycurtis, chebyshev, "
        "canberra, correlation, mahalanobis. Repeat to search among several.",
        show_default="all (searched)",
    ),
]
LevelsOpt = Annotated[
    list[int] | None,
    typer.Option("--levels", min=1, help="Tree level whose prototypes score (the tree is as "
                 "deep as the deepest). Repeat to search among several.",
                 show_default="1, 2, 3, 4 (searched)"),
]
SpaceOpt = Annotated[
    list[str] | None,
    typer.Option("--space", help="Where distances are measured: input (object to prototype), "
                 "latent (codes to the leaf's latent mean) or residual (object to its own "
                 "reconstruction by its leaf's reducer; not with --reducer none). Repeat to "
                 "search among several.", show_default="input"),
]
LabelsOpt = Annotated[
    Path | None,
    typer.Option("--labels", help="CSV of known objects: id (the --id-column's values, or "
                 "'row' numbers) and label (1 = anomaly, 0 = normal). The search then picks "
                 "the configurations that separate them best.", show_default=False),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace an existing output or model file even when it is "
                 "not one that DRAMA wrote."),
]
LatentOpt = Annotated[
    int | None,
    typer.Option("--latent-dim", min=1, help="Size of the latent space.", show_default="2"),
]
ScalingOpt = Annotated[
    str | None,
    typer.Option(
        "--scaling",
        help="Feature scaling: minmax, standard, robust, global or none.",
        show_default="minmax",
    ),
]
ContamOpt = Annotated[
    float | None,
    typer.Option(
        "--contamination",
        help="Expected fraction of anomalies, in (0, 0.5); sets the 0/1 label threshold.",
        show_default="0.05",
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed", min=0, help="Random seed; the same seed gives the same scores.",
        show_default="0",
    ),
]


DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="Where a neural reducer trains and scores: cpu (its default), cuda, cuda:N or "
        "auto (a GPU when there is one). With --model: where the saved neural model runs, "
        "e.g. cpu for one trained on a GPU. Refused for the other reducers.",
        show_default=False,
    ),
]


# ----------------------------------------------------------------------------- commands


@app.command()
def score(
    input: InputArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the scores (.csv, .parquet/.pq, .fits, .vot/.votable); "
            "OUTPUT.json beside it records which configurations made them.",
            show_default="INPUT-scores.csv next to INPUT",
        ),
    ] = None,
    id_column: IdOpt = None,
    label_column: LabelOpt = None,
    hdu: HduOpt = None,
    reducer: ReducerOpt = None,
    metric: MetricOpt = None,
    levels: LevelsOpt = None,
    space: SpaceOpt = None,
    latent_dim: LatentOpt = None,
    scaling: ScalingOpt = None,
    contamination: ContamOpt = None,
    seed: SeedOpt = None,
    labels: LabelsOpt = None,
    features: FeaturesOpt = None,
    exclude: ExcludeOpt = None,
    missing: MissingOpt = "error",
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Apply a model saved by `drama fit` instead of fitting one on INPUT.",
        ),
    ] = None,
    device: DeviceOpt = None,
    force: ForceOpt = False,
    memory: Annotated[
        str | None,
        typer.Option(
            "--memory",
            help="With --model: score a Parquet, CSV, FITS or HDF5 table larger than memory "
            "in batches that stay within this size (e.g. 2GB), writing as it goes; the "
            "output (.parquet or .csv) then has no rank column.",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Score (and, without --model, fit on a sample) on the Dask cluster whose "
            "scheduler is at this address (tcp://HOST:PORT); its workers must see INPUT "
            "at the same path. Writes like --memory (docs/scale.md).",
            show_default=False,
        ),
    ] = None,
    local_cluster: Annotated[
        int | None,
        typer.Option(
            "--local-cluster", min=1,
            help="Start a Dask LocalCluster of N worker processes on 127.0.0.1 for this run, "
            "as --scheduler would use a cluster.", show_default=False,
        ),
    ] = None,
    light_curves: LightCurvesOpt = False,
    time: TimeOpt = None,
    mag: MagOpt = None,
    err: ErrOpt = None,
    band: BandOpt = None,
    representation: RepresentationOpt = None,
    min_points: MinPointsOpt = None,
) -> None:
    """Score every row of INPUT and write id, score, label (0/1) and rank, in the input order,
    then the columns carried through (sky positions, text, ...).

    Each column's role (id, features, carried through, label) is printed before anything
    is fitted. Without options DRAMA searches its configurations label-free and averages
    those that agree; --reducer, --metric, --levels and --space narrow the search. With
    --model, the features are matched to the model's by name, in any order."""
    with user_errors():
        given = {"reducer": reducer, "metric": metric, "levels": levels, "space": space,
                 "latent_dim": latent_dim, "scaling": scaling,
                 "contamination": contamination, "seed": seed, "labels": labels}
        if model is not None:
            clash = [OPTION_NAMES[k] for k, v in given.items() if v is not None]
            if clash:
                raise UserError(
                    f"--model uses the settings saved with the model; leave out "
                    f"{', '.join(clash)} (or fit a new model without --model)."
                )
        if output is None:
            output = input.with_name(f"{input.stem}-scores.csv")
        check_table_output(output, input, force=force)
        check_replaceable(sidecar_path(output), "--output's record", "run record",
                          is_run_record, force)
        check_missing(missing)
        curves = curve_options(light_curves, time, mag, err, band, representation, min_points,
                               id_column)
        if memory is not None or scheduler is not None or local_cluster is not None:
            # before anything is read: the table may not fit in memory
            _stream(input, output, model, device, memory, missing, hdu, labels, light_curves,
                    id_column, label_column, features, exclude, given, scheduler,
                    local_cluster)
            return
        X, ids, y, id_name, carried, roles = read_objects(
            input, id_column, label_column, features, exclude, parse_hdu(hdu), curves)
        if model is not None:
            det, threshold = _scoring_model(model, device)
            fitted = getattr(det, "feature_names_in_", None)
            if fitted is not None and roles is not None:
                X = match_model_features(X, roles, fitted, input.name)
            det.set_params(missing=missing)
            with err_console().status("Scoring with the saved model ..."):
                scores = np.asarray(det.decision_function(X), dtype=np.float64)
            flags = (scores > threshold).astype(np.int64)
        else:
            known = None if labels is None else read_labels(labels, ids, id_name, len(X))
            det = _fit_from_options(X, known, {**given, "missing": missing}, device)
            scores = np.full(len(X), np.nan)
            scores[det.kept_rows_] = det.decision_scores_
            flags = np.zeros(len(X), dtype=np.int64)
            flags[det.kept_rows_] = np.asarray(det.labels_, dtype=np.int64)

        if ids is None:
            ids = np.arange(len(scores))
        n_imputed = missing_per_row(np.asarray(X)) if missing == "impute" else None
        write_table(_output_frame(id_name, ids, scores, flags, n_imputed, carried),
                    output)
        scored = ~np.isnan(scores)
        n_flagged = int(flags[scored].sum())
        about = describe(det)
        write_sidecar(output, about, det, input=str(input),
                      model=None if model is None else str(model),
                      labels=None if labels is None else str(labels),
                      light_curves=None if curves is None else asdict(curves),
                      n_objects=len(scores), n_flagged=n_flagged,
                      n_dropped=int((~scored).sum()))

        out = out_console()
        print_selection(about, out)
        _print_top(ids[scored], scores[scored], out, y=None if y is None else y[scored],
                   id_name=id_name)
        out.print(
            f"Scored {int(scored.sum())} objects; {n_flagged} flagged as anomalies."
            + _missing_note(missing, scored, n_imputed)
            + f" Wrote [bold]{escape(str(output))}[/bold] (and its record "
            f"{escape(sidecar_path(output).name)})."
        )
        if y is not None:
            try:
                _print_metrics(y[scored], scores[scored], out)
            except (ValueError, TypeError) as exc:  # scores are written; don't fail for this
                err_console().print(f"[yellow]Warning:[/yellow] no evaluation: {escape(str(exc))}")


def _scoring_model(model: Path, device: str | None) -> tuple[Drama | DramaSearch, float]:
    """A saved model that can label objects, and its threshold."""
    det = _load_model(model, device)
    if det.threshold_ is None:
        raise UserError(
            f"{model.name} was saved without a contamination, so it has no threshold "
            "for the 0/1 labels; refit it with `drama fit --contamination 0.05`."
        )
    return det, float(det.threshold_)


def _stream(input: Path, output: Path, model: Path | None, device: str | None,
            memory: str | None, missing: str, hdu: str | None, labels: Path | None,
            light_curves: bool, id_column: str | None, label_column: str | None,
            features: list[str] | None, exclude: list[str] | None, given: dict[str, Any],
            scheduler: str | None, local_cluster: int | None) -> None:
    """`drama score --memory / --scheduler / --local-cluster`: a table in batches, in this
    process or on a Dask cluster (drama.cli.stream)."""
    from drama.cli.stream import Cluster, stream_scores

    cluster = Cluster(scheduler, local_cluster)
    if scheduler is not None and local_cluster is not None:
        raise UserError("Give --scheduler (an existing cluster) or --local-cluster, not both.")
    if model is None and not cluster.used:
        raise UserError("--memory scores with a saved model: fit one with `drama fit` (on a "
                        "sample of the table if it is large), then add --model.")
    if light_curves or labels is not None or hdu is not None:
        raise UserError("--memory, --scheduler and --local-cluster stream a table (Parquet, "
                        "CSV; with --memory the first table of a FITS or HDF5 file too); "
                        "leave out --light-curves, --labels and --hdu.")
    if model is not None:
        det, _ = _scoring_model(model, device)
        det.set_params(missing=missing)
    else:  # fitted on a sample the cluster draws
        det = _build_from_options({**given, "missing": missing}, device)
    n, streamed = stream_scores(det, input, output, memory, id_column, label_column,
                                _patterns(features), _patterns(exclude), cluster,
                                fit=model is None)
    write_sidecar(output, describe(det), det, input=str(input),
                  model=None if model is None else str(model),
                  labels=None, n_objects=n, **streamed)


def _missing_note(missing: str, scored: np.ndarray, n_imputed: np.ndarray | None) -> str:
    """What --missing did, for the summary line (nothing when nothing was missing)."""
    dropped = int((~scored).sum())
    if dropped:
        return (f" {dropped} object(s) with missing values were left out (--missing drop): "
                "their score is empty.")
    if n_imputed is not None and n_imputed.any():
        return (f" {int(n_imputed.sum())} missing value(s) in {int((n_imputed > 0).sum())} "
                "object(s) were filled with the training medians (column n_imputed).")
    return ""


def _build_from_options(given: dict[str, Any], device: str | None) -> Drama | DramaSearch:
    """The detector the options ask for, not yet fitted."""
    tree_options = {k: given[k] for k in ("latent_dim", "scaling") if given[k] is not None}
    return build_detector(given["reducer"], given["metric"], given["levels"], tree_options,
                          {"contamination": given["contamination"],
                           "random_state": given["seed"], "missing": given["missing"]},
                          device, given["space"])


def _fit_from_options(features: Any, known: np.ndarray | None, given: dict[str, Any],
                      device: str | None) -> Drama | DramaSearch:
    """Build the detector the options ask for and fit it (with labels for a search)."""
    from drama import Drama

    det = _build_from_options(given, device)
    if known is not None and isinstance(det, Drama):
        raise UserError("--labels chooses among configurations, and one --reducer, --metric "
                        "and --levels name a single one; repeat one of them or leave it out.")
    return fit_detector(det, features, known)


@app.command()
def fit(
    input: InputArg,
    model: Annotated[
        Path,
        typer.Option("--model", help="Where to save the fitted model (.npz).", show_default=False),
    ],
    id_column: IdOpt = None,
    label_column: LabelOpt = None,
    hdu: HduOpt = None,
    reducer: ReducerOpt = None,
    metric: MetricOpt = None,
    levels: LevelsOpt = None,
    space: SpaceOpt = None,
    latent_dim: LatentOpt = None,
    scaling: ScalingOpt = None,
    contamination: ContamOpt = None,
    seed: SeedOpt = None,
    labels: LabelsOpt = None,
    features: FeaturesOpt = None,
    exclude: ExcludeOpt = None,
    missing: MissingOpt = "error",
    device: DeviceOpt = None,
    force: ForceOpt = False,
    light_curves: LightCurvesOpt = False,
    time: TimeOpt = None,
    mag: MagOpt = None,
    err: ErrOpt = None,
    band: BandOpt = None,
    representation: RepresentationOpt = None,
    min_points: MinPointsOpt = None,
) -> None:
    """Fit DRAMA on INPUT and save the model, to apply later with `drama score --model`.

    Without options it is the label-free search over DRAMA's configurations; --reducer,
    --metric, --levels and --space narrow it, --labels makes it choose with known objects.
    The model keeps the feature names and their training medians (for --missing impute)."""
    from drama.persistence import detector_format

    with user_errors():
        check_target(model, input, "--model", ".npz")
        check_replaceable(model, "--model", "model",
                          lambda path: detector_format(path) is not None, force)
        check_missing(missing)
        X, ids, y, id_name, _, _ = read_objects(
            input, id_column, label_column, features, exclude, parse_hdu(hdu),
            curve_options(light_curves, time, mag, err, band, representation, min_points,
                          id_column))
        known = None if labels is None else read_labels(labels, ids, id_name, len(X))
        det = _fit_from_options(
            X, known,
            {"reducer": reducer, "metric": metric, "levels": levels, "space": space,
             "latent_dim": latent_dim, "scaling": scaling, "contamination": contamination,
             "seed": seed, "missing": missing}, device)
        det.save(model)  # through a temporary file: never half a model
        out = out_console()
        print_selection(describe(det), out)
        n_flagged = int(np.asarray(det.labels_).sum())
        threshold = det.threshold_
        if threshold is None:
            raise RuntimeError("the command line fitted a detector without a contamination")
        kept = det.kept_rows_
        left_out = f" ({int((~kept).sum())} with missing values left out)" if not kept.all() \
            else ""
        out.print(
            f"Fitted on {int(kept.sum())} objects{left_out} x {X.shape[1]} features; "
            f"threshold {threshold:.4g} flags {n_flagged}. "
            f"Saved [bold]{escape(str(model))}[/bold]."
        )
        if y is not None:
            try:
                _print_metrics(y[kept], np.asarray(det.decision_scores_, dtype=np.float64), out)
            except (ValueError, TypeError) as exc:
                err_console().print(f"[yellow]Warning:[/yellow] no evaluation: {escape(str(exc))}")


@app.command()
def datasets(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder to search for data files as well."),
    ] = None,
) -> None:
    """List the data sets DRAMA can load: built-ins and files found in the data folder."""
    with user_errors():
        from drama.datasets import available

        if data_dir is not None and not data_dir.is_dir():
            raise UserError(f"--data-dir {str(data_dir)!r} is not a folder; check the path.")
        infos = list(available(data_dir))
        table = Table(title="Available data sets")
        for col in ("name", "format", "source", "path"):
            table.add_column(col)
        for info in infos:
            cells = (getattr(info, c, "") for c in ("name", "format", "source", "path"))
            table.add_row(*(escape(str(cell or "")) for cell in cells))
        out = out_console()
        out.print(table)
        out.print(f"{len(infos)} data set(s). Load one with drama.datasets.load(name).")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--output", "-o", "--out",
                           help="Folder for the report (created if missing).")
    ] = Path("drama-report"),
) -> None:
    """Run DRAMA on the embedded breast-cancer task and write a small report with plots."""
    with user_errors():
        from drama.datasets import load_breast_cancer_task
        from drama.run_report import write_report

        X, y = load_breast_cancer_task()
        # one configuration (Drama's default), as the report draws one tree's latent map
        det = fit_detector(build_detector(["none"], ["l2"], [2], {}, {}, None), X, None)
        scores = np.asarray(det.decision_scores_, dtype=np.float64)
        console = out_console()
        _print_top(np.arange(len(scores)), scores, console, y=y, id_name="index")
        _print_metrics(y, scores, console)
        with err_console().status("Writing the report ..."):
            report = write_report(det, X, y, out)
        console.print(f"Report written to [bold]{escape(str(report))}[/bold].")


def _register_workflows() -> None:
    """The workflow commands live in their own modules; they add themselves to ``app``."""
    from drama.cli import active, benchmark
    from drama.workbench import serve

    active.register(app)
    benchmark.register(app)
    serve.register(app)


_register_workflows()

if __name__ == "__main__":  # pragma: no cover
    app()
