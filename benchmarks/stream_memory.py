"""Peak memory and speed of scoring a large table in batches (drama.streaming) against
reading it whole and scoring it in memory, in one run.

A Parquet table of N Gaussian rows x D features (row groups of 100,000 rows) is written to
a temporary folder; ``Drama(random_state=0)`` is fitted on 100,000 of its rows (a
DataFrame, so the model knows its columns) and saved. Each method then runs in its own
subprocess, which reports its peak resident memory (``VmHWM`` from ``/proc``, so Linux
only) and wall time:

* ``imports``: Python with drama, numpy, pandas and pyarrow imported, nothing read;
* ``in memory``: ``pd.read_parquet`` of the whole table, ``decision_function``, the scores
  written as Parquet;
* ``streamed, M``: ``drama.streaming.score_table(model, table, out, memory=M)``.

    python benchmarks/stream_memory.py [--rows 2000000] [--features 20]
        [--memory 64MB 256MB]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np, pandas as pd, pyarrow
from drama import load_detector
from drama.streaming import score_table
mode, model, table, out, memory = sys.argv[1:6]
if mode != "imports":
    det = load_detector(model)
    if mode == "memory":
        frame = pd.read_parquet(table)
        scores = det.decision_function(frame[[str(c) for c in det.feature_names_in_]])
        pd.DataFrame({"score": scores}).to_parquet(out)
    else:
        score_table(det, table, out, memory=memory)
# VmHWM: this process's own peak (ru_maxrss would keep the forking parent's across exec)
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mib": peak_kib / 1024}))
"""


def run(mode: str, model: Path, table: Path, out: Path, memory: str = "") -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(model), str(table),
                             str(out), memory], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--memory", nargs="+", default=["64MB", "256MB"])
    args = parser.parse_args()
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drama import Drama

    columns = [f"f{j}" for j in range(args.features)]
    with tempfile.TemporaryDirectory(prefix="drama-stream-") as folder:
        folder_path = Path(folder)
        table = folder_path / "table.parquet"
        rng = np.random.default_rng(0)
        with pq.ParquetWriter(table, pa.schema([(c, pa.float64()) for c in columns])) as out:
            for start in range(0, args.rows, 100_000):
                block = rng.normal(size=(min(100_000, args.rows - start), args.features))
                out.write_table(pa.Table.from_pandas(pd.DataFrame(block, columns=columns),
                                                     preserve_index=False))
        sample = pd.read_parquet(table).iloc[:: max(1, args.rows // 100_000)]
        model = folder_path / "model.npz"
        Drama(random_state=0).fit(sample).save(model)
        data_mib = args.rows * args.features * 8 / 2**20
        print(f"{args.rows} rows x {args.features} features ({data_mib:.0f} MiB as float64)")
        print("| method | peak RSS MiB | above imports MiB | seconds | rows / s |")
        print("|---|---|---|---|---|")
        base = run("imports", model, table, folder_path / "none")
        print(f"| imports | {base['peak_mib']:.0f} | 0 | {base['seconds']:.1f} | - |")
        rows = [("in memory", run("memory", model, table, folder_path / "m.parquet"))]
        for memory in args.memory:
            rows.append((f"streamed, {memory}",
                         run("stream", model, table, folder_path / "s.parquet", memory)))
        for name, result in rows:
            print(f"| {name} | {result['peak_mib']:.0f} | "
                  f"{result['peak_mib'] - base['peak_mib']:.0f} | {result['seconds']:.1f} | "
                  f"{args.rows / result['seconds']:,.0f} |", flush=True)
        same = np.array_equal(pd.read_parquet(folder_path / "m.parquet")["score"],
                              pd.read_parquet(folder_path / "s.parquet")["score"])
        print(f"\nstreamed scores identical to the in-memory ones: {same}")


if __name__ == "__main__":
    main()
