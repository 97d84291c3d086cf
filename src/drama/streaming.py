"""Score a table larger than memory with a fitted detector, batch by batch.

A survey catalogue may not fit in memory, but a fitted DRAMA model scores each object on
its own: the tree, the scaler and the ranks of a search are fixed, so the score of an
object does not depend on the others in its batch. :func:`score_table` therefore reads the
input in batches whose size follows a memory budget (independent of the number of rows),
scores each batch and appends it to the output, in input order. The output is written to
a temporary file beside the target and renamed onto it at the end, so a crash never
leaves half a file. Parquet (by row groups), CSV (by chunks of lines), FITS and HDF5
tables (by row ranges, ``drama.datasets.table_batches``) are read; Parquet or CSV written.
The checks, the output rows of a batch and the writing are public pieces that
:mod:`drama.dask_tables` reuses to score the batches on a Dask cluster.

In one process the work of a batch is spread over three threads, so that reading and
writing overlap the arithmetic (pyarrow, pandas' C parser, NumPy and BLAS release the GIL):
one reads the next batch (a Parquet file's features straight into one C-contiguous array,
float32 when the file's are, checked for missing values) while this one scores the current
batch, and one writes the previous batch's output rows. Each is a single thread that hands
its batches on in order, and an error in any of them stops the run (nothing is written).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from drama._io import atomic_path
from drama.datasets.readers import csv_header

__all__ = ["STREAM_FORMATS", "STREAM_INPUTS", "Plan", "batch_rows", "check_columns", "first_rows",
           "parse_memory", "plan", "score_table", "scored_frame", "write_frames"]

#: Suffixes :func:`score_table` writes.
STREAM_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: Suffixes :func:`score_table` reads: those, FITS and HDF5 tables.
STREAM_INPUTS = {**STREAM_FORMATS, ".fits": "fits", ".fit": "fits", ".fts": "fits",
                 ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5"}
# Bytes held per feature value of a batch while it is scored: the input frame, its float64
# array, the scaled copy, the distance blocks and the output columns, with room to spare
# (benchmarks/stream_memory.py measures the peak).
_BYTES_PER_VALUE = 64
_UNITS = {"": 1, "B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


def parse_memory(text: str | int) -> int:
    """Bytes from ``"2GB"``, ``"512MB"``, ``"300000"`` (binary units; KB/MB/GB/TB)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        cleaned = str(text).strip().upper().replace(" ", "").removesuffix("IB").removesuffix("I")
        number = cleaned.rstrip("KMGTB")
        unit = cleaned[len(number):]
        if unit and not unit.endswith("B"):
            unit += "B"
        try:
            value = float(number)
        except ValueError:
            value = float("nan")
        if unit not in _UNITS:
            value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"memory must be a positive size such as '2GB' or '512MB'; got {text!r}.")
    return int(value * _UNITS[unit])


def batch_rows(memory: int, n_values: int) -> int:
    """Rows per batch so that a batch of objects with ``n_values`` values each stays within
    ``memory`` bytes while it is scored (at least one row)."""
    return max(1, int(memory) // (_BYTES_PER_VALUE * max(1, int(n_values))))


def _format(path: Path, role: str) -> str:
    known = STREAM_INPUTS if role == "input" else STREAM_FORMATS
    fmt = known.get(path.suffix.lower())
    if fmt is None:
        verb = "reads" if role == "input" else "writes"
        raise ValueError(f"{role} {path.name}: streaming {verb} {', '.join(sorted(known))} "
                         "files; convert the table first.")
    return fmt


def _astro_batches(path: Path, fmt: str, rows: int) -> Generator[pd.DataFrame, None, None]:
    """A FITS or HDF5 table's first table, ``rows`` rows at a time, every column."""
    from drama.datasets.table_batches import fits_batches, hdf5_batches

    return fits_batches(path, rows) if fmt == "fits" else hdf5_batches(path, rows)


@contextmanager
def _parquet(path: Path) -> Iterator[Any]:
    """An open Parquet file; a truncated or damaged one is a ValueError that names it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer would read ahead whole row groups (390 MiB for a 2M x 20 table)
        with pq.ParquetFile(path, pre_buffer=False) as handle:
            yield handle
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path.name} is not a readable Parquet file (truncated or damaged?): "
                         f"{exc}") from None


def first_rows(path: str | os.PathLike[str], n: int = 1000) -> pd.DataFrame:
    """The first ``n`` rows of a table :func:`score_table` reads (every column), to decide the
    columns' roles before streaming the rest."""
    path = Path(path)
    fmt = _format(path, "input")
    if fmt in ("fits", "hdf5"):
        batches = _astro_batches(path, fmt, n)
        try:
            return next(batches)
        except StopIteration:
            raise ValueError(f"{path.name} has no rows; there is nothing to score.") from None
        finally:
            batches.close()
    if fmt == "parquet":
        with _parquet(path) as handle:
            batch = next(handle.iter_batches(batch_size=n), None)
            return (batch.to_pandas() if batch is not None
                    else handle.schema_arrow.empty_table().to_pandas())
    return pd.read_csv(path, nrows=n)


def check_columns(path: Path, present: Sequence[str], columns: Sequence[str]) -> None:
    """Every one of ``columns`` is among the table's ``present`` ones."""
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{path.name} has no column(s) {missing}; it has {list(present)[:20]}.")


@dataclass
class _Batch:
    """One batch as read: its features as one finite, C-contiguous array (``values``) or,
    when that cannot be (a missing value, a column that is not numbers), as a table
    (``features``, row labels the file's row numbers) that the detector checks and whose
    missing values its policy handles, naming them by column and row; and the table's
    other columns (id, carried) as read."""

    values: np.ndarray | None
    features: pd.DataFrame | None
    others: pd.DataFrame

    def __len__(self) -> int:
        return len(self.others)


def _arrow_values(batch: Any, names: Sequence[str]) -> np.ndarray | None:
    """The ``names`` columns of a pyarrow batch as one C-contiguous (rows, features) array,
    float32 when every one is float32 (exact in the float64 the model scales in), float64
    otherwise; None when one is not a float or integer column or a value is not finite."""
    import pyarrow as pa

    columns = [batch.column(name) for name in names]
    if not all(pa.types.is_floating(c.type) or pa.types.is_integer(c.type) for c in columns):
        return None
    dtype = np.float32 if all(c.type == pa.float32() for c in columns) else np.float64
    # one column per row of a (features, rows) array, then one transposing copy: faster
    # than writing every column into a strided slice of the (rows, features) result
    stacked = np.empty((len(columns), batch.num_rows), dtype=dtype)
    for row, column in zip(stacked, columns, strict=True):
        row[:] = column.to_numpy(zero_copy_only=False)
    values = np.ascontiguousarray(stacked.T)
    return values if np.isfinite(values).all() else None


def _batches(path: Path, rows: int, how: Plan) -> Generator[_Batch, None, None]:
    """The table's columns in batches of at most ``rows`` rows, in file order (a CSV's
    ``how.text`` columns as text: 19-digit ids keep every digit, and a column read one
    chunk at a time cannot change type between chunks)."""
    fmt = _format(path, "input")
    if fmt in ("fits", "hdf5"):
        for number, frame in enumerate(_astro_batches(path, fmt, rows)):
            if number == 0:
                check_columns(path, frame.columns, how.columns)
            yield _Batch(None, frame[how.features], frame)
        return
    if fmt == "parquet":
        with _parquet(path) as handle:
            check_columns(path, handle.schema_arrow.names, how.columns)
            start = 0
            for batch in handle.iter_batches(batch_size=rows, columns=how.columns):
                # row labels are the file's row numbers (a CSV's chunks have them already),
                # so a refused missing value is named where it is in the file
                index = pd.RangeIndex(start, start + batch.num_rows)
                start += batch.num_rows
                values = _arrow_values(batch, how.features)
                features = None if values is not None else \
                    batch.select(how.features).to_pandas().set_axis(index)
                yield _Batch(values, features, batch.select(how.text).to_pandas().set_axis(index))
        return
    check_columns(path, csv_header(path), how.columns)
    for chunk in pd.read_csv(path, usecols=how.columns, chunksize=rows,
                             dtype={c: str for c in how.text} or None, keep_default_na=True):
        yield _Batch(None, chunk[how.features], chunk)


_END = object()


def _read_ahead(items: Iterator[Any]) -> Generator[Any, None, None]:
    """``items`` in their order, each next one produced in a thread while the caller works
    on the current one; an error there is raised here. Closing this generator waits for
    the thread and closes ``items``."""
    with ThreadPoolExecutor(1, thread_name_prefix="drama-read") as pool:
        try:
            pending = pool.submit(next, items, _END)
            while (item := pending.result()) is not _END:
                pending = pool.submit(next, items, _END)
                yield item
        finally:
            pending.cancel()
            wait([pending])
            close = getattr(items, "close", None)
            if close is not None:
                close()


class _Writer:
    """Appends scored batches to a Parquet or CSV file."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self._started = False  # the CSV header, or the Parquet writer, exists
        self._parquet: Any = None

    def write(self, frame: pd.DataFrame) -> int:
        """Append ``frame``; returns its number of rows."""
        if self.fmt == "csv":
            frame.to_csv(self.path, mode="a", header=not self._started, index=False)
            self._started = True
            return len(frame)
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if not self._started:
            self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._started = True
        self._parquet.write_table(table.cast(self._parquet.schema))
        return len(frame)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


@dataclass(frozen=True)
class Plan:
    """What a streamed scoring reads and writes, checked before any row is read."""

    features: list[str]  # the model's columns, by name
    columns: list[str]  # every column read: the features, the id, the carried ones
    id_column: str | None
    carry: list[str]
    threshold: float | None
    output_format: str

    @property
    def text(self) -> list[str]:
        """The columns read that are not features (ids, carried): read as text, so that a
        batch at a time cannot change their type."""
        return [c for c in self.columns if c not in self.features]


def _check_folder(output: Path) -> None:
    """The output's folder exists and takes new files: refused before any row is read."""
    folder = output.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"The output's folder {folder} does not exist (or is not a "
                                 "folder); create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"The output's folder {folder} does not take new files "
                              "(no write permission); choose another output.")


def plan(detector: Any, source: Path, output: Path, id_column: str | None,
         carry: Sequence[str]) -> Plan:
    """Check a request to score ``source`` into ``output`` and say what to read."""
    names = getattr(detector, "feature_names_in_", None)
    if names is None:
        raise ValueError("Streaming matches columns by name, and this model was fitted on an "
                         "array without column names; fit it on a table (DataFrame).")
    features = [str(c) for c in names]
    passed = ([id_column] if id_column is not None else []) + list(carry)
    clash = [c for c in passed if c in features]
    if clash:
        raise ValueError(f"Column(s) {clash} are the model's features; they cannot be the id "
                         "or carried through as well.")
    clash = [c for c in passed if c in ("score", "label")]
    if clash:
        raise ValueError(f"Column(s) {clash} would clash with the output's own; rename them.")
    out_format = _format(output, "output")
    _format(source, "input")
    _check_folder(output)
    if source.resolve() == output.resolve():
        raise ValueError("The output would replace the input; choose another name.")
    threshold = getattr(detector, "threshold_", None)
    return Plan(features, features + [c for c in dict.fromkeys(passed) if c not in features],
                id_column, list(dict.fromkeys(carry)),
                None if threshold is None else float(threshold), out_format)


def scored_frame(detector: Any, batch: pd.DataFrame, how: Plan) -> pd.DataFrame:
    """The output rows of one batch: id, score, label (empty where the score is NaN) and
    the carried columns as read."""
    return _output_rows(detector.decision_function(batch[how.features]), batch, how)


def _output_rows(scores: Any, batch: pd.DataFrame, how: Plan) -> pd.DataFrame:
    """id, score, label and the carried columns of a batch scored ``scores``."""
    scores = np.asarray(scores, dtype=np.float64)
    frame = pd.DataFrame({"score": scores})
    if how.id_column is not None:
        frame.insert(0, how.id_column, batch[how.id_column].to_numpy())
    if how.threshold is not None:
        label = pd.array((scores > how.threshold).astype(np.int64), dtype="Int64")
        label[np.isnan(scores)] = pd.NA
        frame["label"] = label
    for column in how.carry:
        frame[column] = batch[column].to_numpy()
    return frame


def _scored(detector: Any, batch: _Batch, how: Plan) -> pd.DataFrame:
    """The output rows of a batch as read: its array scored when it has one (the columns
    were matched by name when the batch was read), else its feature table."""
    features = batch.values if batch.values is not None else batch.features
    return _output_rows(detector.decision_function(features), batch.others, how)


def _fingerprint(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def write_frames(frames: Iterable[pd.DataFrame], source: Path, output: Path, how: Plan,
                 progress: Callable[[int], None] | None = None) -> int:
    """Append ``frames`` (the scored batches of ``source``, in order) to ``output``
    atomically; returns the number of rows. The output's folder must take a new file
    before the first batch is read; a source whose size or modification time changed
    while it was read is an error, and nothing is written."""
    before = _fingerprint(source)
    done = 0

    def written(pending: Future[int] | None) -> None:
        nonlocal done
        if pending is not None:
            done += pending.result()  # the writer's error, if any, is raised here
            if progress is not None:
                progress(done)

    # an unwritable folder fails at atomic_path; one frame is written in a thread while
    # the next is computed, and the thread is done before the file is closed or removed
    with atomic_path(output, output.suffix) as tmp, \
            ThreadPoolExecutor(1, thread_name_prefix="drama-write") as pool:
        writer = _Writer(tmp, how.output_format)
        pending: Future[int] | None = None
        try:
            for frame in frames:
                if frame.empty:
                    continue
                written(pending)
                pending = pool.submit(writer.write, frame)
            written(pending)
        finally:
            if pending is not None:
                wait([pending])
            writer.close()
        if done == 0:
            raise ValueError(f"{source.name} has no rows; there is nothing to score.")
        if _fingerprint(source) != before:
            raise ValueError(f"{source.name} changed while it was being read (its size or "
                             "modification time); nothing was written. Score a copy that "
                             "nothing writes to.")
    return done


def score_table(
    detector: Any,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    memory: int | str = "1GB",
    id_column: str | None = None,
    carry: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every row of ``source`` with a fitted ``detector`` and write ``id_column`` (if
    given), ``score``, when the detector has a threshold ``label`` (1 = above it; empty
    where the detector left the score undefined, as ``missing="drop"`` does) and the
    ``carry`` columns as read, to ``output``, in input order; returns the number of rows.

    The features are the detector's training columns (``feature_names_in_``), found by
    name whatever their order in ``source``; a detector fitted on an array cannot name
    them and is refused. Memory stays within about ``memory`` bytes whatever the number of
    rows; ``progress`` is called with the number of rows done after each batch. A source
    that changes while it is read is an error (nothing is written).
    """
    source, output = Path(source), Path(output)
    how = plan(detector, source, output, id_column, carry)
    rows = batch_rows(parse_memory(memory), len(how.features))
    batches = _read_ahead(_batches(source, rows, how))
    # the reading thread takes the second core: BLAS threads of their own would only
    # compete with it (and with each other)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            frames = (_scored(detector, batch, how) for batch in batches if len(batch))
            return write_frames(frames, source, output, how, progress)
    finally:
        batches.close()
