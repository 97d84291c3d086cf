"""DRAMA's default configuration against scikit-learn's IsolationForest on the ODDS sets.

Both detectors run in this one process on the same min-max-scaled data (the PEERS.md
protocol: unsupervised, fit on all objects, score all objects, seed 0). Prints AUC, MCC
(top N_o flagged) and RWS for each data set, the fit+score times and their ratio.

    python benchmarks/odds_default_vs_iforest.py [--data-dir DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _data import NO_ODDS, shared_folder
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import MinMaxScaler

from drama import Drama
from drama.datasets import load
from drama.metrics import auc_score, mcc_score, rws_score


def timed(fit_score) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    scores = fit_score()
    return scores, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    if args.data_dir is None or not args.data_dir.is_dir():
        raise SystemExit(NO_ODDS)
    files = sorted(p for p in args.data_dir.iterdir() if p.suffix in (".mat", ".npz"))
    header = ("| dataset | DRAMA AUC | IForest AUC | DRAMA MCC | IForest MCC | DRAMA RWS "
              "| IForest RWS | DRAMA s | IForest s |")
    lines = [header, "|" + "---|" * 9]
    rows = []
    print(header)
    for path in files:
        X, y = load(path)
        X = MinMaxScaler().fit_transform(X)
        drama_scores, drama_s = timed(lambda X=X: Drama(random_state=0).fit(X).decision_scores_)
        forest_scores, forest_s = timed(
            lambda X=X: -IsolationForest(random_state=0).fit(X).score_samples(X)
        )
        row = [f(y, s) for f in (auc_score, mcc_score, rws_score)
               for s in (drama_scores, forest_scores)] + [drama_s, forest_s]
        rows.append(row)
        line = f"| {path.stem} | " + " | ".join(f"{v:.3f}" for v in row[:6])
        line += f" | {drama_s:.2f} | {forest_s:.2f} |"
        lines.append(line)
        print(line, flush=True)
    means = np.mean(rows, axis=0)
    totals = np.sum(rows, axis=0)
    summary = ("| **mean** (time: total) | " + " | ".join(f"**{v:.3f}**" for v in means[:6])
               + f" | **{totals[6]:.1f}** | **{totals[7]:.1f}** |")
    lines.append(summary)
    print(summary)
    ratio = f"Time ratio DRAMA / IsolationForest: {totals[6] / totals[7]:.2f}"
    print(ratio)
    if args.markdown:
        params = Drama().get_params()
        config = ", ".join(f"{k}={params[k]!r}" for k in ("reducer", "metric", "n_levels",
                                                          "min_leaf_share"))
        args.markdown.write_text(
            f"DRAMA default ({config}) vs IsolationForest(random_state=0)\n\n"
            + "\n".join(lines) + f"\n\n{ratio}\n"
        )


if __name__ == "__main__":
    main()
