"""Score a Parquet or CSV table on a Dask cluster, written here in input order.

The workers read the table's partitions (Parquet row groups, CSV byte ranges) from a path
they all see, score them with the fitted model (sent to every worker once, with
``Client.scatter``) and hand back only the output rows; this process writes them in
partition order as they arrive, through the same checks and atomic writer as
:func:`drama.streaming.score_table`, so the output is the one a single process writes
(scores bitwise equal for the same batches, within 1e-12 relative otherwise).
At most a few partitions per worker are in flight, so memory here and on the cluster stays
bounded whatever the number of rows. A worker that dies has its tasks rerun elsewhere by
Dask; a cluster that goes away is a :class:`ClusterLost` error and no output is left.
See docs/scale.md.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drama.streaming import (
    STREAM_INPUTS,
    Plan,
    check_columns,
    first_rows,
    parse_memory,
    plan,
    scored_frame,
    write_frames,
)

__all__ = ["ClusterLost", "connect", "fit_on_cluster", "read_table", "score_table_on_cluster"]

# Partitions in flight per worker thread: enough to keep each busy while one is written.
_IN_FLIGHT = 2


class ClusterLost(RuntimeError):
    """The Dask cluster went away (or could not be reached) during a job."""


@contextmanager
def connect(scheduler: str | None = None, local_workers: int | None = None,
            timeout: float = 30.0) -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster at ``scheduler`` (``tcp://HOST:PORT``), or of
    a ``LocalCluster`` of ``local_workers`` single-threaded worker processes on 127.0.0.1,
    closed (and the local cluster stopped) on exit."""
    if (scheduler is None) == (local_workers is None):
        raise ValueError("Give either a scheduler address or a number of local workers.")
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterLost(f"No Dask scheduler answered at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    if isinstance(local_workers, bool) or not isinstance(local_workers, int) \
            or local_workers < 1:
        raise ValueError(f"The local cluster needs at least one worker; got {local_workers!r}.")
    with LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


def read_table(source: Path, columns: Sequence[str], text: Sequence[str],
               memory: int | str) -> Any:
    """``columns`` of ``source`` as a Dask DataFrame in file order: one partition per
    Parquet row group, or CSV blocks of about a quarter of ``memory`` (text costs a few
    bytes a value, its float64 array and scoring about 64), ``text`` columns as text."""
    import dask.dataframe as dd

    if STREAM_INPUTS.get(source.suffix.lower()) not in ("csv", "parquet"):
        raise ValueError(f"{source.name}: a cluster reads Parquet or CSV tables (its workers "
                         "read the partitions); convert it, or score it with --memory.")
    if source.suffix.lower() == ".csv":
        from drama.datasets.readers import csv_header

        check_columns(source, csv_header(source), columns)
        return dd.read_csv(source, usecols=list(columns), blocksize=parse_memory(memory) // 4,
                           dtype={c: str for c in text} or None)
    check_columns(source, first_rows(source, 1).columns, columns)  # a damaged file too
    return dd.read_parquet(source, columns=list(columns), split_row_groups=True)


def _gone() -> tuple[type[BaseException], ...]:
    """The errors of a cluster that went away: futures cancelled, connections closed, the
    client closed under the job."""
    from distributed.client import ClosedClientError

    return CancelledError, OSError, TimeoutError, ClosedClientError


def _lost(address: str, exc: BaseException) -> ClusterLost:
    return ClusterLost(f"The Dask cluster at {address} went away during the "
                       f"job ({type(exc).__name__}: {exc}); the partial output was removed.")


def _in_order(client: Any, tasks: list[Any], address: str) -> Iterator[Any]:
    """The results of ``tasks`` in their order, a bounded number computed at a time."""
    window = max(1, _IN_FLIGHT * sum(client.nthreads().values()))
    pending: deque[Any] = deque()
    try:
        for task in tasks:
            pending.append(client.compute(task))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except _gone() as exc:
        raise _lost(address, exc) from None
    finally:
        if pending and client.status == "running":
            client.cancel(list(pending))


def score_table_on_cluster(
    client: Any,
    detector: Any,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    memory: int | str = "1GB",
    id_column: str | None = None,
    carry: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
) -> int:
    """:func:`drama.streaming.score_table` with the batches scored on the cluster of
    ``client``: the same output, written here in input order; returns the number of rows.
    ``memory`` sizes a CSV's partitions (a Parquet file's are its row groups)."""
    import dask

    source, output = Path(source), Path(output)
    how: Plan = plan(detector, source, output, id_column, carry)
    address = client.scheduler.address
    try:
        model = client.scatter(detector, broadcast=True, hash=False)
    except _gone() as exc:
        raise _lost(address, exc) from None
    partitions = read_table(source, how.columns, how.text, memory).to_delayed()
    tasks = [dask.delayed(scored_frame)(model, part, how) for part in partitions]
    return write_frames(_in_order(client, tasks, address), source, output, how, progress)


def fit_on_cluster(client: Any, detector: Any, source: str | os.PathLike[str],
                   features: Sequence[str], memory: int | str = "1GB") -> Any:
    """Fit ``detector`` on a sample of the ``features`` columns of ``source`` drawn by the
    cluster of ``client`` (:func:`drama.dask_support.fit_sample`: the workers count the
    rows of every partition, then read only the drawn ones)."""
    frame = read_table(Path(source), features, [], memory)
    address = client.scheduler.address
    try:
        with client.as_current():
            return detector.fit(frame)
    except _gone() as exc:
        raise _lost(address, exc) from None
