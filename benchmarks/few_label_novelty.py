"""Would the labelled normals, used as neighbours, lift the few-label search? (Tried, not kept.)

The semi protocol labels half of the normals. "novelty" scores every object by its distance
to the nearest labelled normal (a labelled normal: to the nearest other one) in the
whitened space of the default search's whole-set members; "fisher" combines its ranks with
the default few-label choice (``DramaSearch.select``) by Fisher's method, equal weights.
Same sets, draws and scaling as ``few_label_variants.py``; mean AUC on the unseen objects
per group. All three are in-sample comparisons on the design pool (nothing is chosen here).

    python benchmarks/few_label_novelty.py [--k 5] [--draws 10]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from few_label_variants import few_label_sets
from sklearn.neighbors import NearestNeighbors

from drama import DramaSearch
from drama.benchmark.runner import semi_split
from drama.blend import fisher
from drama.metrics import auc_score
from drama.ranks import rank_normalise

VARIANTS = ("default few-label choice", "novelty (nearest labelled normal)", "fisher of both")


def novelty(search: DramaSearch, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance to the nearest labelled normal in the members' whitened space."""
    members = search.members_
    Z = (X - members.scaler_.offset_) / members.scaler_.scale_
    if members.whiten_ is not None:
        Z = (Z - members.mean_) @ members.whiten_
    normals = np.flatnonzero(labels == 0)
    dist, _ = NearestNeighbors(n_neighbors=2).fit(Z[normals]).kneighbors(Z)
    return np.where(labels == 0, dist[:, 1], dist[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--max-rows", type=int, default=40000)
    args = parser.parse_args()
    means: dict[str, list[np.ndarray]] = {"odds": [], "embeddings": []}
    for folder_name, path, X, y in few_label_sets(args.k, args.max_rows):
        X = X.reshape(len(X), -1)
        search = DramaSearch(random_state=0, contamination=None).fit(X)
        aucs = []
        for draw in range(args.draws):
            labels, unseen = semi_split(y, args.k, np.random.default_rng([0, args.k, draw]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                search.select(labels)
            chosen, near = search.decision_scores_, novelty(search, X, labels)
            both = fisher(rank_normalise(chosen), len(X)) + fisher(rank_normalise(near),
                                                                   len(X))
            aucs.append([auc_score(y[unseen], s[unseen]) for s in (chosen, near, both)])
        means[folder_name].append(np.mean(aucs, axis=0))
        print(path.stem, np.round(means[folder_name][-1], 3), flush=True)
    print(f"\n| mean AUC on unseen objects, k = {args.k} | ODDS ({len(means['odds'])}) | "
          f"embeddings ({len(means['embeddings'])}) |\n|---|---|---|")
    for i, name in enumerate(VARIANTS):
        print(f"| {name} | " + " | ".join(f"{np.mean([m[i] for m in means[g]]):.3f}"
                                          for g in means) + " |")


if __name__ == "__main__":
    main()
