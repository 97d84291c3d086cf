"""Long-format light-curve tables (one row per observation) made into one row per object:
grouping and order, bands, the too-few-points rule, the grid and the features paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drama.datasets.lightcurve_features import FEATURES
from drama.datasets.lightcurves import curve_to_grid, curves_from_table

NEEDS_LIGHT_CURVE = ("the features representation needs the light-curve package: "
                     "pip install 'drama-anomaly[lightcurves]'")


def long_table(points: dict[str, int], bands: tuple[str, ...] = ("",), seed: int = 0,
               shuffle: bool = True) -> pd.DataFrame:
    """One row per observation of each object (and band), rows shuffled as surveys write them."""
    rng = np.random.default_rng(seed)
    rows = []
    for obj, n in points.items():
        for band in bands:
            times = np.sort(rng.uniform(58000, 58500, n))
            for t in times:
                rows.append({"oid": obj, "mjd": t, "mag": 18 + rng.normal(0, 0.2),
                             "magerr": rng.uniform(0.05, 0.1), "filter": band})
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=seed) if shuffle else frame


def test_objects_in_order_of_first_appearance_whatever_the_row_order() -> None:
    frame = long_table({"b": 9, "a": 8, "c": 7}, shuffle=False)
    frame = pd.concat([frame.iloc[[10]], frame.drop(frame.index[10])])  # an "a" row first
    curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                               representation="grid", n_bins=8)
    assert list(curves.ids) == ["a", "b", "c"]
    assert curves.X.shape == (3, 8, 2) and curves.columns == ("mag", "err")
    for k, obj in enumerate(curves.ids):  # each row is that object's own curve
        own = frame[frame.oid == obj]
        np.testing.assert_allclose(
            curves.X[k], curve_to_grid(own.mjd, own.mag, own.magerr, 8))


def test_too_few_points_are_left_out_and_named() -> None:
    frame = long_table({"x": 9, "short": 3, "y": 8})
    with pytest.warns(UserWarning, match="skipped 1 of 3 .*fewer than 5.*short with 3"):
        curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                                   representation="grid", n_bins=8)
    assert list(curves.ids) == [o for o in dict.fromkeys(frame.oid) if o != "short"]
    assert curves.left_out == {"short": "3 distinct time(s)"}
    with pytest.raises(ValueError, match="1 light curve.*fewer than 5 points"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", representation="grid",
                          on_short="raise")
    with pytest.raises(ValueError, match="No light curve.*left to score: 3 have fewer than 10"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", representation="grid",
                          min_points=10)


def test_bands_become_channels_and_each_band_needs_its_points() -> None:
    frame = pd.concat([long_table({"a": 8, "b": 9}, bands=("r",), seed=1),
                       long_table({"a": 7, "b": 3}, bands=("g",), seed=2)])
    with pytest.warns(UserWarning, match="in every band.*b with 3 distinct time.* in band g"):
        curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                                   band="filter", representation="grid", n_bins=8)
    assert list(curves.ids) == ["a"]
    assert curves.columns == ("g_mag", "g_err", "r_mag", "r_err")  # bands sorted by name
    assert curves.X.shape == (1, 8, 4)
    own = frame[frame.oid == "a"]
    span = (own.mjd.min(), own.mjd.max())  # both bands on the object's one time axis
    g = own[own["filter"] == "g"]
    np.testing.assert_allclose(curves.X[0, :, :2],
                               curve_to_grid(g.mjd, g.mag, g.magerr, 8, time_range=span))


def test_bad_columns_and_values_are_named() -> None:
    frame = long_table({"a": 6})
    with pytest.raises(ValueError, match=r"no column\(s\) \['MJD'\]"):
        curves_from_table(frame, id="oid", time="MJD", mag="mag", representation="grid")
    frame.loc[frame.index[2], "mag"] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*first in curve a"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", representation="grid")
    with pytest.raises(ValueError, match="needs the magnitude errors"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag")
    with pytest.raises(ValueError, match="Unknown representation 'pixels'"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", representation="pixels")


def test_features_per_object_and_per_band() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    frame = long_table({"q": 30, "flare": 30, "p": 30}, bands=("g", "r"))
    flare = (frame.oid == "flare") & (frame["filter"] == "r")
    frame.loc[frame.index[flare.to_numpy()][:3], "mag"] -= 3.0  # three bright points
    curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                               band="filter")
    assert curves.X.shape == (3, 2 * len(FEATURES)) and np.isfinite(curves.X).all()
    assert list(curves.ids) == list(dict.fromkeys(frame.oid))
    table = curves.table()
    assert list(table.columns[:2]) == ["g_amplitude", "g_inter_percentile_range_5"]
    row = {obj: k for k, obj in enumerate(curves.ids)}
    assert table["r_amplitude"][row["flare"]] > 1.0 > table["g_amplitude"][row["flare"]]
    with pytest.raises(ValueError, match="min_points must be an integer >= 5"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr", min_points=3)


def test_a_flat_curve_is_left_out_not_given_nan() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    frame = long_table({"a": 12, "flat": 12})
    frame.loc[frame.oid == "flat", "mag"] = 18.0
    with pytest.warns(UserWarning, match="skipped 1 of 2.*undefined.*flat: .*skew"):
        curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr")
    assert list(curves.ids) == ["a"] and np.isfinite(curves.X).all()


def _bazin_magnitudes(t: np.ndarray, peak: float, rise: float, fall: float) -> np.ndarray:
    """Magnitudes of a baseline source (flux 1) with a supernova-like flare of peak flux ~4
    on top: the Bazin function, written out here."""
    flux = 1.0 + 5.0 * np.exp(-(t - peak) / fall) / (1.0 + np.exp(-(t - peak) / rise))
    return 18.0 - 2.5 * np.log10(flux)


def test_the_bazin_fit_recovers_a_supernova_like_flare() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    from drama.datasets.lightcurve_features import BAZIN_FEATURES, extract

    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 200.0, 80))
    m = _bazin_magnitudes(t, peak=60.0, rise=4.0, fall=25.0) + rng.normal(0, 0.01, 80)
    row = extract(t, m, np.full(80, 0.01), bazin=True)
    assert len(row) == len(FEATURES) + len(BAZIN_FEATURES)
    fitted = dict(zip(BAZIN_FEATURES, row[len(FEATURES):], strict=True))
    # the phase is that of the fit's reference time (the maximum itself comes later, at
    # peak + rise * log(fall / rise - 1), about 67)
    assert fitted["bazin_peak_phase"] == pytest.approx((60.0 - t[0]) / (t[-1] - t[0]), abs=0.03)
    assert 10 ** fitted["bazin_rise_time"] - 1 == pytest.approx(4.0, rel=0.15)
    assert 10 ** fitted["bazin_fall_time"] - 1 == pytest.approx(25.0, rel=0.15)
    assert 10 ** fitted["bazin_reduced_chi2"] - 1 < 3.0  # one explosion explains the curve
    without = extract(t, m, np.full(80, 0.01))
    np.testing.assert_array_equal(without, row[:len(FEATURES)])


def test_features_with_bazin_need_six_points_and_name_their_columns() -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    from drama.datasets.lightcurve_features import BAZIN_FEATURES

    frame = long_table({"a": 20, "b": 20, "five": 5})
    with pytest.warns(UserWarning, match="skipped 1 of 3 light curves with fewer than 6"):
        curves = curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                                   representation="features+bazin")
    assert list(curves.ids) == ["a", "b"] or list(curves.ids) == ["b", "a"]
    assert curves.columns == FEATURES + BAZIN_FEATURES and np.isfinite(curves.X).all()
    with pytest.raises(ValueError, match="min_points must be an integer >= 6"):
        curves_from_table(frame, id="oid", time="mjd", mag="mag", err="magerr",
                          representation="features+bazin", min_points=5)
