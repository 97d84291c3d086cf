"""Choose DRAMA-active's options leave-one-task-out, from saved discovery runs.

Each option set was run on every task by ``active_discovery.py`` (``--option KEY=VALUE``,
one JSON file per option set). Picking the set with the best mean on the very tasks it is
judged on would flatter it, so for every task the set is picked on the *other* tasks and
scored on this one; the mean of those held-out scores is the honest estimate. The peers
(static IsolationForest, AADForest, PineForest) come from the same files, run in the same
runs.

    python benchmarks/active_lodo.py defaults=a.json alpha0.5=b.json [...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

PEERS = ("iforest", "aad", "pine")


def task_means(path: Path, method: str) -> pd.Series:
    """Mean anomalies found at the budget per task (over seeds) of one method in one run."""
    runs = json.loads(path.read_text())
    frame = pd.DataFrame([{"task": r["task"], "found": r["curves"][method][-1]}
                          for r in runs if method in r["curves"]], columns=["task", "found"])
    return frame.groupby("task")["found"].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=FILE")
    args = parser.parse_args()
    files = dict(item.split("=", 1) for item in args.runs)
    table = pd.DataFrame({name: task_means(Path(f), "drama-active") for name, f in files.items()})
    for peer in PEERS:
        found = [task_means(Path(f), peer) for f in files.values()]
        found = [s for s in found if len(s)]
        if found:
            table[f"peer {peer}"] = found[0]
    variants = list(files)
    held, picks = [], []
    for task in table.index:
        pick = table.drop(index=task)[variants].mean().idxmax()
        held.append(table.loc[task, pick])
        picks.append(pick)
    table["DRAMA-active, chosen LODO"] = held
    print(table.round(1).to_string())
    means = table.mean()
    print("\nmean found per task:")
    print(means.round(2).to_string())
    if "peer iforest" in table:
        print(f"\nLODO DRAMA-active / static IsolationForest: "
              f"{means['DRAMA-active, chosen LODO'] / means['peer iforest']:.3f}")
    print("picks:", pd.Series(picks).value_counts().to_dict())
    print("held-out wins / ties / losses against each peer:")
    for peer in (c for c in table.columns if c.startswith("peer ")):
        diff = np.asarray(held) - table[peer].to_numpy()
        print(f"  {peer}: {(diff > 0).sum()} / {(diff == 0).sum()} / {(diff < 0).sum()}")


if __name__ == "__main__":
    main()
