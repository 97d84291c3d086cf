"""Hostile MATLAB files: sparse structure that points outside the matrix, and HDF5 files that
point at other local files. Each file is written the way an attacker would craft it, and all
are loaded in one child interpreter (``load_isolated``), since on unchecked structure
``toarray`` segfaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse


def _sparse_v5(path: Path, rows: list[int], col_starts: list[int] | None = None) -> None:
    """A v5 .mat whose sparse X (3 x 2, three values) stores the given row indices (and
    column pointers): scipy writes the arrays as they are, so they reach the file unchecked."""
    matrix = scipy.sparse.csc_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
    matrix.indices[:] = rows
    if col_starts is not None:
        matrix.indptr[:] = col_starts
    matrix.has_sorted_indices = True  # keep savemat from re-sorting what we wrote
    scipy.io.savemat(path, {"X": matrix, "y": np.zeros((3, 1))})


def _v5_tag_type_zeroed(path: Path, in_cell: bool = False) -> None:
    """A v5 sparse X (or a cell X holding one) whose column-pointer element has its type
    byte set to 0: scipy's own reader segfaults inside ``loadmat`` on it, before any check
    after loading could run."""
    matrix = scipy.sparse.csc_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.zeros((0, 0)), matrix
    scipy.io.savemat(path, {"X": cell if in_cell else matrix})
    content = bytearray(path.read_bytes())
    at = content.find(matrix.indptr.astype("<i4").tobytes())
    content[at - 8] = 0  # the first byte of the element's tag: its type
    path.write_bytes(bytes(content))


def _sparse_v73(path: Path, n_rows: int, rows: list[int], col_starts: list[int],
                data: list[float]) -> None:
    """A v7.3 .mat (HDF5) holding a MATLAB sparse X built from the given arrays."""
    with h5py.File(path, "w", userblock_size=512) as handle:
        group = handle.create_group("X")
        group.attrs["MATLAB_sparse"] = n_rows
        group.create_dataset("data", data=np.asarray(data, dtype=float))
        group.create_dataset("ir", data=np.asarray(rows, dtype=np.uint64))
        group.create_dataset("jc", data=np.asarray(col_starts, dtype=np.uint64))


def _secret(folder: Path) -> tuple[Path, Path]:
    """Local files an attacker wants read: an HDF5 file and a raw file of float64 42s."""
    h5 = folder / "secret.h5"
    with h5py.File(h5, "w") as handle:
        handle.create_dataset("X", data=np.full((4, 3), 42.0))
    raw = folder / "secret.bin"
    np.full(12, 42.0).tofile(raw)
    return h5, raw


def _external_link(path: Path) -> None:
    h5, _ = _secret(path.parent)
    with h5py.File(path, "w") as handle:
        handle["X"] = h5py.ExternalLink(str(h5), "/X")


def _external_link_behind_soft_link(path: Path) -> None:
    h5, _ = _secret(path.parent)
    with h5py.File(path, "w") as handle:
        handle.create_group("#refs#")["a"] = h5py.ExternalLink(str(h5), "/X")
        handle["X"] = h5py.SoftLink("/#refs#/a")


def _external_storage(path: Path) -> None:
    _, raw = _secret(path.parent)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("X", shape=(3, 4), dtype="<f8", external=[(str(raw), 0, 96)])


def _virtual_dataset(path: Path) -> None:
    h5, _ = _secret(path.parent)
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="f8")
    layout[:] = h5py.VirtualSource(str(h5), "X", shape=(4, 3))
    with h5py.File(path, "w") as handle:
        handle.create_virtual_dataset("X", layout)


def _external_storage_in_sparse_member(path: Path) -> None:
    _, raw = _secret(path.parent)
    with h5py.File(path, "w") as handle:
        group = handle.create_group("X")
        group.attrs["MATLAB_sparse"] = 3
        group.create_dataset("data", shape=(3,), dtype="<f8", external=[(str(raw), 0, 24)])
        group.create_dataset("ir", data=np.array([0, 1, 2], dtype=np.uint64))
        group.create_dataset("jc", data=np.array([0, 1, 3], dtype=np.uint64))


# case -> (how to write the file, words its one-line error must hold)
HOSTILE: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    # a row index far past the end: segfault in toarray
    "v5_row_far_outside": (lambda p: _sparse_v5(p, [0, 1_000_000_000, 1]), ("sparse variable X",)),
    # one past the end: the value silently vanished
    "v5_row_one_past_end": (lambda p: _sparse_v5(p, [0, 3, 1]), ("sparse variable X",)),
    "v5_pointers_fall_back": (lambda p: _sparse_v5(p, [0, 2, 1], [0, 3, 2]),
                              ("sparse variable X",)),
    "v5_tag_type_zeroed": (_v5_tag_type_zeroed, ("unknown type 0",)),
    "v5_tag_type_zeroed_in_a_cell": (lambda p: _v5_tag_type_zeroed(p, in_cell=True),
                                     ("unknown type 0",)),
    "v73_row_far_outside": (lambda p: _sparse_v73(p, 3, [0, 2**40, 1], [0, 2, 3], [1, 2, 3]),
                            ("sparse variable X", "row indices")),
    "v73_row_one_past_end": (lambda p: _sparse_v73(p, 3, [0, 3, 1], [0, 2, 3], [1, 2, 3]),
                             ("sparse variable X", "row indices")),
    "v73_pointers_fall_back": (lambda p: _sparse_v73(p, 3, [0, 1, 2], [0, 2, 1, 3], [1, 2, 3]),
                               ("sparse variable X", "column pointers")),
    "v73_last_pointer_past_values": (
        lambda p: _sparse_v73(p, 3, [0, 1, 2], [0, 2, 9], [1, 2, 3]),
        ("sparse variable X", "column pointers")),
    "v73_fewer_values_than_indices": (
        lambda p: _sparse_v73(p, 3, [0, 1, 2], [0, 1, 3], [1, 2]),
        ("sparse variable X", "2 values for 3")),
    "v73_first_pointer_not_zero": (lambda p: _sparse_v73(p, 3, [0, 1, 2], [5, 6, 7], [1, 2, 3]),
                                   ("sparse variable X", "column pointers")),
    "external_link": (_external_link, ("link to the file",)),
    "external_link_behind_soft_link": (_external_link_behind_soft_link, ("link to the file",)),
    "external_storage": (_external_storage, ("external storage",)),
    "virtual_dataset": (_virtual_dataset, ("virtual dataset",)),
    "external_storage_in_sparse_member": (_external_storage_in_sparse_member,
                                          ("/X/data", "external storage")),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, load_isolated) -> dict[str, dict]:
    """Every hostile file and one well-formed sparse file, loaded in one child process."""
    paths = {"fine": tmp_path_factory.mktemp("fine") / "fine.mat"}  # first: before any crash
    _sparse_v73(paths["fine"], 3, [0, 2, 1], [0, 2, 3], [1.0, 3.0, 2.0])
    for case, (write, _) in HOSTILE.items():
        folder = tmp_path_factory.mktemp(case)
        paths[case] = folder / f"{case}.mat"
        write(paths[case])
    loaded = load_isolated(list(paths.values()))
    return {case: {**loaded[str(path)], "file": str(path)} for case, path in paths.items()}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_mat_file_is_refused_with_one_clean_line(
    results: dict[str, dict], case: str
) -> None:
    result = results[case]
    assert "crash" not in result, f"{case}: the interpreter died: {result['crash']}"
    assert result.get("error") == "ValueError", f"{case}: expected a refusal, got {result}"
    message = result["message"]
    assert "\n" not in message and result["file"] in message, message
    for word in HOSTILE[case][1]:
        assert word in message, message
    # nothing read from the secret files is shown (the paths in the test's folder, which
    # may hold "42" as in pytest-42, are taken out first)
    assert "42" not in message.replace(str(Path(result["file"]).parent), "")


def test_a_well_formed_sparse_v73_file_still_loads(results: dict[str, dict]) -> None:
    assert results["fine"].get("values") == [[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]], results["fine"]
