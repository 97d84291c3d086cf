"""How DramaSearch's label-free and few-label rules were chosen, leave-one-data-set-out.

For every ODDS set the whole default grid (4 reducers x 10 metrics x 3 levels, input space,
seed 0) is scored once by ``DramaSearch`` and its rank-normalised training scores are cached
(``--cache``, default ``~/.cache/drama/search-lodo``, about 2 GB). Three richer pools are
cached too: the grid's latent space, trees on standardised instead of min-max-scaled
features, and deeper trees (levels 1 to 5). Then, on the cached ranks:

- **label-free rules** (AUC on all objects): the consensus at several shares, the same
  consensus combined with Fisher's method (mean of -log(1 - rank), which rewards objects
  extreme in a few configurations), a second consensus round, agreement-weighted averages,
  the consensus over the grid plus the latent or the standardised pool, and the
  consensus over levels 1-4 or 1-5 of the deep pool at several shares;
- **few-label rules** (the semi protocol of ``drama benchmark``: k labelled anomalies and
  half the inliers seen, AUC on the unseen objects, ``--draws`` draws): average of the
  ``top_k`` configurations by label AUC, kept only if it beats the consensus on the labels
  by ``guard`` standard errors; and that choice followed by the kernel relevance model of
  ``drama.relevance`` at several weights of the prior.

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

from drama import DramaSearch
from drama.benchmark.runner import semi_split
from drama.datasets import load, odds_dir
from drama.datasets.folders import cache_dir
from drama.metrics import auc_score
from drama.relevance import FeatureSpace, relevance_at
from drama.search import auc_standard_error, consensus_weights, label_auc, parse_config

MAX_NORMALS = 500  # DramaSearch's max_labelled_normals
POOLS: dict[str, dict] = {
    "grid": {},
    "latent": {"reducers": ["pca", "ica", "nmf"], "spaces": ["latent"]},
    "standard": {"reducers": ["none", "pca", "ica"], "drama_params": {"scaling": "standard"}},
    "deep": {"levels": [1, 2, 3, 4, 5]},
}
DEPTHS = (4, 5)  # the deep pool's consensus is also taken over levels 1..depth


def cached_ranks(path: Path, cache: Path, pool: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(ranks (n, C), labels, configuration names) of one pool on one data set, computed
    once (caches written before the names were kept give an empty list)."""
    file = cache / f"{pool}_{path.stem}.npz"
    if not file.exists():
        X, y = load(path)
        search = DramaSearch(random_state=0, n_jobs=-1, **POOLS[pool]).fit(X)
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
    parser.add_argument("--data-dir", type=Path, default=odds_dir())
    parser.add_argument("--cache", type=Path, default=cache_dir() / "search-lodo")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit("No ODDS folder: pass --data-dir or set DRAMA_ODDS_DIR.")
    files = sorted((p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz")),
                   key=lambda p: p.stat().st_size)
    free, few = {}, {}
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
        free[path.stem] = row
        space = FeatureSpace.build(load(path)[0], random_state=0)
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
            families["the share and the depth (levels 1-3, 1-4 or 1-5)"] = \
                families["the share alone"] + [c for c in table.columns if ", levels 1-" in c]
        for family, columns in families.items():
            held, picks = lodo(table[columns])
            counts = pd.Series(picks).value_counts()
            chosen = ", ".join(f"{rule} ({n})" for rule, n in counts.items())
            print(f"| **{family}, chosen leave-one-data-set-out** (picks: {chosen}) | "
                  f"**{held:.4f}** |")


if __name__ == "__main__":
    main()
