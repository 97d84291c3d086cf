"""Experiments with the neural reducers on light curves, images and the paper's signals.

* ``crts``: the CRTS light curves (>= 5 points) on a 64-bin grid, in two representations
  (each curve's own time span with channels brightening and error; the survey's window with
  a count channel added), with the rare-class rule of ``drama benchmark -d crts``
  (``drama.benchmark.suites.crts_rare_classes``: an uncertain "X?" counts as X; ambiguous
  "A/B" and "Unknown" are left out): the common classes (SN, CV, Blazar, AGN) are normal
  and every rarer class (HPM, Flare, Var, YSO, Mira, Comet, Carbon) is an anomaly. DRAMA
  cae1d / cvae1d / pca vs IsolationForest, plus the one-number baseline "quietest curve
  first".
* ``crts-features``: the same curves as the light-curve package's features
  (``load_crts(representation="features")``), DRAMA's label-free search, IsolationForest
  and LOF-20 on all of them and on the variability features alone (the other four,
  brightness, noise and sampling, can carry a selection effect).
* ``digits``: scikit-learn digits 0-4 are normal, 10 images of each of 5-9 are new classes;
  DRAMA cae2d, cvae2d, ae, vae, umap and pca vs IsolationForest.
* ``digits-one``: the talk's MNIST example on scikit-learn's digits: each digit in turn is
  the new class (5 % of the objects, ``load_digits_task(d, images=True)``), the nine
  others normal; DRAMA cae2d, cvae2d, ae, pca and the label-free DramaSearch consensus vs
  IsolationForest.
* ``hubble``: 16 x 16 x 3 cutouts of the Hubble Deep Field (no labels): DRAMA cae2d's top
  cutouts, printed with their positions and drawn into a figure, and how many of them
  cvae2d's top cutouts share.
* ``signals``: the paper's synthetic curves, n_f = 100 and 3000, local anomalies (1000 + 50,
  noise 0.3) and new-class anomalies (1000 of shape 1 + 5 of each other shape); DRAMA cae1d,
  cvae1d, ae, vae, umap and pca vs IsolationForest (n_f = 3000 with ``--long-seeds``
  only: cae1d needs about ten seconds per tree node there on one CPU thread).

DRAMA runs as ``Drama(reducer=..., n_levels=2, metric="l2", random_state=seed)``; scores
are AUC, MCC (top N_o flagged) and RWS, averaged over the seeds, with the mean fit+score time.

    python benchmarks/experiments_neural.py
        [--only crts crts-features digits digits-one hubble signals]
        [--seeds 0 1 2] [--long-seeds 0] [--out out/experiments_neural]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest

from drama import Drama, DramaSearch
from drama.metrics import auc_score, mcc_score, ranking, rws_score


def drama(reducer: str, **options: object) -> Callable[[np.ndarray, int], np.ndarray]:
    def run(X: np.ndarray, seed: int) -> np.ndarray:
        model = Drama(reducer=reducer, n_levels=2, metric="l2", random_state=seed,
                      reducer_options=options or None)
        return model.fit(X).decision_scores_

    return run


def iforest(X: np.ndarray, seed: int) -> np.ndarray:
    flat = X.reshape(len(X), -1)
    return -IsolationForest(random_state=seed).fit(flat).score_samples(flat)


def table(title: str, X: np.ndarray, y: np.ndarray,
          methods: dict[str, Callable[[np.ndarray, int], np.ndarray]], seeds: list[int]) -> None:
    print(f"\n### {title}: {len(X)} objects of shape {X.shape[1:]}, {int(y.sum())} anomalies\n")
    print("| method | AUC | MCC | RWS | time s |")
    print("|---|---|---|---|---|")
    for name, run in methods.items():
        rows = []
        for seed in seeds:
            start = time.perf_counter()
            scores = run(X, seed)
            seconds = time.perf_counter() - start
            rows.append((auc_score(y, scores), mcc_score(y, scores), rws_score(y, scores),
                         seconds))
        m = np.mean(rows, axis=0)
        print(f"| {name} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.2f} |", flush=True)


def crts(seeds: list[int]) -> None:
    from drama.benchmark import crts_rare_classes
    from drama.datasets.lightcurves import load_crts

    representations = {
        "own time span, channels mag+err (default)": {},
        "survey time window, channels mag+err+count": {"time_grid": "survey",
                                                       "channels": ("mag", "err", "count")},
    }
    for title, options in representations.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X, labels, _ = load_crts(n_bins=64, **options)
        keep, labels, y = crts_rare_classes(labels)
        X = X[keep]
        rare = sorted({lab for lab in labels[y == 1]})
        print(f"\nCRTS anomalies: {', '.join(f'{r} ({int((labels == r).sum())})' for r in rare)}")
        amplitude = X[..., 0].std(axis=1)
        print("median variability (std of the mag channel) by class: " + ", ".join(
            f"{c} {np.median(amplitude[labels == c]):.2f}" for c in sorted(set(labels))))
        print(f"AUC of 'quietest first' (minus that std): {auc_score(y, -amplitude):.3f}")
        table(f"CRTS light curves ({title}), rare classes as anomalies", X, y,
              {"DRAMA cae1d": drama("cae1d"), "DRAMA cvae1d": drama("cvae1d"),
               "DRAMA pca": drama("pca"), "IsolationForest": iforest}, seeds)


def consensus(X: np.ndarray, seed: int) -> np.ndarray:
    return DramaSearch(random_state=seed).fit(X).decision_scores_


def lof20(X: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.neighbors import LocalOutlierFactor

    return -LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_


def crts_features(seeds: list[int]) -> None:
    """How much of the per-curve table's signal is variability, and how much brightness
    and sampling (which can carry a selection effect): the same detectors on all the
    columns and on the variability columns alone."""
    from _data import shared_folder
    from sklearn.preprocessing import minmax_scale

    from drama.benchmark import crts_task
    from drama.datasets.lightcurve_features import FEATURES, OBSERVATION_FEATURES

    X, y = crts_task(shared_folder("lightcurves", "crts"), representation="features").load()
    X = minmax_scale(X)  # as the benchmark's peers see it; DRAMA scales so itself
    variability = [i for i, f in enumerate(FEATURES) if f not in OBSERVATION_FEATURES]
    methods = {"DRAMA (DramaSearch consensus)": consensus, "IsolationForest": iforest,
               "LOF-20": lof20}
    for title, columns in ((f"all {len(FEATURES)} features", list(range(len(FEATURES)))),
                           (f"the {len(variability)} variability features", variability)):
        table(f"CRTS per-curve features ({title}), rare classes as anomalies",
              X[:, columns], y, methods, seeds)


def digits_new_classes() -> tuple[np.ndarray, np.ndarray]:
    """Digits 0-4 normal, 10 images of each of 5-9 as new classes: (951, 8, 8) images."""
    from drama.datasets.images import load_digits_images

    images, target = load_digits_images()
    rng = np.random.default_rng(0)
    normal = np.flatnonzero(target <= 4)
    new = np.concatenate([rng.choice(np.flatnonzero(target == d), 10, replace=False)
                          for d in range(5, 10)])
    idx = np.concatenate([normal, new])
    return images[idx], (target[idx] >= 5).astype(int)


def digits(seeds: list[int]) -> None:
    X, y = digits_new_classes()
    table("digits 0-4 normal, 10 of each of 5-9 as new classes", X, y,
          {"DRAMA cae2d": drama("cae2d"), "DRAMA cvae2d": drama("cvae2d"),
           "DRAMA ae": drama("ae"), "DRAMA vae": drama("vae"), "DRAMA umap": drama("umap"),
           "DRAMA pca": drama("pca"), "IsolationForest": iforest},
          seeds)


def digits_one(seeds: list[int]) -> None:
    """The talk's MNIST example on scikit-learn's digits: each digit in turn is the new
    class (5 % of the objects), the nine others are normal."""
    from drama.datasets import load_digits_task

    methods = {"DRAMA cae2d": drama("cae2d"), "DRAMA cvae2d": drama("cvae2d"),
               "DRAMA ae": drama("ae"), "DRAMA pca": drama("pca"),
               "DRAMA (DramaSearch consensus)": consensus, "IsolationForest": iforest}
    print("\n### digits, one digit the new class (5 %), the nine others normal\n")
    print("| method | " + " | ".join(f"AUC {d}" for d in range(10))
          + " | mean AUC | mean MCC | mean RWS | time s |")
    print("|---|" + "---|" * 14)
    tasks = [load_digits_task(anomaly_digit=d, images=True) for d in range(10)]
    for name, run in methods.items():
        rows = []
        for X, y in tasks:
            for seed in seeds:
                start = time.perf_counter()
                scores = run(X, seed)
                rows.append((auc_score(y, scores), mcc_score(y, scores),
                             rws_score(y, scores), time.perf_counter() - start))
        per_digit = np.array(rows).reshape(10, len(seeds), 4).mean(axis=1)
        m = per_digit.mean(axis=0)
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in per_digit[:, 0])
              + f" | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.2f} |", flush=True)


def hubble(out: Path, top: int = 16) -> None:
    from drama.datasets.images import hubble_cutouts

    X, corners = hubble_cutouts(size=16)
    start = time.perf_counter()
    model = Drama(reducer="cae2d", n_levels=2, metric="l2", random_state=0).fit(X)
    seconds = time.perf_counter() - start
    scores = model.decision_scores_
    order = ranking(scores)[:top]
    brightness = X.mean(axis=(1, 2, 3))
    print(f"\n### Hubble Deep Field: {len(X)} cutouts 16x16x3, DRAMA cae2d ({seconds:.1f} s)\n")
    print(f"mean brightness: all {brightness.mean():.3f}, top {top} "
          f"{brightness[order].mean():.3f}; brightest-{top} cutouts among the top {top}: "
          f"{len(set(order) & set(ranking(brightness)[:top]))}")
    start = time.perf_counter()
    variational = Drama(reducer="cvae2d", n_levels=2, metric="l2", random_state=0).fit(X)
    top_variational = ranking(variational.decision_scores_)[:top]
    shared = len(set(order) & set(top_variational))
    print(f"DRAMA cvae2d ({time.perf_counter() - start:.1f} s): {shared} of its top {top} are "
          f"in cae2d's; their mean brightness {brightness[top_variational].mean():.3f}")
    print("| rank | row | col | score | mean brightness |")
    print("|---|---|---|---|---|")
    for rank, i in enumerate(order, 1):
        print(f"| {rank} | {corners[i, 0]} | {corners[i, 1]} | {scores[i]:.3f} | "
              f"{brightness[i]:.3f} |")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    cols = 8
    fig, axes = plt.subplots(top // cols, cols, figsize=(cols * 1.2, top // cols * 1.35))
    for ax, i in zip(axes.ravel(), order, strict=False):
        ax.imshow(np.clip(X[i], 0, 1), interpolation="nearest")
        ax.set_title(f"({corners[i, 0]},{corners[i, 1]})", fontsize=6)
        ax.axis("off")
    fig.suptitle("Hubble Deep Field: DRAMA cae2d top cutouts (row, col)", fontsize=8)
    path = out / "hubble_top_cutouts.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"\nfigure: {path}")


def signals(seeds: list[int], long_seeds: list[int]) -> None:
    from drama.datasets.synthetic import make_local_anomaly, make_new_class_anomaly

    for n_features, use in ((100, seeds), (3000, long_seeds)):
        methods = {"DRAMA cae1d": drama("cae1d"), "DRAMA cvae1d": drama("cvae1d"),
                   "DRAMA ae": drama("ae"), "DRAMA vae": drama("vae"),
                   "DRAMA umap": drama("umap"), "DRAMA pca": drama("pca"),
                   "IsolationForest": iforest}
        X, y = make_local_anomaly(n_inliers=1000, n_outliers=50, n_features=n_features,
                                  noise=0.3, random_state=0)
        table(f"signals, local anomaly, n_f={n_features}", X, y, methods, use)
        X, y = make_new_class_anomaly(n_per_inlier_class=1000, n_per_outlier_class=5,
                                      n_features=n_features, random_state=0)
        table(f"signals, new class, n_f={n_features}", X, y, methods, use)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+",
                        default=["crts", "crts-features", "digits", "digits-one", "hubble",
                                 "signals"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--long-seeds", nargs="+", type=int, default=[0],
                        help="seeds for the n_f=3000 signals (cae1d takes minutes there)")
    parser.add_argument("--out", type=Path, default=Path("out/experiments_neural"))
    args = parser.parse_args()
    for part in args.only:
        if part == "crts":
            crts(args.seeds)
        elif part == "crts-features":
            crts_features(args.seeds)
        elif part == "digits":
            digits(args.seeds)
        elif part == "digits-one":
            digits_one(args.seeds)
        elif part == "hubble":
            hubble(args.out)
        elif part == "signals":
            signals(args.seeds, args.long_seeds)
        else:
            raise SystemExit(f"unknown part {part!r}")


if __name__ == "__main__":
    main()
