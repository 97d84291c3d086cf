"""How well can 2^L prototypes find local anomalies? DRAMA's levels against a reference.

DRAMA scores an object as its distance to the nearest of the 2^L prototypes of level L
(docs/algorithm.md#scores). On the paper's local-anomaly signals (1000 curves of shape 1,
50 with a small bump, noise 0.3) that distance mostly measures how an object's own stretch,
shift, amplitude and offset differ from its prototype's, not the bump. This script puts a
number on that limit. The reference at each level is the best set of 2^L prototypes for
the *normal* objects in the squared-L2 sense: k-means (10 starts) fitted on the inliers
alone, labels used, in DRAMA's min-max scaled space. It is not a strict bound on AUC, but
no label-free prototype set is better placed. Beside it: DRAMA with ``ae`` and ``pca``
(``Drama(reducer=r, n_levels=4, metric="l2", random_state=0).score_levels``), ``ae`` once
more with ``min_leaf_share=0.02`` (at level 4 the default 0.1 drops most of the 16 leaves
as "too small to be normal"; 0.02 was picked after seeing this data) and, as the line the
``ae_vs_pyod.py`` target asks to reach, PyOD's AutoEncoder, which scores each object's own
reconstruction error. Prints AUC per data seed and level, then the level-2 reference under
each metric that needs no leaf statistics (the same four centres).

    python benchmarks/prototype_bound.py [--data-seeds 0 1 2] [--n-features 3000]
        [--levels 4]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

from drama import Drama
from drama.datasets.synthetic import make_local_anomaly
from drama.metrics import auc_score
from drama.scaling import Scaler

# DRAMA metric -> scipy's cdist arguments, for the metrics that need no leaf statistics
CDIST_METRICS = {"l1": ("cityblock", {}), "l2": ("euclidean", {}),
                 "l4": ("minkowski", {"p": 4}), "chebyshev": ("chebyshev", {}),
                 "braycurtis": ("braycurtis", {}), "canberra": ("canberra", {}),
                 "correlation": ("correlation", {})}


def inlier_centres(scaled: np.ndarray, y: np.ndarray, n_prototypes: int) -> np.ndarray:
    """The k-means centres of the inliers alone (labels used)."""
    return KMeans(n_prototypes, n_init=10, random_state=0).fit(scaled[y == 0]).cluster_centers_


def reference_auc(scaled: np.ndarray, y: np.ndarray, centres: np.ndarray,
                  metric: str = "l2") -> float:
    """AUC of the distance to the nearest centre."""
    name, options = CDIST_METRICS[metric]
    return auc_score(y, cdist(scaled, centres, metric=name, **options).min(axis=1))


def drama_level_aucs(X: np.ndarray, y: np.ndarray, reducer: str, levels: int,
                     min_leaf_share: float = 0.1) -> list[float]:
    model = Drama(reducer=reducer, n_levels=levels, metric="l2", min_leaf_share=min_leaf_share,
                  random_state=0).fit(X)
    scores = model.score_levels(X, metrics="l2")
    return [auc_score(y, scores[(level, "l2")].to_numpy()) for level in range(1, levels + 1)]


def pyod_auc(X: np.ndarray, y: np.ndarray) -> float | None:
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return auc_score(y, AutoEncoder(random_state=0, verbose=0).fit(X).decision_scores_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-features", type=int, default=3000)
    parser.add_argument("--levels", type=int, default=4)
    args = parser.parse_args()
    start = time.perf_counter()
    by_metric = {}
    print("| data seed | level | prototypes | reference (k-means on inliers) | DRAMA ae | "
          "DRAMA ae, min_leaf_share=0.02 | DRAMA pca | PyOD AutoEncoder |")
    print("|" + "---|" * 8)
    for seed in args.data_seeds:
        X, y = make_local_anomaly(n_inliers=1000, n_outliers=50, n_features=args.n_features,
                                  shape=1, noise=0.3, random_state=seed)
        scaled = Scaler("minmax").fit(X).transform(X)
        ae = drama_level_aucs(X, y, "ae", args.levels)
        ae_small_leaves = drama_level_aucs(X, y, "ae", args.levels, min_leaf_share=0.02)
        pca = drama_level_aucs(X, y, "pca", args.levels)
        pyod = pyod_auc(X, y)
        pyod_text = "not installed" if pyod is None else f"{pyod:.3f}"
        for level in range(1, args.levels + 1):
            centres = inlier_centres(scaled, y, 2 ** level)
            if level == 2:
                by_metric[seed] = {m: reference_auc(scaled, y, centres, m)
                                   for m in CDIST_METRICS}
            print(f"| {seed} | {level} | {2 ** level} | "
                  f"{reference_auc(scaled, y, centres):.3f} | {ae[level - 1]:.3f} | "
                  f"{ae_small_leaves[level - 1]:.3f} | {pca[level - 1]:.3f} | {pyod_text} |",
                  flush=True)
    print("\nlevel-2 reference (4 inlier centres) by metric:\n")
    print("| data seed | " + " | ".join(CDIST_METRICS) + " |")
    print("|" + "---|" * (len(CDIST_METRICS) + 1))
    for seed, aucs in by_metric.items():
        print(f"| {seed} | " + " | ".join(f"{a:.3f}" for a in aucs.values()) + " |")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
