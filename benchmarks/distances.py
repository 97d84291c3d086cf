"""DRAMA's prototype distances against SciPy's ``cdist`` on the same arrays, in one run.

For every metric: the best of ``--repeats`` wall times of ``prototype_distances`` and of the
``cdist`` call that computes the same thing, and their ratio (target: at most 1.2). cdist
takes one weight vector per call, so the weighted metrics are timed against one call with
the first leaf's weights for all prototypes (the least cdist could do), and Mahalanobis
against one cdist call per leaf. l2 is also timed against one BLAS matrix product of the
same shape, objects @ prototypes.T (target: at most 2). Objects and prototypes are normal
(both signs); spreads and covariances are those of random leaves.

Times are CPU seconds of this process (the best of the repeats; a call stops repeating once
it has used ``--budget`` seconds), with BLAS held to one thread: cdist uses one core, and on
a shared machine the wall clock mostly measures the other users (the wall-clock ratio is
printed too).

    python benchmarks/distances.py [--n 20000] [--k 8] [--dims 50 500] [--repeats 7]
        [--budget 5]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
from scipy.spatial.distance import cdist
from threadpoolctl import threadpool_limits

from drama.distances import METRICS, LeafStats, prototype_distances, whitening
from drama.search import MAHALANOBIS_MAX_FEATURES


def best_ms(call: Callable[[], object], repeats: int, budget: float) -> tuple[float, float]:
    """The fastest CPU and wall times of up to ``repeats`` runs (at least two, fewer once
    ``budget`` CPU seconds are spent), in milliseconds."""
    cpu, wall = [], []
    while len(cpu) < max(2, repeats) and (len(cpu) < 2 or sum(cpu) < budget):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return 1e3 * min(cpu), 1e3 * min(wall)


def references(U: np.ndarray, P: np.ndarray, stats: LeafStats) -> dict[str, Callable]:
    """The cdist call that computes each metric (see the module docstring)."""
    inverse_covs = [w @ w.T for w in stats.whiten]
    first = stats.sigma[0]
    return {
        "l1": lambda: cdist(U, P, "cityblock"),
        "l2": lambda: cdist(U, P, "euclidean"),
        "l4": lambda: cdist(U, P, "minkowski", p=4),
        "wl2": lambda: cdist(U, P, "euclidean", w=first**-2.0),
        "wl4": lambda: cdist(U, P, "minkowski", p=4, w=first**-4.0),
        "braycurtis": lambda: cdist(U, P, "braycurtis"),
        "chebyshev": lambda: cdist(U, P, "chebyshev"),
        "canberra": lambda: cdist(U, P, "canberra"),
        "correlation": lambda: cdist(U, P, "correlation"),
        "mahalanobis": lambda: [cdist(U, m[None], "mahalanobis", VI=vi)
                                for m, vi in zip(stats.mean, inverse_covs, strict=True)],
    }


def case(n: int, k: int, d: int, repeats: int, budget: float, rng: np.random.Generator
         ) -> None:
    U = rng.normal(size=(n, d))
    P = rng.normal(size=(k, d))
    leaves = [rng.normal(size=(max(200, 2 * d), d)) * rng.uniform(0.5, 2.0, size=d)
              for _ in range(k)]
    stats = LeafStats(sigma=np.stack([leaf.std(axis=0) for leaf in leaves]),
                      mean=np.stack([leaf.mean(axis=0) for leaf in leaves]),
                      whiten=np.stack([whitening(leaf, 1e-12) for leaf in leaves]))
    reference = references(U, P, stats)
    print(f"\n{n} objects x {d} features, {k} prototypes (CPU ms, best of {repeats})")
    print(f"{'metric':12s} {'DRAMA':>9s} {'cdist':>9s} {'ratio':>6s} {'wall ratio':>10s}")
    for metric in METRICS:
        if metric == "mahalanobis" and d > MAHALANOBIS_MAX_FEATURES:
            print(f"{metric:12s} (the search leaves it out above {MAHALANOBIS_MAX_FEATURES} "
                  "features)")
            continue
        ours = best_ms(lambda metric=metric: prototype_distances(U, P, metric, stats),
                       repeats, budget)
        theirs = best_ms(reference[metric], repeats, budget)
        print(f"{metric:12s} {ours[0]:9.2f} {theirs[0]:9.2f} {ours[0] / theirs[0]:6.2f} "
              f"{ours[1] / theirs[1]:10.2f}")
    product = best_ms(lambda: U @ P.T, repeats, budget)
    l2 = best_ms(lambda: prototype_distances(U, P, "l2"), repeats, budget)
    print(f"l2 {l2[0]:.2f} ms vs one matrix product U @ P.T {product[0]:.2f} ms: "
          f"ratio {l2[0] / product[0]:.2f} (wall {l2[1] / product[1]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--budget", type=float, default=5.0,
                        help="CPU seconds after which a call stops repeating")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()}")
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        for d in args.dims:
            case(args.n, args.k, d, args.repeats, args.budget, rng)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
