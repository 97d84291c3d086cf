"""The model-file format one rule at a time (src/drama/persistence.py), with a stand-in
detector class so that each test writes and reads a file of a few bytes: what is written,
which members and descriptions are refused (each with its reason), and the element budget
worked out by hand. Fast on purpose: tools/mutation.py runs this file once per mutant."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import drama
import drama.persistence as persistence
from drama.exceptions import DeviceError
from drama.persistence import (
    ArchiveArrays,
    detector_format,
    element_budget,
    group,
    read_detector,
    write_detector,
)


class _Stub:
    """A detector of the stand-in format: its state is what it was given; loading returns
    (meta, {name: array for every member}, device), or raises ``meta["raise"]``."""

    FORMAT = "drama-stub"
    FORMAT_VERSION = 3
    NAN_MEMBERS = ("may_be_nan",)

    def __init__(self, meta=None, arrays=None):
        self.meta, self.arrays = meta or {}, arrays or {}

    def to_state(self):
        return self.meta, self.arrays

    @classmethod
    def element_budget(cls, meta):
        return meta.get("budget", 100)

    @classmethod
    def from_state(cls, meta, arrays, device=None):
        if "raise" in meta:
            raise {"key": KeyError("weights"), "value": ValueError(meta["raise"]),
                   "device": DeviceError("no cuda:3."),
                   "runtime": RuntimeError(meta["raise"])}[meta["kind"]]
        return meta, {name: arrays[name] for name in arrays}, device


class _Other(_Stub):
    FORMAT = "drama-other"


def _write_raw(path, members: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **members)


def _saved(tmp_path, meta=None, arrays=None):
    path = tmp_path / "stub.npz"
    write_detector(_Stub(meta, arrays), path)
    return path


# ---------------------------------------------------------------- writing
def test_a_written_file_holds_the_header_the_description_and_the_arrays(tmp_path):
    path = _saved(tmp_path, {"levels": [1, 2]}, {"w": np.arange(3.0)})
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__meta__", "w"]
        meta = json.loads(str(archive["__meta__"]))
        np.testing.assert_array_equal(archive["w"], [0.0, 1.0, 2.0])
    assert meta == {"format": "drama-stub", "format_version": 3,
                    "drama_version": drama.__version__, "levels": [1, 2]}
    with zipfile.ZipFile(path) as archive:  # compressed
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    assert [p.name for p in tmp_path.iterdir()] == ["stub.npz"]


def test_numpy_scalars_and_tuples_are_written_as_json_values(tmp_path):
    meta = {"flag": np.bool_(True), "count": np.int32(7), "share": np.float32(0.5),
            "shape": (2, 3)}
    loaded, _, _ = read_detector(_saved(tmp_path, meta), (_Stub,))
    assert [loaded[k] for k in meta] == [True, 7, 0.5, [2, 3]]
    assert [type(loaded[k]) for k in meta] == [bool, int, float, list]


def test_a_value_json_cannot_hold_is_refused_by_type(tmp_path):
    with pytest.raises(TypeError) as caught:
        _saved(tmp_path, {"reducer": object()})
    assert str(caught.value) == "object cannot be saved in a data-only model file."
    assert not (tmp_path / "stub.npz").exists()


# ---------------------------------------------------------------- reading back
def test_a_file_reads_back_as_written_with_the_device(tmp_path):
    arrays = {"w": np.arange(6.0).reshape(2, 3), "flags": np.array([True, False]),
              "ids": np.array([1, 2], dtype=np.uint8), "may_be_nan": np.array([np.nan, 1.0])}
    meta, got, device = read_detector(_saved(tmp_path, {"a": 1}, arrays), (_Other, _Stub),
                                      device="cpu")
    assert meta["a"] == 1 and device == "cpu"
    assert sorted(got) == sorted(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(got[name], value)
        assert got[name].dtype == value.dtype


def test_a_fortran_ordered_array_reads_back_in_its_order(tmp_path):
    value = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    _, got, _ = read_detector(_saved(tmp_path, {}, {"w": value}), (_Stub,))
    np.testing.assert_array_equal(got["w"], value)
    assert got["w"].flags["C_CONTIGUOUS"]


def test_an_array_in_the_version_2_header_format_reads_back(tmp_path):
    path = _saved(tmp_path, {}, {"w": np.arange(3.0)})
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.arange(4.0), version=(2, 0))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("v2.npy", buffer.getvalue())
    _, got, _ = read_detector(path, (_Stub,))
    np.testing.assert_array_equal(got["v2"], np.arange(4.0))


def _archive(tmp_path, members, budget=100, may_be_nan=()):
    path = tmp_path / "raw.npz"
    _write_raw(path, members)
    return ArchiveArrays(zipfile.ZipFile(path), path, budget, may_be_nan)


def test_the_archive_lists_its_arrays_but_not_the_description(tmp_path):
    arrays = _archive(tmp_path, {"__meta__": np.array("{}"), "a": np.zeros(1),
                                 "b/c": np.ones(2)})
    assert sorted(arrays) == ["a", "b/c"] and len(arrays) == 2
    assert "__meta__" not in arrays
    with pytest.raises(KeyError):
        arrays["missing"]
    arrays.close()


def test_group_gives_the_arrays_under_a_prefix_without_it():
    arrays = {"node1/a": 1, "node1/b": 2, "node10/a": 3, "node2/a": 4}
    assert group(arrays, "node1/") == {"a": 1, "b": 2}
    assert group(arrays, "node3/") == {}


@pytest.mark.parametrize("value, dtype", [
    (np.array([1 + 2j]), "complex128"),
    (np.array(["x"]), "<U1"),
    (np.array([b"x"]), "|S1"),
    (np.array([1], dtype="m8[s]"), "timedelta64[s]"),
])
def test_a_member_that_does_not_hold_numbers_is_refused(tmp_path, value, dtype):
    arrays = _archive(tmp_path, {"w": value})
    with pytest.raises(ValueError) as caught:
        arrays["w"]
    assert str(caught.value) == f"member 'w' holds {dtype}, not numbers"


def test_a_structured_member_holding_objects_is_refused(tmp_path):
    path = tmp_path / "raw.npz"
    buffer = io.BytesIO()
    header = {"descr": [("a", "<f8"), ("b", "|O")], "fortran_order": False, "shape": (1,)}
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", buffer.getvalue() + b"\0" * 16)
    arrays = ArchiveArrays(zipfile.ZipFile(path), path, 100)
    with pytest.raises(ValueError, match=r"^member 'w' holds .*, not numbers$"):
        arrays["w"]


def test_a_member_of_exactly_the_budget_is_read_and_one_more_is_refused(tmp_path):
    arrays = _archive(tmp_path, {"w": np.zeros((2, 3)), "v": np.zeros(7)}, budget=6)
    np.testing.assert_array_equal(arrays["w"], np.zeros((2, 3)))
    with pytest.raises(ValueError) as caught:
        arrays["v"]
    assert str(caught.value) == "member 'v' declares 7 values, more than this model can hold (6)"


def _with_bytes(path, name, data: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.npy", data)


def _npy(value) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, value)
    return buffer.getvalue()


@pytest.mark.parametrize("cut, held", [(-8, 16), (-1, 23)])
def test_a_member_shorter_than_its_header_declares_is_refused(tmp_path, cut, held):
    path = tmp_path / "raw.npz"
    _with_bytes(path, "w", _npy(np.arange(3.0))[:cut])
    arrays = ArchiveArrays(zipfile.ZipFile(path), path, 100)
    with pytest.raises(ValueError) as caught:
        arrays["w"]
    assert str(caught.value) == f"member 'w' holds {held} bytes for its declared shape (3,)"


@pytest.mark.parametrize("extra", [1, 1000])
def test_a_member_longer_than_its_header_declares_is_refused_unread(tmp_path, extra):
    """The check reads at most one byte past the declared 24: 25 bytes, however long the
    member really is."""
    path = tmp_path / "raw.npz"
    _with_bytes(path, "w", _npy(np.arange(3.0)) + b"\0" * extra)
    arrays = ArchiveArrays(zipfile.ZipFile(path), path, 100)
    with pytest.raises(ValueError) as caught:
        arrays["w"]
    assert str(caught.value) == "member 'w' holds 25 bytes for its declared shape (3,)"


def test_a_declared_shape_whose_size_overflows_int64_is_refused(tmp_path):
    """2^32 x 2^32 values: 2^64, which wraps to 0 in 64-bit integers."""
    path = tmp_path / "raw.npz"
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (2**32, 2**32)}
    np.lib.format.write_array_header_1_0(buffer, header)
    _with_bytes(path, "w", buffer.getvalue())
    arrays = ArchiveArrays(zipfile.ZipFile(path), path, 100)
    with pytest.raises(ValueError) as caught:
        arrays["w"]
    assert str(caught.value) == (f"member 'w' declares {2**64} values, more than this model "
                                 "can hold (100)")


def test_a_member_the_loader_asks_for_but_the_file_lacks_is_named(tmp_path):
    arrays = _archive(tmp_path, {"w": np.zeros(1)})
    with pytest.raises(KeyError) as caught:
        arrays["node1/prototype"]
    assert caught.value.args == ("node1/prototype",)


def test_a_member_without_an_array_header_is_refused(tmp_path):
    path = tmp_path / "raw.npz"
    _with_bytes(path, "w", b"not an array at all")
    arrays = ArchiveArrays(zipfile.ZipFile(path), path, 100)
    with pytest.raises(ValueError, match=r"raw.npz member 'w' is not a readable array \("):
        arrays["w"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_floats_are_refused_except_where_allowed(tmp_path, bad):
    arrays = _archive(tmp_path, {"w": np.array([1.0, bad]), "ok": np.array([bad]),
                                 "i": np.array([1, 2])}, may_be_nan=["ok"])
    with pytest.raises(ValueError) as caught:
        arrays["w"]
    assert str(caught.value) == "member 'w' holds NaN or infinite values"
    np.testing.assert_array_equal(arrays["ok"], [bad])
    np.testing.assert_array_equal(arrays["i"], [1, 2])


def test_read_arrays_are_writable_copies(tmp_path):
    arrays = _archive(tmp_path, {"w": np.arange(3.0)})
    value = arrays["w"]
    value[0] = 5.0  # a read-only view of the file's bytes would refuse this
    np.testing.assert_array_equal(arrays["w"], [0.0, 1.0, 2.0])


# ---------------------------------------------------------------- the element budget
def test_the_element_budget_worked_out_by_hand():
    # 4 x (10 + 4096) x (3 + 64) + 3^2 per tree
    assert element_budget(10, 3) == 4 * 4106 * 67 + 9 == 1100417
    assert element_budget(10, 3, n_trees=3) == 3 * 1100417
    assert element_budget(10, 3, n_trees=0) == 1100417
    assert element_budget(10**10, 1) == 4 * (10**10 + 4096) * 65 + 1


@pytest.mark.parametrize("objects, features, what, given", [
    (0, 3, "objects", "0"), (10**10 + 1, 3, "objects", "10000000001"),
    (True, 3, "objects", "True"), (10.0, 3, "objects", "10.0"), ("10", 3, "objects", "'10'"),
    (10, 0, "features", "0"), (10, 10**10 + 1, "features", "10000000001"),
    (10, None, "features", "None"),
])
def test_the_element_budget_refuses_counts_a_model_cannot_have(objects, features, what, given):
    with pytest.raises(ValueError) as caught:
        element_budget(objects, features)
    assert str(caught.value) == f"the description gives {given} {what}"


def test_a_description_the_budget_cannot_use_is_refused_as_inconsistent(tmp_path):
    class _Strict(_Stub):
        @classmethod
        def element_budget(cls, meta):
            return element_budget(meta["n"], 3)
    for meta, reason in (({}, "'n'"), ({"n": -1}, "the description gives -1 objects")):
        path = tmp_path / "strict.npz"
        write_detector(_Strict(meta), path)
        with pytest.raises(ValueError) as caught:
            read_detector(path, (_Strict,))
        assert str(caught.value) == f"{path} is not a consistent DRAMA model file: {reason}"


# ---------------------------------------------------------------- files that are not models
def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        read_detector(tmp_path / "none.npz", (_Stub,))
    assert str(caught.value) == f"No model file at {tmp_path / 'none.npz'}."


def test_a_file_that_is_not_a_zip_archive_is_refused(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == f"{path} is not a readable DRAMA model file (not an .npz archive)."
    assert detector_format(path) is None


def test_a_file_that_only_looks_like_a_zip_archive_is_refused(tmp_path):
    """An end-of-archive record (what is_zipfile looks for) pointing at nothing."""
    import struct

    path = tmp_path / "fake.npz"
    path.write_bytes(b"x" * 10 + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 0, 0))
    assert zipfile.is_zipfile(path)
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == (f"{path} is not a readable DRAMA model file (Bad offset for "
                                 "central directory).")


def test_an_unreadable_description_or_member_is_named_with_its_file(tmp_path):
    path = tmp_path / "odd.npz"
    _with_bytes(path, "__meta__", b"garbage")
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value).startswith(f"{path} is not a readable DRAMA model file ({path}'s "
                                        "description is not a readable array (")
    path = _saved(tmp_path, {}, {"w": np.zeros(1)})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("v.npy", b"garbage")
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value).startswith(f"{path} is not a consistent DRAMA model file: {path} "
                                        "member 'v' is not a readable array (")


def test_only_the_declared_text_of_the_description_is_read(tmp_path):
    """Bytes after the description's declared text are never read (nor is a huge tail)."""
    path = tmp_path / "tail.npz"
    _with_bytes(path, "__meta__", _npy(np.array(json.dumps({"format": "drama-stub",
                                                            "format_version": 3})))
                + b"\0" * 64)
    assert read_detector(path, (_Stub,))[0]["format"] == "drama-stub"


def test_an_archive_without_a_description_names_what_it_holds(tmp_path):
    path = tmp_path / "plain.npz"
    _write_raw(path, {f"a{i}": np.zeros(1) for i in range(7)})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == (f"{path} is an .npz archive but not a DRAMA model: it holds "
                                 "['a0', 'a1', 'a2', 'a3', 'a4'] and no model description.")
    assert detector_format(path) is None


@pytest.mark.parametrize("description", [
    np.array(["{}", "{}"]),  # not one text
    np.array(b"{}"),  # bytes, not text
    np.array(7.0),
])
def test_a_description_that_is_not_one_text_is_refused(tmp_path, description):
    path = tmp_path / "odd.npz"
    _write_raw(path, {"__meta__": description})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == (f"{path} is not a readable DRAMA model file (its description "
                                 "is not one text).")


def test_a_description_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"pad": "x" * 10})
    with np.load(path) as archive:
        size = archive["__meta__"].nbytes
    monkeypatch.setattr(persistence, "MAX_DESCRIPTION_BYTES", size)
    assert read_detector(path, (_Stub,))[0]["pad"] == "x" * 10  # exactly the limit
    monkeypatch.setattr(persistence, "MAX_DESCRIPTION_BYTES", size - 1)
    with pytest.raises(ValueError, match="its description is not one text"):
        read_detector(path, (_Stub,))


@pytest.mark.parametrize("text", ["[1, 2]", "not json"])
def test_a_description_that_is_not_a_json_object_is_refused(tmp_path, text):
    path = tmp_path / "odd.npz"
    _write_raw(path, {"__meta__": np.array(text)})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    expected = (f"{path} is not a DRAMA model file." if text.startswith("[") else
                f"{path} is not a readable DRAMA model file (")
    assert str(caught.value).startswith(expected)
    assert detector_format(path) is None


def test_the_format_is_read_from_the_description_alone(tmp_path):
    path = _saved(tmp_path, {}, {"w": np.zeros(10**5)})
    assert detector_format(path) == "drama-stub"
    for fmt in ("stub", 7, None):
        odd = tmp_path / "odd.npz"
        _write_raw(odd, {"__meta__": np.array(json.dumps({"format": fmt}))})
        assert detector_format(odd) is None


@pytest.mark.parametrize("fmt, held", [("drama-model", "a Drama model (Drama.load)"),
                                       ("drama-search", "a DramaSearch (DramaSearch.load)")])
def test_another_drama_format_says_how_to_load_it(tmp_path, fmt, held):
    path = tmp_path / "other.npz"
    _write_raw(path, {"__meta__": np.array(json.dumps({"format": fmt}))})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub, _Other))
    assert str(caught.value) == (f"{path} holds {held}, not a _Stub or _Other; load it with "
                                 "that, or with drama.load_detector(path).")


@pytest.mark.parametrize("fmt", ["drama-unknown", 3, None, ["drama-model"]])
def test_an_unknown_format_is_not_a_model_file(tmp_path, fmt):
    path = tmp_path / "other.npz"
    _write_raw(path, {"__meta__": np.array(json.dumps({"format": fmt}))})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == f"{path} is not a DRAMA model file."


@pytest.mark.parametrize("version, writer, by", [(2, "0.1.0", " by DRAMA 0.1.0"),
                                                 ("3", None, "")])
def test_another_format_version_names_both_versions(tmp_path, version, writer, by):
    path = tmp_path / "old.npz"
    meta = {"format": "drama-stub", "format_version": version}
    if writer:
        meta["drama_version"] = writer
    _write_raw(path, {"__meta__": np.array(json.dumps(meta))})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == (
        f"{path} was written{by} in drama-stub format version {version!r}, but this DRAMA "
        f"({drama.__version__}) reads version 3. Refit with this version, or load it with the "
        "DRAMA release that wrote it.")


# ---------------------------------------------------------------- loading failures
@pytest.mark.parametrize("kind, text, reason", [
    ("key", "", "missing 'weights'"),
    ("value", "a\n  b\tc", "a b c"),
    ("runtime", "size mismatch", "size mismatch"),
    ("value", "x" * 400, "x" * 300),
])
def test_a_file_whose_parts_do_not_fit_is_refused_in_one_line(tmp_path, kind, text, reason):
    path = _saved(tmp_path, {"raise": text, "kind": kind})
    with pytest.raises(ValueError) as caught:
        read_detector(path, (_Stub,))
    assert type(caught.value) is ValueError
    assert str(caught.value) == f"{path} is not a consistent DRAMA model file: {reason}"


def test_a_model_for_a_missing_device_says_how_to_load_it(tmp_path):
    path = _saved(tmp_path, {"raise": "", "kind": "device"})
    with pytest.raises(DeviceError) as caught:
        read_detector(path, (_Stub,))
    assert str(caught.value) == (f"{path} holds a model for a device that is not here: no "
                                 "cuda:3. To run it on this machine, load it with device='cpu'.")
