"""Seeded fuzzing of input files: small valid CSV (with ids and labels, and features only),
Parquet, MATLAB (v5 dense and sparse, v7.3) and .npy files are mutated byte by byte or cell
by cell, and every mutant must either load and score finitely or be refused with one clean
line (ValueError / TypeError): never crash, hang or raise some other error. All mutants are
loaded and scored in one child interpreter (``load_isolated``), so a crash fails the test
instead of killing pytest; the whole run takes a few seconds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse

SEED = 20261207
MUTANTS_PER_SEED = 40
CLEAN_ERRORS = {"ValueError", "TypeError"}

# Cells a clumsy export or an attacker puts into a CSV.
ODD_CELLS = ["", "nan", "inf", "-inf", "1e309", "-1e308", "abc", "0x1F", "1,5", '"', "'",
             "9" * 400, "\x00", "True", " ", "1e-320", "NULL", "#", "1;2"]


def _frame(rng: np.random.Generator) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    frame.insert(0, "id", np.arange(1237648720693755000, 1237648720693755030))
    frame["label"] = (np.arange(30) % 10 == 0).astype(int)
    return frame


def _write_seeds(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """One valid file per format, small enough that every mutant scores in milliseconds."""
    frame = _frame(rng)
    X, y = frame[["a", "b", "c"]].to_numpy(), frame["label"].to_numpy()
    seeds = {"csv": folder / "seed.csv", "csvplain": folder / "plain.csv",
             "parquet": folder / "seed.parquet",
             "mat5": folder / "seed5.mat", "mat5sparse": folder / "seed5sparse.mat",
             "mat73": folder / "seed73.mat", "npy": folder / "seed.npy"}
    frame.to_csv(seeds["csv"], index=False)
    frame[["a", "b", "c"]].to_csv(seeds["csvplain"], index=False)  # features only
    frame.to_parquet(seeds["parquet"], index=False)
    scipy.io.savemat(seeds["mat5"], {"X": X, "y": y.reshape(-1, 1)})
    sparse = X.copy()
    sparse[np.abs(sparse) < 0.7] = 0
    scipy.io.savemat(seeds["mat5sparse"], {"X": scipy.sparse.csc_matrix(sparse)})
    with h5py.File(seeds["mat73"], "w", userblock_size=512) as handle:
        handle.create_dataset("X", data=X.T)
        handle.create_dataset("y", data=y.reshape(1, -1).astype(float))
    np.save(seeds["npy"], X)
    return seeds


def _flip_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        buf[int(rng.integers(len(buf)))] = int(rng.integers(256))
    return bytes(buf)


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def _splice(data: bytes, rng: np.random.Generator) -> bytes:
    """Copy a chunk of the file over another place: plausible structure in the wrong spot."""
    size = int(rng.integers(1, max(2, len(data) // 8)))
    start, to = (int(v) for v in rng.integers(0, len(data) - size, size=2))
    buf = bytearray(data)
    buf[to:to + size] = data[start:start + size]
    return bytes(buf)


def _boundary_words(data: bytes, rng: np.random.Generator) -> bytes:
    """Overwrite 4- or 8-byte words with extreme integers: sizes, offsets and counts."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        width = int(rng.choice([4, 8]))
        at = int(rng.integers(0, len(buf) - width))
        value = int(rng.choice([0, 1, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1]))
        buf[at:at + width] = (value % 2 ** (8 * width)).to_bytes(width, "little")
    return bytes(buf)


BYTE_MUTATIONS: list[Callable[[bytes, np.random.Generator], bytes]] = [
    _flip_bytes, _truncate, _splice, _boundary_words,
]


def _mutate_csv_fields(text: str, rng: np.random.Generator) -> str:
    """Change cells, the header or the shape of rows, as a hand edit or a bad export does."""
    rows = [line.split(",") for line in text.splitlines()]
    for _ in range(int(rng.integers(1, 4))):
        r = int(rng.integers(len(rows)))
        c = int(rng.integers(len(rows[r])))
        action = int(rng.integers(4))
        if action == 0:
            rows[r][c] = str(rng.choice(ODD_CELLS))
        elif action == 1:
            rows[r].append(str(rng.choice(ODD_CELLS)))  # a row with an extra cell
        elif action == 2 and len(rows[r]) > 1:
            del rows[r][c]  # a row with a missing cell
        else:
            rows[r][c] = rows[0][c % len(rows[0])]  # a header name copied into the data
    return "\n".join(",".join(row) for row in rows) + "\n"


def _mutants(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(SEED)
    seeds = _write_seeds(folder, rng)
    mutants: dict[str, Path] = {}
    for kind, seed in seeds.items():
        data = seed.read_bytes()
        for i in range(MUTANTS_PER_SEED):
            if kind.startswith("csv") and i % 2 == 0:
                mutated = _mutate_csv_fields(data.decode(), rng).encode("utf-8", "replace")
            else:
                mutation = BYTE_MUTATIONS[int(rng.integers(len(BYTE_MUTATIONS)))]
                mutated = mutation(data, rng)
            path = folder / f"{kind}-{i}{seed.suffix}"
            path.write_bytes(mutated)
            mutants[path.name] = path
    return mutants


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, load_isolated) -> dict[str, dict]:
    mutants = _mutants(tmp_path_factory.mktemp("fuzz"))
    results = load_isolated(list(mutants.values()), timeout=240.0, fit=True)
    return {name: results[str(path)] for name, path in mutants.items()}


def test_every_mutant_is_refused_cleanly_or_scores_finitely(outcomes: dict[str, dict]) -> None:
    bad = {}
    for name, outcome in sorted(outcomes.items()):
        if "crash" in outcome:
            bad[name] = f"crash: {outcome['crash'][:300]}"
        elif "error" in outcome:
            message = outcome["message"]
            if outcome["error"] not in CLEAN_ERRORS:
                bad[name] = f"raw {outcome['error']}: {message[:300]}"
            elif "\n" in message.strip() or not message.strip():
                bad[name] = f"not one line: {message[:300]!r}"
        elif not outcome.get("finite_scores"):
            bad[name] = f"non-finite scores for X of shape {outcome['shape']}"
    assert not bad, "\n".join(f"{name}: {why}" for name, why in bad.items())


def test_the_fuzzing_reaches_both_outcomes(outcomes: dict[str, dict]) -> None:
    """A mutator that only ever breaks files (or never does) would test little."""
    loaded = sum("finite_scores" in o for o in outcomes.values())
    refused = sum("error" in o for o in outcomes.values())
    assert loaded >= 5 and refused >= 20, (loaded, refused)
