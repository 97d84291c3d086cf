"""Tests for drama.datasets: file loaders, name resolution, generators, built-in tasks."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse

from drama import datasets
from drama.datasets import (
    available,
    load,
    load_breast_cancer_task,
    load_digits_task,
    load_table,
    make_local_anomaly,
    make_new_class_anomaly,
    make_signals,
)

UNREADABLE = "is not a readable ODDS/ADBench file"


@pytest.fixture(autouse=True)
def _private_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real user cache and DRAMA_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("DRAMA_DATA", raising=False)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = np.zeros(40, dtype=np.int64)
    y[[3, 17, 30]] = 1
    return X, y


def write_mat73(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a file laid out like MATLAB v7.3: HDF5, 512-byte header, arrays transposed."""
    with h5py.File(path, "w", userblock_size=512) as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=np.asarray(value).T)
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as handle:
        handle.write(header)


# ----------------------------------------------------------------------------- formats


def test_mat_v5(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    path = tmp_path / "small.mat"
    scipy.io.savemat(path, {"X": X, "y": y.reshape(-1, 1).astype(float)})
    X2, y2 = load(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.float64 and y2.dtype == np.int64


def test_mat_v5_sparse_and_compressed(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    path = tmp_path / "sparse.mat"
    X[X < 0] = 0
    scipy.io.savemat(path, {"X": scipy.sparse.csc_matrix(X), "y": y}, do_compression=True)
    X2, y2 = load(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_mat_v73_is_transposed_back(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    path = tmp_path / "big.mat"
    write_mat73(path, {"X": X, "y": y.reshape(-1, 1).astype(float)})
    assert path.read_bytes().startswith(b"MATLAB 7.3")
    X2, y2 = load(path)
    assert X2.shape == (40, 5)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_mat_v73_sparse(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    X[X < 0.5] = 0
    csc = scipy.sparse.csc_matrix(X)
    path = tmp_path / "sparse73.mat"
    with h5py.File(path, "w", userblock_size=512) as handle:
        group = handle.create_group("X")
        group.attrs["MATLAB_sparse"] = X.shape[0]
        group.create_dataset("data", data=csc.data)
        group.create_dataset("ir", data=csc.indices.astype(np.uint64))
        group.create_dataset("jc", data=csc.indptr.astype(np.uint64))
        handle.create_dataset("y", data=y.reshape(-1, 1).T.astype(float))
    X2, y2 = load(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_npz_npy(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    np.savez(tmp_path / "a.npz", X=X.astype(np.float32), y=y)
    X2, y2 = load(tmp_path / "a.npz")
    np.testing.assert_allclose(X2, X.astype(np.float32))
    assert X2.dtype == np.float64
    np.testing.assert_array_equal(y2, y)

    np.savez_compressed(tmp_path / "nolabels.npz", X=X)
    assert load(tmp_path / "nolabels.npz")[1] is None

    np.save(tmp_path / "b.npy", X)
    X3, y3 = load(str(tmp_path / "b.npy"))
    np.testing.assert_array_equal(X3, X)
    assert y3 is None


def test_npz_keeps_image_axes(tmp_path: Path) -> None:
    images = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    np.savez(tmp_path / "img.npz", X=images, y=np.array([0, 0, 0, 0, 0, 1]))
    X, y = load(tmp_path / "img.npz")
    assert X.shape == (6, 4, 4) and X.dtype == np.float64
    assert y is not None and y.sum() == 1


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"obj{i}" for i in range(6)],
            "flux": [1.0, 2.0, 3.0, 4.0, 5.0, 60.0],
            "width": [1, 2, 3, 4, 5, 6],
            "label": [0, 0, 0, 0, 0, 1],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".fits", ".fit"])
def test_tables(tmp_path: Path, suffix: str) -> None:
    frame = _table()
    path = tmp_path / f"table{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        from astropy.table import Table

        Table.from_pandas(frame).write(path, format="fits")
    X, y = load(path)
    np.testing.assert_array_equal(X, frame[["flux", "width"]].to_numpy(dtype=float))
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 0, 1])

    features, ids, y2 = load_table(path)
    assert list(features.columns) == ["flux", "width"]
    assert [str(i) for i in ids] == [f"obj{i}" for i in range(6)]
    np.testing.assert_array_equal(y2, y)


def test_table_label_choices(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "is_anomaly": [False, True, False]}).to_csv(
        path, index=False
    )
    np.testing.assert_array_equal(load(path)[1], [0, 1, 0])

    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_csv(path, index=False)
    X, y = load(path)
    assert y is None and X.shape == (2, 2)
    with pytest.raises(ValueError, match="labels must be 0"):
        # b holds 3 and 4, which are not 0/1 labels
        load(path, label_column="b")
    pd.DataFrame({"a": [1.0, 2.0], "target": [1, 0]}).to_csv(path, index=False)
    X, y = load(path, label_column="target")
    np.testing.assert_array_equal(y, [1, 0])


def test_table_errors_name_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    frame = _table().assign(colour=["red"] * 6, shape=["round"] * 6)
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"\['colour', 'shape'\] hold text"):
        X, _ = load(path)  # issue 18: text is carried, no longer refused
    assert X.shape[1] == 2  # flux, width
    with pytest.raises(ValueError, match=r"no label column 'nope'.*flux"):
        load(path, label_column="nope")
    with pytest.raises(ValueError, match=r"no id column 'name'.*\['id', 'flux'"):
        load_table(path, id_column="name")
    _table().assign(label=[0, 1, None, 0, 0, 1]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing"):
        load(path)


def test_load_table_explicit_id_and_array_files(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _table().rename(columns={"id": "name"}).to_parquet(path)
    features, ids, y = load_table(path, id_column="name", label_column="label")
    assert list(features.columns) == ["flux", "width"]
    assert list(ids) == [f"obj{i}" for i in range(6)]

    np.savez(tmp_path / "a.npz", X=np.ones((3, 2)), y=np.array([0, 1, 0]))
    features, ids, y = load_table(tmp_path / "a.npz")
    assert list(features.columns) == ["x0", "x1"] and ids is None
    np.testing.assert_array_equal(y, [0, 1, 0])
    with pytest.raises(ValueError, match="not a table"):
        load_table(tmp_path / "a.npz", id_column="id")
    with pytest.raises(ValueError, match="tables"):
        load(tmp_path / "a.npz", label_column="y")


# ----------------------------------------------------------------------------- broken files


def _half_mat(path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(500, 20))
    scipy.io.savemat(path, {"X": X, "y": np.zeros((500, 1))})
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def _half_mat_compressed(path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(500, 20))
    scipy.io.savemat(path, {"X": X, "y": np.zeros((500, 1))}, do_compression=True)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def _half_mat73(path: Path) -> None:
    write_mat73(path, {"X": np.ones((500, 20)), "y": np.zeros((500, 1))})
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def _half_npz(path: Path) -> None:
    np.savez(path, X=np.ones((500, 20)), y=np.zeros(500))
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def _npz_without_x(path: Path) -> None:
    np.savez(path, data=np.ones((5, 2)), y=np.zeros(5))


def _npz_wrong_label_count(path: Path) -> None:
    np.savez(path, X=np.ones((5, 2)), y=np.zeros(4))


def _npy_of_objects(path: Path) -> None:
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)


def _mat_without_x(path: Path) -> None:
    scipy.io.savemat(path, {"data": np.ones((5, 2))})


def _mat73_without_x(path: Path) -> None:
    write_mat73(path, {"data": np.ones((5, 2))})


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x13garbage, not a data file at all" * 7)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("half.mat", _half_mat),
        ("halfz.mat", _half_mat_compressed),
        ("half73.mat", _half_mat73),
        ("half.npz", _half_npz),
        ("nox.npz", _npz_without_x),
        ("count.npz", _npz_wrong_label_count),
        ("objects.npy", _npy_of_objects),
        ("nox.mat", _mat_without_x),
        ("nox73.mat", _mat73_without_x),
        ("garbage.mat", _garbage),
        ("garbage.npz", _garbage),
        ("garbage.npy", _garbage),
        ("empty.mat", _empty),
        ("empty.npz", _empty),
    ],
)
def test_corrupt_files_raise_value_error(tmp_path: Path, name: str, writer) -> None:
    path = tmp_path / name
    writer(path)
    with pytest.raises(ValueError, match=UNREADABLE) as info:
        load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "kind"), [("bad.parquet", "Parquet"), ("bad.fits", "FITS"), ("bad.csv", "CSV")]
)
def test_corrupt_tables_raise_value_error(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe\x00\x81garbage" * 10 if kind == "CSV" else b"garbage" * 10)
    with pytest.raises(ValueError, match=f"not a readable {kind} table"):
        load(path)


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mat"
    with pytest.raises(FileNotFoundError, match="nope.mat"):
        load(missing)
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / "sub" / "nope.csv"))
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"x")
    with pytest.raises(ValueError, match="cannot read"):
        load(odd)
    with pytest.raises(ValueError, match="folder"):
        load(str(tmp_path) + os.sep)
    with pytest.raises(TypeError):
        load(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- names


def _save(folder: Path, name: str, value: float, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    np.savez(path, X=np.full((n, 2), value), y=np.zeros(n, dtype=int))
    return path


def test_name_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, explicit = tmp_path / "env1", tmp_path / "env2", tmp_path / "explicit"
    cache = tmp_path / "xdg-cache" / "drama"
    _save(second, "alpha.npz", 2.0)
    _save(cache, "alpha.npz", 9.0)
    _save(cache, "gamma.npz", 7.0)
    monkeypatch.setenv("DRAMA_DATA", os.pathsep.join([str(first), "", str(second)]))
    assert load("alpha")[0][0, 0] == 2.0  # env folder before the cache
    assert load("gamma")[0][0, 0] == 7.0  # cache searched last
    _save(explicit, "alpha.npz", 3.0)
    assert load("alpha", data_dir=explicit)[0][0, 0] == 3.0  # data_dir first
    assert load("alpha.npz")[0][0, 0] == 2.0  # bare file name searched too
    first.mkdir()
    scipy.io.savemat(first / "alpha.mat", {"X": np.full((2, 2), 1.0), "y": np.zeros((2, 1))})
    assert load("alpha")[0][0, 0] == 1.0  # same folder: .mat before .npz
    assert datasets.find("alpha") == first / "alpha.mat"


def test_builtin_names_come_first(tmp_path: Path) -> None:
    _save(tmp_path, "breast_cancer.npz", 5.0)
    X, y = load("breast_cancer", data_dir=tmp_path)
    assert X.shape[1] == 30 and y is not None


def test_unknown_name_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drama datasets") as info:
        load("no_such_data", data_dir=tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "xdg-cache" in str(info.value)
    with pytest.raises(ValueError, match="download"):
        load("cardio", data_dir=tmp_path)


def test_available_lists_builtins_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, env = tmp_path / "d", tmp_path / "e"
    _save(folder, "one.npz", 1.0)
    np.save(folder / "two.npy", np.ones((2, 2)))
    (folder / "notes.txt").write_text("not data")
    (folder / ".one.npz.abc.part").write_bytes(b"partial download")
    env.mkdir()
    _table().to_csv(env / "three.csv", index=False)
    monkeypatch.setenv("DRAMA_DATA", str(env))
    infos = available(data_dir=folder)
    assert [(i.name, i.source) for i in infos[:2]] == [
        ("breast_cancer", "builtin"),
        ("digits_new_class", "builtin"),
    ]
    assert infos[0].path is None and infos[0].format == "builtin"
    files = {(i.name, i.format) for i in infos if i.source == "file"}
    assert files == {("one", "npz"), ("two", "npy"), ("three", "csv")}
    for info in infos:
        X, _ = load(info.path if info.path is not None else info.name)
        assert X.shape[0] > 0
    with open(folder / "Loud.NPY", "wb") as handle:  # an upper-case suffix: listed, loadable
        np.save(handle, np.ones((3, 2)))
    assert ("Loud", "npy") in {(i.name, i.format) for i in available(data_dir=folder)}
    assert load("Loud", data_dir=folder)[0].shape == (3, 2)


# ----------------------------------------------------------------------------- generators


@pytest.mark.parametrize("shape", range(1, 11))
@pytest.mark.parametrize("n_features", [100, 3000])
def test_every_shape_is_finite(shape: int, n_features: int) -> None:
    X = make_signals(shape, 60, n_features, random_state=shape)
    assert X.shape == (60, n_features) and X.dtype == np.float64
    assert np.isfinite(X).all()
    assert X.std(axis=0).max() > 0  # objects differ


@pytest.mark.parametrize("shape", range(1, 11))
def test_shapes_without_jitter_match_spec(shape: int) -> None:
    x = np.linspace(0, 1, 50)
    exact = make_signals(
        shape, 3, 50, stretch=0, shift=0, amplitude=0, offset=0, noise=0, random_state=0
    )
    assert np.allclose(exact, exact[0])  # no jitter, no noise: identical objects
    reference = {
        1: x * np.sin(2 * np.pi * x) + 0.8,
        4: np.tan(x) / 1.5,
        6: (-x + np.sin(5 * np.pi * x) + 1.7) / 2.7,
        8: (np.exp(np.sin(6 * np.pi * x**3)) - 0.3) / 2.5,
        10: np.clip(np.sin(25 * x), -1, 0) + 1,
    }
    if shape in reference:
        np.testing.assert_allclose(exact[0], reference[shape], atol=1e-12)
    if shape in (3, 7, 9):  # step functions take the values 0 and 1 (0.5 exactly on a zero)
        assert set(np.unique(exact[0])) <= {0.0, 0.5, 1.0}


def test_signals_are_reproducible() -> None:
    a = make_signals(3, 20, random_state=7)
    b = make_signals(3, 20, random_state=7)
    c = make_signals(3, 20, random_state=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = np.random.default_rng(7)
    assert make_signals(3, 20, random_state=gen).shape == (20, 100)


def test_signal_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="between 1 and 10"):
        make_signals(11, 5)
    with pytest.raises(TypeError):
        make_signals(True, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pole"):
        make_signals(4, 5, stretch=0.3, shift=0.3)
    with pytest.raises(ValueError, match=">= 0"):
        make_signals(1, 5, noise=-1)
    with pytest.raises(TypeError, match="random_state"):
        make_signals(1, 5, random_state="seed")  # type: ignore[arg-type]


def test_local_anomaly() -> None:
    X, y = make_local_anomaly(random_state=3)
    assert X.shape == (1050, 100) and y.sum() == 50 and y.dtype == np.int64
    assert np.isfinite(X).all()
    assert not np.array_equal(y, np.sort(y))  # shuffled
    X2, y2 = make_local_anomaly(random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, y3 = make_local_anomaly(200, 10, 3000, shape=5, noise=0.0, random_state=1)
    assert X3.shape == (210, 3000) and y3.sum() == 10
    with pytest.raises(ValueError, match="bump_width"):
        make_local_anomaly(bump_width=(0.0, 0.1))


def test_local_anomaly_bump_is_the_difference() -> None:
    # Without noise, jitter cannot explain a Gaussian bump of height >= 0.3: the largest
    # jump between neighbouring samples is the same, but the area above normal differs.
    X, y = make_local_anomaly(300, 30, shape=6, noise=0.0, random_state=0)
    centre = np.median(X[y == 0], axis=0)
    excess = (X - centre).max(axis=1)
    assert excess[y == 1].mean() > excess[y == 0].mean() + 0.15


def test_new_class_anomaly() -> None:
    X, y = make_new_class_anomaly(random_state=0)
    assert X.shape == (1045, 100) and y.sum() == 45
    X, y = make_new_class_anomaly(500, (1, 2, 3, 4, 5), n_per_outlier_class=5, random_state=0)
    assert X.shape == (2525, 100) and y.sum() == 25
    X, y = make_new_class_anomaly(
        [100, 200], inlier_shapes=(2, 3), outlier_shapes=(7,), n_per_outlier_class=[9]
    )
    assert X.shape == (309, 100) and y.sum() == 9
    assert np.isfinite(X).all()
    a = make_new_class_anomaly(50, (1,), random_state=4)
    b = make_new_class_anomaly(50, (1,), random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="both inlier and outlier"):
        make_new_class_anomaly(10, (1, 2), outlier_shapes=(2, 3))
    with pytest.raises(ValueError, match="one count per shape"):
        make_new_class_anomaly([10, 20], (1,))
    with pytest.raises(ValueError, match="no outlier shapes"):
        make_new_class_anomaly(10, tuple(range(1, 11)))
    with pytest.raises(ValueError, match=r"inlier_shapes must be a sequence.*\(3,\)"):
        make_new_class_anomaly(10, 1)
    with pytest.raises(ValueError, match="outlier_shapes must be a sequence"):
        make_new_class_anomaly(10, (1,), outlier_shapes=2)
    np.testing.assert_array_equal(make_new_class_anomaly(50, np.array([1]), random_state=4)[0],
                                  a[0])


def test_builders_pass_the_jitter_half_widths_on() -> None:
    still = {"noise": 0.0, "stretch": 0.0, "shift": 0.0, "amplitude": 0.0, "offset": 0.0}
    X, y = make_new_class_anomaly(20, (1,), n_per_outlier_class=1, random_state=0, **still)
    normal = X[y == 0]
    np.testing.assert_allclose(normal, normal[:1].repeat(20, axis=0))  # identical curves
    X, _ = make_local_anomaly(30, 0, random_state=0, **still)
    np.testing.assert_allclose(X, X[:1].repeat(30, axis=0))
    moving, _ = make_local_anomaly(30, 0, noise=0.0, random_state=0)
    assert moving.std(axis=0).max() > 0.01
    with pytest.raises(ValueError, match="jitter half-widths"):
        make_local_anomaly(10, 1, wobble=0.2)


# ----------------------------------------------------------------------------- built-ins


def test_breast_cancer_task() -> None:
    X, y = load_breast_cancer_task()
    assert X.shape == (397, 30) and y.sum() == 40
    assert abs(y.mean() - 0.1) < 0.005
    X2, y2 = load("breast_cancer")
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, y3 = load_breast_cancer_task(0.2, random_state=5)
    assert abs(y3.mean() - 0.2) < 0.005
    with pytest.raises(ValueError, match="only 212"):
        load_breast_cancer_task(0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_breast_cancer_task(1.5)


def test_digits_task() -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits_task()
    assert X.shape == (1704, 64) and y.sum() == 85
    digits = load_digits()
    zeros = {row.tobytes() for row in digits.data[digits.target == 0].astype(np.float64)}
    assert all(row.tobytes() in zeros for row in X[y == 1])
    assert not any(row.tobytes() in zeros for row in X[y == 0])
    X2, y2 = load("digits_new_class")
    np.testing.assert_array_equal(X, X2)
    X3, y3 = load_digits_task(anomaly_digit=7, anomaly_fraction=0.02, random_state=1)
    assert abs(y3.mean() - 0.02) < 0.002
    with pytest.raises(ValueError, match="between 0 and 9"):
        load_digits_task(anomaly_digit=10)


@pytest.mark.parametrize("digit", [0, 7, 8])
def test_the_largest_digit_share_suggested_works(digit):
    import re

    with pytest.raises(ValueError, match="use anomaly_fraction <=") as info:
        load_digits_task(anomaly_digit=digit, anomaly_fraction=0.1)
    largest = float(re.search(r"<= ([0-9.]+)\.$", str(info.value)).group(1))
    assert load_digits_task(anomaly_digit=digit, anomaly_fraction=largest)[1].sum() > 0


def test_a_feature_named_y_that_is_not_a_label_stays_a_feature(tmp_path):
    path = tmp_path / "xy.csv"
    pd.DataFrame({"x": [0.5, 1.5, 2.5], "y": [-3.2, 4.1, 0.7]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="'y' is named like labels .* used as a feature"):
        features, ids, y = load_table(path)
    assert list(features.columns) == ["x", "y"] and y is None and ids is None


def test_a_zero_one_label_column_is_found_beside_a_feature_named_y(tmp_path):
    path = tmp_path / "xyl.csv"
    pd.DataFrame({"x": [0.5, 1.5, 2.5], "y": [-3.2, 4.1, 0.7], "label": [0, 1, 0]}).to_csv(
        path, index=False)
    with pytest.warns(UserWarning, match="'y' is named like labels .* used as a feature"):
        features, _, y = load_table(path)
    assert list(features.columns) == ["x", "y"] and y.tolist() == [0, 1, 0]


def test_a_second_column_named_like_labels_is_not_used_silently(tmp_path):
    path = tmp_path / "two.csv"
    pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "label": [0, 1, 0, 0],
                  "is_anomaly": [1, 0, 0, 1]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="'is_anomaly' is named like labels but column "
                                         "'label' is taken for the labels"):
        features, _, y = load_table(path)
    assert list(features.columns) == ["x", "is_anomaly"] and y.tolist() == [0, 1, 0, 0]


def test_a_label_column_found_by_name_with_gaps_says_how_to_fix_it(tmp_path):
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"x": [0.5, 1.5, 2.5], "y": [0, None, 1]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="'y' is taken for the 0/1 labels .* 1 of them are "
                                         "missing.*rename the column"):
        load_table(path)


def test_a_parquet_index_comes_back_as_its_column(tmp_path):
    path = tmp_path / "idx.parquet"
    frame = pd.DataFrame({"objid": ["a", "b", "c"], "f": [1.0, 2.0, 3.0]})
    frame.set_index("objid").to_parquet(path)
    features, ids, _ = load_table(path, id_column="objid")
    assert list(features.columns) == ["f"] and list(ids) == ["a", "b", "c"]
    features, ids, _ = load_table(path)  # the stored index names the rows by default
    assert list(features.columns) == ["f"] and list(ids) == ["a", "b", "c"]
    frame.set_index("objid", drop=False).to_parquet(path)  # the index is also a column
    features, ids, _ = load_table(path, id_column="objid")
    assert list(features.columns) == ["f"] and list(ids) == ["a", "b", "c"]
    pd.DataFrame({"f": [1.0, 2.0]}).to_parquet(path)  # a plain 0..n-1 index adds nothing
    assert list(load_table(path)[0].columns) == ["f"]
    filtered = pd.DataFrame({"f": [1.0, 2.0, 3.0]})
    filtered[filtered["f"] > 1].to_parquet(path)  # an unnamed row index is no feature
    assert list(load_table(path)[0].columns) == ["f"]


def test_text_labels_true_and_false_are_read_as_1_and_0():
    from drama.datasets.readers import as_labels

    got = as_labels(np.array(["true", "False", " TRUE ", "false"]), 4)
    assert got.tolist() == [1, 0, 1, 0] and got.dtype == np.int64
    with pytest.raises(ValueError, match="found values such as"):
        as_labels(np.array(["yes", "no"]), 2)


def test_object_arrays_are_named_not_called_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "text_labels.npz"
    np.savez(path, X=np.ones((4, 2)), y=np.array(["a", None, "b", "c"], dtype=object))
    with pytest.raises(ValueError, match="Python objects") as info:
        load(path)
    assert "corrupt" not in str(info.value)
