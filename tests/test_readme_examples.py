"""The README's Python examples run as written, so that they cannot drift from the code.

The examples use the reader's own data under the names ``X``, ``X_new``, ``y`` and ``ids``;
the test binds those names to the built-in breast-cancer task (no download) and runs each
block in a fresh namespace inside a temporary folder (the examples save files)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from drama.datasets import load_breast_cancer_task

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))


def readers_data() -> dict[str, object]:
    """What the examples call the reader's data: objects, new objects, a few labels
    (1 = known anomaly, 0 = known normal, -1 = unknown) and object ids."""
    X, truth = load_breast_cancer_task()
    y = np.full(len(truth), -1)
    y[np.flatnonzero(truth == 1)[:5]] = 1
    y[np.flatnonzero(truth == 0)[:20]] = 0
    return {"X": X, "X_new": X[:25], "y": y, "ids": [f"obj{i}" for i in range(len(X))]}


def test_the_readme_has_the_python_examples_this_test_runs():
    blocks = python_blocks()
    assert len(blocks) == 3
    assert [b.splitlines()[0] for b in blocks] == [
        "from drama import Drama",
        "from drama import DramaSearch, load_detector",
        "from drama.active import ActiveSession",
    ]


@pytest.mark.parametrize("index", range(3), ids=["drama", "search", "active"])
def test_a_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = readers_data()
    exec(compile(python_blocks()[index], f"README.md python block {index + 1}", "exec"),
         namespace)
    n = len(namespace["X"])
    if index == 0:
        det = namespace["det"]
        assert det.decision_scores_.shape == (n,)
        assert int(det.labels_.sum()) == round(0.05 * n)
        assert (tmp_path / "model.npz").is_file()
    elif index == 1:
        search = namespace["search"]
        assert search.labels_used_ is not None  # the last fit was the one with labels
        assert search.decision_scores_.shape == (n,)
        assert (tmp_path / "search.npz").is_file()
    else:
        session, batch = namespace["s"], namespace["batch"]
        assert len(batch) == 5
        labels = session.labels()
        assert labels[["id", "label", "cls"]].values.tolist() == [
            [batch[0].id, "interesting", "merger"]]
        session.close()
        assert (tmp_path / "survey.drama.db").is_file()
