"""Shared by the workbench tests: a small workspace and how to start ``drama serve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_ID = '<img src=x onerror="document.title=1">'


def make_workspace(folder: Path, n: int = 60) -> Path:
    """A table of n objects (5 shifted far out, one with a hostile id, a column name with
    markup), a Parquet copy of it, a file of curves and one of 10 x 10 images."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    X[:5] += 7.0
    frame = pd.DataFrame(X, columns=["flux", "<b>colour</b>", "size"])
    ids = [f"obj{i}" for i in range(n)]
    ids[1] = HOSTILE_ID
    frame.insert(0, "id", ids)
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "table.csv", index=False)
    frame.to_parquet(folder / "table.parquet", index=False)
    np.save(folder / "curves.npy", rng.normal(size=(30, 60)))
    yy, xx = np.mgrid[:10, :10]
    blob = np.exp(-((yy - 4.5) ** 2 + (xx - 4.5) ** 2) / 4.0)
    images = blob * rng.uniform(50, 100, size=(24, 1, 1)) + rng.normal(size=(24, 10, 10))
    images[0] = np.roll(images[0], 3, axis=1)  # one off-centre source
    np.save(folder / "images.npy", images)
    (folder / "notes.txt").write_text("not data")
    return folder


def start_server(workspace: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``drama serve WORKSPACE --port 0`` in a subprocess; returns it and its address."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from drama.cli import app; app()", "serve",
         str(workspace), "--port", "0",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://\S+:\d+/", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"no address printed: {line!r} {proc.stderr.read()!r}")
    return proc, found.group(0)
