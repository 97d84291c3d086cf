"""The label-free search against its peers on the 43-set design pool, leave-one-group-out.

The pool: the 25 ODDS sets and the 18 embedding sets (``odds/`` and ``embeddings/`` of the
data folder). Every detector sees the same min-max-scaled X (the peers' protocol of
``drama benchmark``), fits on all objects and scores all of them; no labels are used.

Per data set the script runs, timing each: the peers (IsolationForest, LOF, KNN, ECOD,
PCA), the default ``DramaSearch(random_state=0)``, and a *wide* search with every
candidate whole-set member. From the wide search it keeps the trees' consensus and each
member's training ranks, and evaluates every label-free rule of the grid (which members;
the trees' base weight below and from a number of features on; the agreement power) with
DRAMA's own :class:`drama.blend.Blend`.

Leave-one-group-out: every ODDS set is its own group, as are 20news_3, cifar10_0 and
svhn_0; the 15 MVTec sets form one group (one camera, one network). For each group the
rule with the best mean of AUC + MCC + RWS on the other groups (the three measures the
targets name, equally weighted) is applied to it. The default's own numbers are
in-sample: its rule is the one most folds picked.

    python benchmarks/pool_logo.py --markdown docs/pool-benchmark.md

Per-set results are cached (``--cache``, default ``.cache/pool_logo``), so a second run
only re-evaluates the rules; ``--fresh`` recomputes everything.
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
from _data import shared_folder  # noqa: E402

from drama import DramaSearch  # noqa: E402
from drama.benchmark.peers import PEERS, finite_scores  # noqa: E402
from drama.blend import Blend  # noqa: E402
from drama.datasets import load  # noqa: E402
from drama.metrics import auc_score, mcc_score, rws_score  # noqa: E402
from drama.search import DEFAULT_MEMBERS, consensus_weights  # noqa: E402

PEER_NAMES = ("IForest", "LOF-20", "KNN", "ECOD", "PCA")
CANDIDATE_MEMBERS = (
    "none|mahalanobis|0|input", "none|l2|1|neighbours", "none|l2|5|neighbours",
    "none|l2|20|neighbours", "none|mahalanobis|1|neighbours",
    "none|mahalanobis|5|neighbours", "none|mahalanobis|20|neighbours",
)
MEMBER_SETS = (
    (),
    ("none|mahalanobis|0|input",),
    ("none|mahalanobis|0|input", "none|l2|1|neighbours"),
    ("none|mahalanobis|0|input", "none|l2|5|neighbours"),
    ("none|mahalanobis|0|input", "none|mahalanobis|5|neighbours"),
    ("none|l2|1|neighbours", "none|mahalanobis|5|neighbours"),
    ("none|mahalanobis|0|input", "none|l2|1|neighbours", "none|mahalanobis|5|neighbours"),
    ("none|mahalanobis|0|input", "none|l2|1|neighbours", "none|l2|20|neighbours"),
)
TREE_WEIGHTS = (1.0, 2.0, 3.0)
WIDE_TREE_WEIGHTS = (0.5, 1.0, 2.0)
WIDE_FEATURES = (None, 200, 400)  # None: one weight whatever the width
POWERS = (0.0, 2.0, 4.0, 8.0, 16.0)
_DEFAULT = DramaSearch()
DEFAULT_RULE = (DEFAULT_MEMBERS, _DEFAULT.tree_weight, _DEFAULT.wide_tree_weight,
                _DEFAULT.wide_features, _DEFAULT.agreement_power)


def pool_files() -> list[tuple[str, Path]]:
    files = []
    for folder in ("odds", "embeddings"):
        found = shared_folder(folder)
        if found is None:
            raise SystemExit(f"No {folder}/ folder: set DRAMA_DATA to the folder holding "
                             "odds/ and embeddings/.")
        files += sorted((p.stem, p) for p in found.iterdir() if p.suffix in (".mat", ".npz"))
    return files


def group_of(name: str) -> str:
    return "mvtec" if name.startswith("mvtec_") else name


def minmax(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    lo, span = X.min(axis=0), np.ptp(X, axis=0)
    return (X - lo) / np.where(span > 0, span, 1.0)


def run_set(name: str, path: Path, cache: Path, search_options: dict) -> dict:
    """Peers, the default search and the wide search on one set (cached); both searches
    take ``search_options`` (e.g. another ``max_prototypes``)."""
    file = cache / f"{name}.npz"
    if file.exists():
        data = dict(np.load(file))
        data["times"] = json.loads(str(data["times"]))
        return data
    X, y = load(path)
    X = minmax(X)
    out: dict = {"y": y, "n_features": X.shape[1]}
    times: dict[str, float] = {}
    for peer in PEER_NAMES:
        start = time.perf_counter()
        out[f"peer/{peer}"] = finite_scores(PEERS[peer](X, X, 0))
        times[peer] = time.perf_counter() - start
    start = time.perf_counter()
    default = DramaSearch(random_state=0, contamination=None, **search_options).fit(X)
    times["DRAMA"] = time.perf_counter() - start
    out["default"] = default.decision_scores_
    wide = DramaSearch(members=CANDIDATE_MEMBERS, random_state=0, contamination=None,
                       **search_options).fit(X)
    members = [c for c in CANDIDATE_MEMBERS if c in set(wide.results_["config"])]
    tree_rows = ~wide.results_["config"].isin(CANDIDATE_MEMBERS).to_numpy()
    _, tree_weights = consensus_weights(wide.train_ranks_, wide.ensemble_share, tree_rows)
    out["trees"] = wide.train_ranks_ @ tree_weights
    column = {c: j for j, c in enumerate(wide.results_["config"])}
    for member in members:
        out[f"member/{member}"] = wide.train_ranks_[:, column[member]]
    out["times"] = json.dumps(times)
    np.savez(file, **out)
    out["times"] = times
    return out


def trees_weight(data: dict, tree_weight: float, wide_weight: float,
                 wide_from: int | None) -> float:
    wide = wide_from is not None and int(data["n_features"]) >= wide_from
    return wide_weight if wide else tree_weight


def rule_scores(data: dict, members: tuple[str, ...], tree_weight: float,
                power: float) -> np.ndarray | None:
    """The label-free score of one rule (the trees' base weight already chosen for the
    set) from its cached family ranks (None: a member that set could not score)."""
    if any(f"member/{m}" not in data for m in members):
        return None
    if not members:
        return data["trees"]
    columns = [data["trees"], *(data[f"member/{m}"] for m in members)]
    base = np.r_[tree_weight, np.ones(len(members))]
    blend = Blend(np.eye(len(columns)), base, power)
    return blend.fit(np.column_stack(columns))


def evaluate(y: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    return auc_score(y, scores), mcc_score(y, scores), rws_score(y, scores)


def means(per_set: dict[str, tuple], names: list[str],
          odds_names: set[str]) -> dict[str, np.ndarray]:
    odds = [n for n in names if n in odds_names]
    emb = [n for n in names if n not in odds_names]
    return {"ODDS (25)": np.mean([per_set[n] for n in odds], axis=0),
            "embeddings (18)": np.mean([per_set[n] for n in emb], axis=0),
            "pool (43)": np.mean([per_set[n] for n in names], axis=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/pool_logo"))
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument("--max-prototypes", type=int,
                        help="neighbours' cap for both searches (default: the search's)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for f in args.cache.glob("*.npz"):
            f.unlink()
    files = pool_files()
    odds_folder = shared_folder("odds")
    odds_names = {n for n, p in files if p.parent == odds_folder}
    data = {}
    for name, path in files:
        start = time.perf_counter()
        options = {} if args.max_prototypes is None else {
            "max_prototypes": args.max_prototypes}
        data[name] = run_set(name, path, args.cache, options)
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    names = list(data)

    rules = [(m, t, w, d, p) for m in MEMBER_SETS for t in TREE_WEIGHTS
             for w in WIDE_TREE_WEIGHTS for d in WIDE_FEATURES for p in POWERS
             if (m or (t, w, d, p) == (1.0, 0.5, None, 0.0)) and (d is not None or w == 0.5)]
    if DEFAULT_RULE not in rules:
        rules.append(DEFAULT_RULE)
    scored: dict[tuple, dict[str, tuple] | None] = {}  # by (members, trees' weight, power)

    def per_set(rule: tuple) -> dict[str, tuple] | None:
        members, t, w, d, p = rule
        out = {}
        for n in names:
            key = (members, trees_weight(data[n], t, w, d), p)
            if key not in scored:
                scored[key] = {}
            cached = scored[key]
            if cached is None:
                return None
            if n not in cached:
                scores = rule_scores(data[n], members, key[1], p)
                if scores is None:
                    scored[key] = None
                    return None
                cached[n] = evaluate(data[n]["y"], scores)
            out[n] = cached[n]
        return out

    results = {rule: r for rule in rules if (r := per_set(rule)) is not None}
    # The cached families reproduce the default search exactly.
    for n in names:
        members, t, w, d, p = DEFAULT_RULE
        again = rule_scores(data[n], members, trees_weight(data[n], t, w, d), p)
        if again is None or not np.allclose(again, data[n]["default"], atol=1e-12):
            raise SystemExit(f"{n}: the cached families do not reproduce the default search")

    held: dict[str, tuple] = {}
    picks: Counter = Counter()
    for g in sorted({group_of(n) for n in names}):
        train = [n for n in names if group_of(n) != g]
        best = max(results, key=lambda r: np.mean([sum(results[r][n]) for n in train]))
        picks[best] += 1
        held.update({n: results[best][n] for n in names if group_of(n) == g})

    rows = {"DRAMA, rule chosen leave-one-group-out": held,
            "DRAMA default (in-sample: chosen on this pool)": results[DEFAULT_RULE]}
    for peer in PEER_NAMES:
        rows[peer] = {n: evaluate(data[n]["y"], data[n][f"peer/{peer}"]) for n in names}
    lines = ["# The label-free search against its peers: 43-set pool, leave-one-group-out",
             "", "Written by `python benchmarks/pool_logo.py`; AUC / MCC / RWS means.", "",
             "| detector | ODDS (25) | embeddings (18) | pool (43) |", "|---|---|---|---|"]
    for label, per in rows.items():
        cells = [" / ".join(f"{v:.3f}" for v in m) for m in means(per, names, odds_names).values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"{len(results)} rules; picked in the 29 folds (members; trees' weight; "
              "from how many features the wide weight applies, and that weight; power):", ""]
    lines += [f"- {'+'.join(m) or 'trees alone'}; {t:g}; "
              f"{'never' if d is None else f'{d}, {w:g}'}; {p:g}: {c}"
              for (m, t, w, d, p), c in picks.most_common()]
    drama_t = np.array([data[n]["times"]["DRAMA"] for n in names])
    lines += ["", "| time, all 43 sets (s) | " + " | ".join(["DRAMA", *PEER_NAMES]) + " |",
              "|---" * (len(PEER_NAMES) + 2) + "|",
              "| fit + score | " + " | ".join(
                  f"{sum(data[n]['times'][d] for n in names):.1f}"
                  for d in ("DRAMA", *PEER_NAMES)) + " |", ""]
    ratio = drama_t / np.array([data[n]["times"]["IForest"] for n in names])
    lines.append(f"DRAMA / IsolationForest time per set: mean {ratio.mean():.1f}x, median "
                 f"{np.median(ratio):.1f}x, largest {ratio.max():.1f}x "
                 f"({names[int(np.argmax(ratio))]}).")
    lines += ["", "| data set | DRAMA (LOGO) | DRAMA default | " + " | ".join(PEER_NAMES)
              + " |", "|---" * (len(PEER_NAMES) + 3) + "|"]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{rows[r][n][0]:.3f}" for r in rows) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.markdown:
        args.markdown.write_text(report)


if __name__ == "__main__":
    main()
