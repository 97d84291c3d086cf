"""Reading catalogues in every table format DRAMA takes: each gives the features, ids and
labels of the CSV of the same table; masked cells become NaN; ``hdu`` picks a table; a
vector column (one spectrum per row) is the object. Every file is written by the test."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table
from typer.testing import CliRunner

from drama.cli import app
from drama.datasets import available, load, load_table

FIRST_ID = 1237648720693755000  # 19 digits: beyond float64's exact integers


def _catalogue(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 7 + FIRST_ID,
        "flux": rng.normal(size=n),
        "width": rng.integers(1, 9, size=n),
        "label": (np.arange(n) == 3).astype(np.int64),
    })


def _write(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` written to ``path`` in the format its name says, as its usual tool does."""
    name = path.name
    if name.endswith((".csv", ".csv.gz")):
        frame.to_csv(path, index=False)  # pandas compresses .gz by the name
    elif name.endswith((".vot.gz", ".ecsv.gz")):  # as gzip would compress the plain file
        plain = path.with_name(path.name[:-3])
        _write(frame, plain)
        path.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif name.endswith((".vot", ".votable", ".xml")):
        Table.from_pandas(frame).write(path, format="votable")
    elif name.endswith(".ecsv"):
        Table.from_pandas(frame).write(path, format="ascii.ecsv")
    elif name.endswith((".h5", ".hdf5")):
        Table.from_pandas(frame).write(path, path="data", serialize_meta=True)
    else:  # .fits, .fit, .fts, each also .gz
        Table.from_pandas(frame).write(path, format="fits")


TABLE_NAMES = ["t.csv.gz", "t.parquet", "t.fits", "t.fits.gz", "t.fit", "t.fts.gz", "t.vot",
               "t.votable", "t.xml", "t.ecsv", "t.h5", "t.hdf5", "t.vot.gz", "t.ecsv.gz"]


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_every_format_reads_like_the_csv(tmp_path: Path, name: str) -> None:
    frame = _catalogue()
    _write(frame, tmp_path / "t.csv")
    _write(frame, tmp_path / name)
    expected = load_table(tmp_path / "t.csv")
    features, ids, y = load_table(tmp_path / name)
    pd.testing.assert_frame_equal(features, expected[0])
    assert ids.dtype.kind == "i" and ids.tolist() == frame["id"].tolist()
    assert ids.tolist() == expected[1].tolist()
    np.testing.assert_array_equal(y, expected[2])
    X, y2 = load(tmp_path / name)
    np.testing.assert_array_equal(X, load(tmp_path / "t.csv")[0])
    np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize("name", ["t.npz", "t.npy"])
def test_numpy_arrays_read_like_the_csv(tmp_path: Path, name: str) -> None:
    frame = _catalogue()
    _write(frame, tmp_path / "t.csv")
    X_csv, y_csv = load(tmp_path / "t.csv")
    if name.endswith(".npz"):
        np.savez(tmp_path / name, X=X_csv, y=y_csv)
    else:
        np.save(tmp_path / name, X_csv)
    X, y = load(tmp_path / name)
    np.testing.assert_array_equal(X, X_csv)
    assert y is None if name.endswith(".npy") else np.array_equal(y, y_csv)


def _masked_table() -> Table:
    table = Table()
    table["id"] = np.array([10, 11, 12, 13], dtype=np.int64)
    table["name"] = MaskedColumn(["a", "b", "c", "d"], mask=[False, True, False, False])
    table["flux"] = MaskedColumn([1.0, 2.0, 3.0, 4.0], mask=[False, False, True, False])
    table["count"] = MaskedColumn(np.array([5, 6, 7, 8], dtype=np.int32),
                                  mask=[True, False, False, False])
    return table


@pytest.mark.parametrize("name", ["m.fits", "m.fits.gz", "m.vot", "m.ecsv", "m.h5"])
def test_masked_cells_become_nan_never_a_sentinel(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    kwargs: dict = {"path": "data", "serialize_meta": True} if name.endswith(".h5") else {}
    if name.endswith(".vot"):
        kwargs["format"] = "votable"
    _masked_table().write(path, **kwargs)
    features, ids, _ = load_table(path, id_column="name")
    assert list(features.columns) == ["flux", "count"]  # "id" is id-like: carried (issue 18)
    assert np.isnan(features.loc[2, "flux"]) and np.isnan(features.loc[0, "count"])
    assert features["count"].tolist()[1:] == [6.0, 7.0, 8.0]  # the others untouched
    assert int(np.isnan(features.to_numpy()).sum()) == 2  # no TNULL sentinel (999999) either
    assert ids.tolist()[0] == "a" and ids.tolist()[2:] == ["c", "d"]
    # a masked text id is missing (None); VOTable itself has no null for text: it is empty
    assert ids.tolist()[1] == ("" if name.endswith(".vot") else None)


def _multi_hdu_fits(path: Path) -> None:
    first = Table({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    second = Table({"c": [7.0, 8.0], "d": [9.0, 10.0], "e": [0.5, 0.25]})
    hdus = [fits.PrimaryHDU(np.zeros((2, 2))), fits.ImageHDU(np.ones((4, 5)), name="SCI"),
            fits.table_to_hdu(first), fits.table_to_hdu(second)]
    hdus[2].name, hdus[3].name = "FIRST", "CAT"
    fits.HDUList(hdus).writeto(path)


def test_hdu_chosen_by_index_and_by_name(tmp_path: Path) -> None:
    path = tmp_path / "multi.fits"
    _multi_hdu_fits(path)
    assert list(load_table(path)[0].columns) == ["a", "b"]  # the first table HDU
    for hdu in (3, "CAT", "cat"):
        features, _, _ = load_table(path, hdu=hdu)
        assert list(features.columns) == ["c", "d", "e"]
        assert features["e"].tolist() == [0.5, 0.25]
    assert load(path, hdu=2)[0].shape == (3, 2)


def test_hdu_that_is_not_a_table_lists_the_hdus(tmp_path: Path) -> None:
    path = tmp_path / "multi.fits"
    _multi_hdu_fits(path)
    with pytest.raises(ValueError, match=r"HDU 1 is not a table \(image 4x5\)") as info:
        load_table(path, hdu=1)
    assert "2 FIRST (binary table, 2 columns, 3 rows)" in str(info.value)
    with pytest.raises(ValueError, match="has no HDU 'NOPE'; its HDUs: 0 PRIMARY"):
        load_table(path, hdu="NOPE")
    with pytest.raises(ValueError, match="has no HDU 9"):
        load_table(path, hdu=9)


def test_fits_without_a_table_says_so(tmp_path: Path) -> None:
    path = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((3, 3)), name="SCI")]).writeto(path)
    with pytest.raises(ValueError, match=r"has no table HDU .*1 SCI \(image 3x3\)"):
        load_table(path)


def test_hdf5_table_chosen_by_path(tmp_path: Path) -> None:
    path = tmp_path / "two.h5"
    Table({"a": [1.0, 2.0]}).write(path, path="first")
    Table({"b": [3.0, 4.0], "c": [5.0, 6.0]}).write(path, path="group/second", append=True)
    assert list(load_table(path)[0].columns) == ["a"]
    assert list(load_table(path, hdu="group/second")[0].columns) == ["b", "c"]
    with pytest.raises(ValueError, match=r"no table 'third'; its tables: \['first'"):
        load_table(path, hdu="third")
    with pytest.raises(ValueError, match="by its path"):
        load_table(path, hdu=1)


def test_hdu_on_a_one_table_format_is_refused(tmp_path: Path) -> None:
    _write(_catalogue(), tmp_path / "t.csv")
    with pytest.raises(ValueError, match="applies to FITS, VOTable and HDF5"):
        load_table(tmp_path / "t.csv", hdu=1)


def _pandas_layout(path: Path, fields: list[tuple[str, str]]) -> None:
    """The layout pandas' to_hdf(format='table') writes: a group marked ``pandas_type``
    holding a compound dataset ``table`` whose first field is the row index."""
    dtype = np.dtype([("index", "<i8"), *fields])
    rows = np.zeros(3, dtype=dtype)
    rows["index"] = [0, 1, 2]
    for field, _ in fields:
        rows[field] = [1.0, 2.0, 3.0] if field != "values_block_0" else rows[field]
    with h5py.File(path, "w") as handle:
        group = handle.create_group("objects")
        group.attrs["pandas_type"] = "frame_table"
        group.create_dataset("table", data=rows)


def test_pandas_hdf5_tables(tmp_path: Path) -> None:
    path = tmp_path / "pandas.h5"
    _pandas_layout(path, [("flux", "<f8"), ("width", "<f8")])  # data_columns=True
    features, ids, _ = load_table(path)
    assert list(features.columns) == ["flux", "width"] and ids is None  # index dropped
    blocks = tmp_path / "blocks.h5"
    _pandas_layout(blocks, [("values_block_0", "<f8", )])
    with pytest.raises(ValueError, match="data_columns=True"):
        load_table(blocks)


def _pandas_fixed_layout(path: Path, index: np.ndarray, text: bool = False) -> None:
    """The layout of pandas' default to_hdf(path, key): the column names in axis0, the row
    index in axis1, one block per dtype (its column names, then its values, one row per
    object); text columns go to a block of pickled objects."""
    with h5py.File(path, "w") as handle:
        group = handle.create_group("cat")
        group.attrs.update({"pandas_type": b"frame", "nblocks": 3 if text else 2,
                            "axis0_variety": b"regular", "axis1_variety": b"regular"})
        group["axis0"] = np.array([b"objid", b"a", b"b"] + ([b"name"] if text else []))
        group["axis1"] = index
        group["block0_items"] = np.array([b"a", b"b"])
        group["block0_values"] = np.array([[1.0, 4.0], [np.nan, 5.0], [3.0, 6.0]])
        group["block1_items"] = np.array([b"objid"])
        group["block1_values"] = np.array([[FIRST_ID], [FIRST_ID + 7], [5]], dtype=np.int64)
        if text:
            group["block2_items"] = np.array([b"name"])
            pickled = group.create_dataset("block2_values", (1,), dtype=h5py.vlen_dtype("u1"))
            pickled.attrs["value_type"] = b"str"


def test_pandas_fixed_hdf5_frames(tmp_path: Path) -> None:
    path = tmp_path / "fixed.h5"
    _pandas_fixed_layout(path, np.arange(3))
    features, ids, _ = load_table(path, id_column="objid")
    assert list(features.columns) == ["a", "b"]
    assert np.isnan(features.loc[1, "a"]) and features["b"].tolist() == [4.0, 5.0, 6.0]
    assert ids.tolist() == [FIRST_ID, FIRST_ID + 7, 5]
    indexed = tmp_path / "indexed.h5"  # df.set_index(...).to_hdf(...): the index is the ids
    _pandas_fixed_layout(indexed, np.array([b"NGC 1", b"NGC 2", b"M 31"]))
    features, ids, _ = load_table(indexed)
    # "objid" is named like an id: carried through, not a feature (issue 18)
    assert list(features.columns) == ["a", "b"] and ids.tolist() == ["NGC 1", "NGC 2", "M 31"]
    text = tmp_path / "text.h5"
    _pandas_fixed_layout(text, np.arange(3), text=True)
    with pytest.raises(ValueError, match=r"column\(s\) \['name'\] .* pickled Python objects"):
        load_table(text)


def test_hdf5_link_to_another_file_is_refused(tmp_path: Path) -> None:
    Table({"a": [1.0, 2.0]}).write(tmp_path / "other.h5", path="data")
    path = tmp_path / "linked.h5"
    with h5py.File(path, "w") as handle:
        handle["data"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "data")
    with pytest.raises(ValueError, match="link to the file"):
        load_table(path)


def test_matlab_v73_still_reads_as_an_array(tmp_path: Path) -> None:
    path = tmp_path / "data.mat"
    with h5py.File(path, "w") as handle:
        handle["X"] = np.arange(6.0).reshape(2, 3)  # MATLAB's column-major: 3 objects x 2
    X, y = load(path)
    assert X.shape == (3, 2) and y is None


# --------------------------------------------------------------------------- vector columns


def _spectra(n: int = 8, length: int = 16) -> tuple[Table, np.ndarray]:
    rng = np.random.default_rng(2)
    flux = rng.normal(size=(n, length))
    table = Table()
    table["id"] = np.arange(n, dtype=np.int64) + FIRST_ID
    table["label"] = (np.arange(n) == 5).astype(np.int64)
    table["flux"] = flux
    return table, flux


def test_one_vector_column_is_the_object(tmp_path: Path) -> None:
    table, flux = _spectra()
    path = tmp_path / "spectra.fits"
    table.write(path)
    X, y = load(path)
    assert X.shape == flux.shape
    np.testing.assert_array_equal(X, flux)
    np.testing.assert_array_equal(y, table["label"])
    features, ids, _ = load_table(path)
    assert list(features.columns) == [f"flux[{i}]" for i in range(16)]
    assert ids.tolist() == table["id"].tolist()


def test_scalar_features_beside_a_vector_column_are_named_and_left_out(tmp_path: Path) -> None:
    table, flux = _spectra()
    table["redshift"] = np.linspace(0.1, 0.8, len(table))
    masked = MaskedColumn(table["flux"], mask=np.zeros(flux.shape, dtype=bool))
    masked.mask[2, 4] = True
    table["flux"] = masked
    path = tmp_path / "spectra.fits"
    table.write(path)
    with pytest.warns(UserWarning, match=r"'flux' holds an array .* redshift are left out"):
        X, _ = load(path)
    assert X.shape == flux.shape and np.isnan(X[2, 4]) and int(np.isnan(X).sum()) == 1


def test_two_vector_columns_and_image_cells(tmp_path: Path) -> None:
    table, flux = _spectra()
    table["error"] = np.abs(flux)
    table.write(tmp_path / "two.fits")
    with pytest.raises(ValueError, match=r"columns \['flux', 'error'\] each hold an array"):
        load(tmp_path / "two.fits")
    images = Table({"cutout": np.arange(24.0).reshape(2, 3, 4)})
    images.write(tmp_path / "cutouts.fits")
    X, _ = load(tmp_path / "cutouts.fits")
    assert X.shape == (2, 3, 4) and X[1, 2, 3] == 23.0
    with pytest.raises(ValueError, match="Use load"):
        load_table(tmp_path / "cutouts.fits")


# --------------------------------------------------------------------------- errors


def test_unknown_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"cannot read; use one of .*\.ecsv.*\.fits\.gz.*\.vot"):
        load(path)


def test_gzip_that_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    _catalogue().to_csv(path, index=False, compression=None)
    with pytest.raises(ValueError, match=r"named \.csv\.gz but is not gzip-compressed"):
        load_table(path)


def test_xml_that_is_not_a_votable(tmp_path: Path) -> None:
    path = tmp_path / "t.xml"
    path.write_text("<?xml version='1.0'?><catalog><book/></catalog>")
    with pytest.raises(ValueError, match="not a VOTable"):
        load_table(path)


def test_data_folder_names_resolve_compound_suffixes(tmp_path: Path) -> None:
    _write(_catalogue(), tmp_path / "survey.fits.gz")
    X, _ = load("survey", data_dir=tmp_path)
    assert X.shape == (12, 2)
    listed = {info.name: info.format for info in available(tmp_path)}
    assert listed["survey"] == "fits"


# --------------------------------------------------------------------------- command line


def _invoke(*args: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in " ".join(result.output.split()), result.output


def test_cli_scores_the_table_hdu_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "multi.fits"
    rng = np.random.default_rng(3)
    other = Table({"x": rng.normal(size=30)})
    catalogue = Table({"objid": np.arange(40, dtype=np.int64) + FIRST_ID,
                       "a": rng.normal(size=40), "b": rng.normal(size=40)})
    hdus = [fits.PrimaryHDU(), fits.table_to_hdu(other), fits.table_to_hdu(catalogue)]
    hdus[2].name = "CATALOGUE"
    fits.HDUList(hdus).writeto(path)
    for hdu in ("2", "catalogue"):
        out = tmp_path / f"scores-{hdu}.csv"
        result = _invoke("score", path, "--hdu", hdu, "--id-column", "objid", "-o", out,
                         "--reducer", "none", "--metric", "l2", "--levels", "1")
        assert result.exit_code == 0, result.output
        scored = pd.read_csv(out)
        assert scored["objid"].tolist() == catalogue["objid"].tolist()
    _one_line_error(_invoke("score", path, "--hdu", "5", "-o", tmp_path / "s.csv"),
                    "has no HDU 5; its HDUs: 0 PRIMARY (no data); 1")
    _one_line_error(_invoke("fit", path, "--hdu", "0", "--model", tmp_path / "m.npz"),
                    "HDU 0 is not a table")


def test_cli_refusals_are_one_line(tmp_path: Path) -> None:
    image = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(np.ones((3, 3)))]).writeto(image)
    _one_line_error(_invoke("score", image), "has no table HDU")
    odd = tmp_path / "t.xlsx"
    odd.write_bytes(b"x")
    _one_line_error(_invoke("score", odd), "use one of .csv, .csv.gz, .ecsv")
    fake = tmp_path / "t.csv.gz"
    _catalogue().to_csv(fake, index=False, compression=None)
    _one_line_error(_invoke("score", fake), "is not gzip-compressed")
    cut = tmp_path / "cut.fits.gz"
    Table.from_pandas(_catalogue()).write(tmp_path / "whole.fits")
    cut.write_bytes(gzip.compress((tmp_path / "whole.fits").read_bytes())[:300])
    _one_line_error(_invoke("score", cut), "gzip stream is truncated or corrupt")
    _write(_catalogue(), tmp_path / "t.csv")
    _one_line_error(_invoke("score", tmp_path / "t.csv", "--hdu", "1"),
                    "applies to FITS, VOTable and HDF5")


def test_truncated_fits_is_named_as_such(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    Table({"a": rng.normal(size=5000)}).write(tmp_path / "whole.fits")
    whole = (tmp_path / "whole.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="not a readable FITS table: File may have been trunc"):
        load_table(tmp_path / "cut.fits")
    packed = gzip.compress(whole)
    (tmp_path / "cut.fits.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match="gzip stream is truncated or corrupt"):
        load_table(tmp_path / "cut.fits.gz")


@pytest.mark.parametrize("name", ["t.csv.gz", "t.fits.gz", "t.vot", "t.xml", "t.ecsv", "t.h5"])
def test_cli_scores_every_format_as_the_csv(tmp_path: Path, name: str) -> None:
    frame = _catalogue(40)
    frame.loc[3, "flux"] += 9.0
    _write(frame, tmp_path / "t.csv")
    _write(frame, tmp_path / name)
    single = ["--reducer", "none", "--metric", "l2", "--levels", "1"]
    for source, out in ((tmp_path / "t.csv", "csv-scores.csv"), (tmp_path / name, "s.csv")):
        result = _invoke("score", source, "-o", tmp_path / out, *single)
        assert result.exit_code == 0, result.output
        assert "id: id" in " ".join(result.output.split())  # the printed column roles
    expected = pd.read_csv(tmp_path / "csv-scores.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"), expected)
    assert expected["id"].tolist() == frame["id"].tolist()


def test_active_reads_the_hdu_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "multi.fits"
    rng = np.random.default_rng(5)
    catalogue = Table({"id": [f"gal{i}" for i in range(30)], "a": rng.normal(size=30),
                       "b": rng.normal(size=30)})
    hdus = [fits.PrimaryHDU(), fits.table_to_hdu(Table({"x": [1.0, 2.0]})),
            fits.table_to_hdu(catalogue)]
    hdus[2].name = "GALAXIES"
    fits.HDUList(hdus).writeto(path)
    out = tmp_path / "rank.csv"
    result = CliRunner().invoke(app, ["active", str(path), "--hdu", "galaxies", "--store",
                                      str(tmp_path / "s.db"), "--reducer", "none", "--levels",
                                      "1", "--output", str(out)], input="q\n")
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_csv(out)["id"]) == sorted(catalogue["id"])


def test_cli_scores_spectra_as_the_table_of_their_elements(tmp_path: Path) -> None:
    table, flux = _spectra(n=40, length=12)
    flux[7] += 5.0
    table["flux"] = flux
    table.write(tmp_path / "spectra.fits")
    wide = pd.DataFrame(flux, columns=[f"flux[{i}]" for i in range(12)])
    wide.insert(0, "id", table["id"].tolist())
    wide.to_csv(tmp_path / "wide.csv", index=False)
    single = ["--reducer", "pca", "--metric", "l2", "--levels", "1"]
    for source in ("spectra.fits", "wide.csv"):
        result = _invoke("score", tmp_path / source, "-o", tmp_path / f"{source}.csv", *single)
        assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "spectra.fits.csv")
    pd.testing.assert_frame_equal(scored, pd.read_csv(tmp_path / "wide.csv.csv"))
    assert scored.loc[scored["rank"] == 1, "id"].item() == table["id"][7]


def test_votable_table_chosen_by_index_and_by_id(tmp_path: Path) -> None:
    from astropy.io.votable import from_table

    votable = from_table(Table({"a": [1.0, 2.0, 3.0]}))
    second = from_table(Table({"b": [4.0, 5.0], "c": [6.0, 7.0]})).get_first_table()
    second.ID = "galaxies"
    votable.resources[0].tables.append(second)
    path = tmp_path / "two.vot"
    votable.to_xml(str(path))
    assert list(load_table(path)[0].columns) == ["a"]
    for hdu in (1, "galaxies"):
        assert list(load_table(path, hdu=hdu)[0].columns) == ["b", "c"]
    with pytest.raises(ValueError, match=r"no table 'stars'; its tables: 0 .*1 galaxies \(2 col"):
        load_table(path, hdu="stars")
