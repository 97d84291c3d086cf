"""Residual configurations in the label-free search's pool, chosen leave-one-group-out.

Each candidate pool is a full label-free ``DramaSearch(random_state=0)`` fitted on every set
of the 43-set design pool (the 25 ODDS sets and the 18 embedding sets, min-max scaled as in
``benchmarks/pool_logo.py``), timed beside IsolationForest and KNN in the same run:

* ``default``: today's pool (the ``none`` reducer, input space);
* ``pca input``: ``reducers=("none", "pca")``, input space: what adding PCA trees alone does;
* ``pca input+residual``: the same trees, also scored in the residual space (each object
  against its reconstruction by its leaf's PCA);
* ``pca input+residual, latent 8``: as above with ``latent_dim=8`` for every tree (a
  reconstruction from two components leaves most of an embedding unexplained).

A second study keeps the residual scores out of the trees' consensus and adds them to the
label-free blend as a family of their own (``pca`` trees scored in the residual space
only, ``latent_dim`` 2 or 8, their consensus as one family beside the trees and the two
whole-set members, with a base weight of 0.5 to 3; the trees and members come from
``pool_logo.py``'s cache, which it fills if empty).

Leave-one-group-out (groups as in ``pool_logo.py``: every ODDS set, 20news_3, cifar10_0 and
svhn_0 alone, the 15 MVTec sets together): for each group, the candidate with the best mean
of AUC + MCC + RWS on the other groups is applied to it. The per-candidate rows are
in-sample for whichever candidate the folds pick.

    python benchmarks/residual_pool.py --markdown docs/residual-pool.md

Per-set results are cached (``--cache``, default ``.cache/residual_pool``; ``--pool-cache``,
default ``.cache/pool_logo``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pool_logo import evaluate, group_of, means, minmax, pool_files  # noqa: E402
from pool_logo import run_set as pool_set  # noqa: E402

from drama import DramaSearch  # noqa: E402
from drama.benchmark.peers import PEERS, finite_scores  # noqa: E402
from drama.blend import Blend  # noqa: E402
from drama.datasets import load  # noqa: E402
from drama.ranks import sorted_and_ranks  # noqa: E402
from drama.search import DEFAULT_MEMBERS  # noqa: E402

CANDIDATES: dict[str, dict] = {
    "default": {},
    "pca input": {"reducers": ("none", "pca")},
    "pca input+residual": {"reducers": ("none", "pca"), "spaces": ("input", "residual")},
    "pca input+residual, latent 8": {"reducers": ("none", "pca"),
                                     "spaces": ("input", "residual"),
                                     "drama_params": {"latent_dim": 8}},
}
PEER_NAMES = ("IForest", "KNN")
FAMILY_LATENTS = (2, 8)
FAMILY_WEIGHTS = (0.5, 1.0, 2.0, 3.0)


def run_set(name: str, path: Path, cache: Path) -> dict:
    """Every candidate's label-free scores and the peers' on one set, with times (cached)."""
    file = cache / f"{name}.npz"
    if file.exists():
        data = dict(np.load(file))
        data["times"] = json.loads(str(data["times"]))
        return data
    X, y = load(path)
    X = minmax(X)
    out: dict = {"y": y}
    times: dict[str, float] = {}
    for peer in PEER_NAMES:
        start = time.perf_counter()
        out[f"peer/{peer}"] = finite_scores(PEERS[peer](X, X, 0))
        times[peer] = time.perf_counter() - start
    for label, options in CANDIDATES.items():
        start = time.perf_counter()
        search = DramaSearch(random_state=0, contamination=None, n_jobs=1, **options).fit(X)
        times[label] = time.perf_counter() - start
        out[f"drama/{label}"] = search.decision_scores_
    for latent in FAMILY_LATENTS:
        residual = DramaSearch(reducers=("pca",), spaces=("residual",), members=(),
                               drama_params={"latent_dim": latent}, random_state=0,
                               contamination=None, n_jobs=1).fit(X)
        out[f"family/{latent}"] = residual.decision_scores_
    out["times"] = json.dumps(times)
    np.savez(file, **out)
    out["times"] = times
    return out


def family_blend(pool: dict, family: np.ndarray | None, weight: float) -> np.ndarray:
    """The default label-free blend (trees, the default members) with the residual family
    added at ``weight`` (none: the default itself, rebuilt from the cached families)."""
    default = DramaSearch()
    wide = int(pool["n_features"]) >= default.wide_features
    columns = [pool["trees"], *(pool[f"member/{m}"] for m in DEFAULT_MEMBERS)]
    base = [default.wide_tree_weight if wide else default.tree_weight, 1.0, 1.0]
    if family is not None:
        columns.append(sorted_and_ranks(np.asarray(family, dtype=np.float64))[1])
        base.append(weight)
    return Blend(np.eye(len(columns)), np.array(base), default.agreement_power).fit(
        np.column_stack(columns))


def choose_held_out(per_set: dict, candidates: list, names: list[str]
                    ) -> tuple[dict[str, tuple], Counter]:
    """Each group scored by the candidate with the best mean AUC + MCC + RWS elsewhere."""
    held_out: dict[str, tuple] = {}
    picks: Counter = Counter()
    for group in sorted({group_of(n) for n in names}):
        train = [n for n in names if group_of(n) != group]
        best = max(candidates, key=lambda c: np.mean([sum(per_set[c][n]) for n in train]))
        picks[best] += 1
        held_out.update({n: per_set[best][n] for n in names if group_of(n) == group})
    return held_out, picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/residual_pool"))
    parser.add_argument("--pool-cache", type=Path, default=Path(".cache/pool_logo"))
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    args.pool_cache.mkdir(parents=True, exist_ok=True)
    files = pool_files()
    odds_names = {name for name, path in files if path.parent.name == "odds"}
    results: dict[str, dict] = {}
    for name, path in files:
        start = time.perf_counter()
        results[name] = run_set(name, path, args.cache)
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    names = [name for name, _ in files]
    detectors = [f"drama/{c}" for c in CANDIDATES] + [f"peer/{p}" for p in PEER_NAMES]
    per_set = {d: {n: evaluate(results[n]["y"], results[n][d]) for n in names}
               for d in detectors}
    groups = sorted({group_of(n) for n in names})
    held_out, picks = choose_held_out(per_set, [f"drama/{c}" for c in CANDIDATES], names)
    lines = ["# Residual configurations in the label-free pool, leave-one-group-out", "",
             "Written by `python benchmarks/residual_pool.py`; AUC / MCC / RWS means.", "",
             "| detector | ODDS (25) | embeddings (18) | pool (43) |", "|---|---|---|---|"]

    def row(label: str, table: dict[str, tuple]) -> str:
        m = means(table, names, odds_names)
        return f"| {label} | " + " | ".join(" / ".join(f"{v:.3f}" for v in m[k])
                                             for k in m) + " |"

    lines.append(row("DRAMA, candidate chosen leave-one-group-out", held_out))
    for d in detectors:
        label = d.split("/", 1)[1]
        lines.append(row(f"DRAMA {label} (in-sample if picked)" if d.startswith("drama/")
                         else label, per_set[d]))
    lines += ["", f"Picked in the {len(groups)} folds: "
              + ", ".join(f"{c.split('/', 1)[1]}: {k}" for c, k in picks.most_common()), ""]
    pools = {n: pool_set(n, path, args.pool_cache, {}) for n, path in files}
    family: dict = {("no residual family", 0.0): {
        n: evaluate(results[n]["y"], family_blend(pools[n], None, 0.0)) for n in names}}
    for latent in FAMILY_LATENTS:
        for weight in FAMILY_WEIGHTS:
            family[(f"residual family, latent {latent}", weight)] = {
                n: evaluate(results[n]["y"],
                            family_blend(pools[n], results[n][f"family/{latent}"], weight))
                for n in names}
    family_held, family_picks = choose_held_out(family, list(family), names)
    lines += ["The residual scores as a family of the label-free blend (base weight after "
              "the name):", "", "| blend | ODDS (25) | embeddings (18) | pool (43) |",
              "|---|---|---|---|", row("chosen leave-one-group-out", family_held)]
    lines += [row(f"{label}, {weight:g}" if weight else label, table)
              for (label, weight), table in family.items()]
    lines += ["", f"Picked in the {len(groups)} folds: " + ", ".join(
        f"{label}{f', {weight:g}' if weight else ''}: {k}"
        for (label, weight), k in family_picks.most_common()), ""]
    totals = {d: sum(results[n]["times"][d.split("/", 1)[1]] for n in names)
              for d in detectors}
    lines += ["| time, all 43 sets (s) | " + " | ".join(d.split("/", 1)[1] for d in detectors)
              + " |", "|---" * (len(detectors) + 1) + "|",
              "| fit + score | " + " | ".join(f"{totals[d]:.1f}" for d in detectors) + " |", ""]
    lines += ["Time / IsolationForest's, all 43 sets: " + ", ".join(
        f"{d.split('/', 1)[1]} {totals[d] / totals['peer/IForest']:.1f}x"
        for d in detectors if d.startswith("drama/")), ""]
    lines += ["| data set | " + " | ".join(d.split("/", 1)[1] for d in detectors) + " |",
              "|---" * (len(detectors) + 1) + "|"]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{per_set[d][n][0]:.3f}" for d in detectors)
                     + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.markdown:
        args.markdown.write_text(report)


if __name__ == "__main__":
    main()
