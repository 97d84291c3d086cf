"""Wall time of the full linear grid on the ODDS sets: 4 reducers x 10 metrics x 3 levels.

One ``DramaSearch`` per data set (one tree per reducer, reducers fitted in parallel, every
configuration scored on all objects). Prints per-data-set seconds and the total; the
target is under 10 minutes for all 25 sets on a 2-core machine. ``--levels 4
--stability-threshold 0.97 --n-jobs 1`` times the search's defaults instead, that is
``DramaSearch(random_state=0).fit(X)`` (levels 1-4, and the second seed's trees of the
stability filter).

``--scores DIR`` saves every set's consensus scores (``decision_scores_``); ``--compare DIR``
checks them against scores an earlier run saved (for instance of an older checkout, run with
``PYTHONPATH=/path/to/old/src``): the largest difference and whether the rankings are equal.

    python benchmarks/grid_timing.py [--data-dir DIR] [--n-jobs -1] [--levels 3]
        [--stability-threshold T] [--sets a b ...] [--scores DIR] [--compare DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _data import shared_folder
from scipy.stats import rankdata

from drama.benchmark import odds_tasks
from drama.search import DramaSearch


def compare(name: str, scores: np.ndarray, folder: Path) -> str:
    """How far ``scores`` are from those saved for ``name`` in ``folder``."""
    file = folder / f"{name}.npy"
    if not file.exists():
        return "no saved scores"
    before = np.load(file)
    gap = float(np.max(np.abs(before - scores)))
    same = np.array_equal(rankdata(before), rankdata(scores))
    return f"max |diff| {gap:.1e}, ranks {'equal' if same else 'DIFFER'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--levels", type=int, default=3, help="levels 1..LEVELS")
    parser.add_argument("--stability-threshold", type=float, default=None,
                        help="fit the second seed's trees too (default: the grid alone)")
    parser.add_argument("--sets", nargs="*", default=None, help="ODDS names (default: all)")
    parser.add_argument("--scores", type=Path, default=None, help="save the scores here")
    parser.add_argument("--compare", type=Path, default=None,
                        help="compare the scores with those saved here")
    args = parser.parse_args()
    if args.scores is not None:
        args.scores.mkdir(parents=True, exist_ok=True)
    total = 0.0
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()}")
    for task in odds_tasks(args.data_dir, args.sets):
        X, _ = task.load()
        start = time.perf_counter()
        search = DramaSearch(levels=list(range(1, args.levels + 1)), n_jobs=args.n_jobs,
                             stability_threshold=args.stability_threshold,
                             random_state=0).fit(X)
        seconds = time.perf_counter() - start
        total += seconds
        line = (f"{task.name:12s} {X.shape[0]:7d} x {X.shape[1]:4d}  {len(search.results_):3d} "
                f"configurations  {seconds:7.1f} s  (total {total:7.1f} s)")
        if args.compare is not None:
            line += "  " + compare(task.name, search.decision_scores_, args.compare)
        print(line, flush=True)
        if args.scores is not None:
            np.save(args.scores / f"{task.name}.npy", search.decision_scores_)
    print(f"TOTAL {total:.1f} s = {total / 60:.2f} min; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
