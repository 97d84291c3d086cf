"""``drama active DATA --store FILE``: the active-learning loop in the terminal.

Each candidate is shown with why it was proposed (for tables: the features that deviate
most from the median, in robust z units; for curves and images: a plot saved to a file)
and the scientist answers i / b / s / u / q (interesting / boring / skip / undo the last
label / quit), optionally with a class tag ("i merger"). Every answer is committed to the
store at once, so the loop can be stopped at any point (q, Ctrl-C, a closed terminal) and
resumed later with the same command, also on a new version of the catalogue (the labels
follow the object ids). ``--export FILE`` writes the labels without labelling.

The lead wires it in with ``from drama.cli.active import register; register(app)``.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drama.active.store import describe_adoption
from drama.cli.commands import (
    ExcludeOpt,
    FeaturesOpt,
    HduOpt,
    MissingOpt,
    read_input,
    read_objects,
)
from drama.cli.common import (
    INPUT_SUFFIXES,
    check_table_output,
    parse_hdu,
    user_errors,
    write_table,
)
from drama.cli.lightcurves import (
    BandOpt,
    CurveOptions,
    ErrOpt,
    LightCurvesOpt,
    MagOpt,
    MinPointsOpt,
    RepresentationOpt,
    TimeOpt,
    curve_options,
)
from drama.missing import apply_missing, check_missing, missing_per_row, training_medians

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession, Candidate

__all__ = ["active", "register"]

ANSWERS = {"i": "interesting", "b": "boring", "s": "skip", "u": "undo", "q": "quit"}


def load_objects(path: Path, id_column: str | None, hdu: int | str | None = None, *,
                 features: list[str] | None = None, exclude: list[str] | None = None,
                 curves: CurveOptions | None = None,
                 ) -> tuple[Any, list[str] | None, str, Any]:
    """Objects, ids, their kind ("table", "curve" or "image") and, for a table, the columns
    carried through (sky positions, names; a DataFrame, else None) from a data file:
    a table split by column roles as `drama score` splits it (``features``, ``exclude``),
    or a long-format light-curve table made into one row (``curves.representation``
    "features") or one grid ("grid") per object."""
    from drama.datasets import load
    from drama.datasets.readers import format_suffix

    if not path.exists():
        raise ValueError(f"Data file {str(path)!r} does not exist; check the path.")
    if curves is not None:
        objects, curve_ids, *_ = read_objects(path, None, None, features, exclude, None,
                                              curves)
        assert curve_ids is not None  # a light curve is named by its id column
        return (objects, [str(i) for i in curve_ids],
                "table" if objects.ndim == 2 else "curve", None)
    if format_suffix(path) in INPUT_SUFFIXES:  # the roles as `drama score` decides them
        catalogue, _, _ = read_input(path, id_column, None, features, exclude, hdu)
        ids = catalogue.ids
        return (catalogue.features, None if ids is None else [str(i) for i in ids], "table",
                catalogue.carried)
    for option, value in (("--id-column", id_column), ("--hdu", hdu), ("--features", features),
                          ("--exclude", exclude)):
        if value is not None:
            raise ValueError(f"{option} applies to tables only, not to {path.name}.")
    X, _ = load(path)
    if X.ndim == 3 and X.shape[2] <= 4 < X.shape[1]:
        return X, None, "curve", None  # (n, T, C): a few channels of long sequences (cae1d)
    if X.ndim >= 3:
        return X, None, "image", None
    return X, None, "curve" if X.shape[1] > 50 else "table", None


def handle_missing(X: Any, ids: list[str] | None, missing: str
                   ) -> tuple[Any, list[str] | None, str]:
    """The objects and ids with their NaN and infinite values handled as ``--missing``
    says (as `drama score` does: refuse naming the column and object, fill with the
    medians, or leave the objects out), and a sentence on what was done ("" if nothing)."""
    arr = np.asarray(X, dtype=np.float64)
    medians = training_medians(arr) if missing == "impute" else None
    handled, kept = apply_missing(X, arr, missing, medians, at_fit=True)
    if handled is X:
        return X, ids, ""
    if kept is None:
        per_row = missing_per_row(arr)
        return handled, ids, (f"{int(per_row.sum())} missing value(s) in "
                              f"{int((per_row > 0).sum())} object(s) were filled with the "
                              "medians (--missing impute).")
    names = [str(i) for i in range(len(arr))] if ids is None else ids
    dropped = [names[i] for i in np.flatnonzero(~kept)]
    return handled, [names[i] for i in np.flatnonzero(kept)], (
        f"{len(dropped)} object(s) with missing values were left out (--missing drop), "
        f"e.g. id {dropped[0]}.")


def _interesting(labels: Any) -> int:
    """How many objects of ``ActiveSession.labels()`` are labelled interesting now."""
    return int((labels["label"] == "interesting").sum()) if len(labels) else 0


def _plot(session: ActiveSession, cand: Candidate, kind: str, folder: Path) -> Path:
    """Save the candidate (curve or image) next to the median object; return the file."""
    from drama.run_report import agg_pyplot

    plt = agg_pyplot()

    i = session._index[cand.id]
    obj = session.X[i]
    median = np.median(session.X, axis=0)
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "image":
        fig, axes = plt.subplots(1, 2, figsize=(7, 3))
        pairs = ((obj, f"object {cand.id}"), (median, "median object"))
        for ax, (img, title) in zip(axes, pairs, strict=True):
            ax.imshow(img if img.ndim == 2 or img.shape[-1] in (3, 4) else img[..., 0])
            ax.set_title(title)
            ax.axis("off")
    else:  # one panel per channel of a (T,) or (T, C) curve
        obj, median = obj.reshape(len(obj), -1), median.reshape(len(median), -1)
        channels = obj.shape[1]
        fig, axes = plt.subplots(channels, 1, figsize=(7, 2.2 * channels + 0.8), squeeze=False)
        for c, ax in enumerate(axes[:, 0]):
            ax.plot(median[:, c], color="0.6", label="median object")
            ax.plot(obj[:, c], color="C3", label=f"object {cand.id}")
            if channels > 1:
                ax.set_ylabel(f"channel {c}")
        axes[0, 0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cand.id)
    out = folder / f"candidate_{safe}.png"
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def _show(console: Console, session: ActiveSession, cand: Candidate, kind: str,
          plot_dir: Path, n_done: int) -> None:
    console.rule(f"candidate {n_done + 1}: id {escape(cand.id)}")
    console.print(f"score {cand.score:.3f} - {escape(cand.reason)}")
    if cand.predicted_class is not None:
        console.print(f"proposed class: {escape(str(cand.predicted_class))} "
                      f"(confidence {cand.class_confidence:.2f})")
    if kind == "table":
        table = Table("feature", "value", "median", "robust z", title="most deviating features")
        for row in session.deviations(cand, top=5).itertuples(index=False):
            table.add_row(escape(str(row.feature)), f"{row.value:.4g}", f"{row.median:.4g}",
                          f"{row.robust_z:+.1f}")
        console.print(table)
    else:
        console.print(f"plot: {_plot(session, cand, kind, plot_dir)}")


def _ask() -> tuple[str, str | None]:
    """One answer: a letter from i/b/s/q and, after i or b, an optional class tag."""
    while True:
        text = typer.prompt("[i]nteresting / [b]oring / [s]kip / [u]ndo the last label / "
                            "[q]uit (e.g. 'i merger')", default="s", show_default=True).strip()
        letter, _, tag = text.partition(" ")
        if letter.lower() in ANSWERS:
            return ANSWERS[letter.lower()], tag.strip() or None
        typer.echo(f"Please answer i, b, s, u or q (got {text!r}).")


def _export(store: Path, path: Path, id_name: str) -> int:
    """Write the store's labels (the latest per object) as a table that ``drama score
    --labels`` reads: the id, label 1 (interesting) / 0 (boring), the answer, its class
    and when it was given. Returns how many."""
    import pandas as pd

    from drama.active.store import export_labels

    rows = export_labels(store)
    frame = pd.DataFrame({
        id_name: pd.Series([r[0] for r in rows], dtype=object),
        "label": pd.Series([int(r[1] == "interesting") for r in rows], dtype="int64"),
        "answer": pd.Series([r[1] for r in rows], dtype=object),
        "class": pd.Series([r[2] for r in rows], dtype=object),
        "labelled_at": pd.to_datetime([r[3] for r in rows], unit="s", utc=True),
    })
    write_table(frame, path)
    return len(frame)


def _save(session: ActiveSession, cand: Candidate, answer: str, tag: str | None) -> None:
    """Store one answer; if the store refuses it, the error repeats the answer so that the
    scientist can give it again instead of losing it."""
    from drama.active import StoreError

    try:
        session.label(cand, answer, cls=tag)
    except StoreError as exc:
        given = f"{answer} {tag}" if tag else answer
        raise StoreError(f"{str(exc).rstrip('.')}. Your answer for id {cand.id} ({given}) was "
                         "not saved: give it again when you rerun.") from None


def active(
    data: Annotated[Path, typer.Argument(
        help="Data file: a table (CSV, Parquet, FITS, VOTable, ECSV, HDF5) or .npy/.npz/.mat.")],
    store: Annotated[Path, typer.Option("--store", help="SQLite label store (made if missing).")],
    id_column: Annotated[str | None, typer.Option(help="Table column with object ids.")] = None,
    hdu: HduOpt = None,
    reducer: Annotated[list[str] | None, typer.Option(
        help="DRAMA reducers to choose among (repeat the option).")] = None,
    levels: Annotated[int, typer.Option(
        min=1, help="Tree levels 1..LEVELS to choose among.")] = 3,
    space: Annotated[list[str] | None, typer.Option(
        help="Spaces to choose among (repeat the option): input, latent, residual (an object "
        "against its own reconstruction; not for the none reducer).",
        show_default="input")] = None,
    strategy: Annotated[str, typer.Option(help="Query strategy: top or balanced.")] = "top",
    budget: Annotated[int, typer.Option(min=1, help="Stop after this many answers.")] = 50,
    plot_dir: Annotated[Path | None, typer.Option(
        help="Folder for candidate plots (curves, images); default: next to the store.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o",
        help="Write the final ranking here (.csv, .parquet, .fits or .vot).")] = None,
    export: Annotated[Path | None, typer.Option(
        "--export", help="Write the store's labels here (.csv, .parquet, .fits or .vot: id, "
        "label 1/0 as `drama score --labels` reads, answer, class, time) and stop, without "
        "labelling.",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(
        "--seed", "--random-state", min=0, help="Seed; keep it to resume a store.")] = 0,
    steal_lock: Annotated[bool, typer.Option(
        help="Open the store even if another live process holds it.")] = False,
    features: FeaturesOpt = None,
    exclude: ExcludeOpt = None,
    missing: MissingOpt = "error",
    light_curves: LightCurvesOpt = False,
    time: TimeOpt = None,
    mag: MagOpt = None,
    err: ErrOpt = None,
    band: BandOpt = None,
    representation: RepresentationOpt = None,
    min_points: MinPointsOpt = None,
) -> None:
    """Label candidates interactively; the ranking learns what you find interesting.

    Answers are saved as given; stop with q (or Ctrl-C) and rerun the same command to
    resume where you stopped.
    """
    from drama.active import ActiveSession
    from drama.reducers.neural import NEURAL_NAMES

    console = Console(soft_wrap=True)
    stderr = Console(stderr=True, soft_wrap=True)
    with user_errors():
        if export is not None:
            check_table_output(export, data, "--export")
            n = _export(store, export, id_column or "id")
            console.print(f"Wrote {n} labels from {escape(str(store))} to "
                          f"{escape(str(export))}.")
            return
        if output is not None:  # checked now, not after a long labelling session
            check_table_output(output, data)
            if output.resolve() == store.resolve():
                raise ValueError(f"--output {str(output)!r} is the label store; choose "
                                 "another name.")
        if store.resolve() == data.resolve():
            raise ValueError(f"--store {str(store)!r} is the data file; choose another name.")
        plots = plot_dir or store.with_name(store.name + ".plots")
        if plots.exists() and not plots.is_dir():
            option = "--plot-dir" if plot_dir is not None else "the plot folder next to the store"
            raise ValueError(f"{option} {str(plots)!r} is a file, not a folder; pass "
                             "--plot-dir with a folder name.")
        check_missing(missing)
        curves = curve_options(light_curves, time, mag, err, band, representation,
                               min_points, id_column)
        X, ids, kind, _ = load_objects(data, id_column, parse_hdu(hdu), features=features,
                                       exclude=exclude, curves=curves)
        X, ids, done_missing = handle_missing(X, ids, missing)
        if done_missing:
            stderr.print(escape(done_missing))
        reducers = tuple(reducer or ("none", "pca"))
        neural = bool(set(reducers) & NEURAL_NAMES)
        # a neural reducer draws its own training bar; two live displays cannot share a
        # terminal, so the spinner is only for the others
        if neural:
            stderr.print("Fitting DRAMA configurations...")
        with nullcontext() if neural else stderr.status("Fitting DRAMA configurations..."), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the adoption is printed below
            session = ActiveSession(
                X, ids=ids, store=store, reducers=reducers,
                levels=tuple(range(1, levels + 1)), spaces=tuple(space or ("input",)),
                strategy=strategy,
                random_state=seed, steal_lock=steal_lock, progress=neural,
            )
        if session.adoption is not None:
            stderr.print(f"[yellow]{escape(describe_adoption(session.adoption))}[/yellow]")
    # Every store fault (read-only, damaged, taken over, full disk) is one red line.
    with user_errors(), session:
        known = session.labels()
        done = len(known)
        if done:  # each object's latest label, as the closing line counts them
            console.print(f"Resuming {escape(str(store))}: {done} labels so far, "
                          f"{_interesting(known)} interesting.")
        skipped: set[str] = set()
        answered = 0
        try:
            while answered < budget:
                batch = session.next(len(skipped) + 1)
                cand = next((c for c in batch if c.id not in skipped), None)
                if cand is None:
                    console.print("Every object has been labelled or skipped.")
                    break
                _show(console, session, cand, kind, plots, done + answered)
                answer, tag = _ask()
                if answer == "quit":
                    break
                if answer == "skip":
                    skipped.add(cand.id)
                    continue
                if answer == "undo":
                    undone = session.undo()
                    if undone is None:
                        console.print("There is no label to undo.")
                        continue
                    console.print(f"Undid the label of id {escape(undone[0])} ({undone[1]}).")
                    answered = max(0, answered - 1)
                    session.refit()
                    continue
                _save(session, cand, answer, tag)
                answered += 1
                session.refit()
        except (KeyboardInterrupt, typer.Abort):
            console.print("\nStopped; every answer so far is saved.")
        labels = session.labels()
        console.print(f"{len(labels)} labels in {escape(str(store))} "
                      f"({_interesting(labels)} interesting). "
                      "Rerun the same command to continue.")
        if output is not None:  # the labels are already safe in the store
            write_table(session.ranking(), output)
            console.print(f"Ranking written to {escape(str(output))}.")


def register(app: typer.Typer) -> None:
    """Add the ``active`` command to the ``drama`` Typer app."""
    app.command("active")(active)
