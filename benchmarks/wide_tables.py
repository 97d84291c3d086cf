"""The command line's cost on very wide tables, against the Python API on the same file.

For each width, a CSV of 20 rows is written; then, in this one process, it is scored
once through ``drama score`` (typer's runner: reading, checks, fitting, writing the scores
and their record) and once through the API (``pandas.read_csv`` and ``Drama.fit``), both
with the single configuration ``none | l2 | 2``. Prints both times and their ratio; the
command line should cost at most twice the API.

    python benchmarks/wide_tables.py [--widths 10000 50000] [--rows 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from drama import Drama
from drama.cli import app

ONE = ["--reducer", "none", "--metric", "l2", "--levels", "2"]


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args()
    runner = CliRunner()
    print("| columns | CLI s | API s | CLI / API |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for width in args.widths:
            path = Path(folder) / f"wide{width}.csv"
            rng = np.random.default_rng(0)
            pd.DataFrame(rng.normal(size=(args.rows, width)),
                         columns=[f"c{i}" for i in range(width)]).to_csv(path, index=False)
            out = Path(folder) / "scores.csv"

            def cli(path=path, out=out) -> None:
                result = runner.invoke(app, ["score", str(path), "-o", str(out), *ONE])
                assert result.exit_code == 0, result.output

            def api(path=path) -> None:
                Drama(random_state=0, contamination=0.05).fit(pd.read_csv(path))

            cli()  # warm: imports and first-call costs
            cli_s, api_s = _seconds(cli), _seconds(api)
            print(f"| {width} | {cli_s:.2f} | {api_s:.2f} | {cli_s / api_s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
