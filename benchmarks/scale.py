"""DRAMA at survey scale from the command line: fit on a sample, score a Parquet file of N x D
float32 rows in one process within a memory budget and on a 2-worker Dask LocalCluster,
with each command's wall time and peak memory, and scoring's time per row against one BLAS
matrix product of the same (rows x dims) by (dims x prototypes) shape, in one run.

The table (row groups of 100,000 rows, written block by block) goes to a temporary folder
and is removed at the end; it is never committed. Steps, each a ``drama`` command in its
own subprocess whose peak resident memory is ``/usr/bin/time -v``'s maximum resident set
size (the largest process: the command itself or one of its cluster's workers):

* ``fit``: ``drama fit sample.parquet --model m.npz --reducer none --metric l2 --levels 2``
  on a uniform sample of ``drama.dask_support.SAMPLE_ROWS`` rows (the draw
  ``sample_positions(0, 100000, N)``), which the script gathers row group by row group;
* ``score, 1 process``: ``drama score big.parquet --model m.npz -o one.parquet --memory M``;
* ``score, LocalCluster 2``: the same with ``--local-cluster 2`` instead of ``--memory``;
* ``search``: ``drama fit rows.parquet --model s.npz --seed 0``, the label-free search
  (``DramaSearch`` with its default options) on the first ``--search-rows`` rows of the
  table (1,000,000 by default; 0 leaves the step out), read whole into memory as ``drama
  fit`` does.

The matrix product is timed here on float64 (the dtype DRAMA scores in) on a block of at most
1,000,000 rows and scaled to the table's rows. The outputs of the two scoring runs are then
compared row group by row group (rows that differ, largest relative difference).

The load average of the shared machine is printed before and after the run.

    python benchmarks/scale.py [--rows 10000000] [--features 100] [--memory 256MB]
                               [--search-rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GROUP = 100_000
DRAMA = [sys.executable, "-c", "from drama.cli import app; app()"]


def write_table(path: Path, rows: int, features: int) -> None:
    """Gaussian float32 rows with 0.1% shifted by 5 (anomalies), one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [f"f{j}" for j in range(features)]
    rng = np.random.default_rng(0)
    schema = pa.schema([(n, pa.float32()) for n in names])
    with pq.ParquetWriter(path, schema) as out:
        for start in range(0, rows, GROUP):
            block = rng.standard_normal((min(GROUP, rows - start), features), dtype=np.float32)
            block[rng.random(len(block)) < 0.001] += 5.0
            out.write_table(pa.Table.from_arrays(list(block.T), names=names), row_group_size=GROUP)


def write_sample(big: Path, sample: Path, rows: int, size: int) -> None:
    """The rows ``sample_positions(0, size, rows)`` of ``big``, read one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drama.dask_support import sample_positions

    positions = sample_positions(0, size, rows)
    pieces, start = [], 0
    with pq.ParquetFile(big) as handle:
        for group in range(handle.num_row_groups):
            table = handle.read_row_group(group)
            lo, hi = np.searchsorted(positions, [start, start + len(table)])
            pieces.append(table.take(pa.array(positions[lo:hi] - start)))
            start += len(table)
    pq.write_table(pa.concat_tables(pieces), sample)


def write_head(big: Path, head: Path, rows: int) -> None:
    """The first ``rows`` rows of ``big``, copied batch by batch."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(big) as handle, pq.ParquetWriter(head, handle.schema_arrow) as out:
        left = rows
        for batch in handle.iter_batches(GROUP):
            if left <= 0:
                break
            out.write_batch(batch.slice(0, left))
            left -= len(batch)


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of ``drama ARGS``."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *DRAMA, *args], capture_output=True,
                            text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"drama {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                             result.stderr).group(1))
    return seconds, peak_kib / 1024


def matmul_seconds(rows: int, features: int, prototypes: int) -> float:
    """Seconds of one float64 (rows x features) @ (features x prototypes) product (the best
    of 3 on a block of at most 1,000,000 rows, scaled to ``rows``)."""
    block = min(rows, 1_000_000)
    rng = np.random.default_rng(1)
    X, P = rng.standard_normal((block, features)), rng.standard_normal((features, prototypes))
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        X @ P
        best = min(best, time.perf_counter() - start)
    return best * rows / block


def compare_scores(a: Path, b: Path) -> tuple[int, float]:
    """How many rows' scores differ between two outputs, and the largest relative difference
    (read row group by row group)."""
    import pyarrow.parquet as pq

    differ, worst = 0, 0.0
    with pq.ParquetFile(a) as left, pq.ParquetFile(b) as right:
        for x, y in zip(left.iter_batches(GROUP, columns=["score"]),
                        right.iter_batches(GROUP, columns=["score"]), strict=True):
            u, v = x.column(0).to_numpy(), y.column(0).to_numpy()
            differ += int((u != v).sum())
            worst = max(worst, float(np.max(np.abs(u - v) / np.maximum(np.abs(u), 1e-300))))
    return differ, worst


def breakdown(big: Path, model: Path, memory: str, rows: int) -> dict[str, float]:
    """Seconds of each stage of the one-process scoring, each timed alone (no overlap) on
    the first ``rows`` rows of ``big``, in batches as ``--memory`` makes them: reading
    (Parquet to one C-contiguous float32 array per batch, checked finite), the scaling
    (float32 to scaled float64), the l2 distances and the minimum over the prototypes (the
    tree's level scores), and writing the output rows."""
    import tempfile as tmp

    from drama import load_detector
    from drama.streaming import (
        _Batch,
        _batches,
        _output_rows,
        _Writer,
        batch_rows,
        parse_memory,
        plan,
    )

    det = load_detector(model)
    with tmp.TemporaryDirectory() as folder:
        out = Path(folder) / "o.parquet"
        how = plan(det, big, out, None, [])
        size = batch_rows(parse_memory(memory), len(how.features))
        seconds = dict.fromkeys(["read", "scaling", "distances", "write"], 0.0)
        batches: list[_Batch] = []
        start = time.perf_counter()
        for batch in _batches(big, size, how):
            batches.append(batch)
            if sum(map(len, batches)) >= rows:
                break
        seconds["read"] = time.perf_counter() - start
        scores = []
        level = det._scored_level()
        for batch in batches:
            start = time.perf_counter()
            scaled = det._scaled(batch.values)
            middle = time.perf_counter()
            scores.append(det.tree_.level_scores(scaled, [det.metric], [level])[
                (level, det.metric)])
            seconds["scaling"] += middle - start
            seconds["distances"] += time.perf_counter() - middle
            batch.values = None  # memory: one batch's scaled copy at a time
        writer = _Writer(out, "parquet")
        start = time.perf_counter()
        for batch, values in zip(batches, scores, strict=True):
            writer.write(_output_rows(values, batch.others, how))
        writer.close()
        seconds["write"] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--memory", default="256MB", help="--memory of the 1-process run")
    parser.add_argument("--search-rows", type=int, default=1_000_000,
                        help="rows of the label-free search's fit (0: no search)")
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    from drama import load_detector
    from drama.dask_support import SAMPLE_ROWS

    with tempfile.TemporaryDirectory(prefix="drama-scale-") as folder:
        work = Path(folder)
        big = work / "big.parquet"
        start = time.perf_counter()
        write_table(big, args.rows, args.features)
        print(f"{args.rows:,} rows x {args.features} float32 features: "
              f"{os.path.getsize(big) / 2**20:,.0f} MiB of Parquet "
              f"({args.rows * args.features * 8 / 2**30:.1f} GiB as float64), written in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        write_sample(big, work / "sample.parquet", args.rows, SAMPLE_ROWS)
        model = work / "m.npz"
        results = {"fit on the sample": run(
            ["fit", str(work / "sample.parquet"), "--model", str(model), "--reducer", "none",
             "--metric", "l2", "--levels", "2", "--seed", "0"])}
        prototypes = len(load_detector(model).prototypes())
        results[f"score, 1 process, --memory {args.memory}"] = run(
            ["score", str(big), "--model", str(model), "-o", str(work / "one.parquet"),
             "--memory", args.memory])
        results["score, --local-cluster 2"] = run(
            ["score", str(big), "--model", str(model), "-o", str(work / "two.parquet"),
             "--local-cluster", "2"])
        if args.search_rows > 0:
            search_rows = min(args.search_rows, args.rows)
            rows_file = big if search_rows == args.rows else work / "rows.parquet"
            if rows_file != big:
                write_head(big, rows_file, search_rows)
            results[f"search (DramaSearch defaults) on {search_rows:,} rows"] = run(
                ["fit", str(rows_file), "--model", str(work / "s.npz"), "--seed", "0"])
        product = matmul_seconds(args.rows, args.features, prototypes)
        print("\n| step | seconds | rows / s | peak RSS MiB (largest process) | "
              "time per row / matmul's |")
        print("|---|---|---|---|---|")
        for name, (seconds, peak) in results.items():
            scored = name.startswith("score")
            rate = f"{args.rows / seconds:,.0f}" if scored else "-"
            ratio = f"{seconds / product:.1f}x" if scored else "-"
            print(f"| {name} | {seconds:.1f} | {rate} | {peak:,.0f} | {ratio} |")
        print(f"\nBLAS float64 ({args.rows:,} x {args.features}) @ ({args.features} x "
              f"{prototypes}): {product:.3f} s ({args.rows / product:,.0f} rows/s)")
        parts_rows = min(args.rows, 1_000_000)
        parts = breakdown(big, model, args.memory, parts_rows)
        share = product * parts_rows / args.rows
        print(f"\nOne-process scoring by stage, each timed alone on the first {parts_rows:,} "
              "rows (seconds; / the BLAS product of those rows): " + ", ".join(
                  f"{name} {sec:.2f} ({sec / share:.1f}x)" for name, sec in parts.items())
              + f"; sum {sum(parts.values()):.2f} ({sum(parts.values()) / share:.1f}x)")
        one = results[f"score, 1 process, --memory {args.memory}"][0]
        two = results["score, --local-cluster 2"][0]
        print(f"LocalCluster(2) / 1 process wall time: {two / one:.2f}")
        differ, worst = compare_scores(work / "one.parquet", work / "two.parquet")
        print(f"cluster against 1-process scores: {differ:,} of {args.rows:,} rows differ, "
              f"largest relative difference {worst:.1e} (batches of other sizes: BLAS may "
              "sum the l2 products in another order)")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
