"""Light-curve loading and the per-curve grid transform, on small synthetic CSV files."""

from __future__ import annotations

import numpy as np
import pytest

from drama.datasets.lightcurves import (
    FEATURES,
    crts_folder,
    curve_features,
    curve_to_grid,
    load_crts,
)

NEEDS_LIGHT_CURVE = ("the features representation needs the light-curve package: "
                     "pip install 'drama-anomaly[lightcurves]'")


def _write_crts(folder, curves: dict[str, int], labels: dict[str, str] | None = None,
                nan_in: str | None = None) -> None:
    rng = np.random.default_rng(0)
    rows = ["ID,observation_id,Mag,Magerr,MJD"]
    obs = 0
    for curve_id, n in curves.items():
        times = np.sort(rng.uniform(53500, 56500, n))
        for k, t in enumerate(times):
            mag = "nan" if (curve_id == nan_in and k == 0) else f"{18 + rng.normal(0, 0.2):.4f}"
            rows.append(f"{curve_id},{obs},{mag},{rng.uniform(0.05, 0.3):.4f},{t:.5f}")
            obs += 1
    (folder / "CRTS_subset_500.csv").write_text("\n".join(rows) + "\n")
    if labels is not None:
        lines = ["Classification,TransientID"]
        lines += [f"{cls},{cid.removeprefix('TranID')}" for cid, cls in labels.items()]
        (folder / "transient_labels.csv").write_text("\n".join(lines) + "\n")


def test_grid_shape_channels_and_sign() -> None:
    t = np.linspace(0.0, 100.0, 30)
    mag = np.full(30, 18.0)
    mag[10:12] = 16.0  # an outburst: brighter = smaller magnitude
    grid = curve_to_grid(t, mag, np.full(30, 0.1), n_bins=16, channels=("mag", "err", "count"))
    assert grid.shape == (16, 3) and grid.dtype == np.float64
    assert grid[:, 0].max() == pytest.approx(2.0)  # the outburst is a positive peak
    assert np.median(grid[:, 0]) == pytest.approx(0.0)
    assert (grid[:, 1] > 0).all()
    assert grid[:, 2].sum() > 0


def test_gaps_are_interpolated_not_zero() -> None:
    t = np.array([0.0, 1.0, 9.0, 10.0])
    mag = np.array([18.0, 18.0, 17.0, 17.0])
    grid = curve_to_grid(t, mag, None, n_bins=10)
    assert np.isfinite(grid).all()
    middle = grid[4:6, 0]
    assert (middle > grid[0, 0]).all() and (middle < grid[-1, 0]).all()
    np.testing.assert_array_equal(grid[:, 1], 0.0)  # no errors given


def test_unsorted_input_gives_the_same_grid() -> None:
    rng = np.random.default_rng(1)
    t = rng.uniform(0, 50, 25)
    m = rng.normal(18, 0.3, 25)
    e = rng.uniform(0.05, 0.2, 25)
    order = np.argsort(t)
    np.testing.assert_allclose(curve_to_grid(t, m, e), curve_to_grid(t[order], m[order], e[order]))


def test_one_point_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 2 points"):
        curve_to_grid([55000.0], [18.0], [0.1])


def test_nan_and_flat_time_are_errors() -> None:
    with pytest.raises(ValueError, match="NaN"):
        curve_to_grid([1.0, 2.0, 3.0], [18.0, np.nan, 18.0])
    with pytest.raises(ValueError, match="same time"):
        curve_to_grid([5.0, 5.0], [18.0, 17.0])
    with pytest.raises(ValueError, match="channels"):
        curve_to_grid([1.0, 2.0], [18.0, 17.0], channels=("flux",))


def test_loader_skips_short_curves_and_reports_them(tmp_path) -> None:
    curves = {"TranID1": 12, "TranID2": 1, "TranID3": 7, "TranID4": 3}
    _write_crts(tmp_path, curves, labels={"TranID1": "SN", "TranID3": "CV"})
    with pytest.warns(UserWarning, match="skipped 2 of 4 light curves"):
        X, labels, ids = load_crts(tmp_path, n_bins=8, min_points=5)
    assert X.shape == (2, 8, 2)
    assert list(ids) == ["TranID1", "TranID3"]
    assert list(labels) == ["SN", "CV"]
    with pytest.raises(ValueError, match="fewer than 5 points"):
        load_crts(tmp_path, n_bins=8, on_short="raise")


def test_loader_without_labels_and_with_survey_grid(tmp_path) -> None:
    _write_crts(tmp_path, {"TranID7": 9, "TranID8": 6})
    X, labels, _ = load_crts(tmp_path, n_bins=16, time_grid="survey",
                             channels=("mag", "err", "count"))
    assert X.shape == (2, 16, 3) and np.isfinite(X).all()
    assert set(labels) == {"unlabelled"}


def test_loader_refuses_nan_unless_asked(tmp_path) -> None:
    _write_crts(tmp_path, {"TranID1": 8, "TranID2": 8}, nan_in="TranID2")
    with pytest.raises(ValueError, match="NaN.*TranID2"):
        load_crts(tmp_path, n_bins=8)
    X, _, _ = load_crts(tmp_path, n_bins=8, dropna=True)
    assert X.shape == (2, 8, 2)


def test_missing_folder_and_columns(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="CRTS_subset_500.csv"):
        load_crts(tmp_path / "nowhere")
    (tmp_path / "CRTS_subset_500.csv").write_text("ID,Mag\nTranID1,18\n")
    with pytest.raises(ValueError, match="lacks the column"):
        load_crts(tmp_path)


def test_variability_features_see_variability() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 1000, 80))
    err = np.full(80, 0.05)
    quiet = curve_features(t, 18 + rng.normal(0, 0.05, 80), err)
    flaring = 18 + rng.normal(0, 0.05, 80)
    flaring[40:44] -= 2.0  # a brightening: smaller magnitudes
    loud = curve_features(t, flaring, err)
    col = {name: i for i, name in enumerate(FEATURES)}
    assert quiet.shape == loud.shape == (len(FEATURES),)
    assert abs(quiet[col["chi2"]] - np.log10(2.0)) < 0.15  # noise as the errors say
    assert loud[col["chi2"]] > quiet[col["chi2"]] + 1
    assert loud[col["skew"]] < -2 < quiet[col["skew"]]
    assert loud[col["eta"]] < quiet[col["eta"]]  # a smooth excursion
    assert loud[col["amplitude"]] > quiet[col["amplitude"]]
    assert loud[col["kurtosis"]] > quiet[col["kurtosis"]] + 3
    assert quiet[col["observation_count"]] == pytest.approx(np.log10(81.0))


def test_a_flat_curve_has_undefined_features_not_made_up_ones() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    f = curve_features(np.arange(7.0), np.full(7, 18.1), np.full(7, 0.1))
    col = {name: i for i, name in enumerate(FEATURES)}
    assert np.isnan(f[col["skew"]])
    assert f[col["amplitude"]] == 0.0


def test_observations_at_one_time_are_merged_for_the_features() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 100, 12))
    m, e = rng.normal(18, 0.3, 12), np.full(12, 0.1)
    doubled = curve_features(np.r_[t, t], np.r_[m, m], np.r_[e, e])
    col = {name: i for i, name in enumerate(FEATURES)}
    single = curve_features(t, m, e)
    assert doubled[col["observation_count"]] == single[col["observation_count"]]
    assert doubled[col["skew"]] == pytest.approx(single[col["skew"]])


def test_loader_features_representation(tmp_path) -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    _write_crts(tmp_path, {"TranID1": 12, "TranID2": 9}, labels={"TranID1": "SN"})
    X, labels, ids = load_crts(tmp_path, representation="features")
    assert X.shape == (2, len(FEATURES)) and np.isfinite(X).all()
    assert list(labels) == ["SN", "unlabelled"]
    with pytest.raises(ValueError, match="representation 'pixels'"):
        load_crts(tmp_path, representation="pixels")


def test_folder_from_the_data_folders(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DRAMA_DATA", str(tmp_path))
    assert crts_folder() is None  # nothing is searched outside $DRAMA_DATA and the cache
    with pytest.raises(FileNotFoundError, match="DRAMA_DATA"):
        load_crts()
    (tmp_path / "lightcurves" / "crts").mkdir(parents=True)
    assert crts_folder() == tmp_path / "lightcurves" / "crts"


def test_real_crts_folder(shared_data) -> None:
    folder = shared_data / "lightcurves" / "crts"
    if not (folder / "CRTS_subset_500.csv").is_file():
        pytest.skip(f"the CRTS light curves are not at {folder}")
    with pytest.warns(UserWarning, match="skipped"):
        X, labels, ids = load_crts(folder, n_bins=32)
    assert X.shape[1:] == (32, 2) and len(X) == len(labels) == len(ids) > 400
    assert np.isfinite(X).all()
    assert {"SN", "CV", "AGN"} <= set(labels)


def _append_rows(folder, rows: list[str]) -> None:
    with open(folder / "CRTS_subset_500.csv", "a") as handle:
        handle.write("\n".join(rows) + "\n")


def test_ids_are_text_and_blank_ids_are_named(tmp_path) -> None:
    _write_crts(tmp_path, {"0123": 6, "123": 6}, labels={"0123": "SN"})
    X, labels, ids = load_crts(tmp_path, n_bins=8)
    assert list(ids) == ["0123", "123"] and list(labels) == ["SN", "unlabelled"]
    _append_rows(tmp_path, [",9,18.0,0.1,54000.0"])
    with pytest.raises(ValueError, match="without an ID"):
        load_crts(tmp_path, n_bins=8)
    assert load_crts(tmp_path, n_bins=8, dropna=True)[0].shape == (2, 8, 2)


def test_text_in_a_number_column_is_named(tmp_path) -> None:
    _write_crts(tmp_path, {"TranID1": 6})
    _append_rows(tmp_path, ["TranID1,9,-,0.1,54000.0"])
    with pytest.raises(ValueError, match="column Mag holds 1 value.*'-'.*TranID1"):
        load_crts(tmp_path, n_bins=8)


def test_a_curve_at_one_time_is_skipped_not_fatal(tmp_path) -> None:
    _write_crts(tmp_path, {"TranID1": 6})
    _append_rows(tmp_path, [f"TranID2,{9 + i},18.{i},0.1,54000.0" for i in range(6)])
    for grid in ("curve", "survey"):  # six observations at one time are one point in time
        with pytest.warns(UserWarning, match="skipped 1 of 2.*distinct times.*TranID2 with 1"):
            X, _, ids = load_crts(tmp_path, n_bins=8, time_grid=grid)
        assert list(ids) == ["TranID1"]


def test_labels_that_match_no_curve_warn(tmp_path) -> None:
    _write_crts(tmp_path, {"TranID1": 6})
    (tmp_path / "transient_labels.csv").write_text("Classification,TransientID\nSN,TranID1\n")
    with pytest.warns(UserWarning, match="without their 'TranID' prefix"):
        load_crts(tmp_path, n_bins=8)


def test_points_outside_the_time_range_are_left_out() -> None:
    grid = curve_to_grid([0, 1, 2, 3, 100], [10, 10, 10, 10, 20], None, 4,
                         time_range=(0, 3), channels=("mag", "count"))
    np.testing.assert_allclose(grid[:, 0], 0.0)  # the MJD-100 point would pull a bin to -10
    np.testing.assert_allclose(grid[:, 1], np.log(2.0))
    with pytest.raises(ValueError, match="inside time_range"):
        curve_to_grid([5, 6], [1, 2], None, 4, time_range=(0, 3))


def test_features_check_their_input_like_the_grid() -> None:
    with pytest.raises(ValueError, match="same length"):
        curve_features([0, 1, 2], [1, 2, 3, 99], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="non-negative"):
        curve_features([0, 1, 2], [1, 2, 3], [0.1, -0.1, 0.1])
    with pytest.raises(ValueError, match="NaN"):
        curve_features([0, 1, 2], [1, 2, 3], [0.1, np.nan, 0.1])


def test_load_by_name_resolves_the_crts_folder(tmp_path, monkeypatch) -> None:
    from drama.datasets import available, load

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DRAMA_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="lightcurves/crts"):
        load("crts-grid", data_dir=tmp_path)
    assert "crts" not in {i.name for i in available(data_dir=tmp_path)}
    folder = tmp_path / "lightcurves" / "crts"
    folder.mkdir(parents=True)
    _write_crts(folder, {"TranID1": 8, "TranID2": 9, "TranID3": 7, "TranID4": 6},
                labels={"TranID1": "SN", "TranID2": "Mira", "TranID3": "SN/CV",
                        "TranID4": "AGN?"})
    listed = {i.name: (i.path, i.format, i.source) for i in available(data_dir=tmp_path)}
    assert listed["crts"] == (folder, "light-curve features", "collection")
    assert listed["crts-grid"] == (folder, "light-curve grid", "collection")
    X, y = load("crts-grid", data_dir=tmp_path)  # TranID3's class is ambiguous: left out
    assert X.shape == (3, 64, 2) and list(y) == [0, 1, 0]
    monkeypatch.setenv("DRAMA_DATA", str(tmp_path))
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    X, y = load("crts")
    assert X.shape == (3, len(FEATURES)) and list(y) == [0, 1, 0]


def test_load_crts_by_name_from_the_shared_data(shared_data) -> None:
    from drama.datasets import load

    if not (shared_data / "lightcurves" / "crts" / "CRTS_subset_500.csv").is_file():
        pytest.skip(f"the CRTS light curves are not in {shared_data}/lightcurves/crts")
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    with pytest.warns(UserWarning, match="skipped 34 of 500"):
        X, y = load("crts", data_dir=shared_data)
    assert X.shape == (433, len(FEATURES)) and int(y.sum()) == 42
    assert np.isfinite(X).all()
