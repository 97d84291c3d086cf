"""The ``drama`` command line: score tables, fit and save models, list data sets, run a demo.

The engine, the loaders and the plotting code are imported inside the commands, so
``drama --help`` and ``drama --version`` answer at once and a broken optional
dependency only affects the command that needs it. Errors the user can cause (bad
file, unknown column, unknown reducer, ...) print one red line and exit with code 2;
nothing the user can cause ends in a traceback.
"""

from __future__ import annotations

import warnings
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
from drama.exceptions import DeviceError, UserError

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import pandas as pd

    from drama import Drama, DramaSearch

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


def _table_columns(path: Path) -> list[str]:
    """Column names of a CSV, Parquet or FITS table, read without loading the data."""
    fmt = table_format(path, "input")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        if fmt == "fits":
            from astropy.io import fits

            with fits.open(path, memmap=True) as hdul:
                table = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
                return [] if table is None else [str(c) for c in table.columns.names]
        from drama.datasets.readers import csv_header

        return csv_header(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable {fmt.upper()} table: {exc}") from None


def _check_input(path: Path, id_column: str | None, label_column: str | None) -> list[str]:
    """Fail early, before any fitting, on a missing file or a column that is not there."""
    if not path.exists():
        raise UserError(f"Input file {str(path)!r} does not exist; check the path.")
    if path.is_dir():
        raise UserError(f"Input {str(path)!r} is a folder; pass a CSV, Parquet or FITS file.")
    columns = _table_columns(path)
    for option, name in (("--id-column", id_column), ("--label-column", label_column)):
        if name is not None and name not in columns:
            shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
            raise UserError(
                f"{option} {name!r} is not a column of {path.name}; available columns: {shown}."
            )
    if id_column is not None and id_column == label_column:
        raise UserError("--id-column and --label-column name the same column; give two columns.")
    return columns


def _read_input(
    path: Path, id_column: str | None, label_column: str | None
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None, str | None]:
    """Features, ids, labels and the id column's name, in the file's row order.

    Without ``--id-column`` the loader still takes a column called ``id`` (any case) as
    the ids and one called ``y``, ``label`` or ``is_anomaly`` as the true labels; the
    user is told, because those columns are then left out of the features.
    """
    from drama.datasets import load_table

    columns = _check_input(path, id_column, label_column)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        features, ids, y = load_table(path, id_column=id_column, label_column=label_column)
    for warning in caught:  # one readable line each, not Python's file:line form
        err_console().print(f"[yellow]Warning:[/yellow] {escape(str(warning.message))}")
    if len(features) == 0:
        raise UserError(f"{path.name} has no rows; there is nothing to score.")
    used = set(map(str, features.columns))
    unused = [c for c in columns if c not in used]
    id_name = id_column
    if ids is not None and id_name is None:
        id_name = next((c for c in unused if c.lower() == "id"), "id")
        err_console().print(f"Using column {escape(repr(id_name))} as the object ids.")
    if y is not None and label_column is None:
        found = [c for c in unused if c != id_name]
        if found:
            err_console().print(
                f"Using column {escape(repr(found[0]))} as the true labels "
                "(left out of the features)."
            )
    if id_name in ("score", "label", "rank"):
        raise UserError(
            f"The id column is called {id_name!r}, which clashes with an output column; "
            "rename it in the input file."
        )
    ids_arr = None if ids is None else np.asarray(ids)
    y_arr = None if y is None else np.asarray(y)
    return features, ids_arr, y_arr, id_name


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
    typer.Argument(help="Table to read: .csv, .parquet/.pq or a FITS table.", show_default=False),
]
IdOpt = Annotated[
    str | None,
    typer.Option("--id-column", help="Column that identifies objects; copied to the output."),
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
            help="Where to write the scores (.csv, .parquet or .pq); OUTPUT.json beside it "
            "records which configurations made them.",
            show_default="INPUT-scores.csv next to INPUT",
        ),
    ] = None,
    id_column: IdOpt = None,
    label_column: LabelOpt = None,
    reducer: ReducerOpt = None,
    metric: MetricOpt = None,
    levels: LevelsOpt = None,
    space: SpaceOpt = None,
    latent_dim: LatentOpt = None,
    scaling: ScalingOpt = None,
    contamination: ContamOpt = None,
    seed: SeedOpt = None,
    labels: LabelsOpt = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Apply a model saved by `drama fit` instead of fitting one on INPUT.",
        ),
    ] = None,
    device: DeviceOpt = None,
    force: ForceOpt = False,
) -> None:
    """Score every row of INPUT and write id, score, label (0/1) and rank, in the input order.

    Without options DRAMA searches its configurations label-free and averages those that
    agree; --reducer, --metric, --levels and --space narrow the search."""
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
        features, ids, y, id_name = _read_input(input, id_column, label_column)
        if model is not None:
            det = _load_model(model, device)
            if det.threshold_ is None:
                raise UserError(
                    f"{model.name} was saved without a contamination, so it has no threshold "
                    "for the 0/1 labels; refit it with `drama fit --contamination 0.05`."
                )
            with err_console().status("Scoring with the saved model ..."):
                scores = np.asarray(det.decision_function(features), dtype=np.float64)
            flags = (scores > float(det.threshold_)).astype(np.int64)
        else:
            known = None if labels is None else read_labels(labels, ids, id_name,
                                                             len(features))
            det = _fit_from_options(features, known, given, device)
            scores = np.asarray(det.decision_scores_, dtype=np.float64)
            flags = np.asarray(det.labels_, dtype=np.int64)

        import pandas as pd

        if ids is None:
            id_name, ids = "row", np.arange(len(scores))
        elif id_name is None:
            raise RuntimeError("the input's ids came without the name of their column")
        frame = pd.DataFrame(
            {id_name: ids, "score": scores, "label": flags, "rank": _ranks(scores)}
        )
        write_table(frame, output)
        about = describe(det)
        write_sidecar(output, about, det, input=str(input),
                      model=None if model is None else str(model),
                      labels=None if labels is None else str(labels),
                      n_objects=len(scores), n_flagged=int(flags.sum()))

        out = out_console()
        print_selection(about, out)
        _print_top(ids, scores, out, y=y, id_name=id_name)
        out.print(
            f"Scored {len(scores)} objects; {int(flags.sum())} flagged as anomalies. "
            f"Wrote [bold]{escape(str(output))}[/bold] (and its record "
            f"{escape(sidecar_path(output).name)})."
        )
        if y is not None:
            try:
                _print_metrics(y, scores, out)
            except (ValueError, TypeError) as exc:  # scores are written; don't fail for this
                err_console().print(f"[yellow]Warning:[/yellow] no evaluation: {escape(str(exc))}")


def _fit_from_options(features: Any, known: np.ndarray | None, given: dict[str, Any],
                      device: str | None) -> Drama | DramaSearch:
    """Build the detector the options ask for and fit it (with labels for a search)."""
    from drama import Drama

    tree_options = {k: given[k] for k in ("latent_dim", "scaling") if given[k] is not None}
    det = build_detector(given["reducer"], given["metric"], given["levels"], tree_options,
                         {"contamination": given["contamination"],
                          "random_state": given["seed"]}, device, given["space"])
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
    reducer: ReducerOpt = None,
    metric: MetricOpt = None,
    levels: LevelsOpt = None,
    space: SpaceOpt = None,
    latent_dim: LatentOpt = None,
    scaling: ScalingOpt = None,
    contamination: ContamOpt = None,
    seed: SeedOpt = None,
    labels: LabelsOpt = None,
    device: DeviceOpt = None,
    force: ForceOpt = False,
) -> None:
    """Fit DRAMA on INPUT and save the model, to apply later with `drama score --model`.

    Without options it is the label-free search over DRAMA's configurations; --reducer,
    --metric, --levels and --space narrow it, --labels makes it choose with known objects."""
    from drama.persistence import detector_format

    with user_errors():
        check_target(model, input, "--model", ".npz")
        check_replaceable(model, "--model", "model",
                          lambda path: detector_format(path) is not None, force)
        features, ids, y, id_name = _read_input(input, id_column, label_column)
        known = None if labels is None else read_labels(labels, ids, id_name, len(features))
        det = _fit_from_options(
            features, known,
            {"reducer": reducer, "metric": metric, "levels": levels, "space": space,
             "latent_dim": latent_dim,
             "scaling": scaling, "contamination": contamination, "seed": seed}, device)
        det.save(model)  # through a temporary file: never half a model
        out = out_console()
        print_selection(describe(det), out)
        n_flagged = int(np.asarray(det.labels_).sum())
        threshold = det.threshold_
        if threshold is None:
            raise RuntimeError("the command line fitted a detector without a contamination")
        out.print(
            f"Fitted on {len(features)} objects x {features.shape[1]} features; "
            f"threshold {threshold:.4g} flags {n_flagged}. "
            f"Saved [bold]{escape(str(model))}[/bold]."
        )
        if y is not None:
            try:
                _print_metrics(y, np.asarray(det.decision_scores_, dtype=np.float64), out)
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
