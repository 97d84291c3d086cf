"""``drama benchmark``: DRAMA against its peers on ODDS or the paper's synthetic sets.

Kept out of ``commands`` so the benchmark's imports load only when the command runs; the
main app adds it with ``register(app)``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from drama.cli.common import USER_ERROR, err_console, out_console, user_errors

__all__ = ["benchmark", "register"]


def benchmark(
    protocol: Annotated[str, typer.Option(help="unsupervised, semi, novelty or active.")] =
        "unsupervised",
    datasets: Annotated[list[str] | None, typer.Option(
        "--dataset", "-d", help="ODDS data set name (repeat), or 'crts' for the CRTS light "
                                "curves (rare classes as anomalies); default: every ODDS "
                                "file.")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder of ODDS .mat/.npz files.",
        show_default="odds/ in $DRAMA_DATA, else in the user cache")] = None,
    synthetic: Annotated[bool, typer.Option(
        help="Run the paper's synthetic local/new-class experiments instead of ODDS.")] = False,
    n_features: Annotated[list[int] | None, typer.Option(
        help="Synthetic: signal lengths (repeat).", show_default="100 and 3000")] = None,
    shapes: Annotated[list[int] | None, typer.Option(
        "--shape", help="Synthetic: shapes 1-10 (repeat).", show_default="all")] = None,
    detectors: Annotated[list[str] | None, typer.Option(
        "--detector", help="Detector to run (repeat).",
        show_default="DRAMA, DRAMA-fixed and every peer; AADForest and PineForest with "
                     "--protocol active")] = None,
    k: Annotated[list[int] | None, typer.Option(
        help="Semi: labelled anomalies per draw (repeat for an AUC-against-k curve).",
        show_default="5")] = None,
    draws: Annotated[int, typer.Option(
        min=1, help="Random draws (seeds) for semi, novelty and active.")] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seed of every detector and every draw.")] = 0,
    n_jobs: Annotated[int, typer.Option(help="Reducers fitted in parallel (-1: all cores).")]
        = -1,
    out: Annotated[Path, typer.Option("--output", "-o", "--out",
                                      help="Folder for results.csv, report.md, figures.")] =
        Path("benchmark-results"),
) -> None:
    """Run DRAMA and its peers under a protocol; resumes from OUT/results.csv."""
    from rich.progress import Progress

    from drama.benchmark import (
        crts_task,
        odds_tasks,
        run_benchmark,
        synthetic_tasks,
        write_report,
    )
    from drama.benchmark.runner import COLUMNS, read_results
    from drama.benchmark.suites import SYNTHETIC_LENGTHS, SYNTHETIC_SHAPES
    from drama.benchmark.tables import plot_synthetic

    err = err_console()
    with user_errors():
        if out.exists() and not out.is_dir():
            raise ValueError(f"--output {str(out)!r} is a file; give a folder for the results.")
        given: dict[str, object] = (
            {"--dataset": datasets, "--data-dir": data_dir} if synthetic
            else {"--n-features": n_features, "--shape": shapes})
        if k and protocol != "semi":
            given["--k"] = k
        unused = [name for name, value in given.items() if value]
        if unused:
            raise ValueError(
                f"{' and '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply "
                "here ("
                f"{'--synthetic' if synthetic else 'ODDS data'}, --protocol {protocol}); "
                "leave it out."
            )
        if synthetic:
            tasks = synthetic_tasks(tuple(n_features or SYNTHETIC_LENGTHS),
                                    tuple(shapes or SYNTHETIC_SHAPES), seed)
        else:
            names = list(datasets or [])
            odds = [n for n in names if n != "crts"]
            tasks = odds_tasks(data_dir, odds) if odds or not names else []
            if "crts" in names:
                tasks.append(crts_task())
        csv = out / "results.csv"
        with Progress(console=err, transient=False) as bar:
            job = bar.add_task(f"{protocol} benchmark",  # a repeated -d runs once
                               total=len({task.name for task in tasks}))

            def say(message: str) -> None:
                bar.console.print(message)

            with warnings.catch_warnings():  # say() already prints each skip, once
                warnings.filterwarnings("ignore", message="skipped: ", category=UserWarning)
                run_benchmark(tasks, protocol=protocol,
                              detectors=list(detectors) if detectors else None,
                              ks=list(k) if k else [5], draws=draws, seed=seed, csv=csv,
                              search_params={"n_jobs": n_jobs}, progress=say,
                              task_done=lambda _name: bar.advance(job))
    import pandas as pd

    results = read_results(csv) if csv.exists() else pd.DataFrame(columns=COLUMNS)
    # this command's protocol, seed and data sets: other runs in the same folder stay out
    ran = {task.name for task in tasks}
    results = results[(results["protocol"] == protocol) & (results["seed"] == seed)
                      & results["dataset"].isin(ran)]
    if results.empty:
        err.print("[yellow]No results to report: every data set was skipped (see above).[/yellow]")
        raise typer.Exit(USER_ERROR)
    md = write_report(results, out, title=f"DRAMA benchmark: {protocol} protocol")
    if synthetic:
        plot_synthetic(results, out)
    out_console().print(f"results: {escape(str(csv))}\nreport: {escape(str(md))}")


def register(app: typer.Typer) -> None:
    """Add ``drama benchmark`` to the main command-line app."""
    app.command("benchmark")(benchmark)
