"""Peak memory and time of DRAMA `none` and `pca` at 3 levels on ODDS `http` (567,498 x 3).

Each configuration runs in a fresh subprocess so that its peak resident memory
(ru_maxrss) is its own; the baseline is the same process after loading the data only.

    python benchmarks/http_memory.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _data import NO_ODDS, shared_folder

CHILD = """
import json, resource, sys, time
from drama import Drama
from drama.datasets import load
from drama.metrics import auc_score
X, y = load(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
auc = None
if sys.argv[2] != "baseline":
    det = Drama(reducer=sys.argv[2], n_levels=3, random_state=0).fit(X)
    auc = auc_score(y, det.decision_scores_)
print(json.dumps({"seconds": time.perf_counter() - start, "auc": auc, "base_kib": base,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder("odds"))
    args = parser.parse_args()
    if args.data_dir is None:
        raise SystemExit(NO_ODDS)
    path = str(args.data_dir / "http.npz")
    print("| reducer | fit+score s | AUC | peak RSS MiB (process) | of which data loaded MiB |")
    print("|---|---|---|---|---|")
    for reducer in ("baseline", "none", "pca"):
        out = subprocess.run([sys.executable, "-c", CHILD, path, reducer], check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        auc = "-" if result["auc"] is None else f"{result['auc']:.3f}"
        print(f"| {reducer} | {result['seconds']:.2f} | {auc} | {result['peak_kib'] / 1024:.0f} "
              f"| {result['base_kib'] / 1024:.0f} |", flush=True)


if __name__ == "__main__":
    main()
