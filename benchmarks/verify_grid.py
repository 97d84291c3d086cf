"""Check that every linear reducer x metric x level 1-3 x space gives finite scores on
every ODDS data set, and that a second fit with the same random_state repeats them exactly.

    python benchmarks/verify_grid.py [--data-dir DIR] [--reducers none pca ica nmf]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _data import NO_ODDS, shared_folder

from drama import Drama
from drama.datasets import load


def grid_scores(X: np.ndarray, reducer: str) -> np.ndarray:
    det = Drama(reducer=reducer, n_levels=3, keep_covariance=True, random_state=0).fit(X)
    return np.hstack([det.score_levels(X, space=space).to_numpy() for space in ("input", "latent")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--reducers", nargs="+", default=["none", "pca", "ica", "nmf"])
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit(NO_ODDS)
    failures = 0
    print("| dataset | reducer | configurations | all finite | repeats exactly | seconds |")
    print("|---|---|---|---|---|---|")
    for path in sorted(p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz")):
        X, _ = load(path)
        for reducer in args.reducers:
            start = time.perf_counter()
            first, second = grid_scores(X, reducer), grid_scores(X, reducer)
            finite, same = bool(np.isfinite(first).all()), bool(np.array_equal(first, second))
            failures += not (finite and same)
            print(f"| {path.stem} | {reducer} | {first.shape[1]} | {finite} | {same} | "
                  f"{time.perf_counter() - start:.1f} |", flush=True)
    print(f"{failures} failing (data set, reducer) pairs")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
