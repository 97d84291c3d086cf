"""Discovery curves of active anomaly hunting: DRAMA-active against its peers.

A simulated scientist answers each query from the ground truth ("interesting" = a true
anomaly, everything else "boring"). For each data set and seed, in the same run:

- ``drama-active``   ActiveSession (few-label configuration choice + relevance model),
                     top-score queries, refit after every label (or ``--batch`` labels);
- ``drama-balanced`` the same with the exploring strategy;
- ``drama-static``   DRAMA's label-free ranking, no feedback;
- ``iforest``        scikit-learn IsolationForest's static ranking;
- ``aad``            coniferest AADForest, refit with all labels after every query;
- ``pine``           coniferest PineForest, likewise.

The budget is min(200, 2 x number of anomalies, number of objects). Data sets with more
than ``--max-n`` objects (default 5000) are subsampled (stratified, so the anomaly share is
kept) to keep the run short.
The ``boring`` task is digits with two rare digits: 0 is interesting, 1 is "real but
boring"; it also reports how many boring objects sit in the top of the unlabelled ranking
before and after the session.

    python benchmarks/active_discovery.py --seeds 5 --jobs 2 --batch 5 --out active_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _data import shared_folder

from drama.benchmark.active_peers import coniferest_curve
from drama.benchmark.suites import crts_task

ODDS = shared_folder("odds")
EMBEDDINGS = shared_folder("embeddings")
METHODS = ("drama-active", "drama-balanced", "drama-static", "iforest", "aad", "pine")


# ---------------------------------------------------------------------- tasks
def boring_digits_task(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digits 2-9 normal; 45 zeros (interesting) and 45 ones (real but boring)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X, t = data.data.astype(float), data.target
    rng = np.random.default_rng(seed)
    zeros = rng.choice(np.flatnonzero(t == 0), 45, replace=False)
    ones = rng.choice(np.flatnonzero(t == 1), 45, replace=False)
    keep = np.concatenate([np.flatnonzero(t >= 2), zeros, ones])
    keep = keep[rng.permutation(len(keep))]
    interesting = (t[keep] == 0).astype(np.int64)
    boring = (t[keep] == 1).astype(np.int64)
    return X[keep], interesting, boring


def load_task(name: str, max_n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, interesting, boring-anomaly) for a task name; large sets subsampled."""
    if name in ("crts", "crts-grid"):
        representation = "features" if name == "crts" else "grid"
        X, y = crts_task(shared_folder("lightcurves", "crts"), representation).load()
        boring = np.zeros_like(y)
    elif name == "digits-boring":
        X, y, boring = boring_digits_task(seed)
    else:
        from drama.datasets import load

        path = next(p for p in (ODDS / f"{name}.mat", ODDS / f"{name}.npz",
                                EMBEDDINGS / f"{name}.npz") if p.exists())
        X, y = load(path)
        boring = np.zeros_like(y)
    if len(X) > max_n:
        rng = np.random.default_rng(1000 + seed)
        keep = np.concatenate([
            rng.choice(np.flatnonzero(y == v), int(round(max_n * np.mean(y == v))), replace=False)
            for v in (0, 1)
        ])
        keep.sort()
        X, y, boring = X[keep], y[keep], boring[keep]
    return X.reshape(len(X), -1), y.astype(np.int64), boring.astype(np.int64)


# ---------------------------------------------------------------------- methods
def boring_in_top(rank: np.ndarray, boring: np.ndarray, labelled: np.ndarray, top: int) -> int:
    """Boring anomalies among the ``top`` best-ranked unlabelled objects."""
    free = rank[~labelled[rank]]
    return int(boring[free[:top]].sum())


def run_one(task: str, seed: int, max_n: int, methods: tuple[str, ...], batch: int = 1,
            options: dict | None = None) -> dict:
    """Every method on one task and seed; curves of interesting finds after k queries."""
    from sklearn.ensemble import IsolationForest

    from drama.active import ActiveSession, default_budget, simulate_discovery
    from drama.metrics import discovery_curve, ranking

    X, y, boring = load_task(task, max_n, seed)
    budget = default_budget(y)
    out: dict = {"task": task, "seed": seed, "n": len(X), "anomalies": int(y.sum()),
                 "budget": budget, "batch": batch, "curves": {}, "seconds": {}}
    static = None
    session_options = {"random_state": seed, **(options or {})}
    for method in methods:
        start = time.perf_counter()
        if method in ("drama-active", "drama-balanced"):
            opts = dict(session_options)
            if method == "drama-balanced":
                opts["strategy"] = "balanced"
            with ActiveSession(X, **opts) as s:
                static = s.scores_.copy()
                top = int(boring.sum()) or 1
                before = boring_in_top(ranking(s.scores_), boring, s.y_ >= 0, top)
                curve = simulate_discovery(s, y, budget, batch=batch).tolist()
                if method == "drama-active" and boring.any():
                    out["boring_top"] = {
                        "top": top, "before": before,
                        "after": boring_in_top(ranking(s.scores_), boring, s.y_ >= 0, top),
                        "labelled_boring_class": int(boring[s.y_ >= 0].sum()),
                    }
        elif method == "drama-static":
            if static is None:
                with ActiveSession(X, **session_options) as s:
                    static = s.scores_.copy()
            curve = discovery_curve(y, static, budget).tolist()
        elif method == "iforest":
            forest = IsolationForest(random_state=seed).fit(X)
            curve = discovery_curve(y, -forest.score_samples(X), budget).tolist()
        else:
            kind = "AADForest" if method == "aad" else "PineForest"
            curve = coniferest_curve(kind, X, y, budget, seed, batch).tolist()
        out["curves"][method] = curve
        out["seconds"][method] = round(time.perf_counter() - start, 2)
    return out


# ---------------------------------------------------------------------- report
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


def mean_discovery(results: list[dict], method: str, points: int = 101) -> np.ndarray:
    """The discovery curve of ``method`` as the share of the reachable anomalies found
    against the share of the budget used, averaged over seeds and then over tasks (so every
    task counts alike, whatever its budget)."""
    grid = np.linspace(0.0, 1.0, points)
    per_task: dict[str, list[np.ndarray]] = {}
    for r in results:
        curve = np.concatenate([[0], r["curves"][method]]) / min(r["budget"], r["anomalies"])
        used = np.arange(len(curve)) / r["budget"]
        per_task.setdefault(r["task"], []).append(np.interp(grid, used, curve))
    return np.mean([np.mean(c, axis=0) for c in per_task.values()], axis=0)


def discovery_table(results: list[dict], methods: tuple[str, ...]) -> str:
    """Markdown: share of the reachable anomalies found after 10 %, 25 %, ... of the budget."""
    lines = ["| share of the budget used | " + " | ".join(methods) + " |",
             "|---|" + "---|" * len(methods)]
    curves = {m: mean_discovery(results, m) for m in methods}
    for f in FRACTIONS:
        at = int(round(f * 100))
        lines.append(f"| {at} % | " + " | ".join(f"{curves[m][at]:.3f}" for m in methods) + " |")
    return "\n".join(lines)


def plot_discovery(results: list[dict], methods: tuple[str, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0.0, 1.0, 101)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for m in methods:
        ax.plot(grid, mean_discovery(results, m), label=m)
    ax.set_xlabel("share of the budget min(200, 2 x anomalies) used")
    ax.set_ylabel("share of the reachable anomalies found")
    ax.set_title(f"Discovery curves, mean over {len({r['task'] for r in results})} tasks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summarise(results: list[dict], methods: tuple[str, ...]) -> str:
    """Markdown table: mean anomalies found at the budget per task, and the averages."""
    tasks = list(dict.fromkeys(r["task"] for r in results))
    head = "| task | n | anomalies | budget | " + " | ".join(methods) + " | active / iforest |"
    lines = [head, "|" + "---|" * (len(methods) + 5)]
    finals: dict[str, list[float]] = {m: [] for m in methods}
    ratios = []
    for task in tasks:
        rs = [r for r in results if r["task"] == task]
        means = {m: float(np.mean([r["curves"][m][-1] for r in rs])) for m in methods}
        for m in methods:
            finals[m].append(means[m])
        forest = means.get("iforest", np.nan)
        ratio = means.get("drama-active", np.nan) / forest if forest > 0 else np.nan
        ratios.append(ratio)
        shown = "n/a" if np.isnan(ratio) else f"{ratio:.2f}"
        lines.append(f"| {task} | {rs[0]['n']} | {rs[0]['anomalies']} | {rs[0]['budget']} | "
                     + " | ".join(f"{means[m]:.1f}" for m in methods) + f" | {shown} |")
    total = (np.sum(finals["drama-active"]) / max(np.sum(finals["iforest"]), 1e-9)
             if "iforest" in finals and "drama-active" in finals else np.nan)
    lines.append("| **mean** | | | | "
                 + " | ".join(f"**{np.mean(finals[m]):.1f}**" for m in methods)
                 + f" | **{total:.2f}** (ratio of the means) |")
    reach = [min(r["budget"], r["anomalies"]) for r in
             (next(x for x in results if x["task"] == t) for t in tasks)]
    lines.append("| **share of the reachable anomalies found** | | | | " + " | ".join(
        f"**{np.mean(np.asarray(finals[m]) / reach):.3f}**" for m in methods) + " | |")
    lines.append("")
    if not np.isnan(ratios).all():
        lines.append(f"median per-task ratio drama-active / iforest: {np.nanmedian(ratios):.2f}; "
                     f"geometric mean: {np.exp(np.nanmean(np.log(ratios))):.2f} "
                     "(tasks where iforest finds nothing left out)")
    ours = finals.get("drama-active", [])
    wins = {m: sum(a > b for a, b in zip(ours, finals[m], strict=True)) for m in methods
            if m != "drama-active" and ours}
    lines.append("")
    lines.append("drama-active finds more than the peer on: " + ", ".join(
        f"{m} {w}/{len(tasks)}" for m, w in wins.items()))
    ties = {m: sum(a == b for a, b in zip(ours, finals[m], strict=True)) for m in wins}
    lines.append("ties: " + ", ".join(f"{m} {t}" for m, t in ties.items()))
    boring = [r["boring_top"] for r in results if "boring_top" in r]
    if boring:
        lines.append("")
        lines.append(
            "boring-class variant (digits, 0 interesting / 1 boring): boring objects in the top "
            f"{boring[0]['top']} unlabelled: before {np.mean([b['before'] for b in boring]):.1f}, "
            f"after {np.mean([b['after'] for b in boring]):.1f}; boring-class objects labelled "
            f"{np.mean([b['labelled_boring_class'] for b in boring]):.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*",
                        help="ODDS or embedding set names, 'crts', 'crts-grid', "
                             "'digits-boring' (default: the --suite)")
    parser.add_argument("--suite", choices=("design", "embeddings"), default="design",
                        help="design: the 25 ODDS sets, crts and digits-boring (the 27 tasks "
                             "the session's options were chosen on); embeddings: the 18 sets "
                             "of shared/data/embeddings")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds are first-seed .. first-seed + seeds - 1 (fresh draws for "
                             "a check on seeds that played no part in a choice)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--max-n", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1, help="labels between refits (all methods)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="ActiveSession option for every DRAMA method (repeat; VALUE is "
                             "JSON), e.g. --option alpha=0.5; drama-balanced keeps its "
                             "strategy, and the seed sets random_state")
    parser.add_argument("--out", type=Path, default=Path("active_results.json"))
    parser.add_argument("--summarise", type=Path, help="only print the summary of a saved run")
    parser.add_argument("--plot", type=Path, help="also draw the mean discovery curves here")
    args = parser.parse_args()
    if args.summarise is not None:
        saved = json.loads(args.summarise.read_text())
        shown = tuple(m for m in args.methods if m in saved[0]["curves"])
        print(summarise(saved, shown))
        print("\n" + discovery_table(saved, shown))
        if args.plot:
            plot_discovery(saved, shown, args.plot)
        return
    tasks = args.tasks or (
        sorted(p.stem for p in EMBEDDINGS.glob("*.npz")) if args.suite == "embeddings"
        else sorted({p.stem for p in ODDS.iterdir() if p.suffix in (".mat", ".npz")})
        + ["crts", "digits-boring"])
    methods = tuple(args.methods)
    options = {key: json.loads(value) for key, value in
               (item.split("=", 1) for item in args.option)}
    if "random_state" in options:
        parser.error("random_state comes from the seed (--seeds); it is not an --option.")
    jobs = [(t, s) for t in tasks for s in range(args.first_seed, args.first_seed + args.seeds)]
    results = []
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, t, s, args.max_n, methods, args.batch, options)
                   for t, s in jobs]
        for fut in futures:
            r = fut.result()
            results.append(r)
            finals = {m: c[-1] for m, c in r["curves"].items()}
            print(f"{r['task']:>14} seed {r['seed']} budget {r['budget']:>3}: {finals} "
                  f"{r['seconds']}", flush=True)
    args.out.write_text(json.dumps(results))
    print()
    print(summarise(results, methods))
    print("\n" + discovery_table(results, methods))
    if args.plot:
        plot_discovery(results, methods, args.plot)
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
