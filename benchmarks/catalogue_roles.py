"""What column roles and --missing change on a survey-like catalogue, through `drama score`.

ODDS satellite (6435 objects, 36 features, 32% anomalies) is written as a catalogue: an
integer ``source_id`` (random 19-digit numbers), ``ra``/``dec`` (uniform on the sphere), a
text ``class`` and the 0/1 ``is_anomaly``. Each variant is scored by the command line's
default (the label-free search) in this one process, and AUC / MCC / RWS are computed from
the written scores:

- ``features only``: the 36 features and the label, nothing else (the reference);
- ``catalogue, roles``: the catalogue as it is; the roles carry the id, sky and text;
- ``id and sky as features``: the same catalogue with the id and sky columns renamed
  (``sid``, ``alpha``, ``delta``) so that no rule recognises them: they become features,
  as ``source_id`` and ``ra``/``dec`` did before the roles;
- ``1% NaN, impute`` / ``1% NaN, drop``: 1% of the feature cells blanked at random,
  scored with ``--missing impute`` and ``--missing drop`` (drop: the metrics of the
  objects scored).

    python benchmarks/catalogue_roles.py [--data-dir DIR] [--seed 0]

``--seed`` draws other ids, positions and blanks.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _data import shared_folder
from typer.testing import CliRunner

from drama.cli import app
from drama.datasets import load
from drama.metrics import evaluate


def _catalogue(X: np.ndarray, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(X)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame.insert(0, "source_id", rng.choice(10**18, size=n, replace=False) + 10**18)
    frame.insert(1, "ra", rng.uniform(0.0, 360.0, n))
    frame.insert(2, "dec", np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))))
    frame["class"] = rng.choice(["STAR", "GALAXY", "QSO"], size=n)
    frame["is_anomaly"] = y
    return frame


def _score(path: Path, out: Path, *options: str) -> dict[str, float]:
    result = CliRunner().invoke(app, ["score", str(path), "-o", str(out), *options])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    scores = pd.read_csv(out)
    truth = pd.read_csv(path, usecols=["is_anomaly"])["is_anomaly"].to_numpy()
    scored = scores["score"].notna().to_numpy()
    values = evaluate(truth[scored], scores["score"].to_numpy()[scored])
    return {**values, "n": int(scored.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = args.data_dir or shared_folder("odds")
    if folder is None:
        raise SystemExit("No ODDS folder: pass --data-dir.")
    X, y = load(folder / "satellite.mat")
    frame = _catalogue(X, y, args.seed)
    features = [c for c in frame.columns if c.startswith("f")]
    rng = np.random.default_rng(args.seed + 1)
    gappy = frame.copy()
    holes = rng.random((len(frame), len(features))) < 0.01
    gappy[features] = gappy[features].mask(holes)
    with tempfile.TemporaryDirectory() as tmp:
        folder_out = Path(tmp)
        files = {}
        hidden = frame.rename(columns={"source_id": "sid", "ra": "alpha", "dec": "delta"})
        for name, table in (("plain", frame[[*features, "is_anomaly"]]), ("catalogue", frame),
                            ("hidden", hidden), ("gappy", gappy)):
            files[name] = folder_out / f"{name}.csv"
            table.to_csv(files[name], index=False)
        runs = [
            ("features only", files["plain"], ()),
            ("catalogue, roles", files["catalogue"], ()),
            ("id and sky as features", files["hidden"], ()),
            ("1% NaN, impute", files["gappy"], ("--missing", "impute")),
            ("1% NaN, drop", files["gappy"], ("--missing", "drop")),
        ]
        print(f"satellite: {len(frame)} objects, {len(features)} features, "
              f"{int(holes.any(axis=1).sum())} objects with a blank cell in the NaN runs")
        print(f"{'variant':<24} {'objects':>7} {'AUC':>6} {'MCC':>6} {'RWS':>6}")
        for name, path, options in runs:
            m = _score(path, folder_out / "out.csv", *options)
            print(f"{name:<24} {m['n']:>7} {m['auc']:>6.3f} {m['mcc']:>6.3f} {m['rws']:>6.3f}")


if __name__ == "__main__":
    main()
