"""The measurements behind two defaults of the neural and manifold reducers.

* ``umap-decode``: umap's ``n_decode_neighbors`` among 10, 50 and 200, chosen
  leave-one-data-set-out on eight sets (the digits new-class task of
  ``experiments_neural.py``, the paper's local and new-class signals at n_f = 100, and ODDS
  cardio, pendigits, satellite, wbc, glass). Each fold picks the value with the best mean
  AUC on the other seven; the held-out AUCs are averaged.
* ``latent``: ``ae`` with ``latent_dim`` 2, 4 and 8 on ODDS mnist and the local-anomaly
  signals at n_f = 3000, seeds 0-2.

DRAMA runs as ``Drama(reducer=..., n_levels=2, metric="l2", random_state=seed)``.

    python benchmarks/neural_defaults.py [--only umap-decode latent] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _data import shared_folder
from experiments_neural import digits_new_classes  # run as a script, benchmarks/ is on the path

from drama import Drama
from drama.datasets import load
from drama.datasets.synthetic import make_local_anomaly, make_new_class_anomaly
from drama.metrics import auc_score

DECODE_NEIGHBOURS = [10, 50, 200]
ODDS_SETS = ["cardio", "pendigits", "satellite", "wbc", "glass"]


def auc_of(X: np.ndarray, y: np.ndarray, reducer: str, seed: int = 0, latent_dim: int = 2,
           **options: object) -> float:
    model = Drama(reducer=reducer, n_levels=2, metric="l2", latent_dim=latent_dim,
                  random_state=seed, reducer_options=options or None)
    return auc_score(y, model.fit(X).decision_scores_)


def umap_decode(data_dir: Path | None) -> None:
    images, new_class = digits_new_classes()
    sets = {"digits (new classes)": (images.reshape(len(images), -1), new_class),
            "local signals, n_f=100": make_local_anomaly(n_inliers=1000, n_outliers=50,
                                                         n_features=100, noise=0.3,
                                                         random_state=0),
            "new-class signals, n_f=100": make_new_class_anomaly(
                n_per_inlier_class=1000, n_per_outlier_class=5, n_features=100,
                random_state=0)}
    for name in ODDS_SETS:
        path = None if data_dir is None else data_dir / f"{name}.mat"
        if path is None or not path.is_file():
            print(f"skipping {name}: no {path or 'ODDS folder'} (pass --data-dir)")
            continue
        sets[name] = load(path)
    print("\n| data | " + " | ".join(f"k = {k}" for k in DECODE_NEIGHBOURS) + " |")
    print("|---|" + "---|" * len(DECODE_NEIGHBOURS))
    table = []
    for name, (X, y) in sets.items():
        row = [auc_of(X, y, "umap", n_decode_neighbors=k) for k in DECODE_NEIGHBOURS]
        table.append(row)
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in row) + " |", flush=True)
    aucs = np.array(table)
    picks = [int(np.delete(aucs, i, axis=0).mean(axis=0).argmax()) for i in range(len(aucs))]
    held_out = aucs[np.arange(len(aucs)), picks].mean()
    counts = {DECODE_NEIGHBOURS[j]: picks.count(j) for j in sorted(set(picks))}
    print(f"\nleave-one-data-set-out: picks {counts}, held-out mean AUC {held_out:.3f}; "
          "fixed " + ", ".join(f"k = {k}: {m:.3f}" for k, m in
                               zip(DECODE_NEIGHBOURS, aucs.mean(axis=0), strict=True)))


def latent(data_dir: Path | None) -> None:
    sets = {"local signals, n_f=3000": make_local_anomaly(n_inliers=1000, n_outliers=50,
                                                          n_features=3000, noise=0.3,
                                                          random_state=0)}
    path = None if data_dir is None else data_dir / "mnist.mat"
    if path is not None and path.is_file():
        sets = {"mnist": load(path), **sets}
    else:
        print(f"skipping mnist: no {path or 'ODDS folder'} (pass --data-dir)")
    print("\n| data | latent_dim | AUC per seed | mean AUC | time s (mean) |")
    print("|---|---|---|---|---|")
    for name, (X, y) in sets.items():
        for size in (2, 4, 8):
            start = time.perf_counter()
            aucs = [auc_of(X, y, "ae", seed, latent_dim=size) for seed in (0, 1, 2)]
            seconds = (time.perf_counter() - start) / 3
            print(f"| {name} | {size} | {' '.join(f'{a:.3f}' for a in aucs)} | "
                  f"{np.mean(aucs):.3f} | {seconds:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["umap-decode", "latent"])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # umap-learn's and torch's notices
    for part in args.only:
        if part == "umap-decode":
            umap_decode(args.data_dir)
        elif part == "latent":
            latent(args.data_dir)
        else:
            raise SystemExit(f"unknown part {part!r}")


if __name__ == "__main__":
    main()
