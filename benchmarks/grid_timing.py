"""Wall time of the full linear grid on the ODDS sets: 4 reducers x 10 metrics x 3 levels.

One ``DramaSearch`` per data set (one tree per reducer, reducers fitted in parallel, every
configuration scored on all objects). Prints per-data-set seconds and the total; the
target is under 10 minutes for all 25 sets on a 2-core machine. ``--levels 4
--stability-threshold 0.97`` times the search's defaults instead (levels 1-4, and the
second seed's trees of the stability filter).

    python benchmarks/grid_timing.py [--data-dir DIR] [--n-jobs -1] [--levels 3]
        [--stability-threshold T]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _data import shared_folder

from drama.benchmark import odds_tasks
from drama.search import DramaSearch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--levels", type=int, default=3, help="levels 1..LEVELS")
    parser.add_argument("--stability-threshold", type=float, default=None,
                        help="fit the second seed's trees too (default: the grid alone)")
    args = parser.parse_args()
    total = 0.0
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()}")
    for task in odds_tasks(args.data_dir):
        X, _ = task.load()
        start = time.perf_counter()
        search = DramaSearch(levels=list(range(1, args.levels + 1)), n_jobs=args.n_jobs,
                             stability_threshold=args.stability_threshold,
                             random_state=0).fit(X)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{task.name:12s} {X.shape[0]:7d} x {X.shape[1]:4d}  {len(search.results_):3d} "
              f"configurations  {seconds:7.1f} s  (total {total:7.1f} s)", flush=True)
    print(f"TOTAL {total:.1f} s = {total / 60:.2f} min; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
