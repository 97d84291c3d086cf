"""``drama score BIG --model M --memory SIZE``: a table larger than memory, scored in batches,
in this process or (``--scheduler`` / ``--local-cluster``) on a Dask cluster.

The columns' roles are decided on the table's first rows (the rules of
:mod:`drama.datasets.columns`), the model's features are found by name, and
:func:`drama.streaming.score_table` (or :func:`drama.dask_tables.score_table_on_cluster`)
writes id, score, label and the carried columns as it goes. There is no rank column: ranks
need every score at once, which is what the memory budget forbids (sort the output by
score instead). On a cluster, a detector not yet fitted is fitted on a sample the cluster
draws from the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from rich.markup import escape
from rich.progress import Progress, TextColumn

from drama.cli.common import err_console, out_console
from drama.exceptions import UserError

# The batch budget when only a cluster is given (it sizes a CSV's partitions there).
DEFAULT_MEMORY = "1GB"


class Cluster(NamedTuple):
    """Where the batches are scored: a scheduler's address, a local cluster of N worker
    processes, or neither (this process)."""

    scheduler: str | None
    local_workers: int | None

    @property
    def used(self) -> bool:
        return self.scheduler is not None or self.local_workers is not None

    def where(self) -> str:
        if self.scheduler is not None:
            return f" on the Dask cluster at {self.scheduler}"
        if self.local_workers is not None:
            return f" on a local Dask cluster of {self.local_workers} worker process(es)"
        return ""


IN_PROCESS = Cluster(None, None)


def stream_scores(det: Any, source: Path, output: Path, memory: str | None,
                  id_column: str | None, label_column: str | None,
                  features: list[str] | None, exclude: list[str] | None,
                  cluster: Cluster = IN_PROCESS,
                  fit: bool = False) -> tuple[int, dict[str, Any]]:
    """Score ``source`` into ``output`` in batches within ``memory`` (first fitting ``det``
    on the cluster's sample when ``fit``); returns the number of objects and what the run
    record keeps about the roles."""
    from drama.cli.commands import print_roles
    from drama.datasets.columns import assign_roles, match_model_features
    from drama.streaming import first_rows, parse_memory

    memory = memory or DEFAULT_MEMORY
    budget = parse_memory(memory)
    sample = first_rows(source)
    roles = assign_roles(sample, source.name, id_column, label_column, features, exclude)
    if not fit:
        fitted = getattr(det, "feature_names_in_", None)
        if fitted is None:
            raise UserError("--memory matches columns by name, and this model was fitted on "
                            "an array; fit it with `drama fit` on a table.")
        match_model_features(sample, roles, fitted, source.name)  # names what is missing
    print_roles(roles, source.name)
    carry = [c for c in (*roles.carried, roles.label) if c is not None]
    options: dict[str, Any] = {"memory": budget, "id_column": roles.id, "carry": carry}
    start = time.perf_counter()
    if cluster.used:
        n = _on_cluster(det, source, output, options, cluster, list(roles.features) if fit
                        else None)
    else:
        from drama.streaming import score_table

        with _progress() as advance:
            n = score_table(det, source, output, progress=advance, **options)
    seconds = time.perf_counter() - start
    out_console().print(
        f"Scored {n:,} objects in batches within {escape(memory)}{escape(cluster.where())} "
        f"({seconds:.1f} s, {n / max(seconds, 1e-9):,.0f} rows/s). Wrote "
        f"[bold]{escape(str(output))}[/bold]: id, score, label and the carried columns; no "
        "rank (ranks need every score at once), so sort by score.")
    record: dict[str, Any] = {"streamed": True, "memory": memory, "id_column": roles.id,
                              "carried": carry}
    if cluster.used:
        record["cluster"] = cluster.scheduler or f"local:{cluster.local_workers}"
    if getattr(det, "sample_draw_", None) is not None:
        record["sample_draw"] = det.sample_draw_
    return n, record


def _on_cluster(det: Any, source: Path, output: Path, options: dict[str, Any],
                cluster: Cluster, fit_features: list[str] | None) -> int:
    """Fit (on the features given) and score on the cluster; a lost cluster is an OSError
    (exit code 1), its message saying that no output was left."""
    from drama.dask_tables import ClusterLost, connect, fit_on_cluster, score_table_on_cluster

    try:
        with connect(cluster.scheduler, cluster.local_workers) as client:
            if fit_features is not None:
                with err_console().status("Fitting on a sample the cluster draws ..."):
                    fit_on_cluster(client, det, source, fit_features, options["memory"])
            with _progress() as advance:
                return score_table_on_cluster(client, det, source, output, progress=advance,
                                              **options)
    except ClusterLost as exc:
        raise ConnectionError(str(exc)) from None


@contextmanager
def _progress() -> Iterator[Callable[[int], None]]:
    """A progress bar of rows done and rows per second; yields its update function."""
    start = time.perf_counter()
    with Progress(*Progress.get_default_columns(),
                  TextColumn("{task.completed:,.0f} rows, {task.fields[rate]:,.0f} rows/s"),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task("Scoring in batches", total=None, rate=0.0)

        def advance(done: int) -> None:
            bar.update(task, completed=done, rate=done / max(time.perf_counter() - start, 1e-9))

        yield advance
