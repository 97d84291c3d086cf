"""Shared test set-up: property tests are derandomised under CI so that a run repeats, and a
helper that makes a saved model look GPU-trained."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def as_gpu_model():
    """A function that rewrites a saved neural model as a GPU machine would have written it
    (it differs only in the device option); skips where a GPU is present, since such a
    file then loads as it is."""
    torch = pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so a 'cuda' model loads as it is")

    def rewrite(source: Path, target: Path) -> Path:
        with np.load(source, allow_pickle=False) as saved:
            arrays = {k: saved[k] for k in saved.files}
        meta = json.loads(str(arrays["__meta__"]))
        meta["params"]["reducer_options"]["device"] = "cuda"
        for reducer in meta["reducers"]:
            reducer["options"]["device"] = "cuda"
        arrays["__meta__"] = np.array(json.dumps(meta))
        with open(target, "wb") as handle:
            np.savez(handle, **arrays)
        return target

    return rewrite
