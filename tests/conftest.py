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



_SRC = Path(__file__).resolve().parents[1] / "src"

# Loads each file named on the command line and prints one JSON line per file: the error
# (type and message), or the shape and whether the data are finite, with the values when
# small. With --fit first, each loaded X is also scored by a default Drama, and the line
# holds whether every score is finite (or the fit's error). A "start" line comes first, so
# a crash can be pinned on its file.
_LOAD_EACH = """
import json, sys
import numpy as np
from drama import Drama
from drama.datasets import load
fit = sys.argv[1] == "--fit"
for path in sys.argv[2:]:
    print(json.dumps({"start": path}), flush=True)
    try:
        X, y = load(path)
        record = {"shape": list(X.shape), "values": X.tolist() if X.size <= 64 else None}
        if fit:
            scores = Drama(random_state=0).fit(X).decision_scores_
            record["finite_scores"] = bool(np.isfinite(scores).all())
    except Exception as exc:
        record = {"error": type(exc).__name__, "message": str(exc)}
    print(json.dumps({"path": path, **record}), flush=True)
"""


def _child_env() -> dict[str, str]:
    extra = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(_SRC), *([extra] if extra else [])])}


@pytest.fixture(scope="session")
def load_isolated():
    """A function loading files with ``drama.datasets.load`` in one child interpreter, so
    that a crash (a segfault on a hostile file) or a hang fails the tests instead of killing
    pytest. Returns path -> result dict ("error" and "message", or "shape" and "values", and
    with ``fit=True`` "finite_scores"); a file whose load crashed or hung maps to
    {"crash": <what happened>}."""
    import json
    import subprocess
    import sys

    def run(paths: list[Path], timeout: float = 120.0, fit: bool = False) -> dict[str, dict]:
        names = [str(p) for p in paths]
        try:
            done = subprocess.run([sys.executable, "-c", _LOAD_EACH, "--fit" if fit else "-",
                                   *names],
                                  capture_output=True, text=True, timeout=timeout,
                                  env=_child_env())
            stdout, ending = done.stdout, f"return code {done.returncode}: {done.stderr[-800:]}"
        except subprocess.TimeoutExpired as exc:
            stdout, ending = (exc.stdout or b"").decode(), f"a hang past {timeout} s"
        results: dict[str, dict] = {}
        for line in stdout.splitlines():
            record = json.loads(line)
            if "start" in record:
                results[record["start"]] = {"crash": ending}
            else:
                results[record["path"]] = record
        return {name: results.get(name, {"crash": f"never reached ({ending})"})
                for name in names}

    return run


#: The project's benchmark files: shared/data beside the repository. Tests may look there;
#: the library never walks up folders (it reads $DRAMA_DATA and the user cache only).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark folder (with odds/, lightcurves/crts/, ...); skips, saying where
    it was expected, on machines without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared benchmark data are missing (expected {SHARED_DATA}, beside "
                    "the repository); real-data checks skipped")
    return SHARED_DATA
