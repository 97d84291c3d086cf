"""The CRTS light curves in both representations: DRAMA's label-free search against
IsolationForest on the same input, on a rare-class and a transient-class task, and the
classes of the 20 top-ranked objects (docs/lightcurves.md).

Curves: the 466 of 500 with at least 5 points at distinct times; classes as
``crts_rare_classes`` reads them (an uncertain "X?" counts as X; ambiguous "A/B", "Unknown"
and unlabelled curves are left out: 433 curves).

* ``rare``: SN, CV, AGN and Blazar are normal, every rarer class (HPM, Flare, Var, YSO,
  Mira, Carbon, Comet, Ast) an anomaly -- the task of ``drama benchmark -d crts``
  (433 curves, 42 anomalies). The same data for every seed.
* ``transient``: the persistent sources are normal (AGN, Blazar: stochastic nuclei; HPM,
  Var, YSO, Mira, Carbon: stars), the explosive or eruptive transients (SN, CV, Flare) are
  the anomalies, drawn at random so that they make 10 % of the objects (14 of 137), one
  draw per seed; Comet and Ast (moving solar-system objects) are left out.

Representations: ``features`` (``load_crts(representation="features")``: the light-curve
package's 17 features; also without the four that say how a source was observed --
brightness, noise, time span, number of points -- which can carry a selection effect:
``variability``; and with the five Bazin-fit columns: ``features+bazin``, on the curves
with at least 6 points) and ``grid`` (64 bins of each curve's own time span, channels
brightening and error). Methods: DRAMA's label-free search (``DramaSearch``, its
consensus), DRAMA with the convolutional reducer (``cae1d``, ``n_levels=2``, ``l2``; grid
only, it needs a sequence) and IsolationForest (on the grid flattened). Scores are AUC, MCC
(the top N_o flagged) and RWS, mean and standard deviation over the seeds.

    OMP_NUM_THREADS=1 python benchmarks/lightcurves_crts.py [--seeds 0 1 2 3 4]
        [--data-dir FOLDER_WITH_CRTS_FILES]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np
from _data import shared_folder
from sklearn.ensemble import IsolationForest

from drama import Drama, DramaSearch
from drama.benchmark import crts_rare_classes
from drama.datasets.lightcurve_features import FEATURES, OBSERVATION_FEATURES
from drama.datasets.lightcurves import load_crts
from drama.metrics import auc_score, mcc_score, ranking, rws_score

PERSISTENT = ("AGN", "Blazar", "HPM", "Var", "YSO", "Mira", "Carbon")
TRANSIENT = ("SN", "CV", "Flare")
TRANSIENT_SHARE = 0.10

Method = Callable[[np.ndarray, int], np.ndarray]


def search(X: np.ndarray, seed: int) -> np.ndarray:
    return DramaSearch(random_state=seed).fit(X).decision_scores_


def cae1d(X: np.ndarray, seed: int) -> np.ndarray:
    return Drama(reducer="cae1d", n_levels=2, metric="l2", random_state=seed).fit(X) \
        .decision_scores_


def iforest(X: np.ndarray, seed: int) -> np.ndarray:
    flat = X.reshape(len(X), -1)
    return -IsolationForest(random_state=seed).fit(flat).score_samples(flat)


METHODS: dict[str, dict[str, Method]] = {
    "features": {"DRAMA search": search, "IsolationForest": iforest},
    "variability": {"DRAMA search": search, "IsolationForest": iforest},
    "features+bazin": {"DRAMA search": search, "IsolationForest": iforest},
    "grid": {"DRAMA search": search, "DRAMA cae1d": cae1d, "IsolationForest": iforest},
}


def transient_draw(classes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the transient task for one seed (persistent sources and a random 10 % of
    transients, in the catalogue's order) and its 0/1 labels."""
    normal = np.flatnonzero(np.isin(classes, PERSISTENT))
    pool = np.flatnonzero(np.isin(classes, TRANSIENT))
    n_anomalies = int(round(TRANSIENT_SHARE / (1 - TRANSIENT_SHARE) * len(normal)))
    chosen = np.random.default_rng(seed).choice(pool, n_anomalies, replace=False)
    rows = np.sort(np.concatenate([normal, chosen]))
    return rows, np.isin(rows, chosen).astype(np.int64)


def top_classes(classes: np.ndarray, scores: np.ndarray, n: int = 20) -> str:
    """The classes of the n top-ranked objects, in rank order, and their counts."""
    top = classes[ranking(scores)[:n]]
    counts = ", ".join(f"{c} {k}" for c, k in Counter(top).most_common())
    return f"{' '.join(top)} ({counts})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data-dir", default=None,
                        help="the folder holding CRTS_subset_500.csv (default: "
                        "lightcurves/crts in the data folders, else shared/data)")
    args = parser.parse_args()
    folder = args.data_dir or shared_folder("lightcurves", "crts")
    data, truth, curves = {}, {}, {}
    for representation in ("features", "grid", "features+bazin"):
        with warnings.catch_warnings():  # the count of too-short curves, printed below
            warnings.simplefilter("ignore")
            X, labels, _ = load_crts(folder, representation=representation)
        keep, classes, y = crts_rare_classes(labels)
        data[representation], truth[representation] = X[keep], (classes, y)
        curves[representation] = len(labels)
    variability = [i for i, f in enumerate(FEATURES) if f not in OBSERVATION_FEATURES]
    data["variability"], truth["variability"] = (data["features"][:, variability],
                                                 truth["features"])
    classes, y = truth["features"]
    print(f"CRTS: {curves['features']} curves with >= 5 points at distinct times, {len(y)} "
          f"with a usable class: " + ", ".join(f"{c} {k}" for c, k in
                                                 Counter(classes).most_common()))
    bazin_y = truth["features+bazin"][1]
    print(f"features+bazin: {curves['features+bazin']} curves with >= 6 points at distinct "
          f"times (the Bazin fit has five parameters), {len(bazin_y)} with a usable class, "
          f"{int(bazin_y.sum())} rare-class anomalies")
    rows0, _ = transient_draw(classes, 0)
    print(f"rare task: {len(y)} objects, {int(y.sum())} anomalies; transient task: "
          f"{len(rows0)} objects, {int(round(TRANSIENT_SHARE * len(rows0)))} anomalies per "
          f"draw; seeds {args.seeds}\n")
    print("| task | representation | method | AUC | MCC | RWS | time s |")
    print("|---|---|---|---|---|---|---|")
    tops: list[str] = []
    for task in ("rare", "transient"):
        for representation, methods in METHODS.items():
            classes, y = truth[representation]
            for name, run in methods.items():
                measured = []
                for seed in args.seeds:
                    rows, answer = ((np.arange(len(y)), y) if task == "rare"
                                    else transient_draw(classes, seed))
                    start = time.perf_counter()
                    scores = run(data[representation][rows], seed)
                    seconds = time.perf_counter() - start
                    measured.append((auc_score(answer, scores), mcc_score(answer, scores),
                                     rws_score(answer, scores), seconds))
                    if seed == args.seeds[0]:
                        tops.append(f"| {task} | {representation} | {name} | "
                                    f"{int(answer[ranking(scores)[:20]].sum())} | "
                                    f"{top_classes(classes[rows], scores)} |")
                mean, std = np.mean(measured, axis=0), np.std(measured, axis=0)
                cells = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean[:3], std[:3],
                                                                        strict=True))
                print(f"| {task} | {representation} | {name} | {cells} | {mean[3]:.2f} |",
                      flush=True)
    print(f"\nTop 20 (seed {args.seeds[0]}): anomalies among them, and their classes in rank "
          "order\n")
    print("| task | representation | method | anomalies in top 20 | classes |")
    print("|---|---|---|---|---|")
    print("\n".join(tops))


if __name__ == "__main__":
    main()
