"""Where the benchmark's data sets come from: the ODDS folder, the CRTS light curves and the
paper's synthetics."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from drama.benchmark.runner import Task
from drama.datasets import load, make_local_anomaly, make_new_class_anomaly
from drama.datasets.folders import DATA_ENV, data_dirs, odds_dir
from drama.datasets.synthetic import N_SHAPES, check_count, check_shape

ODDS_SUFFIXES = (".mat", ".npz")
#: The paper's synthetic experiments: its signal lengths n_f, and every shape.
SYNTHETIC_LENGTHS = (100, 3000)
SYNTHETIC_SHAPES = tuple(range(1, N_SHAPES + 1))


def default_odds_dir() -> Path:
    """The ODDS folder (:func:`drama.datasets.odds_dir`), or where it was expected."""
    return odds_dir() or data_dirs()[0] / "odds"  # the latter names where we looked first


def odds_tasks(data_dir: str | Path | None = None, names: list[str] | None = None
               ) -> list[Task]:
    """One task per ODDS file in ``data_dir`` (all, or the listed names), smallest first so
    that early progress is quick; an unknown name or a missing folder raises."""
    folder = Path(data_dir) if data_dir is not None else default_odds_dir()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No ODDS folder at {folder}: pass --data-dir, or set {DATA_ENV} to the folder "
            "that holds odds/."
        )
    files = {p.stem: p for p in folder.iterdir() if p.suffix in ODDS_SUFFIXES}
    if names:
        missing = [n for n in names if n not in files]
        if missing:
            raise ValueError(f"No data set {missing} in {folder}; found {sorted(files)}.")
        chosen = [files[n] for n in names]
    else:
        chosen = sorted(files.values(), key=lambda p: p.stat().st_size)
    return [Task(p.stem, partial(_labelled, p)) for p in chosen]


def _labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A benchmark file's objects and labels: a file without labels cannot be scored."""
    X, y = load(path)
    if y is None:
        raise ValueError(f"{path} holds no labels; the benchmark needs them to score detectors.")
    return X, y


def synthetic_tasks(n_features: tuple[int, ...] = SYNTHETIC_LENGTHS,
                    shapes: tuple[int, ...] = SYNTHETIC_SHAPES, seed: int = 0) -> list[Task]:
    """The paper's synthetic experiments: local anomalies (1000 inliers + 50 bumped curves,
    noise 0.3) and new-class anomalies (1000 of one shape + 5 of every other shape).

    Each task draws from its own seed, derived from ``seed``, the kind, the shape and n_f:
    with one seed for all, every shape had the same jitter, noise and bump positions, so
    the per-shape results were not independent experiments."""
    for shape in shapes:  # before any task runs, not when its turn comes
        check_shape(shape)
    for nf in n_features:
        check_count(nf, "n_features", minimum=1)
    tasks = []
    for nf in n_features:
        for shape in shapes:
            tasks.append(Task(f"local-s{shape}-f{nf}", partial(_local, shape, nf, seed)))
            tasks.append(Task(f"newclass-s{shape}-f{nf}", partial(_new_class, shape, nf, seed)))
    return tasks


def _local(shape: int, nf: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # a fresh generator at every load, so that a task loads the same data each time
    return make_local_anomaly(n_features=nf, shape=shape,
                              random_state=np.random.default_rng([seed, 0, shape, nf]))


def _new_class(shape: int, nf: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return make_new_class_anomaly(inlier_shapes=(shape,), n_features=nf,
                                  random_state=np.random.default_rng([seed, 1, shape, nf]))


CRTS_NORMAL_CLASSES = ("SN", "CV", "AGN", "Blazar")


def crts_rare_classes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keep, classes, y)`` for CRTS class labels: which curves have a usable class, that
    class, and 1 where it is rare (not one of the four common classes). A trailing "?"
    counts as the class; ambiguous ("SN/CV"), "Unknown" and unlabelled curves are left out."""
    base = np.asarray([str(c).rstrip("?") for c in labels])
    keep = np.asarray(["/" not in c and c not in ("Unknown", "unlabelled") for c in base],
                      dtype=bool)
    if not keep.any():
        raise ValueError("No CRTS curve has a usable class label (transient_labels.csv "
                         "missing, or every class ambiguous or Unknown); the crts task "
                         "needs the classes to know the anomalies.")
    classes = base[keep]
    return keep, classes, np.asarray([c not in CRTS_NORMAL_CLASSES for c in classes],
                                     dtype=np.int64)


def crts_task(folder: str | Path | None = None, representation: str = "features") -> Task:
    """The CRTS light curves as a rare-class task (:func:`crts_rare_classes`): the four
    common classes are normal, every rarer class (HPM, Flare, Var, YSO, Mira, ...) is an
    anomaly."""

    def load_curves() -> tuple[np.ndarray, np.ndarray]:
        import warnings

        from drama.datasets.lightcurves import load_crts

        with warnings.catch_warnings():  # the count of too-short curves skipped
            warnings.simplefilter("ignore")
            X, labels, _ = load_crts(folder, representation=representation)
        keep, _, y = crts_rare_classes(labels)
        return X[keep].reshape(int(keep.sum()), -1), y

    return Task("crts" if representation == "features" else f"crts-{representation}",
                load_curves)
