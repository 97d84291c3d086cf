"""How DramaSearch's ``stability_threshold`` was chosen, leave-one-data-set-out.

For every ODDS set the default search pool (4 reducers x 10 metrics x levels 1-4, input
space) is fitted without the stability filter at every seed S of ``--seeds`` and at S + 1
(seeds 0 to 3 by default), and the rank-normalised training scores are cached
(``--cache``, default ``~/.cache/drama/stability-lodo``, about 0.7 GB per seed). For each
pair (S, S + 1), as ``DramaSearch(random_state=S)`` pairs them, a configuration's
*stability* is the correlation of its ranks under the two seeds. The
label-free consensus is then taken over the configurations at least as stable as a
threshold (always at least the 5 most stable), and its AUC on all objects is printed per
threshold. Two choices are scored leave-one-data-set-out (picked on 24 sets, scored on
the 25th): the threshold alone, at the default share and depth; and the threshold, the
share and the depth (levels 1-3 or 1-4) together.

    python benchmarks/stability_lodo.py [--data-dir DIR] [--cache DIR] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from _data import NO_ODDS, shared_folder
from search_lodo import lodo  # run as a script, benchmarks/ is on the path

from drama import DramaSearch
from drama.datasets import load
from drama.datasets.folders import cache_dir
from drama.metrics import auc_score
from drama.search import consensus_weights, parse_config, rank_correlation, stable_pool

THRESHOLDS = (None, 0.8, 0.9, 0.95, 0.97, 0.99)
SHARES = (0.3, 0.5, 0.7, 0.8, 1.0)
DEPTHS = (3, 4)
DEFAULT = (4, 0.5)  # DramaSearch's depth and ensemble_share


def cached_ranks(path: Path, cache: Path, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(ranks (n, C), labels, configuration names) of the default pool at one seed."""
    file = cache / f"seed{seed}_{path.stem}.npz"
    if not file.exists():
        X, y = load(path)
        search = DramaSearch(stability_threshold=None, n_jobs=-1, random_state=seed).fit(X)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(file, ranks=search.train_ranks_.astype(np.float32), y=y,
                 names=np.asarray(search.results_["config"], dtype=str))
    with np.load(file) as data:
        return (data["ranks"].astype(np.float64), data["y"].astype(np.int64),
                [str(n) for n in data["names"]])


def rule_aucs(ranks: np.ndarray, partner: np.ndarray, y: np.ndarray,
              level: np.ndarray) -> dict[tuple[int, float, str], float]:
    """AUC of the consensus for every (depth, share, threshold)."""
    out = {}
    for depth in DEPTHS:
        cols = level <= depth
        own, other = ranks[:, cols], partner[:, cols]
        stability = np.array([rank_correlation(own[:, j], other[:, j])
                              for j in range(own.shape[1])])
        for threshold in THRESHOLDS:
            pool = None if threshold is None else stable_pool(stability, threshold)
            for share in SHARES:
                weights = consensus_weights(own, share, pool)[1]
                out[(depth, share, str(threshold))] = auc_score(y, own @ weights)
    return out


def held_out(table: pd.DataFrame) -> tuple[float, pd.Series]:
    """``search_lodo.lodo``'s held-out mean, and how often each (depth, share, threshold)
    was picked."""
    held, picks = lodo(table)
    names = [", ".join(str(getattr(v, "item", lambda v=v: v)()) for v in p) for p in picks]
    return held, pd.Series(names).value_counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--cache", type=Path, default=cache_dir() / "stability-lodo")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit(NO_ODDS)
    files = sorted(p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz"))
    pairs = [(s, s + 1) for s in args.seeds]
    rows: dict[tuple[int, int], dict[str, dict]] = {pair: {} for pair in pairs}
    for path in files:
        ranks = {s: cached_ranks(path, args.cache, s)
                 for s in sorted({s for pair in pairs for s in pair})}
        y, names = ranks[pairs[0][0]][1], ranks[pairs[0][0]][2]
        level = np.array([parse_config(n)["level"] for n in names])
        for a, b in pairs:
            if ranks[a][2] != ranks[b][2]:
                raise SystemExit(f"{path.stem}: seeds {a} and {b} scored other configurations")
            rows[(a, b)][path.stem] = rule_aucs(ranks[a][0], ranks[b][0], y, level)
        print(f"{path.stem}: done", flush=True)
    summary = []
    for (a, b), per_set in rows.items():
        table = pd.DataFrame(per_set).T
        depth, share = DEFAULT
        print(f"\n## Seeds {a} and {b}: mean AUC over {len(table)} ODDS sets "
              f"(levels 1-{depth}, share {share})\n")
        print("| stability threshold | mean AUC |\n|---|---|")
        for threshold in THRESHOLDS:
            print(f"| {threshold} | {table[(depth, share, str(threshold))].mean():.4f} |")
        alone, alone_picks = held_out(
            table.loc[:, [(depth, share, str(t)) for t in THRESHOLDS]])
        joint, joint_picks = held_out(table)
        plain, plain_picks = held_out(
            table.loc[:, [c for c in table.columns if c[2] == "None"]])
        for what, held, picks in (("the threshold alone", alone, alone_picks),
                                  ("threshold, share and depth", joint, joint_picks),
                                  ("share and depth, no threshold", plain, plain_picks)):
            chosen = "; ".join(f"levels 1-{p.split(', ')[0]}, share {p.split(', ')[1]}, "
                               f"threshold {p.split(', ')[2]} ({n})" for p, n in picks.items())
            print(f"| **{what}, chosen leave-one-data-set-out** (picks: {chosen}) | "
                  f"**{held:.4f}** |")
        summary.append({"seeds": f"{a}, {b}", "no threshold": table[(*DEFAULT, "None")].mean(),
                        "0.97": table[(*DEFAULT, "0.97")].mean(), "threshold LODO": alone,
                        "joint LODO": joint, "no-threshold LODO": plain})
    print("\n## Over the seed pairs\n")
    print("| " + " | ".join(summary[0]) + " |")
    print("|---" * len(summary[0]) + "|")
    for row in summary:
        print(f"| {row['seeds']} | " + " | ".join(f"{v:.4f}" for k, v in row.items()
                                                 if k != "seeds") + " |")


if __name__ == "__main__":
    main()
