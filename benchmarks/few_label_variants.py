"""What a few labels do to the default search, by selection option and relevance space.

For every data set of the ODDS and embedding folders (sets with more than ``--max-rows``
objects are skipped: ``select`` with thousands of labelled normals costs seconds a draw on
them) the default ``DramaSearch(random_state=0)`` is fitted once without labels per
relevance space (``robust``, ``whitened``), then, for each draw of ``drama benchmark
--protocol semi`` (half of the normals and k anomalies labelled; judged on the other
objects), re-selected with the labels under each variant of the selection options. Prints
the mean AUC on the unseen objects per group and variant, and the variant chosen
leave-one-group-out (groups as in ``pool_logo.py``: each set alone, the MVTec sets
together) by mean AUC on the other groups: once among the two relevance spaces with the
other options at their defaults (the study that set ``relevance_space``), once among every
variant.

    python benchmarks/few_label_variants.py [--k 5] [--draws 10]

Variants: the defaults (top 5 configurations by label AUC, guard 0, relevance model at
alpha 0.5); the label-free blend kept (``guard_se`` huge); relevance at alpha 0.1; each in
both relevance spaces; and without the relevance model.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from _data import shared_folder
from pool_logo import group_of, minmax

from drama import DramaSearch
from drama.benchmark.runner import semi_split
from drama.datasets import load
from drama.metrics import auc_score

DEFAULTS = {"top_k": 5, "guard_se": 0.0, "relevance_alpha": 0.5}
OPTIONS = {
    "defaults": {},
    "label-free kept": {"guard_se": 1e9},
    "alpha 0.1": {"relevance_alpha": 0.1},
    "label-free kept, alpha 0.1": {"guard_se": 1e9, "relevance_alpha": 0.1},
}
SPACES = ("robust", "whitened")
VARIANTS = {(space, name): options for space in SPACES for name, options in OPTIONS.items()}
VARIANTS[("robust", "no relevance")] = {"relevance_alpha": None}
VARIANTS[("robust", "label-free kept, no relevance")] = {"guard_se": 1e9,
                                                         "relevance_alpha": None}


def draws_auc(search: DramaSearch, X: np.ndarray, y: np.ndarray, options: dict, k: int,
              draws: int) -> float:
    """Mean AUC on the unseen objects over the semi protocol's draws."""
    aucs = []
    for draw in range(draws):
        labels, unseen = semi_split(y, k, np.random.default_rng([0, k, draw]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            search.set_params(**{**DEFAULTS, **options}).select(labels)
        aucs.append(auc_score(y[unseen], search.decision_scores_[unseen]))
    return float(np.mean(aucs))


def few_label_sets(k: int, max_rows: int) -> Iterator[tuple[str, Path, np.ndarray, np.ndarray]]:
    """(folder, path, min-max scaled X, y) of every ODDS and embedding set with more than
    ``k`` anomalies and at most ``max_rows`` objects."""
    for folder_name in ("odds", "embeddings"):
        folder = shared_folder(folder_name)
        if folder is None:
            raise SystemExit(f"No {folder_name}/ folder: set DRAMA_DATA to the data folder.")
        for path in sorted(p for p in folder.iterdir() if p.suffix in (".mat", ".npz")):
            X, y = load(path)
            if y is not None and (y == 1).sum() > k and len(y) <= max_rows:
                yield folder_name, path, minmax(X), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--max-rows", type=int, default=40000)
    args = parser.parse_args()
    per: dict[tuple, dict[str, float]] = {v: {} for v in VARIANTS}
    group: dict[str, str] = {}
    for folder_name, path, X, y in few_label_sets(args.k, args.max_rows):
        group[path.stem] = folder_name
        for space in SPACES:
            search = DramaSearch(relevance_space=space, random_state=0,
                                 contamination=None).fit(X)
            for variant, options in VARIANTS.items():
                if variant[0] == space:
                    per[variant][path.stem] = draws_auc(search, X, y, options, args.k,
                                                        args.draws)
        print(path.stem + ": " + ", ".join(f"{'/'.join(v)} {per[v][path.stem]:.3f}"
                                           for v in VARIANTS), file=sys.stderr, flush=True)
    names = list(group)
    rows = {" / ".join(v): per[v] for v in VARIANTS}
    picked = []
    for label, candidates in (("the relevance space", [(sp, "defaults") for sp in SPACES]),
                              ("every variant", list(VARIANTS))):
        held, picks = choose_by_group(per, names, candidates)
        rows[f"**{label} chosen leave-one-group-out**"] = held
        picked.append(f"{label}: " + "; ".join(f"{' / '.join(v)} {c}"
                                                for v, c in picks.most_common()))
    counts = {f: sum(group[n] == f for n in names) for f in ("odds", "embeddings")}
    print(f"| mean AUC on unseen objects, k = {args.k}, {args.draws} draws | "
          f"ODDS ({counts['odds']}) | embeddings ({counts['embeddings']}) | all |")
    print("|---|---|---|---|")
    for label, values in rows.items():
        cells = [np.mean([values[n] for n in names if group[n] == f])
                 for f in ("odds", "embeddings")] + [np.mean([values[n] for n in names])]
        print(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    print("\nPicked in the folds, " + "; ".join(picked))


def choose_by_group(per: dict[tuple, dict[str, float]], names: list[str],
                    candidates: list[tuple]) -> tuple[dict[str, float], Counter]:
    """Held-out AUC per set when each group gets the candidate best on the others."""
    held: dict[str, float] = {}
    picks: Counter = Counter()
    groups = {n: group_of(n) for n in names}
    for g in sorted(set(groups.values())):
        train = [n for n in names if groups[n] != g]
        best = max(candidates, key=lambda v: np.mean([per[v][n] for n in train]))
        picks[best] += 1
        held.update({n: per[best][n] for n in names if groups[n] == g})
    return held, picks

if __name__ == "__main__":
    main()
