"""How the default configuration was chosen, and what that choice is worth on unseen data.

Scores a grid of fixed configurations (reducer x level x metric x min_leaf_share) on the
ODDS sets, then evaluates "pick the configuration with the best mean AUC" leave-one-data-
set-out: for each data set, the pick is made on the other 24 and scored on the held-out one.
The mean of those held-out AUCs is the honest estimate for a default chosen this way.

    python benchmarks/default_lodo.py [--data-dir DIR] [--csv FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from _data import NO_ODDS, shared_folder

from drama import Drama
from drama.datasets import load
from drama.metrics import auc_score

REDUCERS = ("none", "pca", "nmf")
METRICS = ("l2", "l1", "wl2", "mahalanobis")
SHARES = (0.0, 0.02, 0.05, 0.1, 0.2)


def grid(X: np.ndarray, y: np.ndarray, name: str) -> list[dict]:
    rows = []
    for reducer in REDUCERS:
        det = Drama(reducer=reducer, n_levels=3, keep_covariance=True, random_state=0).fit(X)
        tree, scaled = det.tree_, det.scaler_.transform(X)
        for share in SHARES:
            tree.min_leaf_share = share
            for (level, metric), scores in tree.level_scores(scaled, list(METRICS),
                                                             [1, 2, 3]).items():
                rows.append({"dataset": name, "reducer": reducer, "level": level,
                             "metric": metric, "min_leaf_share": share,
                             "auc": auc_score(y, scores)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--csv", type=Path, help="write the whole grid here")
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit(NO_ODDS)
    rows = []
    for path in sorted(p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz")):
        X, y = load(path)
        rows += grid(X, y, path.stem)
        print(f"scored {path.stem}", flush=True)
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    config = ["reducer", "level", "metric", "min_leaf_share"]
    wide = table.pivot_table(index=config, columns="dataset", values="auc")
    print("\nBest fixed configurations by mean AUC over all data sets (in-sample):")
    print(wide.mean(axis=1).sort_values(ascending=False).head(10).round(3).to_string())
    held_out = {}
    for dataset in wide.columns:
        pick = wide.drop(columns=dataset).mean(axis=1).idxmax()
        held_out[dataset] = (pick, wide.loc[pick, dataset])
    print("\nLeave-one-data-set-out: configuration picked on the others, AUC on the held-out")
    for dataset, (pick, auc) in held_out.items():
        plain = tuple(v.item() if isinstance(v, np.generic) else v for v in pick)
        print(f"  {dataset:12s} {plain}  {auc:.3f}")
    print(f"LODO mean AUC: {np.mean([auc for _, auc in held_out.values()]):.3f}")


if __name__ == "__main__":
    main()
