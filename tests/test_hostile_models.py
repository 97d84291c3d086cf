"""Edited and hostile model files (issue 15 case 6): a seeded mutator changes saved models
field by field, and every mutant either loads and scores finitely or is refused with one
clean line: never another exception, a crash or a huge allocation."""

from __future__ import annotations

import copy
import io
import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from drama import Drama, DramaSearch, load_detector
from drama.cli import app

RNG_SEED = 20261207
LINEAR = ("none", "pca", "ica", "nmf")


def _data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.abs(np.vstack([rng.normal(2, 1, (60, 4)), rng.normal(6, 1, (60, 4))]))


def _members(path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return json.loads(str(arrays.pop("__meta__"))), arrays


def _write(path, meta, arrays) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, __meta__=np.array(json.dumps(meta)), **arrays)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    X = _data()
    paths = {}
    for reducer in LINEAR:
        paths[reducer] = folder / f"{reducer}.npz"
        Drama(reducer=reducer, metric="mahalanobis", n_levels=2,
              random_state=0).fit(X).save(paths[reducer])
    paths["search"] = folder / "search.npz"
    y = np.full(len(X), -1)
    y[[0, 70]], y[[1, 2]] = 1, 0
    DramaSearch(reducers=["none", "pca"], levels=[1, 2], metrics=["l2", "l1", "wl2"],
                random_state=0).fit(X, y).save(paths["search"])
    return paths


def _array_mutants(arrays: dict[str, np.ndarray], rng: np.random.Generator):
    """(what, new arrays) for every member: values, lengths, shapes and dtypes changed."""
    edits = {
        "nan": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a),
        "inf": lambda a: np.full(a.shape, np.inf),
        "shorter": lambda a: a.reshape(-1)[:-1],
        "longer": lambda a: np.append(a.reshape(-1), 1.0),
        "2-d": lambda a: a.reshape(1, -1),
        "empty": lambda a: a.reshape(-1)[:0],
        "negative": lambda a: -np.abs(a) - 1,
        "zero": lambda a: np.zeros_like(a),
        "huge": lambda a: np.full(a.shape, 1e300),
        "complex": lambda a: a.astype(np.complex128),
        "text": lambda a: np.array(["x"] * a.size),
        "integers": lambda a: np.round(a).astype(np.int64),
    }
    for name in sorted(arrays):
        for what in rng.choice(sorted(edits), size=4, replace=False):
            changed = dict(arrays)
            with np.errstate(all="ignore"):
                changed[name] = edits[what](np.asarray(arrays[name], dtype=np.float64)
                                            if arrays[name].dtype.kind != "U" else arrays[name])
            yield f"{name}: {what}", changed


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    yield path


def _meta_mutants(meta: dict, rng: np.random.Generator, count: int):
    """(what, new meta) for a seeded sample of the description's fields."""
    replacements = [-1, 0, 1, 10**13, -(10**13), 2.5, None, True, "x", [], {}, [0, 0], "[/x]"]
    paths = [p for p in _leaves(meta) if p and p[0] not in ("drama_version",)]
    for i in rng.choice(len(paths), size=min(count, len(paths)), replace=False):
        path = paths[i]
        for value in (replacements[j] for j in rng.choice(len(replacements), 2, replace=False)):
            changed = copy.deepcopy(meta)
            target = changed
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            yield f"{'/'.join(map(str, path))} = {value!r}", changed
        changed = copy.deepcopy(meta)
        target = changed
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, dict):
            del target[path[-1]]
            yield f"{'/'.join(map(str, path))} removed", changed


def _check_mutant(path, X: np.ndarray, what: str) -> str:
    """'refused' or 'scored'; fails the test on anything but a clean error or finite
    scores."""
    try:
        det = load_detector(path)
    except ValueError as exc:
        message = str(exc)
        assert message and "\n" not in message, (what, message)
        return "refused"
    except Exception as exc:  # noqa: BLE001 - the point is to name what escaped
        pytest.fail(f"{what}: loading raised {type(exc).__name__}: {exc}")
    try:
        with np.errstate(all="ignore"):
            scores = det.decision_function(X)
    except ValueError as exc:
        assert "\n" not in str(exc), (what, str(exc))
        return "refused"
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{what}: a loaded mutant raised {type(exc).__name__} when scoring: {exc}")
    assert np.isfinite(scores).all(), f"{what}: a loaded mutant scores non-finitely"
    return "scored"


@pytest.mark.parametrize("kind", [*LINEAR, "search"])
def test_every_mutant_is_refused_cleanly_or_scores_finitely(saved, tmp_path, kind):
    rng = np.random.default_rng([RNG_SEED, LINEAR.index(kind) if kind in LINEAR else 9])
    meta, arrays = _members(saved[kind])
    X = _data(3)
    outcomes = {"refused": 0, "scored": 0}
    target = tmp_path / "mutant.npz"
    mutants = [*((what, meta, changed) for what, changed in _array_mutants(arrays, rng)),
               *((what, changed, arrays) for what, changed in _meta_mutants(meta, rng, 60))]
    for what, new_meta, new_arrays in mutants:
        _write(target, new_meta, new_arrays)
        outcomes[_check_mutant(target, X, what)] += 1
    # the mutator reaches both outcomes (a mutator that breaks nothing tests nothing)
    assert outcomes["refused"] > len(mutants) // 2 and outcomes["scored"] > 0, outcomes


def _npy_with_header(shape: tuple[int, ...]) -> bytes:
    """An .npy member whose header declares ``shape`` but which holds 8 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + b"\0" * 8


@pytest.mark.parametrize("member", ["decision_scores", "node0/prototype", "reducer0/mean"])
def test_a_declared_huge_array_is_refused_before_it_is_read(saved, tmp_path, member):
    bad = tmp_path / "bomb.npz"
    with zipfile.ZipFile(saved["pca"]) as source, zipfile.ZipFile(bad, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == f"{member}.npy":
                data = _npy_with_header((10**7, 10**6))  # 80 TB declared
            out.writestr(info, data)
    with pytest.raises(ValueError, match=r"declares 10000000000000 values, more than"):
        Drama.load(bad)


def test_unknown_members_are_ignored_and_never_read(saved, tmp_path):
    extra = tmp_path / "extra.npz"
    with zipfile.ZipFile(saved["pca"]) as source, zipfile.ZipFile(extra, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.writestr("notes.npy", _npy_with_header((10**9,)))
    X = _data(3)
    np.testing.assert_array_equal(Drama.load(extra).decision_function(X),
                                  Drama.load(saved["pca"]).decision_function(X))


@pytest.mark.parametrize("edit, fragment", [
    (lambda m, a: m["nodes"][1].update(encoder=-1), "encoder"),
    (lambda m, a: m["nodes"][0].update(children=[1, 1]), "names child"),
    (lambda m, a: m["nodes"][0].update(children=[0, 2]), "names child"),
    (lambda m, a: m["levels"][1].append(99), "levels"),
    (lambda m, a: a.update({"scaler/offset": a["scaler/offset"][:2]}), "scaler's offset"),
    (lambda m, a: a.update({"scaler/scale": -a["scaler/scale"]}), "scale is not positive"),
    (lambda m, a: a.update({"node1/in_sigma": a["node1/in_sigma"][:3]}), "in_sigma"),
    (lambda m, a: a.update({"node1/prototype": a["node1/prototype"][:3]}), "prototype"),
    (lambda m, a: a.update({"node2/prototype": np.full(4, np.nan)}), "NaN"),
    (lambda m, a: a.update({"decision_scores": a["decision_scores"][:5]}), "training scores"),
    (lambda m, a: a.update({"reducer0/mixing": a["reducer0/mixing"][:, :1]}), "reducer 0"),
    (lambda m, a: m.update(n_features_in=7), "features"),
])
def test_the_issue_s_inconsistent_files_are_refused(saved, tmp_path, edit, fragment):
    meta, arrays = _members(saved["pca"])
    edit(meta, arrays)
    bad = tmp_path / "bad.npz"
    _write(bad, meta, arrays)
    with pytest.raises(ValueError, match="not a consistent DRAMA model file") as caught:
        Drama.load(bad)
    assert fragment in str(caught.value)


def test_cli_reports_a_mutant_in_one_line(saved, tmp_path):
    meta, arrays = _members(saved["search"])
    meta["members"][0]["nodes"][0]["children"] = [5, 500]
    bad = tmp_path / "bad.npz"
    _write(bad, meta, arrays)
    table = tmp_path / "t.csv"
    np.savetxt(table, _data(4), delimiter=",", header="a,b,c,d", comments="")
    result = CliRunner().invoke(app, ["score", str(table), "-o", str(tmp_path / "o.csv"),
                                      "--model", str(bad)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "not a consistent DRAMA model" in result.output
