"""Deep clustering against Ward on the same trees (docs/neural.md#deep-clustering).

Every row fits ``Drama(reducer=r, n_levels=2, metric="l2", random_state=seed)`` twice, with
``clustering="ward"`` and ``clustering="deep"`` (default ``cluster_gamma`` and
``cluster_epochs``), so both trees start from the same root network and differ only by
the joint training of each node's network with its split. Tasks are the neural
experiments' (``experiments_neural.py``):

* ``digits``: digits 0-4 normal, 10 images of each of 5-9 as new classes; cae2d, cvae2d,
  ae, vae.
* ``signals``: the paper's curves at n_f = 100, local anomalies (1000 + 50, noise 0.3) and
  new classes (1000 of shape 1 + 5 of each other shape); cae1d, cvae1d, ae, vae.
* ``crts``: the CRTS light curves on the 64-bin grid of their own time span (the default
  representation), rare classes as anomalies (``crts_rare_classes``); cae1d, cvae1d.
* ``signals-long``: the same curves at n_f = 3000; ae and vae over ``--seeds``, cae1d and
  cvae1d over ``--long-seeds`` only (about ten seconds per tree node on one CPU thread).
* ``hubble``: 16 x 16 x 3 Hubble Deep Field cutouts, which have no labels: how many of the
  16 top-scored cutouts the two trees share (cae2d, cvae2d; seed 0).

Scores are AUC, MCC (top N_o flagged) and RWS, averaged over the seeds, with the mean
fit+score time. The last lines sum up every labelled row: the mean change deep - ward and
how many rows deep wins, ties or loses on each score.

    OMP_NUM_THREADS=1 python benchmarks/deep_clustering.py
        [--only digits signals crts hubble signals-long] [--seeds 0 1 2]
        [--long-seeds 0] [--signal-tasks local new-class]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from experiments_neural import digits_new_classes

from drama import Drama
from drama.metrics import auc_score, mcc_score, ranking, rws_score

CLUSTERINGS = ("ward", "deep")
SIGNAL_TASKS = ["local", "new-class"]  # set from --signal-tasks
# (task, reducer) -> {clustering: mean (AUC, MCC, RWS, seconds)}
RESULTS: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def fit_scores(X: np.ndarray, reducer: str, clustering: str, seed: int) -> tuple[np.ndarray,
                                                                                 float]:
    start = time.perf_counter()
    model = Drama(reducer=reducer, clustering=clustering, n_levels=2, metric="l2",
                  random_state=seed).fit(X)
    return model.decision_scores_, time.perf_counter() - start


def table(title: str, X: np.ndarray, y: np.ndarray, reducers: dict[str, list[int]]) -> None:
    """One row per reducer (each over its own seeds): Ward's and deep's scores and times."""
    print(f"\n### {title}: {len(X)} objects of shape {X.shape[1:]}, {int(y.sum())} anomalies\n")
    print("| reducer | seeds | ward AUC / MCC / RWS | deep AUC / MCC / RWS | ward s | deep s |")
    print("|---|---|---|---|---|---|")
    for reducer, seeds in reducers.items():
        rows: dict[str, list[tuple[float, ...]]] = {c: [] for c in CLUSTERINGS}
        for seed in seeds:  # ward and deep side by side, so a busy spell slows both alike
            for clustering in CLUSTERINGS:
                scores, seconds = fit_scores(X, reducer, clustering, seed)
                rows[clustering].append((auc_score(y, scores), mcc_score(y, scores),
                                         rws_score(y, scores), seconds))
        means = {c: np.mean(r, axis=0) for c, r in rows.items()}
        RESULTS[(title, reducer)] = means
        w, d = means["ward"], means["deep"]
        print(f"| {reducer} | {','.join(map(str, seeds))} | {w[0]:.3f} / {w[1]:.3f} / "
              f"{w[2]:.3f} | {d[0]:.3f} / {d[1]:.3f} / {d[2]:.3f} | {w[3]:.2f} | {d[3]:.2f} |",
              flush=True)


def digits(seeds: list[int], long_seeds: list[int]) -> None:
    X, y = digits_new_classes()
    table("digits 0-4 normal, 10 of each of 5-9 as new classes", X, y,
          dict.fromkeys(("cae2d", "cvae2d", "ae", "vae"), seeds))


def _signal_tables(n_features: int, reducers: dict[str, list[int]]) -> None:
    from drama.datasets.synthetic import make_local_anomaly, make_new_class_anomaly

    if "local" in SIGNAL_TASKS:
        X, y = make_local_anomaly(n_inliers=1000, n_outliers=50, n_features=n_features,
                                  noise=0.3, random_state=0)
        table(f"signals, local anomaly, n_f={n_features}", X, y, reducers)
    if "new-class" in SIGNAL_TASKS:
        X, y = make_new_class_anomaly(n_per_inlier_class=1000, n_per_outlier_class=5,
                                      n_features=n_features, random_state=0)
        table(f"signals, new class, n_f={n_features}", X, y, reducers)


def signals(seeds: list[int], long_seeds: list[int]) -> None:
    _signal_tables(100, dict.fromkeys(("cae1d", "cvae1d", "ae", "vae"), seeds))


def signals_long(seeds: list[int], long_seeds: list[int]) -> None:
    reducers = {"ae": seeds, "vae": seeds, "cae1d": long_seeds, "cvae1d": long_seeds}
    _signal_tables(3000, {r: s for r, s in reducers.items() if s})


def crts(seeds: list[int], long_seeds: list[int]) -> None:
    from _data import shared_folder

    from drama.benchmark import crts_rare_classes
    from drama.datasets.lightcurves import load_crts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, labels, _ = load_crts(shared_folder("lightcurves", "crts"), n_bins=64)
    keep, labels, y = crts_rare_classes(labels)
    table("CRTS light curves (own time span, mag+err), rare classes as anomalies", X[keep], y,
          dict.fromkeys(("cae1d", "cvae1d"), seeds))


def hubble(seeds: list[int], long_seeds: list[int], top: int = 16) -> None:
    from drama.datasets.images import hubble_cutouts

    X, _ = hubble_cutouts(size=16)
    brightness = X.mean(axis=(1, 2, 3))
    print(f"\n### Hubble Deep Field: {len(X)} cutouts 16x16x3 (no labels), seed 0\n")
    print(f"| reducer | top {top} shared by ward and deep | mean brightness of the top {top}: "
          "ward / deep (all cutouts: "
          f"{brightness.mean():.3f}) | ward s | deep s |")
    print("|---|---|---|---|---|")
    for reducer in ("cae2d", "cvae2d"):
        (ward, ward_s), (deep, deep_s) = (fit_scores(X, reducer, c, 0) for c in CLUSTERINGS)
        top_ward, top_deep = ranking(ward)[:top], ranking(deep)[:top]
        print(f"| {reducer} | {len(set(top_ward) & set(top_deep))} | "
              f"{brightness[top_ward].mean():.3f} / {brightness[top_deep].mean():.3f} | "
              f"{ward_s:.2f} | {deep_s:.2f} |", flush=True)


def summary() -> None:
    if not RESULTS:
        return
    diffs = np.array([m["deep"][:3] - m["ward"][:3] for m in RESULTS.values()])
    times = np.array([m["deep"][3] / m["ward"][3] for m in RESULTS.values()])
    print(f"\n### Deep - Ward over {len(diffs)} labelled rows (task x reducer)\n")
    print("| score | mean change | deep better / tied / worse (rows) |")
    print("|---|---|---|")
    for i, name in enumerate(("AUC", "MCC", "RWS")):
        d = np.round(diffs[:, i], 3)
        print(f"| {name} | {diffs[:, i].mean():+.4f} | {(d > 0).sum()} / {(d == 0).sum()} / "
              f"{(d < 0).sum()} |")
    print(f"\ndeep's time / ward's: median {np.median(times):.2f}, "
          f"range {times.min():.2f}-{times.max():.2f}")


PARTS = {"digits": digits, "signals": signals, "crts": crts, "hubble": hubble,
         "signals-long": signals_long}


def warm_up() -> None:
    """One tiny fit per network kind, so no timed row pays for loading torch."""
    rng = np.random.default_rng(0)
    for reducer, shape in (("ae", (8,)), ("cae1d", (16,)), ("cae2d", (8, 8))):
        Drama(reducer=reducer, clustering="deep", n_levels=1, random_state=0,
              reducer_options={"max_epochs": 1, "cluster_epochs": 1}).fit(
            rng.random((40, *shape)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(PARTS),
                        default=list(PARTS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--long-seeds", nargs="*", type=int, default=[0],
                        help="seeds for cae1d / cvae1d at n_f=3000 (minutes per tree); "
                             "none skips them")
    parser.add_argument("--signal-tasks", nargs="+", choices=SIGNAL_TASKS,
                        default=SIGNAL_TASKS)
    args = parser.parse_args()
    SIGNAL_TASKS[:] = args.signal_tasks
    warm_up()
    start = time.perf_counter()
    for part in args.only:
        PARTS[part](args.seeds, args.long_seeds)
    summary()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
