"""DRAMA with the ``ae`` reducer against PyOD's AutoEncoder: accuracy and fit+score time.

Both detectors get the same raw X and run with their defaults in this one process,
alternating, so a busy machine slows both alike: DRAMA as
``Drama(reducer="ae", n_levels=2, metric="l2", random_state=seed).fit(X).decision_scores_``
(min-max scaling inside) and the same with ``space="residual"`` (each object against its own
reconstruction), PyOD as ``AutoEncoder(random_state=seed, verbose=0).fit(X)
.decision_scores_`` (standardisation inside). Data: ODDS mnist (7603 x 100) and the paper's
local-anomaly signals with n_f = 3000 (1000 inliers, 50 outliers, noise 0.3) and the new-class
signals with n_f = 3000 (1000 of shape 1, 5 of each other shape, noise 0.1). Prints, per
data set and method, the mean AUC / MCC / RWS over the seeds, the median time, and the
DRAMA/PyOD time ratio (target: DRAMA at least as accurate, no slower than 1.5x).

    python benchmarks/ae_vs_pyod.py [--seeds 0 1 2] [--data-dir DIR] [--torch-threads N]
        [--short] [--deep]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _data import shared_folder

from drama import Drama
from drama.datasets import load
from drama.datasets.synthetic import make_local_anomaly, make_new_class_anomaly
from drama.metrics import auc_score, mcc_score, rws_score


def load_sets(data_dir: Path | None, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    sets = {}
    for name in names:
        if name == "mnist":
            path = None if data_dir is None else data_dir / "mnist.mat"
            if path is None or not path.is_file():
                print(f"skipping mnist: no {path or 'ODDS folder'} (pass --data-dir)")
                continue
            X, y = load(path)
            sets[name] = (X.astype(np.float64), y.astype(int))
        elif name.startswith("local"):
            n_features = int(name.removeprefix("local"))
            sets[name] = make_local_anomaly(n_inliers=1000, n_outliers=50,
                                            n_features=n_features, shape=1, noise=0.3,
                                            random_state=0)
        elif name.startswith("newclass"):
            n_features = int(name.removeprefix("newclass"))
            sets[name] = make_new_class_anomaly(n_per_inlier_class=1000, n_per_outlier_class=5,
                                                n_features=n_features, random_state=0)
        else:
            raise SystemExit(f"unknown data set {name!r}; use mnist, local<n_features> or "
                             "newclass<n_features>")
    return sets


def timed(fit_score: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    scores = np.asarray(fit_score(), dtype=np.float64)
    return scores, time.perf_counter() - start


def drama_ae(X: np.ndarray, seed: int) -> np.ndarray:
    return Drama(reducer="ae", n_levels=2, metric="l2", random_state=seed).fit(X).decision_scores_


def drama_ae_residual(X: np.ndarray, seed: int) -> np.ndarray:
    """Each object against its own reconstruction by its leaf's auto-encoder."""
    return Drama(reducer="ae", n_levels=2, metric="l2", space="residual",
                 random_state=seed).fit(X).decision_scores_


def drama_ae_short(X: np.ndarray, seed: int) -> np.ndarray:
    """The shorter-training variant the docs offer when time matters more than accuracy."""
    options = {"max_epochs": 20, "warm_start_epochs": 4}
    return Drama(reducer="ae", n_levels=2, metric="l2", random_state=seed,
                 reducer_options=options).fit(X).decision_scores_


def drama_ae_deep(X: np.ndarray, seed: int) -> np.ndarray:
    """A 4-level tree whose small leaves still count as prototypes (docs/neural.md: picked
    after seeing the local-anomaly signals, so an illustration, not a default)."""
    return Drama(reducer="ae", n_levels=4, metric="l2", min_leaf_share=0.02,
                 random_state=seed).fit(X).decision_scores_


def pyod_ae(X: np.ndarray, seed: int) -> np.ndarray:
    from pyod.models.auto_encoder import AutoEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoEncoder(random_state=seed, verbose=0).fit(X).decision_scores_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--datasets", nargs="+", default=["mnist", "local3000", "newclass3000"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch's global CPU threads (PyOD uses them; DRAMA's ae trains "
                             "on its own n_threads=1 by default)")
    parser.add_argument("--short", action="store_true",
                        help="also run DRAMA ae with shorter training")
    parser.add_argument("--deep", action="store_true",
                        help="also run DRAMA ae at 4 levels with min_leaf_share=0.02")
    args = parser.parse_args()
    import torch

    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} global threads")
    methods = {"DRAMA ae": drama_ae, "DRAMA ae, space=residual": drama_ae_residual,
               "PyOD AutoEncoder": pyod_ae}
    if args.short:
        methods["DRAMA ae (max_epochs=20, warm_start_epochs=4)"] = drama_ae_short
    if args.deep:
        methods["DRAMA ae (n_levels=4, min_leaf_share=0.02)"] = drama_ae_deep
    header = "| data | method | AUC | MCC | RWS | time s (median) | time ratio |"
    print(header)
    print("|" + "---|" * 7)
    for name, (X, y) in load_sets(args.data_dir, args.datasets).items():
        results: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in methods}
        for seed in args.seeds:
            for method, run in methods.items():  # alternate, so load hits both alike
                scores, seconds = timed(lambda run=run, seed=seed, X=X: run(X, seed))
                results[method].append((auc_score(y, scores), mcc_score(y, scores),
                                        rws_score(y, scores), seconds))
        medians = {m: float(np.median([r[3] for r in rows])) for m, rows in results.items()}
        for method, rows in results.items():
            arr = np.array(rows)
            ratio = medians[method] / medians["PyOD AutoEncoder"]
            aucs = " ".join(f"{a:.3f}" for a in arr[:, 0])
            print(f"| {name} {X.shape[0]}x{X.shape[1]} | {method} | {arr[:, 0].mean():.3f} "
                  f"({aucs}) | {arr[:, 1].mean():.3f} | {arr[:, 2].mean():.3f} | "
                  f"{medians[method]:.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
