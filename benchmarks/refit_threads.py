"""The active session's refit with one BLAS / OpenMP thread (``ActiveSession.refit``)
against the same arithmetic with the default threads (``ActiveSession._refit``), in one
process, alternating, on a synthetic table (1 % shifted out) with 20 labels; checks that
both rank alike.

    python benchmarks/refit_threads.py --objects 100000 --repeats 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info

from drama.active import ActiveSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.objects, args.features))
    X[: max(1, args.objects // 100)] += 6.0
    with ActiveSession(X) as session:
        order = np.argsort(-session.scores_, kind="stable")
        for k in range(20):
            session.label(str(order[k]), "interesting" if k % 2 else "boring")
        threaded, single = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            session._refit()
            threaded.append(time.perf_counter() - start)
            before = session.scores_.copy()
            start = time.perf_counter()
            session.refit()
            single.append(time.perf_counter() - start)
            assert np.array_equal(before, session.scores_), "the two refits rank differently"
    pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; thread pools: {pools}; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"refit of {args.objects} objects x {args.features} features, 20 labels, "
          f"{args.repeats} each: default threads median {statistics.median(threaded):.3f} s, "
          f"one thread median {statistics.median(single):.3f} s (ratio "
          f"{statistics.median(threaded) / statistics.median(single):.1f}); same ranking")


if __name__ == "__main__":
    main()
