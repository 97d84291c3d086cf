"""Two cases where DRAMA's label-free start is wrong: does the session learn from "boring"?

- ``decoys``: 300 normal objects, 60 scattered boring outliers far out in feature 0 and 12
  wanted ones, milder, low in feature 1 (the case of
  ``tests/test_active.py::test_boring_answers_lead_the_session_past_a_start_that_ranks_the_anomalies_last``).
- ``shell``: 400 normal objects on a hollow shell (radius 4-6, 4 dimensions) and 12 wanted
  ones in a tight cluster at its centre, which every distance to a prototype calls normal.

For each: where the session's start ranks the wanted objects, and how many of them the
session (default options, and with boring labels alone off: ``min_boring_alone=0``),
AADForest and PineForest find
after k looks, refitting after every answer.

    python benchmarks/active_wrong_start.py --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np

from drama.active import ActiveSession, simulate_discovery
from drama.benchmark.active_peers import coniferest_curve

BUDGETS = {"decoys": (12, 24, 48), "shell": (24, 100, 200)}


def decoys(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    normal = rng.normal(size=(300, 5))
    boring = rng.normal(size=(60, 5))
    boring[:, 0] = rng.uniform(6, 20, 60)
    wanted = rng.normal(size=(12, 5)) * 0.3 + np.array([0, -3.0, 0, 0, 0])
    return np.vstack([normal, boring, wanted]), np.r_[np.zeros(360), np.ones(12)].astype(int)


def shell(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    normal = rng.normal(size=(400, 4))
    normal *= rng.uniform(4, 6, size=(400, 1)) / np.linalg.norm(normal, axis=1, keepdims=True)
    wanted = rng.normal(size=(12, 4)) * 0.3
    return np.vstack([normal, wanted]), np.r_[np.zeros(400), np.ones(12)].astype(int)


CASES = {"decoys": decoys, "shell": shell}
SESSION = {"reducers": ("none",), "levels": (1, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for case, make in CASES.items():
        budgets = BUDGETS[case]
        print(f"\n{case}: wanted objects found after {', '.join(map(str, budgets))} looks")
        print("| seed | start rank of the first wanted | DRAMA-active | DRAMA-active, "
              "min_boring_alone 0 | AADForest | PineForest |\n|---|---|---|---|---|---|")
        for seed in range(args.seeds):
            X, y = make(np.random.default_rng(seed))
            found = {}
            for name, learned in (("default", None), ("off", {"min_boring_alone": 0})):
                with ActiveSession(X, random_state=seed, learned_options=learned,
                                   **SESSION) as s:
                    order = np.argsort(-s.scores_, kind="stable")
                    first = int(np.flatnonzero(y[order] == 1)[0]) + 1
                    found[name] = simulate_discovery(s, y, max(budgets))
            for kind in ("AADForest", "PineForest"):
                found[kind] = coniferest_curve(kind, X, y, max(budgets), seed, 1)
            cells = [" / ".join(str(int(c[b - 1])) for b in budgets) for c in found.values()]
            print(f"| {seed} | {first} of {len(y)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
