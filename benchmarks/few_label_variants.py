"""What a few labels do to the default search, by selection option, on the semi protocol.

For every data set of a folder (``.mat``/``.npz`` with labels; sets with more than
``--max-rows`` objects are skipped, as ``select`` with thousands of labelled normals on
them costs seconds a draw): the default ``DramaSearch(random_state=0)`` is fitted once
without labels, then, for each draw of ``drama benchmark --protocol semi`` (half of the
normals and k anomalies labelled; judged on the other objects), re-selected with the labels
under each variant of the selection options. No tree is refitted, so every variant sees the
same fit. Prints the mean AUC on the unseen objects per set and over the folder.

    python benchmarks/few_label_variants.py odds
    python benchmarks/few_label_variants.py embeddings

Variants: the defaults (top 5 configurations by label AUC, guard 0, relevance model at
alpha 0.5); without the relevance model; the label-free choice kept (``guard_se`` huge)
with and without it; relevance at alpha 0.1 and 2; top 1, 10 and 20.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
from _data import shared_folder

from drama import DramaSearch
from drama.benchmark.runner import semi_split
from drama.datasets import load
from drama.metrics import auc_score

DEFAULTS = {"top_k": 5, "guard_se": 0.0, "relevance_alpha": 0.5}
VARIANTS = {
    "defaults": {},
    "no relevance": {"relevance_alpha": None},
    "label-free kept": {"guard_se": 1e9},
    "label-free kept, no relevance": {"guard_se": 1e9, "relevance_alpha": None},
    "alpha 0.1": {"relevance_alpha": 0.1},
    "alpha 2": {"relevance_alpha": 2.0},
    "top 1": {"top_k": 1},
    "top 10": {"top_k": 10},
    "top 20": {"top_k": 20},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a folder of the data folder, e.g. odds or embeddings")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--max-rows", type=int, default=40000)
    args = parser.parse_args()
    folder = shared_folder(args.folder)
    if folder is None:
        raise SystemExit(f"No {args.folder}/ folder: set DRAMA_DATA to the data folder.")
    means: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".mat", ".npz")):
        X, y = load(path)
        if y is None or (y == 1).sum() <= args.k or len(y) > args.max_rows:
            continue
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        span = np.ptp(X, axis=0)
        X = (X - X.min(axis=0)) / np.where(span > 0, span, 1.0)
        search = DramaSearch(random_state=0, contamination=None).fit(X)
        per: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for draw in range(args.draws):
            labels, unseen = semi_split(y, args.k, np.random.default_rng([0, args.k, draw]))
            for variant, options in VARIANTS.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    search.set_params(**{**DEFAULTS, **options}).select(labels)
                per[variant].append(auc_score(y[unseen], search.decision_scores_[unseen]))
        for variant in VARIANTS:
            means[variant].append(float(np.mean(per[variant])))
        print(f"{path.stem}: " + ", ".join(f"{v} {np.mean(per[v]):.3f}" for v in VARIANTS),
              file=sys.stderr, flush=True)
    print(f"| mean AUC on unseen objects, {len(means['defaults'])} sets of {args.folder}, "
          f"k = {args.k}, {args.draws} draws | |\n|---|---|")
    for variant in VARIANTS:
        print(f"| {variant} | {np.mean(means[variant]):.3f} |")


if __name__ == "__main__":
    main()
