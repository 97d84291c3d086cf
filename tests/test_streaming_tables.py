"""FITS and HDF5 tables scored in batches (drama.streaming over drama.datasets.table_batches):
the scores and ids of the whole-table readers, and damaged files refused by name."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from astropy.table import MaskedColumn, Table

from drama import Drama
from drama.datasets.astro_tables import read_astropy_table
from drama.datasets.hdf5_tables import read_hdf5_table
from drama.streaming import first_rows, score_table

FEATURES = ["g", "r", "i", "z"]
N = 500


@pytest.fixture(scope="module")
def catalogue():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(N, 4)), columns=FEATURES)
    frame["g"] = frame["g"].astype(np.float32)  # a float32 column among float64 ones
    frame.iloc[:5, 1:] += 6.0
    det = Drama(random_state=0).fit(frame.iloc[::3])
    return det, frame


def _fits(frame: pd.DataFrame, path: Path) -> Path:
    table = Table.from_pandas(frame)
    table["name"] = [f"obj{i}" if i % 50 else "" for i in range(len(frame))]  # empty: missing
    table["flag"] = MaskedColumn(np.arange(len(frame)), mask=np.arange(len(frame)) % 7 == 0)
    table.write(path)
    return path


def _h5py_table(frame: pd.DataFrame, path: Path) -> Path:
    # one dataset of named fields (NaN stays NaN: no masks to keep as metadata)
    Table({c: frame[c].to_numpy() for c in frame.columns}).write(path, path="data")
    return path


def _pandas_fixed(frame: pd.DataFrame, path: Path) -> Path:
    """pandas' default to_hdf layout: names in axis0, row index in axis1, one block a dtype."""
    with h5py.File(path, "w") as handle:
        group = handle.create_group("cat")
        group.attrs.update({"pandas_type": b"frame", "nblocks": 1,
                            "axis0_variety": b"regular", "axis1_variety": b"regular"})
        group["axis0"] = np.array([c.encode() for c in frame.columns])
        group["axis1"] = np.arange(len(frame))
        group["block0_items"] = np.array([c.encode() for c in frame.columns])
        group["block0_values"] = frame.to_numpy(dtype=np.float64)
    return path


WRITERS = {"fits": (_fits, ".fits"), "h5py": (_h5py_table, ".h5"),
           "pandas-fixed": (_pandas_fixed, ".hdf5")}


def _whole(path: Path) -> pd.DataFrame:
    if path.suffix == ".fits":
        return read_astropy_table(path, "fits", None)
    return read_hdf5_table(path, None)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_batches_score_as_the_whole_table(catalogue, tmp_path, kind):
    det, frame = catalogue
    write, suffix = WRITERS[kind]
    source = write(frame, tmp_path / f"c{suffix}")
    whole = _whole(source)
    pd.testing.assert_frame_equal(first_rows(source, 10), whole.iloc[:10])
    seen = []
    carry = ["name", "flag"] if kind == "fits" else []
    out = tmp_path / "o.parquet"
    # 4 features x 64 bytes a value: 2 KiB a batch of 8 rows, so 63 batches
    n = score_table(det, source, out, memory=2048, carry=carry, progress=seen.append)
    assert n == N and len(seen) == 63
    got = pd.read_parquet(out)
    np.testing.assert_array_equal(got["score"], det.decision_function(whole[FEATURES]))
    for column in carry:  # masked cells missing, as the whole-table reader has them
        assert got[column].isna().tolist() == whole[column].isna().tolist()
        assert got[column].dropna().tolist() == whole[column].dropna().tolist()


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_nan_follows_the_missing_value_policy(catalogue, tmp_path, kind):
    det, frame = catalogue
    frame = frame.copy()
    frame.loc[413, "i"] = np.nan
    write, suffix = WRITERS[kind]
    source = write(frame, tmp_path / f"c{suffix}")
    out = tmp_path / "o.csv"
    with pytest.raises(ValueError, match=r"first at column 'i', row 413"):
        score_table(det.set_params(missing="error"), source, out, memory=2048)
    assert not out.exists()
    score_table(det.set_params(missing="impute"), source, out, memory=2048)
    expected = det.decision_function(_whole(source)[FEATURES])
    np.testing.assert_array_equal(pd.read_csv(out)["score"], expected)
    det.set_params(missing="error")


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_truncated_file_is_refused_by_name_and_leaves_no_output(catalogue, tmp_path, kind):
    det, frame = catalogue
    write, suffix = WRITERS[kind]
    source = write(frame, tmp_path / f"c{suffix}")
    data = source.read_bytes()
    source.write_bytes(data[: len(data) * 2 // 3])  # cut short, as by a failed copy
    with pytest.raises(ValueError, match=rf"c{suffix} is not a readable .* \(truncated or "
                                         r"damaged\?\)"):
        score_table(det, source, tmp_path / "o.parquet", memory=2048)
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_a_cluster_refuses_what_its_workers_cannot_partition(catalogue, tmp_path):
    from drama.dask_tables import read_table

    _, frame = catalogue
    source = _fits(frame, tmp_path / "c.fits")
    with pytest.raises(ValueError, match="a cluster reads Parquet or CSV"):
        read_table(source, FEATURES, [], "1GB")


def test_cli_memory_scores_a_fits_table(catalogue, tmp_path):
    from typer.testing import CliRunner

    from drama.cli import app

    det, frame = catalogue
    model = tmp_path / "m.npz"
    det.save(model)
    source = _fits(frame, tmp_path / "c.fits")
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["score", str(source), "--model", str(model), "-o",
                                      str(out), "--memory", "8KB", "--exclude", "flag"])
    assert result.exit_code == 0, result.output
    assert f"Scored {N} objects in batches within 8KB" in " ".join(result.output.split())
    np.testing.assert_array_equal(pd.read_csv(out)["score"],
                                  det.decision_function(_whole(source)[FEATURES]))
