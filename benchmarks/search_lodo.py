"""How DramaSearch's label-free and few-label rules were chosen, leave-one-data-set-out.

For every ODDS set the issue's grid (4 reducers x 10 metrics x 3 levels, input space,
seed 0) is scored once by ``DramaSearch`` and its rank-normalised training scores are cached
(``--cache``, default ``~/.cache/drama/search-lodo``, about 4 GB). Richer pools are
cached too: the grid's latent space, trees on standardised or on robust-scaled instead of
min-max-scaled features, deeper trees (levels 1 to 5), and the default trees (levels 1-4)
scored with more or fewer leaves as prototypes (``min_leaf_share`` 0.03 or 0.25). Then, on
the cached ranks:

- **label-free rules** (AUC on all objects): the consensus at several shares, the same
  consensus combined with Fisher's method (mean of -log(1 - rank), which rewards objects
  extreme in a few configurations), a second consensus round, agreement-weighted averages,
  the consensus over the grid plus the latent or the standardised pool, and the
  consensus over levels 1-4 or 1-5 of the deep pool at several shares, and pools with
  the robust-scaled trees or the leaf-share pools;
- **a recommender** (meta-features -> rule): for the held-out set, the five training sets
  nearest in five label-free meta-features (log n, log d, median |skewness|, tail weight,
  share of discrete features; standardised on the training sets) vote with their mean AUC
  among eight rules (``RECOMMENDER_RULES``). k = 5 and the features were fixed before the
  first run; k = 3 and 8 show how much k matters, and a nested run chooses k among the
  three on the 24 training sets of each fold;
- **few-label rules** (the semi protocol of ``drama benchmark``: k labelled anomalies and
  half the inliers seen, AUC on the unseen objects, ``--draws`` draws): average of the
  ``top_k`` configurations by label AUC, kept only if it beats the consensus on the labels
  by ``guard`` standard errors; and that choice followed by the kernel relevance model of
  ``drama.kernel_relevance`` at several weights of the prior.

Each family's rule is then chosen on 24 sets and scored on the 25th: the mean over the 25
held-out sets is the honest estimate of a rule picked this way.

    python benchmarks/search_lodo.py [--data-dir DIR] [--cache DIR] [--draws 5] [--k 5]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _data import NO_ODDS, shared_folder
from scipy.stats import skew

from drama import DramaSearch
from drama.benchmark.runner import semi_split
from drama.datasets import load
from drama.datasets.folders import cache_dir
from drama.kernel_relevance import FeatureSpace, relevance_at
from drama.metrics import auc_score
from drama.search import auc_standard_error, consensus_weights, label_auc, parse_config

MAX_NORMALS = 500  # DramaSearch's max_labelled_normals
GRID_LEVELS = [1, 2, 3]  # the grid; the search's default is now levels 1-4
POOLS: dict[str, dict] = {
    "grid": {"levels": GRID_LEVELS, "ensemble_share": 0.7},
    "latent": {"reducers": ["pca", "ica", "nmf"], "spaces": ["latent"], "levels": GRID_LEVELS},
    "standard": {"reducers": ["none", "pca", "ica"], "drama_params": {"scaling": "standard"},
                 "levels": GRID_LEVELS},
    "deep": {"levels": [1, 2, 3, 4, 5]},
    "robust": {"reducers": ["none", "pca", "ica"], "drama_params": {"scaling": "robust"},
               "levels": GRID_LEVELS},
    # The default trees (levels 1-4) with more or fewer leaves counted as prototypes:
    # min_leaf_share changes only the scoring, so these are new configurations of the
    # same fitted trees (more local with 0.03, more global with 0.25).
    "leaf 0.03": {"drama_params": {"min_leaf_share": 0.03}},
    "leaf 0.25": {"drama_params": {"min_leaf_share": 0.25}},
}
LEAF_POOLS = ("leaf 0.03", "leaf 0.25")
DEPTHS = (4, 5)  # the deep pool's consensus is also taken over levels 1..depth


def cached_ranks(path: Path, cache: Path, pool: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(ranks (n, C), labels, configuration names) of one pool on one data set, computed
    once (caches written before the names were kept give an empty list)."""
    file = cache / f"{pool.replace(' ', '-')}_{path.stem}.npz"
    if not file.exists():
        X, y = load(path)
        search = DramaSearch(random_state=0, n_jobs=-1, stability_threshold=None,
                             **POOLS[pool]).fit(X)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(file, ranks=search.train_ranks_.astype(np.float32), y=y,
                 names=np.asarray(search.results_["config"], dtype=str))
    with np.load(file) as data:
        names = [str(n) for n in data["names"]] if "names" in data.files else []
        return data["ranks"].astype(np.float64), data["y"].astype(np.int64), names


SHARES = (0.3, 0.5, 0.7, 0.8, 1.0)


def consensus(ranks: np.ndarray, share: float = 0.7) -> np.ndarray:
    return ranks @ consensus_weights(ranks, share)[1]


def fisher(ranks: np.ndarray) -> np.ndarray:
    weights = consensus_weights(ranks, 0.7)[1]
    return -np.log(1.0 - ranks + 0.5 / len(ranks)) @ weights


def second_round(ranks: np.ndarray, share: float = 0.7) -> np.ndarray:
    """Re-select the share that agrees most with the first consensus, not the mean rank."""
    first = consensus(ranks, share)
    dev, centre = ranks - ranks.mean(axis=0), first - first.mean()
    corr = (centre @ dev) / np.maximum(np.linalg.norm(dev, axis=0) * np.linalg.norm(centre),
                                       1e-300)
    keep = np.argsort(-corr, kind="stable")[: int(round(share * ranks.shape[1]))]
    return ranks[:, keep].mean(axis=1)


def agreement_weighted(power: float) -> Callable[[np.ndarray], np.ndarray]:
    def run(ranks: np.ndarray) -> np.ndarray:
        weights = np.clip(consensus_weights(ranks, 1.0)[0], 0.0, None) ** power
        return ranks @ (weights / weights.sum())
    return run


LABEL_FREE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    **{f"consensus {q}": (lambda r, q=q: consensus(r, q)) for q in SHARES},
    "consensus 0.7 + Fisher": fisher,
    "consensus 0.7, second round": second_round,
    "agreement-weighted, power 4": agreement_weighted(4.0),
    "agreement-weighted, power 8": agreement_weighted(8.0),
}


def few_label_rules(ranks: np.ndarray, y: np.ndarray, k: int, draws: int,
                    space: FeatureSpace) -> dict[str, float]:
    """Mean unseen AUC over ``draws`` semi draws of every (top_k, guard) rule, and of the
    default rule (top 5, guard 0) followed by the kernel relevance model at several alphas,
    with the labelled anomalies and normals or with the anomalies alone."""
    cons = consensus(ranks)
    out: dict[str, list[float]] = {}
    for draw in range(draws):
        labels, unseen = semi_split(y, k, np.random.default_rng([0, k, draw]))
        anomalies, normals = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        auc = label_auc(ranks, anomalies, normals)
        order = np.argsort(-auc, kind="stable")
        def held(scores: np.ndarray, part: np.ndarray = unseen) -> float:
            return auc_score(y[part], scores[part])

        out.setdefault("label-free consensus", []).append(held(cons))
        for top in (1, 3, 5, 10):
            chosen = ranks[:, order[:top]].mean(axis=1)
            a_top, a_cons = label_auc(np.column_stack([chosen, cons]), anomalies, normals)
            se = float(auc_standard_error(np.array([a_cons]), len(anomalies), len(normals))[0])
            out.setdefault(f"top {top}, no guard", []).append(held(chosen))
            for guard in (0.0, 1.0):
                keep = a_top > a_cons + guard * se
                out.setdefault(f"top {top}, guard {guard:g} SE", []).append(
                    held(chosen) if keep else held(cons))
                if top == 5 and guard == 0.0:
                    base = chosen if keep else cons
        if len(normals) > MAX_NORMALS:  # as DramaSearch samples them (its random_state=0)
            normals = np.sort(np.random.default_rng(0).choice(normals, MAX_NORMALS,
                                                              replace=False))
        for who, idx, y_known in (
            ("anomalies and normals", np.r_[anomalies, normals],
             np.r_[np.ones(len(anomalies)), np.zeros(len(normals))]),
            ("anomalies only", anomalies, np.ones(len(anomalies))),
        ):
            for alpha in (0.5, 2.0, 8.0):
                scores = relevance_at(space.coords, space.coords[idx], y_known, base,
                                      space.bandwidth, alpha)
                out.setdefault(f"top 5, guard 0 SE, relevance to {who}, alpha {alpha:g}",
                               []).append(held(scores))
    return {rule: float(np.mean(v)) for rule, v in out.items()}


NEIGHBOURS = (5, 3, 8)
RECOMMENDER_RULES = (
    "consensus 0.7", "consensus 0.5", "consensus 0.7, robust pool",
    "consensus 0.5, grid + robust pool", "consensus 0.7, grid + robust pool",
    "consensus 0.7, grid + standard pool", "consensus 0.5, levels 1-4",
    "consensus 0.5, levels 1-4 + robust pool",
)


def meta_features(X: np.ndarray) -> dict[str, float]:
    """Label-free descriptors of a data set: size, width, skewness, tail weight (how far
    the 1st / 99th percentile lies from the median in interquartile ranges; heavy tails are
    what min-max scaling handles worst) and the share of features with at most 10 values."""
    X = np.asarray(X, dtype=np.float64)
    varying = X[:, X.std(axis=0) > 0]
    low, q1, median, q3, high = np.percentile(varying, [1, 25, 50, 75, 99], axis=0)
    iqr = np.maximum(q3 - q1, 1e-12 * (np.abs(high) + 1.0))
    tail = np.median(np.maximum(high - median, median - low) / iqr)
    return {"log n": float(np.log(len(X))), "log d": float(np.log(X.shape[1])),
            "median |skewness|": float(np.median(np.abs(skew(varying, axis=0)))),
            "tail weight": float(np.log1p(min(tail, 1e6))),
            "discrete share": float(np.mean([len(np.unique(c)) <= 10 for c in varying.T]))}


def recommend(table: pd.DataFrame, meta: pd.DataFrame, held_out: str, k: int) -> str:
    """The rule that the k training sets nearest to ``held_out`` (standardised
    meta-features, ``held_out`` itself excluded) score best on average."""
    train = meta.drop(index=held_out)
    centre, scale = train.mean(), train.std().replace(0.0, 1.0)
    gaps = ((train - centre) / scale - (meta.loc[held_out] - centre) / scale) ** 2
    nearest = np.sqrt(gaps.sum(axis=1)).nsmallest(k).index
    return str(table.loc[nearest].mean().idxmax())


def recommend_lodo(table: pd.DataFrame, meta: pd.DataFrame, k: int) -> tuple[float, list[str]]:
    """Held-out mean of the recommended rule over all folds, and the picks."""
    picks = [recommend(table, meta, name, k) for name in table.index]
    return float(np.mean([table.loc[n, p] for n, p in zip(table.index, picks, strict=True)])), picks


def nested_recommend_lodo(table: pd.DataFrame, meta: pd.DataFrame) -> tuple[float, list[int]]:
    """The recommender with k chosen among ``NEIGHBOURS`` by a leave-one-out inside the
    training sets of each fold, so the held-out set plays no part in choosing k."""
    values, chosen = [], []
    for name in table.index:
        inner_table, inner_meta = table.drop(index=name), meta.drop(index=name)
        k = max(NEIGHBOURS, key=lambda k: recommend_lodo(inner_table, inner_meta, k)[0])
        values.append(table.loc[name, recommend(table, meta, name, k)])
        chosen.append(k)
    return float(np.mean(values)), chosen


def lodo(table: pd.DataFrame) -> tuple[float, list[str]]:
    """Held-out mean of the column picked on the other rows, and the picks."""
    values, picks = [], []
    for name in table.index:
        pick = table.drop(index=name).mean().idxmax()
        values.append(table.loc[name, pick])
        picks.append(pick)
    return float(np.mean(values)), picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--cache", type=Path, default=cache_dir() / "search-lodo")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit(NO_ODDS)
    files = sorted((p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz")),
                   key=lambda p: p.stat().st_size)
    free, few, meta = {}, {}, {}
    for path in files:
        ranks, y, _ = cached_ranks(path, args.cache, "grid")
        row = {name: auc_score(y, rule(ranks)) for name, rule in LABEL_FREE.items()}
        for pool in ("latent", "standard"):
            extra, _, _ = cached_ranks(path, args.cache, pool)
            row[f"consensus 0.7, grid + {pool} pool"] = auc_score(
                y, consensus(np.hstack([ranks, extra])))
        deep, _, names = cached_ranks(path, args.cache, "deep")
        if not names:
            raise SystemExit(f"The deep-pool cache of {path.stem} has no configuration names; "
                             f"delete {args.cache / f'deep_{path.stem}.npz'} to rebuild it.")
        level = np.array([parse_config(n)["level"] for n in names])
        for depth in DEPTHS:
            for share in SHARES:
                row[f"consensus {share}, levels 1-{depth}"] = auc_score(
                    y, consensus(deep[:, level <= depth], share))
        robust, _, _ = cached_ranks(path, args.cache, "robust")
        row["consensus 0.7, robust pool"] = auc_score(y, consensus(robust))
        for share in (0.5, 0.7):
            row[f"consensus {share}, grid + robust pool"] = auc_score(
                y, consensus(np.hstack([ranks, robust]), share))
        row["consensus 0.5, levels 1-4 + robust pool"] = auc_score(
            y, consensus(np.hstack([deep[:, level <= 4], robust]), 0.5))
        for pool in LEAF_POOLS:
            leaf, _, _ = cached_ranks(path, args.cache, pool)
            row[f"consensus 0.5, {pool} pool"] = auc_score(y, consensus(leaf, 0.5))
            row[f"consensus 0.5, levels 1-4 + {pool} pool"] = auc_score(
                y, consensus(np.hstack([deep[:, level <= 4], leaf]), 0.5))
        free[path.stem] = row
        X = load(path)[0]
        meta[path.stem] = meta_features(X)
        space = FeatureSpace.build(X, random_state=0)
        few[path.stem] = few_label_rules(ranks, y, args.k, args.draws, space)
        print(f"{path.stem}: done", flush=True)
    for title, table in (("Label-free rules: AUC on all objects", pd.DataFrame(free).T),
                         (f"Few-label rules, k = {args.k}, {args.draws} draws: unseen AUC",
                          pd.DataFrame(few).T)):
        print(f"\n## {title} (mean over {len(table)} ODDS sets)\n")
        print("| rule | mean AUC |\n|---|---|")
        for rule, value in table.mean().items():
            print(f"| {rule} | {value:.4f} |")
        families = {"any rule above": list(table.columns)}
        if "consensus 0.7" in table:
            families["the share alone"] = [c for c in table.columns
                                           if c.startswith("consensus 0.") and "," not in c
                                           and "+" not in c] + ["consensus 1.0"]
        if "consensus 0.7, levels 1-4" in table:
            depth = [c for c in table.columns if ", levels 1-" in c and "pool" not in c]
            families["the share and the depth (levels 1-3, 1-4 or 1-5)"] = \
                families["the share alone"] + depth
            families["the share, the depth and the robust-scaled pool"] = \
                families["the share alone"] + depth + [c for c in table.columns if "robust" in c]
            families["the share, the depth and the leaf-share pools"] = \
                families["the share alone"] + depth + [c for c in table.columns if "leaf" in c]
        for family, columns in families.items():
            held, picks = lodo(table[columns])
            counts = pd.Series(picks).value_counts()
            chosen = ", ".join(f"{rule} ({n})" for rule, n in counts.items())
            print(f"| **{family}, chosen leave-one-data-set-out** (picks: {chosen}) | "
                  f"**{held:.4f}** |")
    table, meta_table = pd.DataFrame(free).T, pd.DataFrame(meta).T
    print("\n## The recommender: meta-features -> one of "
          f"{len(RECOMMENDER_RULES)} label-free rules, leave-one-data-set-out\n")
    print("| neighbours k | held-out mean AUC | picks |\n|---|---|---|")
    rules = table[list(RECOMMENDER_RULES)]
    for k in NEIGHBOURS:
        held, picks = recommend_lodo(rules, meta_table, k)
        counts = ", ".join(f"{rule} ({n})" for rule, n in pd.Series(picks).value_counts().items())
        print(f"| {k}{' (fixed in advance)' if k == 5 else ''} | {held:.4f} | {counts} |")
    held, ks = nested_recommend_lodo(rules, meta_table)
    counts = ", ".join(f"k = {k} ({n})" for k, n in pd.Series(ks).value_counts().items())
    print(f"| **k chosen on the 24 training sets by an inner leave-one-out** | **{held:.4f}** | "
          f"{counts} |")


if __name__ == "__main__":
    main()
